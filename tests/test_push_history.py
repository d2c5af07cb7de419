"""A pushed hourly value (Norwegian list 3: the clock and the energy totals) lands in its timestamp's hour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.simulator.access import RequestContext
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.push import PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

ENERGY = str(ACTIVE_ENERGY_IMPORT)
UNIQUE_ID = "53494D0000000001"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


class MeterClock:
    """The meter's true time, set by the test (Home Assistant's runs on: the sockets need it)."""

    def __init__(self) -> None:
        self.now = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def meter() -> AsyncIterator[tuple[SimulatedMeter, MeterClock, int]]:
    clock = MeterClock()
    simulated = SimulatedMeter(clock)
    settings = RunnerSettings(
        transport=Transport.WRAPPER_TCP, push_interval=0.05, push=PushSettings(framing=PushFraming.HDLC)
    )
    server = SimulatorServer(simulated, settings)
    address = await server.start()
    yield simulated, clock, int(str(address).rsplit(":", 1)[1])
    await server.close()


def _kwh(meter: SimulatedMeter, instant: datetime) -> float:
    register = meter.find(ACTIVE_ENERGY_IMPORT)
    assert register is not None
    value = register.get(2, RequestContext(now=instant)).value
    assert isinstance(value, int)
    return value / 1000


async def _state_at(hass: HomeAssistant, entity_id: str, value: float) -> None:
    for _ in range(200):
        await hass.async_block_till_done()
        state = hass.states.get(entity_id)
        if (
            state is not None
            and state.state not in ("unknown", "unavailable")
            and float(state.state) == value
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{entity_id} never showed {value}")


async def _hourly(hass: HomeAssistant, statistic_id: str, start: datetime) -> list[dict[str, Any]]:
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, None, {statistic_id}, "hour", None, {"state", "sum"}
    )
    return [
        {"start": dt_util.utc_from_timestamp(row["start"]), "state": row["state"], "sum": row["sum"]}
        for row in found.get(statistic_id, [])
    ]


async def _past_hours(
    hass: HomeAssistant, statistic_id: str, start: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The hourly rows before ``now``'s hour (at minutes 55-59 the recorder's compile writes that one)."""
    current = now.replace(minute=0, second=0, microsecond=0)
    return [row for row in await _hourly(hass, statistic_id, start) if row["start"] < current]


async def test_pushed_hourly_value_lands_in_the_hour_of_its_timestamp(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, MeterClock, int]
) -> None:
    simulated, clock, port = meter
    hour = clock.now
    clock.now = hour + timedelta(minutes=20, seconds=10)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Push meter",
        unique_id=UNIQUE_ID,
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
        # Every telegram written: the test follows each one (the update limit has tests of its own).
        options={CONF_OBJECTS: [ENERGY], CONF_PUSH_TIMEOUT: 3600, CONF_UPDATE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert isinstance(entry.runtime_data.coordinator, DlmsPushCoordinator)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{UNIQUE_ID}_{ENERGY}")
    assert entity_id is not None
    await _state_at(hass, entity_id, _kwh(simulated, clock.now))
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0))
    await async_wait_recording_done(hass)

    # The telegram of the next hour carries the meter's clock at the top of the hour: that hour's row.
    top = hour + timedelta(hours=1)
    clock.now = top
    await _state_at(hass, entity_id, _kwh(simulated, top))
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    rows = await _past_hours(hass, entity_id, hour - timedelta(hours=1), now)
    assert [row["start"] for row in rows] == [hour]
    assert rows[0]["state"] == pytest.approx(_kwh(simulated, top), abs=1e-6)
    # Telegrams between the hours carry no hourly value: no other row appears.
    clock.now = top + timedelta(minutes=7, seconds=3)
    await _state_at(hass, entity_id, _kwh(simulated, top + timedelta(minutes=7, seconds=3)))
    await async_wait_recording_done(hass)
    assert await _past_hours(hass, entity_id, hour - timedelta(hours=1), now) == rows
    assert await hass.config_entries.async_unload(entry.entry_id)
