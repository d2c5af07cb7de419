"""Push telegram quirks seen in the field, each as a class of input built here from its structure.

The corpus (test_corpus.py) proves the decoder on real captures; these tests build each quirk
independently of any one capture: other values, other sizes, other addresses, cut anywhere.
"""

from __future__ import annotations

import itertools

import pytest

from custom_components.dlms_cosem.dlms.apdu import DataNotification, GeneralBlockTransfer
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag, encode_data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime, parse_meter_date_time
from custom_components.dlms_cosem.dlms.errors import TruncatedError
from custom_components.dlms_cosem.dlms.hdlc import HdlcAddress, HdlcFrame, add_llc
from custom_components.dlms_cosem.dlms.hdlc.control import Control, FrameType
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.push import PushLayout, extract_objects
from custom_components.dlms_cosem.dlms.telegram import Framing, Telegram, TelegramDecoder, decode_telegrams
from custom_components.dlms_cosem.dlms.units import Unit

STAMP = bytes.fromhex("07E80B1A01102D1EFF800000")  # 2024-11-26 16:45:30, deviation not specified
STAMP_ISO = "2024-11-26T16:45:30"
INVOKE = bytes.fromhex("40000001")


def obis(text: str) -> Data:
    return Data.octet_string(ObisCode.parse(text).to_bytes())


def scaler_unit(scaler: int, unit: int) -> Data:
    return Data.structure(Data.integer(scaler), Data.enum(unit))


def capture_object(class_id: int, code: str, attribute: int, data_index: int | None = 0) -> Data:
    members = [Data.long_unsigned(class_id), obis(code), Data.integer(attribute)]
    if data_index is not None:
        members.append(Data.long_unsigned(data_index))
    return Data.structure(*members)


def rows(body: Data) -> list[tuple[str | None, object, str | None]]:
    return [(str(o.obis) if o.obis else None, o.value, o.unit) for o in extract_objects(body).objects]


def every_split(stream: bytes) -> list[list[Telegram]]:
    """The telegrams for the stream cut in two at every position."""
    results = []
    for cut in range(1, len(stream)):
        decoder = TelegramDecoder()
        events = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) + decoder.flush()
        assert all(isinstance(event, Telegram) for event in events), (cut, events)
        results.append([event for event in events if isinstance(event, Telegram)])
    return results


# --- the Data-Notification date-time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_time", "expected"),
    [
        ("0C" + STAMP.hex(), STAMP_ISO),  # A-XDR octet-string
        ("090C" + STAMP.hex(), STAMP_ISO),  # tagged Data octet-string
        ("19" + STAMP.hex(), STAMP_ISO),  # tagged Data date-time
        ("00", None),  # empty, A-XDR
        ("0900", None),  # empty, tagged
    ],
)
def test_every_date_time_form_decodes_and_encodes_back(date_time: str, expected: str | None) -> None:
    body = encode_data(Data.structure(Data.double_long_unsigned(1234), Data.long_unsigned(2301)))
    raw = bytes([0x0F]) + INVOKE + bytes.fromhex(date_time) + body
    notification = DataNotification.decode(raw)
    assert notification.encode() == raw
    stamp = notification.date_time.to_datetime() if notification.date_time else None
    assert (stamp.isoformat() if stamp else None) == expected
    (telegram,) = decode_telegrams([raw])
    assert isinstance(telegram, Telegram)
    assert [o.raw for o in telegram.content.objects] == [1234, 2301]


def test_a_tagged_date_time_cut_short_is_truncated_not_a_shorter_apdu() -> None:
    raw = bytes([0x0F]) + INVOKE + bytes.fromhex("090C") + STAMP + encode_data(Data.long_unsigned(5))
    for cut in range(len(INVOKE) + 3, len(raw)):
        with pytest.raises(TruncatedError):
            DataNotification.decode(raw[:cut])
    assert all(len(found) == 1 for found in every_split(raw))


