"""Gas and water on the M-Bus channels: sensors, their own devices, the Energy panel, capture hours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_MBUS_CHANNELS,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.mbus_channels import (
    GAS_CHANNEL,
    WATER_CHANNEL,
    add_empty_mbus_channel,
    add_mbus_channels,
    channel_value,
    device_type,
)
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    CLOCK,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.guard.plausibility import CONFIRMATIONS
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

from .polled_meter import PASSWORD, polled_entry, set_up

GAS, WATER, GAS_SERIAL = "0.1.24.2.1.255", "0.2.24.2.1.255", "0.1.96.1.0.255"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


@pytest.fixture
async def port() -> AsyncIterator[int]:
    meter = SimulatedMeter(
        dt_util.utcnow,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
        mbus=True,
    )
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    yield int(str(address).rsplit(":", 1)[1])
    await server.close()


async def _setup(hass: HomeAssistant, port: int) -> MockConfigEntry:
    options = {CONF_OBJECTS: [str(ACTIVE_ENERGY_IMPORT), GAS, WATER, GAS_SERIAL], CONF_SCAN_INTERVAL: 30}
    return await set_up(hass, polled_entry(port, options))


def _entity(hass: HomeAssistant, obis: str) -> str:
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"12345678_{obis}")
    assert found is not None, obis
    return found


async def test_gas_and_water_channels_are_their_own_devices_with_energy_panel_sensors(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int, hass_ws_client: WebSocketGenerator
) -> None:
    # Real time, frozen: the websocket's access token is checked against the clock.
    start = dt_util.utcnow().replace(second=0, microsecond=0)
    freezer.move_to(start)
    entry = await _setup(hass, port)
    captured = start.replace(minute=0)
    gas = hass.states.get(_entity(hass, GAS))
    water = hass.states.get(_entity(hass, WATER))
    assert gas is not None
    assert water is not None
    assert gas.attributes["device_class"] == "gas"
    assert water.attributes["device_class"] == "water"
    for state in (gas, water):
        assert state.attributes["unit_of_measurement"] == "m³"
        assert state.attributes["state_class"] == "total_increasing"
    # The value the M-Bus device reported at the top of the hour, not a reading of "now".
    assert float(gas.state) == pytest.approx(GAS_CHANNEL.litres(captured) / 1000)
    assert float(water.state) == pytest.approx(WATER_CHANNEL.litres(captured) / 1000)

    devices = dr.async_get(hass)
    meter = devices.async_get_device_by_identifier((DOMAIN, "12345678"), entry.entry_id)
    gas_device = devices.async_get_device_by_identifier((DOMAIN, "12345678_mbus_1"), entry.entry_id)
    water_device = devices.async_get_device_by_identifier((DOMAIN, "12345678_mbus_2"), entry.entry_id)
    assert meter is not None
    assert gas_device is not None
    assert water_device is not None
    assert gas_device.via_device_id == meter.id
    assert water_device.via_device_id == meter.id
    assert gas_device.name == "Gas meter (channel 1)"
    assert gas_device.serial_number == GAS_CHANNEL.serial
    assert water_device.name == "Water meter (channel 2)"
    registry = er.async_get(hass)
    assert registry.async_get(_entity(hass, GAS)).device_id == gas_device.id  # type: ignore[union-attr]
    assert registry.async_get(_entity(hass, GAS_SERIAL)).device_id == gas_device.id  # type: ignore[union-attr]
    energy = registry.async_get(_entity(hass, str(ACTIVE_ENERGY_IMPORT)))
    assert energy is not None
    assert energy.device_id == meter.id

    # The recorder's statistics exist, then the Energy panel takes both as sources without complaint.
    await async_wait_recording_done(hass)
    period = start.replace(minute=start.minute - start.minute % 5)
    freezer.move_to(period + timedelta(minutes=5))
    do_adhoc_statistics(hass, start=period)
    await async_wait_recording_done(hass)
    assert await async_setup_component(hass, "energy", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "energy/save_prefs",
            "energy_sources": [
                {"type": "gas", "stat_energy_from": _entity(hass, GAS)},
                {"type": "water", "stat_energy_from": _entity(hass, WATER)},
            ],
        }
    )
    assert (await client.receive_json())["success"]
    await client.send_json_auto_id({"type": "energy/validate"})
    answer = await client.receive_json()
    assert answer["success"], answer
    assert answer["result"]["energy_sources"] == [[], []]

    # The next hour's reading lands in the hour it was captured in, whenever it is polled.
    freezer.move_to(captured + timedelta(hours=1, minutes=7))
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPollCoordinator)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    rows = await _hourly(hass, _entity(hass, GAS), captured - timedelta(hours=1))
    assert rows[-1]["start"] == captured
    for row in rows:  # every row is the reading captured at the end of its hour
        assert row["state"] == pytest.approx(GAS_CHANNEL.litres(row["start"] + timedelta(hours=1)) / 1000)
    gas_now = hass.states.get(_entity(hass, GAS))
    assert gas_now is not None
    assert float(gas_now.state) == rows[-1]["state"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _hourly(hass: HomeAssistant, statistic_id: str, start: datetime) -> list[dict[str, Any]]:
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, None, {statistic_id}, "hour", None, {"state", "sum"}
    )
    return [
        {"start": dt_util.utc_from_timestamp(row["start"]), "state": row["state"], "sum": row["sum"]}
        for row in found.get(statistic_id, [])
    ]


async def test_pushed_gas_and_water_channels_get_their_media_from_the_telegram(hass: HomeAssistant) -> None:
    meter = SimulatedMeter(dt_util.utcnow, mbus=True)
    objects = (
        CLOCK,
        ACTIVE_ENERGY_IMPORT,
        device_type(1),
        channel_value(1),
        device_type(2),
        channel_value(2),
    )
    settings = RunnerSettings(
        transport=Transport.WRAPPER_TCP,
        push_interval=0.05,
        push=PushSettings(framing=PushFraming.HDLC, objects=objects),
    )
    server = SimulatorServer(meter, settings)
    address = await server.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Push meter",
            unique_id="53494D0000000001",
            data={
                CONF_CONNECTION_TYPE: "network_push",
                CONF_HOST: "127.0.0.1",
                CONF_PORT: int(str(address).rsplit(":", 1)[1]),
            },
            options={CONF_OBJECTS: [GAS, WATER], CONF_PUSH_TIMEOUT: 60},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        registry = er.async_get(hass)
        for _ in range(300):
            await hass.async_block_till_done()
            if registry.async_get_entity_id("sensor", DOMAIN, f"53494D0000000001_{WATER}"):
                break
            await asyncio.sleep(0.01)
        gas = hass.states.get(registry.async_get_entity_id("sensor", DOMAIN, f"53494D0000000001_{GAS}") or "")
        water = hass.states.get(
            registry.async_get_entity_id("sensor", DOMAIN, f"53494D0000000001_{WATER}") or ""
        )
        assert gas is not None
        assert water is not None
        assert gas.attributes["device_class"] == "gas"
        assert water.attributes["device_class"] == "water"
        assert gas.attributes["unit_of_measurement"] == "m³"
        captured = meter.now().replace(minute=0, second=0, microsecond=0)
        assert float(gas.state) == pytest.approx(GAS_CHANNEL.litres(captured) / 1000)
        # The telegram carries each channel's capture time: the reading is as old as that (its
        # statistic goes to the hour that ends then), not as old as the telegram.
        readings = entry.runtime_data.coordinator.data.readings
        assert readings[ObisCode.parse(GAS)].captured == captured
        assert readings[ObisCode.parse(WATER)].captured == captured
        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, "53494D0000000001_mbus_2"), entry.entry_id
        )
        assert device is not None
        assert device.name == "Water meter (channel 2)"
        assert device.via_device_id is not None
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


# --- channels that come and go -------------------------------------------------------------------------


@pytest.fixture
async def gas_meter() -> AsyncIterator[tuple[SimulatedMeter, int]]:
    """A polled meter with a gas meter on channel 1 and nothing yet on channel 2 (listed, empty)."""
    meter = SimulatedMeter(
        dt_util.utcnow,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    add_mbus_channels(meter, (GAS_CHANNEL,))
    add_empty_mbus_channel(meter, WATER_CHANNEL.channel)
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    yield meter, int(str(address).rsplit(":", 1)[1])
    await server.close()


def _channel_device(hass: HomeAssistant, entry: MockConfigEntry, channel: int) -> dr.DeviceEntry | None:
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.unique_id}_mbus_{channel}"), entry.entry_id
    )


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_a_water_meter_connected_later_becomes_its_device_without_a_reload_and_goes_when_removed(
    hass: HomeAssistant, gas_meter: tuple[SimulatedMeter, int]
) -> None:
    meter, port = gas_meter
    entry = await set_up(
        hass, polled_entry(port, {CONF_OBJECTS: [str(ACTIVE_ENERGY_IMPORT), GAS], CONF_SCAN_INTERVAL: 30})
    )
    coordinator = entry.runtime_data.coordinator
    assert _channel_device(hass, entry, 1) is not None
    assert _channel_device(hass, entry, 2) is None
    assert entry.options[CONF_MBUS_CHANNELS] == [1]  # the channel the flow offered counts as met

    # A water meter is connected to channel 2: the next poll sees its device type and serial and
    # selects its reading; the polls after read it, and the plausibility guard shows a new register
    # once three readings in a row agree (guard.plausibility.CONFIRMATIONS).
    add_mbus_channels(meter, (WATER_CHANNEL,))
    for _ in range(1 + CONFIRMATIONS):
        await _poll(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator is coordinator  # no reload
    assert entry.options[CONF_OBJECTS] == [str(ACTIVE_ENERGY_IMPORT), GAS, WATER]
    assert entry.options[CONF_MBUS_CHANNELS] == [1, 2]
    water_device = _channel_device(hass, entry, 2)
    assert water_device is not None
    assert water_device.name == "Water meter (channel 2)"
    assert water_device.serial_number == WATER_CHANNEL.serial
    meter_device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "12345678"), entry.entry_id)
    assert meter_device is not None
    assert water_device.via_device_id == meter_device.id
    water = er.async_get(hass).async_get(_entity(hass, WATER))
    assert water is not None
    assert water.device_id == water_device.id
    state = hass.states.get(water.entity_id)
    assert state is not None
    assert state.attributes["device_class"] == "water"
    captured = WATER_CHANNEL.captured(dt_util.utcnow())
    assert float(state.state) == pytest.approx(WATER_CHANNEL.litres(captured) / 1000)

    # Taken away again: the device and its sensor go, the reading is deselected, the channel forgotten.
    add_empty_mbus_channel(meter, WATER_CHANNEL.channel)
    await _poll(hass, entry)
    assert _channel_device(hass, entry, 2) is None
    assert er.async_get(hass).async_get(water.entity_id) is None
    assert hass.states.get(water.entity_id) is None
    assert entry.options[CONF_OBJECTS] == [str(ACTIVE_ENERGY_IMPORT), GAS]
    assert entry.options[CONF_MBUS_CHANNELS] == [1]
    assert _channel_device(hass, entry, 1) is not None
    gas = hass.states.get(_entity(hass, GAS))
    assert gas is not None
    assert gas.state != STATE_UNAVAILABLE

    # And connected once more: it comes back by itself.
    add_mbus_channels(meter, (WATER_CHANNEL,))
    for _ in range(1 + CONFIRMATIONS):
        await _poll(hass, entry)
    assert _channel_device(hass, entry, 2) is not None
    again = hass.states.get(_entity(hass, WATER))
    assert again is not None
    assert float(again.state) == pytest.approx(WATER_CHANNEL.litres(captured) / 1000)
    assert entry.runtime_data.coordinator is coordinator
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_devices_of_deselected_and_empty_channels_are_removed_at_setup(
    hass: HomeAssistant, gas_meter: tuple[SimulatedMeter, int]
) -> None:
    _, port = gas_meter
    # Water was selected when a water meter was on channel 2; gas was deselected since.
    entry = polled_entry(port, {CONF_OBJECTS: [str(ACTIVE_ENERGY_IMPORT), WATER], CONF_SCAN_INTERVAL: 30})
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    for channel in (1, 2):
        devices.async_get_or_create(
            config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"12345678_mbus_{channel}")}
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert _channel_device(hass, entry, 1) is None  # nothing of it selected
    assert _channel_device(hass, entry, 2) is None  # the meter has no device there
    assert entry.options[CONF_OBJECTS] == [str(ACTIVE_ENERGY_IMPORT)]
    # Gas was offered and not chosen: it is met, so it is not shown by itself.
    assert entry.options[CONF_MBUS_CHANNELS] == [1]
    await _poll(hass, entry)
    assert er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"12345678_{GAS}") is None
    assert await hass.config_entries.async_unload(entry.entry_id)


GAS_PUSHED = (CLOCK, ACTIVE_ENERGY_IMPORT, device_type(1), channel_value(1))


async def _pushing(objects: tuple[ObisCode, ...]) -> tuple[SimulatorServer, int]:
    """A meter with gas and water on its M-Bus, pushing ``objects`` every 50 ms."""
    settings = RunnerSettings(
        transport=Transport.WRAPPER_TCP,
        push_interval=0.05,
        push=PushSettings(framing=PushFraming.HDLC, objects=objects),
    )
    server = SimulatorServer(SimulatedMeter(dt_util.utcnow, mbus=True), settings)
    address = await server.start()
    return server, int(str(address).rsplit(":", 1)[1])


def _push_entry(port: int, options: dict[str, Any]) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Push meter",
        unique_id="53494D0000000001",
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
        options={CONF_PUSH_TIMEOUT: 60, **options},
    )


async def _until_entity(hass: HomeAssistant, obis: str) -> str:
    registry = er.async_get(hass)
    for _ in range(500):
        await hass.async_block_till_done()
        found = registry.async_get_entity_id("sensor", DOMAIN, f"53494D0000000001_{obis}")
        if found is not None:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no entity for {obis}")


async def test_a_channel_that_starts_being_pushed_becomes_its_device_without_a_reload(
    hass: HomeAssistant,
) -> None:
    server, port = await _pushing(GAS_PUSHED)
    try:
        entry = _push_entry(port, {CONF_OBJECTS: [str(ACTIVE_ENERGY_IMPORT), GAS]})
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await _until_entity(hass, GAS)
        assert entry.options[CONF_MBUS_CHANNELS] == [1]
        coordinator = entry.runtime_data.coordinator

        # A water meter is connected: the meter's telegrams carry channel 2 from now on.
        builder = server.push_builder
        assert builder is not None
        builder.settings = replace(builder.settings, objects=(*GAS_PUSHED, device_type(2), channel_value(2)))
        water_id = await _until_entity(hass, WATER)
        assert entry.runtime_data.coordinator is coordinator  # no reload
        assert entry.options[CONF_OBJECTS] == [str(ACTIVE_ENERGY_IMPORT), GAS, WATER]
        assert entry.options[CONF_MBUS_CHANNELS] == [1, 2]
        device = _channel_device(hass, entry, 2)
        assert device is not None
        assert device.name == "Water meter (channel 2)"
        water = er.async_get(hass).async_get(water_id)
        assert water is not None
        assert water.device_id == device.id
        for _ in range(300):  # the guard shows a new total once readings in a row confirm it
            state = hass.states.get(water_id)
            if state is not None and state.state not in ("unavailable", "unknown"):
                break
            await asyncio.sleep(0.01)
        assert state is not None
        assert state.attributes["device_class"] == "water"
        captured = WATER_CHANNEL.captured(dt_util.utcnow())
        assert float(state.state) == pytest.approx(WATER_CHANNEL.litres(captured) / 1000)
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


async def test_a_stale_channel_device_can_be_deleted_but_not_a_live_one_or_the_meters(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    # The meter pushes its gas channel only; the water meter of channel 2 was taken away.
    server, port = await _pushing(GAS_PUSHED)
    try:
        entry = _push_entry(port, {CONF_OBJECTS: [GAS, WATER], CONF_MBUS_CHANNELS: [1, 2]})
        entry.add_to_hass(hass)
        devices = dr.async_get(hass)
        water_device = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, "53494D0000000001_mbus_2")},
            name="Water meter (channel 2)",
        )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await _until_entity(hass, GAS)
        gas_device = _channel_device(hass, entry, 1)
        meter_device = devices.async_get_device_by_identifier((DOMAIN, "53494D0000000001"), entry.entry_id)
        assert gas_device is not None
        assert meter_device is not None
        assert _channel_device(hass, entry, 2) is not None  # selected: kept until the user says

        assert await async_setup_component(hass, "config", {})
        client = await hass_ws_client(hass)

        async def remove(device: dr.DeviceEntry) -> dict[str, Any]:
            await client.send_json_auto_id(
                {
                    "type": "config/device_registry/remove_config_entry",
                    "config_entry_id": entry.entry_id,
                    "device_id": device.id,
                }
            )
            answer: dict[str, Any] = await client.receive_json()
            return answer

        assert not (await remove(gas_device))["success"]  # live: its telegrams would bring it back
        assert not (await remove(meter_device))["success"]  # goes with the entry
        assert (await remove(water_device))["success"]
        assert _channel_device(hass, entry, 2) is None
        assert _channel_device(hass, entry, 1) is not None
        assert entry.options[CONF_OBJECTS] == [GAS]  # not made again at the next start
        assert entry.options[CONF_MBUS_CHANNELS] == [1]  # a meter connected there later is shown again
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()
