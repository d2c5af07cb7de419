"""DLMS over wired M-Bus: long frames, the CI segmentation byte, stream framer and reassembly.

The vector is the Netz NOE customer interface sample (Kaifa, Austria) from the public vectors: one
general-glo-ciphering APDU in two long frames, CI 0x00 then 0x11.
"""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import DlmsError, EncodeError, FrameError
from custom_components.dlms_cosem.dlms.mbus import (
    A_BROADCAST,
    C_SND_UD,
    MAX_SEGMENT_LENGTH,
    MbusFrame,
    MbusFramer,
    MbusReassembler,
    checksum,
    decode_mbus_frame,
    segment_apdu,
)

FRAME_0 = (
    "68FAFA6853FF000167DB084B464D675000000981F8200000002388D5AB4F97515AAFC6B88D2F85DAA7A0E3C0C40D0045"
    "35C397C9D037AB7DBDA329107615444894A1A0DD7E85F02D496CECD3FF46AF5FB3C9229CFE8F3EE4606AB2E1F409F36A"
    "AD2E50900A4396FC6C2E083F373233A69616950758BFC7D63A9E9B6E99E21B2CBC2B934772CA51FD4D69830711CAB1F8"
    "CFF25F0A329337CBA51904F0CAED88D61968743C8454BA922EB00038182C22FE316D16F2A9F544D6F75D51A4E92A1C4E"
    "F8AB19A2B7FEAA32D0726C0ED80229AE6C0F7621A4209251ACE2B2BC66FF0327A653BB686C756BE033C7A281F1D2A7E1"
    "FA31C3983E15F8FD16CC5787E6F51716"
)
FRAME_1 = "6814146853FF110167419A3CFDA44BE438C96F0E38BF83D98316"
RAW = [bytes.fromhex(FRAME_0), bytes.fromhex(FRAME_1)]
FRAMES = [decode_mbus_frame(raw) for raw in RAW]

SHORT_FRAME = bytes.fromhex("1040fe3e16")  # SND_NKE to address 0xFE
CONTROL_FRAME = bytes.fromhex("6803036853fe50a116")  # application reset, L = 3
NON_DLMS_LONG_FRAME = bytes.fromhex("6805056808017201027e16")  # CI 0x72: M-Bus data, not DLMS
ACK = b"\xe5"


def _joined() -> bytes:
    reassembler = MbusReassembler()
    assert reassembler.add(FRAMES[0]) is None
    apdu = reassembler.add(FRAMES[1])
    assert apdu is not None
    return apdu


def test_netz_noe_frames() -> None:
    first, second = FRAMES
    for frame in FRAMES:
        assert (frame.control, frame.address, frame.stsap, frame.dtsap) == (0x53, 0xFF, 0x01, 0x67)
    assert (first.ci, second.ci) == (0x00, 0x11)
    assert (first.sequence, first.last_segment) == (0, False)
    assert (second.sequence, second.last_segment) == (1, True)
    assert len(first.payload) == 0xFA - 5
    assert len(second.payload) == 0x14 - 5
    for raw, frame in zip(RAW, FRAMES, strict=True):
        assert frame.encode() == raw


def test_netz_noe_apdu_is_joined_without_checksum_and_stop() -> None:
    apdu = _joined()
    assert apdu.startswith(bytes.fromhex("DB084B464D"))  # general-glo-ciphering, system title "KFM..."
    assert apdu.endswith(bytes.fromhex("419A3CFDA44BE438C96F0E38BF83D9"))
    assert not apdu.endswith(bytes.fromhex("8316"))
    # DB, system title length 8, 8 bytes, length 81 F8 = 248: the segments hold exactly that APDU.
    assert apdu[10:12] == bytes.fromhex("81F8")
    assert len(apdu) == 12 + 0xF8
    assert apdu[12] == 0x20  # security control: encrypted, not authenticated


