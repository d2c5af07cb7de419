"""What Home Assistant should make of an OBIS code: name, device class, state class, unit, precision.

Known codes are matched on groups C.D.E with F = 255 (the current value, not a billing-period
snapshot); group A must be 1 (electricity) or 0 (abstract objects such as the clock), and group B
(the channel) may be 0 or 1 because Norwegian meters put everything on channel 1.

The unit comes from the meter when it gives one. A DLMS unit is always the base unit (Wh, W, V, ...)
with the magnitude in the scaler, so when the meter gives none (or the object has not arrived yet) the
catalog assumes the unit the OBIS code is defined in. A unit that does not fit the device class (the
meter says "VAh" where energy is expected) drops the device class rather than mislead the Energy panel.

Unknown codes get a generic description named after the code. Their state is treated as a number
exactly when the meter gives a unit (DLMS only attaches units to numeric registers); without a unit
the value is shown as it comes (number or text) and no statistics are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS, UNIT_CONVERTERS
from homeassistant.const import (
    DEGREE,
    MAX_LENGTH_STATE_STATE,
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfLength,
    UnitOfMass,
    UnitOfPower,
    UnitOfPressure,
    UnitOfReactiveEnergy,
    UnitOfReactivePower,
    UnitOfSpeed,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .dlms.cosem_datetime import CosemDateTime
from .dlms.obis import ObisCode
from .models import MeterReading
from .positions import position_of

GENERIC_TRANSLATION_KEY: Final = "obis_generic"
POSITIONAL_TRANSLATION_KEY: Final = "push_value"
"""Values a meter pushes without a code, named by their place in the telegram (see positions.py)."""

# DLMS unit symbols (dlms.units) -> Home Assistant units. Most are spelled the same; the time units,
# the litre and "kilo" forms (which a coordinator might produce) are not.
_HA_UNITS: Final[dict[str, str]] = {
    "Wh": UnitOfEnergy.WATT_HOUR,
    "kWh": UnitOfEnergy.KILO_WATT_HOUR,
    "MWh": UnitOfEnergy.MEGA_WATT_HOUR,
    "J": UnitOfEnergy.JOULE,
    "varh": UnitOfReactiveEnergy.VOLT_AMPERE_REACTIVE_HOUR,
    "kvarh": UnitOfReactiveEnergy.KILO_VOLT_AMPERE_REACTIVE_HOUR,
    "W": UnitOfPower.WATT,
    "kW": UnitOfPower.KILO_WATT,
    "MW": UnitOfPower.MEGA_WATT,
    "var": UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
    "kvar": UnitOfReactivePower.KILO_VOLT_AMPERE_REACTIVE,
    "VA": UnitOfApparentPower.VOLT_AMPERE,
    "kVA": UnitOfApparentPower.KILO_VOLT_AMPERE,
    "V": UnitOfElectricPotential.VOLT,
    "kV": UnitOfElectricPotential.KILOVOLT,
    "A": UnitOfElectricCurrent.AMPERE,
    "Hz": UnitOfFrequency.HERTZ,
    "%": PERCENTAGE,
    "°C": UnitOfTemperature.CELSIUS,
    "°F": UnitOfTemperature.FAHRENHEIT,
    "K": UnitOfTemperature.KELVIN,
    "s": UnitOfTime.SECONDS,
    "min": UnitOfTime.MINUTES,
    "h": UnitOfTime.HOURS,
    "d": UnitOfTime.DAYS,
    "wk": UnitOfTime.WEEKS,
    "mo": UnitOfTime.MONTHS,
    "a": UnitOfTime.YEARS,
    "m": UnitOfLength.METERS,
    "m/s": UnitOfSpeed.METERS_PER_SECOND,
    "m³": UnitOfVolume.CUBIC_METERS,
    "l": UnitOfVolume.LITERS,
    "m³/h": UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR,
    "kg": UnitOfMass.KILOGRAMS,
    "bar": UnitOfPressure.BAR,
    "Pa": UnitOfPressure.PA,
    "dBm": SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    "dB": SIGNAL_STRENGTH_DECIBELS,
    "°": DEGREE,
}
# Symbols that name no physical unit: showing them after a number would mislead.
_NOT_UNITS: Final = frozenset({"currency"})


def ha_unit(symbol: str | None) -> str | None:
    """The Home Assistant unit for a DLMS unit symbol.

    Symbols Home Assistant has no constant for ("VAh", "Ah", ...) are kept as they are, since they
    still tell the user what the number means; symbols that are no unit at all give ``None``.
    """
    if symbol is None or symbol in _NOT_UNITS:
        return None
    return _HA_UNITS.get(symbol, symbol)


def _number(value: object) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _aware(moment: datetime) -> datetime:
    # A meter clock without a deviation runs in local time: Home Assistant's time zone is the best guess.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt_util.get_default_time_zone())
    return moment


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, CosemDateTime):
        value = value.to_datetime()
    return _aware(value) if isinstance(value, datetime) else None


def _as_text(value: object) -> str | None:
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        name = data.rstrip(b"\x00 ")  # names padded to a fixed length
        if name and all(0x20 <= byte < 0x7F for byte in name):
            value = name.decode("ascii")
        else:
            value = data.hex().upper() if data.strip(b"\x00") else None
    elif isinstance(value, CosemDateTime | datetime):
        moment = _as_datetime(value)
        value = None if moment is None else moment.isoformat()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:MAX_LENGTH_STATE_STATE] if text else None


def numeric_value(reading: MeterReading) -> StateType:
    """The scaled value when it is a finite number, else ``None`` (shown as unknown)."""
    return _number(reading.value)


def text_value(reading: MeterReading) -> StateType:
    """The value as text: strings trimmed, other bytes in hex, capped at the state length limit."""
    return _as_text(reading.value)


def timestamp_value(reading: MeterReading) -> datetime | None:
    """The value as a timezone-aware instant (a COSEM date-time or a datetime)."""
    return _as_datetime(reading.value)


def state_value(reading: MeterReading) -> StateType | datetime:
    """The value as it comes: a number stays a number, anything else becomes text."""
    number = _number(reading.value)
    return number if number is not None else _as_text(reading.value)


@dataclass(frozen=True, kw_only=True)
class DlmsSensorEntityDescription(SensorEntityDescription):
    """Describes the sensor for one OBIS code; ``key`` is the code in dotted form."""

    value_fn: Callable[[MeterReading], StateType | datetime] = state_value


def _quantity(
    translation_key: str,
    device_class: SensorDeviceClass,
    unit: str | None,
    *,
    precision: int,
    state_class: SensorStateClass = SensorStateClass.MEASUREMENT,
    suggested_unit: str | None = None,
    placeholders: dict[str, str] | None = None,
) -> DlmsSensorEntityDescription:
    """A numeric catalog entry; ``unit`` is the one its OBIS code is defined in.

    ``precision`` counts decimals in the suggested unit, or in ``unit`` when there is none (as
    Home Assistant reads ``suggested_display_precision``).
    """
    return DlmsSensorEntityDescription(
        key=translation_key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        device_class=device_class,
        state_class=state_class,
        native_unit_of_measurement=unit,
        suggested_unit_of_measurement=suggested_unit,
        suggested_display_precision=precision,
        value_fn=numeric_value,
    )


def _energy(translation_key: str, **placeholders: str) -> DlmsSensorEntityDescription:
    # Meters count in Wh; shown in kWh with Wh resolution.
    return _quantity(
        translation_key,
        SensorDeviceClass.ENERGY,
        UnitOfEnergy.WATT_HOUR,
        precision=3,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_unit=UnitOfEnergy.KILO_WATT_HOUR,
        placeholders=placeholders or None,
    )


def _reactive_energy(translation_key: str, **placeholders: str) -> DlmsSensorEntityDescription:
    return _quantity(
        translation_key,
        SensorDeviceClass.REACTIVE_ENERGY,
        UnitOfReactiveEnergy.VOLT_AMPERE_REACTIVE_HOUR,
        precision=3,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_unit=UnitOfReactiveEnergy.KILO_VOLT_AMPERE_REACTIVE_HOUR,
        placeholders=placeholders or None,
    )


def _power(translation_key: str, **placeholders: str) -> DlmsSensorEntityDescription:
    return _quantity(
        translation_key,
        SensorDeviceClass.POWER,
        UnitOfPower.WATT,
        precision=0,
        placeholders=placeholders or None,
    )


def _power_factor(translation_key: str, **placeholders: str) -> DlmsSensorEntityDescription:
    # Meters send the ratio (-1..1, unit "count"); Home Assistant converts it to the percentage shown,
    # and a user who prefers the ratio can switch the unit back in the entity settings.
    return _quantity(
        translation_key,
        SensorDeviceClass.POWER_FACTOR,
        None,
        precision=1,
        suggested_unit=PERCENTAGE,
        placeholders=placeholders or None,
    )


def _text(translation_key: str) -> DlmsSensorEntityDescription:
    return DlmsSensorEntityDescription(
        key=translation_key,
        translation_key=translation_key,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=text_value,
    )


def _diagnostic_number(
    translation_key: str, state_class: SensorStateClass | None = None, **placeholders: str
) -> DlmsSensorEntityDescription:
    # Counters, event codes and alarm bitmaps: numbers without a unit, about the meter itself.
    return DlmsSensorEntityDescription(
        key=translation_key,
        translation_key=translation_key,
        translation_placeholders=placeholders or None,
        state_class=state_class,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=numeric_value,
    )


_PHASES: Final = ("L1", "L2", "L3")
#: Value group E of the numbered service objects (event counters, alarm registers, ...): 0..9.
_INSTANCES: Final = range(10)
_TARIFFS: Final = range(1, 10)

_ELECTRICITY: Final[dict[tuple[int, int, int], DlmsSensorEntityDescription]] = {
    (1, 8, 0): _energy("energy_import"),
    **{(1, 8, tariff): _energy("energy_import_tariff", tariff=str(tariff)) for tariff in _TARIFFS},
    (2, 8, 0): _energy("energy_export"),
    **{(2, 8, tariff): _energy("energy_export_tariff", tariff=str(tariff)) for tariff in _TARIFFS},
    (3, 8, 0): _reactive_energy("reactive_energy_import"),
    **{
        (3, 8, tariff): _reactive_energy("reactive_energy_import_tariff", tariff=str(tariff))
        for tariff in _TARIFFS
    },
    (4, 8, 0): _reactive_energy("reactive_energy_export"),
    **{
        (4, 8, tariff): _reactive_energy("reactive_energy_export_tariff", tariff=str(tariff))
        for tariff in _TARIFFS
    },
    # The average over the last demand period (a demand register's "last average value").
    (1, 5, 0): _power("average_power_import"),
    (2, 5, 0): _power("average_power_export"),
    (1, 7, 0): _power("power_import"),
    (2, 7, 0): _power("power_export"),
    **{
        (c, 7, 0): _power("power_import_phase", phase=phase)
        for c, phase in zip((21, 41, 61), _PHASES, strict=True)
    },
    **{
        (c, 7, 0): _power("power_export_phase", phase=phase)
        for c, phase in zip((22, 42, 62), _PHASES, strict=True)
    },
    (3, 7, 0): _quantity(
        "reactive_power_import",
        SensorDeviceClass.REACTIVE_POWER,
        UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        precision=0,
    ),
    (4, 7, 0): _quantity(
        "reactive_power_export",
        SensorDeviceClass.REACTIVE_POWER,
        UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        precision=0,
    ),
    (9, 7, 0): _quantity(
        "apparent_power_import",
        SensorDeviceClass.APPARENT_POWER,
        UnitOfApparentPower.VOLT_AMPERE,
        precision=0,
    ),
    (10, 7, 0): _quantity(
        "apparent_power_export",
        SensorDeviceClass.APPARENT_POWER,
        UnitOfApparentPower.VOLT_AMPERE,
        precision=0,
    ),
    **{
        (c, 7, 0): _quantity(
            "voltage_phase",
            SensorDeviceClass.VOLTAGE,
            UnitOfElectricPotential.VOLT,
            precision=1,
            placeholders={"phase": phase},
        )
        for c, phase in zip((32, 52, 72), _PHASES, strict=True)
    },
    **{
        (c, 7, 0): _quantity(
            "current_phase",
            SensorDeviceClass.CURRENT,
            UnitOfElectricCurrent.AMPERE,
            precision=2,
            placeholders={"phase": phase},
        )
        for c, phase in zip((31, 51, 71), _PHASES, strict=True)
    },
    (91, 7, 0): _quantity(
        "current_neutral", SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, precision=2
    ),
    (14, 7, 0): _quantity("frequency", SensorDeviceClass.FREQUENCY, UnitOfFrequency.HERTZ, precision=2),
    (13, 7, 0): _power_factor("power_factor"),
    **{
        (c, 7, 0): _power_factor("power_factor_phase", phase=phase)
        for c, phase in zip((33, 53, 73), _PHASES, strict=True)
    },
    (0, 2, 0): _text("firmware_version"),
    (0, 2, 129): _text("list_identifier"),
}
"""Electricity objects (group A = 1), by groups C, D, E."""

_ABSTRACT: Final[dict[tuple[int, int, int], DlmsSensorEntityDescription]] = {
    (1, 0, 0): DlmsSensorEntityDescription(
        key="meter_clock",
        translation_key="meter_clock",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # It changes with every telegram: recording it by default would only fill the database.
        entity_registry_enabled_default=False,
        value_fn=timestamp_value,
    ),
    (96, 1, 0): _text("serial_number"),
    (96, 1, 1): _text("equipment_identifier"),
    (96, 1, 7): _text("meter_type"),
    # The invocation counter of a security setup (0-0:43.0.e): a count, not a quantity to keep statistics of.
    **{(43, 1, e): _diagnostic_number("meter_invocation_counter", number=str(e + 1)) for e in _INSTANCES},
    (42, 0, 0): _text("logical_device_name"),
    **{
        (96, 15, e): _diagnostic_number("event_counter", SensorStateClass.TOTAL_INCREASING, number=str(e + 1))
        for e in _INSTANCES
    },
    **{(96, 11, e): _diagnostic_number("event_code", number=str(e + 1)) for e in _INSTANCES},
    **{(97, 97, e): _diagnostic_number("error_register", number=str(e + 1)) for e in _INSTANCES},
    **{(97, 98, e): _diagnostic_number("alarm_register", number=str(e + 1)) for e in _INSTANCES},
}
"""Abstract objects (group A = 0), by groups C, D, E."""

_CATALOG: Final = {1: _ELECTRICITY, 0: _ABSTRACT}
_P1_VERSION: Final = _text("p1_version")

CATALOG_TRANSLATION_KEYS: Final[frozenset[str]] = frozenset(
    description.translation_key
    for table in _CATALOG.values()
    for description in table.values()
    if description.translation_key is not None
) | {GENERIC_TRANSLATION_KEY, POSITIONAL_TRANSLATION_KEY, "p1_version"}
"""Every translation key :func:`describe` can give (the translations must name each one)."""

# Units of instantaneous quantities a generic object may be shown with.
_GENERIC_MEASUREMENTS: Final[dict[str, SensorDeviceClass]] = {
    **dict.fromkeys(UnitOfPower, SensorDeviceClass.POWER),
    **dict.fromkeys(UnitOfReactivePower, SensorDeviceClass.REACTIVE_POWER),
    **dict.fromkeys(UnitOfApparentPower, SensorDeviceClass.APPARENT_POWER),
    **dict.fromkeys(UnitOfElectricPotential, SensorDeviceClass.VOLTAGE),
    **dict.fromkeys(UnitOfElectricCurrent, SensorDeviceClass.CURRENT),
    **dict.fromkeys(UnitOfFrequency, SensorDeviceClass.FREQUENCY),
    **dict.fromkeys(UnitOfTemperature, SensorDeviceClass.TEMPERATURE),
}
_GENERIC_TOTALS: Final[dict[str, SensorDeviceClass]] = {
    **dict.fromkeys(UnitOfEnergy, SensorDeviceClass.ENERGY),
    **dict.fromkeys(UnitOfReactiveEnergy, SensorDeviceClass.REACTIVE_ENERGY),
}
_CUMULATIVE = 8
# Media by value group A (Blue Book 7.3.3): a volume register of a gas or water meter is its index,
# read as gas or water (NB-IoT gas and water meters reached over UDP list no electricity objects).
_VOLUME_MEDIA: Final[dict[int, SensorDeviceClass]] = {
    7: SensorDeviceClass.GAS,
    8: SensorDeviceClass.WATER,  # cold water
    9: SensorDeviceClass.WATER,  # hot water
}
_VOLUME_UNITS: Final = frozenset({UnitOfVolume.CUBIC_METERS, UnitOfVolume.LITERS, UnitOfVolume.CUBIC_FEET})
"""Group D of "time integral 1": a register that accumulates from the meter's start (x.8.y)."""


