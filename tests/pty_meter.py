"""The simulated meter on a pty (HDLC) behind a stable path, polled by Home Assistant's coordinator.

Shared by the fault campaign and the soak: the objects polled, the scan interval, the quick response
timeout, the serial entry and the cable plugged in. A module importing ``quick_link`` gets the short
response timeout for its tests (the fixture is autouse).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem import connection
from custom_components.dlms_cosem.const import (
    CONF_BAUDRATE,
    CONF_CLIENT_ADDRESS,
    CONF_CONNECTION_TYPE,
    CONF_OBJECTS,
    CONF_PARITY,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_IMPORT,
    VOLTAGES,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport

SCAN = timedelta(seconds=30)
WANTED = (ACTIVE_ENERGY_IMPORT, ACTIVE_POWER_IMPORT, VOLTAGES[0])
#: The HDLC response timeout for these tests: the meter is on the same machine, and a silent meter
#: should cost a fraction of a second per poll, not the 20 s of the defaults.
RESPONSE_TIMEOUT = 0.2


@pytest.fixture(autouse=True)
def quick_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the coordinator's transports with a short response timeout (the only change)."""
    original = connection.create_transport

    def create_transport(
        hass: HomeAssistant,
        data: Any,
        *,
        client_address: int | None = None,
        response_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Any:
        return original(
            hass,
            data,
            client_address=client_address,
            response_timeout=response_timeout or RESPONSE_TIMEOUT,
            max_retries=max_retries,
        )

    monkeypatch.setattr(connection, "create_transport", create_transport)


def lls_security(password: str) -> MeterSecurity:
    return MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=password.encode())


def serial_entry(link: Path, *, title: str, credentials: dict[str, Any]) -> MockConfigEntry:
    """An entry polling the meter at ``link`` (9600 8N1, client 1) for ``WANTED`` every ``SCAN``."""
    data: dict[str, Any] = {
        CONF_CONNECTION_TYPE: "serial_poll",
        CONF_PORT: str(link),
        CONF_BAUDRATE: 9600,
        CONF_PARITY: "n",
        CONF_CLIENT_ADDRESS: 1,
    }
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id="12345678",
        data=data | credentials,
        options={CONF_OBJECTS: [str(obis) for obis in WANTED], CONF_SCAN_INTERVAL: int(SCAN.total_seconds())},
    )


async def plug_pty(meter: SimulatedMeter, faults: FaultInjector, link: Path) -> SimulatorServer:
    """A new pty for the meter, behind ``link`` (the cable plugged in, or back): its server."""
    server = SimulatorServer(meter, RunnerSettings(Transport.HDLC_PTY), faults=faults)
    await server.start()
    temporary = link.with_suffix(".new")
    temporary.symlink_to(server.address)
    temporary.replace(link)
    return server
