"""The config flow against the simulated meter over real ptys and TCP: every path and every error.

Only the list of USB serial ports is mocked (a test machine has none). Tests that end with a new or
updated entry patch the integration's setup and unload, so they test the flow and not the
coordinator; the reconfigure and reauth tests use a setup that holds the meter's port the way the
coordinator does, to show that the flow frees it while it probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import tty
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import probatio
import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]
from serialx import SerialPortInfo

from custom_components.dlms_cosem import config_flow, probe
from custom_components.dlms_cosem.config_flow import MANUAL_PORT, SECRET_UNCHANGED
from custom_components.dlms_cosem.connection import stream_opener
from custom_components.dlms_cosem.const import (
    CONF_ALLOW_CHANGES,
    CONF_OBJECTS,
    CONF_PLAUSIBILITY,
    CONF_PUSH_TIMEOUT,
    CONF_SCAN_INTERVAL,
    CONF_UPDATE_INTERVAL,
    DEFAULT_PUSH_TIMEOUT,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import (
    ApduTag,
    AuthenticationMechanism,
    DataAccessResult,
    DataNotification,
    LongInvokeIdAndPriority,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys, protect
from custom_components.dlms_cosem.dlms.simulator import (
    MeterSecurity,
    PushFraming,
    PushSettings,
    RunnerSettings,
    SimulatedMeter,
    SimulatorServer,
)
from custom_components.dlms_cosem.dlms.simulator.model import (
    SERIAL_NUMBER,
    WH,
    AccessFailureError,
    Register,
)
from custom_components.dlms_cosem.dlms.simulator.push import DEFAULT_PUSH_OBJECTS, frame_push
from custom_components.dlms_cosem.dlms.simulator.runner import Transport
from custom_components.dlms_cosem.models import MeterReading

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
WRONG = "FFEEDDCCBBAA99887766554433221100"
# Suite 2 (AES-GCM-256) keys: 64 hex digits.
EK_256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
AK_256 = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF"
KEYS = SecurityKeys(bytes.fromhex(EK), bytes.fromhex(AK))
TITLE = bytes.fromhex("4B464D0000000042")  # "KFM": a Kaifa meter
PASSWORD = "Fl0wPass"  # not the simulated serial number (12345678): the secret scan would find that
ENERGY = "1.0.1.8.0.255"
ENERGY_CODE = ObisCode(1, 0, 1, 8, 0, 255)
POLLED_PRESELECTED = [
    "1.0.1.7.0.255",
    ENERGY,
    "1.0.2.7.0.255",
    "1.0.2.8.0.255",
    "1.0.31.7.0.255",
    "1.0.32.7.0.255",
    "1.0.51.7.0.255",
    "1.0.52.7.0.255",
    "1.0.71.7.0.255",
    "1.0.72.7.0.255",
]

# --- fixtures and helpers -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A silent meter is given up after 0.6 s, a silent push port after 3 s."""
    monkeypatch.setattr(probe, "PROBE_RESPONSE_TIMEOUT", 0.3)
    monkeypatch.setattr(config_flow, "WAIT_TELEGRAM_TIMEOUT", 3.0)


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests where no telegram will come."""
    monkeypatch.setattr(config_flow, "WAIT_TELEGRAM_TIMEOUT", 1.0)


@pytest.fixture(autouse=True)
def usb_ports() -> Iterator[list[SerialPortInfo]]:
    """The USB serial ports "plugged in": none unless a test adds some."""
    ports: list[SerialPortInfo] = []
    with patch("custom_components.dlms_cosem.flow.serial_ports.list_serial_ports", return_value=ports):
        yield ports


@pytest.fixture
async def usb_integration(hass: HomeAssistant) -> AsyncIterator[list[SerialPortInfo]]:
    """Home Assistant's usb integration loaded, its scan finding the ports a test adds."""
    from homeassistant.components.usb.utils import usb_serial_device_from_port

    ports: list[SerialPortInfo] = []

    async def scan(hass: HomeAssistant) -> list[Any]:
        return [usb_serial_device_from_port(port) for port in ports]

    assert await async_setup_component(hass, "usb", {})
    with patch("homeassistant.components.usb.async_scan_serial_ports", side_effect=scan):
        yield ports


@pytest.fixture
def no_setup() -> Iterator[None]:
    with (
        patch("custom_components.dlms_cosem.async_setup_entry", return_value=True),
        patch("custom_components.dlms_cosem.async_unload_entry", return_value=True),
    ):
        yield


