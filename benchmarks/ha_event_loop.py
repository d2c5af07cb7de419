"""Event-loop time per pushed telegram inside Home Assistant (run by ``scripts/bench``, not by the suite).

A pytest module (it needs the test harness's Home Assistant): a push entry is set up against a real TCP
port that serves the simulator's first telegram, so the entities exist as they would for a user. Then
each of the next telegrams (the simulated meter's clock 10 s further each time, so every value
changes, as on a real line) goes through what the listener does when bytes arrive: the decoder, the
replay guard, the coordinator's handler, which writes every entity's state (update limit off: every
telegram is written; ``ha_compare.py`` measures the defaults). asyncio's debug mode, which the harness
turns on, is turned off, as Home Assistant runs. All of it runs
synchronously in the event loop; the figure is its wall time per telegram (min and median), and the
loop thread's CPU time per telegram including the callbacks it schedules (``time.thread_time`` over
the batch, ``hass.async_block_till_done`` between telegrams).

    scripts/run python -m pytest -p no:cacheprovider -q -s benchmarks/ha_event_loop.py
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.dlms_cosem  # noqa: F401 - before the harness's own custom_components
from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_POWER_IMPORT,
    CLOCK,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import (
    DEFAULT_PUSH_OBJECTS,
    PushBuilder,
    PushFraming,
    PushSettings,
)
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

TELEGRAMS = 400
KEY = bytes(range(16))
STEP = timedelta(seconds=10)


@pytest.fixture(autouse=True)
def _integrations(enable_custom_integrations: None, socket_enabled: None) -> None:
    """Load the integration from this repository; the telegram is served on 127.0.0.1."""


@contextlib.asynccontextmanager
async def _serve_once(stream: bytes) -> AsyncIterator[int]:
    async def pushing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(stream)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            await reader.read()  # until the integration hangs up
        writer.close()

    server = await asyncio.start_server(pushing, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()


def _telegrams(security: int | None) -> list[bytes]:
    instant = [datetime(2026, 6, 1, 12, tzinfo=UTC)]
    keys = SecurityKeys(encryption_key=KEY, authentication_key=KEY) if security else SecurityKeys()
    meter = SimulatedMeter(lambda: instant[0], security=MeterSecurity(keys=keys))
    builder = PushBuilder(meter, PushSettings(framing=PushFraming.HDLC, security=security))
    blobs = []
    for _ in range(TELEGRAMS + 1):
        blobs.append(b"".join(builder.frames()))
        instant[0] += STEP
    return blobs


@pytest.mark.parametrize(("label", "security"), [("plain", None), ("encrypted+authenticated", 0x30)])
async def test_event_loop_time_per_telegram(hass: HomeAssistant, label: str, security: int | None) -> None:
    """Print the figures (and check every telegram reached the entities)."""
    blobs = _telegrams(security)
    # Home Assistant runs without asyncio's debug mode; the harness turns it on (a stack trace taken
    # at every callback and future), which would be most of what is measured.
    asyncio.get_running_loop().set_debug(False)
    async with _serve_once(blobs[0]) as port:
        data: dict[str, Any] = {CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port}
        if security:
            data[CONF_ENCRYPTION_KEY] = KEY.hex()
        objects = [str(code) for code in DEFAULT_PUSH_OBJECTS if code != CLOCK]
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="bench",
            data=data,
            unique_id=f"bench-{label}",
            options={CONF_OBJECTS: objects, CONF_UPDATE_INTERVAL: 0},  # every telegram written
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        async with asyncio.timeout(10):
            while not coordinator.data.readings:  # noqa: ASYNC110 - the first telegram's arrival
                await asyncio.sleep(0.05)
        await hass.async_block_till_done()
        listener = coordinator.listener
        assert listener is not None
        entities = len(hass.states.async_entity_ids("sensor"))
        walls: list[float] = []
        cpu_started = time.thread_time()
        for blob in blobs[1:]:
            started = time.perf_counter()
            coordinator._keep_raw(blob)  # what the listener does per read
            for event in listener._settle(listener.decoder.feed(blob)):
                coordinator._handle(event)
            walls.append(time.perf_counter() - started)
            await hass.async_block_till_done()
        cpu = (time.thread_time() - cpu_started) / TELEGRAMS
        assert listener.decoder.statistics.failures == 0
        power = er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"bench-{label}_{ACTIVE_POWER_IMPORT}"
        )
        assert power is not None
        state = hass.states.get(power)
        assert state is not None
        expected = coordinator.data.readings[ACTIVE_POWER_IMPORT].value
        assert isinstance(expected, int | float)
        assert float(state.state) == pytest.approx(expected)
        assert entities >= len(objects)
        print(
            f"\nHA event loop, {label} HDLC push telegram ({entities} sensor entities, "
            f"{TELEGRAMS} telegrams, "
            f"every value changing): decode + coordinator + state writes "
            f"min {min(walls) * 1e6:.0f} us, median {statistics.median(walls) * 1e6:.0f} us; "
            f"loop thread CPU per telegram incl. scheduled callbacks {cpu * 1e6:.0f} us"
        )
        assert await hass.config_entries.async_unload(entry.entry_id)