def test_a_weekday_outside_one_to_seven_keeps_the_timestamp() -> None:
    zero_weekday = STAMP[:4] + b"\x00" + STAMP[5:]
    parsed = parse_meter_date_time(zero_weekday)
    assert parsed is not None
    assert parsed.date.day_of_week is None
    assert parsed.to_datetime() == CosemDateTime.from_bytes(STAMP).to_datetime()
    assert parse_meter_date_time(STAMP[:2] + b"\x0d" + STAMP[3:]) is None  # month 13 is still no date
    body = Data.array(
        Data.structure(obis("0.0.1.0.0.255"), Data.octet_string(zero_weekday)),
        Data.structure(obis("1.0.1.7.0.255"), Data.double_long_unsigned(760), scaler_unit(0, Unit.WATT)),
    )
    (telegram,) = decode_telegrams([bytes([0x0F]) + INVOKE + b"\x00" + encode_data(body)])
    assert isinstance(telegram, Telegram)
    assert telegram.timestamp is not None
    stamp = telegram.timestamp.to_datetime()
    assert stamp is not None
    assert stamp.isoformat() == STAMP_ISO


# --- layouts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("descriptors_as", [DataTag.ARRAY, DataTag.STRUCTURE])
@pytest.mark.parametrize("values_nested", [False, True])
def test_capture_object_list_then_values_with_attribute_3_scaler_units(
    descriptors_as: DataTag, values_nested: bool
) -> None:
    definitions = [
        capture_object(8, "0.0.1.0.0.255", 2),
        capture_object(3, "1.0.1.8.0.255", 2),
        capture_object(3, "1.0.1.8.0.255", 3),
        capture_object(3, "1.0.32.7.0.255", 3),  # the scaler_unit may come first
        capture_object(3, "1.0.32.7.0.255", 2),
        capture_object(1, "0.0.96.1.0.255", 2, None),
    ]
    values = [
        Data.octet_string(STAMP),
        Data.double_long_unsigned(12937),
        scaler_unit(1, Unit.WATT_HOUR),
        scaler_unit(-1, Unit.VOLT),
        Data.long_unsigned(2301),
        Data.octet_string(b"LGZ1030123456"),
    ]
    head = Data.array(*definitions) if descriptors_as == DataTag.ARRAY else Data.structure(*definitions)
    body = Data.structure(head, Data.structure(*values)) if values_nested else Data.structure(head, *values)
    content = extract_objects(body)
    assert content.layout is PushLayout.OBJECT_LIST
    assert rows(body)[1:] == [
        ("1.0.1.8.0.255", 129370, "Wh"),
        ("1.0.32.7.0.255", 230.1, "V"),
        ("0.0.96.1.0.255", "LGZ1030123456", None),
    ]
    assert [(o.class_id, o.attribute) for o in content.objects] == [(8, 2), (3, 2), (3, 2), (1, 2)]
    clock = content.clock()
    assert clock is not None
    assert clock.to_bytes() == STAMP


