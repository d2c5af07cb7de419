"""The spliced streams of issue 19, as they reach a push port, in Home Assistant: nothing is shown.

Telegram 1's first frame arrives, the rest of it is lost; after a silence, telegram 2's frames 2 and 3
arrive (every frame with a valid check). Joined, they would show telegram 2's energy stamped with
telegram 1's time; the integration shows nothing and counts the cut telegram.
"""

from __future__ import annotations

import asyncio

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.listener import cut_after
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

from .test_security_ha import allow_loopback, line
from .waiting import wait_for

__all__ = ["allow_loopback"]  # the fixture, used by every test here (autouse)

HDLC_FIRST = bytes.fromhex(
    "7ea832210223135d99e6e7000f000000010c07ea03010701000000ffc4000103020209060000010000ff090c07ea030107519e7e"
)
HDLC_LATER = bytes.fromhex(
    "7ea832210223135d9901010e00ffc400020309060100010800ff06022fea5402020f00161e020309060100010700ff06001abb7e"
    "7ea01321022313d0d30002e302020f00161b794d7e"
)
MBUS_FIRST = bytes.fromhex(
    "682d2d6853ff0001670f000000010c07ea03010701000000ffc4000103020209060000010000ff090c07ea030107010000bf16"
)
MBUS_LATER = bytes.fromhex(
    "682d2d6853ff01016700ffc400020309060100010800ff06022fea5402020f00161e020309060100010700ff06000002e35e16"
    "680b0b6853ff12016702020f00161b1016"
)


@pytest.mark.parametrize(
    ("first", "later"), [(HDLC_FIRST, HDLC_LATER), (MBUS_FIRST, MBUS_LATER)], ids=["hdlc", "mbus"]
)
async def test_frames_of_two_telegrams_never_make_one(
    hass: HomeAssistant, first: bytes, later: bytes
) -> None:
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Spliced meter",
            data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
            options={CONF_OBJECTS: ["1.0.1.8.0.255", "1.0.1.7.0.255"], CONF_PUSH_TIMEOUT: 60},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        assert coordinator.listener is not None
        await chunks.put(first)
        await asyncio.sleep(cut_after(0.5) + 0.6)  # the line stays quiet longer than a meter pauses
        await chunks.put(later)
        await wait_for(lambda: coordinator.since_last_telegram.bytes_received == len(first) + len(later))
        await asyncio.sleep(cut_after(0.5) + 0.6)
        await hass.async_block_till_done()
        assert coordinator.data.readings == {}, "no value from a stitched telegram"
        statistics = coordinator.listener.decoder.statistics
        assert statistics.telegrams == 0
        assert statistics.partial_dropped >= 1
        assert coordinator.since_last_telegram.undecodable >= 1
        assert await hass.config_entries.async_unload(entry.entry_id)
