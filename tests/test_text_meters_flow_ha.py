"""Meters that speak the text side of IEC 62056, set up through the config flow as a user would.

- an optical port without HDLC (IEC 62056-21 mode C, and mode A), the simulator on a real pty: the
  serial polled flow finds out by itself that the meter answers a data readout, not HDLC;
- a P1 port (DSMR 5) and a Luxembourg Smarty (P1 text inside general-glo-ciphering) behind a TCP
  bridge on 127.0.0.1, through the network push flow.

Each gives a named device (maker from the FLAG ID, model from the identification, the meter number
decoded from DSMR's hex) and sensors with the units and classes the Energy panel takes.
"""

from __future__ import annotations

import json
import os
import tty
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem import probe
from custom_components.dlms_cosem.config_flow import MANUAL_PORT
from custom_components.dlms_cosem.const import CONF_DATA_READOUT, CONF_OPTICAL_MODE_E, DOMAIN
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.readout import ReadoutMeter, ReadoutPty
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.meter_identity import hex_encoded_text, identification_model
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator
from custom_components.dlms_cosem.readout_coordinator import DlmsReadoutCoordinator
from tests.test_push_meters import serve
from tests.waiting import wait_for

VECTORS = {
    vector["id"]: vector
    for vector in json.loads((Path(__file__).parent / "fixtures" / "text_vectors.json").read_text())[
        "vectors"
    ]
}
ENERGY_IMPORT = "1.0.1.8.0.255"
VOLTAGE_L1 = "1.0.32.7.0.255"


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The bridges are on 127.0.0.1."""


@pytest.fixture(autouse=True)
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pty meter answers at once: the probe's HDLC attempt need not wait 5 s for nothing."""
    monkeypatch.setattr(probe, "PROBE_RESPONSE_TIMEOUT", 0.5)


class Clock:
    """The simulated meter's clock: real time plus what the test moves it on (its energy grows with it)."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
async def optical_port(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ReadoutPty, Clock]]:
    """The simulated meter's optical port on a pty, and its clock; mode C unless the test asks for A."""
    clock = Clock()
    meter = ReadoutMeter(SimulatedMeter(clock, serial="87654321"), mode_c=getattr(request, "param", True))
    port = ReadoutPty(meter)
    await port.start()
    try:
        yield port, clock
    finally:
        await port.close()


async def _configure(hass: HomeAssistant, result: dict[str, Any], user_input: Any = None) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


