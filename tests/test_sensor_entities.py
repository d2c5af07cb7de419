"""The sensor platform in a running Home Assistant, fed by a hand-made coordinator."""

import logging
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.const import STATE_UNAVAILABLE, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.models import (
    DlmsCosemConfigEntry,
    DlmsCosemRuntimeData,
    LinkStatistics,
    MeterIdentity,
    MeterReading,
    MeterSnapshot,
)
from custom_components.dlms_cosem.sensor import LINK_SENSORS, selected_objects

UNIQUE_ID = "LGZ1030655933512"
IDENTITY = MeterIdentity(
    serial_number="7359992890941742",
    system_title=b"LGZ\x67\x5c\x7a\x13\xb0",
    logical_device_name="LGZ1030655933512",
    model="E450",
    firmware="V1.2",
)
CLOCK = CosemDateTime(CosemDate(2024, 1, 15, 1), CosemTime(12, 30, 5, 0), -60, None)

#: The link-health sensors every meter has (all diagnostic, disabled until the user enables them).
LINK_KEYS = (
    "last_update",
    "frames",
    "frame_errors",
    "decryption_failures",
    "replays",
    "held_readings",
    "invocation_counter",
)


def readings(**values: tuple[object, str | None]) -> dict[ObisCode, MeterReading]:
    return {ObisCode.parse(code.replace("_", ".")): MeterReading(v, u, v) for code, (v, u) in values.items()}


def base_snapshot() -> MeterSnapshot:
    return MeterSnapshot(
        readings={
            **readings(
                **{
                    "1_0_1_8_0_255": (12937, "Wh"),
                    "1_0_1_8_1_255": (5000, "Wh"),
                    "1_0_1_7_0_255": (1234, "W"),
                    "1_0_32_7_0_255": (231.4, "V"),
                    "1_0_31_7_0_255": (1.52, "A"),
                    "1_0_13_7_0_255": (0.98, None),
                    "1_0_14_7_0_255": (49.98, "Hz"),
                    "0_0_96_1_0_255": ("7359992890941742", None),
                    "1_0_0_2_129_255": ("AIDON_V0001", None),
                    "0_0_1_0_0_255": (CLOCK, None),
                }
            ),
        },
        timestamp=datetime(2024, 1, 15, 11, 30, 5, tzinfo=UTC),
    )


OBJECTS = [
    "1.0.1.8.0.255",
    "1.0.1.8.1.255",
    "1-0:1.7.0",  # any spelling the parser accepts
    "1.0.32.7.0.255",
    "1.0.31.7.0.255",
    "1.0.13.7.0.255",
    "1.0.14.7.0.255",
    "0.0.96.1.0.255",
    "1.0.0.2.129.255",
    "0.0.1.0.0.255",
    "1.0.2.8.0.255",  # known, not sent yet
    "1.0.99.1.0.255",  # unknown, not sent yet
    "garbage",
    "1.0.1.8.0.255",  # a duplicate
]


class FakeMeter:
    """What the coordinator's update method reads."""

    def __init__(self) -> None:
        self.snapshot = base_snapshot()
        self.fail = False

    async def read(self) -> MeterSnapshot:
        if self.fail:
            raise UpdateFailed("the meter did not answer")
        return self.snapshot


class LinkCoordinator(DataUpdateCoordinator[MeterSnapshot]):
    """A coordinator that also counts what happens on the link."""

    link_statistics: LinkStatistics


