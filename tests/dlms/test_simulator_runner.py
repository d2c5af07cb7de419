"""The simulator's asyncio runner over a real pty and real TCP sockets, talked to with the stack's codecs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AssociationResult,
    CosemAttributeDescriptor,
    ExceptionResponse,
    ExceptionServiceError,
    GetDatablockReassembler,
    GetRequestNormal,
    GetResponseNormal,
    GetResponseWithDatablock,
    InitiateRequest,
    decode_apdu,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.hdlc import HdlcParameters, client_address, server_address
from custom_components.dlms_cosem.dlms.hdlc.link import (
    ApduReceived,
    Connected,
    Disconnected,
    HdlcClientLink,
    LinkEvent,
    LinkLost,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import (
    LOAD_PROFILE,
    SERIAL_NUMBER,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.telegram import SecurityLevel, Telegram, TelegramDecoder
from custom_components.dlms_cosem.dlms.wrapper import WrapperFramer, WrapperPdu

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TIMEOUT = 1.0
SERIAL_REQUEST = GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()


def meter() -> SimulatedMeter:
    return SimulatedMeter(lambda: NOW, security=MeterSecurity(keys=SecurityKeys(EK, AK)))


def aarq(max_pdu: int = 0xFFFF) -> bytes:
    return AARQ(user_information=InitiateRequest(client_max_receive_pdu_size=max_pdu)).encode()


# --- byte streams to the simulator --------------------------------------------------------------------


class Stream:
    """A client's end: a pty slave or a TCP socket."""

    async def read(self) -> bytes:
        raise NotImplementedError

    async def write(self, data: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class TcpStream(Stream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, address: str) -> TcpStream:
        host, port = address.rsplit(":", 1)
        return cls(*await asyncio.open_connection(host, int(port)))

    async def read(self) -> bytes:
        return await self.reader.read(4096)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


class PtyStream(Stream):
    """The slave side of the simulator's pty, opened the way a serial library does."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.queue.put_nowait(os.read(self.fd, 4096))

    async def read(self) -> bytes:
        return await self.queue.get()

    async def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    async def close(self) -> None:
        self.loop.remove_reader(self.fd)
        os.close(self.fd)


class HdlcClient:
    """The stack's sans-I/O HDLC client link driven over a stream, with its retry timer."""

    def __init__(self, stream: Stream, parameters: HdlcParameters | None = None) -> None:
        self.stream = stream
        self.link = HdlcClientLink(client_address(16), server_address(1, 17), parameters, max_retries=3)

    async def _flush(self) -> None:
        data = self.link.data_to_send()
        if data:
            await self.stream.write(data)

    async def _until(self, wanted: tuple[type[LinkEvent], ...], retry_after: float = 0.3) -> LinkEvent:
        await self._flush()
        while True:
            try:
                async with asyncio.timeout(retry_after):
                    events = self.link.receive(await self.stream.read())
            except TimeoutError:
                events = self.link.on_timeout()
            await self._flush()
            for event in events:
                if isinstance(event, wanted):
                    return event
                if not isinstance(event, ApduReceived | Connected):
                    raise AssertionError(f"unexpected link event {event}")

    async def connect(self) -> Connected:
        self.link.connect()
        event = await self._until((Connected,))
        assert isinstance(event, Connected)
        return event

    async def request(self, apdu: bytes) -> bytes:
        self.link.send_apdu(apdu)
        event = await self._until((ApduReceived,))
        assert isinstance(event, ApduReceived)
        return event.apdu

    async def disconnect(self) -> None:
        self.link.disconnect()
        await self._until((Disconnected,))


class WrapperClient:
    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.framer = WrapperFramer()

    async def request(self, apdu: bytes, wait: float = TIMEOUT) -> bytes:
        await self.stream.write(WrapperPdu(16, 1, apdu).encode())
        async with asyncio.timeout(wait):
            while True:
                pdus = self.framer.feed(await self.stream.read())
                if pdus:
                    assert (pdus[0].source, pdus[0].destination) == (1, 16)
                    return pdus[0].apdu


async def read_for(stream: Stream, seconds: float) -> bytes:
    """Everything that arrives within ``seconds``."""
    received = b""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                received += await stream.read()
    return received


async def read_profile(request: object, max_pdu: int) -> Data:
    """GET the load profile with datablocks through ``request`` (an async callable)."""
    reassembler = GetDatablockReassembler()
    response = decode_apdu(
        await request(GetRequestNormal(CosemAttributeDescriptor(7, LOAD_PROFILE, 2)).encode())
    )  # type: ignore[operator]
    while True:
        assert isinstance(response, GetResponseWithDatablock)
        value = reassembler.add(response)
        if value is not None:
            assert isinstance(value, Data)
            return value
        response = decode_apdu(await request(reassembler.next_request().encode()))  # type: ignore[operator]


@pytest.fixture
async def wrapper_server() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(meter(), RunnerSettings(Transport.WRAPPER_TCP)) as server:
        yield server


# --- TCP wrapper --------------------------------------------------------------------------------------


async def test_wrapper_over_tcp_serves_clients_one_after_another(wrapper_server: SimulatorServer) -> None:
    assert wrapper_server.address.startswith("127.0.0.1:")
    for _ in range(2):
        stream = await TcpStream.open(wrapper_server.address)
        client = WrapperClient(stream)
        aare = decode_apdu(await client.request(aarq(max_pdu=256)))
        assert isinstance(aare, AARE)
        assert aare.result is AssociationResult.ACCEPTED
        serial = decode_apdu(await client.request(SERIAL_REQUEST))
        assert serial == GetResponseNormal(Data.octet_string(b"12345678"))
        profile = await read_profile(client.request, 256)
        assert len(profile.value) == 960
        assert decode_apdu(await client.request(RLRQ().encode())) == RLRE()
        await stream.close()
    assert wrapper_server.sessions_served == 2


async def test_wrapper_ignores_other_logical_devices(wrapper_server: SimulatorServer) -> None:
    stream = await TcpStream.open(wrapper_server.address)
    await stream.write(WrapperPdu(16, 5, aarq()).encode())
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await stream.read()
    await stream.close()


async def test_faults_on_the_wrapper() -> None:
    faults = FaultInjector(seed=1)
    async with SimulatorServer(meter(), RunnerSettings(Transport.WRAPPER_TCP), faults=faults) as server:
        stream = await TcpStream.open(server.address)
        client = WrapperClient(stream)
        await client.request(aarq())
        # Drop the association: the next request is answered as not associated.
        faults.drop_association()
        refused = decode_apdu(await client.request(SERIAL_REQUEST))
        assert isinstance(refused, ExceptionResponse)
        assert refused.service_error is ExceptionServiceError.OPERATION_NOT_POSSIBLE
        await client.request(aarq())
        # Stop answering, then resume.
        faults.stop_answering()
        with pytest.raises(TimeoutError):
            await client.request(SERIAL_REQUEST, wait=0.2)
        faults.resume()
        assert isinstance(decode_apdu(await client.request(SERIAL_REQUEST)), GetResponseNormal)
        # Reboot: the association is gone.
        faults.reboot()
        with pytest.raises(TimeoutError):
            await client.request(SERIAL_REQUEST, wait=0.2)  # lost in the reboot
        assert isinstance(decode_apdu(await client.request(SERIAL_REQUEST)), ExceptionResponse)
        # A corrupted answer arrives with one bit flipped.
        await client.request(aarq())
        faults.corrupt_next()
        await stream.write(WrapperPdu(16, 1, SERIAL_REQUEST).encode())
        expected = WrapperPdu(1, 16, GetResponseNormal(Data.octet_string(b"12345678")).encode()).encode()
        corrupted = await read_for(stream, 0.2)
        assert len(corrupted) == len(expected)
        assert sum(bin(a ^ b).count("1") for a, b in zip(corrupted, expected, strict=True)) == 1
        assert faults.frames_corrupted == 1
        await stream.close()


async def test_line_speed_and_latency() -> None:
    faults = FaultInjector(baud=921_600, latency=0.1)
    async with SimulatorServer(meter(), RunnerSettings(Transport.WRAPPER_TCP), faults=faults) as server:
        stream = await TcpStream.open(server.address)
        client = WrapperClient(stream)
        await client.request(aarq())
        loop = asyncio.get_running_loop()
        request = GetRequestNormal(CosemAttributeDescriptor(7, LOAD_PROFILE, 2)).encode()
        started = loop.time()
        await stream.write(WrapperPdu(16, 1, request).encode())
        received = 0
        expected = None
        while expected is None or received < expected:
            chunk = await asyncio.wait_for(stream.read(), TIMEOUT * 3)
            if expected is None:
                expected = 8 + int.from_bytes(chunk[6:8], "big")
            received += len(chunk)
        elapsed = loop.time() - started
        minimum = 0.1 + received * 10 / 921_600
        assert received > 20_000
        assert minimum <= elapsed <= minimum + 0.5, (elapsed, minimum)
        await stream.close()


@pytest.mark.parametrize("baud", [9600, 25_000])
async def test_a_reply_arrives_no_earlier_than_its_last_byte_leaves_the_line(baud: int) -> None:
    """A reply is readable only once its last byte has crossed the line (at 25,000 baud it is one chunk)."""
    faults = FaultInjector(baud=baud)
    async with SimulatorServer(meter(), RunnerSettings(Transport.WRAPPER_TCP), faults=faults) as server:
        stream = await TcpStream.open(server.address)
        client = WrapperClient(stream)
        await client.request(aarq())
        loop = asyncio.get_running_loop()
        started = loop.time()
        await stream.write(WrapperPdu(16, 1, SERIAL_REQUEST).encode())
        received = b""
        while len(received) < 8 or len(received) < 8 + int.from_bytes(received[6:8], "big"):
            received += await asyncio.wait_for(stream.read(), TIMEOUT)
        elapsed = loop.time() - started
        wire_time = len(received) * 10 / baud
        assert len(received) > 20
        assert wire_time <= elapsed <= wire_time + 0.5, (elapsed, wire_time)
        await stream.close()


# --- HDLC ---------------------------------------------------------------------------------------------


async def exercise_hdlc(stream: Stream) -> None:
    client = HdlcClient(stream, HdlcParameters(128, 128, 1, 1))
    connected = await client.connect()
    assert connected.parameters.max_info_receive == 128
    aare = decode_apdu(await client.request(aarq(max_pdu=512)))
    assert isinstance(aare, AARE)
    assert aare.result is AssociationResult.ACCEPTED
    assert decode_apdu(await client.request(SERIAL_REQUEST)) == GetResponseNormal(
        Data.octet_string(b"12345678")
    )
    profile = await read_profile(client.request, 512)
    assert len(profile.value) == 960
    await client.disconnect()


async def test_hdlc_on_a_pty_with_clients_one_after_another() -> None:
    async with SimulatorServer(meter(), RunnerSettings(Transport.HDLC_PTY)) as server:
        assert server.address.startswith("/dev/")
        for _ in range(2):
            stream = PtyStream(server.address)
            await exercise_hdlc(stream)
            await stream.close()


async def test_hdlc_over_tcp() -> None:
    async with SimulatorServer(meter(), RunnerSettings(Transport.HDLC_TCP)) as server:
        stream = await TcpStream.open(server.address)
        await exercise_hdlc(stream)
        await stream.close()


async def test_hdlc_recovers_from_corrupted_and_dropped_frames() -> None:
    faults = FaultInjector(seed=7)
    async with SimulatorServer(meter(), RunnerSettings(Transport.HDLC_PTY), faults=faults) as server:
        stream = PtyStream(server.address)
        client = HdlcClient(stream)
        await client.connect()
        await client.request(aarq())
        faults.corrupt_next()
        assert decode_apdu(await client.request(SERIAL_REQUEST)) == GetResponseNormal(
            Data.octet_string(b"12345678")
        )
        faults.drop_next()
        assert decode_apdu(await client.request(SERIAL_REQUEST)) == GetResponseNormal(
            Data.octet_string(b"12345678")
        )
        assert (faults.frames_corrupted, faults.frames_dropped) == (1, 1)
        assert client.link.framer.fcs_errors + client.link.framer.bytes_discarded > 0
        await stream.close()


async def test_hdlc_reboot_and_inactivity_drop_the_link() -> None:
    faults = FaultInjector()
    settings = RunnerSettings(Transport.HDLC_TCP, inactivity_timeout=0.2)
    async with SimulatorServer(meter(), settings, faults=faults) as server:
        stream = await TcpStream.open(server.address)
        client = HdlcClient(stream)
        await client.connect()
        await client.request(aarq())
        faults.reboot()
        client.link.send_apdu(SERIAL_REQUEST)
        lost = await client._until((LinkLost,))  # the rebooted meter answers DM
        assert isinstance(lost, LinkLost)
        client.link.reset()
        await client.connect()
        refused = decode_apdu(await client.request(SERIAL_REQUEST))
        assert isinstance(refused, ExceptionResponse)  # the association went with the reboot
        await client.request(aarq())
        await asyncio.sleep(0.3)  # longer than the inactivity timeout
        client.link.send_apdu(SERIAL_REQUEST)
        assert isinstance(await client._until((LinkLost,)), LinkLost)
        await stream.close()


# --- push ---------------------------------------------------------------------------------------------


async def collect_telegrams(stream: Stream, decoder: TelegramDecoder, count: int) -> list[Telegram]:
    telegrams: list[Telegram] = []
    async with asyncio.timeout(TIMEOUT * 3):
        while len(telegrams) < count:
            for event in decoder.feed(await stream.read()):
                assert isinstance(event, Telegram), event
                telegrams.append(event)
    return telegrams


async def test_push_on_a_pty() -> None:
    settings = RunnerSettings(Transport.HDLC_PTY, push_interval=0.05)
    async with SimulatorServer(meter(), settings) as server:
        stream = PtyStream(server.address)
        telegrams = await collect_telegrams(stream, TelegramDecoder(), 3)
        invoke_ids = [telegram.long_invoke_id for telegram in telegrams]
        assert invoke_ids == sorted(invoke_ids)
        assert len(set(invoke_ids)) == 3
        names = [obj.obis for obj in telegrams[0].content.objects]
        assert ObisCode(1, 0, 1, 8, 0, 255) in names
        await stream.close()


async def test_ciphered_push_over_tcp() -> None:
    settings = RunnerSettings(
        Transport.WRAPPER_TCP,
        push_interval=0.05,
        push=PushSettings(framing=PushFraming.WRAPPER, security=0x30),
    )
    async with SimulatorServer(meter(), settings) as server:
        stream = await TcpStream.open(server.address)
        decoder = TelegramDecoder(SecurityKeys(EK, AK))
        telegrams = await collect_telegrams(stream, decoder, 2)
        assert all(telegram.security is SecurityLevel.AUTHENTICATED_ENCRYPTED for telegram in telegrams)
        assert all(telegram.authenticated for telegram in telegrams)
        counters = [telegram.invocation_counter for telegram in telegrams]
        assert counters[0] is not None
        assert counters[1] is not None
        assert counters[1] > counters[0]
        await stream.close()


# --- with the project's client ------------------------------------------------------------------------


async def test_the_projects_client_over_the_pty_with_hls_gmac_and_ciphering() -> None:
    from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
    from custom_components.dlms_cosem.dlms.client.client import DlmsClient
    from custom_components.dlms_cosem.dlms.client.settings import Authentication, ClientSettings
    from custom_components.dlms_cosem.dlms.transport.hdlc import HdlcTransport
    from custom_components.dlms_cosem.dlms.transport.streams import SerialEndpoint

    keys = SecurityKeys(EK, AK)
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=keys, require_ciphering=True
    )
    simulated = SimulatedMeter(lambda: NOW, security=security)
    async with SimulatorServer(simulated, RunnerSettings(Transport.HDLC_PTY)) as server:

        def transport(client_address: int) -> HdlcTransport:
            endpoint = SerialEndpoint(server.address)
            return HdlcTransport(
                endpoint, client_address=client_address, server_physical=17, response_timeout=TIMEOUT
            )

        settings = ClientSettings(
            client_address=1,
            authentication=Authentication.HLS_GMAC,
            keys=keys,
            ciphered=True,
            max_pdu_size=256,
        )
        client = DlmsClient(transport(1), settings)
        assert await client.read_frame_counter(transport(16)) == 0
        async with client:
            energy, voltage = await client.read_registers(["1.0.1.8.0.255", "1.0.32.7.0.255"])
            profile = await client.read_profile("1.0.99.1.0.255", start=NOW - timedelta(hours=1), end=NOW)
        assert not isinstance(energy, Exception)
        assert energy.value == simulated.read(ObisCode(1, 0, 1, 8, 0, 255)).value
        assert energy.unit == "Wh"
        assert not isinstance(voltage, Exception)
        assert 220 <= voltage.value <= 240
        assert len(profile.rows) == 4  # 09:15, 09:30, 09:45, 10:00 UTC
        assert simulated.security.client_invocation_counter > 0


