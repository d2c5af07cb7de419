"""Soak: the poll coordinator in Home Assistant against the simulator for hours of simulated time.

The meter is on a real pty (HDLC, LLS), its clock stepped one scan interval per poll; Home Assistant's
poll timer is fired by the harness's time travel (``async_fire_time_changed``), so 2 simulated hours
take seconds (CI) and ``scripts/soak`` runs 24 (``DLMS_SOAK_HOURS``). Outages are part of it: the
meter goes silent, or the cable is pulled and plugged back (a new pty behind the same path).

Measured between polls: traced Python memory (tracemalloc), resident set size, asyncio tasks, open
file descriptors; after a warm-up none may grow beyond a small bound. Each outage logs one error and
one recovery; nothing else is logged at warning or above. Every value shown is the meter's for the
poll's instant.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import tracemalloc
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.components.sensor import UNIT_CONVERTERS, SensorDeviceClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dlms_cosem.const import CONF_AUTHENTICATION, CONF_PASSWORD, DOMAIN
from custom_components.dlms_cosem.dlms.simulator.campaign import SteppedClock, expected_value
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import SimulatorServer

from . import pty_meter
from .pty_meter import (
    SCAN,
    WANTED,
    lls_security,
    plug_pty,
    quick_link,  # noqa: F401  (autouse)
    serial_entry,
)

HOURS = float(os.environ.get("DLMS_SOAK_HOURS", "2"))
PASSWORD = "So4kPass"
WARM_UP = timedelta(minutes=30)
SAMPLE_EVERY = timedelta(minutes=10)
OUTAGE_EVERY = timedelta(minutes=float(os.environ.get("DLMS_SOAK_OUTAGE_MINUTES", "45")))
OUTAGE_POLLS = 4
#: Traced memory may grow this much after the warm-up (bytes): what a leak of one object per poll
#: would exceed within hours, with room for caches that fill once and sampling noise.
MEMORY_BOUND = 256 * 1024


@pytest.fixture(autouse=True)
def enable_event_loop_debug() -> None:
    """Run the loop as Home Assistant does outside tests, without asyncio's debug mode.

    The harness turns it on for every test; it records the stack each future and timer handle was
    created from, which swings the traced memory by hundreds of KiB depending on what is pending
    at the moment of a sample.
    """


#: Allocations made by the test harness, not by Home Assistant or the integration: pytest's output and
#: log capture, the harness's time-travel mocks, and linecache (filled once when a traceback is shown).
HARNESS = (
    tracemalloc.Filter(False, "*/_pytest/*"),
    tracemalloc.Filter(False, "*/pytest_homeassistant_custom_component/*"),
    tracemalloc.Filter(False, "*/unittest/mock.py"),
    tracemalloc.Filter(False, "*/logging/__init__.py"),
    tracemalloc.Filter(False, "*/linecache.py"),
    tracemalloc.Filter(False, "*/tracemalloc.py"),
    tracemalloc.Filter(False, __file__),
    tracemalloc.Filter(False, pty_meter.__file__),  # the meter plumbing this module shares
)


def traced_outside_harness() -> int:
    """Bytes traced now, less what the harness allocated (by the innermost frame of each block)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(HARNESS)
    return sum(stat.size for stat in snapshot.statistics("filename"))


@dataclass(frozen=True)
class Sample:
    minutes: int
    traced: int
    """Traced bytes outside the harness."""
    traced_all: int
    """Every traced byte, the harness's included."""
    rss: int
    tasks: int
    fds: int


def resident_set_size() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Meter:
    """The simulated meter on a pty behind a stable path; unplug and plug it like a USB cable."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.clock = SteppedClock()
        self.meter = SimulatedMeter(self.clock, security=lls_security(PASSWORD))
        self.faults = FaultInjector(seed=3)
        self.server: SimulatorServer | None = None

    async def plug(self) -> None:
        self.server = await plug_pty(self.meter, self.faults, self.link)

    async def unplug(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None
        self.link.unlink(missing_ok=True)


def drop_captured_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Forget the records pytest keeps (caplog's, and the report's "captured log" section).

    "Error fetching ..." holds its exception (traceback, frames and their locals) in its arguments:
    kept by pytest, one per outage, it would look like memory the integration keeps.
    """
    caplog.clear()
    plugin = caplog._item.config.pluginmanager.get_plugin("logging-plugin")
    if plugin is not None:
        plugin.report_handler.reset()


def entry_for(link: Path) -> MockConfigEntry:
    credentials = {CONF_AUTHENTICATION: "lls", CONF_PASSWORD: PASSWORD}
    return serial_entry(link, title="Soak meter", credentials=credentials)


def shown_values(hass: HomeAssistant, entry: MockConfigEntry, meter: SimulatedMeter) -> tuple[int, int]:
    """(values shown, wrong values) for the entry's sensors against the meter now."""
    registry = er.async_get(hass)
    shown = wrong = 0
    for obis in WANTED:
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{obis}")
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        if state.state == STATE_UNAVAILABLE:
            continue
        shown += 1
        _, expected = expected_value(meter, obis)
        assert isinstance(expected, int | float)
        reading = entry.runtime_data.coordinator.data.readings[obis]
        unit = state.attributes.get("unit_of_measurement")
        if unit != reading.unit:
            converter = UNIT_CONVERTERS[SensorDeviceClass(state.attributes["device_class"])]
            expected = converter.convert(float(expected), reading.unit, unit)
        if reading.value != expected_value(meter, obis)[1] or float(state.state) != pytest.approx(expected):
            wrong += 1
    return shown, wrong


