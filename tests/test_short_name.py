"""A short name meter (the simulator in --sn mode) polled by Home Assistant over real TCP, like any other.

The entry needs no short name setting: ``referencing`` defaults to auto, so the client proposes logical
names, is refused, and associates with short names; the sensors then carry the simulated values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION,
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import ApplicationContextName
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    SERIAL_NUMBER,
    VOLTAGES,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.units import ScalerUnit
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

from .test_coordinator import entity_id

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
OBJECTS = [str(ACTIVE_ENERGY_IMPORT), str(VOLTAGES[0]), str(SERIAL_NUMBER)]


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


@pytest.fixture
async def sn_meter() -> AsyncIterator[tuple[SimulatedMeter, int]]:
    meter = SimulatedMeter(lambda: NOW)
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP, short_names=True))
    address = await server.start()
    yield meter, int(str(address).rsplit(":", 1)[1])
    await server.close()


def sn_entry(port: int, **extra: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Short name meter",
        unique_id="12345678",
        data={
            CONF_CONNECTION_TYPE: "network_poll",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            "client_address": 16,
            "server_logical_address": 1,
            CONF_AUTHENTICATION: "none",
            **extra,
        },
        options={CONF_OBJECTS: OBJECTS, CONF_SCAN_INTERVAL: 30},
    )


def _scaled(meter: SimulatedMeter, obis: object) -> float:
    raw = meter.read(obis).value  # type: ignore[arg-type]
    assert isinstance(raw, int)
    scaler = ScalerUnit.from_data(meter.read(obis, 3)).scaler  # type: ignore[arg-type]
    return raw * 10.0**scaler


@pytest.mark.parametrize("referencing", [{}, {"referencing": "sn"}, {"referencing": "auto"}])
async def test_poll_coordinator_reads_a_short_name_meter(
    hass: HomeAssistant, sn_meter: tuple[SimulatedMeter, int], referencing: dict[str, str]
) -> None:
    meter, port = sn_meter
    entry = sn_entry(port, **referencing)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPollCoordinator)
    context = coordinator.client.context
    assert context is not None
    assert context.application_context_name is ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING

    energy = hass.states.get(entity_id(hass, entry, str(ACTIVE_ENERGY_IMPORT)))
    assert energy is not None
    # The meter counts Wh; Home Assistant shows energy in its suggested unit, kWh.
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert float(energy.state) == pytest.approx(_scaled(meter, ACTIVE_ENERGY_IMPORT) / 1000)
    assert energy.attributes["device_class"] == "energy"
    voltage = hass.states.get(entity_id(hass, entry, str(VOLTAGES[0])))
    assert voltage is not None
    assert float(voltage.state) == pytest.approx(_scaled(meter, VOLTAGES[0]))
    assert voltage.attributes["unit_of_measurement"] == "V"
    serial = hass.states.get(entity_id(hass, entry, str(SERIAL_NUMBER)))
    assert serial is not None
    assert meter.read(SERIAL_NUMBER) == Data.octet_string(b"12345678")
    assert serial.state == "12345678"
    assert coordinator.identity.serial_number == "12345678"
    # The object list came from Association SN: the meter's other objects are offered too.
    assert len(coordinator.available_objects) > len(OBJECTS)

    await coordinator.async_refresh()
    await hass.async_block_till_done()
    again = hass.states.get(entity_id(hass, entry, str(VOLTAGES[0])))
    assert again is not None
    assert float(again.state) == pytest.approx(_scaled(meter, VOLTAGES[0]))

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_logical_names_only_fails_setup(
    hass: HomeAssistant, sn_meter: tuple[SimulatedMeter, int]
) -> None:
    entry = sn_entry(sn_meter[1], referencing="ln")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state in {ConfigEntryState.SETUP_ERROR, ConfigEntryState.SETUP_RETRY}
