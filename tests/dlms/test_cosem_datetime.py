from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.cosem_datetime import (
    ClockStatus,
    CosemDate,
    CosemDateTime,
    CosemTime,
    SpecialDay,
    SpecialMonth,
)
from custom_components.dlms_cosem.dlms.errors import DecodeError, EncodeError

# Public vectors: the date-time inside GET-response-with-list (octet-string(12)), the Aidon push header
# date-time, the Kamstrup push header, and the range bounds of a selective-access request.
WITH_LIST_DATETIME = "07e50603040e091700ffc400"  # 2021-06-03 Thu 14:09:23.00, deviation -60, status 00
AIDON_DATETIME = "07e30c1001073b28ff8000ff"  # 2019-12-16 Mon 07:59:40, rest not specified
KAMSTRUP_DATETIME = "07e6011801123a32ff800000"  # 2022-01-24 Mon 18:58:50, status 00
RANGE_FROM = "07e10a010700000000ffc480"  # 2017-10-01 Sun 00:00:00.00, deviation -60, DST active


def test_with_list_vector() -> None:
    value = CosemDateTime.from_bytes(bytes.fromhex(WITH_LIST_DATETIME))
    assert value.date == CosemDate(2021, 6, 3, 4)
    assert value.time == CosemTime(14, 9, 23, 0)
    assert value.deviation == -60
    assert value.clock_status == ClockStatus(0)
    dt = value.to_datetime()
    assert dt == datetime(2021, 6, 3, 14, 9, 23, tzinfo=timezone(timedelta(hours=1)))
    assert dt is not None
    assert dt.utcoffset() == timedelta(hours=1)
    # deviation is local time to UTC: UTC = local + deviation
    assert dt.astimezone(UTC) == datetime(2021, 6, 3, 13, 9, 23, tzinfo=UTC)
    assert value.to_bytes().hex() == WITH_LIST_DATETIME


def test_aidon_vector_not_specified_fields() -> None:
    value = CosemDateTime.from_bytes(bytes.fromhex(AIDON_DATETIME))
    assert value.date == CosemDate(2019, 12, 16, 1)
    assert value.time == CosemTime(7, 59, 40, None)
    assert value.deviation is None
    assert value.clock_status is None
    dt = value.to_datetime()
    assert dt == datetime(2019, 12, 16, 7, 59, 40)
    assert dt is not None
    assert dt.tzinfo is None
    assert value.to_bytes().hex() == AIDON_DATETIME


def test_kamstrup_vector() -> None:
    value = CosemDateTime.from_bytes(bytes.fromhex(KAMSTRUP_DATETIME))
    assert value.to_datetime() == datetime(2022, 1, 24, 18, 58, 50)
    assert value.clock_status == ClockStatus(0)
    assert value.to_bytes().hex() == KAMSTRUP_DATETIME


def test_range_vector_with_daylight_saving_flag() -> None:
    value = CosemDateTime.from_bytes(bytes.fromhex(RANGE_FROM))
    assert value.date.day_of_week == 7
    assert value.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert value.to_datetime() == datetime(2017, 10, 1, tzinfo=timezone(timedelta(hours=1)))
    assert value.to_bytes().hex() == RANGE_FROM


def test_positive_deviation_is_west_of_utc() -> None:
    value = CosemDateTime(CosemDate(2024, 1, 1, None), CosemTime(8, 0, 0, None), 300, ClockStatus(0))
    assert value.to_datetime() == datetime(2024, 1, 1, 13, 0, tzinfo=UTC)
    assert value.to_bytes()[9:11] == bytes.fromhex("012c")


def test_hundredths_become_microseconds() -> None:
    value = CosemDateTime(CosemDate(2024, 2, 29, 4), CosemTime(23, 59, 59, 99), 0, None)
    assert value.to_datetime() == datetime(2024, 2, 29, 23, 59, 59, 990000, tzinfo=UTC)


