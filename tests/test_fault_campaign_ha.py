"""Fault scenarios through Home Assistant's poll coordinator, the meter on a real pty (HDLC).

Each scenario polls (Home Assistant's timer, fired by the harness's time travel), applies a fault,
polls through it, ends it, and checks that one poll interval later every sensor shows the meter's
value for that instant again. After every poll, whatever the coordinator publishes is compared with
what the simulated meter computes for the poll's instant (its clock is stepped, one scan interval per
poll): a value is right or absent, never wrong. Errors are logged once per outage. The recovery
figures are printed (``scripts/faults`` runs these with ``-s``).

The meter's pty is reached through a symlink, as ``/dev/serial/by-id/...`` is: pulling the cable
closes the pty, plugging it back creates a new one behind the same path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.sensor import UNIT_CONVERTERS, SensorDeviceClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION,
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_PASSWORD,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.campaign import SteppedClock, expected_value
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import SimulatorServer
from custom_components.dlms_cosem.models import MeterReading
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

from .pty_meter import (
    SCAN,
    WANTED,
    lls_security,
    plug_pty,
    quick_link,  # noqa: F401  (autouse)
    serial_entry,
)

PASSWORD = "Fault5Pw"
KEY_HEX = "000102030405060708090A0B0C0D0E0F"
AUTH_KEY_HEX = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


@dataclass
class Bench:
    """The meter on its pty behind a stable path, and the entry polling it."""

    hass: HomeAssistant
    link: Path
    clock: SteppedClock
    meter: SimulatedMeter
    faults: FaultInjector
    server: SimulatorServer
    entry: MockConfigEntry | None = None
    polls: int = 0
    values_published: int = 0
    wrong_values: int = 0
    servers: list[SimulatorServer] = field(default_factory=list)

    async def plug(self) -> None:
        """A new pty for the meter, behind the same path (the cable plugged back)."""
        server = await plug_pty(self.meter, self.faults, self.link)
        self.servers.append(server)
        self.server = server

    async def unplug(self) -> None:
        """The cable pulled: the pty goes away and the path with it."""
        await self.server.close()
        self.link.unlink(missing_ok=True)

    @property
    def coordinator(self) -> DlmsPollCoordinator:
        assert self.entry is not None
        found = self.entry.runtime_data.coordinator
        assert isinstance(found, DlmsPollCoordinator)
        return found

    def state(self, obis: ObisCode) -> State:
        assert self.entry is not None
        entity_id = er.async_get(self.hass).async_get_entity_id(
            "sensor", DOMAIN, f"{self.entry.unique_id}_{obis}"
        )
        assert entity_id is not None, obis
        found = self.hass.states.get(entity_id)
        assert found is not None
        return found

    def check(self) -> bool:
        """Count what the entities show now against the meter; True when every value is shown."""
        shown = 0
        for obis in WANTED:
            state = self.state(obis)
            if state.state == STATE_UNAVAILABLE:
                continue
            shown += 1
            self.values_published += 1
            _, scaled = expected_value(self.meter, obis)
            reading = self.coordinator.data.readings[obis]
            if reading.value != scaled or float(state.state) != pytest.approx(shown_as(state, reading)):
                self.wrong_values += 1
                print(
                    f"wrong value for {obis}: shows {state.state} ({reading.value!r}), meter says {scaled!r}"
                )
        return shown == len(WANTED)

    async def poll(self) -> bool:
        """One scan interval passes (meter and Home Assistant): the coordinator polls; check it."""
        self.clock.step(SCAN)
        self.polls += 1
        async_fire_time_changed(self.hass, dt_util.utcnow() + SCAN)
        await self.hass.async_block_till_done(wait_background_tasks=True)
        return self.check()


def shown_as(state: State, reading: MeterReading) -> float:
    """The reading in the unit the entity shows (energy in kWh, read in Wh)."""
    assert isinstance(reading.value, int | float)
    shown_unit = state.attributes.get("unit_of_measurement")
    if shown_unit == reading.unit:
        return float(reading.value)
    converter = UNIT_CONVERTERS[SensorDeviceClass(state.attributes["device_class"])]
    return converter.convert(float(reading.value), reading.unit, shown_unit)


def poll_entry(link: Path, *, ciphered: bool = False) -> MockConfigEntry:
    credentials: dict[str, Any]
    if ciphered:
        credentials = {
            CONF_AUTHENTICATION: "hls_gmac",
            CONF_ENCRYPTION_KEY: KEY_HEX,
            CONF_AUTHENTICATION_KEY: AUTH_KEY_HEX,
        }
    else:
        credentials = {CONF_AUTHENTICATION: "lls", CONF_PASSWORD: PASSWORD}
    return serial_entry(link, title="Faulty meter", credentials=credentials)


def meter_security(ciphered: bool) -> MeterSecurity:
    if ciphered:
        keys = SecurityKeys(bytes.fromhex(KEY_HEX), bytes.fromhex(AUTH_KEY_HEX))
        return MeterSecurity(authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=keys)
    return lls_security(PASSWORD)


async def make_bench(hass: HomeAssistant, tmp_path: Path, *, ciphered: bool = False) -> Bench:
    clock = SteppedClock()
    meter = SimulatedMeter(clock, security=meter_security(ciphered))
    faults = FaultInjector(seed=11, reset_frame_counters=True)
    link = tmp_path / "meter-by-id"
    bench = Bench(hass, link, clock, meter, faults, server=None)  # type: ignore[arg-type]
    await bench.plug()
    bench.entry = poll_entry(link, ciphered=ciphered)
    bench.entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(bench.entry.entry_id)
    await hass.async_block_till_done()
    assert bench.entry.state is ConfigEntryState.LOADED
    assert bench.check(), "all values shown after setup"
    return bench


@pytest.fixture
async def bench(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[Bench]:
    made = await make_bench(hass, tmp_path)
    yield made
    await close_bench(made)


async def close_bench(bench: Bench) -> None:
    if bench.entry is not None and bench.entry.state is ConfigEntryState.LOADED:
        assert await bench.hass.config_entries.async_unload(bench.entry.entry_id)
    for server in bench.servers:
        await server.close()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def run_outage(
    bench: Bench,
    caplog: pytest.LogCaptureFixture,
    name: str,
    start: Callable[[], Any],
    end: Callable[[], Any],
    *,
    outage_polls: int = 3,
) -> None:
    """Fault for ``outage_polls`` polls, then one poll interval to recover; print the figures."""
    assert await bench.poll(), "values shown before the fault"
    caplog.clear()
    await _call(start)
    for _ in range(outage_polls):
        assert not await bench.poll(), "the sensors go unavailable while the fault lasts"
    lost = [message for message in errors_logged(caplog) if "Error fetching" in message]
    assert len(lost) == 1, f"the outage is logged once: {errors_logged(caplog)}"
    await _call(end)
    ended = time.monotonic()
    assert await bench.poll(), "one poll interval after the fault ends, every value is back"
    recovered = time.monotonic() - ended
    assert sum("recovered" in r.getMessage() for r in caplog.records) == 1
    assert len(errors_logged(caplog)) == 1, errors_logged(caplog)
    assert bench.wrong_values == 0
    print(
        f"\n{name}: {bench.polls} polls, {bench.values_published} values published, "
        f"{bench.wrong_values} wrong; recovered at the first poll after the fault "
        f"(1 poll interval, {recovered * 1000:.0f} ms of poll)"
    )


async def _call(action: Callable[[], Any]) -> None:
    result = action()
    if hasattr(result, "__await__"):
        await result


async def test_silent_meter(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    await run_outage(bench, caplog, "meter silent", bench.faults.stop_answering, bench.faults.resume)


async def test_pty_closed_and_recreated(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    await run_outage(bench, caplog, "pty closed and recreated", bench.unplug, bench.plug)


async def test_association_dropped_costs_no_poll(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    """The meter forgets the association: the client associates again within the same poll."""
    assert await bench.poll()
    caplog.clear()
    for _ in range(3):
        bench.faults.drop_association()
        assert await bench.poll(), "values shown: the poll itself re-associated"
    assert errors_logged(caplog) == []
    assert bench.wrong_values == 0
    print(
        f"\nassociation dropped (3 times): {bench.polls} polls, {bench.values_published} values "
        f"published, {bench.wrong_values} wrong; no poll lost"
    )


@pytest.mark.parametrize("ciphered", [False, True], ids=["lls", "hls-gmac-ciphered"])
async def test_meter_reboot_with_counters_reset(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture, ciphered: bool
) -> None:
    bench = await make_bench(hass, tmp_path, ciphered=ciphered)
    try:
        for _ in range(3):
            assert await bench.poll()
        security = bench.meter.security
        assert security.server_invocation_counter > 0 or not ciphered

        def reboot() -> None:
            bench.faults.reboot()
            bench.faults.stop_answering()  # and it stays down for the outage polls

        def back() -> None:
            bench.faults.resume()

        await run_outage(
            bench, caplog, f"meter reboot, counters reset ({'ciphered' if ciphered else 'lls'})", reboot, back
        )
        if ciphered:
            assert security.server_invocation_counter < 20, "the meter counts from zero again"
        for _ in range(3):
            assert await bench.poll()
        assert bench.wrong_values == 0
    finally:
        await close_bench(bench)


async def test_home_assistant_restarted_mid_stream(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture, hass_storage: dict[str, Any]
) -> None:
    """Home Assistant stops while a poll is on the line and starts again: values and counters go on."""
    bench = await make_bench(hass, tmp_path, ciphered=True)
    try:
        assert await bench.poll()
        assert bench.entry is not None
        counter_before = bench.coordinator.link_statistics.invocation_counter
        # The poll timer fires and Home Assistant stops before the poll's answer has been read.
        bench.clock.step(SCAN)
        async_fire_time_changed(hass, dt_util.utcnow() + SCAN)
        assert await hass.config_entries.async_unload(bench.entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert bench.entry.state is ConfigEntryState.NOT_LOADED
        stored = hass_storage[f"{DOMAIN}.{bench.entry.entry_id}"]["data"]["client"]
        assert stored >= counter_before
        caplog.clear()
        started = time.monotonic()
        assert await hass.config_entries.async_setup(bench.entry.entry_id)
        await hass.async_block_till_done()
        restarted = time.monotonic() - started
        assert bench.check(), "values back with the first refresh after the restart"
        assert bench.coordinator.link_statistics.invocation_counter > stored
        for _ in range(2):
            assert await bench.poll()
        assert errors_logged(caplog) == []
        assert bench.wrong_values == 0
        print(
            f"\nHome Assistant restarted mid-poll: {bench.polls} polls, {bench.values_published} values "
            f"published, {bench.wrong_values} wrong; values back with the setup's first refresh "
            f"({restarted * 1000:.0f} ms)"
        )
    finally:
        await close_bench(bench)