@pytest.fixture
def enable_all_entities() -> Generator[None]:
    """Create entities that are disabled by default as enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@asynccontextmanager
async def loaded_meter(
    hass: HomeAssistant, meter: FakeMeter, *, link: bool = True, objects: list[str] | None = None
) -> AsyncIterator[tuple[DlmsCosemConfigEntry, DataUpdateCoordinator[MeterSnapshot]]]:
    """A config entry set up the way __init__.py will: runtime data first, then the sensor platform."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Meter",
        unique_id=UNIQUE_ID,
        options={"objects": OBJECTS if objects is None else objects},
    )
    entry.add_to_hass(hass)
    cls = LinkCoordinator if link else DataUpdateCoordinator[MeterSnapshot]
    coordinator = cls(
        hass, logging.getLogger(__name__), config_entry=entry, name="meter", update_method=meter.read
    )
    if isinstance(coordinator, LinkCoordinator):
        coordinator.link_statistics = LinkStatistics(
            last_update=datetime(2024, 1, 15, 11, 30, 6, tzinfo=UTC),
            frames=120,
            frame_errors=2,
            decryption_failures=1,
            invocation_counter=4711,
        )

    async def setup_entry(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> bool:
        await coordinator.async_config_entry_first_refresh()
        entry.runtime_data = DlmsCosemRuntimeData(coordinator=coordinator, identity=IDENTITY)
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.SENSOR])
        return True

    async def unload_entry(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, [Platform.SENSOR])

    with (
        patch("custom_components.dlms_cosem.async_setup_entry", setup_entry),
        patch("custom_components.dlms_cosem.async_unload_entry", unload_entry),
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        yield entry, coordinator
        assert await hass.config_entries.async_unload(entry.entry_id)


def state_of(hass: HomeAssistant, entity_id: str) -> tuple[str, dict[str, object]]:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state, dict(state.attributes)


async def test_energy_sensor_for_the_energy_panel(hass: HomeAssistant) -> None:
    async with loaded_meter(hass, FakeMeter()):
        value, attributes = state_of(hass, "sensor.meter_energy_import")
        assert value == "12.937"
        assert attributes["unit_of_measurement"] == "kWh"
        assert attributes["device_class"] == "energy"
        assert attributes["state_class"] == "total_increasing"
        assert attributes["friendly_name"] == "Meter Energy import"
        value, attributes = state_of(hass, "sensor.meter_energy_import_tariff_1")
        assert value == "5.0"
        assert attributes["friendly_name"] == "Meter Energy import tariff 1"


async def test_instantaneous_values(hass: HomeAssistant) -> None:
    async with loaded_meter(hass, FakeMeter()):
        value, attributes = state_of(hass, "sensor.meter_power_import")
        assert (value, attributes["unit_of_measurement"], attributes["device_class"]) == (
            "1234",
            "W",
            "power",
        )
        assert attributes["state_class"] == "measurement"
        value, attributes = state_of(hass, "sensor.meter_voltage_l1")
        assert (value, attributes["unit_of_measurement"]) == ("231.4", "V")
        assert attributes["friendly_name"] == "Meter Voltage L1"
        value, attributes = state_of(hass, "sensor.meter_current_l1")
        assert (value, attributes["unit_of_measurement"], attributes["device_class"]) == (
            "1.52",
            "A",
            "current",
        )
        value, attributes = state_of(hass, "sensor.meter_frequency")
        assert (value, attributes["unit_of_measurement"]) == ("49.98", "Hz")
        # The meter sends the ratio; Home Assistant shows it in percent.
        value, attributes = state_of(hass, "sensor.meter_power_factor")
        assert (value, attributes["unit_of_measurement"]) == ("98.0", "%")
        assert attributes["device_class"] == "power_factor"


async def test_identifiers_are_diagnostics(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> None:
    async with loaded_meter(hass, FakeMeter()):
        value, attributes = state_of(hass, "sensor.meter_serial_number")
        assert value == "7359992890941742"
        assert "unit_of_measurement" not in attributes
        assert "state_class" not in attributes
        assert state_of(hass, "sensor.meter_list_identifier")[0] == "AIDON_V0001"
        for entity_id in ("sensor.meter_serial_number", "sensor.meter_list_identifier"):
            registered = entity_registry.async_get(entity_id)
            assert registered is not None
            assert registered.entity_category is EntityCategory.DIAGNOSTIC
            assert registered.disabled_by is None


async def test_unique_ids_and_disabled_defaults(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    async with loaded_meter(hass, FakeMeter()):
        lookup = entity_registry.async_get_entity_id
        assert lookup("sensor", DOMAIN, f"{UNIQUE_ID}_1.0.1.8.0.255") == "sensor.meter_energy_import"
        assert lookup("sensor", DOMAIN, f"{UNIQUE_ID}_1.0.1.7.0.255") == "sensor.meter_power_import"
        # Not sent yet and unknown: no entity until the meter shows what it is.
        assert lookup("sensor", DOMAIN, f"{UNIQUE_ID}_1.0.99.1.0.255") is None
        clock = entity_registry.async_get(lookup("sensor", DOMAIN, f"{UNIQUE_ID}_0.0.1.0.0.255") or "")
        assert clock is not None
        assert clock.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        for key in LINK_KEYS:
            entity_id = lookup("sensor", DOMAIN, f"{UNIQUE_ID}_{key}")
            assert entity_id is not None, key
            registered = entity_registry.async_get(entity_id)
            assert registered is not None
            assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION, key
            assert registered.entity_category is EntityCategory.DIAGNOSTIC, key
        ours = er.async_entries_for_config_entry(
            entity_registry, hass.config_entries.async_entries(DOMAIN)[0].entry_id
        )
        # 11 objects (one unknown waits, one line is garbage, one a duplicate) and 7 link sensors.
        assert len(ours) == 18


async def test_device(hass: HomeAssistant, device_registry: dr.DeviceRegistry) -> None:
    async with loaded_meter(hass, FakeMeter()) as (entry, _):
        device = device_registry.async_get_device_by_identifier((DOMAIN, UNIQUE_ID), entry.entry_id)
        assert device is not None
        assert device.name == "Meter"
        assert device.manufacturer == "Landis+Gyr"
        assert device.model == "E450"
        assert device.serial_number == "7359992890941742"
        assert device.sw_version == "V1.2"


async def test_a_missing_object_is_unavailable(hass: HomeAssistant) -> None:
    meter = FakeMeter()
    async with loaded_meter(hass, meter) as (_, coordinator):
        value, attributes = state_of(hass, "sensor.meter_energy_export")
        assert value == STATE_UNAVAILABLE
        assert attributes["unit_of_measurement"] == "kWh"
        snapshot = base_snapshot()
        del snapshot.readings[ObisCode.parse("1.0.1.7.0.255")]
        coordinator.async_set_updated_data(snapshot)
        await hass.async_block_till_done()
        assert state_of(hass, "sensor.meter_power_import")[0] == STATE_UNAVAILABLE
        assert state_of(hass, "sensor.meter_energy_import")[0] == "12.937"


async def test_a_later_value_in_another_unit_is_converted(hass: HomeAssistant) -> None:
    async with loaded_meter(hass, FakeMeter()) as (_, coordinator):
        snapshot = base_snapshot()
        snapshot.readings.update(readings(**{"1_0_2_8_0_255": (1.5, "kWh"), "1_0_1_7_0_255": (7, "VA")}))
        coordinator.async_set_updated_data(snapshot)
        await hass.async_block_till_done()
        assert state_of(hass, "sensor.meter_energy_export")[0] == "1.5"
        # A unit that cannot be converted gives no number at all rather than a wrong one.
        assert state_of(hass, "sensor.meter_power_import")[0] == "unknown"


async def test_an_unknown_object_appears_with_its_first_value(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    async with loaded_meter(hass, FakeMeter()) as (_, coordinator):
        assert hass.states.get("sensor.meter_obis_1_0_99_1_0_255") is None
        snapshot = base_snapshot()
        snapshot.readings.update(readings(**{"1_0_99_1_0_255": (17, "W")}))
        coordinator.async_set_updated_data(snapshot)
        await hass.async_block_till_done()
        value, attributes = state_of(hass, "sensor.meter_obis_1_0_99_1_0_255")
        assert (value, attributes["unit_of_measurement"], attributes["device_class"]) == ("17", "W", "power")
        assert attributes["friendly_name"] == "Meter OBIS 1.0.99.1.0.255"
        # Later snapshots do not add it twice.
        coordinator.async_set_updated_data(snapshot)
        await hass.async_block_till_done()
        found = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{UNIQUE_ID}_1.0.99.1.0.255")
        assert found == "sensor.meter_obis_1_0_99_1_0_255"


@pytest.mark.usefixtures("enable_all_entities")
async def test_link_health_and_clock(hass: HomeAssistant) -> None:
    meter = FakeMeter()
    async with loaded_meter(hass, meter) as (_, coordinator):
        assert state_of(hass, "sensor.meter_meter_clock")[0] == "2024-01-15T11:30:05+00:00"
        value, attributes = state_of(hass, "sensor.meter_last_reading")
        assert (value, attributes["device_class"]) == ("2024-01-15T11:30:06+00:00", "timestamp")
        value, attributes = state_of(hass, "sensor.meter_frames_received")
        assert (value, attributes["state_class"]) == ("120", "total_increasing")
        assert state_of(hass, "sensor.meter_frame_errors")[0] == "2"
        assert state_of(hass, "sensor.meter_decryption_failures")[0] == "1"
        value, attributes = state_of(hass, "sensor.meter_invocation_counter")
        assert value == "4711"
        assert "state_class" not in attributes

        # The meter stops answering: its values go, the link figures stay and move on.
        assert isinstance(coordinator, LinkCoordinator)
        coordinator.link_statistics.decryption_failures = 5
        meter.fail = True
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert state_of(hass, "sensor.meter_energy_import")[0] == STATE_UNAVAILABLE
        assert state_of(hass, "sensor.meter_meter_clock")[0] == STATE_UNAVAILABLE
        assert state_of(hass, "sensor.meter_decryption_failures")[0] == "5"
        assert state_of(hass, "sensor.meter_frames_received")[0] == "120"

        meter.fail = False
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert state_of(hass, "sensor.meter_energy_import")[0] == "12.937"


@pytest.mark.usefixtures("enable_all_entities")
async def test_link_health_needs_statistics(hass: HomeAssistant) -> None:
    async with loaded_meter(hass, FakeMeter(), link=False, objects=["1.0.1.7.0.255"]):
        assert state_of(hass, "sensor.meter_power_import")[0] == "1234"
        assert state_of(hass, "sensor.meter_frames_received")[0] == STATE_UNAVAILABLE
        assert state_of(hass, "sensor.meter_last_reading")[0] == STATE_UNAVAILABLE


async def test_no_objects_selected(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> None:
    async with loaded_meter(hass, FakeMeter(), objects=[]) as (entry, _):
        ours = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        assert sorted(entity.unique_id for entity in ours) == sorted(
            f"{UNIQUE_ID}_{key}" for key in LINK_KEYS
        )


def test_selected_objects_skip_what_is_not_an_obis_code() -> None:
    assert selected_objects(["1-0:1.8.0", 42, None, "1.0.1.8.0.255", "0.0.96.1.0.255"]) == [
        ObisCode(1, 0, 1, 8, 0, 255),
        ObisCode(0, 0, 96, 1, 0, 255),
    ]


def test_a_naive_last_update_is_read_in_home_assistants_zone() -> None:
    last_update = next(description for description in LINK_SENSORS if description.key == "last_update")
    moment = last_update.value_fn(LinkStatistics(last_update=datetime(2024, 1, 15, 12, 0)))
    assert isinstance(moment, datetime)
    assert moment.tzinfo is dt_util.get_default_time_zone()
    assert last_update.value_fn(LinkStatistics()) is None