def test_special_values_are_named_and_kept() -> None:
    date = CosemDate.from_bytes(bytes.fromhex("fffffdfe07"))
    assert date == CosemDate(None, SpecialMonth.DAYLIGHT_SAVINGS_END, SpecialDay.LAST_DAY_OF_MONTH, 7)
    assert date.month is SpecialMonth.DAYLIGHT_SAVINGS_END
    assert date.day_of_month == 0xFE
    assert date.to_bytes().hex() == "fffffdfe07"
    begin = CosemDate.from_bytes(bytes.fromhex("07e8fefdff"))
    assert begin.month is SpecialMonth.DAYLIGHT_SAVINGS_BEGIN
    assert begin.day_of_month is SpecialDay.SECOND_LAST_DAY_OF_MONTH
    assert begin.day_of_week is None
    assert begin.to_bytes().hex() == "07e8fefdff"
    assert CosemDate.from_bytes(bytes.fromhex("ffffffffff")) == CosemDate(None, None, None, None)
    assert CosemTime.from_bytes(bytes.fromhex("ffffffff")) == CosemTime(None, None, None, None)


@pytest.mark.parametrize(
    "raw",
    [
        "ffffffffffffffffff8000ff",  # nothing specified
        "ffff0c1001073b28ff8000ff",  # year not specified
        "07e3ff1001073b28ff8000ff",  # month not specified
        "07e30cff01073b28ff8000ff",  # day not specified
        "07e30c1001ff3b28ff8000ff",  # hour not specified
        "07e30c100107ff28ff8000ff",  # minute not specified
        "07e30c1001073bffff8000ff",  # second not specified
        "07e3fd1001073b28ff8000ff",  # month: daylight savings end
        "07e30cfe01073b28ff8000ff",  # day: last day of month
        "07e3021e01073b28ff8000ff",  # 30 February
        "00000c1001073b28ff8000ff",  # year 0
    ],
)
def test_to_datetime_none_when_not_one_instant(raw: str) -> None:
    assert CosemDateTime.from_bytes(bytes.fromhex(raw)).to_datetime() is None


def test_to_datetime_ignores_day_of_week() -> None:
    value = CosemDateTime.from_bytes(bytes.fromhex("07e30c1003073b28ff8000ff"))  # says Wednesday
    assert value.to_datetime() == datetime(2019, 12, 16, 7, 59, 40)


@pytest.mark.parametrize(
    ("cls", "raw"),
    [
        (CosemDate, "07e30d1001"),  # month 13
        (CosemDate, "07e3001001"),  # month 0
        (CosemDate, "07e3fc1001"),  # month 0xFC
        (CosemDate, "07e30c0001"),  # day 0
        (CosemDate, "07e30c2001"),  # day 32
        (CosemDate, "07e30ce001"),  # day 0xE0 (reserved)
        (CosemDate, "07e30cfc01"),  # day 0xFC (reserved)
        (CosemDate, "07e30c1000"),  # weekday 0
        (CosemDate, "07e30c1008"),  # weekday 8
        (CosemDate, "07e30c10fe"),  # weekday 0xFE
        (CosemTime, "18000000"),  # hour 24
        (CosemTime, "003c0000"),  # minute 60
        (CosemTime, "00003c00"),  # second 60
        (CosemTime, "00000064"),  # hundredths 100
        (CosemTime, "fe000000"),
        (CosemDateTime, "07e30c1001073b28fffcb700"),  # deviation -841
        (CosemDateTime, "07e30c1001073b28ff7fff00"),  # deviation +32767
        (CosemDateTime, "07e30c1001073b28ff8001ff"),  # deviation -32767
        (CosemDateTime, "07e30d1001073b28ff8000ff"),  # month 13 inside a date-time
        (CosemDateTime, "07e30c1001183b28ff8000ff"),  # hour 24 inside a date-time
    ],
)
def test_out_of_range_fields(cls: type[CosemDate | CosemTime | CosemDateTime], raw: str) -> None:
    with pytest.raises(DecodeError):
        cls.from_bytes(bytes.fromhex(raw))


