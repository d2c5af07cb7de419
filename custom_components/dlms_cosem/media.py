"""Gas, water and heat: the M-Bus channels of an electricity meter and the other media's OBIS codes.

An electricity meter relays up to four M-Bus devices (channel ``b`` = 1..4): the device type
``0.b.24.1.0.255`` names the medium (EN 13757-3), ``0.b.96.1.0.255`` is the device's serial and
``0.b.24.2.x.255`` its readings (extended registers whose capture time is when the device measured).
Meters that are themselves gas, water or heat meters use group A: 7 gas, 8 water, 6 heat, 5 cooling.

A reading of a medium becomes a total-increasing sensor with the device class the Energy panel wants
(GAS, WATER, or ENERGY for heat and cooling) in the unit the meter gives; a unit that does not fit the
device class keeps the sensor but drops the class. Each channel is its own device, linked to the
electricity meter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS
from homeassistant.helpers.device_registry import DeviceInfo

from .const import DOMAIN
from .dlms.obis import ObisCode
from .obis_catalog import DlmsSensorEntityDescription, ha_unit, numeric_value

MBUS_CHANNELS: Final = range(1, 5)
MBUS_DEVICE_TYPE_C, MBUS_DEVICE_TYPE_D = 24, 1
MBUS_VALUE_C, MBUS_VALUE_D = 24, 2
MEDIUM_GAS_A, MEDIUM_WATER_A, MEDIUM_HEAT_A, MEDIUM_COOLING_A = 7, 8, 6, 5

#: EN 13757-3 medium codes and the device class of their readings.
MBUS_MEDIA: Final[dict[int, SensorDeviceClass]] = {
    0x03: SensorDeviceClass.GAS,
    0x04: SensorDeviceClass.ENERGY,  # heat (outlet)
    0x06: SensorDeviceClass.WATER,  # warm water
    0x07: SensorDeviceClass.WATER,
    0x0A: SensorDeviceClass.ENERGY,  # cooling (outlet)
    0x0B: SensorDeviceClass.ENERGY,  # cooling (inlet)
    0x0C: SensorDeviceClass.ENERGY,  # heat (inlet)
    0x0D: SensorDeviceClass.ENERGY,  # heat / cooling
    0x15: SensorDeviceClass.WATER,  # hot water
    0x16: SensorDeviceClass.WATER,  # cold water
}
MEDIUM_NAMES: Final[dict[SensorDeviceClass, str]] = {
    SensorDeviceClass.GAS: "Gas meter",
    SensorDeviceClass.WATER: "Water meter",
    SensorDeviceClass.ENERGY: "Heat meter",
}
_GROUP_A_MEDIA: Final[dict[int, SensorDeviceClass]] = {
    MEDIUM_GAS_A: SensorDeviceClass.GAS,
    MEDIUM_WATER_A: SensorDeviceClass.WATER,
    MEDIUM_HEAT_A: SensorDeviceClass.ENERGY,
    MEDIUM_COOLING_A: SensorDeviceClass.ENERGY,
}


def mbus_channel(obis: ObisCode) -> int | None:
    """The M-Bus channel an object belongs to (abstract objects of channel 1..4, or media A=5..8)."""
    if obis.b not in MBUS_CHANNELS:
        return None
    if obis.a == 0 and (obis.c == MBUS_VALUE_C or (obis.c, obis.d) == (96, 1)):
        return obis.b
    if obis.a in _GROUP_A_MEDIA:
        return obis.b
    return None


def mbus_identity_objects() -> list[ObisCode]:
    """Every channel's device type and serial, read once at setup."""
    return [
        obis
        for channel in MBUS_CHANNELS
        for obis in (device_type_obis(channel), ObisCode(0, channel, 96, 1, 0, 255))
    ]


def device_type_obis(channel: int) -> ObisCode:
    """The channel's device type (medium) object."""
    return ObisCode(0, channel, MBUS_DEVICE_TYPE_C, MBUS_DEVICE_TYPE_D, 0, 255)


def is_channel_reading(obis: ObisCode) -> bool:
    """Whether the object is an M-Bus channel's reading (0.b.24.2.x.255)."""
    return obis.a == 0 and obis.b in MBUS_CHANNELS and (obis.c, obis.d) == (MBUS_VALUE_C, MBUS_VALUE_D)


def medium_class(obis: ObisCode, medium: int | None) -> SensorDeviceClass | None:
    """The device class of a medium's reading: from group A, or from the channel's device type."""
    if obis.a in _GROUP_A_MEDIA:
        return _GROUP_A_MEDIA[obis.a]
    if is_channel_reading(obis) and medium is not None:
        return MBUS_MEDIA.get(medium)
    return None


def describe_medium(
    obis: ObisCode, unit: str | None, medium: int | None, base: DlmsSensorEntityDescription
) -> DlmsSensorEntityDescription:
    """``base`` as a gas, water or heat total when the object is a medium's cumulative reading."""
    device_class = medium_class(obis, medium)
    native = ha_unit(unit)
    if device_class is None or native is None:
        return base
    if native not in DEVICE_CLASS_UNITS.get(device_class, set()):
        return base
    return replace(
        base,
        device_class=device_class,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=native,
        suggested_unit_of_measurement=None,
        suggested_display_precision=3,
        value_fn=numeric_value,
    )


def channel_device_info(
    meter_identifier: str, meter_device_id: str, channel: int, medium: int | None, serial: str | None
) -> DeviceInfo:
    """The channel's own device, reached through the electricity meter (``meter_device_id``)."""
    device_class = MBUS_MEDIA.get(medium) if medium is not None else None
    name = MEDIUM_NAMES.get(device_class, "M-Bus device") if device_class else "M-Bus device"
    return DeviceInfo(
        identifiers={(DOMAIN, f"{meter_identifier}_mbus_{channel}")},
        name=f"{name} (channel {channel})",
        serial_number=serial,
        via_device_id=meter_device_id,
    )
