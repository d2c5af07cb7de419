"""A month of load profile into Home Assistant's statistics: the backfill's import time (``scripts/bench``).

A pytest module (the harness's Home Assistant and recorder, sqlite):

    scripts/run python -m pytest -p no:cacheprovider -q -s benchmarks/ha_backfill.py

A polled entry with the history backfill on (31 days) reads the simulator's 15-minute load profile
(clock, +A, -A: 2976 entries for the month) over the TCP wrapper on 127.0.0.1, unpaced: the line's
time is ``bench_profile.py``'s (9600 baud HDLC). Once the recorder's first compile has started the
sums, ``ProfileBackfill.async_catch_up`` runs as after a poll. Figures: the whole catch-up (read and
import), the time in Home Assistant's ``async_import_statistics`` (in the event loop: it queues the
rows), the recorder's time to write them (until ``async_wait_recording_done``), and the loop
thread's CPU for the catch-up; the hourly rows are then read back and counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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

import custom_components.dlms_cosem  # noqa: F401 - before the harness's own custom_components
from custom_components.dlms_cosem import history
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
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

DAYS = 31
PASSWORD = "bench-password"  # noqa: S105 - the simulator's, made up here
RESULTS = os.environ.get("DLMS_BENCH_HA_RESULTS")


@pytest.fixture(autouse=True)
def _integrations(recorder_mock: Recorder, enable_custom_integrations: None, socket_enabled: None) -> None:
    """The recorder first (the harness requires it), this repository's integration, TCP on 127.0.0.1."""


@pytest.fixture
async def meter() -> AsyncIterator[int]:
    """An LLS meter holding a month and a day of 15-minute profile, on the TCP wrapper; its port."""
    simulated = SimulatedMeter(
        dt_util.utcnow,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
        profile_entries=(DAYS + 1) * 96,
    )
    server = SimulatorServer(simulated, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    try:
        yield int(str(address).rsplit(":", 1)[1])
    finally:
        await server.close()


def _entry(port: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="bench meter",
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
        options={
            CONF_OBJECTS: [str(ACTIVE_ENERGY_IMPORT), str(ACTIVE_ENERGY_EXPORT)],
            CONF_SCAN_INTERVAL: 3600,
            CONF_HISTORY: True,
            CONF_HISTORY_DAYS: DAYS,
        },
    )


def _keep(path: Path, figures: dict[str, Any]) -> None:
    known = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(known | {"backfill": figures}, indent=1))


async def test_a_month_of_load_profile(
    hass: HomeAssistant, meter: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Print the figures (and check every hour of the month arrived)."""
    asyncio.get_running_loop().set_debug(False)  # Home Assistant runs without asyncio's debug mode
    entry = _entry(meter)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPollCoordinator)
    backfill = entry.runtime_data.history
    assert backfill is not None
    # The recorder's first compile starts the sums the backfill continues.
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0))
    await async_wait_recording_done(hass)

    queued = [0.0, 0]
    original = history.async_import_statistics

    def timed(*args: Any) -> None:
        started = time.perf_counter()
        original(*args)
        queued[0] += time.perf_counter() - started
        queued[1] += len(args[2])

    monkeypatch.setattr(history, "async_import_statistics", timed)
    cpu = time.thread_time()
    started = time.perf_counter()
    imported = await backfill.async_catch_up(dt_util.utcnow())
    caught_up = time.perf_counter() - started
    cpu = time.thread_time() - cpu
    written = time.perf_counter()
    await async_wait_recording_done(hass)
    written = time.perf_counter() - written

    registry = er.async_get(hass)
    ids = [
        registry.async_get_entity_id("sensor", DOMAIN, f"12345678_{code}")
        for code in (ACTIVE_ENERGY_IMPORT, ACTIVE_ENERGY_EXPORT)
    ]
    end = history.hour_floor(dt_util.utcnow())
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        end - timedelta(days=DAYS, hours=1),
        end,
        {entity_id for entity_id in ids if entity_id},
        "hour",
        None,
        {"state", "sum"},
    )
    hours = {entity_id: len(rows) for entity_id, rows in found.items()}
    assert all(count >= DAYS * 24 for count in hours.values()), hours
    figures = {
        "days": DAYS,
        "rows_imported": imported,
        "catch_up_s": caught_up,
        "catch_up_loop_cpu_s": cpu,
        "import_calls_s": queued[0],
        "rows_queued": queued[1],
        "recorder_write_s": written,
        "hourly_rows_read_back": hours,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"\nHA backfill: {json.dumps(figures)}")
    if RESULTS:
        _keep(Path(RESULTS), figures)
    assert await hass.config_entries.async_unload(entry.entry_id)
