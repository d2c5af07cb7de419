"""HDLC frame format type 3: FCS, addresses, control field, frames, LLC, parameters, framer, segments.

Vectors are public captures and standard examples (see /work/shared/vectors/public.json, copied here).
"""

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import DlmsError, EncodeError, FrameError
from custom_components.dlms_cosem.dlms.hdlc import (
    LLC_COMMAND,
    LLC_RESPONSE,
    Control,
    FrameType,
    HdlcAddress,
    HdlcFrame,
    HdlcFramer,
    HdlcParameters,
    SegmentReassembler,
    add_llc,
    client_address,
    decode_frame,
    fcs16,
    fcs_bytes,
    fcs_is_valid,
    has_llc,
    server_address,
    strip_llc,
)
from custom_components.dlms_cosem.dlms.hdlc.parameters import HdlcParameterId

SNRM = "7ea00802232193bd647e"
UA_PARAMS = "7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E"
UA_4BYTE = "7ea023030002002373c0488180140502008006020080070400000001080400000001ce6a7e"
AARQ = "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"
AARE = (
    "7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F"
    "0400001E1D04C80007B86A7E"
)
SEGMENTED = (
    "7ea87e210396a4090f01160002020f02160002020f03160002020f04160002020f05160002020f0616000204120017"
    "110009060000160000ff0202010902030f0116010002030f0216010002030f0316010002030f0416010002030f0516"
    "010002030f0616010002030f0716010002030f0816010002030f09160100016ff37e"
)
SNRM_PARAMS = "7EA020204127930C0C81801305018006020200070400000001080400000001B4F97E"
REQUEST_7E_FCS = "7EA01C00023C470332F685E6E600C001C100010100202000FF01005A627E"
RESPONSE_7E_FCS = "7EA01B0300023C4752D551E6E700C401C10009060100202000FF7E8C7E"
AIDON_UI = (
    "7ea2434108831385ebe6e7000f4000000000011b020209060000010000ff090c07e30c1001073b28ff8000ff0203090601"
    "00010700ff060000046202020f00161b020309060100020700ff060000000002020f00161b020309060100030700ff0600"
    "0005e302020f00161d020309060100040700ff060000000002020f00161d0203090601001f0700ff10000002020fff1621"
    "020309060100330700ff10004b02020fff1621020309060100470700ff10000002020fff1621020309060100200700ff12"
    "090302020fff1623020309060100340700ff1209c302020fff1623020309060100480700ff12090402020fff1623020309"
    "060100150700ff060000000002020f00161b020309060100160700ff060000000002020f00161b02030906010017070"
    "0ff060000000002020f00161d020309060100180700ff060000000002020f00161d020309060100290700ff0600000462"
    "02020f00161b0203090601002a0700ff060000000002020f00161b0203090601002b0700ff06000005e202020f00161d"
    "0203090601002c0700ff060000000002020f00161d0203090601003d0700ff060000000002020f00161b020309060100"
    "3e0700ff060000000002020f00161b0203090601003f0700ff060000000002020f00161d020309060100400700ff0600"
    "00000002020f00161d020309060100010800ff060099598602020f00161e020309060100020800ff060000000802020f"
    "00161e020309060100030800ff060064ed4b02020f001620020309060100040800ff060000000502020f001620be407e"
)
KAMSTRUP_UI = (
    "7EA0E22B2113239AE6E7000F000000000C07E6011801123A32FF80000002190A0E4B616D73747275705F56303030310906"
    "0101000005FF0A103537303635363733323635393034303709060101600101FF0A1236383431313338424E3234353130"
    "3130393009060101010700FF060000033A09060101020700FF060000000009060101030700FF060000006809060101040700"
    "FF06000000B0090601011F0700FF06000000ED09060101330700FF060000005909060101470700FF060000004B09060101"
    "200700FF1200E809060101340700FF1200E909060101480700FF1200EC84467E"
)

VECTORS = [
    SNRM,
    UA_PARAMS,
    UA_4BYTE,
    AARQ,
    AARE,
    SEGMENTED,
    SNRM_PARAMS,
    REQUEST_7E_FCS,
    RESPONSE_7E_FCS,
    AIDON_UI,
    KAMSTRUP_UI,
]
RAW = [bytes.fromhex(vector) for vector in VECTORS]
FRAMES = [decode_frame(raw) for raw in RAW]


