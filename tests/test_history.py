"""Load profile backfill into long-term statistics: a real recorder (sqlite), the simulator over TCP."""

from __future__ import annotations

import asyncio
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
    CONF_HISTORY,
    CONF_HISTORY_DAYS,
    CONF_OBJECTS,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.diagnostics import async_get_config_entry_diagnostics
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism, DataAccessResult
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.simulator.access import RequestContext
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    LOAD_PROFILE,
    AccessFailureError,
    DataObject,
    MeterSecurity,
    ProfileGeneric,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.history import ProfileBackfill, hour_floor
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

from .polled_meter import PASSWORD, polled_entry

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


def _entry(port: int, days: int = 1) -> MockConfigEntry:
    return polled_entry(
        port, {CONF_OBJECTS: [ENERGY], CONF_SCAN_INTERVAL: 30, CONF_HISTORY: True, CONF_HISTORY_DAYS: days}
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
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)  # the clock is frozen: no HTTP
    assert diagnostics["history"] == {
        "profile": "1.0.99.1.0.255",
        "state": "done",
        "hours_total": 6,
        "hours_done": 6,
        "rows_imported": 7,  # the hour before the outage again, then the six of the outage
        "last_imported": "2026-10-25T04:00:00+00:00",
        "error": None,
    }

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


async def test_unloading_interrupts_a_long_first_backfill_which_resumes_where_it_stopped(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    meter = SimulatedMeter(
        dt_util.utcnow,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    faults = FaultInjector(latency=0.02)  # each answer takes a while, as on a real line
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP), faults=faults)
    address = await server.start()
    try:
        entry = _entry(int(str(address).rsplit(":", 1)[1]), days=5)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        statistic_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"12345678_{ENERGY}")
        assert statistic_id is not None
        await async_wait_recording_done(hass)
        now = dt_util.utcnow()
        do_adhoc_statistics(
            hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        )
        await async_wait_recording_done(hass)
        backfill = entry.runtime_data.history
        assert backfill is not None
        backfill.async_poll_done()
        for _ in range(3000):  # two blocks in, on a machine however busy
            await asyncio.sleep(0.01)
            if backfill.progress.hours_done >= 12:
                break
        progress = backfill.progress
        assert progress.state == "reading"
        assert 12 <= progress.hours_done < progress.hours_total == 120
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        stopped_at = progress.last_imported
        assert stopped_at is not None
        stored = hass_storage[f"dlms_cosem.history.{entry.entry_id}"]["data"]
        assert stored == {str(LOAD_PROFILE): stopped_at.isoformat()}
        assert progress.state == "reading"  # cancelled mid-way, not finished
        assert progress.hours_done < progress.hours_total

        # Loaded again, it goes on from the last hour it imported, not from five days back.
        faults.latency = 0.0
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        resumed = entry.runtime_data.history
        assert resumed is not None
        assert resumed.progress.state == "done"
        assert resumed.progress.hours_total == int((hour_floor(dt_util.utcnow()) - stopped_at) / HOUR)
        await async_wait_recording_done(hass)
        rows = await _hourly(hass, statistic_id, hour_floor(dt_util.utcnow()) - timedelta(days=6))
        # At minutes 55-59 the recorder's compile above also wrote the current hour: not the backfill's.
        rows = [row for row in rows if row["start"] < hour_floor(now)]
        assert len(rows) == 121  # five days and the hour ending where they start
        assert [row["start"] for row in rows] == [rows[0]["start"] + HOUR * i for i in range(121)]
        for row in rows:
            assert row["state"] == pytest.approx(_kwh(meter, row["start"] + HOUR), abs=1e-6)
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        assert f"dlms_cosem.history.{entry.entry_id}" not in hass_storage  # removed with the entry
    finally:
        await server.close()


class _BrokenProfile(ProfileGeneric):
    """A load profile the meter lists but cannot read (a hardware fault)."""

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 1:
            return super()._get(attribute, context)
        raise AccessFailureError(DataAccessResult.HARDWARE_FAULT)


@pytest.mark.parametrize(("broken", "shown"), [(True, "failed"), (False, "unsupported")])
async def test_a_meter_whose_profile_fails_or_is_missing_says_so_and_polls_go_on(
    hass: HomeAssistant, broken: bool, shown: str
) -> None:
    meter = SimulatedMeter(
        dt_util.utcnow,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    if broken:
        meter.add(_BrokenProfile(LOAD_PROFILE, (), meter.find, meter.clock))
    else:
        meter.add(DataObject(LOAD_PROFILE, Data.unsigned(0)))  # no profile generic listed at all
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    try:
        entry = _entry(int(str(address).rsplit(":", 1)[1]))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await async_wait_recording_done(hass)
        now = dt_util.utcnow()
        statistic_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"12345678_{ENERGY}")
        assert statistic_id is not None
        do_adhoc_statistics(
            hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        )
        await async_wait_recording_done(hass)
        backfill = await _poll(hass, entry)
        assert backfill.progress.state == shown
        assert (backfill.progress.error is not None) is broken
        state = hass.states.get(statistic_id)
        assert state is not None
        assert float(state.state) == pytest.approx(_kwh(meter, dt_util.utcnow()), abs=1e-3)
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()