async def test_in_memory_transport_with_the_projects_client() -> None:
    from custom_components.dlms_cosem.dlms.client.client import DlmsClient
    from custom_components.dlms_cosem.dlms.client.settings import ClientSettings
    from custom_components.dlms_cosem.dlms.errors import ConnectionLostError
    from custom_components.dlms_cosem.dlms.simulator.runner import InMemoryTransport
    from custom_components.dlms_cosem.dlms.simulator.server import ServerConnection

    connection = ServerConnection(meter())
    transport = InMemoryTransport(connection)
    async with DlmsClient(transport, ClientSettings()) as client:
        serial = await client.get("0.0.96.1.0.255", 1)
        assert serial == Data.octet_string(b"12345678")
        assert connection.associated
    assert not connection.associated
    with pytest.raises(ConnectionLostError):
        await transport.request(SERIAL_REQUEST)


@pytest.mark.parametrize("transport", [Transport.HDLC_PTY, Transport.HDLC_TCP])
async def test_several_meters_on_one_port_read_over_one_shared_port(transport: Transport) -> None:
    from custom_components.dlms_cosem.dlms.client.client import DlmsClient
    from custom_components.dlms_cosem.dlms.client.settings import ClientSettings
    from custom_components.dlms_cosem.dlms.errors import MeterNotRespondingError
    from custom_components.dlms_cosem.dlms.transport.hdlc import HdlcTransport
    from custom_components.dlms_cosem.dlms.transport.shared import SharedPort
    from custom_components.dlms_cosem.dlms.transport.streams import Endpoint, SerialEndpoint, TcpEndpoint

    first = SimulatedMeter(lambda: NOW, serial="11111111")
    second = SimulatedMeter(lambda: NOW, serial="22222222")
    settings = RunnerSettings(transport, server_address=server_address(1, 17))
    with pytest.raises(ValueError, match="own HDLC address"):
        SimulatorServer(first, settings, extra_meters=[(server_address(1, 17, 4), second)])
    async with SimulatorServer(first, settings, extra_meters=[(server_address(1, 18), second)]) as server:
        endpoint: Endpoint
        if transport is Transport.HDLC_PTY:
            endpoint = SerialEndpoint(server.address)
        else:
            host, tcp_port = server.address.rsplit(":", 1)
            endpoint = TcpEndpoint(host, int(tcp_port))
        port = SharedPort(endpoint)

        def client(physical: int) -> DlmsClient:
            link = HdlcTransport(port, server_physical=physical, response_timeout=TIMEOUT, max_retries=1)
            return DlmsClient(link, ClientSettings())

        async with client(17) as one, client(18) as two:
            assert port.users == 2
            serials = await asyncio.gather(*(c.get("0.0.96.1.0.255", 1) for c in (one, two, one, two)))
            assert serials == [Data.octet_string(s) for s in (b"11111111", b"22222222") * 2]
        assert port.users == 0
        # A station nobody configured stays silent, as an absent meter on the bus does.
        with pytest.raises(MeterNotRespondingError):
            async with client(19):
                pass
        async with client(18) as two:  # and the others still answer
            assert await two.get("0.0.96.1.0.255", 1) == Data.octet_string(b"22222222")
