"""The simulated meter as a P1 text meter: its push object list written as a DSMR 5 telegram.

Every object becomes one data line as DSMR meters write it, so the push decoder, ``decode`` and Home
Assistant are tested on real byte streams: registers as ``A-B:C.D.E(value*unit)`` with energy and
power in kWh and kW (the decimals are the register's own resolution), the clock as ``YYMMDDhhmmssX``
(S summer, W winter time), an M-Bus channel's reading with its capture time first, and other values
(names, identifiers) in hexadecimal as DSMR writes octet-strings. The telegram ends with its CRC16.
Ciphered (the Luxembourg Smarty) it is the plaintext of a general-glo-ciphering APDU.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..axdr import Data, DataTag
from ..cosem_datetime import ClockStatus, CosemDateTime
from ..errors import EncodeError
from ..obis import ObisCode
from ..push import date_time_from_data
from ..text import encode_p1_telegram
from ..units import Unit
from .interface_classes import EXTENDED_REGISTER_CAPTURE_TIME, ExtendedRegister, Register
from .model import SimulatedMeter

P1_IDENTIFICATION = "SIM5\\2SIMULATED-P1"
"""``XXX5``: manufacturer SIM, 115200 baud; ``\\2`` as DSMR meters announce."""
P1_VERSION_LINE = "1-3:0.2.8(50)\r\n"
"""DSMR version 5.0."""

# DLMS units DSMR writes with the prefix kilo (energy in kWh, power in kW).
_KILO_UNITS = {
    Unit.WATT_HOUR: "kWh",
    Unit.WATT: "kW",
    Unit.VAR_HOUR: "kvarh",
    Unit.VAR: "kvar",
    Unit.VOLT_AMPERE_HOUR: "kVAh",
    Unit.VOLT_AMPERE: "kVA",
}
_UNITS = {Unit.VOLT: "V", Unit.AMPERE: "A", Unit.HERTZ: "Hz", Unit.CUBIC_METRE: "m3", Unit.SECOND: "s"}
_KILO = 3


def id_code(code: ObisCode, *, reduced: bool = False) -> str:
    """``A-B:C.D.E``, or ``C.D.E`` as readouts write it (the meter's own medium and channel)."""
    groups = f"{code.c}.{code.d}.{code.e}"
    return groups if reduced else f"{code.a}-{code.b}:{groups}"


def _decimal(raw: int, decimals: int) -> str:
    """``raw`` with ``decimals`` digits after the point (none when ``decimals`` <= 0)."""
    if decimals <= 0:
        return str(raw * 10**-decimals)
    sign, digits = ("-", str(-raw)) if raw < 0 else ("", str(raw))
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def measurement(value: Data, register: Register) -> str:
    """A register's value as text telegrams write it: ``001837.512*kWh``."""
    raw = value.value
    if type(raw) is not int:
        raise EncodeError(f"P1 telegrams carry integer registers, not {value.tag.name}")
    scaler, unit = register.scaler_unit.scaler, register.scaler_unit.unit
    if unit in _KILO_UNITS:
        return f"{_decimal(raw, _KILO - scaler)}*{_KILO_UNITS[Unit(unit)]}"
    symbol = _UNITS.get(Unit(unit)) if unit in Unit._value2member_map_ else None
    if symbol is None:
        return _decimal(raw, -scaler)
    return f"{_decimal(raw, -scaler)}*{symbol}"


def time_stamp(found: CosemDateTime) -> str:
    """``YYMMDDhhmmssX``: local time, S when daylight saving time is active, else W."""
    moment = found.to_datetime()
    if moment is None:
        raise EncodeError("the clock names no instant")
    status = found.clock_status
    summer = status is not None and bool(ClockStatus(status) & ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    return moment.strftime("%y%m%d%H%M%S") + ("S" if summer else "W")


def _text_value(value: Data) -> str:
    raw = value.value
    if value.tag in (DataTag.OCTET_STRING, DataTag.VISIBLE_STRING) and isinstance(raw, bytes | str):
        data = raw.encode("ascii") if isinstance(raw, str) else raw
        return data.hex().upper()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise EncodeError(f"no P1 text for a {value.tag.name}")


def p1_data_lines(meter: SimulatedMeter, objects: Iterable[ObisCode]) -> str:
    """The data lines of the meter's objects, as a DSMR 5 meter writes them."""
    context = meter.context()
    lines = [P1_VERSION_LINE]
    for code in objects:
        obj = meter.find(code)
        if obj is None:
            raise EncodeError(f"the meter has no object {code} to push")
        value = obj.get(2, context)
        stamp = date_time_from_data(value)
        if stamp is not None:
            lines.append(f"{id_code(code)}({time_stamp(stamp)})\r\n")
        elif isinstance(obj, ExtendedRegister):
            captured = date_time_from_data(obj.get(EXTENDED_REGISTER_CAPTURE_TIME, context))
            prefix = f"({time_stamp(captured)})" if captured is not None else ""
            lines.append(f"{id_code(code)}{prefix}({measurement(value, obj)})\r\n")
        elif isinstance(obj, Register):
            lines.append(f"{id_code(code)}({measurement(value, obj)})\r\n")
        else:
            lines.append(f"{id_code(code)}({_text_value(value)})\r\n")
    return "".join(lines)


def p1_telegram(meter: SimulatedMeter, objects: Iterable[ObisCode]) -> bytes:
    """The meter's P1 telegram: identification, data lines, ``!`` and CRC16."""
    return encode_p1_telegram(P1_IDENTIFICATION, p1_data_lines(meter, objects))
