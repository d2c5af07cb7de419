"""COSEM date, time and date-time (Blue Book 4.1.6.1).

Meters use these values both for instants (a push telegram's timestamp) and for recurring patterns
(schedules: "every year", "last day of the month", "when daylight saving begins"). Every field may
therefore be "not specified" or take a special value; the classes keep those faithfully so that
``to_bytes(from_bytes(x)) == x`` for every valid ``x``, and only :meth:`CosemDateTime.to_datetime`
collapses a value into a Python instant.

Not specified is ``None``. Special values are kept as the named members of :class:`SpecialMonth` and
:class:`SpecialDay` (which are ``int`` subclasses, so they compare equal to their raw codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import KEEP, IntEnum, IntFlag
from typing import Self

from .errors import DecodeError, EncodeError

DATE_LENGTH = 5
TIME_LENGTH = 4
DATE_TIME_LENGTH = 12

NOT_SPECIFIED = 0xFF
"""The "not specified" code of every one-byte field (month, day, weekday, hour, ...)."""
YEAR_NOT_SPECIFIED = 0xFFFF
DEVIATION_NOT_SPECIFIED = 0x8000
"""The raw (unsigned) deviation code meaning "not specified"."""

MAX_DEVIATION = 840
"""Largest accepted |deviation| in minutes.

