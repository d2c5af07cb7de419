"""Totals keep their last value across a reload, and say so, until the meter sends them again.

Norwegian meters send their energy registers once an hour: without this, every restart or reload
(saving the options reloads) left the Energy panel's sensors blank for up to an hour. The meter is a
real capture served over TCP on 127.0.0.1, which the test silences and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from tests.tcp_meter import serving

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "public_vectors.json").read_text())
AIDON = next(vector for vector in VECTORS["push"] if vector["id"] == "aidon-se-ui")
ENERGY = "1.0.1.8.0.255"
POWER = "1.0.1.7.0.255"


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The meter is served on 127.0.0.1."""


class Meter:
    """What the served meter sends every 0.2 s; empty while it is silent."""

    def __init__(self) -> None:
        self.telegram = bytes.fromhex("".join(AIDON["frames"]))
        self.silent = False


@contextlib.asynccontextmanager
async def serve(meter: Meter) -> AsyncIterator[int]:
    async def pushing(writer: asyncio.StreamWriter) -> None:
        while True:
            if not meter.silent:
                writer.write(meter.telegram)
                await writer.drain()
            await asyncio.sleep(0.2)

    async with serving(pushing) as port:
        yield port


async def _until(hass: HomeAssistant, check: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not check():
            await hass.async_block_till_done()
            await asyncio.sleep(0.05)


async def test_an_energy_total_survives_a_reload_marked_as_restored(hass: HomeAssistant) -> None:
    meter = Meter()
    async with serve(meter) as port:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="aidon",
            data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
            options={CONF_OBJECTS: [ENERGY, POWER], CONF_PUSH_TIMEOUT: 30},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        registry = er.async_get(hass)
        energy_id = registry.async_get_entity_id("sensor", DOMAIN, f"aidon_{ENERGY}")
        power_id = registry.async_get_entity_id("sensor", DOMAIN, f"aidon_{POWER}")
        assert energy_id is not None
        assert power_id is not None

        def state(entity_id: str) -> State:
            found = hass.states.get(entity_id)
            assert found is not None
            return found

        await _until(hass, lambda: state(energy_id).state not in ("unknown", "unavailable"))
        fresh = state(energy_id)
        assert float(fresh.state) == pytest.approx(10049.926)  # 10 049 926 Wh, shown in kWh
        assert "value_restored" not in fresh.attributes

        # The meter falls silent (its energy comes once an hour), and the options are saved: a reload.
        meter.silent = True
        await asyncio.sleep(0.4)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        restored = state(energy_id)
        assert restored.state == fresh.state
        assert restored.attributes["value_restored"] is True
        assert restored.attributes["read_at"] is not None
        assert restored.attributes["unit_of_measurement"] == "kWh"
        # Power is no total: it waits for the meter.
        assert state(power_id).state == "unavailable"

        # The meter speaks again: its own value, no longer marked.
        meter.silent = False
        await _until(hass, lambda: "value_restored" not in state(energy_id).attributes)
        assert float(state(energy_id).state) == pytest.approx(10049.926)
        assert state(power_id).state != "unavailable"
        assert await hass.config_entries.async_unload(entry.entry_id)
