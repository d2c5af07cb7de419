from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.axdr import Data, decode_data_bytes, encode_data
from custom_components.dlms_cosem.dlms.errors import DecodeError, EncodeError
from custom_components.dlms_cosem.dlms.units import ScalerUnit, Unit, scale_value, unit_symbol


@pytest.mark.parametrize(
    ("unit", "code", "symbol"),
    [
        (Unit.YEAR, 1, "a"),
        (Unit.MONTH, 2, "mo"),
        (Unit.WEEK, 3, "wk"),
        (Unit.DAY, 4, "d"),
        (Unit.HOUR, 5, "h"),
        (Unit.MINUTE, 6, "min"),
        (Unit.SECOND, 7, "s"),
        (Unit.DEGREE, 8, "°"),
        (Unit.DEGREE_CELSIUS, 9, "°C"),
        (Unit.METRE, 11, "m"),
        (Unit.CUBIC_METRE, 13, "m³"),
        (Unit.CUBIC_METRE_CORRECTED, 14, "m³"),
        (Unit.CUBIC_METRE_PER_HOUR, 15, "m³/h"),
        (Unit.LITRE, 19, "l"),
        (Unit.KILOGRAM, 20, "kg"),
        (Unit.PASCAL, 23, "Pa"),
        (Unit.BAR, 24, "bar"),
        (Unit.JOULE, 25, "J"),
        (Unit.JOULE_PER_HOUR, 26, "J/h"),
        (Unit.WATT, 27, "W"),
        (Unit.VOLT_AMPERE, 28, "VA"),
        (Unit.VAR, 29, "var"),
        (Unit.WATT_HOUR, 30, "Wh"),
        (Unit.VOLT_AMPERE_HOUR, 31, "VAh"),
        (Unit.VAR_HOUR, 32, "varh"),
        (Unit.AMPERE, 33, "A"),
        (Unit.COULOMB, 34, "C"),
        (Unit.VOLT, 35, "V"),
        (Unit.OHM, 38, "Ω"),
        (Unit.HERTZ, 44, "Hz"),
        (Unit.ACTIVE_ENERGY_METER_CONSTANT, 45, "1/(Wh)"),
        (Unit.REACTIVE_ENERGY_METER_CONSTANT, 46, "1/(varh)"),
        (Unit.APPARENT_ENERGY_METER_CONSTANT, 47, "1/(VAh)"),
        (Unit.VOLT_SQUARED_HOUR, 48, "V²h"),
        (Unit.AMPERE_SQUARED_HOUR, 49, "A²h"),
        (Unit.SIEMENS, 51, "S"),
        (Unit.KELVIN, 52, "K"),
        (Unit.VOLUME_METER_CONSTANT, 55, "1/m³"),
        (Unit.PERCENTAGE, 56, "%"),
        (Unit.AMPERE_HOUR, 57, "Ah"),
        (Unit.WATT_HOUR_PER_CUBIC_METRE, 60, "Wh/m³"),
        (Unit.JOULE_PER_CUBIC_METRE, 61, "J/m³"),
        (Unit.MOLE_PERCENT, 62, "Mol %"),
        (Unit.PASCAL_SECOND, 64, "Pa s"),
        (Unit.JOULE_PER_KILOGRAM, 65, "J/kg"),
        (Unit.SIGNAL_STRENGTH_DBM, 70, "dBm"),
        (Unit.SIGNAL_STRENGTH_DBUV, 71, "dBμV"),
        (Unit.DECIBEL, 72, "dB"),
        (Unit.DEGREE_FAHRENHEIT, 131, "°F"),
        (Unit.BRITISH_THERMAL_UNIT_PER_DAY, 174, "BTU/d"),
    ],
)
def test_unit_codes_and_symbols(unit: Unit, code: int, symbol: str) -> None:
    assert unit == code
    assert Unit(code) is unit
    assert unit_symbol(code) == symbol
    assert unit_symbol(unit) == symbol


def test_special_codes() -> None:
    assert Unit(254).name == "OTHER_UNIT"
    assert Unit(255).name == "COUNT"
    assert Unit["NO_UNIT"] is Unit.COUNT
    assert Unit(253).name == "EXTENDED_TABLE_OF_UNITS"
    for code in (0, 58, 59, 68, 69, 73, 127, 175, 252, 253, 254, 255, 256, -1):
        assert unit_symbol(code) is None


def test_every_named_unit_has_a_symbol() -> None:
    for unit in Unit:
        if unit < 253:
            assert unit_symbol(unit), unit