def test_checksum() -> None:
    assert checksum(RAW[1][4:-2]) == 0x83
    assert checksum(b"") == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (FRAME_1[:-2], "length"),
        (FRAME_1[:-2] + "17", "stop"),
        (FRAME_1[:-4] + "8416", "checksum"),
        ("6814156853FF110167419A3CFDA44BE438C96F0E38BF83D98316", "differ"),
        ("6914146853FF110167419A3CFDA44BE438C96F0E38BF83D98316", "68 L L 68"),
        (CONTROL_FRAME.hex(), "too short"),
        ("6805056808017201027e16", "not a DLMS segment"),
    ],
)
def test_broken_frames(raw: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_mbus_frame(bytes.fromhex(raw))


def test_frame_limits() -> None:
    with pytest.raises(EncodeError):
        MbusFrame(C_SND_UD, A_BROADCAST, 0x20, 1, 0x67, b"")
    with pytest.raises(EncodeError):
        MbusFrame(0x100, A_BROADCAST, 0x10, 1, 0x67, b"")
    with pytest.raises(EncodeError):
        MbusFrame(C_SND_UD, A_BROADCAST, 0x10, 1, 0x67, bytes(MAX_SEGMENT_LENGTH + 1)).encode()
    largest = MbusFrame(C_SND_UD, A_BROADCAST, 0x10, 1, 0x67, bytes(MAX_SEGMENT_LENGTH)).encode()
    assert largest[1:3] == b"\xff\xff"
    assert decode_mbus_frame(largest).payload == bytes(MAX_SEGMENT_LENGTH)


@st.composite
def mbus_frames(draw: st.DrawFn) -> MbusFrame:
    return MbusFrame(
        control=draw(st.integers(0, 255)),
        address=draw(st.integers(0, 255)),
        ci=draw(st.integers(0, 0x1F)),
        stsap=draw(st.integers(0, 255)),
        dtsap=draw(st.integers(0, 255)),
        payload=draw(st.binary(max_size=MAX_SEGMENT_LENGTH)),
    )


@given(mbus_frames())
@settings(max_examples=60)
def test_frame_round_trip(frame: MbusFrame) -> None:
    assert decode_mbus_frame(frame.encode()) == frame


# --- framer -----------------------------------------------------------------------------------------------


def test_framer_skips_other_frames_on_the_line() -> None:
    framer = MbusFramer()
    stream = ACK + SHORT_FRAME + RAW[0] + CONTROL_FRAME + ACK + NON_DLMS_LONG_FRAME + RAW[1] + ACK
    assert framer.feed(stream) == FRAMES
    assert framer.frames == 2
    assert framer.frames_skipped == 3
    assert framer.bytes_discarded == 3
    assert framer.checksum_errors == 0
    assert framer.pending == 0


def test_framer_byte_by_byte() -> None:
    framer = MbusFramer()
    out: list[MbusFrame] = []
    for byte in b"".join(RAW):
        out.extend(framer.feed(bytes([byte])))
    assert out == FRAMES


def test_framer_drops_a_cut_frame_and_finds_the_next() -> None:
    framer = MbusFramer()
    assert framer.feed(RAW[0][100:] + RAW[0] + RAW[0][:30] + RAW[1]) == FRAMES[:1]
    # The cut frame's header is valid, so it waits for its length before its checksum fails.
    assert framer.feed(bytes(300)) == FRAMES[1:]
    assert framer.bytes_discarded > 100


@given(
    garbage=st.lists(st.binary(max_size=30), min_size=5, max_size=5),
    cuts=st.lists(st.integers(1, 120), min_size=1, max_size=20),
)
@settings(max_examples=40, deadline=None)
def test_framer_random_chunks_and_garbage(garbage: list[bytes], cuts: list[int]) -> None:
    frames = [RAW[0], RAW[1], RAW[0], RAW[1]]
    stream = b"".join(garbage[index] + raw for index, raw in enumerate(frames)) + garbage[-1]
    framer = MbusFramer()
    out: list[MbusFrame] = []
    position = 0
    for cut in cuts:
        out.extend(framer.feed(stream[position : position + cut]))
        position += cut
    out.extend(framer.feed(stream[position:]))
    out.extend(framer.feed(bytes(270)))
    assert out == [FRAMES[0], FRAMES[1], FRAMES[0], FRAMES[1]]
    assert framer.pending <= 261


def test_single_bit_flips_are_detected() -> None:
    for raw, frame in zip(RAW, FRAMES, strict=True):
        for bit in range(len(raw) * 8):
            flipped = bytearray(raw)
            flipped[bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(FrameError):
                decode_mbus_frame(bytes(flipped))
            out = MbusFramer().feed(bytes(flipped) + RAW[1] + bytes(270))
            assert out == [FRAMES[1]], (frame, bit)


@given(st.binary(max_size=2000))
@settings(max_examples=80)
def test_framer_never_raises_and_stays_bounded(noise: bytes) -> None:
    framer = MbusFramer()
    for start in range(0, len(noise), 61):
        framer.feed(noise[start : start + 61])
        assert framer.pending <= 261


@given(st.binary(max_size=300))
@settings(max_examples=100)
def test_decode_random_bytes_raises_only_dlms_errors(raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        decode_mbus_frame(raw)
    body = raw[:255]
    with contextlib.suppress(DlmsError):
        decode_mbus_frame(bytes([0x68, len(body), len(body), 0x68]) + body + bytes([checksum(body), 0x16]))


# --- reassembly -------------------------------------------------------------------------------------------


def test_single_frame_apdu() -> None:
    (frame,) = segment_apdu(b"\x0f\x00\x00\x00\x01\x00")
    assert frame.ci == 0x10
    assert MbusReassembler().add(frame) == b"\x0f\x00\x00\x00\x01\x00"


def test_segment_apdu_matches_the_capture() -> None:
    frames = segment_apdu(_joined(), segment_size=len(FRAMES[0].payload))
    assert [frame.encode() for frame in frames] == RAW


def test_gaps_and_strays_reset() -> None:
    frames = segment_apdu(bytes(range(200)) * 3, segment_size=100)
    assert [frame.ci for frame in frames] == [0x00, 0x01, 0x02, 0x03, 0x04, 0x15]
    reassembler = MbusReassembler()
    assert reassembler.add(frames[1]) is None  # no start
    assert reassembler.sequence_errors == 1
    assert reassembler.add(frames[0]) is None
    assert reassembler.add(frames[2]) is None  # gap: segment 1 missing
    assert reassembler.sequence_errors == 2
    assert not reassembler.in_progress
    assert all(reassembler.add(frame) is None for frame in frames[3:])
    assert [reassembler.add(frame) for frame in frames][-1] == bytes(range(200)) * 3
    assert reassembler.completed == 1


def test_restart_drops_the_unfinished_apdu() -> None:
    first = segment_apdu(b"A" * 300, segment_size=100)
    second = segment_apdu(b"B" * 150, segment_size=100)
    reassembler = MbusReassembler()
    reassembler.add(first[0])
    reassembler.add(first[1])
    assert reassembler.add(second[0]) is None
    assert reassembler.add(second[1]) == b"B" * 150
    assert reassembler.sequence_errors == 1


def test_reassembly_is_bounded() -> None:
    reassembler = MbusReassembler(max_size=300)
    frames = segment_apdu(bytes(1000), segment_size=200)
    assert all(reassembler.add(frame) is None for frame in frames)
    assert reassembler.overflows == 1
    reassembler.reset()
    assert not reassembler.in_progress


@given(st.binary(min_size=1, max_size=5000), st.integers(25, MAX_SEGMENT_LENGTH))
@settings(max_examples=40, deadline=None)
def test_segment_stream_reassemble_round_trip(apdu: bytes, segment_size: int) -> None:
    """More than 16 segments wrap the sequence number, which the reassembler follows."""
    wire = b"".join(frame.encode() for frame in segment_apdu(apdu, segment_size=segment_size))
    framer = MbusFramer()
    reassembler = MbusReassembler()
    results = [reassembler.add(frame) for frame in framer.feed(wire)]
    assert results[-1] == apdu
    assert all(result is None for result in results[:-1])


def test_segment_size_is_checked() -> None:
    with pytest.raises(EncodeError):
        segment_apdu(b"\x00", segment_size=0)