def test_an_object_list_whose_values_do_not_match_is_kept_as_values() -> None:
    body = Data.structure(
        Data.array(capture_object(3, "1.0.1.8.0.255", 2), capture_object(3, "1.0.2.8.0.255", 2)),
        Data.double_long_unsigned(1),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.BARE_VALUES
    assert len(content.objects) == 2


def test_described_values_in_an_enum_wrapped_array() -> None:
    pairs = Data.array(
        Data.structure(capture_object(1, "0.0.96.1.1.255", 2, None), Data.octet_string(b"4711")),
        Data.structure(capture_object(3, "1.0.1.7.0.255", 2, None), Data.double_long_unsigned(1956)),
        Data.structure(capture_object(3, "1.0.1.7.0.255", 3, None), scaler_unit(0, Unit.WATT)),
    )
    body = Data.structure(Data.enum(1), pairs)
    content = extract_objects(body)
    assert content.layout is PushLayout.DESCRIBED_VALUES
    assert rows(body) == [(None, 1, None), ("0.0.96.1.1.255", "4711", None), ("1.0.1.7.0.255", 1956, "W")]


def _untagged_pair(class_id: int, code: str, attribute: int, value: Data) -> bytes:
    descriptor = class_id.to_bytes(2, "big") + ObisCode.parse(code).to_bytes() + bytes([attribute])
    return bytes([DataTag.STRUCTURE, 2]) + descriptor + encode_data(value)


def test_untagged_attribute_descriptors_become_capture_objects() -> None:
    pairs = [
        _untagged_pair(1, "0.0.96.1.1.255", 2, Data.octet_string(b"5100005149")),
        _untagged_pair(70, "0.0.96.3.10.255", 3, Data.boolean(True)),
        _untagged_pair(3, "1.0.1.8.0.255", 2, Data.double_long_unsigned(4913794)),
        _untagged_pair(3, "1.0.21.7.0.255", 2, Data.long(-198)),
    ]
    body = bytes([DataTag.ARRAY, len(pairs)]) + b"".join(pairs)
    raw = bytes([0x0F]) + INVOKE + b"\x00" + body
    notification = DataNotification.decode(raw)
    content = extract_objects(notification.body)
    assert content.layout is PushLayout.DESCRIBED_VALUES
    assert [(str(o.obis), o.class_id, o.attribute, o.raw) for o in content.objects] == [
        ("0.0.96.1.1.255", 1, 2, "5100005149"),
        ("0.0.96.3.10.255", 70, 3, True),
        ("1.0.1.8.0.255", 3, 2, 4913794),
        ("1.0.21.7.0.255", 3, 2, -198),
    ]
    # Cut anywhere, the telegram is held until it is whole: never a shorter one read the other way.
    for found in every_split(raw):
        assert len(found) == 1
        assert found[0].content == content


def test_bare_values_are_flattened_and_kept_in_order() -> None:
    body = Data.structure(
        Data.structure(Data.visible_string("METER_V1")),
        Data.array(Data.double_long_unsigned(5)),
        Data.long_unsigned(2301),
        Data.structure(Data.structure(Data.octet_string(STAMP))),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.BARE_VALUES
    assert [(o.obis, o.raw) for o in content.objects][:3] == [(None, "METER_V1"), (None, 5), (None, 2301)]
    assert isinstance(content.objects[3].raw, CosemDateTime)
    assert content.clock() is not None


def test_a_body_wrapped_in_one_element_containers_is_unwrapped() -> None:
    body = Data.structure(Data.structure(Data.long_unsigned(1), Data.long_unsigned(2)))
    assert [(o.obis, o.raw) for o in extract_objects(body).objects] == [(None, 1), (None, 2)]


def test_kaifa_list_1_gets_its_code_once_a_longer_list_named_kfm_001() -> None:
    list_1 = bytes([0x0F]) + INVOKE + b"\x00" + encode_data(Data.structure(Data.double_long_unsigned(1415)))
    list_2 = (
        bytes([0x0F])
        + INVOKE
        + b"\x00"
        + encode_data(
            Data.structure(
                Data.visible_string("KFM_001"),
                Data.octet_string(b"6970631401753985"),
                Data.octet_string(b"MA304H3E"),
                *(
                    Data.double_long_unsigned(value)
                    for value in (948, 0, 0, 64, 1416, 3241, 3119, 2385, 0, 2389)
                ),
            )
        )
    )
    decoder = TelegramDecoder(framing=Framing.APDU)
    (before,) = decoder.feed(list_1) + decoder.flush()
    assert isinstance(before, Telegram)
    assert [(o.obis, o.raw) for o in before.content.objects] == [(None, 1415)]
    (named,) = decoder.feed(list_2) + decoder.flush()
    assert isinstance(named, Telegram)
    assert named.content.list_identifier == "KFM_001"
    (after,) = decoder.feed(list_1) + decoder.flush()
    assert isinstance(after, Telegram)
    assert after.content.list_identifier is None
    assert [(str(o.obis), o.value, o.unit) for o in after.content.objects] == [("1.0.1.7.0.255", 1415, "W")]


# --- framing --------------------------------------------------------------------------------------


def _notification(value: int) -> bytes:
    body = Data.array(
        Data.structure(obis("1.0.1.7.0.255"), Data.double_long_unsigned(value), scaler_unit(0, Unit.WATT))
    )
    return bytes([0x0F]) + INVOKE + b"\x00" + encode_data(body)


@pytest.mark.parametrize("llc", ["E6E700", "E6E600"])
def test_apdus_behind_an_llc_header_alone(llc: str) -> None:
    stream = b"".join(bytes.fromhex(llc) + _notification(value) for value in (100, 200, 300))
    telegrams = decode_telegrams([stream])
    assert [t.content.objects[0].raw for t in telegrams if isinstance(t, Telegram)] == [100, 200, 300]
    single = bytes.fromhex(llc) + _notification(42)
    for found in every_split(single):
        assert [t.content.objects[0].raw for t in found] == [42]


def _hdlc_frames(
    information: bytes, control: Control, client: HdlcAddress, server: HdlcAddress, size: int
) -> bytes:
    """The information field in frames of at most ``size`` bytes, segmented (S bit) when it is longer."""
    parts = [information[i : i + size] for i in range(0, len(information), size)]
    frames = b""
    for index, part in enumerate(parts):
        frame = HdlcFrame(client, server, control, part, segmented=index < len(parts) - 1)
        frames += frame.encode()
    return frames


ADDRESSES = [
    HdlcAddress(0x10, None, 1),
    HdlcAddress(1, 0x11, 2),
    HdlcAddress(1, 0x3FF, 4),
]


@pytest.mark.parametrize(
    ("client", "server"), list(itertools.product([ADDRESSES[0], ADDRESSES[1]], ADDRESSES))
)
@pytest.mark.parametrize("frame_type", [FrameType.I, FrameType.UI])
def test_hdlc_i_and_ui_frames_with_any_address_size(
    client: HdlcAddress, server: HdlcAddress, frame_type: FrameType
) -> None:
    control = Control(frame_type, ns=3, nr=5) if frame_type is FrameType.I else Control(frame_type)
    apdu = _notification(2893)
    stream = _hdlc_frames(add_llc(apdu, response=True), control, client, server, 40)
    (telegram,) = decode_telegrams([stream])
    assert isinstance(telegram, Telegram)
    assert telegram.framing is Framing.HDLC
    assert [(str(o.obis), o.value, o.unit) for o in telegram.content.objects] == [
        ("1.0.1.7.0.255", 2893, "W")
    ]


@pytest.mark.parametrize("hdlc_segment_size", [None, 30])
def test_general_block_transfer_spread_over_hdlc_frames(hdlc_segment_size: int | None) -> None:
    apdu = _notification(4408736)
    blocks = [apdu[i : i + 10] for i in range(0, len(apdu), 10)]
    client, server = HdlcAddress(0x67, None, 1), HdlcAddress(1, 0x11, 2)
    stream = b""
    for number, block in enumerate(blocks, start=1):
        gbt = GeneralBlockTransfer(number, block, last_block=number == len(blocks)).encode()
        information = add_llc(gbt, response=True) if number == 1 else gbt
        size = hdlc_segment_size or len(information)
        stream += _hdlc_frames(information, Control(FrameType.UI), client, server, size)
    events = decode_telegrams([stream])
    assert [type(event) for event in events] == [Telegram]
    telegram = events[0]
    assert isinstance(telegram, Telegram)
    assert [o.raw for o in telegram.content.objects] == [4408736]


def test_a_push_setup_listing_its_own_object_list_first() -> None:
    definitions = Data.array(
        capture_object(40, "0.0.25.9.0.255", 2),
        capture_object(8, "0.0.1.0.0.255", 2),
        capture_object(3, "1.0.1.7.0.255", 2),
    )
    values = [Data.octet_string(STAMP), Data.double_long_unsigned(187)]
    body = Data.structure(definitions, *values)
    content = extract_objects(body)
    assert content.layout is PushLayout.OBJECT_LIST
    assert [(str(o.obis), o.class_id) for o in content.objects] == [
        ("0.0.1.0.0.255", 8),
        ("1.0.1.7.0.255", 3),
    ]
    assert content.objects[1].raw == 187


def test_an_obis_octet_string_with_tag_and_length_swapped() -> None:
    good = encode_data(
        Data.structure(obis("1.0.32.7.0.255"), Data.long_unsigned(2330), scaler_unit(-1, Unit.VOLT))
    )
    swapped = (
        bytes([DataTag.STRUCTURE, 3, 6, DataTag.OCTET_STRING]) + ObisCode.parse("1.0.31.7.0.255").to_bytes()
    )
    swapped += encode_data(Data.long(244)) + encode_data(scaler_unit(-2, Unit.AMPERE))
    body = bytes([DataTag.ARRAY, 2]) + good + swapped
    raw = bytes([0x0F]) + INVOKE + b"\x00" + body
    (telegram,) = decode_telegrams([raw])
    assert isinstance(telegram, Telegram)
    assert [(str(o.obis), o.value, o.unit) for o in telegram.content.objects] == [
        ("1.0.32.7.0.255", 233, "V"),
        ("1.0.31.7.0.255", 2.44, "A"),
    ]
    for found in every_split(raw):
        assert [t.content for t in found] == [telegram.content]


def test_text_padded_with_nul_bytes_is_the_text() -> None:
    body = Data.structure(
        obis("0.0.96.1.0.255"),
        Data.visible_string("40799390" + "\0" * 8),
        obis("0.0.96.14.0.255"),
        Data.octet_string(b"RATE2\0\0\0"),
        obis("0.2.25.9.0.255"),
        Data.octet_string(bytes.fromhex("0002190900FF")),
    )
    assert [o.raw for o in extract_objects(body).objects] == [
        "40799390",
        "RATE2",
        bytes.fromhex("0002190900FF"),
    ]


def test_flat_pairs_followed_by_obis_value_structures() -> None:
    body = Data.structure(
        obis("0.0.1.0.0.255"),
        Data.octet_string(STAMP),
        Data.structure(obis("0.0.96.1.0.255"), Data.octet_string(b"1KFM0200200001")),
        Data.structure(obis("1.0.32.7.0.255"), Data.long_unsigned(2301), scaler_unit(-1, Unit.VOLT)),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.OBIS_VALUE_SEQUENCE
    assert rows(body)[1:] == [("0.0.96.1.0.255", "1KFM0200200001", None), ("1.0.32.7.0.255", 230.1, "V")]


def test_push_object_definitions_with_restriction_and_columns() -> None:
    def definition(class_id: int, code: str) -> Data:
        restriction = Data.structure(Data.enum(0), Data.null_data())
        return Data.structure(
            Data.long_unsigned(class_id),
            obis(code),
            Data.integer(2),
            Data.long_unsigned(0),
            restriction,
            Data.array(),
        )

    body = Data.structure(
        Data.array(
            definition(40, "0.0.25.9.0.255"), definition(1, "0.0.42.0.0.255"), definition(3, "1.0.1.8.0.255")
        ),
        Data.visible_string("EMR0222173608710"),
        Data.double_long_unsigned(16),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.OBJECT_LIST
    assert rows(body) == [("0.0.42.0.0.255", "EMR0222173608710", None), ("1.0.1.8.0.255", 16, None)]
