r"""Text values as the objects binary telegrams give: OBIS code, value with scaler and unit, capture time.

A number with a unit (``001837.512*kWh``) becomes what a binary meter sends for it: the digits as an
integer, a scaler and a DLMS unit, the base unit with the prefix folded into the scaler (``kWh`` with
three decimals is Wh with scaler 0, so 1837512 Wh). Everything downstream (entities, device classes,
statistics, the plausibility guard) then treats text and binary telegrams alike.

- A value without a unit stays text, exactly as sent: ``0002`` (a tariff), hexadecimal identifiers
  and bitmaps (the error register ``F.F(0000A000)``) are no decimal numbers, and reading them as one
  would show a wrong value. Only a number with a decimal point (``4.556``, a power factor; the
  Smarty's ``00.007`` reactive power) is a number without a unit (unit "count").
- A time stamp ``YYMMDDhhmmss`` with ``S`` (summer) or ``W`` (winter) is a COSEM date-time in the
  meter's local time with its daylight saving flag (DSMR's TST).
- A data set with a time stamp and one number (``0-1:24.2.1(261207101000W)(01234.567*m3)``, or a
  readout's maximum demand ``(1.234*kW)(2401311415)``) is that number, captured at that time: an
  M-Bus channel's reading is as old as its capture.
- The DSMR 2.2/3 gas reading ``0-1:24.3.0(T)(..)(60)(1)(0-1:24.2.1)(m3)(00124.477)`` names the object
  it carries and its unit: it becomes that object's value, captured at T.
- Any other data set with several values (the power failure log ``1-0:99.97.0``) is a list: a
  structure of its values, marked as a profile (class 7) so it is history, not a value to show.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..axdr import Data
from ..cosem_datetime import ClockStatus, CosemDate, CosemDateTime, CosemTime
from ..errors import DecodeError, EncodeError
from ..push import PushObject
from ..push.profiles import PROFILE_GENERIC_CLASS_ID
from ..units import ScalerUnit, Unit
from .lines import DataSet, parse_id_code

UNIT_SEPARATOR = "*"
DECIMAL_POINT = "."
SUMMER = "S"
WINTER = "W"
MAX_DIGITS = 18
"""Digits of a number that still fits a signed 64-bit integer (longer ones stay text)."""
_TIME_STAMP_DIGITS = 12
_SHORT_TIME_STAMP_DIGITS = 10
"""``YYMMDDhhmm``: the capture time readouts give maximum demands (no seconds)."""
_CENTURY = 2000

# Unit symbols of text telegrams -> (DLMS unit, power of ten of the prefix). DLMS always gives the base
# unit with the magnitude in the scaler, so the prefix moves into the scaler.
_PREFIXES = {"": 0, "k": 3, "M": 6, "G": 9}
_BASE_UNITS: dict[str, Unit] = {
    "Wh": Unit.WATT_HOUR,
    "varh": Unit.VAR_HOUR,
    "VAh": Unit.VOLT_AMPERE_HOUR,
    "W": Unit.WATT,
    "var": Unit.VAR,
    "VA": Unit.VOLT_AMPERE,
    "V": Unit.VOLT,
    "A": Unit.AMPERE,
    "Hz": Unit.HERTZ,
    "J": Unit.JOULE,
}
_FIXED_UNITS: dict[str, tuple[Unit, int]] = {
    "m3": (Unit.CUBIC_METRE, 0),
    "m³": (Unit.CUBIC_METRE, 0),
    "m3/h": (Unit.CUBIC_METRE_PER_HOUR, 0),
    "l": (Unit.LITRE, 0),
    "s": (Unit.SECOND, 0),
    "min": (Unit.MINUTE, 0),
    "h": (Unit.HOUR, 0),
    "%": (Unit.PERCENTAGE, 0),
    "°C": (Unit.DEGREE_CELSIUS, 0),
    "kg": (Unit.KILOGRAM, 0),
    "bar": (Unit.BAR, 0),
}


def _unit_table() -> dict[str, tuple[Unit, int]]:
    table = dict(_FIXED_UNITS)
    for prefix, exponent in _PREFIXES.items():
        for base, unit in _BASE_UNITS.items():
            table[prefix + base] = (unit, exponent)
    return table


_UNITS = _unit_table()
_UNITS_UPPER = {symbol.upper(): unit for symbol, unit in _UNITS.items()}


def text_unit(symbol: str) -> tuple[Unit, int] | None:
    """The DLMS unit and prefix exponent of a unit as text telegrams write it; None when unknown.

    Some meters write units in upper case (``KWH``); no two units here differ by case alone, so the
    upper-case spelling names the same unit.
    """
    return _UNITS.get(symbol) or _UNITS_UPPER.get(symbol.upper())


def _number(text: str) -> tuple[int, int] | None:
    """``[+-]digits[.digits]`` as (integer of all its digits, minus the number of decimals)."""
    sign = -1 if text[:1] == "-" else 1
    body = text[1:] if text[:1] in "+-" else text
    whole, point, decimals = body.partition(".")
    digits = whole + decimals
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > MAX_DIGITS:
        return None
    if point and not decimals:
        return None
    return sign * int(digits), -len(decimals)


def measurement(text: str) -> tuple[Data, ScalerUnit] | None:
    """A number with its unit (``001837.512*kWh``) as a DLMS value and scaler_unit; None if not one."""
    number, separator, symbol = text.partition(UNIT_SEPARATOR)
    if not separator:
        return None
    unit = text_unit(symbol)
    parsed = _number(number)
    if unit is None or parsed is None:
        return None
    value, scaler = parsed
    scaler += unit[1]
    try:
        return Data.long64(value), ScalerUnit(scaler, unit[0])
    except EncodeError:
        return None


def time_stamp(text: str, *, short: bool = False) -> CosemDateTime | None:
    """``YYMMDDhhmmss`` with ``S``/``W`` (or without, DSMR 2.2), or ``YYMMDDhhmm`` when ``short``."""
    status: ClockStatus | None = None
    digits = text
    if text[-1:] in (SUMMER, WINTER):
        status = ClockStatus.DAYLIGHT_SAVING_ACTIVE if text[-1] == SUMMER else ClockStatus(0)
        digits = text[:-1]
    lengths = (_TIME_STAMP_DIGITS, _SHORT_TIME_STAMP_DIGITS) if short else (_TIME_STAMP_DIGITS,)
    if len(digits) not in lengths or not digits.isascii() or not digits.isdigit():
        return None
    fields = [int(digits[index : index + 2]) for index in range(0, len(digits), 2)]
    year, month, day, hour, minute = fields[:5]
    second = fields[5] if len(fields) > 5 else 0
    try:
        found = CosemDateTime(
            CosemDate(_CENTURY + year, month, day, None),
            CosemTime(hour, minute, second, 0),
            None,
            status,
        )
    except EncodeError:
        return None
    return found if found.to_datetime() is not None else None


def _value(text: str) -> tuple[Data, ScalerUnit | None]:
    """One value: a measurement, a decimal number, a time stamp with S/W, empty, or the text as sent."""
    if not text:
        return Data.null_data(), None
    found = measurement(text)
    if found is not None:
        return found
    if DECIMAL_POINT in text:
        # A decimal point makes it a quantity, even without a unit (the Smarty's reactive power, a
        # power factor); identifiers, tariffs and bitmaps never have one.
        parsed = _number(text)
        if parsed is not None:
            return Data.long64(parsed[0]), ScalerUnit(parsed[1], Unit.COUNT)
    if text[-1] in (SUMMER, WINTER):
        stamp = time_stamp(text)
        if stamp is not None:
            return Data.date_time(stamp), None
    return Data.visible_string(text), None


def _captured_value(data_set: DataSet) -> PushObject | None:
    """A time stamp and one measurement, in either order: the measurement captured at that time."""
    first, second = data_set.values
    for stamp_text, value_text in ((first, second), (second, first)):
        stamp = time_stamp(stamp_text, short=True)
        found = measurement(value_text) if stamp is not None else None
        if stamp is not None and found is not None:
            return PushObject(data_set.code, found[0], found[1], captured=stamp)
    return None


def _referenced_value(data_set: DataSet) -> PushObject | None:
    """``(T)(..)(period)(count)(A-B:C.D.E)(unit)(value)``: the named object's value, captured at T."""
    values = data_set.values
    for index, text in enumerate(values[:-2]):
        if ":" not in text or text[-1] in (SUMMER, WINTER):
            continue
        unit_text, readings = values[index + 1], values[index + 2 :]
        if len(readings) != 1 or text_unit(unit_text) is None:
            return None
        try:
            code = parse_id_code(text)
        except DecodeError:
            return None
        found = measurement(f"{readings[0]}{UNIT_SEPARATOR}{unit_text}")
        stamp = time_stamp(values[0]) if index else None
        if found is None:
            return None
        return PushObject(code, found[0], found[1], captured=stamp)
    return None


