"""Load profile backfill into long-term statistics: a real recorder (sqlite), the simulator over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    get_last_short_term_statistics,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntryState
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
    CONF_AUTHENTICATION,
    CONF_CONNECTION_TYPE,
    CONF_HISTORY,
    CONF_HISTORY_DAYS,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.coordinator import DlmsPollCoordinator
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.simulator.access import RequestContext
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.history import ProfileBackfill

PASSWORD = "S3cr3tPw"
ENERGY = str(ACTIVE_ENERGY_IMPORT)
HOUR = timedelta(hours=1)
# Europe/Oslo leaves summer time at 01:00 UTC on 25 October 2026: the outage spans the change.
BEFORE_OUTAGE = datetime(2026, 10, 24, 22, 2, tzinfo=UTC)
AFTER_OUTAGE = datetime(2026, 10, 25, 4, 7, tzinfo=UTC)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


@pytest.fixture
async def meter() -> AsyncIterator[tuple[SimulatedMeter, int]]:
    """A meter in Oslo time whose clock runs three minutes fast, on the TCP wrapper."""
    simulated = SimulatedMeter(
        dt_util.utcnow,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    simulated.clock.zone = ZoneInfo("Europe/Oslo")  # type: ignore[assignment]
    simulated.clock.offset = timedelta(minutes=3)
    server = SimulatorServer(simulated, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    yield simulated, int(str(address).rsplit(":", 1)[1])
    await server.close()


def _entry(port: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Simulated meter",
        unique_id="12345678",
        data={
            CONF_CONNECTION_TYPE: "network_poll",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            "client_address": 1,
            "server_logical_address": 1,
            CONF_AUTHENTICATION: "lls",
            CONF_PASSWORD: PASSWORD,
        },
        options={CONF_OBJECTS: [ENERGY], CONF_SCAN_INTERVAL: 30, CONF_HISTORY: True, CONF_HISTORY_DAYS: 1},
    )


def _kwh(meter: SimulatedMeter, instant: datetime) -> float:
    register = meter.find(ACTIVE_ENERGY_IMPORT)
    assert register is not None
    value = register.get(2, RequestContext(now=instant)).value
    assert isinstance(value, int)
    return value / 1000


async def _hourly(hass: HomeAssistant, statistic_id: str, start: datetime) -> list[dict[str, Any]]:
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, None, {statistic_id}, "hour", None, {"state", "sum"}
    )
    return [
        {"start": dt_util.utc_from_timestamp(row["start"]), "state": row["state"], "sum": row["sum"]}
        for row in found.get(statistic_id, [])
    ]


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> ProfileBackfill:
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPollCoordinator)
    await coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    backfill = entry.runtime_data.history
    assert backfill is not None
    return backfill


async def test_six_hour_outage_across_dst_is_filled_from_the_profile_and_reimport_changes_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    meter: tuple[SimulatedMeter, int],
) -> None:
    simulated, port = meter
    freezer.move_to(BEFORE_OUTAGE)
    entry = _entry(port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    statistic_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"12345678_{ENERGY}")
    assert statistic_id is not None
    state = hass.states.get(statistic_id)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "kWh"

    # The recorder's own statistics for the sensor exist before the backfill continues them.
    backfill = await _poll(hass, entry)
    assert backfill.progress.state == "waiting"
    freezer.move_to(BEFORE_OUTAGE + timedelta(minutes=4))
    do_adhoc_statistics(hass, start=datetime(2026, 10, 24, 22, 0, tzinfo=UTC))
    await async_wait_recording_done(hass)
    short = await get_instance(hass).async_add_executor_job(
        get_last_short_term_statistics, hass, 1, statistic_id, True, {"state", "sum"}
    )
    anchor = short[statistic_id][0]
    offset = anchor["sum"] - anchor["state"]  # type: ignore[operator]

    backfill = await _poll(hass, entry)
    assert backfill.progress.state == "done"
    first_run = await _hourly(hass, statistic_id, BEFORE_OUTAGE - timedelta(days=2))
    last_hour = datetime(2026, 10, 24, 21, tzinfo=UTC)
    assert first_run[-1]["start"] == last_hour  # the hour ending at 22:00, the last one captured
    assert len(first_run) == 25  # one day back, and the hour ending where it starts
    for row in first_run:
        expected = _kwh(simulated, row["start"] + HOUR)
        assert row["state"] == pytest.approx(expected, abs=1e-6)
        assert row["sum"] == pytest.approx(expected + offset, abs=1e-6)

    # Home Assistant is off for six hours; the meter keeps capturing, across the DST change.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.move_to(AFTER_OUTAGE)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    backfill = await _poll(hass, entry)
    assert backfill.progress.state == "done"
    rows = await _hourly(hass, statistic_id, BEFORE_OUTAGE - timedelta(days=2))
    assert rows[: len(first_run)] == first_run  # the hours before the outage are untouched
    outage = rows[len(first_run) :]
    assert [row["start"] for row in outage] == [last_hour + HOUR * (i + 1) for i in range(6)]
    previous = first_run[-1]
    for row in outage:
        end = row["start"] + HOUR
        assert row["state"] == pytest.approx(_kwh(simulated, end), abs=1e-6)
        used = _kwh(simulated, end) - _kwh(simulated, end - HOUR)
        assert row["sum"] - previous["sum"] == pytest.approx(used, abs=1e-6)
        assert used > 0
        previous = row
    progress = hass.states.get("sensor.simulated_meter_meter_history")
    assert progress is not None
    assert progress.state == "100"
    assert progress.attributes["last_imported"] == "2026-10-25T04:00:00+00:00"
    assert progress.attributes["state"] == "done"

    # Importing the same period again writes the same rows.
    backfill._imported.clear()
    assert await backfill.async_catch_up(dt_util.utcnow()) == 25
    await async_wait_recording_done(hass)
    assert await _hourly(hass, statistic_id, BEFORE_OUTAGE - timedelta(days=2)) == rows

    # The recorder's next compile continues the imported sums: live state and statistics agree.
    freezer.move_to(AFTER_OUTAGE + timedelta(minutes=5))
    await _poll(hass, entry)
    do_adhoc_statistics(hass, start=datetime(2026, 10, 25, 4, 5, tzinfo=UTC))
    await async_wait_recording_done(hass)
    short = await get_instance(hass).async_add_executor_job(
        get_last_short_term_statistics, hass, 1, statistic_id, True, {"state", "sum"}
    )
    live = short[statistic_id][0]
    current = hass.states.get(statistic_id)
    assert current is not None
    assert rows[-1]["state"] < live["state"] <= float(current.state)  # type: ignore[operator]
    assert live["sum"] - rows[-1]["sum"] == pytest.approx(live["state"] - rows[-1]["state"], abs=1e-6)  # type: ignore[operator]
    assert await hass.config_entries.async_unload(entry.entry_id)