# --- FCS ---------------------------------------------------------------------------------------------


def test_fcs_check_value_and_wire_order() -> None:
    assert fcs16(b"123456789") == 0x906E
    assert fcs_bytes(b"123456789") == bytes.fromhex("6E90")
    assert fcs_bytes(bytes.fromhex("033F")) == bytes.fromhex("5BEC")
    assert fcs_is_valid(bytes.fromhex("033F5BEC"))
    assert not fcs_is_valid(bytes.fromhex("033F5BED"))
    assert not fcs_is_valid(b"\x00")


@given(st.binary(max_size=300))
@settings(max_examples=60)
def test_fcs_appended_is_valid(data: bytes) -> None:
    assert fcs_is_valid(data + fcs_bytes(data))


# --- addresses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "wire"),
    [
        (client_address(16), "21"),
        (client_address(1), "03"),
        (server_address(1, 17), "0223"),
        (server_address(1, 17, 4), "00020023"),
        (server_address(1, 3875), "00023c47"),
        (server_address(1), "03"),
        (HdlcAddress(0x3FFF, 0x3FFF, 4), "fefefeff"),
        (HdlcAddress(0, 0, 4), "00000001"),
    ],
)
def test_address_forms(address: HdlcAddress, wire: str) -> None:
    assert address.encode().hex() == wire
    assert HdlcAddress.from_bytes(bytes.fromhex(wire)) == address


def test_server_address_picks_the_smallest_form() -> None:
    assert server_address(1, 17).size == 2
    assert server_address(1, 3875).size == 4
    assert server_address(0x80, 1).size == 4
    assert server_address(5).size == 1
    assert str(server_address(1, 3875)) == "1/3875"
    assert str(client_address(16)) == "16"


@pytest.mark.parametrize("wire", ["000001", "0000000001", "00", "0000", "", "0301"])
def test_bad_address_sizes(wire: str) -> None:
    with pytest.raises(FrameError):
        HdlcAddress.from_bytes(bytes.fromhex(wire))


@pytest.mark.parametrize(
    ("logical", "physical", "size"),
    [(0x80, None, 1), (1, 2, 1), (1, None, 2), (0x80, 1, 2), (1, 0x4000, 4), (1, 1, 3), (-1, None, 1)],
)
def test_unrepresentable_addresses(logical: int, physical: int | None, size: int) -> None:
    with pytest.raises(EncodeError):
        HdlcAddress(logical, physical, size)


@st.composite
def addresses(draw: st.DrawFn) -> HdlcAddress:
    size = draw(st.sampled_from([1, 2, 4]))
    limit = 0x3FFF if size == 4 else 0x7F
    logical = draw(st.integers(0, limit))
    physical = None if size == 1 else draw(st.integers(0, limit))
    return HdlcAddress(logical, physical, size)


@given(addresses())
def test_address_round_trip(address: HdlcAddress) -> None:
    wire = address.encode()
    assert len(wire) == address.size
    assert [byte & 1 for byte in wire] == [0] * (address.size - 1) + [1]
    assert HdlcAddress.from_bytes(wire) == address


# --- control field -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame_type", "without_pf", "with_pf"),
    [
        (FrameType.SNRM, 0x83, 0x93),
        (FrameType.DISC, 0x43, 0x53),
        (FrameType.UA, 0x63, 0x73),
        (FrameType.DM, 0x0F, 0x1F),
        (FrameType.FRMR, 0x87, 0x97),
        (FrameType.UI, 0x03, 0x13),
    ],
)
def test_unnumbered_control_bytes(frame_type: FrameType, without_pf: int, with_pf: int) -> None:
    assert Control(frame_type, False).to_byte() == without_pf
    assert Control(frame_type, True).to_byte() == with_pf
    assert Control.from_byte(with_pf) == Control(frame_type, True)
    assert Control.from_byte(without_pf).is_unnumbered


