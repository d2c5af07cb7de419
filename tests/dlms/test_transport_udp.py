"""UdpTransport (IEC 62056-47 over UDP) against real UDP sockets on 127.0.0.1, and the simulator on UDP."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.errors import (
    ConnectionLostError,
    EncodeError,
    MeterNotRespondingError,
)
from custom_components.dlms_cosem.dlms.hdlc import server_address
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator import (
    FaultInjector,
    RunnerSettings,
    SimulatorServer,
    Transport,
)
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    SERIAL_NUMBER,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.transport import UdpEndpoint, UdpTransport
from custom_components.dlms_cosem.dlms.wrapper import WrapperPdu, decode_wrapper_pdu

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)

type Reply = Callable[[WrapperPdu, int], list[bytes | tuple[float, bytes]]]


def reversed_answer(pdu: WrapperPdu, _: int) -> list[bytes | tuple[float, bytes]]:
    """The test meter's answer: the APDU reversed, from the wPort it was sent to."""
    return [WrapperPdu(pdu.destination, pdu.source, pdu.apdu[::-1]).encode()]


class UdpMeter(asyncio.DatagramProtocol):
    """A UDP peer on 127.0.0.1: ``reply`` decides, datagram by datagram, what goes back (and when)."""

    def __init__(self, reply: Reply = reversed_answer) -> None:
        self.reply = reply
        self.received: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        loop = asyncio.get_running_loop()
        for out in self.reply(decode_wrapper_pdu(data), len(self.received)):
            delay, datagram = out if isinstance(out, tuple) else (0.0, out)
            assert self.transport is not None
            self._timers.append(loop.call_later(delay, self.transport.sendto, datagram, addr))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self.transport is not None:
            self.transport.close()


async def start_meter(reply: Reply = reversed_answer) -> UdpMeter:
    loop = asyncio.get_running_loop()
    _, meter = await loop.create_datagram_endpoint(lambda: UdpMeter(reply), local_addr=("127.0.0.1", 0))
    return meter


@pytest.fixture
async def udp_meter() -> AsyncIterator[UdpMeter]:
    meter = await start_meter()
    yield meter
    meter.close()


def transport_to(meter: UdpMeter, **options: float) -> UdpTransport:
    return UdpTransport(UdpEndpoint("127.0.0.1", meter.port), response_timeout=0.2, **options)  # type: ignore[arg-type]


async def test_one_datagram_per_pdu_each_way(udp_meter: UdpMeter) -> None:
    transport = transport_to(udp_meter)
    await transport.open()
    try:
        assert transport.is_open
        assert await transport.request(b"\xc0\x01\xc1") == b"\xc1\x01\xc0"
        big = bytes(range(256)) * 100
        assert await transport.request(big) == big[::-1]
    finally:
        await transport.close()
    assert not transport.is_open
    assert udp_meter.received[0] == bytes.fromhex("0001001000010003c001c1")
    assert len(udp_meter.received) == 2
    assert transport.retries == 0


async def test_lost_answer_is_asked_again() -> None:
    # The first datagram's answer is lost: the request is sent again and the second answer is taken.
    meter = await start_meter(lambda pdu, count: [] if count == 1 else reversed_answer(pdu, count))
    transport = transport_to(meter, max_retries=2)
    await transport.open()
    try:
        assert await transport.request(b"\x01\x02\x03") == b"\x03\x02\x01"
    finally:
        await transport.close()
        meter.close()
    assert transport.retries == 1
    assert meter.received == [meter.received[0]] * 2  # the same datagram, twice


async def test_silent_meter_is_not_responding_after_the_retries() -> None:
    meter = await start_meter(lambda pdu, count: [])
    transport = transport_to(meter, max_retries=2)
    await transport.open()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(MeterNotRespondingError, match="3 tries"):
            await transport.request(b"\x01")
    finally:
        await transport.close()
        meter.close()
    assert len(meter.received) == 3
    assert 0.55 < loop.time() - started < 2.0


async def test_garbage_and_other_wports_are_ignored() -> None:
    def reply(pdu: WrapperPdu, count: int) -> list[bytes | tuple[float, bytes]]:
        return [
            b"\xde\xad\xbe\xef",  # not a wrapper PDU
            bytes.fromhex("00010001001000050102"),  # length says 5, 2 follow
            bytes.fromhex("00020001001000010102"),  # wrong version
            WrapperPdu(2, 16, b"\x99").encode(),  # another logical device
            *reversed_answer(pdu, count),
        ]

    meter = await start_meter(reply)
    transport = transport_to(meter)
    await transport.open()
    try:
        assert await transport.request(b"\x0a\x0b") == b"\x0b\x0a"
    finally:
        await transport.close()
        meter.close()
    assert transport.datagrams_invalid == 3
    assert transport.pdus_ignored == 1
    assert transport.retries == 0


