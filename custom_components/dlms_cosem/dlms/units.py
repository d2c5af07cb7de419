"""Physical units and scaling (Blue Book, Register interface class, attribute scaler_unit).

A register's value is an integer (or float) that the meter sends together with a scaler (a power of
ten) and a unit code from the Blue Book's enumeration. ``value x 10^scaler`` is computed in decimal
so that 2337 with scaler -1 is exactly 233.7, not 233.70000000000002.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal
from enum import IntEnum
from typing import Self

from .axdr import Data, DataTag
from .errors import DecodeError, EncodeError


class Unit(IntEnum):
    """The unit enumeration of scaler_unit (Blue Book, "physical units" table).

    Codes 58, 59, 68, 69 and 73..127 are reserved. 128..174 are the imperial and US customary units
    added in later editions. 253 introduces the extended table of units (reserved in older editions),
    254 is "other unit", 255 is "count" (no unit, unitless).
    """

    YEAR = 1
    MONTH = 2
    WEEK = 3
    DAY = 4
    HOUR = 5
    MINUTE = 6
    SECOND = 7
    DEGREE = 8
    """(Phase) angle."""
    DEGREE_CELSIUS = 9
    CURRENCY = 10
    """(Local) currency."""
    METRE = 11
    METRE_PER_SECOND = 12
    CUBIC_METRE = 13
    CUBIC_METRE_CORRECTED = 14
    CUBIC_METRE_PER_HOUR = 15
    CUBIC_METRE_PER_HOUR_CORRECTED = 16
    CUBIC_METRE_PER_DAY = 17
    CUBIC_METRE_PER_DAY_CORRECTED = 18
    LITRE = 19
    KILOGRAM = 20
    NEWTON = 21
    NEWTON_METRE = 22
    PASCAL = 23
    BAR = 24
    JOULE = 25
    JOULE_PER_HOUR = 26
    """Thermal power."""
    WATT = 27
    VOLT_AMPERE = 28
    VAR = 29
    WATT_HOUR = 30
    VOLT_AMPERE_HOUR = 31
    VAR_HOUR = 32
    AMPERE = 33
    COULOMB = 34
    VOLT = 35
    VOLT_PER_METRE = 36
    FARAD = 37
    OHM = 38
    OHM_SQUARE_METRE_PER_METRE = 39
    """Resistivity."""
    WEBER = 40
    TESLA = 41
    AMPERE_PER_METRE = 42
    HENRY = 43
    HERTZ = 44
    ACTIVE_ENERGY_METER_CONSTANT = 45
    """R_W: active energy meter constant or pulse value, 1/(Wh)."""
    REACTIVE_ENERGY_METER_CONSTANT = 46
    """R_B: reactive energy meter constant or pulse value, 1/(varh)."""
    APPARENT_ENERGY_METER_CONSTANT = 47
    """R_S: apparent energy meter constant or pulse value, 1/(VAh)."""
    VOLT_SQUARED_HOUR = 48
    AMPERE_SQUARED_HOUR = 49
    KILOGRAM_PER_SECOND = 50
    SIEMENS = 51
    KELVIN = 52
    VOLT_SQUARED_HOUR_METER_CONSTANT = 53
    """R_U2h: volt-squared hour meter constant or pulse value."""
    AMPERE_SQUARED_HOUR_METER_CONSTANT = 54
    """R_I2h: ampere-squared hour meter constant or pulse value."""
    VOLUME_METER_CONSTANT = 55
    """R_V: meter constant or pulse value (volume), 1/m³."""
    PERCENTAGE = 56
    AMPERE_HOUR = 57
    WATT_HOUR_PER_CUBIC_METRE = 60
    """Energy per volume."""
    JOULE_PER_CUBIC_METRE = 61
    """Calorific value, Wobbe index."""
    MOLE_PERCENT = 62
    """Molar fraction of gas composition."""
    GRAM_PER_CUBIC_METRE = 63
    """Mass density, quantity of material."""
    PASCAL_SECOND = 64
    """Dynamic viscosity."""
    JOULE_PER_KILOGRAM = 65
    """Specific energy."""
    GRAM_PER_SQUARE_CENTIMETRE = 66
    """Pressure."""
    ATMOSPHERE = 67
    """Pressure."""
    SIGNAL_STRENGTH_DBM = 70
    """Signal strength, dB milliwatt (e.g. of a radio modem)."""
    SIGNAL_STRENGTH_DBUV = 71
    """Signal strength, dB microvolt."""
    DECIBEL = 72
    """Logarithmic ratio of two values of a physical quantity."""
    INCH = 128
    FOOT = 129
    POUND = 130
    DEGREE_FAHRENHEIT = 131
    DEGREE_RANKINE = 132
    SQUARE_INCH = 133
    SQUARE_FOOT = 134
    ACRE = 135
    CUBIC_INCH = 136
    CUBIC_FOOT = 137
    ACRE_FOOT = 138
    GALLON_IMPERIAL = 139
    GALLON_US = 140
    POUND_FORCE = 141
    POUND_FORCE_PER_SQUARE_INCH = 142
    POUND_PER_CUBIC_FOOT = 143
    POUND_PER_FOOT_SECOND = 144
    """Dynamic viscosity."""
    SQUARE_FOOT_PER_SECOND = 145
    """Kinematic viscosity."""
    BRITISH_THERMAL_UNIT = 146
    THERM_EU = 147
    THERM_US = 148
    BRITISH_THERMAL_UNIT_PER_POUND = 149
    BRITISH_THERMAL_UNIT_PER_CUBIC_FOOT = 150
    CUBIC_FOOT_METER_CONSTANT = 151
    """Meter constant or pulse value (volume, cubic feet)."""
    FOOT_PER_SECOND = 152
    CUBIC_FOOT_PER_SECOND = 153
    CUBIC_FOOT_PER_MINUTE = 154
    CUBIC_FOOT_PER_HOUR = 155
    CUBIC_FOOT_PER_DAY = 156
    ACRE_FOOT_PER_SECOND = 157
    ACRE_FOOT_PER_MINUTE = 158
    ACRE_FOOT_PER_HOUR = 159
    ACRE_FOOT_PER_DAY = 160
    IMPERIAL_GALLON_METER_CONSTANT = 161
    """Meter constant or pulse value (volume, imperial gallons)."""
    IMPERIAL_GALLON_PER_SECOND = 162
    IMPERIAL_GALLON_PER_MINUTE = 163
    IMPERIAL_GALLON_PER_HOUR = 164
    IMPERIAL_GALLON_PER_DAY = 165
    US_GALLON_METER_CONSTANT = 166
    """Meter constant or pulse value (volume, US gallons)."""
    US_GALLON_PER_SECOND = 167
    US_GALLON_PER_MINUTE = 168
    US_GALLON_PER_HOUR = 169
    US_GALLON_PER_DAY = 170
    BRITISH_THERMAL_UNIT_PER_SECOND = 171
    BRITISH_THERMAL_UNIT_PER_MINUTE = 172
    BRITISH_THERMAL_UNIT_PER_HOUR = 173
    BRITISH_THERMAL_UNIT_PER_DAY = 174
    EXTENDED_TABLE_OF_UNITS = 253
    OTHER_UNIT = 254
    COUNT = 255
    """No unit, unitless, count."""
    NO_UNIT = 255


_SYMBOLS: dict[int, str] = {
    Unit.YEAR: "a",
    Unit.MONTH: "mo",
    Unit.WEEK: "wk",
    Unit.DAY: "d",
    Unit.HOUR: "h",
    Unit.MINUTE: "min",
    Unit.SECOND: "s",
    Unit.DEGREE: "°",
    Unit.DEGREE_CELSIUS: "°C",
    Unit.CURRENCY: "currency",
    Unit.METRE: "m",
    Unit.METRE_PER_SECOND: "m/s",
    Unit.CUBIC_METRE: "m³",
    Unit.CUBIC_METRE_CORRECTED: "m³",
    Unit.CUBIC_METRE_PER_HOUR: "m³/h",
    Unit.CUBIC_METRE_PER_HOUR_CORRECTED: "m³/h",
    Unit.CUBIC_METRE_PER_DAY: "m³/d",
    Unit.CUBIC_METRE_PER_DAY_CORRECTED: "m³/d",
    Unit.LITRE: "l",
    Unit.KILOGRAM: "kg",
    Unit.NEWTON: "N",
    Unit.NEWTON_METRE: "Nm",
    Unit.PASCAL: "Pa",
    Unit.BAR: "bar",
    Unit.JOULE: "J",
    Unit.JOULE_PER_HOUR: "J/h",
    Unit.WATT: "W",
    Unit.VOLT_AMPERE: "VA",
    Unit.VAR: "var",
    Unit.WATT_HOUR: "Wh",
    Unit.VOLT_AMPERE_HOUR: "VAh",
    Unit.VAR_HOUR: "varh",
    Unit.AMPERE: "A",
    Unit.COULOMB: "C",
    Unit.VOLT: "V",
    Unit.VOLT_PER_METRE: "V/m",
    Unit.FARAD: "F",
    Unit.OHM: "Ω",
    Unit.OHM_SQUARE_METRE_PER_METRE: "Ωm²/m",
    Unit.WEBER: "Wb",
    Unit.TESLA: "T",
    Unit.AMPERE_PER_METRE: "A/m",
    Unit.HENRY: "H",
    Unit.HERTZ: "Hz",
    Unit.ACTIVE_ENERGY_METER_CONSTANT: "1/(Wh)",
    Unit.REACTIVE_ENERGY_METER_CONSTANT: "1/(varh)",
    Unit.APPARENT_ENERGY_METER_CONSTANT: "1/(VAh)",
    Unit.VOLT_SQUARED_HOUR: "V²h",
    Unit.AMPERE_SQUARED_HOUR: "A²h",
    Unit.KILOGRAM_PER_SECOND: "kg/s",
    Unit.SIEMENS: "S",
    Unit.KELVIN: "K",
    Unit.VOLT_SQUARED_HOUR_METER_CONSTANT: "1/(V²h)",
    Unit.AMPERE_SQUARED_HOUR_METER_CONSTANT: "1/(A²h)",
    Unit.VOLUME_METER_CONSTANT: "1/m³",
    Unit.PERCENTAGE: "%",
    Unit.AMPERE_HOUR: "Ah",
    Unit.WATT_HOUR_PER_CUBIC_METRE: "Wh/m³",
    Unit.JOULE_PER_CUBIC_METRE: "J/m³",
    Unit.MOLE_PERCENT: "Mol %",
    Unit.GRAM_PER_CUBIC_METRE: "g/m³",
    Unit.PASCAL_SECOND: "Pa s",
    Unit.JOULE_PER_KILOGRAM: "J/kg",
    Unit.GRAM_PER_SQUARE_CENTIMETRE: "g/cm²",
    Unit.ATMOSPHERE: "atm",
    Unit.SIGNAL_STRENGTH_DBM: "dBm",
    Unit.SIGNAL_STRENGTH_DBUV: "dBμV",
    Unit.DECIBEL: "dB",
    Unit.INCH: "in",
    Unit.FOOT: "ft",
    Unit.POUND: "lb",
    Unit.DEGREE_FAHRENHEIT: "°F",
    Unit.DEGREE_RANKINE: "°R",
    Unit.SQUARE_INCH: "sq in",
    Unit.SQUARE_FOOT: "sq ft",
    Unit.ACRE: "ac",
    Unit.CUBIC_INCH: "cu in",
    Unit.CUBIC_FOOT: "cu ft",
    Unit.ACRE_FOOT: "ac ft",
    Unit.GALLON_IMPERIAL: "gal (imp)",
    Unit.GALLON_US: "gal (US)",
    Unit.POUND_FORCE: "lbf",
    Unit.POUND_FORCE_PER_SQUARE_INCH: "psi",
    Unit.POUND_PER_CUBIC_FOOT: "lb/cu ft",
    Unit.POUND_PER_FOOT_SECOND: "lb/(ft s)",
    Unit.SQUARE_FOOT_PER_SECOND: "sq ft/s",
    Unit.BRITISH_THERMAL_UNIT: "BTU",
    Unit.THERM_EU: "thm (EU)",
    Unit.THERM_US: "thm (US)",
    Unit.BRITISH_THERMAL_UNIT_PER_POUND: "BTU/lb",
    Unit.BRITISH_THERMAL_UNIT_PER_CUBIC_FOOT: "BTU/cu ft",
    Unit.CUBIC_FOOT_METER_CONSTANT: "1/cu ft",
    Unit.FOOT_PER_SECOND: "ft/s",
    Unit.CUBIC_FOOT_PER_SECOND: "cu ft/s",
    Unit.CUBIC_FOOT_PER_MINUTE: "cu ft/min",
    Unit.CUBIC_FOOT_PER_HOUR: "cu ft/h",
    Unit.CUBIC_FOOT_PER_DAY: "cu ft/d",
    Unit.ACRE_FOOT_PER_SECOND: "ac ft/s",
    Unit.ACRE_FOOT_PER_MINUTE: "ac ft/min",
    Unit.ACRE_FOOT_PER_HOUR: "ac ft/h",
    Unit.ACRE_FOOT_PER_DAY: "ac ft/d",
    Unit.IMPERIAL_GALLON_METER_CONSTANT: "1/gal (imp)",
    Unit.IMPERIAL_GALLON_PER_SECOND: "gal (imp)/s",
    Unit.IMPERIAL_GALLON_PER_MINUTE: "gal (imp)/min",
    Unit.IMPERIAL_GALLON_PER_HOUR: "gal (imp)/h",
    Unit.IMPERIAL_GALLON_PER_DAY: "gal (imp)/d",
    Unit.US_GALLON_METER_CONSTANT: "1/gal (US)",
    Unit.US_GALLON_PER_SECOND: "gal (US)/s",
    Unit.US_GALLON_PER_MINUTE: "gal (US)/min",
    Unit.US_GALLON_PER_HOUR: "gal (US)/h",
    Unit.US_GALLON_PER_DAY: "gal (US)/d",
    Unit.BRITISH_THERMAL_UNIT_PER_SECOND: "BTU/s",
    Unit.BRITISH_THERMAL_UNIT_PER_MINUTE: "BTU/min",
    Unit.BRITISH_THERMAL_UNIT_PER_HOUR: "BTU/h",
    Unit.BRITISH_THERMAL_UNIT_PER_DAY: "BTU/d",
}


def unit_symbol(code: int) -> str | None:
    """The symbol for a unit code; ``None`` for a count (255), "other" (254), 253 and unknown codes."""
    return _SYMBOLS.get(code)


# Enough digits for any 64-bit integer or shortest float repr times a power of ten: no rounding.
_EXACT = Context(prec=80)
_EXACT_DIVISION_LIMIT = 1 << 64
"""Every A-XDR integer is below it; the decimal path is exact (80 digits) far beyond it."""


def scale_value(raw: int | float, scaler: int) -> int | float:
    """``raw x 10^scaler``, computed in decimal so the result carries no binary float noise.

    An integer with a scaler >= 0 stays an integer; a negative scaler or a float gives a float (the one
    nearest the exact decimal result, e.g. 2337 and -1 give 233.7; 1000 and -3 give 1.0).
    """
    kind = type(raw)
    if (kind is not int and kind is not float) or type(scaler) is not int:  # else the checks below pass
        if kind is bool or not isinstance(raw, int | float):
            raise DecodeError(f"cannot scale a {kind.__name__}: not a number")
        if type(scaler) is bool or not isinstance(scaler, int):
            raise DecodeError(f"scaler must be an integer, got {type(scaler).__name__}")
    if isinstance(raw, int):
        if scaler >= 0:
            factor: int = 10**scaler
            return raw * factor
        if -_EXACT_DIVISION_LIMIT < raw < _EXACT_DIVISION_LIMIT:
            # int / int is correctly rounded in Python: the float nearest the exact quotient, which is
            # the float the decimal path gives, at a sixth of the cost.
            divisor: int = 10**-scaler
            return raw / divisor
        exact = Decimal(raw)
    elif scaler == 0:
        return raw  # the shortest repr round-trips: the decimal path would give the same float back
    else:
        # The shortest repr is the decimal the float was meant to be (2.5, not 2.4999999999999998...).
        exact = Decimal(repr(raw))
    return float(exact.scaleb(scaler, _EXACT))


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    """A register's scaler_unit: value x 10^scaler, in ``unit`` (a :class:`Unit` code)."""

    scaler: int
    unit: int

    def __post_init__(self) -> None:
        if type(self.scaler) is bool or not isinstance(self.scaler, int) or not -128 <= self.scaler <= 127:
            raise EncodeError(f"scaler must be an integer -128..127, got {self.scaler!r}")
        if type(self.unit) is bool or not isinstance(self.unit, int) or not 0 <= self.unit <= 255:
            raise EncodeError(f"unit must be an enum value 0..255, got {self.unit!r}")

    @classmethod
    def from_data(cls, data: Data) -> Self:
        """Read the structure {scaler: integer, unit: enum} the meter sends."""
        items = data.value
        if data.tag != DataTag.STRUCTURE or not isinstance(items, tuple) or len(items) != 2:
            raise DecodeError(f"scaler_unit must be a structure of two elements, got {_describe(data)}")
        scaler, unit = items
        if scaler.tag != DataTag.INTEGER or type(scaler.value) is not int:
            raise DecodeError(f"scaler must be an integer, got {_describe(scaler)}")
        if unit.tag != DataTag.ENUM or type(unit.value) is not int:
            raise DecodeError(f"unit must be an enum, got {_describe(unit)}")
        try:
            return cls(scaler.value, unit.value)
        except EncodeError as exc:
            raise DecodeError(str(exc)) from None

    def to_data(self) -> Data:
        """The structure {scaler: integer, unit: enum}."""
        return Data.structure(Data.integer(self.scaler), Data.enum(self.unit))

    @property
    def symbol(self) -> str | None:
        """The unit's symbol (see :func:`unit_symbol`)."""
        return unit_symbol(self.unit)

    def scale(self, raw: int | float) -> int | float:
        """The register value in ``unit`` (see :func:`scale_value`)."""
        return scale_value(raw, self.scaler)


def _describe(data: Data) -> str:
    tag = data.tag.name if isinstance(data.tag, DataTag) else repr(data.tag)
    if isinstance(data.value, tuple):
        return f"{tag} of {len(data.value)}"
    return tag
