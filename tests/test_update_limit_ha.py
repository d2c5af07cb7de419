"""A pushing meter's sensors write within the update limit, in a real Home Assistant over TCP.

A Norwegian Kaifa list 2 every 0.1 s (power alternating 1000 and 1100 W, then a kettle's step); with a
limit of one second the power writes a mean about once a second, and the step at once; without a limit
every telegram is written.
"""

from __future__ import annotations

import asyncio

import pytest
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from scripts.norwegian_meter import KaifaMeter, frames
from tests.tcp_meter import serving

POWER = "1.0.1.7.0.255"
VOLTAGE = "1.0.32.7.0.255"
TELEGRAMS = 30
EVERY = 0.1


class SteppingKaifa(KaifaMeter):
    """Power alternates 1000 and 1100 W, then a kettle adds 2 kW."""

    def __init__(self) -> None:
        super().__init__()
        self.values = [1000 + 100 * (index % 2) for index in range(TELEGRAMS)] + [3100] * 5
        self.index = 0

    def power(self) -> int:
        return self.values[min(self.index, len(self.values) - 1)]


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The meter is served on 127.0.0.1."""


async def _written(hass: HomeAssistant, interval: int) -> tuple[dict[str, list[str]], SteppingKaifa]:
    meter = SteppingKaifa()
    started = asyncio.Event()

    async def send(writer: asyncio.StreamWriter) -> None:
        await started.wait()
        for index in range(len(meter.values)):
            meter.index = index
            writer.write(frames(meter.list_2()))
            await writer.drain()
            await asyncio.sleep(EVERY)
        await asyncio.sleep(3600)

    async with serving(send) as port:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="7340157011274532",
            data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
            options={CONF_OBJECTS: [POWER, VOLTAGE], CONF_PUSH_TIMEOUT: 60, CONF_UPDATE_INTERVAL: interval},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        registry = er.async_get(hass)
        ids = {
            key: registry.async_get_entity_id("sensor", DOMAIN, f"7340157011274532_{key}")
            for key in (POWER, VOLTAGE)
        }
        written: dict[str, list[str]] = {POWER: [], VOLTAGE: []}
        by_entity = {entity_id: key for key, entity_id in ids.items()}

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and new.state not in ("unknown", "unavailable"):
                written[by_entity[event.data["entity_id"]]].append(new.state)

        unsubscribe = async_track_state_change_event(hass, [i for i in ids.values() if i], changed)
        started.set()
        await asyncio.sleep(EVERY * len(meter.values) + 0.5)
        await hass.async_block_till_done()
        unsubscribe()
        assert await hass.config_entries.async_unload(entry.entry_id)
    return written, meter


async def test_the_limit_writes_means_about_once_an_interval_and_steps_at_once(hass: HomeAssistant) -> None:
    written, _meter = await _written(hass, interval=1)
    power = [float(state) for state in written[POWER]]
    # 3.5 s of telegrams every 0.1 s: the first, a mean about every second, and the kettle: not 35.
    assert 3 <= len(power) <= 7, power
    assert power[0] in (1000.0, 1100.0)
    means = power[1:-1]
    assert means, power
    assert all(1000 <= value <= 1100 for value in means), power
    assert any(value not in (1000.0, 1100.0) for value in means), power  # a mean, not a sample
    assert power[-1] == 3100.0  # the step, at once
    assert written[VOLTAGE] == ["228.3"]  # unchanged: written once


async def test_without_a_limit_every_telegram_is_written(hass: HomeAssistant) -> None:
    written, _meter = await _written(hass, interval=0)
    # Every change of power is a state: 30 alternations and the step.
    assert len(written[POWER]) >= TELEGRAMS
    assert written[POWER][-1] == "3100"