@pytest.mark.parametrize(("cls", "length"), [(CosemDate, 5), (CosemTime, 4), (CosemDateTime, 12)])
def test_exact_length(cls: type[CosemDate | CosemTime | CosemDateTime], length: int) -> None:
    for size in (0, length - 1, length + 1):
        with pytest.raises(DecodeError, match=f"{length} bytes"):
            cls.from_bytes(b"\x00" * size)
    with pytest.raises(DecodeError):
        cls.from_bytes("07e3")  # type: ignore[arg-type]


def test_deviation_bounds() -> None:
    for deviation in (-840, -720, 0, 720, 840):
        value = CosemDateTime(CosemDate(2024, 6, 1, 6), CosemTime(12, 0, 0, 0), deviation, None)
        assert CosemDateTime.from_bytes(value.to_bytes()) == value
    for deviation in (-841, 841, 0x8000):
        with pytest.raises(EncodeError):
            CosemDateTime(CosemDate(2024, 6, 1, 6), CosemTime(12, 0, 0, 0), deviation, None)


def test_clock_status_keeps_unknown_bits() -> None:
    raw = bytes.fromhex("07e50603040e091700ffc491")
    value = CosemDateTime.from_bytes(raw)
    assert value.clock_status is not None
    assert ClockStatus.INVALID_VALUE in value.clock_status
    assert ClockStatus.DAYLIGHT_SAVING_ACTIVE in value.clock_status
    assert int(value.clock_status) == 0x91
    assert value.to_bytes() == raw
    assert ClockStatus(0x10) == 0x10


def test_clock_status_values() -> None:
    assert int(ClockStatus.INVALID_VALUE) == 0x01
    assert int(ClockStatus.DOUBTFUL_VALUE) == 0x02
    assert int(ClockStatus.DIFFERENT_CLOCK_BASE) == 0x04
    assert int(ClockStatus.INVALID_CLOCK_STATUS) == 0x08
    assert int(ClockStatus.DAYLIGHT_SAVING_ACTIVE) == 0x80


@pytest.mark.parametrize(
    "kwargs",
    [
        {"year": 0xFFFF, "month": 1, "day_of_month": 1, "day_of_week": 1},
        {"year": -1, "month": 1, "day_of_month": 1, "day_of_week": 1},
        {"year": 2024, "month": 13, "day_of_month": 1, "day_of_week": 1},
        {"year": 2024, "month": 0xFF, "day_of_month": 1, "day_of_week": 1},
        {"year": 2024, "month": 1, "day_of_month": 0xFF, "day_of_week": 1},
        {"year": 2024, "month": 1, "day_of_month": 1, "day_of_week": 0},
        {"year": 2024, "month": True, "day_of_month": 1, "day_of_week": 1},
        {"year": 2024.0, "month": 1, "day_of_month": 1, "day_of_week": 1},
    ],
)
def test_date_constructor_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(EncodeError):
        CosemDate(**kwargs)  # type: ignore[arg-type]


def test_datetime_constructor_validates() -> None:
    with pytest.raises(EncodeError):
        CosemDateTime(CosemTime(1, 2, 3, 4), CosemTime(1, 2, 3, 4), None, None)  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        CosemDateTime(CosemDate(None, None, None, None), CosemTime(1, 2, 3, 4), None, 0xFF)  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        CosemTime(24, 0, 0, 0)


