"""Values between Home Assistant's actions and the meter: JSON in, A-XDR ``Data`` out, and back.

An action's response must be plain JSON, and a value to write must name its COSEM data type (a
meter refuses a long-unsigned where it keeps an unsigned). The meter's clock (class 8) is compared
with Home Assistant's time here too, so the drift sensor and the set_clock action agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from .dlms.axdr import BitString, Data, DataTag, datetime_from_data, decode_data_bytes, encode_data
from .dlms.cosem_datetime import ClockStatus, CosemDate, CosemDateTime, CosemTime
from .dlms.errors import DecodeError, EncodeError
from .dlms.obis import ObisCode
from .dlms.push import plain_value

type JsonValue = str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None

#: The value's A-XDR encoding in hexadecimal, for structures and arrays (``type: axdr``).
AXDR_HEX: Final = "axdr"


def _integer(tag: DataTag) -> Callable[[object], Data]:
    def build(value: object) -> Data:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise EncodeError(f"{tag.name.lower()} takes a whole number")
        try:
            return Data(tag, int(value))
        except ValueError:
            raise EncodeError(f"{tag.name.lower()} takes a whole number") from None

    return build


def _float(tag: DataTag) -> Callable[[object], Data]:
    def build(value: object) -> Data:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise EncodeError(f"{tag.name.lower()} takes a number")
        try:
            number = float(value)
        except ValueError:
            raise EncodeError(f"{tag.name.lower()} takes a number") from None
        if not math.isfinite(number):
            raise EncodeError(f"{tag.name.lower()} takes a finite number")
        return Data(tag, number)

    return build


def _boolean(value: object) -> Data:
    if isinstance(value, bool):
        return Data.boolean(value)
    if value in (0, 1, "0", "1", "true", "false"):
        return Data.boolean(value in (1, "1", "true"))
    raise EncodeError("boolean takes true or false")


def _text(tag: DataTag) -> Callable[[object], Data]:
    def build(value: object) -> Data:
        if not isinstance(value, str):
            raise EncodeError(f"{tag.name.lower()} takes text")
        return Data(tag, value)

    return build


def _hex(value: object) -> bytes:
    if not isinstance(value, str):
        raise EncodeError("expected hexadecimal digits")
    try:
        return bytes.fromhex(value.replace(" ", ""))
    except ValueError:
        raise EncodeError("expected hexadecimal digits") from None


def _octet_string(value: object) -> Data:
    return Data.octet_string(_hex(value))


def _date_time(value: object) -> Data:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise EncodeError("date_time takes an ISO 8601 date and time") from None
    if not isinstance(value, datetime):
        raise EncodeError("date_time takes an ISO 8601 date and time")
    return Data.octet_string(CosemDateTime.from_datetime(value).to_bytes())


def _axdr(value: object) -> Data:
    try:
        return decode_data_bytes(_hex(value))
    except DecodeError as err:
        raise EncodeError(f"not an A-XDR value: {err}") from None


def _null(value: object) -> Data:
    return Data.null_data()


#: The data types an action can write, by the names its ``type`` field offers.
VALUE_TYPES: Final[dict[str, Callable[[object], Data]]] = {
    "null_data": _null,
    "boolean": _boolean,
    "integer": _integer(DataTag.INTEGER),
    "long": _integer(DataTag.LONG),
    "double_long": _integer(DataTag.DOUBLE_LONG),
    "long64": _integer(DataTag.LONG64),
    "unsigned": _integer(DataTag.UNSIGNED),
    "long_unsigned": _integer(DataTag.LONG_UNSIGNED),
    "double_long_unsigned": _integer(DataTag.DOUBLE_LONG_UNSIGNED),
    "long64_unsigned": _integer(DataTag.LONG64_UNSIGNED),
    "enum": _integer(DataTag.ENUM),
    "float32": _float(DataTag.FLOAT32),
    "float64": _float(DataTag.FLOAT64),
    "octet_string": _octet_string,
    "visible_string": _text(DataTag.VISIBLE_STRING),
    "utf8_string": _text(DataTag.UTF8_STRING),
    "date_time": _date_time,  # as the octet-string(12) clocks and profiles use
    AXDR_HEX: _axdr,
}


def data_from_json(type_name: str, value: object) -> Data:
    """The value to send; EncodeError when it does not fit the type (checked by encoding it now)."""
    build = VALUE_TYPES.get(type_name)
    if build is None:
        raise EncodeError(f"unknown data type {type_name!r}")
    data = build(value)
    encode_data(data)  # ranges and lengths are checked when encoded: fail before anything is sent
    return data


def json_value(value: object) -> JsonValue:
    """A plain value (from :func:`plain_value`) as JSON: bytes in hex, dates and times in ISO 8601."""
    match value:
        case None | bool() | int() | str():
            return value
        case float():
            return value if math.isfinite(value) else str(value)
        case bytes():
            return value.hex().upper()
        case list() | tuple():
            return [json_value(item) for item in value]
        case datetime() | date() | time():
            return value.isoformat()
        case CosemDateTime():
            instant = value.to_datetime()
            return instant.isoformat() if instant is not None else value.to_bytes().hex().upper()
        case CosemDate() | CosemTime():
            return value.to_bytes().hex().upper()
        case BitString():
            return str(value)
        case Data():
            return data_to_json(value)
    return str(value)


def data_to_json(data: Data) -> JsonValue:
    """A value the meter sent, as JSON: text where it is text, date-times recognised."""
    if data.tag is DataTag.COMPACT_ARRAY:
        return json_value(data.to_python())
    return json_value(plain_value(data))


def type_name(data: Data) -> str:
    """The COSEM data type's name, as the write action's ``type`` field spells it."""
    return data.tag.name.lower()


# --- the meter's clock ------------------------------------------------------------------------------------


def meter_time(data: Data, zone: tzinfo) -> datetime:
    """The instant the clock's time attribute names; a time without deviation is taken in ``zone``.

    Raises DecodeError when the value is no date-time or does not name one instant.
    """
    found = datetime_from_data(data)
    instant = local_instant(found, zone) if found is not None else None
    if instant is None:
        raise DecodeError(f"the meter's time is no complete date-time ({data.tag.name})")
    return instant


CUMULATIVE_D: Final = 8
"""OBIS group D of a "time integral 1" register: the total since the meter started."""


def is_cumulative(key: ObisCode) -> bool:
    """A register that accumulates (x.x.C.8.E, current value), such as the energy totals."""
    return key.a != 0 and key.d == CUMULATIVE_D and key.f == 255


def local_instant(found: CosemDateTime, zone: tzinfo) -> datetime | None:
    """The instant a meter's date-time names; one without deviation is taken in ``zone``.

    In the hour a zone repeats when daylight saving ends, the clock status says which pass it is (the
    daylight saving bit set: the first, summer time). Such an instant is given in UTC: two wall-clock
    times of one zone compare equal whatever their pass. ``None`` when the date-time names no instant.
    """
    instant = found.to_datetime()
    if instant is None or instant.tzinfo is not None:
        return instant
    status = found.clock_status
    summer = status is not None and bool(ClockStatus(status) & ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    try:
        return instant.replace(tzinfo=zone, fold=0 if summer or status is None else 1).astimezone(UTC)
    except OverflowError:  # the edge of the calendar (0001-01-01 in a zone east of UTC)
        return None


_HOUR: Final = timedelta(hours=1)


def utc_hour_start(captured: datetime) -> datetime | None:
    """The start of the UTC hour that ends at ``captured``; None when ``captured`` ends no UTC hour.

    A value captured then is that hour's statistic (the row starting an hour earlier holds it). In
    UTC: an hour back in a zone's wall time is not an hour on the days daylight saving changes, and
    the recorder's hours are UTC hours (a +05:30 wall-clock hour is none of them). None too for a
    meter clock at the edge of the calendar (0001-01-01).
    """
    try:
        end = captured.astimezone(UTC)
        start = end - _HOUR
    except OverflowError:
        return None
    if end.minute or end.second or end.microsecond:
        return None
    return start


def clock_drift(meter: datetime, now: datetime) -> float:
    """Seconds the meter's clock is ahead of ``now`` (negative: behind)."""
    return round((meter - now).total_seconds(), 2)


def clock_setting(current: Data, now: datetime) -> Data:
    """The time attribute to write for ``now``, in the UTC offset the meter shows (or without one).

    A meter that sends no deviation keeps local time: it gets Home Assistant's local time, naive.
    """
    found = datetime_from_data(current)
    shown = found.to_datetime() if found is not None else None
    if shown is not None and shown.tzinfo is not None:
        target = now.astimezone(shown.tzinfo)
    else:
        target = now.replace(tzinfo=None)
    return Data.octet_string(CosemDateTime.from_datetime(target).to_bytes())