P1_VERSION: Final = ObisCode(1, 3, 0, 2, 8, 255)
"""DSMR's "version information for P1 output" (channel 3 by the DSMR specification, not a meter's)."""


def catalog_entry(obis: ObisCode) -> DlmsSensorEntityDescription | None:
    """The catalog's template for a code, or ``None`` when the code is not a known one."""
    if obis == P1_VERSION:
        return _P1_VERSION
    if obis.f != 255 or obis.b not in (0, 1):
        return None
    table = _CATALOG.get(obis.a)
    return None if table is None else table.get((obis.c, obis.d, obis.e))


def describe(obis: ObisCode, unit: str | None) -> DlmsSensorEntityDescription:
    """The sensor for ``obis`` whose values come in ``unit`` (a DLMS symbol; ``None`` when unknown)."""
    template = catalog_entry(obis)
    if template is None:
        return _generic(obis, ha_unit(unit))
    key = str(obis)
    device_class = template.device_class
    if device_class is None or device_class == SensorDeviceClass.TIMESTAMP:
        return replace(template, key=key)
    default_unit = template.native_unit_of_measurement
    native_unit = default_unit if unit is None else ha_unit(unit)
    if native_unit not in DEVICE_CLASS_UNITS.get(device_class, {native_unit}):
        return replace(
            template,
            key=key,
            device_class=None,
            native_unit_of_measurement=native_unit,
            suggested_unit_of_measurement=None,
            suggested_display_precision=None,
        )
    precision = template.suggested_display_precision
    if template.suggested_unit_of_measurement is None and native_unit != default_unit:
        precision = _rescaled_precision(device_class, default_unit, native_unit, precision)
    return replace(
        template, key=key, native_unit_of_measurement=native_unit, suggested_display_precision=precision
    )


