"""The simulator's LLS meter on the TCP wrapper at 127.0.0.1, and the polled entry that reads it.

Shared by the tests of the actions and of load management; ``polled_entry`` also by the tests of the
coordinator, the load profile history and the M-Bus channels, which serve their own meters. A module
importing ``allow_loopback`` lets its tests use sockets on 127.0.0.1 (the fixture is autouse).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION,
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport

PASSWORD = "S3cr3tPw"
UNIQUE_ID = "12345678"  # the simulated meter's serial number


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


@contextlib.asynccontextmanager
async def served_meter(
    *additions: Callable[[SimulatedMeter], object],
) -> AsyncIterator[tuple[SimulatedMeter, int]]:
    """An LLS meter, with ``additions`` applied, served as (meter, port).

    Public clients are let in too (read only).
    """
    simulated = SimulatedMeter(
        lambda: datetime.now(UTC),
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    for add in additions:
        add(simulated)
    server = SimulatorServer(simulated, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    try:
        yield simulated, int(str(address).rsplit(":", 1)[1])
    finally:
        await server.close()


def polled_entry(
    port: int, options: dict[str, Any], *, public: bool = False, password: str = PASSWORD
) -> MockConfigEntry:
    """An entry polling the meter on 127.0.0.1 at ``port``.

    The management client with LLS and ``password``, or the public one (``password`` unused).
    """
    data: dict[str, Any] = {
        CONF_CONNECTION_TYPE: "network_poll",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        "client_address": 16 if public else 1,
        "server_logical_address": 1,
    }
    if not public:
        data |= {CONF_AUTHENTICATION: "lls", CONF_PASSWORD: password}
    return MockConfigEntry(
        domain=DOMAIN, title="Simulated meter", unique_id=UNIQUE_ID, data=data, options=options
    )


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def entity(hass: HomeAssistant, domain: str, key: str) -> str:
    """The entity id of the served meter's entity ``key`` (an OBIS code, or one with a suffix)."""
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, f"{UNIQUE_ID}_{key}")
    assert found is not None, key
    return found