def test_numbered_control_bytes() -> None:
    assert Control.information(0, 0).to_byte() == 0x10
    assert Control.information(0, 1).to_byte() == 0x30
    assert Control.from_byte(0x96) == Control.information(3, 4)
    assert Control.from_byte(0x32) == Control.information(1, 1, poll_final=True)
    assert Control.from_byte(0x52) == Control.information(1, 2)
    assert Control.receive_ready(2).to_byte() == 0x51
    assert Control.receive_not_ready(7, poll_final=False).to_byte() == 0xE5
    assert Control.from_byte(0x51).is_supervisory
    assert Control.from_byte(0x10).is_information
    assert str(Control.from_byte(0x96)) == "I N(S)=3 N(R)=4 P/F"
    assert Control.snrm().to_byte() == 0x93
    assert Control.disc().to_byte() == 0x53
    assert Control.ua().to_byte() == 0x73
    assert Control.dm().to_byte() == 0x1F
    assert Control.frmr().to_byte() == 0x97
    assert Control.ui().to_byte() == 0x03


def test_every_control_byte_round_trips_or_is_rejected() -> None:
    valid = 0
    for value in range(256):
        try:
            control = Control.from_byte(value)
        except FrameError:
            continue
        valid += 1
        assert control.to_byte() == value
    # 128 I frames, RR and RNR with 8 N(R) x P/F, six U frames x P/F.
    assert valid == 128 + 2 * 16 + 6 * 2
    with pytest.raises(FrameError):
        Control.from_byte(0x09)  # REJ is not in the DLMS profile
    with pytest.raises(FrameError):
        Control.from_byte(0x2F)  # SABM


def test_control_rejects_impossible_fields() -> None:
    with pytest.raises(EncodeError):
        Control.information(8, 0)
    with pytest.raises(EncodeError):
        Control(FrameType.UA, True, 0, 1)
    with pytest.raises(EncodeError):
        Control(FrameType.RR, True, 1, 0)


# --- frames -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS)
def test_vectors_decode_and_re_encode(vector: str) -> None:
    raw = bytes.fromhex(vector)
    frame = decode_frame(raw)
    assert frame.encode() == raw
    assert frame.length == len(raw) - 2


def test_snrm_fields() -> None:
    frame = decode_frame(bytes.fromhex(SNRM))
    assert frame.destination == server_address(1, 17)
    assert frame.source == client_address(16)
    assert frame.control == Control.snrm()
    assert frame.information == b""
    assert not frame.segmented
    built = HdlcFrame(server_address(1, 17), client_address(16), Control.snrm())
    assert built.encode().hex() == SNRM


def test_ua_with_parameters() -> None:
    frame = decode_frame(bytes.fromhex(UA_PARAMS))
    assert frame.destination == client_address(16)
    assert frame.source == server_address(1, 17)
    assert frame.control == Control.ua()
    assert HdlcParameters.decode(frame.information) == HdlcParameters(154, 154, 1, 1)
    assert HdlcParameters(154, 154, 1, 1).encode() == frame.information


def test_ua_with_4_byte_address() -> None:
    frame = decode_frame(bytes.fromhex(UA_4BYTE))
    assert frame.destination == client_address(1)
    assert frame.source == HdlcAddress(1, 17, 4)
    assert frame.source.encode() == bytes.fromhex("00020023")
    assert frame.control == Control.ua()
    assert HdlcParameters.decode(frame.information) == HdlcParameters(128, 128, 1, 1)


def test_snrm_with_parameters() -> None:
    frame = decode_frame(bytes.fromhex(SNRM_PARAMS))
    assert frame.control == Control.snrm()
    assert frame.destination == HdlcAddress(16, 32, 2)
    assert frame.source == client_address(19)
    parameters = HdlcParameters.decode(frame.information)
    assert parameters == HdlcParameters(max_info_transmit=128, max_info_receive=512)
    assert parameters.encode() == frame.information


def test_aarq_and_aare_i_frames() -> None:
    aarq = decode_frame(bytes.fromhex(AARQ))
    assert aarq.destination == server_address(1, 17)
    assert aarq.source == client_address(16)
    assert aarq.control == Control.information(0, 0)
    assert strip_llc(aarq.information) == (False, aarq.information[3:])
    assert aarq.information[3:5] == bytes.fromhex("601d")
    assert len(aarq.information[3:]) == 0x1D + 2

    aare = decode_frame(bytes.fromhex(AARE))
    assert aare.destination == client_address(16)
    assert aare.source == server_address(1, 17)
    assert aare.control == Control.information(0, 1)
    is_response, apdu = strip_llc(aare.information)
    assert is_response
    assert apdu[:2] == bytes.fromhex("6129")
    assert len(apdu) == 0x29 + 2
    rebuilt = HdlcFrame(aare.destination, aare.source, aare.control, add_llc(apdu, response=True))
    assert rebuilt.encode().hex().upper() == AARE


