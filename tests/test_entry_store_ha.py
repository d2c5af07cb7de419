"""Counters and baselines reach Home Assistant's storage while telegrams keep coming, not only at stop.

Home Assistant's delayed save moves a write to the latest delay asked for; an encrypted meter pushing
every few seconds asked again before each write was due, so its invocation counters were written only
when Home Assistant stopped, and a power cut lost them. Real parts: the simulator's encrypted telegrams
on 127.0.0.1, the harness's storage, its clock moved with ``async_fire_time_changed``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.dlms.security import decode_ciphered_apdu
from custom_components.dlms_cosem.entry_store import SAVE_DELAY
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

from .test_security_ha import TITLE_HEX, Meter, allow_loopback, energy_shown, entry_for, framed, line
from .waiting import wait_for

__all__ = ["allow_loopback"]  # the fixture, used by every test here (autouse)


async def test_counters_are_written_while_the_meter_keeps_pushing(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    meter = Meter()
    apdus = [meter.next_apdu() for _ in range(6)]
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry = entry_for(port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        key = f"{DOMAIN}.{entry.entry_id}"
        moved = timedelta()
        counters = [decode_ciphered_apdu(apdu).invocation_counter for apdu in apdus]
        written: list[int | None] = []
        # A telegram every half of the save delay: each one asks for a write again.
        for apdu in apdus:
            await chunks.put(framed(apdu))
            await wait_for(lambda apdu=apdu: energy_shown(coordinator) == meter.energy(apdu))
            moved += timedelta(seconds=SAVE_DELAY / 2)
            async_fire_time_changed(hass, dt_util.utcnow() + moved)
            await hass.async_block_till_done()
            stored = hass_storage.get(key, {}).get("data", {})
            written.append(stored.get("meters", {}).get(TITLE_HEX))
        # Written at least once per save delay, each time with the counter of the telegram then.
        assert written[1::2] == counters[1::2], written
        assert str(next(iter(stored["guard"]["totals"]))) == "1.0.1.8.0.255"
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass_storage[key]["data"]["meters"][TITLE_HEX] == counters[-1]