class _Summer(tzinfo):
    """UTC+02:00 with daylight saving in effect (what a CEST zone reports), without tz data files."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=2)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1)

    def tzname(self, dt: datetime | None) -> str:
        return "CEST"


def test_from_datetime_aware() -> None:
    dt = datetime(2021, 6, 3, 14, 9, 23, 456789, tzinfo=_Summer())
    value = CosemDateTime.from_datetime(dt)
    assert value.date == CosemDate(2021, 6, 3, 4)
    assert value.time == CosemTime(14, 9, 23, 45)
    assert value.deviation == -120
    assert value.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert value.to_datetime() == datetime(2021, 6, 3, 14, 9, 23, 450000, tzinfo=UTC) + timedelta(hours=-2)


def test_from_datetime_vector_round_trip() -> None:
    dt = datetime(2021, 6, 3, 14, 9, 23, tzinfo=timezone(timedelta(hours=1)))
    assert CosemDateTime.from_datetime(dt).to_bytes().hex() == WITH_LIST_DATETIME


def test_from_datetime_naive_and_explicit_status() -> None:
    value = CosemDateTime.from_datetime(
        datetime(2019, 12, 16, 7, 59, 40), clock_status=ClockStatus.DOUBTFUL_VALUE
    )
    assert value.deviation is None
    assert value.clock_status == ClockStatus.DOUBTFUL_VALUE
    assert value.to_bytes().hex() == "07e30c1001073b28008000" + "02"


def test_from_datetime_rejects() -> None:
    with pytest.raises(EncodeError, match="whole number of minutes"):
        CosemDateTime.from_datetime(datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30))))
    with pytest.raises(EncodeError):
        CosemDateTime.from_datetime(datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=23))))
    with pytest.raises(EncodeError):
        CosemDateTime.from_datetime("2024-01-01")  # type: ignore[arg-type]


@pytest.mark.parametrize("position", range(5))
def test_every_date_byte_value_decodes_or_fails_cleanly(position: int) -> None:
    base = bytearray.fromhex("07e50603ff")
    for byte in range(256):
        raw = bytes(base[:position]) + bytes([byte]) + bytes(base[position + 1 :])
        try:
            value = CosemDate.from_bytes(raw)
        except DecodeError:
            continue
        assert value.to_bytes() == raw


@pytest.mark.parametrize("position", range(4))
def test_every_time_byte_value_decodes_or_fails_cleanly(position: int) -> None:
    for byte in range(256):
        raw = bytes(position) + bytes([byte]) + bytes(3 - position)
        try:
            value = CosemTime.from_bytes(raw)
        except DecodeError:
            assert byte not in (0xFF, *range(24 if position == 0 else 60 if position < 3 else 100))
            continue
        assert value.to_bytes() == raw


optional = st.none
dates = st.builds(
    CosemDate,
    year=optional() | st.integers(0, 0xFFFE),
    month=optional() | st.integers(1, 12) | st.sampled_from(list(SpecialMonth)),
    day_of_month=optional() | st.integers(1, 31) | st.sampled_from(list(SpecialDay)),
    day_of_week=optional() | st.integers(1, 7),
)
times = st.builds(
    CosemTime,
    hour=optional() | st.integers(0, 23),
    minute=optional() | st.integers(0, 59),
    second=optional() | st.integers(0, 59),
    hundredths=optional() | st.integers(0, 99),
)
date_times = st.builds(
    CosemDateTime,
    date=dates,
    time=times,
    deviation=optional() | st.integers(-840, 840),
    clock_status=optional() | st.integers(0, 254).map(ClockStatus),
)


@given(date_times)
@settings(max_examples=300)
def test_round_trip(value: CosemDateTime) -> None:
    assert CosemDateTime.from_bytes(value.to_bytes()) == value
    assert CosemDate.from_bytes(value.date.to_bytes()) == value.date
    assert CosemTime.from_bytes(value.time.to_bytes()) == value.time


@given(
    st.datetimes(
        timezones=st.none() | st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    )
)
@settings(max_examples=200)
def test_from_datetime_to_datetime(dt: datetime) -> None:
    value = CosemDateTime.from_datetime(dt)
    back = value.to_datetime()
    assert back == dt.replace(microsecond=dt.microsecond // 10_000 * 10_000)
    assert back is not None
    assert back.utcoffset() == dt.utcoffset()


@given(st.binary(min_size=12, max_size=12))
@settings(max_examples=300)
def test_fuzz_decode(raw: bytes) -> None:
    try:
        value = CosemDateTime.from_bytes(raw)
    except DecodeError:
        return
    assert value.to_bytes() == raw
    value.to_datetime()  # never raises