def test_segmented_frame() -> None:
    frame = decode_frame(bytes.fromhex(SEGMENTED))
    assert frame.segmented
    assert frame.length == 0x7E
    assert frame.destination == client_address(16)
    assert frame.source == server_address(1)
    assert frame.control == Control.information(3, 4)
    assert not has_llc(frame.information)  # a continuation segment carries no LLC header
    assert len(frame.information) == 0x7E - 9


def test_four_byte_server_with_7e_in_the_check_sequences() -> None:
    request = decode_frame(bytes.fromhex(REQUEST_7E_FCS))
    assert request.destination == server_address(1, 3875)
    assert request.source == client_address(1)
    assert request.control == Control.information(1, 1)
    assert strip_llc(request.information) == (False, bytes.fromhex("C001C100010100202000FF0100"))
    response = decode_frame(bytes.fromhex(RESPONSE_7E_FCS))
    assert response.destination == client_address(1)
    assert response.source == server_address(1, 3875)
    assert response.control == Control.information(1, 2)
    assert strip_llc(response.information) == (True, bytes.fromhex("C401C10009060100202000FF"))
    assert bytes.fromhex(RESPONSE_7E_FCS)[-3] == 0x7E


def test_push_ui_frames() -> None:
    aidon = decode_frame(bytes.fromhex(AIDON_UI))
    assert aidon.control == Control.ui(poll_final=True)
    assert aidon.destination == client_address(32)
    assert aidon.source == HdlcAddress(4, 65, 2)
    assert aidon.length == 0x243
    is_response, apdu = strip_llc(aidon.information)
    assert is_response
    assert apdu[0] == 0x0F  # data-notification
    assert len(apdu) == 0x243 - 13  # frame format 2, addresses 3, control 1, HCS 2, FCS 2, LLC 3

    kamstrup = decode_frame(bytes.fromhex(KAMSTRUP_UI))
    assert kamstrup.control == Control.ui(poll_final=True)
    assert kamstrup.destination == client_address(21)
    assert kamstrup.source == client_address(16)
    is_response, apdu = strip_llc(kamstrup.information)
    assert is_response
    assert b"Kamstrup_V0001" in apdu


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (SNRM[:-2], "flag"),
        (SNRM[:-6] + "ff647e", "FCS"),
        ("7ea00902232193bd647e", "length"),
        ("7eb00802232193bd647e", "type 3"),
        (UA_PARAMS[:20] + "00" + UA_PARAMS[22:], "FCS"),
        ("7e", "short"),
    ],
)
def test_broken_frames(raw: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_frame(bytes.fromhex(raw))


def _with_fcs(body: bytes) -> bytes:
    return b"\x7e" + body + fcs_bytes(body) + b"\x7e"


def test_bad_hcs_and_header_faults_with_good_fcs() -> None:
    header = bytes.fromhex("a00d022321") + b"\x10"
    with pytest.raises(FrameError, match="HCS"):
        decode_frame(_with_fcs(header + b"\x00\x00" + b"\xe6\xe6\x00"))
    with pytest.raises(FrameError, match="partial"):
        decode_frame(_with_fcs(bytes.fromhex("a009022321") + b"\x10\x01"))
    with pytest.raises(FrameError, match="3 bytes"):
        decode_frame(_with_fcs(bytes.fromhex("a00900002321") + b"\x10"))
    with pytest.raises(FrameError, match="runs into"):
        decode_frame(_with_fcs(bytes.fromhex("a007020321")))
    with pytest.raises(FrameError, match="unsupported"):
        decode_frame(_with_fcs(bytes.fromhex("a0070321") + b"\x09"))


def test_hcs_with_empty_information_is_accepted() -> None:
    header = bytes.fromhex("a009032193")
    frame = decode_frame(_with_fcs(header + fcs_bytes(header)))
    assert frame.information == b""
    assert frame.control == Control.snrm()


def test_frame_too_long_to_encode() -> None:
    frame = HdlcFrame(client_address(16), server_address(1), Control.ui(), bytes(2039))
    with pytest.raises(EncodeError):
        frame.encode()
    largest = HdlcFrame(client_address(16), server_address(1), Control.ui(), bytes(2038)).encode()
    assert len(largest) == 2049
    assert largest[1:3] == bytes.fromhex("a7ff")


@st.composite
def frames(draw: st.DrawFn) -> HdlcFrame:
    kind = draw(st.sampled_from(list(FrameType)))
    poll_final = draw(st.booleans())
    if kind is FrameType.I:
        control = Control.information(draw(st.integers(0, 7)), draw(st.integers(0, 7)), poll_final)
    elif kind in (FrameType.RR, FrameType.RNR):
        control = Control(kind, poll_final, 0, draw(st.integers(0, 7)))
    else:
        control = Control(kind, poll_final)
    return HdlcFrame(
        destination=draw(addresses()),
        source=draw(addresses()),
        control=control,
        information=draw(st.binary(max_size=300)),
        segmented=draw(st.booleans()),
    )


@given(frames())
@settings(max_examples=80)
def test_frame_round_trip(frame: HdlcFrame) -> None:
    assert decode_frame(frame.encode()) == frame


# --- LLC ------------------------------------------------------------------------------------------------


def test_llc() -> None:
    assert bytes.fromhex("e6e600") == LLC_COMMAND
    assert bytes.fromhex("e6e700") == LLC_RESPONSE
    assert strip_llc(bytes.fromhex("e6e700c4")) == (True, b"\xc4")
    assert strip_llc(bytes.fromhex("e6e600c0")) == (False, b"\xc0")
    assert add_llc(b"\xc0") == bytes.fromhex("e6e600c0")
    for bad in ("", "e6", "e6e6", "e6e601c0", "0f000000"):
        with pytest.raises(FrameError):
            strip_llc(bytes.fromhex(bad))


# --- parameters -----------------------------------------------------------------------------------------


def test_parameter_defaults_and_absent_parameters() -> None:
    assert HdlcParameters.decode(b"") == HdlcParameters(128, 128, 1, 1)
    assert HdlcParameters.decode(bytes.fromhex("818000")) == HdlcParameters()
    only_rx = bytes.fromhex("81800406020400")
    assert HdlcParameters.decode(only_rx) == HdlcParameters(max_info_receive=1024)
    unknown_skipped = bytes.fromhex("8180070901ff05020100")
    assert HdlcParameters.decode(unknown_skipped) == HdlcParameters(max_info_transmit=256)
    assert int(HdlcParameterId.WINDOW_SIZE_RECEIVE) == 0x08


@pytest.mark.parametrize(
    "raw",
    ["80", "8181", "818005050100", "8180030500", "81800305050000000000", "8180030501ff00", "81"],
)
def test_malformed_parameters(raw: str) -> None:
    with pytest.raises(FrameError):
        HdlcParameters.decode(bytes.fromhex(raw))


@given(
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
)
@settings(max_examples=50)
def test_parameters_round_trip(tx: int, rx: int, window_tx: int, window_rx: int) -> None:
    parameters = HdlcParameters(tx, rx, window_tx, window_rx)
    assert HdlcParameters.decode(parameters.encode()) == parameters


def test_parameters_out_of_range() -> None:
    with pytest.raises(EncodeError):
        HdlcParameters(max_info_transmit=1 << 32)


# --- framer -----------------------------------------------------------------------------------------------


def test_framer_on_concatenated_vectors() -> None:
    framer = HdlcFramer()
    assert framer.feed(b"".join(RAW)) == FRAMES
    assert (framer.frames, framer.fcs_errors, framer.bytes_discarded) == (len(RAW), 0, 0)
    assert framer.pending == 1  # the last closing flag, which may open the next frame


def test_framer_with_shared_flags_and_idle_fill() -> None:
    shared = RAW[0] + b"".join(raw[1:] for raw in RAW[1:])
    framer = HdlcFramer()
    assert framer.feed(shared) == FRAMES
    framer = HdlcFramer()
    assert framer.feed(b"\x7e\x7e\x7e" + RAW[0] + b"\x7e\x7e" + RAW[3]) == [FRAMES[0], FRAMES[3]]
    assert framer.bytes_discarded == 0


def test_framer_byte_by_byte() -> None:
    framer = HdlcFramer()
    out: list[HdlcFrame] = []
    for byte in b"".join(RAW):
        out.extend(framer.feed(bytes([byte])))
    assert out == FRAMES


def test_framer_discards_garbage_and_cut_frames() -> None:
    framer = HdlcFramer()
    stream = b"\x01\x02" + RAW[9][200:] + RAW[3] + RAW[4][:20] + RAW[0]
    # The cut AARE has a valid header, so it waits for its length before its FCS fails.
    assert framer.feed(stream) == [FRAMES[3]]
    assert framer.feed(bytes(40)) == [FRAMES[0]]
    assert framer.bytes_discarded >= 2 + len(RAW[9]) - 200 - 1
    assert framer.frames == 2


def test_false_start_with_a_long_length_does_not_hold_frames_back() -> None:
    # 7E A7 FF claims a 2047-byte frame; its header check fails at once, so the SNRM comes out now.
    framer = HdlcFramer()
    assert framer.feed(bytes.fromhex("7ea7ff032110aaaa") + RAW[0]) == [FRAMES[0]]
    assert framer.fcs_errors == 1


def test_framer_counts_frames_with_valid_fcs_but_bad_content() -> None:
    framer = HdlcFramer()
    assert framer.feed(_with_fcs(bytes.fromhex("a0070321") + b"\x09") + RAW[0]) == [FRAMES[0]]
    assert framer.invalid_frames == 1


@given(
    garbage=st.lists(st.binary(max_size=40), min_size=len(RAW) + 1, max_size=len(RAW) + 1),
    cuts=st.lists(st.integers(1, 400), min_size=1, max_size=40),
    order=st.permutations(range(len(RAW))),
)
@settings(max_examples=40, deadline=None)
def test_framer_random_chunks_and_garbage(garbage: list[bytes], cuts: list[int], order: list[int]) -> None:
    stream = b"".join(garbage[index] + RAW[frame] for index, frame in enumerate(order)) + garbage[-1]
    framer = HdlcFramer()
    out: list[HdlcFrame] = []
    position = 0
    for cut in cuts:
        out.extend(framer.feed(stream[position : position + cut]))
        position += cut
    out.extend(framer.feed(stream[position:]))
    out.extend(framer.feed(bytes(16)))  # line keeps going: nothing waits on a false start at the end
    assert out == [FRAMES[frame] for frame in order]
    assert framer.frames == len(RAW)
    assert framer.pending <= 2049


def test_single_bit_flips_are_detected() -> None:
    """Every single-bit error in every vector is caught by decode_frame and by the framer."""
    for raw, frame in zip(RAW, FRAMES, strict=True):
        for bit in range(len(raw) * 8):
            flipped = bytearray(raw)
            flipped[bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(FrameError):
                decode_frame(bytes(flipped))
            framer = HdlcFramer()
            assert framer.feed(bytes(flipped) + RAW[0]) == [FRAMES[0]], (frame, bit)


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_burst_errors_never_yield_wrong_frames(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(RAW) - 1))
    raw = bytearray(RAW[index])
    start = data.draw(st.integers(0, len(raw) - 1))
    burst = data.draw(st.binary(min_size=1, max_size=2))
    for offset, value in enumerate(burst):
        if start + offset < len(raw):
            raw[start + offset] ^= value or 0x01
    assert HdlcFramer().feed(bytes(raw) + bytes(16)) == []


@given(st.binary(max_size=3000))
@settings(max_examples=60)
def test_framer_never_raises_and_stays_bounded(noise: bytes) -> None:
    framer = HdlcFramer()
    for start in range(0, len(noise), 97):
        framer.feed(noise[start : start + 97])
        assert framer.pending <= 2049
    assert framer.bytes_discarded + framer.pending <= len(noise)


def test_framer_bound_on_flag_heavy_noise() -> None:
    rng = random.Random(62056)
    noise = bytes(rng.choice([0x7E, 0xA0, 0xA8, 0x21, 0x03, 0x10, 0x00]) for _ in range(20000))
    framer = HdlcFramer()
    for start in range(0, len(noise), 512):
        framer.feed(noise[start : start + 512])
        assert framer.pending <= 2049
    framer.reset()
    assert framer.pending == 0
    assert framer.feed(RAW[0]) == [FRAMES[0]]


# --- fuzzing --------------------------------------------------------------------------------------------


@given(st.binary(max_size=200))
@settings(max_examples=150)
def test_decode_random_bytes_raises_only_dlms_errors(raw: bytes) -> None:
    for candidate in (raw, b"\x7e" + raw + b"\x7e"):
        with contextlib.suppress(DlmsError):
            decode_frame(candidate)
    with contextlib.suppress(DlmsError):
        HdlcParameters.decode(raw)
    with contextlib.suppress(DlmsError):
        HdlcAddress.from_bytes(raw[:5])


@given(st.data())
@settings(max_examples=100)
def test_mutated_frames_with_fixed_checks_raise_only_dlms_errors(data: st.DataObject) -> None:
    """Mutations with the FCS recomputed reach the address, control and HCS checks."""
    raw = bytearray(data.draw(st.sampled_from(RAW))[1:-1])
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 3))] = data.draw(st.integers(0, 255))
    body = bytes(raw[:-2])
    candidate = b"\x7e" + body + fcs_bytes(body) + b"\x7e"
    try:
        frame = decode_frame(candidate)
    except DlmsError:
        return
    assert frame.encode() == candidate or frame.information == b""


