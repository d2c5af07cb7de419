"""From entry data to connections: keys, client settings, transports on shared ports, push streams.

The transports are checked against the simulated meter on a real pty and on TCP.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.dlms_cosem.connection import (
    DATA_PORTS,
    client_settings,
    create_client,
    create_transport,
    endpoint,
    normalize_key,
    security_keys,
    stream_opener,
    sync_invocation_counter,
)
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.client import Authentication, RegisterValue
from custom_components.dlms_cosem.dlms.errors import PortUnavailableError
from custom_components.dlms_cosem.dlms.hdlc import server_address
from custom_components.dlms_cosem.dlms.security import InvalidKeyError, KeySuiteMismatchError, SecurityKeys
from custom_components.dlms_cosem.dlms.simulator import (
    MeterSecurity,
    PushFraming,
    PushSettings,
    RunnerSettings,
    SimulatedMeter,
    SimulatorServer,
)
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT
from custom_components.dlms_cosem.dlms.simulator.runner import Transport
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramDecoder
from custom_components.dlms_cosem.dlms.transport import (
    HdlcTransport,
    SerialEndpoint,
    TcpEndpoint,
    WrapperTransport,
)

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
KEYS = SecurityKeys(bytes.fromhex(EK), bytes.fromhex(AK))
EK_256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
AK_256 = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF"
SERIAL = {"connection_type": "serial_poll", "port": "/dev/ttyUSB0"}
NETWORK = {"connection_type": "network_poll", "host": "192.0.2.7"}


# --- keys ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        EK,
        EK.lower(),
        "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
        "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f",
        f"  {EK}\t",
    ],
)
def test_keys_are_stored_as_32_upper_case_hex_digits(text: str) -> None:
    assert normalize_key(text) == EK


@pytest.mark.parametrize("text", ["", "0011", f"{EK}00", "ZZ0102030405060708090A0B0C0D0E0F", "секрет"])
def test_what_is_not_a_key_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(InvalidKeyError) as raised:
        normalize_key(text)
    assert text.strip() == "" or text not in str(raised.value)


def test_256_bit_keys_are_stored_as_64_upper_case_hex_digits() -> None:
    assert normalize_key(EK_256.lower()) == EK_256
    assert normalize_key(":".join(AK_256[i : i + 2] for i in range(0, 64, 2))) == AK_256


def test_security_keys() -> None:
    assert security_keys({}) is None
    assert security_keys({"encryption_key": "", "authentication_key": ""}) is None
    only = security_keys({"encryption_key": EK})
    assert only == SecurityKeys(bytes.fromhex(EK), None)
    assert security_keys({"encryption_key": EK, "authentication_key": AK}) == KEYS
    assert EK not in repr(only)


# --- client settings ----------------------------------------------------------------------------------


def test_settings_without_security() -> None:
    settings = client_settings({**SERIAL, "password": "stray"})
    assert settings.client_address == 16
    assert settings.authentication is Authentication.NONE
    assert settings.password is None  # only LLS uses one
    assert settings.keys is None
    assert not settings.ciphered
    assert settings.invocation_counter == 1


def test_settings_with_a_password() -> None:
    settings = client_settings({**SERIAL, "client_address": 32, "authentication": "lls", "password": "1234"})
    assert settings.client_address == 32
    assert settings.authentication is Authentication.LLS
    assert settings.password == b"1234"
    assert not settings.ciphered


def test_settings_with_both_keys_are_ciphered_and_authenticated() -> None:
    counters: list[int] = []
    settings = client_settings(
        {
            **SERIAL,
            "client_address": 1,
            "authentication": "hls_gmac",
            "encryption_key": EK,
            "authentication_key": AK,
        },
        invocation_counter=42,
        on_invocation_counter=counters.append,
    )
    assert settings.authentication is Authentication.HLS_GMAC
    assert settings.keys == KEYS
    assert settings.ciphered
    assert settings.security_control == 0x30
    assert settings.invocation_counter == 42
    assert settings.on_invocation_counter == counters.append


def test_settings_with_one_key_are_encrypted_only() -> None:
    settings = client_settings({**SERIAL, "encryption_key": EK})
    assert settings.ciphered
    assert settings.security_control == 0x20


# The simulator ciphers with suite 0 only: what the client is given for suites 1 and 2 is checked here.
@pytest.mark.parametrize(
    ("data", "control", "keys"),
    [
        ({"security_suite": 1, "encryption_key": EK, "authentication_key": AK}, 0x31, KEYS),
        ({"security_suite": 1, "encryption_key": EK}, 0x21, SecurityKeys(bytes.fromhex(EK))),
        (
            {"security_suite": 2, "encryption_key": EK_256, "authentication_key": AK_256},
            0x32,
            SecurityKeys(bytes.fromhex(EK_256), bytes.fromhex(AK_256)),
        ),
        ({"security_suite": 2, "encryption_key": EK_256}, 0x22, SecurityKeys(bytes.fromhex(EK_256))),
        # Entries made before suites could be chosen have none: suite 0.
        ({"encryption_key": EK, "authentication_key": AK}, 0x30, KEYS),
    ],
    ids=["suite-1", "suite-1-encrypted-only", "suite-2", "suite-2-encrypted-only", "no-suite-stored"],
)
def test_settings_cipher_with_the_entrys_suite(
    data: dict[str, Any], control: int, keys: SecurityKeys
) -> None:
    settings = client_settings({**SERIAL, "client_address": 1, **data})
    assert settings.ciphered
    assert settings.security_control == control
    assert settings.control.security_suite == control & 0x0F
    assert settings.keys == keys


def test_settings_with_hls_gmac_in_suite_1() -> None:
    settings = client_settings(
        {
            **SERIAL,
            "authentication": "hls_gmac",
            "security_suite": 1,
            "encryption_key": EK,
            "authentication_key": AK,
        }
    )
    assert settings.authentication is Authentication.HLS_GMAC
    assert settings.security_control == 0x31


@pytest.mark.parametrize(
    "data",
    [
        {"security_suite": 2, "encryption_key": EK},
        {"security_suite": 2, "encryption_key": EK_256, "authentication_key": AK},
        {"security_suite": 0, "encryption_key": EK_256},
    ],
    ids=["suite-2-128-bit-key", "suite-2-128-bit-ak", "suite-0-256-bit-key"],
)
def test_settings_refuse_keys_that_do_not_fit_the_suite(data: dict[str, Any]) -> None:
    with pytest.raises(KeySuiteMismatchError) as raised:
        client_settings({**SERIAL, **data})
    for key in (EK, AK, EK_256):
        assert key not in str(raised.value)
        assert key.lower() not in str(raised.value)


def test_push_keys_are_used_as_given_whatever_the_suite() -> None:
    # A pushed telegram names its own suite: the decoder says when a key does not fit it.
    assert security_keys({"security_suite": 0, "encryption_key": EK_256}) == SecurityKeys(
        bytes.fromhex(EK_256)
    )
    assert security_keys({"security_suite": 2, "encryption_key": EK}) == SecurityKeys(bytes.fromhex(EK))


# --- endpoints and transports -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (SERIAL, SerialEndpoint("/dev/ttyUSB0", baudrate=9600, parity="N")),
        (
            {**SERIAL, "connection_type": "serial_push"},
            SerialEndpoint("/dev/ttyUSB0", baudrate=2400, parity="E"),
        ),
        (
            {**SERIAL, "baudrate": 115200, "parity": "n"},
            SerialEndpoint("/dev/ttyUSB0", baudrate=115200, parity="N"),
        ),
        (NETWORK, TcpEndpoint("192.0.2.7", 4059)),
        ({**NETWORK, "connection_type": "network_push", "port": 8888}, TcpEndpoint("192.0.2.7", 8888)),
    ],
    ids=["serial-poll", "serial-push", "serial-115200", "network-poll", "network-push"],
)
def test_endpoints(data: dict[str, Any], expected: object) -> None:
    assert endpoint(data) == expected


async def test_the_tcp_wrapper_unless_hdlc_is_asked_for(hass: HomeAssistant) -> None:
    transport = create_transport(hass, {**NETWORK, "client_address": 32, "server_logical_address": 2})
    assert isinstance(transport, WrapperTransport)
    assert "wPorts 32->2" in repr(transport)
    assert not hass.data.get(DATA_PORTS)  # a TCP connection per client: nothing to share


async def test_hdlc_addresses(hass: HomeAssistant) -> None:
    transport = create_transport(
        hass,
        {**NETWORK, "port": 5000, "hdlc": True, "server_logical_address": 1, "server_physical_address": 99},
    )
    assert isinstance(transport, HdlcTransport)
    assert transport.port.endpoint == TcpEndpoint("192.0.2.7", 5000)
    assert transport.link.server_address == server_address(1, 99)
    assert transport.link.client_address.logical == 16
    one_byte = create_transport(hass, {**SERIAL, "address_size": 1, "server_physical_address": 99})
    assert isinstance(one_byte, HdlcTransport)
    assert one_byte.link.server_address == server_address(1, None, 1)
    four_bytes = create_transport(hass, {**SERIAL, "address_size": 4}, client_address=1, max_retries=0)
    assert isinstance(four_bytes, HdlcTransport)
    assert four_bytes.link.server_address == server_address(1, 17, 4)  # the default physical address
    assert four_bytes.link.client_address.logical == 1
    assert four_bytes.link.max_retries == 0


async def test_hdlc_limits_are_negotiated_unless_switched_off(hass: HomeAssistant) -> None:
    # Entries made before the switch existed negotiate too.
    for data in (SERIAL, {**SERIAL, "negotiate_hdlc": True}):
        proposing = create_transport(hass, data)
        assert isinstance(proposing, HdlcTransport)
        assert proposing.link.proposes
    plain = create_transport(hass, {**SERIAL, "negotiate_hdlc": False})
    assert isinstance(plain, HdlcTransport)
    assert not plain.link.proposes  # a plain SNRM, the defaults (128 bytes, window 1)


async def test_meters_on_one_bus_share_its_port(hass: HomeAssistant) -> None:
    first = create_transport(hass, {**SERIAL, "server_physical_address": 17})
    second = create_transport(hass, {**SERIAL, "server_physical_address": 18})
    elsewhere = create_transport(hass, {**SERIAL, "port": "/dev/ttyUSB1"})
    assert isinstance(first, HdlcTransport)
    assert isinstance(second, HdlcTransport)
    assert isinstance(elsewhere, HdlcTransport)
    assert first.port is second.port
    assert elsewhere.port is not first.port
    assert len(hass.data[DATA_PORTS]) == 2
    # A port nobody uses any more is forgotten.
    del first, second, elsewhere
    gc.collect()
    assert len(hass.data[DATA_PORTS]) == 0


# --- against the simulated meter ----------------------------------------------------------------------


def hls_meter() -> SimulatedMeter:
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS, require_ciphering=True
    )
    return SimulatedMeter(lambda: NOW, security=security)


async def test_a_ciphered_client_continues_above_the_meters_counter(hass: HomeAssistant) -> None:
    meter = hls_meter()
    meter.security.client_invocation_counter = 1000  # another client, or this one before a restore
    async with SimulatorServer(meter, RunnerSettings(Transport.HDLC_PTY)) as server:
        data = {
            "connection_type": "serial_poll",
            "port": server.address,
            "baudrate": 115200,
            "client_address": 1,
            "authentication": "hls_gmac",
            "encryption_key": EK,
            "authentication_key": AK,
        }
        counters: list[int] = []
        client = create_client(hass, data, invocation_counter=5, on_invocation_counter=counters.append)
        try:
            assert await sync_invocation_counter(hass, data, client, response_timeout=1.0) == 1000
            assert counters[0] == 1001
            values = await client.read_registers([ACTIVE_ENERGY_IMPORT])
        finally:
            await client.close()
    assert isinstance(values[0], RegisterValue)
    assert meter.security.client_invocation_counter > 1000


async def test_a_meter_that_hides_its_counter_from_the_public_client(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    meter = hls_meter()
    meter.security.allow_public_client = False
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP)) as server:
        host, port = server.address.rsplit(":", 1)
        data = {**NETWORK, "host": host, "port": int(port), "encryption_key": EK, "authentication_key": AK}
        client = create_client(hass, data)
        try:
            assert await sync_invocation_counter(hass, data, client) is None
        finally:
            await client.close()


def decode_pushed(chunks: list[bytes], keys: SecurityKeys | None = None) -> list[Telegram]:
    decoder = TelegramDecoder(keys)
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return [event for event in events if isinstance(event, Telegram)]


async def read_until(reader: asyncio.StreamReader, done: Callable[[list[bytes]], bool]) -> list[bytes]:
    chunks: list[bytes] = []
    async with asyncio.timeout(5):
        while not done(chunks):
            chunks.append(await reader.read(4096))
    return chunks


@pytest.mark.parametrize("transport", [Transport.HDLC_PTY, Transport.WRAPPER_TCP])
async def test_push_streams(hass: HomeAssistant, socket_enabled: None, transport: Transport) -> None:
    meter = SimulatedMeter(lambda: NOW, security=MeterSecurity(keys=KEYS))
    settings = RunnerSettings(
        transport, push_interval=0.05, push=PushSettings(PushFraming.HDLC, security=0x30)
    )
    async with SimulatorServer(meter, settings) as server:
        if transport is Transport.HDLC_PTY:
            data = {
                "connection_type": "serial_push",
                "port": server.address,
                "baudrate": 115200,
                "parity": "n",
            }
        else:
            host, port = server.address.rsplit(":", 1)
            data = {"connection_type": "network_push", "host": host, "port": int(port)}
        reader, writer = await stream_opener(data)()
        assert writer is not None
        try:
            chunks = await read_until(reader, lambda chunks: len(decode_pushed(chunks, KEYS)) >= 2)
        finally:
            writer.close()
            await writer.wait_closed()
    assert decode_pushed(chunks, KEYS)[0].system_title == meter.security.system_title


async def test_a_push_port_that_cannot_be_opened(tmp_path: Any) -> None:
    opener = stream_opener({"connection_type": "serial_push", "port": str(tmp_path / "ttyUSB7")})
    with pytest.raises(PortUnavailableError):
        await opener()