def data_set_object(data_set: DataSet) -> PushObject:
    """The object a data set stands for (see the module docstring)."""
    values = data_set.values
    if len(values) == 1:
        data, scaler_unit = _value(values[0])
        return PushObject(data_set.code, data, scaler_unit)
    if len(values) == 2:  # a capture time and a value
        captured = _captured_value(data_set)
        if captured is not None:
            return captured
    referenced = _referenced_value(data_set)
    if referenced is not None:
        return referenced
    items = [_value(text)[0] for text in values]
    return PushObject(data_set.code, Data.structure(*items), class_id=PROFILE_GENERIC_CLASS_ID)


def data_set_objects(data_sets: Sequence[DataSet]) -> tuple[PushObject, ...]:
    """The objects of a telegram's data sets, in order."""
    return tuple(data_set_object(data_set) for data_set in data_sets)


TIME_OF_DAY = (0, 9, 1)
"""Groups C.D.E of the local time a readout gives (``0.9.1(12:34:56)`` or ``0.9.1(123456)``)."""
DATE = (0, 9, 2)
"""Groups C.D.E of the local date a readout gives (``0.9.2(24-01-31)`` or ``0.9.2(240131)``)."""
_HHMMSS = 6


def readout_clock(objects: Sequence[PushObject]) -> CosemDateTime | None:
    """The meter's time from a readout's date and time data sets; None without both or when invalid.

    Readouts have no clock object: the local date and time come as two values, which together date
    the readout as a P1 telegram's 0-0:1.0.0 dates it (no daylight saving flag: the zone's rules
    decide).
    """
    found: dict[tuple[int, int, int], str] = {}
    for obj in objects:
        code = obj.obis
        if code is not None and code.f == 255 and (key := (code.c, code.d, code.e)) in (TIME_OF_DAY, DATE):
            raw = obj.raw
            if isinstance(raw, str):
                found[key] = raw.replace(":", "").replace("-", "")
    date, time = found.get(DATE), found.get(TIME_OF_DAY)
    if date is None or time is None or len(date) != _HHMMSS or len(time) != _HHMMSS:
        return None
    stamp = time_stamp(date + time)
    if stamp is None:
        return None
    return CosemDateTime(stamp.date, stamp.time, None, None)
