"""Several meters on one RS-485 port: config entries that share one serial port through the registry.

The simulator puts two meters at different HDLC physical addresses on one pty; each entry's
coordinator talks to its own meter through an HDLC transport on the same :class:`SharedPort`, whose
lock lets one transaction on the line at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]

from custom_components.dlms_cosem.connection import DATA_PORTS
from custom_components.dlms_cosem.const import (
    CONF_BAUDRATE,
    CONF_CLIENT_ADDRESS,
    CONF_CONNECTION_TYPE,
    CONF_OBJECTS,
    CONF_PARITY,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_LOGICAL_ADDRESS,
    CONF_SERVER_PHYSICAL_ADDRESS,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.hdlc import server_address
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport import HdlcTransport
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
SERIAL = "0.0.96.1.0.255"
VOLTAGE = "1.0.32.7.0.255"
OBJECTS = ["1.0.1.8.0.255", VOLTAGE, SERIAL]
METERS = {"11111111": 17, "22222222": 18}  # serial number: HDLC physical address


def clock() -> datetime:
    return NOW


@pytest.fixture
async def bus() -> AsyncIterator[tuple[SimulatorServer, dict[str, SimulatedMeter]]]:
    """Two meters on one pty."""
    meters = {serial: SimulatedMeter(clock, serial=serial) for serial in METERS}
    first, second = meters.values()
    settings = RunnerSettings(Transport.HDLC_PTY, server_address=server_address(1, METERS["11111111"]))
    extra = [(server_address(1, METERS["22222222"]), second)]
    async with SimulatorServer(first, settings, extra_meters=extra) as server:
        yield server, meters


def bus_entry(port: str, serial: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Meter {serial}",
        unique_id=serial,
        data={
            CONF_CONNECTION_TYPE: "serial_poll",
            CONF_PORT: port,
            CONF_BAUDRATE: 9600,
            CONF_PARITY: "n",
            CONF_SERVER_LOGICAL_ADDRESS: 1,
            CONF_SERVER_PHYSICAL_ADDRESS: METERS[serial],
            CONF_CLIENT_ADDRESS: 16,
        },
        options={CONF_OBJECTS: OBJECTS, CONF_SCAN_INTERVAL: 3600},
    )


def state(hass: HomeAssistant, entry: MockConfigEntry, obis: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{obis}")
    assert entity_id is not None, obis
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


def coordinator(entry: MockConfigEntry) -> DlmsPollCoordinator:
    found = entry.runtime_data.coordinator
    assert isinstance(found, DlmsPollCoordinator)
    return found


def transport(entry: MockConfigEntry) -> HdlcTransport:
    client = coordinator(entry).client
    assert client is not None
    found = client._transport  # which port the entry's client is on
    assert isinstance(found, HdlcTransport)
    return found


def assert_shows_its_meter(hass: HomeAssistant, entry: MockConfigEntry, meter: SimulatedMeter) -> None:
    assert state(hass, entry, SERIAL) == meter.serial
    assert coordinator(entry).identity.serial_number == meter.serial
    raw = meter.read(ObisCode.parse(VOLTAGE)).value
    scaler_unit = meter.read(ObisCode.parse(VOLTAGE), 3).value
    assert isinstance(raw, int)
    assert isinstance(scaler_unit, tuple)
    scaler = scaler_unit[0].value
    assert isinstance(scaler, int)
    assert float(state(hass, entry, VOLTAGE)) == pytest.approx(raw * 10.0**scaler)


async def test_two_meters_on_one_port(
    hass: HomeAssistant, bus: tuple[SimulatorServer, dict[str, SimulatedMeter]]
) -> None:
    server, meters = bus
    entries = {serial: bus_entry(server.address, serial) for serial in METERS}
    for entry in entries.values():
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    one, two = entries.values()
    for serial, entry in entries.items():
        assert entry.state is ConfigEntryState.LOADED
        assert_shows_its_meter(hass, entry, meters[serial])
    voltages = {state(hass, entry, VOLTAGE) for entry in entries.values()}
    assert len(voltages) == 2  # two meters, not one read twice

    # One port for both: the registry's, opened once.
    port = transport(one).port
    assert transport(two).port is port
    assert list(hass.data[DATA_PORTS].values()) == [port]
    assert port.users == 2
    assert server.sessions_served == 1

    # Both refresh at once: the port lock takes their transactions in turn.
    await asyncio.gather(*(coordinator(entry).async_refresh() for entry in entries.values()))
    await hass.async_block_till_done()
    for serial, entry in entries.items():
        assert coordinator(entry).last_update_success
        assert_shows_its_meter(hass, entry, meters[serial])

    # The first entry goes; the second keeps the port and its meter.
    assert await hass.config_entries.async_unload(one.entry_id)
    await hass.async_block_till_done()
    assert one.state is ConfigEntryState.NOT_LOADED
    assert port.users == 1
    assert port.is_open
    await coordinator(two).async_refresh()
    await hass.async_block_till_done()
    assert coordinator(two).last_update_success
    assert_shows_its_meter(hass, two, meters["22222222"])

    assert await hass.config_entries.async_unload(two.entry_id)
    await hass.async_block_till_done()
    assert port.users == 0
    assert not port.is_open