@pytest.mark.timeout(max(120, int(HOURS * 90)))
async def test_soak(hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # what a user's log shows; counted and dropped after every poll
    meter = Meter(tmp_path / "meter-by-id")
    await meter.plug()
    entry = entry_for(meter.link)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    caplog.clear()

    polls = int(timedelta(hours=HOURS) / SCAN)
    every_outage = int(OUTAGE_EVERY / SCAN)
    every_sample = int(SAMPLE_EVERY / SCAN)
    samples: list[Sample] = []
    outages = values_shown = wrong_values = failed_polls = failed_outside_outages = 0
    outage_logs: list[tuple[int, int]] = []  # (errors, recoveries) per outage
    outage_records: list[logging.LogRecord] = []
    ours_warned = 0  # records of the integration at warning or above
    tracemalloc.start()
    started = time.monotonic()
    outage_ends = -1
    try:
        for poll in range(1, polls + 1):
            if poll % every_outage == 0:
                outages += 1
                outage_records = []
                if outages % 2:
                    meter.faults.stop_answering()
                else:
                    await meter.unplug()
                outage_ends = poll + OUTAGE_POLLS
            if poll == outage_ends:
                if meter.faults.silent:
                    meter.faults.resume()
                else:
                    await meter.plug()
            meter.clock.step(SCAN)
            async_fire_time_changed(hass, dt_util.utcnow() + SCAN)
            await hass.async_block_till_done(wait_background_tasks=True)
            records = [r for r in caplog.records if r.name.startswith("custom_components")]
            drop_captured_logs(caplog)
            outage_records += records
            ours_warned += sum(r.levelno >= logging.WARNING for r in records)
            shown, wrong = shown_values(hass, entry, meter.meter)
            values_shown += shown
            wrong_values += wrong
            in_outage = outage_ends - OUTAGE_POLLS <= poll < outage_ends
            if shown < len(WANTED):
                failed_polls += 1
                failed_outside_outages += not in_outage
            if poll == outage_ends:
                assert shown == len(WANTED), "back at the first poll after the outage"
                outage_logs.append(
                    (
                        sum(r.levelno >= logging.ERROR for r in outage_records),
                        sum("recovered" in r.getMessage() for r in outage_records),
                    )
                )
                outage_records = []
            if poll % every_sample == 0 and not in_outage:
                await asyncio.sleep(0)
                samples.append(
                    Sample(
                        minutes=int(poll * SCAN.total_seconds() / 60),
                        traced=traced_outside_harness(),
                        traced_all=tracemalloc.get_traced_memory()[0],
                        rss=resident_set_size(),
                        tasks=len(asyncio.all_tasks()),
                        fds=open_fds(),
                    )
                )
    finally:
        tracemalloc.stop()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await meter.unplug()
    elapsed = time.monotonic() - started

    after = [s for s in samples if s.minutes * 60 >= WARM_UP.total_seconds()]
    base, last = after[0], after[-1]
    print(f"\nSoak: {HOURS:g} simulated hours, {polls} polls every {SCAN.seconds} s, {elapsed:.0f} s real")
    print(f"  outages: {outages} (silent meter, cable pulled), {OUTAGE_POLLS} polls each")
    print(f"  failed polls: {failed_polls} (outside outages: {failed_outside_outages})")
    print(f"  values shown: {values_shown}, wrong: {wrong_values}")
    print(f"  log lines per outage (errors, recoveries): {sorted(set(outage_logs))}")
    print("  minute  traced KiB (harness excluded)  traced KiB (all)  RSS MiB  tasks  fds")
    step = max(1, len(samples) // 24)
    for sample in [*samples[::step], samples[-1]] if samples[-1] not in samples[::step] else samples[::step]:
        print(
            f"  {sample.minutes:6d}  {sample.traced / 1024:29.0f}  {sample.traced_all / 1024:16.0f}  "
            f"{sample.rss / 2**20:7.1f}  {sample.tasks:5d}  {sample.fds:3d}"
        )
    peak = max(s.traced for s in after)
    print(
        f"  after the warm-up ({WARM_UP.seconds // 60} min): traced memory outside the harness "
        f"{(last.traced - base.traced) / 1024:+.0f} KiB (peak {(peak - base.traced) / 1024:+.0f} KiB), "
        f"all traced {(last.traced_all - base.traced_all) / 1024:+.0f} KiB, "
        f"RSS {(last.rss - base.rss) / 2**20:+.1f} MiB, tasks {last.tasks - base.tasks:+d}, "
        f"fds {last.fds - base.fds:+d}"
    )

    assert wrong_values == 0
    assert outages == polls // every_outage
    assert failed_outside_outages == 0, "only polls inside outages fail"
    assert (failed_polls > 0) == (outages > 0)
    assert failed_polls <= outages * OUTAGE_POLLS
    assert all(log == (1, 1) for log in outage_logs), outage_logs
    assert ours_warned == outages, "one error per outage, nothing else"
    assert max(s.tasks for s in after) == min(s.tasks for s in after) == base.tasks
    assert max(s.fds for s in after) == min(s.fds for s in after) == base.fds
    assert max(s.traced for s in after) - base.traced < MEMORY_BOUND