The Blue Book gives -720..+720; real zones reach UTC+14:00 (deviation -840), so the bound is widened
to keep meters configured for those zones decodable.
"""


class ClockStatus(IntFlag, boundary=KEEP):
    """Clock status byte of a date-time; bits not named here are kept, not dropped."""

    INVALID_VALUE = 0x01
    DOUBTFUL_VALUE = 0x02
    DIFFERENT_CLOCK_BASE = 0x04
    INVALID_CLOCK_STATUS = 0x08
    DAYLIGHT_SAVING_ACTIVE = 0x80


class SpecialMonth(IntEnum):
    """Month codes that name an event rather than a calendar month."""

    DAYLIGHT_SAVINGS_END = 0xFD
    DAYLIGHT_SAVINGS_BEGIN = 0xFE


class SpecialDay(IntEnum):
    """Day-of-month codes counted from the end of the month."""

    SECOND_LAST_DAY_OF_MONTH = 0xFD
    LAST_DAY_OF_MONTH = 0xFE


def _check_int(value: object, name: str) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise EncodeError(f"{name} must be an integer or None, got {type(value).__name__}")
    return value


def _check_field(
    value: int | None, name: str, low: int, high: int, specials: type[IntEnum] | None = None
) -> None:
    if value is None:
        return
    number = _check_int(value, name)
    if low <= number <= high:
        return
    if specials is not None and number in _codes(specials):
        return
    raise EncodeError(f"{name} {number} out of range {low}..{high}")


def _codes(specials: type[IntEnum]) -> frozenset[int]:
    return _SPECIAL_CODES[specials]


def _special(value: int, specials: type[IntEnum]) -> int:
    """The named member for a special code, so the value explains itself in repr and comparisons."""
    return specials(value) if value in _codes(specials) else value


_SPECIAL_CODES: dict[type[IntEnum], frozenset[int]] = {
    specials: frozenset(int(member) for member in specials) for specials in (SpecialMonth, SpecialDay)
}


def _field_byte(value: int | None) -> int:
    return NOT_SPECIFIED if value is None else int(value)


def _exact(raw: bytes | bytearray | memoryview, length: int, what: str) -> bytes:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise DecodeError(f"{what} must be bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if len(data) != length:
        raise DecodeError(f"{what} must be {length} bytes, got {len(data)}")
    return data


@dataclass(frozen=True, slots=True)
class CosemDate:
    """A date whose fields may be unspecified (``None``) or special (:class:`SpecialMonth`/``Day``).

    ``day_of_week`` is 1 (Monday) .. 7 (Sunday).
    """

    year: int | None
    month: int | None
    day_of_month: int | None
    day_of_week: int | None

    def __post_init__(self) -> None:
        _check_field(self.year, "year", 0, YEAR_NOT_SPECIFIED - 1)
        _check_field(self.month, "month", 1, 12, SpecialMonth)
        _check_field(self.day_of_month, "day of month", 1, 31, SpecialDay)
        _check_field(self.day_of_week, "day of week", 1, 7)

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | memoryview) -> Self:
        """Decode the 5-byte form: year (2 bytes), month, day of month, day of week."""
        data = _exact(raw, DATE_LENGTH, "date")
        year = int.from_bytes(data[0:2], "big")
        month, day, weekday = data[2], data[3], data[4]
        try:
            return cls(
                year=None if year == YEAR_NOT_SPECIFIED else year,
                month=None if month == NOT_SPECIFIED else _special(month, SpecialMonth),
                day_of_month=None if day == NOT_SPECIFIED else _special(day, SpecialDay),
                day_of_week=None if weekday == NOT_SPECIFIED else weekday,
            )
        except EncodeError as exc:
            raise DecodeError(f"invalid date {data.hex()}: {exc}") from None

    def to_bytes(self) -> bytes:
        """The 5-byte form."""
        year = YEAR_NOT_SPECIFIED if self.year is None else int(self.year)
        return year.to_bytes(2, "big") + bytes(
            (_field_byte(self.month), _field_byte(self.day_of_month), _field_byte(self.day_of_week))
        )


@dataclass(frozen=True, slots=True)
class CosemTime:
    """A time of day whose fields may be unspecified (``None``)."""

    hour: int | None
    minute: int | None
    second: int | None
    hundredths: int | None

    def __post_init__(self) -> None:
        _check_field(self.hour, "hour", 0, 23)
        _check_field(self.minute, "minute", 0, 59)
        _check_field(self.second, "second", 0, 59)
        _check_field(self.hundredths, "hundredths", 0, 99)

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | memoryview) -> Self:
        """Decode the 4-byte form: hour, minute, second, hundredths."""
        data = _exact(raw, TIME_LENGTH, "time")
        values = [None if byte == NOT_SPECIFIED else byte for byte in data]
        try:
            return cls(*values)
        except EncodeError as exc:
            raise DecodeError(f"invalid time {data.hex()}: {exc}") from None

    def to_bytes(self) -> bytes:
        """The 4-byte form."""
        return bytes(_field_byte(value) for value in (self.hour, self.minute, self.second, self.hundredths))


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """A date-time: date, time, deviation from UTC and clock status.

    ``deviation`` follows the Blue Book: the minutes *from local time to UTC*, so
    ``UTC = local time + deviation``. Central European Time (UTC+01:00) is therefore ``-60`` and
    CEST (UTC+02:00) ``-120``: the opposite sign of an ISO 8601 offset. This is how the public
    implementations read it too (u9n/dlms-cosem negates it into a tzinfo, Gurux calls the opposite
    convention "UTC to normal time" and needs an option for meters that use it, and the OSGP
    documentation gives -120 for CEST). ``None`` means not specified (0x8000 on the wire).

    ``clock_status`` is ``None`` when not specified (0xFF on the wire).
    """

    date: CosemDate
    time: CosemTime
    deviation: int | None
    clock_status: ClockStatus | None

    def __post_init__(self) -> None:
        if not isinstance(self.date, CosemDate):
            raise EncodeError(f"date must be a CosemDate, got {type(self.date).__name__}")
        if not isinstance(self.time, CosemTime):
            raise EncodeError(f"time must be a CosemTime, got {type(self.time).__name__}")
        _check_field(self.deviation, "deviation", -MAX_DEVIATION, MAX_DEVIATION)
        if self.clock_status is not None:
            status = _check_int(self.clock_status, "clock status")
            if not 0 <= status < NOT_SPECIFIED:
                raise EncodeError(f"clock status {status} out of range 0..254")

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | memoryview) -> Self:
        """Decode the 12-byte form: date (5), time (4), deviation (2, signed), clock status (1)."""
        if type(raw) is bytes and len(raw) == DATE_TIME_LENGTH:
            fast = _trusted_date_time(cls, raw)
            if fast is not None:
                return fast
        data = _exact(raw, DATE_TIME_LENGTH, "date-time")
        date = CosemDate.from_bytes(data[0:5])
        time = CosemTime.from_bytes(data[5:9])
        raw_deviation = int.from_bytes(data[9:11], "big")
        status = data[11]
        deviation = None
        if raw_deviation != DEVIATION_NOT_SPECIFIED:
            deviation = int.from_bytes(data[9:11], "big", signed=True)
        try:
            return cls(
                date=date,
                time=time,
                deviation=deviation,
                clock_status=None if status == NOT_SPECIFIED else ClockStatus(status),
            )
        except EncodeError as exc:
            raise DecodeError(f"invalid date-time {data.hex()}: {exc}") from None

    def to_bytes(self) -> bytes:
        """The 12-byte form."""
        deviation = (
            DEVIATION_NOT_SPECIFIED.to_bytes(2, "big")
            if self.deviation is None
            else int(self.deviation).to_bytes(2, "big", signed=True)
        )
        status = NOT_SPECIFIED if self.clock_status is None else int(self.clock_status)
        return self.date.to_bytes() + self.time.to_bytes() + deviation + bytes((status,))

    def to_datetime(self) -> datetime | None:
        """The instant this value names, or ``None`` when it does not name exactly one.

        ``None`` when year, month, day, hour, minute or second is not specified, when month or day is
        a special value, or when the fields do not form a real calendar date (such as 30 February).
        The day of week is not checked. Unspecified hundredths count as zero. The result is
        timezone-aware when the deviation is given (UTC offset = -deviation) and naive otherwise.
        """
        year, month, day = self.date.year, self.date.month, self.date.day_of_month
        hour, minute, second = self.time.hour, self.time.minute, self.time.second
        if (
            year is None
            or month is None
            or day is None
            or hour is None
            or minute is None
            or second is None
            or isinstance(month, SpecialMonth)
            or isinstance(day, SpecialDay)
        ):
            return None
        hundredths = self.time.hundredths or 0
        tzinfo = None if self.deviation is None else timezone(timedelta(minutes=-self.deviation))
        try:
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                int(hundredths) * 10_000,
                tzinfo=tzinfo,
            )
        except ValueError:  # year 0 or a day the month does not have
            return None

    @classmethod
    def from_datetime(cls, dt: datetime, clock_status: ClockStatus | None = None) -> Self:
        """The date-time for a Python datetime (microseconds are truncated to hundredths).

        An aware datetime gives deviation = -(UTC offset in minutes); a naive one leaves the deviation
        unspecified. ``clock_status`` defaults to no flags, plus ``DAYLIGHT_SAVING_ACTIVE`` when the
        datetime's zone reports daylight saving time (``dt.dst()``); pass a value to set it exactly.
        """
        if not isinstance(dt, datetime):
            raise EncodeError(f"expected a datetime, got {type(dt).__name__}")
        deviation = None
        offset = dt.utcoffset()
        if offset is not None:
            if offset % timedelta(minutes=1):
                raise EncodeError("UTC offset is not a whole number of minutes")
            deviation = -(offset // timedelta(minutes=1))
        if clock_status is None:
            clock_status = ClockStatus(0)
            if dt.dst():
                clock_status |= ClockStatus.DAYLIGHT_SAVING_ACTIVE
        return cls(
            date=CosemDate(dt.year, dt.month, dt.day, dt.isoweekday()),
            time=CosemTime(dt.hour, dt.minute, dt.second, dt.microsecond // 10_000),
            deviation=deviation,
            clock_status=clock_status,
        )


# What each byte of a date-time decodes to when it is valid (missing keys: invalid): the decoded
# field values, built once, so the common case needs no validation calls (see _trusted_date_time).
def _field_table(low: int, high: int, specials: type[IntEnum] | None = None) -> dict[int, int | None]:
    table: dict[int, int | None] = {value: value for value in range(low, high + 1)}
    if specials is not None:
        table.update({int(member): member for member in specials})
    table[NOT_SPECIFIED] = None
    return table


_MONTHS = _field_table(1, 12, SpecialMonth)
_DAYS = _field_table(1, 31, SpecialDay)
_WEEKDAYS = _field_table(1, 7)
_HOURS = _field_table(0, 23)
_MINUTES = _field_table(0, 59)
_HUNDREDTHS = _field_table(0, 99)
_CLOCK_STATUSES: dict[int, ClockStatus | None] = {NOT_SPECIFIED: None}
"""Filled as statuses are met (building all 255 flag values up front costs import time)."""
_MISSING = -1
_set = object.__setattr__


def _trusted_date_time[T: CosemDateTime](cls: type[T], data: bytes) -> T | None:
    """The date-time of 12 bytes whose every field is valid, built without re-validating; else None.

    Gives what the validating path gives (the same values, special members and clock status); any
    invalid field returns None so that path raises its precise error.
    """
    month = _MONTHS.get(data[2], _MISSING)
    day = _DAYS.get(data[3], _MISSING)
    weekday = _WEEKDAYS.get(data[4], _MISSING)
    hour = _HOURS.get(data[5], _MISSING)
    minute = _MINUTES.get(data[6], _MISSING)
    second = _MINUTES.get(data[7], _MISSING)
    hundredths = _HUNDREDTHS.get(data[8], _MISSING)
    status = _CLOCK_STATUSES.get(data[11], _MISSING)
    if status == _MISSING:
        status = _CLOCK_STATUSES[data[11]] = ClockStatus(data[11])  # every byte below 0xFF is valid
    raw_deviation = (data[9] << 8) | data[10]
    deviation: int | None = None
    if raw_deviation != DEVIATION_NOT_SPECIFIED:
        deviation = raw_deviation - 0x10000 if raw_deviation & 0x8000 else raw_deviation
        if not -MAX_DEVIATION <= deviation <= MAX_DEVIATION:
            return None
    if _MISSING in (month, day, weekday, hour, minute, second, hundredths, status):
        return None
    year: int | None = (data[0] << 8) | data[1]
    if year == YEAR_NOT_SPECIFIED:
        year = None
    date = object.__new__(CosemDate)
    _set(date, "year", year)
    _set(date, "month", month)
    _set(date, "day_of_month", day)
    _set(date, "day_of_week", weekday)
    time = object.__new__(CosemTime)
    _set(time, "hour", hour)
    _set(time, "minute", minute)
    _set(time, "second", second)
    _set(time, "hundredths", hundredths)
    value = object.__new__(cls)
    _set(value, "date", date)
    _set(value, "time", time)
    _set(value, "deviation", deviation)
    _set(value, "clock_status", status)
    return value


_WEEKDAY_OFFSET = 4
"""Position of the day-of-week byte in the 12-byte date-time."""


def parse_meter_date_time(raw: bytes | bytearray | memoryview) -> CosemDateTime | None:
    """The date-time a meter's 12 bytes mean, or None when they are not one.

    Some meters send a day of week outside 1..7 (Aidon in Sweden sends 0) in otherwise valid
    timestamps. The weekday repeats what the date says, so it is then taken as not specified
    rather than losing the timestamp; the strict codec (:meth:`CosemDateTime.from_bytes`) still
    rejects such bytes, so schedules and encodings stay exact.
    """
    if len(raw) != DATE_TIME_LENGTH:
        return None
    data = bytes(raw)
    # The table decoder accepts exactly what the strict codec accepts, and says no without raising:
    # octet-strings of 12 bytes that are no date-time (meter numbers) are common in telegrams.
    parsed = _trusted_date_time(CosemDateTime, data)
    if parsed is not None or 1 <= data[_WEEKDAY_OFFSET] <= 7 or data[_WEEKDAY_OFFSET] == NOT_SPECIFIED:
        return parsed
    return _trusted_date_time(
        CosemDateTime, data[:_WEEKDAY_OFFSET] + bytes([NOT_SPECIFIED]) + data[_WEEKDAY_OFFSET + 1 :]
    )