@pytest.fixture
def port_holding_setup() -> Iterator[list[str]]:
    """A setup that keeps the entry's port open (exclusively, as serial ports are) until unload."""
    events: list[str] = []
    writers: dict[str, asyncio.StreamWriter | None] = {}

    async def setup(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
        _, writers[entry.entry_id] = await stream_opener(entry.data)()
        events.append("setup")
        return True

    async def unload(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
        writer = writers.pop(entry.entry_id)
        assert writer is not None
        writer.close()
        await writer.wait_closed()
        events.append("unload")
        return True

    with (
        patch("custom_components.dlms_cosem.async_setup_entry", side_effect=setup),
        patch("custom_components.dlms_cosem.async_unload_entry", side_effect=unload),
    ):
        yield events


def usb_port(path: str) -> SerialPortInfo:
    return SerialPortInfo(
        device=path,
        resolved_device="/dev/ttyUSB0",
        vid=0x0403,
        pid=0x6001,
        serial_number="A50285BI",
        manufacturer="FTDI",
        product="FT232R USB UART",
        bcd_device=0x600,
        interface_description=None,
        interface_num=0,
    )


def lls(**options: Any) -> MeterSecurity:
    return MeterSecurity(
        authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode(), **options
    )


def hls(**options: Any) -> MeterSecurity:
    return MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS, require_ciphering=True, **options
    )


def pushing(**options: Any) -> MeterSecurity:
    return MeterSecurity(keys=KEYS, system_title=TITLE, **options)


@asynccontextmanager
async def simulator(
    transport: Transport,
    security: MeterSecurity | None = None,
    *,
    serial: str = "12345678",
    push: PushSettings | None = None,
    short_names: bool = False,
) -> AsyncIterator[SimulatorServer]:
    meter = SimulatedMeter(lambda: NOW, serial=serial, security=security)
    meter.add(Register(BROKEN, broken_value, WH))
    settings = RunnerSettings(
        transport=transport,
        push_interval=0.2 if push else None,
        push=push or PushSettings(),
        short_names=short_names,
    )
    async with SimulatorServer(meter, settings) as server:
        yield server


BROKEN = ObisCode(1, 0, 15, 8, 0, 255)
"""A register every simulated meter lists but cannot read (its value comes from a failed sensor)."""


def broken_value(instant: datetime) -> Data:
    raise AccessFailureError(DataAccessResult.HARDWARE_FAULT)


def notification(*elements: Data) -> bytes:
    return DataNotification(
        body=Data.array(*elements), long_invoke_id_and_priority=LongInvokeIdAndPriority(1)
    ).encode()


def ciphered(suite: int, ek: str, ak: str | None = None) -> bytes:
    """A general-glo-ciphered Data-Notification of ``suite`` (security control 0x30 | suite) from TITLE."""
    keys = SecurityKeys(bytes.fromhex(ek), bytes.fromhex(ak) if ak else None)
    plaintext = notification(
        Data.structure(Data.octet_string(ENERGY_CODE.to_bytes()), Data.double_long_unsigned(129370)),
    )
    control = (0x30 if ak else 0x20) | suite
    return protect(
        ApduTag.GENERAL_GLO_CIPHERING,
        plaintext,
        keys,
        system_title=TITLE,
        invocation_counter=7,
        control=control,
    ).encode()


def host_port(server: SimulatorServer) -> tuple[str, int]:
    host, port = server.address.rsplit(":", 1)
    return host, int(port)


class Pty:
    """A serial line with nothing but the test at the other end: silence, or garbage.

    Linux ptys take even parity only the first time a port is configured (EINVAL afterwards), so
    tests that open a pty more than once use 8N1.
    """

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    async def babble(self) -> None:
        """Bytes that never make a frame (HDLC flags with broken frames between them)."""
        while True:
            with contextlib.suppress(BlockingIOError):
                os.write(self.master, b"\x7e\xa0\x19\x03\x55\xaa\x13\x7e" + bytes(range(0x20, 0x60)))
            await asyncio.sleep(0.05)

    async def push(self, apdu: bytes) -> None:
        """The same telegram again and again, framed as HDLC UI frames."""
        while True:
            with contextlib.suppress(BlockingIOError):
                os.write(self.master, b"".join(frame_push(apdu, PushSettings())))
            await asyncio.sleep(0.2)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty() -> Iterator[Pty]:
    line = Pty()
    yield line
    line.close()


def closed_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == [
        "serial_poll",
        "network_poll",
        "udp_poll",
        "serial_push",
        "network_push",
        "mqtt_push",
    ]
    return await configure(hass, result, {"next_step_id": kind})


async def configure(
    hass: HomeAssistant, result: Mapping[str, Any], user_input: dict[str, Any] | None = None
) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


async def polled_serial(
    hass: HomeAssistant,
    port: str,
    security: dict[str, Any],
    advanced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The user flow for a polled meter on a port typed in by hand, up to the probe's outcome."""
    result = await start(hass, "serial_poll")
    result = await configure(
        hass, result, {"port": MANUAL_PORT, "baudrate": "9600", "parity": "n", "advanced": advanced or {}}
    )
    result = await configure(hass, result, {"port": port})
    return await configure(hass, result, security)


async def pushed_serial(hass: HomeAssistant, port: str, keys: dict[str, str] | None = None) -> dict[str, Any]:
    """The user flow for a pushing meter on a port typed in by hand (115200 8N1), past the wait."""
    result = await start(hass, "serial_push")
    result = await configure(hass, result, {"port": MANUAL_PORT, "baudrate": "115200", "parity": "n"})
    result = await configure(hass, result, {"port": port})
    result = await configure(hass, result, keys or {})
    return await finish_waiting(hass, result)


@asynccontextmanager
async def running(hass: HomeAssistant, line: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    task = hass.async_create_background_task(line, "the other end of the line")
    try:
        yield
    finally:
        task.cancel()


async def finish_waiting(hass: HomeAssistant, result: Mapping[str, Any]) -> dict[str, Any]:
    """The telegram arrived (or did not): past the progress step, when the wait took long enough for one."""
    if result["type"] is not FlowResultType.SHOW_PROGRESS:
        return dict(result)  # the outcome came within config_flow.PROGRESS_GRACE
    assert result["step_id"] == "wait_telegram"
    assert result["progress_action"] == "wait_telegram"
    assert result["description_placeholders"] == {"timeout": str(round(config_flow.WAIT_TELEGRAM_TIMEOUT))}
    await hass.async_block_till_done()
    return await configure(hass, result)


def field_default(result: Mapping[str, Any], name: str) -> Any:
    for marker in result["data_schema"].schema:
        if marker == name:
            default = marker.default
            if default is probatio.UNDEFINED:
                return None
            return default() if callable(default) else default
    raise KeyError(name)


def suggested(result: Mapping[str, Any], name: str) -> Any:
    for marker in result["data_schema"].schema:
        if marker == name:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(name)


def selector_options(result: Mapping[str, Any], name: str) -> list[dict[str, str]]:
    return list(result["data_schema"].schema[name].config["options"])


def fields(result: Mapping[str, Any]) -> list[str]:
    return [str(marker) for marker in result["data_schema"].schema]


def polled_entry(data: dict[str, Any], *, unique_id: str = "12345678", **options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Meter",
        unique_id=unique_id,
        data={"client_address": 16, "server_logical_address": 1, "authentication": "none", **data},
        options={CONF_OBJECTS: [ENERGY], CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL, **options},
    )


async def loaded(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


# --- polled meters ------------------------------------------------------------------------------------


async def test_polled_serial_without_security(
    hass: HomeAssistant, usb_ports: list[SerialPortInfo], no_setup: None
) -> None:
    async with simulator(Transport.HDLC_PTY) as server:
        usb_ports.append(usb_port(server.address))
        usb_ports.append(
            SerialPortInfo("/dev/ttyS0", "/dev/ttyS0", None, None, None, None, None, None, None, None)
        )
        result = await start(hass, "serial_poll")
        assert result["step_id"] == "serial"
        assert result["errors"] == {}
        assert field_default(result, "port") == server.address
        assert field_default(result, "baudrate") == "9600"
        assert field_default(result, "parity") == "n"
        assert selector_options(result, "port") == [
            {"value": server.address, "label": f"{server.address} (FT232R USB UART, FTDI, s/n A50285BI)"},
            {"value": "/dev/ttyS0", "label": "/dev/ttyS0"},
            {"value": MANUAL_PORT, "label": "Enter manually"},
        ]
        result = await configure(
            hass, result, {"port": server.address, "baudrate": "9600", "parity": "n", "advanced": {}}
        )
        assert result["step_id"] == "security"
        assert fields(result) == [
            "authentication",
            "password",
            "security_suite",
            "encryption_key",
            "authentication_key",
        ]
        result = await configure(hass, result, {"authentication": "none"})
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "objects"
        labels = {option["value"]: option["label"] for option in selector_options(result, "objects")}
        assert field_default(result, "objects") == POLLED_PRESELECTED
        result = await configure(hass, result, {"objects": [ENERGY, "1.0.32.7.0.255"]})

    # As the sensor shows it: in kWh with three decimals, not the register's Wh.
    assert labels[ENERGY] == "Energy import (1.0.1.8.0.255) - 26\u202f319.870 kWh"
    assert labels["1.0.32.7.0.255"] == "Voltage L1 (1.0.32.7.0.255) - 228.1 V"
    assert "0.0.96.1.0.255" not in labels  # the meter number is the device's serial number, not a sensor
    assert labels["0.0.43.1.0.255"] == "Meter invocation counter 1 (0.0.43.1.0.255) - 0"
    assert labels["1.0.1.5.0.255"].startswith("Average power import (last period) (1.0.1.5.0.255) - ")
    assert labels[str(BROKEN)] == str(BROKEN)  # listed, but its value could not be read
    assert list(labels)[: len(POLLED_PRESELECTED)] == POLLED_PRESELECTED
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "DLMS/COSEM meter 12345678"
    assert result["result"].unique_id == "12345678"
    assert result["data"] == {
        "connection_type": "serial_poll",
        "port": server.address,
        "baudrate": 9600,
        "parity": "n",
        "client_address": 16,
        "server_logical_address": 1,
        "server_physical_address": 17,
        "negotiate_hdlc": True,
        "authentication": "none",
    }
    assert result["options"] == {CONF_OBJECTS: [ENERGY, "1.0.32.7.0.255"], CONF_SCAN_INTERVAL: 30}


async def test_serial_ports_listed_by_the_usb_integration(
    hass: HomeAssistant,
    usb_integration: list[SerialPortInfo],
    usb_ports: list[SerialPortInfo],
    no_setup: None,
) -> None:
    """With usb loaded its scan lists the ports (by /dev/serial/by-id path), not serialx's."""
    usb_ports.append(
        SerialPortInfo("/dev/ttyS9", "/dev/ttyS9", None, None, None, None, None, None, None, None)
    )
    async with simulator(Transport.HDLC_PTY) as server:
        usb_integration.append(usb_port(server.address))
        usb_integration.append(
            SerialPortInfo("/dev/ttyS0", "/dev/ttyS0", None, None, None, None, None, None, None, None)
        )
        result = await start(hass, "serial_poll")
        assert result["step_id"] == "serial"
        assert field_default(result, "port") == server.address
        assert selector_options(result, "port") == [
            {
                "value": server.address,
                "label": f"FT232R USB UART - {server.address}, s/n: A50285BI - FTDI - 0403:6001",
            },
            {"value": "/dev/ttyS0", "label": "ttyS0 - /dev/ttyS0, s/n: n/a"},
            {"value": MANUAL_PORT, "label": "Enter manually"},
        ]
        result = await configure(
            hass, result, {"port": server.address, "baudrate": "9600", "parity": "n", "advanced": {}}
        )
        result = await configure(hass, result, {"authentication": "none"})
        assert result["step_id"] == "objects"
        result = await configure(hass, result, {"objects": [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["port"] == server.address


async def test_polled_serial_lls_on_a_port_entered_by_hand(hass: HomeAssistant, no_setup: None) -> None:
    async with simulator(Transport.HDLC_PTY, lls()) as server:
        result = await start(hass, "serial_poll")
        assert field_default(result, "port") == MANUAL_PORT  # nothing plugged in
        advanced = {
            "client_address": 32,
            "server_logical_address": 1,
            "server_physical_address": 17,
            "negotiate_hdlc": False,  # a meter that fails with longer frames: the user switched it off
        }
        result = await configure(
            hass, result, {"port": MANUAL_PORT, "baudrate": "19200", "parity": "e", "advanced": advanced}
        )
        assert result["step_id"] == "serial_manual"
        result = await configure(hass, result, {"port": f" {server.address} "})
        assert result["step_id"] == "security"
        result = await configure(
            hass,
            result,
            {"authentication": "lls", "password": PASSWORD, "encryption_key": "", "authentication_key": ""},
        )
        assert result["step_id"] == "objects"
        result = await configure(hass, result, {"objects": [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "connection_type": "serial_poll",
        "port": server.address,
        "baudrate": 19200,
        "parity": "e",
        "client_address": 32,
        "server_logical_address": 1,
        "server_physical_address": 17,
        "negotiate_hdlc": False,
        "authentication": "lls",
        "password": PASSWORD,
    }


async def test_polled_serial_hls_gmac_ciphered(hass: HomeAssistant, no_setup: None) -> None:
    async with simulator(Transport.HDLC_PTY, hls()) as server:
        server.meter.security.client_invocation_counter = 41  # another client was here before
        result = await polled_serial(
            hass,
            server.address,
            {
                "authentication": "hls_gmac",
                "password": "ignored",
                "encryption_key": "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
                "authentication_key": AK.lower(),
            },
            {
                "client_address": 1,
                "server_logical_address": 1,
                "server_physical_address": 17,
                "address_size": "4",
            },
        )
        assert result["step_id"] == "objects"
        assert server.meter.security.client_invocation_counter > 41
        result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Keys are stored normalised; a password is only kept for LLS.
    assert result["data"]["encryption_key"] == EK
    assert result["data"]["authentication_key"] == AK
    assert "password" not in result["data"]
    assert result["data"]["address_size"] == 4
    assert result["options"][CONF_OBJECTS] == POLLED_PRESELECTED


@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "hdlc"])
async def test_polled_network(hass: HomeAssistant, socket_enabled: None, no_setup: None, hdlc: bool) -> None:
    transport = Transport.HDLC_TCP if hdlc else Transport.WRAPPER_TCP
    async with simulator(transport, serial="55501234") as server:
        del server.meter.objects[ObisCode(0, 0, 42, 0, 0, 255)]  # a meter without a logical device name
        host, port = host_port(server)
        result = await start(hass, "network_poll")
        assert result["step_id"] == "network"
        assert field_default(result, "port") == 4059
        assert field_default(result, "hdlc") is False
        result = await configure(
            hass, result, {"host": f"{host} ", "port": port, "hdlc": hdlc, "advanced": {}}
        )
        result = await configure(hass, result, {"authentication": "none"})
        assert result["step_id"] == "objects"
        result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "55501234"
    assert result["data"] == {
        "connection_type": "network_poll",
        "host": host,
        "port": port,
        "hdlc": hdlc,
        "client_address": 16,
        "server_logical_address": 1,
        "server_physical_address": 17,
        "negotiate_hdlc": True,
        "authentication": "none",
    }


async def test_polled_short_name_meter(hass: HomeAssistant, socket_enabled: None, no_setup: None) -> None:
    # A meter that accepts short name referencing only: the probe finds out by itself.
    async with simulator(Transport.WRAPPER_TCP, serial="77701234", short_names=True) as server:
        host, port = host_port(server)
        result = await start(hass, "network_poll")
        result = await configure(hass, result, {"host": host, "port": port, "hdlc": False, "advanced": {}})
        result = await configure(hass, result, {"authentication": "none"})
        assert result["step_id"] == "objects"
        labels = {option["value"]: option["label"] for option in selector_options(result, "objects")}
        assert labels["1.0.1.8.0.255"].startswith("Energy import (1.0.1.8.0.255) - ")
        assert labels["1.0.32.7.0.255"].endswith(" V")
        result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "77701234"
    assert result["options"][CONF_OBJECTS] == POLLED_PRESELECTED


async def test_a_meter_is_configured_once(hass: HomeAssistant, socket_enabled: None) -> None:
    polled_entry({"connection_type": "network_poll", "host": "192.0.2.1", "port": 4059}).add_to_hass(hass)
    async with simulator(Transport.WRAPPER_TCP) as server:
        host, port = host_port(server)
        result = await start(hass, "network_poll")
        result = await configure(hass, result, {"host": host, "port": port, "hdlc": False, "advanced": {}})
        result = await configure(hass, result, {"authentication": "none"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# --- polled meters: what goes wrong -------------------------------------------------------------------


async def test_wrong_password(hass: HomeAssistant) -> None:
    async with simulator(Transport.HDLC_PTY, lls()) as server:
        result = await polled_serial(hass, server.address, {"authentication": "lls", "password": "wrong"})
        assert result["step_id"] == "security"
        assert result["errors"] == {"base": "authentication_failed"}
        # The password is not sent back to the browser: a placeholder stands for it.
        assert suggested(result, "password") == SECRET_UNCHANGED
        assert field_default(result, "authentication") == "lls"
        result = await configure(hass, result, {"authentication": "lls", "password": SECRET_UNCHANGED})
        assert result["errors"] == {"base": "authentication_failed"}


async def test_wrong_key_of_a_polled_meter(hass: HomeAssistant) -> None:
    async with simulator(Transport.HDLC_PTY, hls()) as server:
        result = await polled_serial(
            hass,
            server.address,
            {"authentication": "hls_gmac", "encryption_key": WRONG, "authentication_key": AK},
            {"client_address": 1},
        )
    assert result["step_id"] == "security"
    assert result["errors"] == {"base": "authentication_failed"}


async def test_association_rejected(hass: HomeAssistant) -> None:
    async with simulator(Transport.HDLC_PTY, lls(allow_public_client=False)) as server:
        result = await polled_serial(hass, server.address, {"authentication": "none"})
    assert result["step_id"] == "security"
    assert result["errors"] == {"base": "association_rejected"}


async def test_port_cannot_be_opened(hass: HomeAssistant, tmp_path: Any) -> None:
    missing = str(tmp_path / "ttyUSB9")
    result = await polled_serial(hass, missing, {"authentication": "none"})
    # Shown where the port is chosen, with the port typed by hand offered again.
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "cannot_open_port"}
    assert field_default(result, "port") == missing
    assert selector_options(result, "port")[0] == {"value": missing, "label": missing}
    assert field_default(result, "baudrate") == "9600"


async def test_meter_does_not_answer(hass: HomeAssistant, pty: Pty) -> None:
    result = await polled_serial(hass, pty.path, {"authentication": "none"})
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "timeout"}


async def test_meter_does_not_answer_on_the_network(hass: HomeAssistant, socket_enabled: None) -> None:
    result = await start(hass, "network_poll")
    result = await configure(
        hass, result, {"host": "127.0.0.1", "port": closed_tcp_port(), "hdlc": False, "advanced": {}}
    )
    result = await configure(hass, result, {"authentication": "none"})
    assert result["step_id"] == "network"
    assert result["errors"] == {"base": "cannot_connect"}
    assert field_default(result, "hdlc") is False


async def test_address_too_large_for_its_size_is_explained(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await polled_serial(
            hass,
            pty.path,
            {"authentication": "lls", "password": "do-not-log-me"},
            # A logical address of 200 does not fit a 2-byte HDLC address.
            {"server_logical_address": 200, "address_size": "2"},
        )
    assert result["step_id"] == "serial"  # where the addresses are
    assert result["errors"] == {"base": "cannot_encode"}
    assert "Unexpected error" not in caplog.text
    assert "do-not-log-me" not in caplog.text


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"authentication": "none", "encryption_key": "not a key"}, {"encryption_key": "invalid_key"}),
        ({"authentication": "none", "authentication_key": "0011"}, {"authentication_key": "invalid_key"}),
        ({"authentication": "lls"}, {"password": "authentication_failed"}),
        (
            {"authentication": "hls_gmac"},
            {"encryption_key": "invalid_key", "authentication_key": "invalid_key"},
        ),
    ],
    ids=["bad-encryption-key", "short-authentication-key", "lls-without-password", "hls-without-keys"],
)
async def test_security_form_is_checked_before_the_meter_is_asked(
    hass: HomeAssistant, user_input: dict[str, Any], errors: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    result = await polled_serial(hass, "/dev/never-opened", user_input)
    assert result["step_id"] == "security"
    assert result["errors"] == errors
    assert "not a key" not in caplog.text


# --- push meters --------------------------------------------------------------------------------------


async def test_push_serial_encrypted(
    hass: HomeAssistant, usb_ports: list[SerialPortInfo], no_setup: None
) -> None:
    push = PushSettings(framing=PushFraming.HDLC, security=0x30)
    async with simulator(Transport.HDLC_PTY, pushing(), push=push) as server:
        usb_ports.append(usb_port(server.address))
        result = await start(hass, "serial_push")
        assert result["step_id"] == "serial"
        assert field_default(result, "baudrate") == "2400"  # M-Bus customer ports: 2400 8E1
        assert field_default(result, "parity") == "e"
        assert "advanced" not in fields(result)
        result = await configure(hass, result, {"port": server.address, "baudrate": "2400", "parity": "e"})
        assert result["step_id"] == "security"
        assert fields(result) == ["security_suite", "encryption_key", "authentication_key"]
        result = await configure(hass, result, {"encryption_key": EK, "authentication_key": AK})
        result = await finish_waiting(hass, result)
        assert result["step_id"] == "objects"
        labels = {option["value"]: option["label"] for option in selector_options(result, "objects")}
        preselected = field_default(result, "objects")
        result = await configure(hass, result, {"objects": preselected})
    assert preselected == POLLED_PRESELECTED
    assert "0.0.42.0.0.255" not in labels  # the logical device name names the device and its maker
    assert "0.0.1.0.0.255" in labels  # the clock, offered but not preselected
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Kaifa SIM12345678"
    assert result["result"].unique_id == TITLE.hex().upper()  # no serial number in the telegram
    assert result["data"] == {
        "connection_type": "serial_push",
        "port": server.address,
        "baudrate": 2400,
        "parity": "e",
        "security_suite": 0,
        "encryption_key": EK,
        "authentication_key": AK,
        "system_title": TITLE.hex().upper(),
    }
    assert result["options"] == {CONF_OBJECTS: preselected, CONF_PUSH_TIMEOUT: DEFAULT_PUSH_TIMEOUT}


async def test_push_network_encrypted_with_one_key(
    hass: HomeAssistant, socket_enabled: None, no_setup: None
) -> None:
    push = PushSettings(framing=PushFraming.MBUS, security=0x20)
    async with simulator(Transport.WRAPPER_TCP, pushing(), push=push) as server:
        host, port = host_port(server)
        result = await start(hass, "network_push")
        assert result["step_id"] == "network"
        assert fields(result) == ["host", "port"]
        assert field_default(result, "port") is None  # the bridge's port: only the user knows it
        result = await configure(hass, result, {"host": host, "port": port})
        result = await configure(hass, result, {"encryption_key": EK})
        result = await finish_waiting(hass, result)
        result = await configure(hass, result, {"objects": [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "connection_type": "network_push",
        "host": host,
        "port": port,
        "security_suite": 0,
        "encryption_key": EK,
        "system_title": TITLE.hex().upper(),
    }


async def test_push_network_unencrypted_names_the_meter_by_its_serial_number(
    hass: HomeAssistant, socket_enabled: None, no_setup: None
) -> None:
    push = PushSettings(framing=PushFraming.HDLC, objects=(*DEFAULT_PUSH_OBJECTS, SERIAL_NUMBER))
    async with simulator(Transport.HDLC_TCP, serial="7359992890941742", push=push) as server:
        host, port = host_port(server)
        result = await start(hass, "network_push")
        result = await configure(hass, result, {"host": host, "port": port})
        result = await configure(hass, result, {})
        result = await finish_waiting(hass, result)
        result = await configure(hass, result, {"objects": [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "7359992890941742"
    assert result["title"] == "DLMS/COSEM meter 7359992890941742"
    assert result["data"] == {"connection_type": "network_push", "host": host, "port": port}


async def test_push_meter_is_configured_once(hass: HomeAssistant, socket_enabled: None) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=TITLE.hex().upper(), data={}).add_to_hass(hass)
    push = PushSettings(framing=PushFraming.WRAPPER, security=0x30)
    async with simulator(Transport.WRAPPER_TCP, pushing(), push=push) as server:
        host, port = host_port(server)
        result = await start(hass, "network_push")
        result = await configure(hass, result, {"host": host, "port": port})
        result = await configure(hass, result, {"encryption_key": EK, "authentication_key": AK})
        result = await finish_waiting(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("security", "keys", "error"),
    [
        (0x30, {"encryption_key": EK, "authentication_key": WRONG}, "wrong_key"),
        (0x20, {"encryption_key": WRONG}, "wrong_encryption_key"),
        # An authenticated telegram without its authentication key: the tag cannot be checked, and says so.
        (0x30, {"encryption_key": WRONG}, "wrong_key_tag_unchecked"),
        (0x30, {}, "missing_key"),
        # An authentication key for a meter whose telegrams are not authenticated.
        (0x20, {"encryption_key": EK, "authentication_key": AK}, "not_authenticated"),
    ],
)
async def test_push_key_errors(hass: HomeAssistant, security: int, keys: dict[str, str], error: str) -> None:
    push = PushSettings(framing=PushFraming.HDLC, security=security)
    async with simulator(Transport.HDLC_PTY, pushing(), push=push) as server:
        result = await start(hass, "serial_push")
        result = await configure(hass, result, {"port": MANUAL_PORT, "baudrate": "2400", "parity": "e"})
        result = await configure(hass, result, {"port": server.address})
        result = await configure(hass, result, keys)
        result = await finish_waiting(hass, result)
    # Key problems are shown with the keys; the wait ends with the first telegram.
    assert result["step_id"] == "security"
    assert result["errors"] == {"base": error}
    for key in keys:
        assert suggested(result, key) == SECRET_UNCHANGED


async def test_push_nothing_received(hass: HomeAssistant, pty: Pty, short_wait: None) -> None:
    result = await pushed_serial(hass, pty.path)
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_data"}
    assert field_default(result, "baudrate") == "115200"


async def test_push_garbage_received(hass: HomeAssistant, pty: Pty, short_wait: None) -> None:
    async with running(hass, pty.babble()):
        result = await pushed_serial(hass, pty.path)
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_valid_frame"}


async def test_push_connection_refused_is_said_at_once(hass: HomeAssistant, socket_enabled: None) -> None:
    # No progress step: the frontend would miss its end (it listens once it has drawn it) and spin.
    result = await start(hass, "network_push")
    result = await configure(hass, result, {"host": "127.0.0.1", "port": closed_tcp_port()})
    started = time.monotonic()
    result = await configure(hass, result, {})
    assert time.monotonic() - started < config_flow.PROGRESS_GRACE
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "network"
    # The network form has no baud rate, parity or serial port to blame.
    assert result["errors"] == {"base": "cannot_connect"}


async def test_push_port_that_cannot_be_opened_is_said_at_once(hass: HomeAssistant, tmp_path: Any) -> None:
    missing = str(tmp_path / "ttyUSB7")
    result = await start(hass, "serial_push")
    result = await configure(hass, result, {"port": MANUAL_PORT, "baudrate": "115200", "parity": "n"})
    result = await configure(hass, result, {"port": missing})
    started = time.monotonic()
    result = await configure(hass, result, {})
    assert time.monotonic() - started < config_flow.PROGRESS_GRACE
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "cannot_open_port"}
    assert field_default(result, "port") == missing


async def test_a_progress_step_lasts_until_the_frontend_listens(
    hass: HomeAssistant, pty: Pty, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wait outlasts the grace, so the progress step is shown; the probe then fails just after, but
    # the step ends no sooner than the grace after it was shown, when the dialog listens for its end.
    monkeypatch.setattr(config_flow, "PROGRESS_GRACE", 0.4)
    monkeypatch.setattr(config_flow, "WAIT_TELEGRAM_TIMEOUT", 0.5)
    result = await start(hass, "serial_push")
    result = await configure(hass, result, {"port": MANUAL_PORT, "baudrate": "115200", "parity": "n"})
    result = await configure(hass, result, {"port": pty.path})
    result = await configure(hass, result, {})
    shown = time.monotonic()
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["description_placeholders"] == {"timeout": "0"}
    await asyncio.sleep(0.25)  # the probe has ended (no data) by now; the step has not
    assert hass.config_entries.flow.async_get(result["flow_id"])["step_id"] == "wait_telegram"
    await hass.async_block_till_done()
    assert time.monotonic() - shown >= 0.4
    result = await configure(hass, result)
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_data"}


async def test_a_second_entry_on_the_same_port_is_refused_before_the_wait(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    port = closed_tcp_port()
    MockConfigEntry(
        domain=DOMAIN,
        title="Kaifa 7340157011274532",
        unique_id="7340157011274532",
        data={"connection_type": "network_push", "host": "127.0.0.1", "port": port},
    ).add_to_hass(hass)
    result = await start(hass, "network_push")
    result = await configure(hass, result, {"host": "127.0.0.1", "port": port})
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert result["description_placeholders"] == {"title": "Kaifa 7340157011274532"}


async def test_push_meter_that_names_itself_nowhere(hass: HomeAssistant, pty: Pty, no_setup: None) -> None:
    # An empty serial number and no system title: the meter is the meter on its port.
    telegram = notification(
        Data.structure(Data.octet_string(SERIAL_NUMBER.to_bytes()), Data.octet_string(b"\x00\x00")),
        Data.structure(Data.octet_string(ENERGY_CODE.to_bytes()), Data.double_long_unsigned(129370)),
    )
    async with running(hass, pty.push(telegram)):
        result = await pushed_serial(hass, pty.path)
    assert result["step_id"] == "objects"
    # No unit pushed: in the unit the code is defined in (Wh), shown as the sensor shows it. The empty
    # serial number names nothing, and is no sensor either.
    assert selector_options(result, "objects") == [
        {"value": ENERGY, "label": "Energy import (1.0.1.8.0.255) - 129.370 kWh"},
    ]
    result = await configure(hass, result, {"objects": []})  # everything unticked
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_objects"}  # a device without sensors would look broken
    result = await configure(hass, result, {"objects": [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == pty.path


async def test_push_serial_number_in_binary(hass: HomeAssistant, pty: Pty, no_setup: None) -> None:
    # A flat sequence of codes and values (Kamstrup's layout), ending in a value without a code.
    telegram = notification(
        Data.octet_string(ObisCode(0, 0, 42, 0, 0, 255).to_bytes()),
        Data.double_long_unsigned(42),
        Data.octet_string(ObisCode(1, 1, 0, 0, 5, 255).to_bytes()),
        Data.octet_string(b"\x73\x59\x99\x00"),
        Data.octet_string(ENERGY_CODE.to_bytes()),
        Data.double_long_unsigned(129370),
        Data.double_long_unsigned(7),
    )
    async with running(hass, pty.push(telegram)):
        result = await pushed_serial(hass, pty.path)
    result = await configure(hass, result, {})
    assert result["result"].unique_id == "735999"
    assert result["title"] == "DLMS/COSEM meter 735999"


async def test_push_telegrams_that_do_not_decode(hass: HomeAssistant, pty: Pty, short_wait: None) -> None:
    # Whole HDLC frames, but what they carry is no Data-Notification.
    get_response = b"\xc4\x01\xc1\x00\x06\x00\x00\x30\x39"
    async with running(hass, pty.push(get_response)):
        result = await pushed_serial(hass, pty.path)
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_valid_frame"}


# --- security suites ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "meter",
    [(1, EK, AK), (2, EK_256, AK_256), (2, EK_256, None)],
    ids=["suite-1", "suite-2", "suite-2-encrypted-only"],
)
async def test_push_meter_of_each_suite_with_keys_of_its_length(
    hass: HomeAssistant, pty: Pty, no_setup: None, meter: tuple[int, str, str | None]
) -> None:
    suite, ek, ak = meter
    keys = {"security_suite": str(suite), "encryption_key": ek.lower()}
    if ak:
        keys["authentication_key"] = " ".join(ak[i : i + 2] for i in range(0, len(ak), 2))
    async with running(hass, pty.push(ciphered(suite, ek, ak))):
        result = await pushed_serial(hass, pty.path, keys)
        assert result["step_id"] == "objects"
        assert selector_options(result, "objects") == [
            {"value": ENERGY, "label": "Energy import (1.0.1.8.0.255) - 129.370 kWh"}
        ]
        result = await configure(hass, result, {"objects": [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == TITLE.hex().upper()
    expected = {
        "connection_type": "serial_push",
        "port": pty.path,
        "baudrate": 115200,
        "parity": "n",
        "security_suite": suite,
        "encryption_key": ek,  # stored normalised: upper case, no spaces
        "system_title": TITLE.hex().upper(),
    }
    if ak:
        expected["authentication_key"] = ak
    assert result["data"] == expected


async def security_form(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    """The user flow up to its security form, on a port that is never opened."""
    result = await start(hass, kind)
    line = {"port": MANUAL_PORT, "baudrate": "9600", "parity": "n"}
    result = await configure(hass, result, line if kind == "serial_push" else {**line, "advanced": {}})
    result = await configure(hass, result, {"port": "/dev/never-opened"})
    assert result["step_id"] == "security"
    return result


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"security_suite": "2", "encryption_key": EK}, {"encryption_key": "key_length_suite"}),
        (
            {"security_suite": "2", "encryption_key": EK_256, "authentication_key": AK},
            {"authentication_key": "key_length_suite"},
        ),
        (
            {"security_suite": "0", "encryption_key": EK_256, "authentication_key": AK_256},
            {"encryption_key": "key_length_suite", "authentication_key": "key_length_suite"},
        ),
        ({"security_suite": "1", "encryption_key": EK_256}, {"encryption_key": "key_length_suite"}),
        # Neither length: not a key at all, whatever the suite.
        ({"security_suite": "2", "encryption_key": EK_256[:-2]}, {"encryption_key": "invalid_key"}),
        ({"security_suite": "2", "encryption_key": f"{EK_256[:-1]}Z"}, {"encryption_key": "invalid_key"}),
    ],
    ids=[
        "suite-2-short-key",
        "suite-2-short-ak",
        "suite-0-long-keys",
        "suite-1-long-key",
        "62-digits",
        "not-hex",
    ],
)
async def test_key_length_must_fit_the_chosen_suite(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    result = await security_form(hass, "serial_push")
    result = await configure(hass, result, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "security"
    assert result["errors"] == errors
    # The suite stays as chosen, so the error reads against it; the typed keys are not sent back.
    assert field_default(result, "security_suite") == user_input["security_suite"]
    assert suggested(result, "encryption_key") is None
    assert suggested(result, "authentication_key") is None


async def test_hls_gmac_takes_the_keys_of_every_suite(hass: HomeAssistant) -> None:
    result = await security_form(hass, "serial_poll")
    assert selector_options(result, "security_suite") == ["0", "1", "2"]
    assert result["data_schema"].schema["security_suite"].config["translation_key"] == "security_suite"
    assert field_default(result, "security_suite") == "0"
    result = await configure(
        hass,
        result,
        {
            "authentication": "hls_gmac",
            "security_suite": "2",
            "encryption_key": EK_256,
            "authentication_key": AK_256,
        },
    )
    # The keys fit suite 2, so the flow goes on to probe the meter (whose port does not exist).
    assert result["errors"] == {"base": "cannot_open_port"}


@pytest.mark.parametrize(
    ("meter", "entered"),
    [
        ((2, EK_256, AK_256), {"encryption_key": EK, "authentication_key": AK}),
        ((0, EK, AK), {"security_suite": "2", "encryption_key": EK_256, "authentication_key": AK_256}),
    ],
    ids=["suite-2-meter-128-bit-keys", "suite-0-meter-256-bit-keys"],
)
async def test_push_meter_of_another_suite_than_the_keys(
    hass: HomeAssistant,
    pty: Pty,
    caplog: pytest.LogCaptureFixture,
    meter: tuple[int, str, str],
    entered: dict[str, str],
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with running(hass, pty.push(ciphered(*meter))):
            result = await pushed_serial(hass, pty.path, entered)
    # The telegrams name their suite: the key's length is what is wrong, not the key.
    assert result["step_id"] == "security"
    assert result["errors"] == {"base": "key_length_suite"}
    assert suggested(result, "encryption_key") == SECRET_UNCHANGED
    assert field_default(result, "security_suite") == entered.get("security_suite", "0")
    for key in (EK, AK, EK_256, AK_256):
        assert key not in caplog.text
        assert key.lower() not in caplog.text


async def test_reconfigure_to_suite_2_needs_new_keys(hass: HomeAssistant, pty: Pty, no_setup: None) -> None:
    entry = await loaded(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            unique_id=TITLE.hex().upper(),
            # Made before suites could be chosen: no security_suite, so suite 0.
            data={
                "connection_type": "serial_push",
                "port": pty.path,
                "baudrate": 115200,
                "parity": "n",
                "encryption_key": EK,
            },
        ),
    )
    result = dict(await entry.start_reconfigure_flow(hass))
    assert field_default(result, "security_suite") == "0"
    assert suggested(result, "encryption_key") == SECRET_UNCHANGED
    line = {"port": pty.path, "baudrate": "115200", "parity": "n"}
    # The kept key is checked against the new suite too.
    result = await configure(
        hass, result, {**line, "security_suite": "2", "encryption_key": SECRET_UNCHANGED}
    )
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"encryption_key": "key_length_suite"}
    assert field_default(result, "security_suite") == "2"
    async with running(hass, pty.push(ciphered(2, EK_256))):
        result = await configure(hass, result, {**line, "security_suite": "2", "encryption_key": EK_256})
        result = await finish_waiting(hass, result)
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["security_suite"] == 2
    assert entry.data["encryption_key"] == EK_256


async def test_reauth_keeps_the_suite_and_checks_kept_keys_against_it(
    hass: HomeAssistant, pty: Pty, no_setup: None
) -> None:
    data = {
        "connection_type": "serial_push",
        "port": pty.path,
        "baudrate": 115200,
        "parity": "n",
        "security_suite": 2,
        "encryption_key": EK_256,
        "authentication_key": WRONG * 2,
    }
    entry = await loaded(hass, MockConfigEntry(domain=DOMAIN, unique_id=TITLE.hex().upper(), data=data))
    result = dict(await entry.start_reauth_flow(hass))
    assert field_default(result, "security_suite") == "2"
    result = await configure(
        hass, result, {"security_suite": "2", "encryption_key": SECRET_UNCHANGED, "authentication_key": AK}
    )
    assert result["errors"] == {"authentication_key": "key_length_suite"}
    async with running(hass, pty.push(ciphered(2, EK_256, AK_256))):
        result = await configure(
            hass,
            result,
            {"security_suite": "2", "encryption_key": SECRET_UNCHANGED, "authentication_key": AK_256},
        )
        result = await finish_waiting(hass, result)
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["security_suite"] == 2
    assert entry.data["encryption_key"] == EK_256
    assert entry.data["authentication_key"] == AK_256


async def test_removing_the_keys_removes_their_suite(hass: HomeAssistant, pty: Pty, no_setup: None) -> None:
    data = {"connection_type": "serial_push", "port": pty.path, "baudrate": 115200, "parity": "n"}
    entry = await loaded(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            unique_id=pty.path,
            data={**data, "security_suite": 2, "encryption_key": EK_256},
        ),
    )
    telegram = notification(
        Data.structure(Data.octet_string(ENERGY_CODE.to_bytes()), Data.double_long_unsigned(129370)),
    )
    result = dict(await entry.start_reconfigure_flow(hass))
    async with running(hass, pty.push(telegram)):
        result = await configure(
            hass, result, {"port": pty.path, "baudrate": "115200", "parity": "n", "security_suite": "2"}
        )
        result = await finish_waiting(hass, result)
        await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == data


# --- options ------------------------------------------------------------------------------------------


async def test_options_of_a_polled_meter(hass: HomeAssistant, no_setup: None) -> None:
    entry = await loaded(
        hass,
        polled_entry(
            {"connection_type": "network_poll", "host": "192.0.2.1", "port": 4059},
            objects=[ENERGY, "1-0:72.7.0*255", "not an OBIS code"],
        ),
    )
    power = ObisCode(1, 0, 1, 7, 0, 255)
    entry.runtime_data = SimpleNamespace(
        coordinator=SimpleNamespace(
            available_objects={
                ObisCode.parse(ENERGY): MeterReading(value=12937, unit="Wh", raw=12937),
                power: None,
                ObisCode(1, 0, 13, 7, 0, 255): MeterReading(value=0.98765, unit=None, raw=988),
                ObisCode(1, 0, 0, 2, 0, 255): MeterReading(value="x" * 40, unit=None, raw="x" * 40),
                ObisCode(0, 0, 96, 1, 0, 255): MeterReading(value=None, unit=None, raw=None),
            }
        )
    )
    result: dict[str, Any] = dict(await hass.config_entries.options.async_init(entry.entry_id))
    assert result["step_id"] == "init"
    assert fields(result) == [
        "scan_interval",
        "objects",
        "plausibility_guard",
        "allow_changes",
        "history",
        "history_days",
    ]
    assert field_default(result, "scan_interval") == DEFAULT_SCAN_INTERVAL
    assert field_default(result, "plausibility_guard") is True  # the guard is on unless turned off
    assert field_default(result, "allow_changes") is False  # changes to the meter are off until asked for
    assert field_default(result, "history") is False
    assert field_default(result, "history_days") == 7
    # The selection as the coordinator reads it; unreadable codes are dropped.
    assert field_default(result, "objects") == [ENERGY, "1.0.72.7.0.255"]
    assert selector_options(result, "objects") == [
        {"value": "1.0.1.7.0.255", "label": "Power import (1.0.1.7.0.255)"},
        {"value": ENERGY, "label": "Energy import (1.0.1.8.0.255) - 12.937 kWh"},
        {"value": "1.0.72.7.0.255", "label": "Voltage L3 (1.0.72.7.0.255)"},
        # The serial number and firmware are the device's, not sensors; the ratio shows as its percentage.
        {"value": "1.0.13.7.0.255", "label": "Power factor (1.0.13.7.0.255) - 98.8 %"},
    ]
    result = dict(
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"scan_interval": 10, "objects": ["1.0.1.7.0.255"], "allow_changes": True}
        )
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_OBJECTS: ["1.0.1.7.0.255"],
        CONF_PLAUSIBILITY: True,
        CONF_SCAN_INTERVAL: 10,
        CONF_ALLOW_CHANGES: True,
        "history": False,
        "history_days": 7,
    }
    assert entry.state is ConfigEntryState.LOADED  # reloaded with them


async def test_options_of_a_polled_meter_with_load_profiles(hass: HomeAssistant, no_setup: None) -> None:
    entry = await loaded(
        hass,
        polled_entry(
            {"connection_type": "network_poll", "host": "192.0.2.1", "port": 4059}, objects=[ENERGY]
        ),
    )
    profiles = [ObisCode(1, 0, 99, 1, 0, 255), ObisCode(0, 0, 98, 1, 0, 255)]
    entry.runtime_data = SimpleNamespace(coordinator=SimpleNamespace(available_objects={}, profiles=profiles))
    result: dict[str, Any] = dict(await hass.config_entries.options.async_init(entry.entry_id))
    assert fields(result) == [
        "scan_interval",
        "objects",
        "plausibility_guard",
        "allow_changes",
        "history",
        "history_days",
        "history_profile",
    ]
    assert selector_options(result, "history_profile") == [  # type: ignore[comparison-overlap]
        "0.0.98.1.0.255",
        "1.0.99.1.0.255",
    ]
    result = dict(
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "scan_interval": 30,
                "objects": [ENERGY],
                "history": True,
                "history_days": 14,
                "history_profile": "1.0.99.1.0.255",
            },
        )
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["history"] is True
    assert entry.options["history_days"] == 14
    assert entry.options["history_profile"] == "1.0.99.1.0.255"
    assert entry.options["allow_changes"] is False  # left off: not in the input


async def test_options_of_a_push_meter_not_loaded(hass: HomeAssistant, no_setup: None) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"connection_type": "serial_push", "port": "/dev/ttyUSB0"},
        options={CONF_OBJECTS: [ENERGY], CONF_PUSH_TIMEOUT: 60},
    )
    entry.add_to_hass(hass)
    result: dict[str, Any] = dict(await hass.config_entries.options.async_init(entry.entry_id))
    assert fields(result) == ["push_timeout", "update_interval", "objects", "plausibility_guard"]
    assert field_default(result, "push_timeout") == 60
    assert field_default(result, "update_interval") == 60  # the update limit's default
    assert field_default(result, "plausibility_guard") is True
    assert selector_options(result, "objects") == [
        {"value": ENERGY, "label": "Energy import (1.0.1.8.0.255)"}
    ]
    result = dict(
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"push_timeout": 300, "update_interval": 0, "objects": [], "plausibility_guard": False},
        )
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_OBJECTS: [],
        CONF_PUSH_TIMEOUT: 300,
        CONF_UPDATE_INTERVAL: 0,
        CONF_PLAUSIBILITY: False,
    }


# --- reconfigure --------------------------------------------------------------------------------------


async def test_reconfigure_the_same_meter(hass: HomeAssistant, socket_enabled: None, no_setup: None) -> None:
    async with simulator(Transport.HDLC_TCP, lls()) as server:
        host, port = host_port(server)
        entry = await loaded(
            hass,
            polled_entry(
                {
                    "connection_type": "network_poll",
                    "host": "192.0.2.1",
                    "port": 4059,
                    "hdlc": False,
                    "authentication": "lls",
                    "password": "old",
                    "encryption_key": EK,
                }
            ),
        )
        result = dict(await entry.start_reconfigure_flow(hass))
        assert result["step_id"] == "reconfigure"
        assert fields(result) == [
            "host",
            "port",
            "hdlc",
            "authentication",
            "password",
            "security_suite",
            "encryption_key",
            "authentication_key",
            "advanced",
        ]
        assert field_default(result, "host") == "192.0.2.1"
        assert suggested(result, "password") == SECRET_UNCHANGED
        assert suggested(result, "encryption_key") == SECRET_UNCHANGED
        assert suggested(result, "authentication_key") is None
        result = await configure(
            hass,
            result,
            {
                "host": host,
                "port": port,
                "hdlc": True,
                "authentication": "lls",
                "password": PASSWORD,
                "advanced": {"client_address": 32, "server_physical_address": 17},
            },
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {
        "connection_type": "network_poll",
        "host": host,
        "port": port,
        "hdlc": True,
        "client_address": 32,
        "server_logical_address": 1,
        "server_physical_address": 17,
        "negotiate_hdlc": True,
        "authentication": "lls",
        "password": PASSWORD,
    }
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_finds_another_meter(
    hass: HomeAssistant, socket_enabled: None, no_setup: None
) -> None:
    async with simulator(Transport.WRAPPER_TCP, serial="87654321") as server:
        host, port = host_port(server)
        entry = await loaded(hass, polled_entry({"connection_type": "network_poll", "host": host, "port": 1}))
        result = dict(await entry.start_reconfigure_flow(hass))
        result = await configure(
            hass,
            result,
            {"host": host, "port": port, "hdlc": False, "authentication": "none", "advanced": {}},
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data["port"] == 1
    assert entry.state is ConfigEntryState.LOADED  # started again after the probe


async def test_reconfigure_error_is_shown_and_the_entry_keeps_running(
    hass: HomeAssistant, pty: Pty, port_holding_setup: list[str]
) -> None:
    entry = await loaded(
        hass,
        polled_entry({"connection_type": "serial_poll", "port": pty.path, "baudrate": 9600, "parity": "n"}),
    )
    result = dict(await entry.start_reconfigure_flow(hass))
    assert fields(result)[:3] == ["port", "baudrate", "parity"]
    assert selector_options(result, "port") == [{"value": pty.path, "label": pty.path}]
    result = await configure(
        hass,
        result,
        {"port": pty.path, "baudrate": "9600", "parity": "n", "authentication": "none", "advanced": {}},
    )
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "timeout"}  # the port was free for the probe: nobody answered
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert port_holding_setup == ["setup", "unload", "setup"]
    result = await configure(hass, result, {"port": pty.path, "authentication": "lls", "advanced": {}})
    assert result["errors"] == {"password": "authentication_failed"}


async def test_reconfigure_a_push_meter_while_it_holds_its_port(
    hass: HomeAssistant, port_holding_setup: list[str]
) -> None:
    push = PushSettings(framing=PushFraming.HDLC, security=0x30)
    async with simulator(Transport.HDLC_PTY, pushing(), push=push) as server:
        entry = await loaded(
            hass,
            MockConfigEntry(
                domain=DOMAIN,
                unique_id=TITLE.hex().upper(),
                data={
                    "connection_type": "serial_push",
                    "port": server.address,
                    "baudrate": 115200,
                    "parity": "n",
                    "encryption_key": EK,
                    "authentication_key": WRONG,
                },
            ),
        )
        result = dict(await entry.start_reconfigure_flow(hass))
        assert fields(result) == [
            "port",
            "baudrate",
            "parity",
            "security_suite",
            "encryption_key",
            "authentication_key",
        ]
        result = await configure(
            hass,
            result,
            {
                "port": server.address,
                "baudrate": "115200",
                "parity": "n",
                "encryption_key": SECRET_UNCHANGED,
                "authentication_key": AK,
            },
        )
        result = await finish_waiting(hass, result)
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["encryption_key"] == EK
    assert entry.data["authentication_key"] == AK
    assert entry.data["system_title"] == TITLE.hex().upper()
    assert port_holding_setup == ["setup", "unload", "setup"]


async def test_abandoned_reconfigure_starts_the_entry_again(
    hass: HomeAssistant, pty: Pty, port_holding_setup: list[str]
) -> None:
    entry = await loaded(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            unique_id=TITLE.hex().upper(),
            data={"connection_type": "serial_push", "port": pty.path, "baudrate": 115200, "parity": "n"},
        ),
    )
    result = dict(await entry.start_reconfigure_flow(hass))
    result = await configure(
        hass, result, {"port": pty.path, "baudrate": "115200", "parity": "n", "encryption_key": EK}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert port_holding_setup == ["setup", "unload"]  # the port is free for the probe
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert port_holding_setup == ["setup", "unload", "setup"]


async def test_reconfigure_a_push_meter_to_a_closed_port(
    hass: HomeAssistant, socket_enabled: None, no_setup: None
) -> None:
    data = {"connection_type": "network_push", "host": "127.0.0.1", "port": closed_tcp_port()}
    entry = await loaded(hass, MockConfigEntry(domain=DOMAIN, unique_id=TITLE.hex().upper(), data=data))
    result = dict(await entry.start_reconfigure_flow(hass))
    assert fields(result) == ["host", "port", "security_suite", "encryption_key", "authentication_key"]
    result = await configure(hass, result, {"host": "127.0.0.1", "port": data["port"]})
    result = await finish_waiting(hass, result)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "cannot_connect"}
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_a_meter_removed_while_it_is_probed_stays_removed(
    hass: HomeAssistant, pty: Pty, no_setup: None, short_wait: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_flow, "PROGRESS_GRACE", 0.2)  # the wait (1 s) shows its progress step
    data = {"connection_type": "serial_push", "port": pty.path, "baudrate": 115200, "parity": "n"}
    entry = await loaded(hass, MockConfigEntry(domain=DOMAIN, unique_id="SIM", data=data))
    result = dict(await entry.start_reconfigure_flow(hass))
    result = await configure(hass, result, {"port": pty.path, "baudrate": "115200", "parity": "n"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()  # the wait ends, and the entry is not set up again
    assert hass.config_entries.async_get_entry(entry.entry_id) is None
    hass.config_entries.flow.async_abort(result["flow_id"])


# --- reauth -------------------------------------------------------------------------------------------


async def test_reauth_with_the_new_password(hass: HomeAssistant, port_holding_setup: list[str]) -> None:
    async with simulator(Transport.HDLC_PTY, lls()) as server:
        entry = await loaded(
            hass,
            polled_entry(
                {
                    "connection_type": "serial_poll",
                    "port": server.address,
                    "baudrate": 9600,
                    "parity": "n",
                    "authentication": "lls",
                    "password": "old",
                }
            ),
        )
        result = dict(await entry.start_reauth_flow(hass))
        assert result["step_id"] == "reauth_confirm"
        assert fields(result) == ["password", "security_suite", "encryption_key", "authentication_key"]
        assert suggested(result, "password") == SECRET_UNCHANGED
        result = await configure(hass, result, {"password": "still wrong"})
        assert result["step_id"] == "reauth_confirm"
        assert result["errors"] == {"base": "authentication_failed"}
        result = await configure(hass, result, {"password": PASSWORD})
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["password"] == PASSWORD
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_with_a_new_key_of_a_push_meter(
    hass: HomeAssistant, socket_enabled: None, no_setup: None
) -> None:
    push = PushSettings(framing=PushFraming.WRAPPER, security=0x30)
    async with simulator(Transport.HDLC_TCP, pushing(), push=push) as server:
        host, port = host_port(server)
        entry = await loaded(
            hass,
            MockConfigEntry(
                domain=DOMAIN,
                unique_id=TITLE.hex().upper(),
                data={"connection_type": "network_push", "host": host, "port": port, "encryption_key": WRONG},
            ),
        )
        result = dict(await entry.start_reauth_flow(hass))
        assert fields(result) == ["security_suite", "encryption_key", "authentication_key"]
        result = await configure(hass, result, {"encryption_key": EK, "authentication_key": AK})
        result = await finish_waiting(hass, result)
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["encryption_key"] == EK
    assert entry.data["authentication_key"] == AK


async def test_reauth_of_an_entry_that_failed_to_set_up(
    hass: HomeAssistant, socket_enabled: None, no_setup: None
) -> None:
    async with simulator(Transport.WRAPPER_TCP, hls()) as server:
        host, port = host_port(server)
        entry = polled_entry(
            {
                "connection_type": "network_poll",
                "host": host,
                "port": port,
                "client_address": 1,
                "authentication": "hls_gmac",
                "encryption_key": EK,
                "authentication_key": WRONG,
            }
        )
        entry.add_to_hass(hass)  # not loaded: the meter refused the old key
        result = dict(await entry.start_reauth_flow(hass))
        # No password without LLS.
        assert fields(result) == ["security_suite", "encryption_key", "authentication_key"]
        assert suggested(result, "authentication_key") == SECRET_UNCHANGED
        result = await configure(
            hass, result, {"encryption_key": SECRET_UNCHANGED, "authentication_key": "AK"}
        )
        assert result["errors"] == {"authentication_key": "invalid_key"}
        result = await configure(hass, result, {"encryption_key": SECRET_UNCHANGED})
        assert result["errors"] == {"authentication_key": "invalid_key"}  # HLS-GMAC needs both keys
        result = await configure(hass, result, {"encryption_key": SECRET_UNCHANGED, "authentication_key": AK})
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        assert entry.data["authentication_key"] == AK
        assert entry.data["encryption_key"] == EK
        await hass.async_block_till_done()


# --- labels -------------------------------------------------------------------------------------------


def test_objects_without_a_translated_name_are_named_by_their_code() -> None:
    assert probe.object_label(ObisCode.parse(ENERGY), None, {}) == ENERGY