# --- segment reassembly -----------------------------------------------------------------------------------


def _segments(apdu: bytes, size: int, source: HdlcAddress, destination: HdlcAddress) -> list[HdlcFrame]:
    information = add_llc(apdu, response=True)
    chunks = [information[start : start + size] for start in range(0, len(information), size)]
    return [
        HdlcFrame(
            destination,
            source,
            Control.information(index % 8, 0),
            chunk,
            segmented=index < len(chunks) - 1,
        )
        for index, chunk in enumerate(chunks)
    ]


def test_reassembler_joins_segments_per_direction() -> None:
    meter, client = server_address(1, 17), client_address(16)
    other = server_address(1, 18)
    apdu_a = bytes(range(256)) * 2
    apdu_b = b"\xc4" + bytes(300)
    first = _segments(apdu_a, 128, meter, client)
    second = _segments(apdu_b, 100, other, client)
    reassembler = SegmentReassembler()
    results: list[bytes] = []
    for frame_a, frame_b in zip(first, second, strict=False):
        for frame in (frame_a, frame_b):
            result = reassembler.add(frame)
            if result is not None:
                results.append(result)
    for frame in first[len(second) :]:
        result = reassembler.add(frame)
        if result is not None:
            results.append(result)
    assert [strip_llc(result)[1] for result in results] == [apdu_b, apdu_a]
    assert reassembler.completed == 2


