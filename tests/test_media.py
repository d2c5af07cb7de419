"""Gas, water and heat: descriptions from group A or the channel's medium, and the objects of a channel."""

from __future__ import annotations

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass

from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.media import describe_medium, mbus_channel
from custom_components.dlms_cosem.obis_catalog import describe


@pytest.mark.parametrize(
    ("obis", "unit", "medium", "device_class"),
    [
        (ObisCode(7, 0, 3, 0, 0, 255), "m³", None, SensorDeviceClass.GAS),
        (ObisCode(8, 0, 1, 0, 0, 255), "m³", None, SensorDeviceClass.WATER),
        (ObisCode(6, 0, 1, 0, 0, 255), "kWh", None, SensorDeviceClass.ENERGY),
        (ObisCode(5, 0, 1, 0, 0, 255), "J", None, SensorDeviceClass.ENERGY),
        (ObisCode(0, 1, 24, 2, 1, 255), "m³", 0x03, SensorDeviceClass.GAS),
        (ObisCode(0, 2, 24, 2, 1, 255), "m³", 0x07, SensorDeviceClass.WATER),
        (ObisCode(0, 3, 24, 2, 1, 255), "Wh", 0x04, SensorDeviceClass.ENERGY),
    ],
)
def test_media_readings_are_totals_with_the_device_class_the_energy_panel_wants(
    obis: ObisCode, unit: str, medium: int | None, device_class: SensorDeviceClass
) -> None:
    described = describe_medium(obis, unit, medium, describe(obis, unit))
    assert described.device_class == device_class
    assert described.state_class == SensorStateClass.TOTAL_INCREASING
    assert described.native_unit_of_measurement == unit


@pytest.mark.parametrize(
    ("obis", "unit", "medium"),
    [
        (ObisCode(0, 1, 24, 2, 1, 255), "m³", None),  # medium unknown
        (ObisCode(0, 1, 24, 2, 1, 255), "m³", 0x02),  # electricity: not a medium of its own
        (ObisCode(8, 0, 1, 0, 0, 255), "V", None),  # a unit water cannot have
        (ObisCode(1, 0, 1, 8, 0, 255), "Wh", None),  # electricity stays the catalog's
    ],
)
def test_other_objects_keep_the_catalog_description(obis: ObisCode, unit: str, medium: int | None) -> None:
    base = describe(obis, unit)
    assert describe_medium(obis, unit, medium, base) == base


def test_which_objects_belong_to_a_channel() -> None:
    assert mbus_channel(ObisCode(0, 1, 24, 2, 1, 255)) == 1
    assert mbus_channel(ObisCode(0, 4, 96, 1, 0, 255)) == 4
    assert mbus_channel(ObisCode(7, 2, 3, 0, 0, 255)) == 2
    assert mbus_channel(ObisCode(0, 0, 96, 1, 0, 255)) is None  # the meter's own serial
    assert mbus_channel(ObisCode(1, 1, 1, 8, 0, 255)) is None  # Norwegian meters use B = 1 for everything
    assert mbus_channel(ObisCode(0, 5, 24, 2, 1, 255)) is None  # channels are 1..4