async def _serial_poll_flow(hass: HomeAssistant, port: str) -> dict[str, Any]:
    """The user flow for a polled meter on a port typed in by hand (9600 8N1, no password), probed."""
    result = dict(await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
    result = await _configure(hass, result, {"next_step_id": "serial_poll"})
    result = await _configure(
        hass, result, {"port": MANUAL_PORT, "baudrate": "9600", "parity": "n", "advanced": {}}
    )
    result = await _configure(hass, result, {"port": port})
    return await _configure(hass, result, {"authentication": "none"})


def _choices(result: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    for marker, selector in result["data_schema"].schema.items():
        if str(marker) == "objects":
            labels = {option["value"]: option["label"] for option in selector.config["options"]}
            return labels, list(marker.default())
    raise AssertionError("no objects field")


def _sensor(hass: HomeAssistant, entry_id: str, obis: str) -> Any:
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry_id):
        if entity.unique_id.endswith(f"_{obis}"):
            return hass.states.get(entity.entity_id)
    raise AssertionError(f"no sensor for {obis}")


def _takes_energy(state: Any) -> None:
    """What the Energy panel asks of a grid sensor: energy, a total, a unit of energy."""
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
    assert state.attributes[ATTR_STATE_CLASS] in (SensorStateClass.TOTAL, SensorStateClass.TOTAL_INCREASING)
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"


# --- an optical port without HDLC ----------------------------------------------------------------------


@pytest.mark.parametrize("optical_port", [True, False], ids=["mode C", "mode A"], indirect=True)
async def test_an_optical_meter_without_hdlc_is_found_out_and_read_out(
    hass: HomeAssistant, optical_port: tuple[ReadoutPty, Clock], hass_client: ClientSessionGenerator
) -> None:
    port, clock = optical_port
    result = await _serial_poll_flow(hass, port.path)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "objects"
    labels, preselected = _choices(result)
    assert labels[ENERGY_IMPORT].startswith("Energy import (1.0.1.8.0.255) - ")
    assert labels[ENERGY_IMPORT].endswith(" kWh")
    assert labels[VOLTAGE_L1].endswith(" V")
    assert {ENERGY_IMPORT, VOLTAGE_L1} <= set(preselected)
    assert "1.0.96.1.0.255" not in labels  # the meter number names the device
    result = await _configure(hass, result, {"objects": preselected})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "DLMS/COSEM meter 87654321"
    entry = result["result"]
    assert entry.unique_id == "87654321"
    assert entry.data[CONF_DATA_READOUT] is True
    await hass.async_block_till_done()
    assert isinstance(entry.runtime_data.coordinator, DlmsReadoutCoordinator)
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "87654321"), entry.entry_id)
    assert device is not None
    expected_model = "SIMULATED-C" if port.meter.mode_c else "SIMULATED-A"
    assert (device.model, device.serial_number) == (expected_model, "87654321")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["data_readout"]["mode"] == ("C" if port.meter.mode_c else "A")
    assert diagnostics["data_readout"]["baudrate"] == (9600 if port.meter.mode_c else 300)

    energy = _sensor(hass, entry.entry_id, ENERGY_IMPORT)
    _takes_energy(energy)
    first = float(energy.state)
    voltage = _sensor(hass, entry.entry_id, VOLTAGE_L1)
    assert voltage.attributes[ATTR_UNIT_OF_MEASUREMENT] == "V"
    assert 200 < float(voltage.state) < 260
    readouts = port.meter.readouts

    # A scan interval later the meter is read out again, and the energy it counted since is shown (a
    # minute's worth: within what the plausibility guard lets a total rise in the time that passed).
    clock.ahead += timedelta(minutes=1)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await wait_for(lambda: port.meter.readouts > readouts, 10)
    await wait_for(lambda: _sensor(hass, entry.entry_id, ENERGY_IMPORT).state != energy.state, 10)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.last_update_success, coordinator.last_exception
    later = float(_sensor(hass, entry.entry_id, ENERGY_IMPORT).state)
    assert later > first
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_unplugged_optical_head_makes_the_sensors_unavailable_until_it_is_back(
    hass: HomeAssistant, optical_port: tuple[ReadoutPty, Clock], tmp_path: Path
) -> None:
    port, _clock = optical_port
    link = tmp_path / "ttyUSB-optical"  # a stable name, as /dev/serial/by-id gives the head
    link.symlink_to(port.path)
    result = await _serial_poll_flow(hass, str(link))
    result = await _configure(hass, result, {"objects": [ENERGY_IMPORT]})
    entry = result["result"]
    await hass.async_block_till_done()
    assert _sensor(hass, entry.entry_id, ENERGY_IMPORT).state != STATE_UNAVAILABLE
    coordinator = entry.runtime_data.coordinator

    await port.close()  # the head's USB adapter is pulled: its port is gone
    link.unlink()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not coordinator.last_update_success
    assert getattr(coordinator.last_exception, "translation_key", None) == "communication_error"
    assert _sensor(hass, entry.entry_id, ENERGY_IMPORT).state == STATE_UNAVAILABLE

    # Plugged in again: the next scan reads the meter out as before.
    again = ReadoutPty(port.meter)
    link.symlink_to(await again.start())
    try:
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert coordinator.last_update_success, coordinator.last_exception
        assert float(_sensor(hass, entry.entry_id, ENERGY_IMPORT).state) > 0
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await again.close()


async def test_an_optical_port_that_wants_the_mode_e_opening_is_polled_with_it(hass: HomeAssistant) -> None:
    """A DLMS meter whose optical port speaks HDLC only after the IEC 62056-21 mode E opening."""
    meter = SimulatedMeter(Clock(), serial="55443322")
    settings = RunnerSettings(Transport.HDLC_PTY, optical_mode_e=True)
    async with SimulatorServer(meter, settings) as server:
        result = await _serial_poll_flow(hass, server.address)
        assert result["step_id"] == "objects", result.get("errors")
        labels, preselected = _choices(result)
        assert labels[ENERGY_IMPORT].endswith(" kWh")
        result = await _configure(hass, result, {"objects": preselected})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        assert entry.data[CONF_OPTICAL_MODE_E] is True
        assert CONF_DATA_READOUT not in entry.data
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPollCoordinator)  # a DLMS association, not a readout
        _takes_energy(_sensor(hass, entry.entry_id, ENERGY_IMPORT))
        assert float(_sensor(hass, entry.entry_id, ENERGY_IMPORT).state) > 0
        # A reload opens the port again: the meter is signed on to again, and polled as before.
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.coordinator.last_update_success
        assert _sensor(hass, entry.entry_id, ENERGY_IMPORT).state != STATE_UNAVAILABLE
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_port_that_answers_neither_hdlc_nor_a_readout_says_so_on_the_form(
    hass: HomeAssistant,
) -> None:
    master, slave = os.openpty()  # a serial port with nothing at the other end
    tty.setraw(slave)
    try:
        result = await _serial_poll_flow(hass, os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "timeout"}  # the HDLC settings are what the form shows