def test_reassembler_passes_whole_frames_through() -> None:
    reassembler = SegmentReassembler()
    for frame in FRAMES:
        if not frame.segmented:
            expected = frame.information if frame.control.frame_type in (FrameType.I, FrameType.UI) else None
            assert reassembler.add(frame) == expected


def test_supervisory_frames_do_not_end_a_sequence() -> None:
    meter, client = server_address(1, 17), client_address(16)
    first, last = _segments(bytes(300), 200, meter, client)
    reassembler = SegmentReassembler()
    assert reassembler.add(first) is None
    receive_ready = HdlcFrame(meter, client, Control.receive_ready(1))  # client asks for more
    assert reassembler.add(receive_ready) is None
    same_direction = HdlcFrame(client, meter, Control.receive_ready(1))
    assert reassembler.add(same_direction) is None
    result = reassembler.add(last)
    assert result is not None
    assert strip_llc(result) == (True, bytes(300))


def test_reassembler_with_real_first_segment() -> None:
    first = FRAMES[5]
    last = HdlcFrame(first.destination, first.source, Control.information(4, 4), b"\x01\x02")
    reassembler = SegmentReassembler()
    assert reassembler.add(first) is None
    result = reassembler.add(last)
    assert result is not None
    assert result == first.information + b"\x01\x02"


def test_reassembler_bounds() -> None:
    meter, client = server_address(1, 17), client_address(16)
    frames = _segments(bytes(1000), 200, meter, client)
    reassembler = SegmentReassembler(max_size=500)
    assert all(reassembler.add(frame) is None for frame in frames)
    assert reassembler.overflows == 1
    # The rest of the dropped sequence never comes out as a truncated APDU; the next one does.
    small = _segments(bytes(300), 200, meter, client)
    assert reassembler.add(small[0]) is None
    result = reassembler.add(small[1])
    assert result is not None
    assert strip_llc(result)[1] == bytes(300)

    crowded = SegmentReassembler(max_directions=2)
    for physical in range(3):
        crowded.add(_segments(bytes(300), 200, server_address(1, physical), client)[0])
    assert crowded.dropped == 1
    crowded.reset()
    assert crowded.add(_segments(bytes(10), 200, meter, client)[0]) is not None
