import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.common import CosemAttributeDescriptor, LongInvokeIdAndPriority
from custom_components.dlms_cosem.dlms.apdu.data_notification import (
    DataNotification,
    EventNotificationRequest,
)
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.cosem_datetime import ClockStatus, CosemDate, CosemDateTime, CosemTime
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError
from custom_components.dlms_cosem.dlms.obis import ObisCode

from .test_apdu_strategies import attribute_descriptors, data_values

# Plaintext of the general-glo-ciphering push sample (Green Book style, published with u9n/dlms-cosem).
DECRYPTED_PUSH = "0f000001db000922125a8591360000000049000000110000000a5a8513d014800000000d0000000a0100"
# Kamstrup HAN push (start of the APDU): long-invoke-id 0, date-time 2022-01-24 18:58:50, a structure
KAMSTRUP_HEAD = "0f000000000c07e6011801123a32ff80000002"
# Aidon HAN push (start): long-invoke-id 0x40000000, no date-time, an array
AIDON_HEAD = "0f400000000001"


def test_decrypted_push() -> None:
    notification = DataNotification.decode(bytes.fromhex(DECRYPTED_PUSH))
    assert notification.long_invoke_id == 0x1DB
    assert notification.long_invoke_id_and_priority.to_int() == 0x000001DB
    assert notification.date_time is None
    assert notification.body.tag is DataTag.OCTET_STRING
    assert notification.body.value == bytes.fromhex(DECRYPTED_PUSH)[8:]
    assert notification.encode().hex() == DECRYPTED_PUSH


def test_date_time_and_flags() -> None:
    raw = bytes.fromhex(KAMSTRUP_HEAD + "00")
    notification = DataNotification.decode(raw)
    assert notification.date_time == CosemDateTime(
        CosemDate(2022, 1, 24, 1), CosemTime(18, 58, 50, None), None, ClockStatus(0)
    )
    assert notification.body == Data.structure()
    assert notification.encode() == raw
    aidon = DataNotification.decode(bytes.fromhex(AIDON_HEAD + "00"))
    assert aidon.long_invoke_id_and_priority == LongInvokeIdAndPriority(confirmed=True)
    assert aidon.date_time is None
    assert aidon.body == Data.array()


def test_odd_date_time_lengths_are_kept_raw() -> None:
    notification = DataNotification.decode(bytes.fromhex("0f000000010501020304051100"))
    assert notification.date_time is None
    assert notification.unparsed_date_time == bytes.fromhex("0102030405")
    assert notification.body == Data.unsigned(0)
    assert notification.encode().hex() == "0f000000010501020304051100"
    invalid = bytes.fromhex("0f000000010c" + "07e60d0101" + "00" * 7 + "1100")  # month 13
    odd = DataNotification.decode(invalid)
    assert odd.date_time is None
    assert odd.unparsed_date_time == bytes.fromhex("07e60d0101" + "00" * 7)
    assert odd.encode() == invalid
    with pytest.raises(EncodeError):
        DataNotification(
            Data.null_data(),
            CosemDateTime(CosemDate(2024, 3, 1, 5), CosemTime(12, 0, 0, 0), -60, None),
            unparsed_date_time=b"x",
        )


def test_long_invoke_id_bits() -> None:
    value = LongInvokeIdAndPriority(
        invoke_id=0xABCDEF, self_descriptive=True, break_on_error=True, confirmed=True, high_priority=True
    )
    assert value.encode().hex() == "f0abcdef"
    assert LongInvokeIdAndPriority.from_int(0x0F000001) == LongInvokeIdAndPriority(1)


def test_event_notification() -> None:
    attribute = CosemAttributeDescriptor(1, ObisCode.parse("0.0.96.11.0.255"), 2)
    event = EventNotificationRequest(attribute, Data.long_unsigned(5))
    assert event.encode().hex() == "c20000010000600b00ff02120005"
    assert EventNotificationRequest.decode(event.encode()) == event
    stamp = CosemDateTime(CosemDate(2024, 3, 1, 5), CosemTime(12, 0, 0, 0), -60, None)
    timed = EventNotificationRequest(attribute, Data.long_unsigned(5), stamp)
    assert EventNotificationRequest.decode(timed.encode()) == timed


@pytest.mark.parametrize(
    "raw",
    [
        "0f",
        "0f000000",
        "0f00000000",
        "0f000000000c00",
        "0f0000000000",
        "0f000000000011",
        "0f00000000001100ff",
    ],
)
def test_malformed(raw: str) -> None:
    with pytest.raises(DecodeError):
        DataNotification.decode(bytes.fromhex(raw))


long_invoke_ids = st.builds(
    LongInvokeIdAndPriority,
    st.integers(0, 0xFFFFFF),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
date_times = st.builds(
    CosemDateTime,
    st.builds(CosemDate, st.integers(2000, 2099), st.integers(1, 12), st.integers(1, 28), st.integers(1, 7)),
    st.builds(CosemTime, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 99)),
    st.none() | st.integers(-720, 720),
    st.none(),
)
# Not 12 bytes, and not 9 bytes starting with 00 or 0C: their length byte and first byte, 09 00 or
# 09 0C, read as the tagged octet-string forms meters send (empty, or a date-time), which the decoder
# rightly prefers (tested below).
odd_lengths = st.binary(min_size=1, max_size=20).filter(
    lambda raw: len(raw) != 12 and not (len(raw) == DataTag.OCTET_STRING and raw[0] in (0, 12))
)


@st.composite
def notifications(draw: st.DrawFn) -> DataNotification:
    stamp = draw(st.none() | date_times)
    unparsed = draw(st.none() | odd_lengths) if stamp is None else None
    return DataNotification(draw(data_values), stamp, draw(long_invoke_ids), unparsed)


@st.composite
def events(draw: st.DrawFn) -> EventNotificationRequest:
    stamp = draw(st.none() | date_times)
    unparsed = draw(st.none() | odd_lengths | st.just(b"")) if stamp is None else None
    return EventNotificationRequest(draw(attribute_descriptors), draw(data_values), stamp, unparsed)


@pytest.mark.parametrize("first", [0x00, 0x0C])
def test_nine_unparsed_bytes_that_look_tagged_read_as_the_tagged_form(first: int) -> None:
    notification = DataNotification(Data.null_data(), None, unparsed_date_time=bytes([first]) + bytes(8))
    with pytest.raises(DecodeError):  # 09 00: an empty date-time, then 8 bytes too many; 09 0C: cut short
        DataNotification.decode(notification.encode())


@settings(max_examples=150)
@given(notifications())
def test_round_trip(notification: DataNotification) -> None:
    assert DataNotification.decode(notification.encode()) == notification


@settings(max_examples=100)
@given(events())
def test_event_round_trip(event: EventNotificationRequest) -> None:
    assert EventNotificationRequest.decode(event.encode()) == event


@settings(max_examples=300)
@given(st.data())
def test_fuzz(data: st.DataObject) -> None:
    raw = bytearray(
        bytes.fromhex(data.draw(st.sampled_from([DECRYPTED_PUSH, KAMSTRUP_HEAD + "00", AIDON_HEAD + "00"])))
    )
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    with contextlib.suppress(DlmsError):
        DataNotification.decode(bytes(raw))
    with contextlib.suppress(DlmsError):
        EventNotificationRequest.decode(b"\xc2" + bytes(raw[1:]))