def _rescaled_precision(
    device_class: SensorDeviceClass, from_unit: str | None, to_unit: str | None, precision: int | None
) -> int | None:
    """The decimals that keep the same resolution in ``to_unit`` (0 W -> 3 kW)."""
    converter = UNIT_CONVERTERS.get(device_class)
    if precision is None or converter is None:
        return precision
    if from_unit not in converter.VALID_UNITS or to_unit not in converter.VALID_UNITS:
        return precision
    shift = round(math.log10(converter.get_unit_ratio(from_unit, to_unit)))
    return max(0, precision + shift)


def _generic(obis: ObisCode, unit: str | None) -> DlmsSensorEntityDescription:
    position = position_of(obis)
    base = DlmsSensorEntityDescription(
        key=str(obis),
        translation_key=GENERIC_TRANSLATION_KEY if position is None else POSITIONAL_TRANSLATION_KEY,
        translation_placeholders=(
            {"obis": str(obis)}
            if position is None
            else {"position": str(position[0]), "count": str(position[1])}
        ),
    )
    if unit is None:
        return base
    device_class: SensorDeviceClass | None = _GENERIC_MEASUREMENTS.get(unit)
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT
    if unit in _GENERIC_TOTALS:
        # A cumulative register is a total (it may count net energy, so TOTAL, not TOTAL_INCREASING);
        # other energy values (billing-period snapshots, period consumption) keep no statistics.
        cumulative = obis.d == _CUMULATIVE and obis.f == 255
        device_class = _GENERIC_TOTALS[unit] if cumulative else None
        state_class = SensorStateClass.TOTAL if cumulative else None
    elif unit in _VOLUME_UNITS and obis.a in _VOLUME_MEDIA and obis.f == 255:
        # A gas or water meter's volume only grows (a roll-over reads as a reset).
        device_class, state_class = _VOLUME_MEDIA[obis.a], SensorStateClass.TOTAL_INCREASING
    return replace(
        base,
        device_class=device_class,
        state_class=state_class,
        native_unit_of_measurement=unit,
        value_fn=numeric_value,
    )
