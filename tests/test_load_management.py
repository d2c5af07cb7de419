"""Limiter thresholds, a demand register's capture time, alarm register and event counter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import CONF_ALLOW_CHANGES, CONF_OBJECTS, DOMAIN
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.simulator.limiter import LIMITER, Limiter
from custom_components.dlms_cosem.dlms.simulator.load_management import (
    ALARM_REGISTER_1,
    CURRENT_AVERAGE_DEMAND_IMPORT,
    EMERGENCY_THRESHOLD_W,
    EVENT_COUNTER_1,
    NORMAL_THRESHOLD_W,
    add_load_management,
)
from custom_components.dlms_cosem.dlms.simulator.model import DataObject, SimulatedMeter

from .polled_meter import allow_loopback, entity, polled_entry, served_meter, set_up  # noqa: F401

OBJECTS = [str(CURRENT_AVERAGE_DEMAND_IMPORT), str(ALARM_REGISTER_1), str(EVENT_COUNTER_1)]


@pytest.fixture
async def meter() -> AsyncIterator[tuple[SimulatedMeter, int]]:
    async with served_meter(add_load_management) as served:
        yield served


def entry_for(port: int) -> MockConfigEntry:
    return polled_entry(port, {CONF_OBJECTS: OBJECTS, CONF_ALLOW_CHANGES: True})


def state_of(hass: HomeAssistant, key: str) -> State:
    state = hass.states.get(entity(hass, "sensor", key))
    assert state is not None, key
    return state


async def test_limiter_thresholds_in_the_unit_of_the_limited_value(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    simulated, port = meter
    entry = await set_up(hass, entry_for(port))
    normal = state_of(hass, f"{LIMITER}_limiter_threshold_normal")
    emergency = state_of(hass, f"{LIMITER}_limiter_threshold_emergency")
    active = state_of(hass, f"{LIMITER}_limiter_threshold_active")
    assert float(normal.state) == NORMAL_THRESHOLD_W
    assert float(emergency.state) == EMERGENCY_THRESHOLD_W
    assert float(active.state) == NORMAL_THRESHOLD_W
    assert normal.attributes["unit_of_measurement"] == "W"
    assert normal.attributes["device_class"] == "power"
    assert er.async_get(hass).async_get(normal.entity_id).entity_category == "diagnostic"

    # An emergency profile makes the emergency threshold the active one; a write changes the normal one.
    limiter = simulated.find(LIMITER)
    assert isinstance(limiter, Limiter)
    limiter.emergency_active = True
    await hass.services.async_call(
        DOMAIN,
        "write",
        {
            "config_entry_id": entry.entry_id,
            "obis": str(LIMITER),
            "attribute": 4,
            "type": "double_long_unsigned",
            "value": 11_500,
        },
        blocking=True,
    )
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert limiter.normal == 11_500
    assert float(state_of(hass, f"{LIMITER}_limiter_threshold_normal").state) == 11_500
    assert float(state_of(hass, f"{LIMITER}_limiter_threshold_active").state) == EMERGENCY_THRESHOLD_W


async def test_demand_register_alarm_register_and_event_counter(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    simulated, port = meter
    entry = await set_up(hass, entry_for(port))
    demand = state_of(hass, str(CURRENT_AVERAGE_DEMAND_IMPORT))
    assert 100 < float(demand.state) < 2000  # the simulated household's average import, W
    assert demand.attributes["unit_of_measurement"] == "W"
    started = demand.attributes["capture_time"]
    assert isinstance(started, datetime)
    assert timedelta(0) <= datetime.now(UTC) - started < timedelta(minutes=15)
    assert (started.minute % 15, started.second) == (0, 0)

    alarm = state_of(hass, str(ALARM_REGISTER_1))
    counter = state_of(hass, str(EVENT_COUNTER_1))
    assert (alarm.state, counter.state) == ("0", "0")
    assert alarm.attributes["friendly_name"] == "Simulated meter Alarm register 1"
    assert counter.attributes["state_class"] == "total_increasing"
    registry = er.async_get(hass)
    assert registry.async_get(alarm.entity_id).entity_category == "diagnostic"

    # The meter raises an alarm (one bit of the bitmap) and counts the event.
    simulated.add(DataObject(ALARM_REGISTER_1, Data.double_long_unsigned(0x100), writable=True))
    simulated.add(DataObject(EVENT_COUNTER_1, Data.long_unsigned(1), writable=True))
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, str(ALARM_REGISTER_1)).state == "256"
    assert state_of(hass, str(EVENT_COUNTER_1)).state == "1"
