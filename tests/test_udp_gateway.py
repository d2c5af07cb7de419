"""Meters on UDP (IEC 62056-47 wrapper over UDP) in Home Assistant, alone or behind one data concentrator.

Also: the gas and water meters found there get their volume registers as gas and water.

The simulator listens on a real UDP socket on 127.0.0.1; with ``extra_meters`` it is a gateway whose
logical devices (wPorts) are further meters. Each meter is its own config entry on the same address.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]

from custom_components.dlms_cosem import probe
from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.dlms.hdlc import server_address
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport import UdpTransport
from custom_components.dlms_cosem.obis_catalog import describe, ha_unit
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
VOLTAGE = "1.0.32.7.0.255"


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A silent meter is given up after 2 x 0.3 s."""
    monkeypatch.setattr(probe, "PROBE_RESPONSE_TIMEOUT", 0.3)


@pytest.fixture
async def gateway(socket_enabled: None) -> AsyncIterator[SimulatorServer]:
    """A data concentrator on UDP: meter 11111111 at wPort 1, 22222222 at wPort 2."""
    main = SimulatedMeter(lambda: NOW, serial="11111111")
    second = SimulatedMeter(lambda: NOW, serial="22222222")
    settings = RunnerSettings(transport=Transport.WRAPPER_UDP)
    async with SimulatorServer(main, settings, extra_meters=[(server_address(2, 17), second)]) as server:
        yield server


def host_port(server: SimulatorServer) -> tuple[str, int]:
    host, port = server.address.rsplit(":", 1)
    return host, int(port)


async def configure(
    hass: HomeAssistant, result: Mapping[str, Any], user_input: dict[str, Any]
) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


async def udp_flow(hass: HomeAssistant, host: str, port: int, wport: int) -> dict[str, Any]:
    """The user flow for a polled meter on UDP at ``wport``, up to its outcome."""
    result = dict(await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
    assert "udp_poll" in result["menu_options"]
    result = await configure(hass, result, {"next_step_id": "udp_poll"})
    assert result["step_id"] == "udp"
    schema = result["data_schema"].schema
    assert [str(key) for key in schema] == ["host", "port", "advanced"]  # no HDLC over UDP
    port_default = next(key for key in schema if str(key) == "port").default()
    assert port_default == 4059
    result = await configure(
        hass,
        result,
        {"host": host, "port": port, "advanced": {"client_address": 16, "server_logical_address": wport}},
    )
    result = await configure(hass, result, {"authentication": "none"})
    if result["type"] is FlowResultType.FORM and result["step_id"] == "objects":
        result = await configure(hass, result, {"objects": [VOLTAGE]})
    return result


def state(hass: HomeAssistant, entry: ConfigEntry, obis: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{obis}")
    assert entity_id is not None, obis
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


async def test_two_meters_behind_one_udp_gateway_are_two_polled_entries(
    hass: HomeAssistant, gateway: SimulatorServer
) -> None:
    host, port = host_port(gateway)
    first = await udp_flow(hass, host, port, wport=1)
    second = await udp_flow(hass, host, port, wport=2)
    await hass.async_block_till_done()
    assert first["type"] is FlowResultType.CREATE_ENTRY
    assert second["type"] is FlowResultType.CREATE_ENTRY
    assert first["data"] == {
        "connection_type": "udp_poll",
        "host": host,
        "port": port,
        "client_address": 16,
        "server_logical_address": 1,
        "authentication": "none",
    }
    assert second["data"]["server_logical_address"] == 2
    entries = {entry.unique_id: entry for entry in hass.config_entries.async_entries(DOMAIN)}
    assert set(entries) == {"11111111", "22222222"}
    for serial, meter in (("11111111", gateway.meter), ("22222222", gateway.extra_meters[0][1])):
        entry = entries[serial]
        assert entry.state is ConfigEntryState.LOADED
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPollCoordinator)
        assert coordinator.client is not None
        assert isinstance(coordinator.client._transport, UdpTransport)  # polled over UDP
        # Each meter's serial number names its own device.
        device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, serial), entry.entry_id)
        assert device is not None
        assert device.serial_number == serial
        raw = meter.read(ObisCode.parse(VOLTAGE)).value
        assert isinstance(raw, int)
        assert float(state(hass, entry, VOLTAGE)) == pytest.approx(raw / 10)
    # The same meter again is refused, whichever way it is reached.
    again = await udp_flow(hass, host, port, wport=2)
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
    for entry in entries.values():
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_nothing_at_the_wport_is_a_timeout_on_the_udp_form(
    hass: HomeAssistant, gateway: SimulatorServer
) -> None:
    host, port = host_port(gateway)
    result = await udp_flow(hass, host, port, wport=7)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "udp"
    assert result["errors"] == {"base": "timeout"}