async def test_late_answer_is_never_taken_for_the_next_one() -> None:
    # The answer to the first datagram comes after the timeout, with the answer to the resend; the
    # second request must get its own answer, not the stale copy still queued.
    def reply(pdu: WrapperPdu, count: int) -> list[bytes | tuple[float, bytes]]:
        answer = reversed_answer(pdu, count)[0]
        return [(0.3, answer)] if count == 1 else [answer]

    meter = await start_meter(reply)
    transport = transport_to(meter, max_retries=3)
    await transport.open()
    try:
        assert await transport.request(b"\x01\x02") == b"\x02\x01"
        await asyncio.sleep(0.3)  # the late copy arrives meanwhile
        assert await transport.request(b"\x03\x04") == b"\x04\x03"
    finally:
        await transport.close()
        meter.close()
    assert transport.retries == 1
    assert transport.pdus_ignored == 1


async def test_request_on_a_closed_transport_is_connection_lost(udp_meter: UdpMeter) -> None:
    transport = transport_to(udp_meter)
    with pytest.raises(ConnectionLostError):
        await transport.request(b"\x01")


# --- the simulator on UDP -----------------------------------------------------------------------------


def _meter(serial: str = "12345678") -> SimulatedMeter:
    return SimulatedMeter(lambda: NOW, serial=serial)


async def _serial_and_energy(transport: UdpTransport) -> tuple[object, object]:
    client = DlmsClient(transport, ClientSettings())
    try:
        await client.connect()
        serial, energy = await client.get_many([(SERIAL_NUMBER, 1, 2), (ACTIVE_ENERGY_IMPORT, 3, 2)])
    finally:
        await client.close()
    return serial.to_python(), energy.to_python()  # type: ignore[union-attr]


async def test_client_polls_the_simulator_over_udp_through_lost_datagrams() -> None:
    meter = _meter()
    faults = FaultInjector()
    settings = RunnerSettings(transport=Transport.WRAPPER_UDP)
    async with SimulatorServer(meter, settings, faults=faults) as server:
        host, port = server.address.rsplit(":", 1)
        faults.drop_next(2)  # the answers to the AARQ and its first resend are lost
        transport = UdpTransport(UdpEndpoint(host, int(port)), response_timeout=0.2, max_retries=3)
        serial, energy = await _serial_and_energy(transport)
        assert serial == b"12345678"
        assert energy == meter.read(ACTIVE_ENERGY_IMPORT).to_python()
        assert transport.retries == 2
        assert faults.frames_dropped == 2


async def test_simulator_ignores_garbage_datagrams() -> None:
    async with SimulatorServer(_meter(), RunnerSettings(transport=Transport.WRAPPER_UDP)) as server:
        host, port = server.address.rsplit(":", 1)
        loop = asyncio.get_running_loop()
        sock, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=(host, int(port)))
        sock.sendto(b"\x00\x01garbage")
        await asyncio.sleep(0.05)
        sock.close()
        transport = UdpTransport(UdpEndpoint(host, int(port)), response_timeout=0.5)
        serial, _ = await _serial_and_energy(transport)
        assert serial == b"12345678"
        assert transport.retries == 0


async def test_gateway_serves_logical_devices_by_wport_over_udp_and_tcp() -> None:
    # A data concentrator: the main meter at wPort 1, two more at wPorts 2 and 3, one UDP port.
    extra = [(server_address(2, 17), _meter("22222222")), (server_address(3, 17), _meter("33333333"))]
    for kind in (Transport.WRAPPER_UDP, Transport.WRAPPER_TCP):
        async with SimulatorServer(
            _meter("11111111"), RunnerSettings(transport=kind), extra_meters=extra
        ) as sim:
            host, port = sim.address.rsplit(":", 1)
            serials = []
            for wport in (1, 2, 3):
                if kind is Transport.WRAPPER_UDP:
                    transport = UdpTransport(
                        UdpEndpoint(host, int(port)), server_wport=wport, response_timeout=0.5
                    )
                    serial, _ = await _serial_and_energy(transport)
                else:
                    from custom_components.dlms_cosem.dlms.transport import TcpEndpoint, WrapperTransport

                    wrapper = WrapperTransport(
                        TcpEndpoint(host, int(port)), server_wport=wport, response_timeout=0.5
                    )
                    client = DlmsClient(wrapper, ClientSettings())
                    try:
                        await client.connect()
                        (value,) = await client.get_many([(SERIAL_NUMBER, 1, 2)])
                    finally:
                        await client.close()
                    serial = value.to_python()  # type: ignore[union-attr]
                serials.append(serial)
            assert serials == [b"11111111", b"22222222", b"33333333"]
            # Nothing at wPort 9: no answer, as from an empty gateway slot.
            if kind is Transport.WRAPPER_UDP:
                nobody = UdpTransport(
                    UdpEndpoint(host, int(port)), server_wport=9, response_timeout=0.1, max_retries=0
                )
                with pytest.raises(MeterNotRespondingError):
                    await _serial_and_energy(nobody)


