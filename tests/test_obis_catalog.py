"""The OBIS catalog: how each code becomes a sensor description."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.sensor.const import (
    DEVICE_CLASS_STATE_CLASSES,
    DEVICE_CLASS_UNITS,
    UNIT_CONVERTERS,
)
from homeassistant.const import EntityCategory
from homeassistant.util import dt as dt_util

from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.push import PushObject
from custom_components.dlms_cosem.dlms.units import ScalerUnit, Unit
from custom_components.dlms_cosem.models import MeterReading
from custom_components.dlms_cosem.obis_catalog import (
    CATALOG_TRANSLATION_KEYS,
    GENERIC_TRANSLATION_KEY,
    catalog_entry,
    describe,
    ha_unit,
    numeric_value,
    state_value,
    text_value,
    timestamp_value,
)


def reading(value: object, unit: str | None = None) -> MeterReading:
    return MeterReading(value=value, unit=unit, raw=value)


def test_energy_import_satisfies_the_energy_panel() -> None:
    description = describe(ObisCode.parse("1.0.1.8.0.255"), "Wh")
    assert description.key == "1.0.1.8.0.255"
    assert description.translation_key == "energy_import"
    assert description.translation_placeholders is None
    assert description.device_class is SensorDeviceClass.ENERGY
    assert description.state_class is SensorStateClass.TOTAL_INCREASING
    assert description.native_unit_of_measurement == "Wh"
    assert description.suggested_unit_of_measurement == "kWh"
    assert description.suggested_display_precision == 3
    assert description.entity_category is None
    assert description.entity_registry_enabled_default is True
    assert description.value_fn(reading(12937, "Wh")) == 12937


def test_norwegian_channel_one_matches_like_channel_zero() -> None:
    norwegian = describe(ObisCode.parse("1-1:1.8.0"), "Wh")
    assert norwegian.key == "1.1.1.8.0.255"
    assert norwegian.translation_key == "energy_import"
    assert norwegian.device_class is SensorDeviceClass.ENERGY
    clock = describe(ObisCode.parse("0-1:1.0.0"), None)
    assert clock.translation_key == "meter_clock"
    assert describe(ObisCode.parse("1-1:0.2.129"), None).translation_key == "list_identifier"


@pytest.mark.parametrize(("direction", "c"), [("import", 1), ("export", 2)])
@pytest.mark.parametrize("tariff", [1, 2, 3, 4, 9])
def test_tariff_registers(direction: str, c: int, tariff: int) -> None:
    description = describe(ObisCode(1, 0, c, 8, tariff, 255), "Wh")
    assert description.translation_key == f"energy_{direction}_tariff"
    assert description.translation_placeholders == {"tariff": str(tariff)}
    assert description.device_class is SensorDeviceClass.ENERGY
    assert description.state_class is SensorStateClass.TOTAL_INCREASING


def test_energy_export_total() -> None:
    description = describe(ObisCode.parse("1-0:2.8.0"), "Wh")
    assert description.translation_key == "energy_export"
    assert description.translation_placeholders is None
    assert description.state_class is SensorStateClass.TOTAL_INCREASING


@pytest.mark.parametrize(
    ("code", "key"), [("1-0:3.8.0", "reactive_energy_import"), ("1-0:4.8.0", "reactive_energy_export")]
)
def test_reactive_energy(code: str, key: str) -> None:
    description = describe(ObisCode.parse(code), "varh")
    assert description.translation_key == key
    assert description.device_class is SensorDeviceClass.REACTIVE_ENERGY
    assert description.state_class is SensorStateClass.TOTAL_INCREASING
    assert description.native_unit_of_measurement == "varh"
    assert description.suggested_unit_of_measurement == "kvarh"
    assert description.suggested_display_precision == 3


@pytest.mark.parametrize(
    ("code", "key", "placeholders"),
    [
        ("1-0:1.7.0", "power_import", None),
        ("1-0:2.7.0", "power_export", None),
        ("1-0:21.7.0", "power_import_phase", {"phase": "L1"}),
        ("1-0:41.7.0", "power_import_phase", {"phase": "L2"}),
        ("1-0:61.7.0", "power_import_phase", {"phase": "L3"}),
        ("1-0:22.7.0", "power_export_phase", {"phase": "L1"}),
        ("1-0:42.7.0", "power_export_phase", {"phase": "L2"}),
        ("1-0:62.7.0", "power_export_phase", {"phase": "L3"}),
    ],
)
def test_active_power(code: str, key: str, placeholders: dict[str, str] | None) -> None:
    description = describe(ObisCode.parse(code), "W")
    assert description.translation_key == key
    assert description.translation_placeholders == placeholders
    assert description.device_class is SensorDeviceClass.POWER
    assert description.state_class is SensorStateClass.MEASUREMENT
    assert description.native_unit_of_measurement == "W"
    assert description.suggested_unit_of_measurement is None
    assert description.suggested_display_precision == 0


@pytest.mark.parametrize(
    ("code", "key", "device_class", "unit"),
    [
        ("1-0:3.7.0", "reactive_power_import", SensorDeviceClass.REACTIVE_POWER, "var"),
        ("1-0:4.7.0", "reactive_power_export", SensorDeviceClass.REACTIVE_POWER, "var"),
        ("1-0:9.7.0", "apparent_power_import", SensorDeviceClass.APPARENT_POWER, "VA"),
        ("1-0:10.7.0", "apparent_power_export", SensorDeviceClass.APPARENT_POWER, "VA"),
    ],
)
def test_reactive_and_apparent_power(code: str, key: str, device_class: SensorDeviceClass, unit: str) -> None:
    description = describe(ObisCode.parse(code), unit)
    assert description.translation_key == key
    assert description.device_class is device_class
    assert description.state_class is SensorStateClass.MEASUREMENT
    assert description.native_unit_of_measurement == unit
    assert description.suggested_display_precision == 0


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1-0:32.7.0", ("voltage_phase", {"phase": "L1"}, SensorDeviceClass.VOLTAGE, "V", 1)),
        ("1-0:52.7.0", ("voltage_phase", {"phase": "L2"}, SensorDeviceClass.VOLTAGE, "V", 1)),
        ("1-0:72.7.0", ("voltage_phase", {"phase": "L3"}, SensorDeviceClass.VOLTAGE, "V", 1)),
        ("1-0:31.7.0", ("current_phase", {"phase": "L1"}, SensorDeviceClass.CURRENT, "A", 2)),
        ("1-0:51.7.0", ("current_phase", {"phase": "L2"}, SensorDeviceClass.CURRENT, "A", 2)),
        ("1-0:71.7.0", ("current_phase", {"phase": "L3"}, SensorDeviceClass.CURRENT, "A", 2)),
        ("1-0:91.7.0", ("current_neutral", None, SensorDeviceClass.CURRENT, "A", 2)),
        ("1-0:14.7.0", ("frequency", None, SensorDeviceClass.FREQUENCY, "Hz", 2)),
    ],
)
def test_voltage_current_frequency(
    code: str, expected: tuple[str, dict[str, str] | None, SensorDeviceClass, str, int]
) -> None:
    key, placeholders, device_class, unit, precision = expected
    description = describe(ObisCode.parse(code), unit)
    assert description.translation_key == key
    assert description.translation_placeholders == placeholders
    assert description.device_class is device_class
    assert description.state_class is SensorStateClass.MEASUREMENT
    assert description.native_unit_of_measurement == unit
    assert description.suggested_display_precision == precision


@pytest.mark.parametrize(
    ("code", "key", "placeholders"),
    [
        ("1-0:13.7.0", "power_factor", None),
        ("1-0:33.7.0", "power_factor_phase", {"phase": "L1"}),
        ("1-0:53.7.0", "power_factor_phase", {"phase": "L2"}),
        ("1-0:73.7.0", "power_factor_phase", {"phase": "L3"}),
    ],
)
def test_power_factor_is_a_ratio_shown_in_percent(
    code: str, key: str, placeholders: dict[str, str] | None
) -> None:
    description = describe(ObisCode.parse(code), None)
    assert description.translation_key == key
    assert description.translation_placeholders == placeholders
    assert description.device_class is SensorDeviceClass.POWER_FACTOR
    assert description.state_class is SensorStateClass.MEASUREMENT
    assert description.native_unit_of_measurement is None
    assert description.suggested_unit_of_measurement == "%"
    assert description.suggested_display_precision == 1
    assert description.value_fn(reading(0.998)) == 0.998


def test_power_factor_a_meter_sends_in_percent() -> None:
    description = describe(ObisCode.parse("1-0:13.7.0"), "%")
    assert description.device_class is SensorDeviceClass.POWER_FACTOR
    assert description.native_unit_of_measurement == "%"
    assert description.suggested_unit_of_measurement == "%"
    assert description.suggested_display_precision == 1


def test_meter_clock_is_a_disabled_diagnostic_timestamp() -> None:
    description = describe(ObisCode.parse("0-0:1.0.0"), None)
    assert description.translation_key == "meter_clock"
    assert description.device_class is SensorDeviceClass.TIMESTAMP
    assert description.state_class is None
    assert description.native_unit_of_measurement is None
    assert description.entity_category is EntityCategory.DIAGNOSTIC
    assert description.entity_registry_enabled_default is False
    # CET (UTC+01:00) is deviation -60 in COSEM.
    clock = CosemDateTime(CosemDate(2024, 1, 15, 1), CosemTime(12, 30, 5, 0), -60, None)
    assert description.value_fn(reading(clock)) == datetime(2024, 1, 15, 11, 30, 5, tzinfo=UTC)


def test_a_clock_without_deviation_is_read_in_home_assistants_zone() -> None:
    clock = CosemDateTime(CosemDate(2024, 1, 15, 1), CosemTime(12, 30, 5, None), None, None)
    moment = timestamp_value(reading(clock))
    assert moment is not None
    assert moment.tzinfo is dt_util.get_default_time_zone()
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == (2024, 1, 15, 12, 30)


def test_timestamp_value_accepts_datetimes_and_rejects_the_rest() -> None:
    aware = datetime(2024, 6, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp_value(reading(aware)) == aware
    assert timestamp_value(reading("2024-06-01")) is None
    # A recurring pattern ("every day at 12:00") names no instant.
    pattern = CosemDateTime(CosemDate(None, None, None, None), CosemTime(12, 0, 0, 0), None, None)
    assert timestamp_value(reading(pattern)) is None


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("0-0:96.1.0", "serial_number"),
        ("0-0:96.1.1", "equipment_identifier"),
        ("0-0:42.0.0", "logical_device_name"),
        ("1-0:0.2.0", "firmware_version"),
        ("1-1:0.2.0", "firmware_version"),
        ("1-1:0.2.129", "list_identifier"),
    ],
)
def test_identifiers_are_diagnostic_text(code: str, key: str) -> None:
    description = describe(ObisCode.parse(code), None)
    assert description.translation_key == key
    assert description.device_class is None
    assert description.state_class is None
    assert description.native_unit_of_measurement is None
    assert description.entity_category is EntityCategory.DIAGNOSTIC
    assert description.entity_registry_enabled_default is True
    assert description.value_fn(reading("AIDON_V0001")) == "AIDON_V0001"


def test_text_value_shapes() -> None:
    assert text_value(reading(b"KFM_001\x00\x00")) == "KFM_001"
    assert text_value(reading(b"\x01\x02\xab")) == "0102AB"
    assert text_value(reading("  6841121BN243101040 ")) == "6841121BN243101040"
    assert text_value(reading(12345678)) == "12345678"
    assert text_value(reading("x" * 300)) == "x" * 255
    assert text_value(reading([1, 2])) is None
    assert text_value(reading(b"\x00\x00")) is None
    assert text_value(reading("")) is None


def test_a_unit_from_the_meter_wins_and_keeps_the_resolution() -> None:
    kilo = describe(ObisCode.parse("1-0:1.7.0"), "kW")
    assert kilo.device_class is SensorDeviceClass.POWER
    assert kilo.native_unit_of_measurement == "kW"
    assert kilo.suggested_display_precision == 3  # still one watt
    energy = describe(ObisCode.parse("1-0:1.8.0"), "kWh")
    assert energy.native_unit_of_measurement == "kWh"
    assert energy.suggested_unit_of_measurement == "kWh"
    assert energy.suggested_display_precision == 3


def test_without_a_unit_the_code_defines_it() -> None:
    assert describe(ObisCode.parse("1-0:1.8.0"), None).native_unit_of_measurement == "Wh"
    assert describe(ObisCode.parse("1-0:32.7.0"), None).native_unit_of_measurement == "V"
    assert describe(ObisCode.parse("1-0:14.7.0"), None).native_unit_of_measurement == "Hz"


def test_a_unit_that_does_not_fit_drops_the_device_class() -> None:
    description = describe(ObisCode.parse("1-0:1.8.0"), "VAh")
    assert description.translation_key == "energy_import"
    assert description.device_class is None
    assert description.native_unit_of_measurement == "VAh"
    assert description.suggested_unit_of_measurement is None
    assert description.suggested_display_precision is None
    assert description.state_class is SensorStateClass.TOTAL_INCREASING
    currency = describe(ObisCode.parse("1-0:32.7.0"), "currency")
    assert currency.device_class is None
    assert currency.native_unit_of_measurement is None


@pytest.mark.parametrize(
    "code",
    [
        "1.0.1.8.0.0",  # billing period 0 snapshot, not the current value
        "1.0.1.8.0.101",
        "1.2.1.8.0.255",  # channel 2
        "7.0.1.8.0.255",  # gas
        "0.0.1.8.0.255",  # abstract group with an electricity C.D.E
        "1.0.1.0.0.255",  # electricity group with the clock's C.D.E
        "1.0.99.97.0.255",
    ],
)
def test_codes_outside_the_catalog(code: str) -> None:
    obis = ObisCode.parse(code)
    assert catalog_entry(obis) is None
    description = describe(obis, None)
    assert description.key == code
    assert description.translation_key == GENERIC_TRANSLATION_KEY
    assert description.translation_placeholders == {"obis": code}


def test_generic_without_unit_shows_the_value_as_it_comes() -> None:
    description = describe(ObisCode.parse("0-0:96.7.21"), None)
    assert description.device_class is None
    assert description.state_class is None
    assert description.native_unit_of_measurement is None
    assert description.value_fn(reading(3)) == 3
    assert description.value_fn(reading("on")) == "on"
    assert description.value_fn(reading(b"\x10\x20")) == "1020"


@pytest.mark.parametrize(
    ("unit", "device_class"),
    [
        ("W", SensorDeviceClass.POWER),
        ("var", SensorDeviceClass.REACTIVE_POWER),
        ("VA", SensorDeviceClass.APPARENT_POWER),
        ("V", SensorDeviceClass.VOLTAGE),
        ("A", SensorDeviceClass.CURRENT),
        ("Hz", SensorDeviceClass.FREQUENCY),
        ("°C", SensorDeviceClass.TEMPERATURE),
        ("VAh", None),
        ("1/(Wh)", None),
    ],
)
def test_generic_with_a_unit_is_a_measurement(unit: str, device_class: SensorDeviceClass | None) -> None:
    description = describe(ObisCode.parse("1-0:99.1.0"), unit)
    assert description.device_class is device_class
    assert description.state_class is SensorStateClass.MEASUREMENT
    assert description.native_unit_of_measurement == unit
    assert description.value_fn(reading(12.5, unit)) == 12.5
    assert description.value_fn(reading("n/a", unit)) is None


def test_generic_cumulative_energy_is_a_total() -> None:
    # 15.8.0 (absolute active energy) is not in the catalog but is a cumulative register.
    description = describe(ObisCode.parse("1-0:15.8.0"), "Wh")
    assert description.device_class is SensorDeviceClass.ENERGY
    assert description.state_class is SensorStateClass.TOTAL
    # Reactive energy in quadrant I (5.8.0) is not in the catalog either.
    reactive = describe(ObisCode.parse("1-0:5.8.0"), "varh")
    assert reactive.device_class is SensorDeviceClass.REACTIVE_ENERGY
    assert reactive.state_class is SensorStateClass.TOTAL


def test_generic_energy_snapshots_keep_no_statistics() -> None:
    for code in ("1.0.1.8.0.0", "1.0.1.29.0.255"):
        description = describe(ObisCode.parse(code), "Wh")
        assert description.device_class is None
        assert description.state_class is None
        assert description.native_unit_of_measurement == "Wh"
        assert description.value_fn(reading(100)) == 100


@pytest.mark.parametrize(
    ("symbol", "unit"),
    [
        ("Wh", "Wh"),
        ("varh", "varh"),
        ("var", "var"),
        ("VA", "VA"),
        ("l", "L"),
        ("a", "y"),
        ("wk", "w"),
        ("mo", "m"),
        ("m³", "m³"),
        ("VAh", "VAh"),
        ("currency", None),
        (None, None),
    ],
)
def test_ha_unit(symbol: str | None, unit: str | None) -> None:
    assert ha_unit(symbol) == unit


def test_value_functions() -> None:
    assert numeric_value(reading(True)) is None
    assert numeric_value(reading(float("nan"))) is None
    assert numeric_value(reading(float("inf"))) is None
    assert numeric_value(reading("12")) is None
    assert numeric_value(reading(-3)) == -3
    assert state_value(reading(2.5)) == 2.5
    assert state_value(reading(None)) is None
    clock = CosemDateTime(CosemDate(2024, 1, 15, 1), CosemTime(12, 30, 5, 0), -60, None)
    assert state_value(reading(clock)) == "2024-01-15T12:30:05+01:00"


def test_catalog_translation_keys() -> None:
    assert {
        "energy_import",
        "energy_import_tariff",
        "energy_export",
        "energy_export_tariff",
        "reactive_energy_import",
        "reactive_energy_import_tariff",
        "reactive_energy_export",
        "reactive_energy_export_tariff",
        "average_power_import",
        "average_power_export",
        "power_import",
        "power_export",
        "power_import_phase",
        "power_export_phase",
        "reactive_power_import",
        "reactive_power_export",
        "apparent_power_import",
        "apparent_power_export",
        "voltage_phase",
        "current_phase",
        "current_neutral",
        "frequency",
        "power_factor",
        "power_factor_phase",
        "meter_clock",
        "serial_number",
        "equipment_identifier",
        "meter_type",
        "meter_invocation_counter",
        "logical_device_name",
        "firmware_version",
        "list_identifier",
        "p1_version",
        "event_counter",
        "event_code",
        "error_register",
        "alarm_register",
        "obis_generic",
        "push_value",
    } == CATALOG_TRANSLATION_KEYS


def test_the_dsmr_p1_version_is_named_though_on_channel_3() -> None:
    description = describe(ObisCode.parse("1-3:0.2.8"), None)
    assert description.translation_key == "p1_version"
    assert description.device_class is None
    assert catalog_entry(ObisCode.parse("1-3:0.2.9")) is None  # channel 3 is no meter's otherwise


@pytest.mark.parametrize(
    ("code", "key", "number", "state_class"),
    [
        ("0-0:96.15.0", "event_counter", "1", SensorStateClass.TOTAL_INCREASING),
        ("0-0:96.15.9", "event_counter", "10", SensorStateClass.TOTAL_INCREASING),
        ("0-0:96.11.2", "event_code", "3", None),
        ("0-0:97.97.0", "error_register", "1", None),
        ("0-0:97.98.0", "alarm_register", "1", None),
        ("0-0:97.98.1", "alarm_register", "2", None),
    ],
)
def test_event_counters_and_alarm_registers_are_diagnostic_numbers(
    code: str, key: str, number: str, state_class: SensorStateClass | None
) -> None:
    description = describe(ObisCode.parse(code), None)
    assert description.translation_key == key
    assert description.translation_placeholders == {"number": number}
    assert description.entity_category is EntityCategory.DIAGNOSTIC
    assert description.state_class == state_class
    assert description.device_class is None
    assert description.native_unit_of_measurement is None
    assert description.value_fn(reading(0x0000_0101)) == 257  # an alarm bitmap stays a number
    assert description.value_fn(reading("x")) is None
    # Alarm filters (E = 10..19) are settings, not alarms.
    assert describe(ObisCode.parse("0-0:97.98.10"), None).translation_key == "obis_generic"


def _catalog_codes() -> list[ObisCode]:
    codes = [
        ObisCode(a, 0, c, d, e, 255) for a in (0, 1) for c in range(256) for d in range(10) for e in range(10)
    ]
    codes += [ObisCode(1, 0, 0, 2, 129, 255)]
    return [code for code in codes if catalog_entry(code) is not None]


def test_every_numeric_entry_is_consistent_with_home_assistant() -> None:
    codes = _catalog_codes()
    assert len(codes) == 83
    for code in codes:
        description = describe(code, None)
        device_class = description.device_class
        if device_class is None or device_class is SensorDeviceClass.TIMESTAMP:
            continue
        assert description.native_unit_of_measurement in DEVICE_CLASS_UNITS[device_class], code
        assert description.state_class in DEVICE_CLASS_STATE_CLASSES[device_class], code
        suggested = description.suggested_unit_of_measurement
        if suggested is not None:
            converter = UNIT_CONVERTERS[device_class]
            assert description.native_unit_of_measurement in converter.VALID_UNITS, code
            assert suggested in converter.VALID_UNITS, code
        if device_class is SensorDeviceClass.ENERGY:
            assert description.state_class is SensorStateClass.TOTAL_INCREASING, code
            assert description.native_unit_of_measurement in {"Wh", "kWh"}, code


def test_a_pushed_object_becomes_a_reading_the_catalog_understands() -> None:
    pushed = PushObject(
        ObisCode.parse("1-0:32.7.0"), Data.long_unsigned(2314), ScalerUnit(scaler=-1, unit=Unit.VOLT)
    )
    voltage = MeterReading.from_push_object(pushed)
    assert voltage == MeterReading(value=231.4, unit="V", raw=2314)
    description = describe(ObisCode.parse("1-0:32.7.0"), voltage.unit)
    assert description.value_fn(voltage) == 231.4
    name = MeterReading.from_push_object(
        PushObject(ObisCode.parse("0-0:42.0.0"), Data.octet_string(b"KFM1200"))
    )
    assert name == MeterReading(value="KFM1200", unit=None, raw="KFM1200")


@pytest.mark.parametrize(
    ("code", "key", "placeholders", "device_class", "state_class"),
    [
        (
            "1.0.3.8.1.255",
            "reactive_energy_import_tariff",
            {"tariff": "1"},
            "reactive_energy",
            "total_increasing",
        ),
        (
            "1.0.4.8.2.255",
            "reactive_energy_export_tariff",
            {"tariff": "2"},
            "reactive_energy",
            "total_increasing",
        ),
        ("1.0.1.5.0.255", "average_power_import", None, "power", "measurement"),
        ("0.0.96.1.7.255", "meter_type", None, None, None),
        ("0.0.43.1.0.255", "meter_invocation_counter", {"number": "1"}, None, None),
    ],
)
def test_codes_a_real_meter_sends_are_named(
    code: str,
    key: str,
    placeholders: dict[str, str] | None,
    device_class: str | None,
    state_class: str | None,
) -> None:
    # Seen unnamed on real and simulated meters (issue "the first week"): named as their siblings are.
    description = describe(ObisCode.parse(code), None)
    assert description.translation_key == key
    assert description.translation_placeholders == placeholders
    assert description.device_class == device_class
    assert description.state_class == state_class