async def test_silent_udp_port_is_a_timeout(hass: HomeAssistant, socket_enabled: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # bound, never answering
        sock.bind(("127.0.0.1", 0))
        result = await udp_flow(hass, "127.0.0.1", int(sock.getsockname()[1]), wport=1)
    assert result["step_id"] == "udp"
    assert result["errors"] == {"base": "timeout"}


def test_a_nameless_meter_behind_a_gateway_is_told_apart_by_its_wport() -> None:
    data = {"connection_type": "udp_poll", "host": "192.0.2.7", "port": 4059}
    assert probe._fallback_id({**data, "server_logical_address": 1}) == "udp 192.0.2.7:4059"
    assert probe._fallback_id({**data, "server_logical_address": 3}) == "udp 192.0.2.7:4059 logical device 3"


@pytest.mark.parametrize(
    ("code", "unit", "device_class"),
    [
        ("7.0.3.0.0.255", "m³", SensorDeviceClass.GAS),  # gas volume index
        ("8.0.1.0.0.255", "m³", SensorDeviceClass.WATER),  # cold water volume
        ("9.0.1.0.0.255", "l", SensorDeviceClass.WATER),  # hot water volume, in litres
    ],
)
def test_gas_and_water_volumes_are_gas_and_water(
    code: str, unit: str, device_class: SensorDeviceClass
) -> None:
    # NB-IoT gas and water meters on UDP list their volume registers under their own medium (A=7, 8, 9).
    description = describe(ObisCode.parse(code), unit)
    assert description.device_class is device_class
    assert description.state_class is SensorStateClass.TOTAL_INCREASING
    assert description.native_unit_of_measurement == ha_unit(unit)


def test_other_gas_and_water_values_are_not_volumes() -> None:
    flow = describe(ObisCode.parse("7.0.43.0.0.255"), "m³/h")  # a flow rate, not a volume
    assert flow.device_class is None
    assert flow.state_class is SensorStateClass.MEASUREMENT
    snapshot = describe(ObisCode.parse("8.0.1.0.0.101"), "m³")  # a billing period's value
    assert snapshot.device_class is None
    electricity = describe(ObisCode.parse("1.0.99.1.0.255"), "m³")  # volume is not electricity's
    assert electricity.device_class is None


async def test_reconfigure_picks_another_wport_of_the_same_gateway(
    hass: HomeAssistant, gateway: SimulatorServer
) -> None:
    host, port = host_port(gateway)
    data = {"connection_type": "udp_poll", "host": host, "port": port, "authentication": "none"}
    # Meter 22222222, entered at the wrong logical device.
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="22222222", data={**data, "client_address": 16, "server_logical_address": 1}
    )
    entry.add_to_hass(hass)
    with (
        patch("custom_components.dlms_cosem.async_setup_entry", return_value=True),
        patch("custom_components.dlms_cosem.async_unload_entry", return_value=True),
    ):
        result = dict(await entry.start_reconfigure_flow(hass))
        assert result["step_id"] == "reconfigure"
        keys = [str(key) for key in result["data_schema"].schema]
        assert "hdlc" not in keys
        assert keys[:2] == ["host", "port"]
        user_input = {"host": host, "port": port, "authentication": "none"}
        # wPort 1 is another meter: refused, the entry keeps its data.
        result = await configure(
            hass, result, {**user_input, "advanced": {"client_address": 16, "server_logical_address": 1}}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "unique_id_mismatch"
        result = dict(await entry.start_reconfigure_flow(hass))
        result = await configure(
            hass, result, {**user_input, "advanced": {"client_address": 16, "server_logical_address": 2}}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["server_logical_address"] == 2
    assert "hdlc" not in entry.data