# --- P1 and Smarty behind a bridge ---------------------------------------------------------------------


async def _push_flow(hass: HomeAssistant, port: int, keys: dict[str, str]) -> dict[str, Any]:
    result = dict(await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
    result = await _configure(hass, result, {"next_step_id": "network_push"})
    result = await _configure(hass, result, {"host": "127.0.0.1", "port": port})
    result = await _configure(hass, result, keys)
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await _configure(hass, result)
    return result


@pytest.mark.parametrize(
    ("vector_id", "title", "model", "energy"),
    [
        # DSMR sends its equipment identifier in hex: 4530303434... is E00440...
        ("dsmr5-p1-plain-synthetic", "Iskraemeco E0044007131650617", "M550T-1013", "1.0.1.8.1.255"),
        # The Smarty names itself in its logical device name, hex too; the system title says Sagemcom.
        (
            "smarty-lu-dsmr-in-gcm-synthetic",
            "Sagemcom SAG3030003300002408",
            "53833635_D",
            ENERGY_IMPORT,
        ),
    ],
)
async def test_a_text_telegram_meter_sets_up_through_the_flow(
    hass: HomeAssistant, vector_id: str, title: str, model: str, energy: str
) -> None:
    vector = VECTORS[vector_id]
    keys = {}
    if vector.get("keys"):
        keys = {
            "encryption_key": vector["keys"]["encryption"],
            "authentication_key": vector["keys"]["authentication"],
        }
    async with serve(b"".join(bytes.fromhex(frame) for frame in vector["frames"])) as port:
        result = await _push_flow(hass, port, keys)
        assert result["step_id"] == "objects"
        labels, preselected = _choices(result)
        assert energy in preselected
        assert labels[energy].endswith(" kWh")
        # Who the meter is names the device, not a sensor.
        assert not any(".96.1.1." in key or ".42.0.0." in key for key in labels)
        result = await _configure(hass, result, {"objects": preselected})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == title
        entry = result["result"]
        await hass.async_block_till_done()
        await wait_for(lambda: _sensor(hass, entry.entry_id, energy) is not None, 10)
        state = _sensor(hass, entry.entry_id, energy)
        await wait_for(lambda: _sensor(hass, entry.entry_id, energy).state != STATE_UNAVAILABLE, 10)
        state = _sensor(hass, entry.entry_id, energy)
        _takes_energy(state)
        assert float(state.state) > 0
        device = next(iter(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)))
        assert device.model == model
        assert device.name == title
        assert await hass.config_entries.async_unload(entry.entry_id)


# --- identifiers by structure -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("4530303434303037313331363530363137", "E0044007131650617"),  # DSMR 5 (dsmr_parser's tests)
        ("4B384547303034303436333935353037", "K8EG004046395507"),  # DSMR 4
        ("3153414733313031303231363035", "1SAG3101021605"),  # Fluvius e-MUCS
        ("383930303832323030303032313630", "890082200002160"),  # E.ON Hungary
        ("12345678", None),  # a meter number: bytes 0x12 0x34 ..., no characters
        ("1234567890", None),
        ("ADC3100000158491", None),  # not ASCII
        ("3960221976967177082151037881335713", None),  # 0x60 is no identifier character
        ("4530", None),  # too short to tell
        ("453030343", None),  # odd
        ("E0044007131650617", None),  # already text
    ],
)
def test_hex_encoded_identifiers_are_known_by_their_structure(text: str, decoded: str | None) -> None:
    assert hex_encoded_text(text) == decoded


@pytest.mark.parametrize(
    ("identification", "model"),
    [
        ("ISK5\\2M550T-1013", "M550T-1013"),  # DSMR writes the escape as two characters
        ("ISk5\x02MIE5T-200", "MIE5T-200"),  # some send the control character itself
        ("ISk5MT174-0001", "MT174-0001"),
        ("ESY5Q3DB1024 V3.04", "Q3DB1024 V3.04"),
        ("Lux5\\253833635_D", "53833635_D"),
        ("ISK5", None),
        (None, None),
    ],
)
def test_the_identification_names_the_model(identification: str | None, model: str | None) -> None:
    assert identification_model(identification) == model