def test_wrapper_gateway_needs_distinct_wports() -> None:
    with pytest.raises(ValueError, match="wPort"):
        SimulatorServer(
            _meter(),
            RunnerSettings(transport=Transport.WRAPPER_UDP),
            extra_meters=[(server_address(1, 18), _meter("2"))],
        )


async def test_port_unreachable_ends_the_request_at_once() -> None:
    # Nothing listens: the ICMP port unreachable answers the first datagram; no retries are waited out.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    transport = UdpTransport(UdpEndpoint("127.0.0.1", port), response_timeout=2.0, max_retries=3)
    await transport.open()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(MeterNotRespondingError, match="port unreachable"):
            await transport.request(b"\x01")
    finally:
        await transport.close()
    assert loop.time() - started < 1.0
    assert transport.retries == 0


async def test_a_ciphered_request_is_not_replayed_when_its_answer_is_lost() -> None:
    keys = SecurityKeys(
        bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
    )
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=keys, require_ciphering=True
    )
    faults = FaultInjector()
    async with SimulatorServer(
        SimulatedMeter(lambda: NOW, security=security),
        RunnerSettings(transport=Transport.WRAPPER_UDP),
        faults=faults,
    ) as server:
        host, port = server.address.rsplit(":", 1)
        endpoint = UdpEndpoint(host, int(port))
        transport = UdpTransport(endpoint, client_wport=1, response_timeout=0.3, max_retries=3)
        settings = ClientSettings(
            client_address=1,
            authentication=Authentication.HLS_GMAC,
            keys=keys,
            ciphered=True,
            security_control=0x30,
        )
        client = DlmsClient(transport, settings)
        try:
            # The public client reads the frame counter first, as the integration does.
            await client.read_frame_counter(UdpTransport(endpoint, response_timeout=0.3))
            await client.connect()
            faults.drop_next(1)
            with pytest.raises(MeterNotRespondingError, match="not sent again"):
                await client.get(SERIAL_NUMBER, 1, 2)
            assert transport.retries == 0  # the replay would have been refused (invocation-counter-error)
            value = await client.get(SERIAL_NUMBER, 1, 2)
        finally:
            await client.close()
        assert value.value == b"12345678"


async def test_an_apdu_too_long_for_one_datagram_is_an_encode_error(udp_meter: UdpMeter) -> None:
    transport = transport_to(udp_meter)
    await transport.open()
    try:
        with pytest.raises(EncodeError, match="does not fit one UDP datagram"):
            await transport.request(bytes(65500))
        assert await transport.request(b"\x01\x02") == b"\x02\x01"  # and the transport still works
    finally:
        await transport.close()
    assert len(udp_meter.received) == 1


def _read_command(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = main(["read", *argv])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, stdout.getvalue(), stderr.getvalue()


async def test_read_command_over_udp_to_a_gateways_wport() -> None:
    extra = [(server_address(2, 17), _meter("22222222"))]
    settings = RunnerSettings(transport=Transport.WRAPPER_UDP)
    async with SimulatorServer(_meter("11111111"), settings, extra_meters=extra) as server:
        host, port = server.address.rsplit(":", 1)
        where = ["--host", host, "--udp", "--tcp-port", port, "--timeout", "0.5"]
        code, stdout, stderr = await asyncio.to_thread(
            _read_command, [*where, "--server-address", "2", "0.0.96.1.0.255"]
        )
    assert code == 0, stderr
    assert json.loads(stdout)["value"] == "22222222"
    for wrong in (["--port", "/dev/null", "--udp"], ["--host", "127.0.0.1", "--udp", "--hdlc"]):
        code, _, stderr = await asyncio.to_thread(_read_command, [*wrong, "0.0.96.1.0.255"])
        assert code == 2
        assert "--udp" in stderr
