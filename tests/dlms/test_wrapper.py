"""IEC 62056-47 wrapper: header layout, decode, stream framing and resynchronisation.

The example PDU carries the AARQ of the public HDLC AARQ vector (public client 16 to the management
logical device 1), framed as IEC 62056-47 lays it out: version 0x0001, source wPort, destination
wPort, length, each 16 bits big endian.
"""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import DlmsError, EncodeError, FrameError
from custom_components.dlms_cosem.dlms.wrapper import (
    WPORT_CLIENT_PUBLIC,
    WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE,
    WRAPPER_HEADER_SIZE,
    WrapperFramer,
    WrapperPdu,
    decode_wrapper_pdu,
)

AARQ_APDU = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
# version 0x0001, source wPort 0x0010, destination wPort 0x0001, length 0x001F
AARQ_PDU = bytes.fromhex("000100100001001F") + AARQ_APDU
GET_RESPONSE_PDU = bytes.fromhex("000100010010000CC401C10009060100202000FF")


NO_ZERO_GARBAGE = st.binary(max_size=30).map(lambda raw: raw.replace(b"\x00", b"\x55"))


def test_aarq_pdu_layout() -> None:
    pdu = decode_wrapper_pdu(AARQ_PDU)
    assert pdu == WrapperPdu(WPORT_CLIENT_PUBLIC, WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE, AARQ_APDU)
    assert len(AARQ_APDU) == 0x1F
    assert pdu.encode() == AARQ_PDU
    response = decode_wrapper_pdu(GET_RESPONSE_PDU)
    assert (response.source, response.destination) == (1, 16)
    assert response.apdu[0] == 0xC4


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0002001000010001c0", "version"),
        ("00010010000100", "shorter"),
        ("0001001000010000", "no APDU"),
        ("0001001000010002c0", "does not match"),
        ("0001001000010001c000", "does not match"),
    ],
)
def test_bad_pdus(raw: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_wrapper_pdu(bytes.fromhex(raw))


def test_encode_limits() -> None:
    with pytest.raises(EncodeError):
        WrapperPdu(0x10000, 1, b"\x00")
    with pytest.raises(EncodeError):
        WrapperPdu(16, 1, b"").encode()
    with pytest.raises(EncodeError):
        WrapperPdu(16, 1, bytes(0x10000)).encode()
    assert len(WrapperPdu(16, 1, bytes(0xFFFF)).encode()) == 0xFFFF + WRAPPER_HEADER_SIZE


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(min_size=1, max_size=2000))
@settings(max_examples=60)
def test_round_trip(source: int, destination: int, apdu: bytes) -> None:
    pdu = WrapperPdu(source, destination, apdu)
    assert decode_wrapper_pdu(pdu.encode()) == pdu


def test_framer_splits_a_stream() -> None:
    framer = WrapperFramer()
    stream = AARQ_PDU + GET_RESPONSE_PDU + AARQ_PDU
    out = framer.feed(stream[:5]) + framer.feed(stream[5:40]) + framer.feed(stream[40:])
    assert out == [decode_wrapper_pdu(pdu) for pdu in (AARQ_PDU, GET_RESPONSE_PDU, AARQ_PDU)]
    assert framer.frames == 3
    assert framer.pending == 0
    assert framer.errors == 0


def test_framer_resynchronises_after_a_bad_version() -> None:
    framer = WrapperFramer()
    out = framer.feed(b"\x02\x03\x04\x05\x06\x07\x08\x09" + AARQ_PDU + b"\x00\x02\x00" + GET_RESPONSE_PDU)
    assert out == [decode_wrapper_pdu(AARQ_PDU), decode_wrapper_pdu(GET_RESPONSE_PDU)]
    assert framer.errors == 2
    assert framer.bytes_discarded == 8 + 3


def test_framer_bounds_the_length() -> None:
    framer = WrapperFramer(max_length=1024)
    assert framer.feed(bytes.fromhex("0001001000020401") + AARQ_PDU) == [decode_wrapper_pdu(AARQ_PDU)]
    assert framer.errors == 1
    framer = WrapperFramer(max_length=1024)
    assert framer.feed(bytes.fromhex("00010010000103ff")) == []
    assert framer.pending == 8  # a plausible header waits for its APDU
    framer.reset()
    assert framer.pending == 0


def test_zero_byte_at_the_end_of_a_chunk_is_kept() -> None:
    framer = WrapperFramer()
    assert framer.feed(b"\xff" * 9 + AARQ_PDU[:1]) == []
    assert framer.pending == 1
    assert framer.feed(AARQ_PDU[1:]) == [decode_wrapper_pdu(AARQ_PDU)]


@given(
    garbage=st.lists(
        st.binary(max_size=30).map(lambda raw: raw.replace(b"\x00", b"\x55")), min_size=4, max_size=4
    ),
    cuts=st.lists(st.integers(1, 50), min_size=1, max_size=20),
)
@settings(max_examples=50)
def test_framer_random_chunks_and_garbage(garbage: list[bytes], cuts: list[int]) -> None:
    """Garbage without 0x00 cannot fake a version field, so every PDU comes out."""
    pdus = [AARQ_PDU, GET_RESPONSE_PDU, AARQ_PDU]
    stream = b"".join(garbage[index] + pdu for index, pdu in enumerate(pdus)) + garbage[-1]
    framer = WrapperFramer()
    out: list[WrapperPdu] = []
    position = 0
    for cut in cuts:
        out.extend(framer.feed(stream[position : position + cut]))
        position += cut
    out.extend(framer.feed(stream[position:]))
    assert out == [decode_wrapper_pdu(pdu) for pdu in pdus]


@given(st.binary(max_size=3000))
@settings(max_examples=80)
def test_framer_never_raises_and_stays_bounded(noise: bytes) -> None:
    framer = WrapperFramer(max_length=512)
    for start in range(0, len(noise), 101):
        framer.feed(noise[start : start + 101])
        assert framer.pending <= 512 + WRAPPER_HEADER_SIZE


@given(st.binary(max_size=100))
@settings(max_examples=100)
def test_decode_random_bytes_raises_only_dlms_errors(raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        decode_wrapper_pdu(raw)
    with contextlib.suppress(DlmsError):
        decode_wrapper_pdu(b"\x00\x01" + raw)
