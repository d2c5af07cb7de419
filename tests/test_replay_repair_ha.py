"""A meter whose invocation counter restarted: every telegram is a replay until the user accepts it.

After a meter reset or a firmware update, a meter counts again from a lower invocation counter. The
replay protection then rejects every telegram, correctly, but the user must be told: the telegrams are
counted, the unavailable reason says "rejected as replays" (not "no telegram"), the diagnostics show
it, and a repair issue lets the user accept the new counter, after which the sensors come back. Real
parts: the simulator's encrypted telegrams on a TCP port on 127.0.0.1, Home Assistant's storage holding
the counter from before the reset, the repairs API over HTTP.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.coordinator import replay_issue_id
from custom_components.dlms_cosem.diagnostics import async_get_config_entry_diagnostics
from custom_components.dlms_cosem.dlms.security import decode_ciphered_apdu
from custom_components.dlms_cosem.link_state import LinkState
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

from .test_security_ha import (
    ENERGY,
    TITLE_HEX,
    Meter,
    allow_loopback,
    energy_shown,
    entry_for,
    framed,
    line,
    send,
)
from .waiting import wait_for

__all__ = ["allow_loopback"]  # the fixture, used by every test here (autouse)

#: The counter stored before the meter was reset: far above what it sends now.
STORED_COUNTER = 1_000_000


async def test_a_restarted_counter_ends_in_a_repair_that_brings_the_sensors_back(
    hass: HomeAssistant, hass_storage: dict[str, Any], hass_client: ClientSessionGenerator
) -> None:
    meter = Meter()
    apdus = [meter.next_apdu() for _ in range(6)]
    counters = [decode_ciphered_apdu(apdu).invocation_counter for apdu in apdus]
    assert max(counters) < STORED_COUNTER
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry = entry_for(port)
        hass_storage[f"{DOMAIN}.{entry.entry_id}"] = {
            "version": 1,
            "key": f"{DOMAIN}.{entry.entry_id}",
            "data": {"meters": {TITLE_HEX: STORED_COUNTER}},
        }
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        issues = ir.async_get(hass)

        # Telegrams keep arriving; every one is rejected as a replay.
        await send(chunks, hass, *(framed(apdu) for apdu in apdus[:4]))
        await wait_for(lambda: coordinator.link_statistics.replays == 4)
        assert energy_shown(coordinator) is None
        assert coordinator.link_state is LinkState.REPLAYED
        issue = issues.async_get_issue(DOMAIN, replay_issue_id(entry))
        assert issue is not None
        assert issue.translation_key == "replayed_telegrams"
        assert issue.is_fixable
        assert issue.translation_placeholders == {
            "meter": entry.title,
            "stored": str(STORED_COUNTER),
            "received": str(counters[3]),
            "count": "4",
        }

        # The unavailable reason says what happened, not "no telegram".
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
        await hass.async_block_till_done()
        assert not coordinator.last_update_success
        message = str(coordinator.last_exception)
        assert "rejected as replays" in message, message
        assert f"{counters[3]} is not above {STORED_COUNTER}" in message
        entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{TITLE_HEX}_{ENERGY}")
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == STATE_UNAVAILABLE

        diagnostics = await async_get_config_entry_diagnostics(hass, entry)  # type: ignore[arg-type]
        assert diagnostics["link_state"] == "replayed"
        assert diagnostics["link_statistics"]["replays"] == 4
        assert diagnostics["since_last_telegram"]["replays"] == 4
        assert diagnostics["since_last_telegram"]["received_counter"] == counters[3]

        # The user accepts the meter's new counter through the repair.
        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": replay_issue_id(entry)}
        )
        assert response.status == 200
        flow = await response.json()
        assert flow["step_id"] == "confirm"
        assert flow["description_placeholders"]["received"] == str(counters[3])
        response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
        assert (await response.json())["type"] == "create_entry"
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, replay_issue_id(entry)) is None

        # The next telegrams are taken: the sensors are back, and stay.
        await send(chunks, hass, framed(apdus[4]))
        await wait_for(lambda: energy_shown(coordinator) == meter.energy(apdus[4]))
        await send(chunks, hass, framed(apdus[5]))
        await wait_for(lambda: energy_shown(coordinator) == meter.energy(apdus[5]))
        assert coordinator.last_update_success
        assert coordinator.link_state is LinkState.OK
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state != STATE_UNAVAILABLE
        # The replay of an accepted telegram is still refused.
        await send(chunks, hass, framed(apdus[5]))
        await wait_for(lambda: coordinator.link_statistics.replays == 5)
        assert energy_shown(coordinator) == meter.energy(apdus[5])
        assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["meters"][TITLE_HEX]
    assert stored == counters[5]


async def test_garbage_is_not_reported_as_silence(hass: HomeAssistant) -> None:
    """Bytes that hold no telegram: the reason names the data, not a silent meter."""
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry = entry_for(port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        await send(chunks, hass, bytes(range(0x10, 0x60)) * 4)
        await wait_for(lambda: coordinator.since_last_telegram.bytes_received >= 320)
        assert coordinator.link_state is LinkState.NO_TELEGRAM
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
        await hass.async_block_till_done()
        message = str(coordinator.last_exception)
        assert "no telegram was found in it" in message, message
        assert await hass.config_entries.async_unload(entry.entry_id)
