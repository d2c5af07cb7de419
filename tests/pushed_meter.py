"""A simulated meter pushing plain HDLC telegrams to a test's push port, and the entry that listens.

Its clock moves ten seconds per telegram; the test changes its energy register (a counter reset, a
replaced meter) through ``meter.electricity``. Shared by the guard's Home Assistant tests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
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
from custom_components.dlms_cosem.dlms.simulator.access import RequestContext
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.push import PushBuilder, PushFraming, PushSettings
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

STEP = timedelta(seconds=10)


def energy_import(meter: SimulatedMeter, instant: datetime) -> int:
    """The simulated meter's energy import register at ``instant`` (Wh): what its telegram carries."""
    register = meter.find(ACTIVE_ENERGY_IMPORT)
    assert register is not None
    value = register.get(2, RequestContext(now=instant)).value
    assert isinstance(value, int)
    return value


class SteppedPushMeter:
    """The simulator's meter; each :meth:`push` is its next telegram, :data:`STEP` later on its clock."""

    def __init__(self, start: datetime) -> None:
        self.instant = start
        self.meter = SimulatedMeter(lambda: self.instant)
        self.builder = PushBuilder(self.meter, PushSettings(framing=PushFraming.HDLC))
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def energy(self) -> int:
        """The energy import register's value now (Wh)."""
        return energy_import(self.meter, self.instant)

    async def push(self) -> int:
        """Send the next telegram (with a quiet gap after it); the energy it carries."""
        self.instant += STEP
        await self.chunks.put(self.builder.telegram())
        await asyncio.sleep(0.05)
        return self.energy()


async def set_up_energy_entry(
    hass: HomeAssistant, port: int, title: str, unique_id: str
) -> tuple[MockConfigEntry, DlmsPushCoordinator, str]:
    """A push entry on ``port`` showing the energy import: the entry, its coordinator, the sensor."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
        # Every telegram written: the tests follow each one (the update limit has tests of its own).
        options={CONF_OBJECTS: [str(ACTIVE_ENERGY_IMPORT)], CONF_PUSH_TIMEOUT: 600, CONF_UPDATE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPushCoordinator)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{unique_id}_{ACTIVE_ENERGY_IMPORT}"
    )
    assert entity_id is not None
    return entry, coordinator, entity_id
