"""The push coordinator in Home Assistant under the torture line: a real pty, garbage, split telegrams.

The meter pushes authenticated and encrypted HDLC telegrams to the pty the entry listens on; the
writer splits them in random chunks, puts garbage between them and now and then pulls the cable half
way through a telegram (a new pty behind the same path). After each intact telegram the sensors show
that telegram's values (the meter's for its instant), never a cut telegram's; each pulled cable is
logged once, as is its return.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.simulator.campaign import SteppedClock, expected_value
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_IMPORT,
    VOLTAGES,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import PushBuilder, PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.simulator.torture import KEYS, PtyLine
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

WANTED = (ACTIVE_ENERGY_IMPORT, ACTIVE_POWER_IMPORT, VOLTAGES[0])
TELEGRAMS = 40


async def wait_until(condition: object, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)


async def test_push_coordinator_under_the_torture_line(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(21)
    clock = SteppedClock()
    meter = SimulatedMeter(clock, security=MeterSecurity(keys=KEYS))
    builder = PushBuilder(meter, PushSettings(framing=PushFraming.HDLC, security=0x30))
    line = PtyLine(tmp_path / "meter-by-id")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Pushing meter",
        unique_id="53494D0000000001",
        data={
            CONF_CONNECTION_TYPE: "serial_push",
            CONF_PORT: str(line.link),
            CONF_ENCRYPTION_KEY: KEYS.encryption_key.hex().upper() if KEYS.encryption_key else "",
            CONF_AUTHENTICATION_KEY: KEYS.authentication_key.hex().upper() if KEYS.authentication_key else "",
        },
        options={CONF_OBJECTS: [str(obis) for obis in WANTED], CONF_PUSH_TIMEOUT: 60},
    )
    try:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        assert coordinator.listener is not None
        listener = coordinator.listener
        await wait_until(lambda: coordinator._connected)
        registry = er.async_get(hass)
        caplog.clear()
        intact = cut = 0
        for _ in range(TELEGRAMS):
            clock.step()
            telegram = builder.telegram()
            counter = meter.security.server_invocation_counter
            await line.write(rng.randbytes(rng.randint(0, 30)))
            if rng.random() < 0.08:
                await line.write(telegram[: rng.randrange(1, len(telegram))])
                line.replug()
                cut += 1
                await wait_until(lambda: coordinator._connected is False)
                await wait_until(lambda: coordinator._connected)
                continue
            split = sorted(rng.sample(range(1, len(telegram)), 2))
            for start, end in zip([0, *split], [*split, len(telegram)], strict=True):
                await line.write(telegram[start:end])
                await asyncio.sleep(rng.uniform(0, 0.02))
            intact += 1
            await wait_until(lambda: coordinator.link_statistics.invocation_counter == counter)  # noqa: B023
            await hass.async_block_till_done()
            for obis in WANTED:
                _, expected = expected_value(meter, obis)
                assert coordinator.data.readings[obis].value == expected
                entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{obis}")
                assert entity_id is not None
                state = hass.states.get(entity_id)
                assert state is not None
                assert state.state != "unavailable"
        assert cut > 0
        assert intact + cut == TELEGRAMS
        assert listener.decoder.statistics.telegrams == intact, "only intact telegrams were decoded"
        ours = [
            r for r in caplog.records if r.name.startswith("custom_components") and r.levelno >= logging.INFO
        ]
        lost = [r for r in ours if r.levelno >= logging.WARNING]
        back = [r for r in ours if "is back" in r.getMessage()]
        assert len(lost) == cut, [r.getMessage() for r in lost]
        assert len(back) == cut
        print(
            f"\npush coordinator torture: {TELEGRAMS} telegrams, {intact} intact all shown, {cut} cut by a "
            f"pulled cable (none shown), {len(lost)} warnings logged"
        )
    finally:
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
        line.close()
