"""Setup, polling, push, unavailability, repairs and diagnostics against the simulator over real TCP."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION,
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.coordinator import repair_issue_id
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism, DataAccessResult
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import (
    AccessFailureError,
    MeterSecurity,
    Register,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.units import ScalerUnit
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

from . import polled_meter
from .polled_meter import PASSWORD
from .waiting import wait_for

KEY_HEX = "000102030405060708090A0B0C0D0E0F"
WRONG_KEY_HEX = "F0E0D0C0B0A090807060504030201000"
OBJECTS = ["1.0.1.8.0.255", "1.0.32.7.0.255", "1.0.1.7.0.255", "0.0.96.1.0.255"]
POWER_FACTOR = ObisCode.parse("1.0.13.7.0.255")


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


def clock() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def lls_meter() -> AsyncIterator[tuple[SimulatorServer, FaultInjector, int]]:
    meter = SimulatedMeter(
        clock,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    # A power factor: scaler -3 and no unit (255), so the value is scaled but has no symbol.
    meter.add(Register(POWER_FACTOR, lambda _now: Data.long_unsigned(987), ScalerUnit(-3, 255)))
    faults = FaultInjector(seed=1)
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP), faults=faults)
    address = await server.start()
    port = int(str(address).rsplit(":", 1)[1])
    yield server, faults, port
    await server.close()


async def push_meter(key_hex: str = KEY_HEX) -> tuple[SimulatorServer, int]:
    meter = SimulatedMeter(
        clock,
        security=MeterSecurity(keys=SecurityKeys(bytes.fromhex(key_hex), None)),
    )
    settings = RunnerSettings(
        transport=Transport.WRAPPER_TCP,
        push_interval=0.05,
        push=PushSettings(framing=PushFraming.HDLC, security=0x20),
    )
    server = SimulatorServer(meter, settings)
    address = await server.start()
    return server, int(str(address).rsplit(":", 1)[1])


def polled_entry(port: int, password: str = PASSWORD) -> MockConfigEntry:
    options = {CONF_OBJECTS: [*OBJECTS, str(POWER_FACTOR)], CONF_SCAN_INTERVAL: 30}
    return polled_meter.polled_entry(port, options, password=password)


def push_entry(port: int, key_hex: str = KEY_HEX) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Push meter",
        unique_id="53494D0000000001",
        data={
            CONF_CONNECTION_TYPE: "network_push",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_ENCRYPTION_KEY: key_hex,
        },
        options={CONF_OBJECTS: OBJECTS, CONF_PUSH_TIMEOUT: 5},
    )


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, obis: str) -> str:
    registry = er.async_get(hass)
    found = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{obis}")
    assert found is not None, obis
    return found


async def test_polled_meter_sets_up_reads_values_and_unloads(
    hass: HomeAssistant, lls_meter: tuple[SimulatorServer, FaultInjector, int]
) -> None:
    entry = polled_entry(lls_meter[2])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPollCoordinator)

    voltage = hass.states.get(entity_id(hass, entry, "1.0.32.7.0.255"))
    assert voltage is not None
    assert 200 < float(voltage.state) < 260
    assert voltage.attributes["unit_of_measurement"] == "V"
    assert voltage.attributes["device_class"] == "voltage"
    energy = hass.states.get(entity_id(hass, entry, "1.0.1.8.0.255"))
    assert energy is not None
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["state_class"] == "total_increasing"
    assert float(energy.state) > 0
    power_factor = hass.states.get(entity_id(hass, entry, str(POWER_FACTOR)))
    assert power_factor is not None
    assert float(power_factor.state) == pytest.approx(98.7)  # 0.987 shown in %
    assert coordinator.data.readings[POWER_FACTOR].value == 0.987
    serial = hass.states.get(entity_id(hass, entry, "0.0.96.1.0.255"))
    assert serial is not None
    assert serial.state == "12345678"
    assert coordinator.identity.serial_number == "12345678"
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "12345678"), entry.entry_id)
    assert device is not None
    assert device.serial_number == "12345678"
    assert device.name == "Simulated meter"
    # The association object list says what else the meter has.
    assert len(coordinator.available_objects) > len(OBJECTS)

    first = float(energy.state)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    second = hass.states.get(entity_id(hass, entry, "1.0.1.8.0.255"))
    assert second is not None
    assert float(second.state) >= first

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_meter_that_stops_answering_goes_unavailable_and_recovers(
    hass: HomeAssistant,
    lls_meter: tuple[SimulatorServer, FaultInjector, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, faults, port = lls_meter
    entry = polled_entry(port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    voltage_id = entity_id(hass, entry, "1.0.32.7.0.255")

    faults.stop_answering()
    caplog.clear()
    for _ in range(2):
        await coordinator.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(voltage_id)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    lost = [r for r in caplog.records if r.levelno >= logging.ERROR and "Error fetching" in r.message]
    assert len(lost) == 1, "the loss is logged once"

    faults.resume()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(voltage_id)
    assert state is not None
    assert state.state != STATE_UNAVAILABLE
    assert sum("recovered" in r.message for r in caplog.records) == 1
    assert PASSWORD not in caplog.text


def _refused(_now: datetime) -> Data:
    raise AccessFailureError(DataAccessResult.TEMPORARY_FAILURE, "the meter is busy with it")


async def test_objects_the_meter_stops_serving_go_unavailable_alone_and_come_back(
    hass: HomeAssistant,
    lls_meter: tuple[SimulatorServer, FaultInjector, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, _, port = lls_meter
    meter = server.meter
    entry = polled_entry(port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    ids = {obis: entity_id(hass, entry, obis) for obis in [*OBJECTS, str(POWER_FACTOR)]}
    voltage_obis = ObisCode.parse("1.0.32.7.0.255")
    voltage = meter.find(voltage_obis)
    power_factor = meter.find(POWER_FACTOR)
    assert isinstance(voltage, Register)
    assert power_factor is not None

    def states() -> dict[str, str]:
        found = {obis: hass.states.get(entity) for obis, entity in ids.items()}
        return {obis: state.state for obis, state in found.items() if state is not None}

    # The meter loses the power factor and refuses the voltage (a data-access-result for each).
    del meter.objects[POWER_FACTOR]
    meter.add(Register(voltage_obis, _refused, voltage.scaler_unit))
    caplog.clear()
    for _ in range(2):
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert coordinator.last_update_success
        refused = states()
        assert refused[str(POWER_FACTOR)] == STATE_UNAVAILABLE
        assert refused["1.0.32.7.0.255"] == STATE_UNAVAILABLE
        assert float(refused["1.0.1.8.0.255"]) > 0
        assert float(refused["1.0.1.7.0.255"]) >= 0
        assert refused["0.0.96.1.0.255"] == "12345678"
    unavailable = [r.message for r in caplog.records if "is unavailable" in r.message]
    assert unavailable == [  # once each, not at every poll
        "1.0.32.7.0.255 of Simulated meter is unavailable: 1.0.32.7.0.255 attribute 2 (class 3): "
        "temporary-failure",
        f"{POWER_FACTOR} of Simulated meter is unavailable: {POWER_FACTOR} attribute 2 (class 3): "
        "object-undefined",
    ]

    # Served again: both come back, with their values.
    meter.add(voltage)
    meter.add(power_factor)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    back = states()
    assert 200 < float(back["1.0.32.7.0.255"]) < 260
    assert float(back[str(POWER_FACTOR)]) == pytest.approx(98.7)
    assert float(back["1.0.1.8.0.255"]) > 0
    assert sorted(r.message for r in caplog.records if r.message.endswith(" is back")) == [
        f"{POWER_FACTOR} of Simulated meter is back",  # 1.0.13.7.0.255
        "1.0.32.7.0.255 of Simulated meter is back",
    ]
    assert PASSWORD not in caplog.text


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant, lls_meter: tuple[SimulatorServer, FaultInjector, int]
) -> None:
    entry = polled_entry(lls_meter[2], password="wrong-one")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_push_meter_fills_sensors_and_goes_stale(hass: HomeAssistant) -> None:
    server, port = await push_meter()
    try:
        entry = push_entry(port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        await wait_for(lambda: coordinator.data.readings)
        await hass.async_block_till_done()
        voltage = hass.states.get(entity_id(hass, entry, "1.0.32.7.0.255"))
        assert voltage is not None
        assert 200 < float(voltage.state) < 260
        assert coordinator.link_statistics.invocation_counter is not None
        assert coordinator.identity.system_title == b"SIM\x00\x00\x00\x00\x01"
    finally:
        await server.close()
    # No telegram for longer than the push timeout: the sensors become unavailable.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()
    state = hass.states.get(entity_id(hass, entry, "1.0.32.7.0.255"))
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_key_raises_a_repair_that_leads_to_reauth_and_clears(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    server, port = await push_meter()
    try:
        entry = push_entry(port, WRONG_KEY_HEX)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        issues = ir.async_get(hass)
        await wait_for(lambda: issues.async_get_issue(DOMAIN, repair_issue_id(entry)) is not None)
        issue = issues.async_get_issue(DOMAIN, repair_issue_id(entry))
        assert issue is not None
        assert issue.translation_key == "decryption_failed"
        coordinator = entry.runtime_data.coordinator
        assert coordinator.link_statistics.decryption_failures >= 3

        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": repair_issue_id(entry)}
        )
        assert response.status == 200
        flow = await response.json()
        assert flow["step_id"] == "confirm"
        response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
        assert (await response.json())["type"] == "create_entry"
        await hass.async_block_till_done()
        sources = [f["context"]["source"] for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)]
        assert "reauth" in sources

        # The right key: the next telegrams decode and the issue clears itself.
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_ENCRYPTION_KEY: KEY_HEX})
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        await wait_for(lambda: coordinator.data.readings)
        assert issues.async_get_issue(DOMAIN, repair_issue_id(entry)) is None
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


async def test_a_key_too_long_for_the_telegrams_suite_raises_its_own_repair(hass: HomeAssistant) -> None:
    # The meter pushes suite 0 (AES-GCM-128); the entry has a 64-digit (suite 2) key.
    server, port = await push_meter()
    try:
        entry = push_entry(port, KEY_HEX * 2)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        issues = ir.async_get(hass)
        await wait_for(lambda: issues.async_get_issue(DOMAIN, repair_issue_id(entry)) is not None)
        issue = issues.async_get_issue(DOMAIN, repair_issue_id(entry))
        assert issue is not None
        assert issue.translation_key == "key_suite_mismatch"
        assert issue.translation_placeholders == {"meter": "Push meter"}
        assert issue.is_fixable
        assert entry.runtime_data.coordinator.link_statistics.decryption_failures >= 3
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


async def test_diagnostics_redact_keys_passwords_and_serial_numbers(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    lls_meter: tuple[SimulatorServer, FaultInjector, int],
) -> None:
    entry = polled_entry(lls_meter[2])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert PASSWORD not in text
    assert "12345678" not in text
    assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert diagnostics["link_statistics"]["frames"] >= 1
    assert "1.0.32.7.0.255" in diagnostics["objects"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_push_diagnostics_show_decoder_figures_and_raw_bytes_without_keys(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    server, port = await push_meter()
    try:
        entry = push_entry(port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        await wait_for(lambda: coordinator.data.readings)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        text = json.dumps(diagnostics)
        assert KEY_HEX not in text.upper()
        assert diagnostics["decoder"]["framing"] == "hdlc"
        assert diagnostics["decoder"]["telegrams"] >= 1
        assert diagnostics["last_raw_bytes"]
        assert all(chunk.startswith("7E") or "7E" in chunk for chunk in diagnostics["last_raw_bytes"])
        assert "53494D0000000001" not in text  # the system title
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


async def test_counters_persist_across_restarts_and_go_with_the_entry(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    server, port = await push_meter()
    try:
        entry = push_entry(port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        await wait_for(lambda: coordinator.data.readings)
        counter = coordinator.link_statistics.invocation_counter
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await server.close()
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["meters"]
    assert stored["53494D0000000001"] >= counter
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{entry.entry_id}" not in hass_storage


async def test_ciphered_meter_continues_above_the_counter_it_last_accepted(hass: HomeAssistant) -> None:
    """The config flow's probe (or another client) has moved the meter's counter past ours."""
    keys = SecurityKeys(bytes.fromhex(KEY_HEX), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"))
    meter = SimulatedMeter(
        clock,
        security=MeterSecurity(
            authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=keys, client_invocation_counter=500
        ),
    )
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Ciphered meter",
            unique_id="12345678",
            data={
                CONF_CONNECTION_TYPE: "network_poll",
                CONF_HOST: "127.0.0.1",
                CONF_PORT: int(str(address).rsplit(":", 1)[1]),
                "client_address": 1,
                CONF_AUTHENTICATION: "hls_gmac",
                CONF_ENCRYPTION_KEY: KEY_HEX,
                "authentication_key": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
            },
            options={CONF_OBJECTS: OBJECTS},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        state = hass.states.get(entity_id(hass, entry, "1.0.32.7.0.255"))
        assert state is not None
        assert 200 < float(state.state) < 260
        assert entry.runtime_data.coordinator.link_statistics.invocation_counter > 500
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()