@pytest.mark.parametrize(
    ("raw", "scaler", "expected"),
    [
        (2337, -1, 233.7),  # Netz NOE voltage
        (2307, -1, 230.7),  # Aidon voltage
        (75, -1, 7.5),
        (12937, 0, 12937),
        (10049926, 0, 10049926),
        (1000, -3, 1.0),
        (5, 3, 5000),
        (-12345, -2, -123.45),
        (1, -2, 0.01),
        (0, -1, 0.0),
        (2**64 - 1, 0, 2**64 - 1),
        (2.5, 1, 25.0),
        (0.1, -1, 0.01),
        (1.5, 0, 1.5),
    ],
)
def test_scale_value(raw: float, scaler: int, expected: float) -> None:
    result = scale_value(raw, scaler)
    assert result == expected
    assert type(result) is type(expected)
    assert repr(result) == repr(expected)


def test_scale_value_has_no_float_noise() -> None:
    assert repr(scale_value(2337, -1)) == "233.7"
    assert 2337 * 0.1 != 233.7  # what naive float scaling gives
    assert repr(scale_value(3, -1)) == "0.3"


def test_scale_value_rejects_non_numbers() -> None:
    for raw in ("1", b"\x01", None, True):
        with pytest.raises(DecodeError):
            scale_value(raw, 0)  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        scale_value(1, 0.5)  # type: ignore[arg-type]


@given(st.integers(-(10**15), 10**15), st.integers(-20, 20))
@settings(max_examples=300)
def test_scale_value_is_the_exact_decimal(raw: int, scaler: int) -> None:
    result = scale_value(raw, scaler)
    exact = Decimal(raw).scaleb(scaler)
    if scaler >= 0:
        assert type(result) is int
        assert result == exact
    else:
        assert type(result) is float
        # 15 significant digits survive a float exactly: the shortest repr is the decimal value
        assert Decimal(repr(result)) == exact


@pytest.mark.parametrize(
    ("encoded", "scaler", "unit", "symbol"),
    [
        ("02020f00161b", 0, Unit.WATT, "W"),  # Aidon active power
        ("02020fff1623", -1, Unit.VOLT, "V"),  # Aidon voltage
        ("02020fff1621", -1, Unit.AMPERE, "A"),  # Aidon current
        ("02020f00161e", 0, Unit.WATT_HOUR, "Wh"),  # Aidon active energy
        ("02020f001620", 0, Unit.VAR_HOUR, "varh"),  # Aidon reactive energy
        ("02020f0016ff", 0, Unit.COUNT, None),
    ],
)
def test_scaler_unit_from_data(encoded: str, scaler: int, unit: int, symbol: str | None) -> None:
    data = decode_data_bytes(bytes.fromhex(encoded))
    scaler_unit = ScalerUnit.from_data(data)
    assert scaler_unit == ScalerUnit(scaler, unit)
    assert scaler_unit.symbol == symbol
    assert encode_data(scaler_unit.to_data()).hex() == encoded


def test_scaler_unit_scale() -> None:
    assert ScalerUnit(-1, Unit.VOLT).scale(2307) == 230.7
    assert ScalerUnit(3, Unit.WATT_HOUR).scale(12) == 12000


@pytest.mark.parametrize(
    "data",
    [
        Data.structure(Data.integer(0)),
        Data.structure(Data.integer(0), Data.enum(27), Data.enum(27)),
        Data.array(Data.integer(0), Data.enum(27)),
        Data.structure(Data.long(0), Data.enum(27)),
        Data.structure(Data.integer(0), Data.unsigned(27)),
        Data.structure(Data.enum(27), Data.integer(0)),
        Data.octet_string(b"\x0f\x00"),
        Data.null_data(),
    ],
)
def test_scaler_unit_rejects(data: Data) -> None:
    with pytest.raises(DecodeError):
        ScalerUnit.from_data(data)


def test_scaler_unit_validates() -> None:
    for scaler, unit in ((128, 27), (-129, 27), (0, 256), (0, -1)):
        with pytest.raises(EncodeError):
            ScalerUnit(scaler, unit)


@given(st.integers(-128, 127), st.integers(0, 255))
@settings(max_examples=100)
def test_scaler_unit_round_trip(scaler: int, unit: int) -> None:
    value = ScalerUnit(scaler, unit)
    assert ScalerUnit.from_data(decode_data_bytes(encode_data(value.to_data()))) == value
