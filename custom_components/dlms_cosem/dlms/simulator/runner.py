"""asyncio adapters: the simulated meter on a pty (HDLC), TCP (HDLC or the IEC 62056-47 wrapper) or UDP.

:class:`SimulatorServer` opens the port, and for each client (sequentially on the pty, one session per
connection on TCP) runs a session: bytes in -> link layer (:class:`~..hdlc.link.HdlcServerLink`, or the
wrapper framer) -> :class:`~.server.ServerConnection` -> link layer -> bytes out. The
:class:`~.faults.FaultInjector` decides what goes wrong; this module applies it with asyncio timing:
reply latency, the emulated line speed (``10 / baud`` seconds per byte, written in small chunks), an
inactivity timeout that drops the HDLC link, and the reboot downtime. In push mode telegrams go to the
pty or to every connected TCP client periodically. ``close`` stops everything and releases every fd.

Over HDLC the port can be a bus with several meters: ``extra_meters`` adds stations at other HDLC
addresses, each with its own server link and association; every link sees every frame and ignores the
ones addressed to other stations, as meters on an RS-485 line do. Over the wrapper (TCP or UDP, see
:mod:`.udp`) the port is a gateway: ``extra_meters`` answer at their logical address as wPort.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import termios
import tty
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from ..errors import ConnectionLostError, DlmsError, MeterNotRespondingError
from ..hdlc import HdlcParameters, server_address
from ..hdlc.address import HdlcAddress
from ..hdlc.link import (
    ApduReceived,
    Connected,
    Disconnected,
    HdlcServerLink,
    LinkEvent,
    ProposalAnswer,
    ProtocolViolation,
    same_station,
)
from ..iec62056_21 import ACK, MODE_CONTROL_BINARY, PROTOCOL_CONTROL_HDLC
from ..wrapper import WrapperFramer, WrapperPdu
from .faults import FaultInjector
from .gateway import LogicalDevices
from .model import SimulatedMeter
from .push import PushBuilder, PushSettings
from .server import DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE, ServerConnection

if TYPE_CHECKING:
    from .udp import UdpListener

_LOGGER = logging.getLogger(__name__)

READ_SIZE = 4096
#: Seconds a full pty may stay full before its unread bytes are dropped (nobody is listening).
STALLED_LINE_TIMEOUT = 1.0
#: On an emulated slow line, bytes go out in chunks of about this many seconds' worth.
_PACING_INTERVAL = 0.01


class Transport(StrEnum):
    """Where and how the simulator listens."""

    WRAPPER_TCP = "wrapper-tcp"
    HDLC_TCP = "hdlc-tcp"
    HDLC_PTY = "hdlc-pty"
    WRAPPER_UDP = "wrapper-udp"


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """Port, addressing and timing of a :class:`SimulatorServer`.

    ``server_address`` is the HDLC address of the logical device; its upper (logical) address is also
    the wrapper wPort. ``inactivity_timeout`` drops an idle HDLC link as a meter does (seconds).
    ``push_interval`` (seconds) turns push mode on. ``short_names`` makes the meter accept only short
    name referencing. ``hdlc_parameters`` are the meter's HDLC limits; ``hdlc_proposal_answer`` plays
    a meter that refuses (or ignores) an SNRM proposing parameters.
    """

    transport: Transport = Transport.WRAPPER_TCP
    host: str = "127.0.0.1"
    port: int = 0
    server_address: HdlcAddress = field(default_factory=lambda: server_address(1, 17))
    hdlc_parameters: HdlcParameters = field(default_factory=HdlcParameters)
    hdlc_proposal_answer: ProposalAnswer = ProposalAnswer.NEGOTIATE
    max_receive_pdu_size: int = DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE
    inactivity_timeout: float = 120.0
    push_interval: float | None = None
    push: PushSettings = field(default_factory=PushSettings)
    short_names: bool = False
    optical_mode_e: bool = False
    """On the pty: an optical port that speaks HDLC only after the IEC 62056-21 mode E opening."""


class _Port:
    """A byte stream to one client: read, write (serialised), close."""

    async def read(self) -> bytes:
        """The next bytes; empty at the end of the stream."""
        raise NotImplementedError

    async def write(self, data: bytes) -> None:
        """Send bytes."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the stream."""


class _StreamPort(_Port):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        try:
            return await self._reader.read(READ_SIZE)
        except OSError:
            return b""

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()


class _ModeEPort(_Port):
    r"""An optical port: the IEC 62056-21 mode E opening first, then HDLC (see :mod:`..iec62056_21`).

    To the sign-on ``/?!`` it answers an identification that announces binary mode (``\2``); the
    acknowledgement ``ACK 2 Z 2`` switches it to HDLC, whose bytes then pass through. A sign-on while
    in HDLC (a client that opened the port again) starts a new opening, as a meter's optical port
    falls back after its inactivity time. The baud rate switch is the line's business: a pty has none.
    """

    IDENTIFICATION = b"/SIM5\\2SIMULATED-E\r\n"
    _MAX_LINE = 64

    def __init__(self, inner: _Port) -> None:
        self._inner = inner
        self._hdlc = False
        self._buffer = bytearray()
        self.openings = 0
        """Mode E openings completed (acknowledgements taken)."""

    async def read(self) -> bytes:
        while data := await self._inner.read():
            if self._hdlc and not (data.startswith(b"/?") and data.endswith(b"!\r\n")):
                return data
            self._hdlc = False
            self._buffer += data
            while (end := self._buffer.find(b"\r\n")) >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                if b"/?" in line and line.endswith(b"!"):  # after what HDLC left in the buffer
                    await self._inner.write(self.IDENTIFICATION)
                elif (
                    len(line) == 4
                    and line[0] == ACK
                    and line[1:2] == PROTOCOL_CONTROL_HDLC.encode()
                    and line[3:4] == MODE_CONTROL_BINARY.encode()
                ):
                    self._hdlc = True
                    self.openings += 1
                    rest, self._buffer = bytes(self._buffer), bytearray()
                    if rest:
                        return rest
                    break
            if len(self._buffer) > self._MAX_LINE:
                self._buffer.clear()  # noise: the next sign-on starts afresh
        return b""

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    def close(self) -> None:
        self._inner.close()


class _PtyPort(_Port):
    """The master side of a pty, read and written without blocking the event loop.

    The slave stays open here too, so the master never reads EIO while no client holds the slave: the
    next client simply opens the same path.
    """

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing: a serial line
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._loop = asyncio.get_running_loop()
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._loop.add_reader(self.master, self._readable)
        self._closed = False

    def _readable(self) -> None:
        try:
            data = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._loop.remove_reader(self.master)
        self._chunks.put_nowait(data)

    async def read(self) -> bytes:
        if self._closed:
            return b""
        return await self._chunks.get()

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._closed:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                written = 0
            view = view[written:]
            if view and not await self._writable():
                # Nobody reads the line (no client, or one that stopped): like a real serial line,
                # what was sent is lost rather than piling up for the next client.
                termios.tcflush(self.slave, termios.TCIFLUSH)

    async def _writable(self) -> bool:
        """Wait until the master takes bytes again; False when the line stays full."""
        ready = self._loop.create_future()
        self._loop.add_writer(self.master, ready.set_result, None)
        try:
            async with asyncio.timeout(STALLED_LINE_TIMEOUT):
                await ready
        except TimeoutError:
            return False
        finally:
            self._loop.remove_writer(self.master)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self.master)
        self._chunks.put_nowait(b"")
        os.close(self.master)
        os.close(self.slave)


class _Session:
    """One client on one port: link layer, association, faults, pushes."""

    def __init__(self, port: _Port, simulator: SimulatorServer, describe: str) -> None:
        self.port = port
        self._simulator = simulator
        self.describe = describe
        self.connection = simulator.new_connection()
        self._write_lock = asyncio.Lock()
        self._deaf_until = 0.0
        self._loop = asyncio.get_running_loop()

    @property
    def faults(self) -> FaultInjector:
        return self._simulator.faults

    async def run(self) -> None:
        """Serve until the client goes away (or the session is cancelled)."""
        raise NotImplementedError

    def _deaf(self) -> bool:
        return self._loop.time() < self._deaf_until

    def _reboot(self) -> None:
        _LOGGER.info("Simulated reboot")
        self.connection = self._simulator.new_connection()
        self._deaf_until = self._loop.time() + self.faults.reboot_downtime
        if self.faults.reset_frame_counters:
            security = self._simulator.meter.security
            security.client_invocation_counter = 0
            security.server_invocation_counter = 0

    def _serve(self, apdu: bytes, connection: ServerConnection | None = None) -> bytes | None:
        """The answer to one APDU after the request faults; None when nothing is sent.

        ``connection`` answers it (one of the stations on a bus); the session's by default.
        """
        faults = self.faults.on_request()
        if faults.reboot:
            self._reboot()
            return None
        if faults.ignore:
            return None
        if connection is None:
            connection = self.connection
        if faults.drop_association:
            connection.drop_association()
        return connection.handle(apdu)

    async def transmit(self, data: bytes, *, reply: bool = True) -> None:
        """Send bytes as the emulated line does: after the latency, at the baud rate, maybe mangled."""
        if not data:
            return
        async with self._write_lock:
            if reply and self.faults.latency:
                await asyncio.sleep(self.faults.latency)
            data = self.faults.mangle(data)
            if not data:
                return
            baud = self.faults.baud
            if not baud:
                await self.port.write(data)
                return
            chunk = max(1, int(baud / 10 * _PACING_INTERVAL))
            start = self._loop.time()
            for offset in range(0, len(data), chunk):
                piece = data[offset : offset + chunk]
                # A byte reaches the peer when its stop bit has gone out: write each chunk at the end
                # of its wire time, the last one included, so a reply is never early.
                due = start + self.faults.transmission_time(offset + len(piece))
                delay = due - self._loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.port.write(piece)

    async def push(self, frames: list[bytes]) -> None:
        """Send one pushed telegram, frame by frame."""
        for frame in frames:
            await self.transmit(frame, reply=False)


def _server_link(address: HdlcAddress, settings: RunnerSettings) -> HdlcServerLink:
    return HdlcServerLink(address, settings.hdlc_parameters, proposal_answer=settings.hdlc_proposal_answer)


class _Station:
    """One further meter on an HDLC bus: its own server link and association."""

    def __init__(self, address: HdlcAddress, meter: SimulatedMeter, simulator: SimulatorServer) -> None:
        self.meter = meter
        self._simulator = simulator
        self.link = _server_link(address, simulator.settings)
        self.connection = self.new_connection()

    def new_connection(self, client_sap: int = 16) -> ServerConnection:
        return self._simulator.new_connection(client_sap, meter=self.meter, address=self.link.server_address)


class _HdlcSession(_Session):
    def __init__(self, port: _Port, simulator: SimulatorServer, describe: str) -> None:
        super().__init__(port, simulator, describe)
        settings = simulator.settings
        self.link = _server_link(settings.server_address, settings)
        self.stations = [_Station(address, meter, simulator) for address, meter in simulator.extra_meters]

    def _reboot(self) -> None:
        super()._reboot()
        self.link.reset()
        for station in self.stations:  # the whole bus loses power
            station.link.reset()
            station.connection = station.new_connection()
            if self.faults.reset_frame_counters:
                station.meter.security.client_invocation_counter = 0
                station.meter.security.server_invocation_counter = 0

    async def run(self) -> None:
        timeout = self._simulator.settings.inactivity_timeout
        while True:
            try:
                async with asyncio.timeout(timeout):
                    data = await self.port.read()
            except TimeoutError:
                if self.link.is_connected:
                    _LOGGER.debug("HDLC inactivity timeout: link dropped")
                self.link.reset()
                self.connection.drop_association()
                for station in self.stations:
                    station.link.reset()
                    station.connection.drop_association()
                continue
            if not data:
                return
            if self.faults.take_reboot():
                self._reboot()
            if self._deaf():
                continue
            for event in self.link.receive(data):
                self._on_event(event)
            await self.transmit(self.link.data_to_send())
            for station in self.stations:
                for event in station.link.receive(data):
                    self._on_station_event(station, event)
                await self.transmit(station.link.data_to_send())

    def _on_event(self, event: LinkEvent) -> None:
        if isinstance(event, Connected):
            client = self.link.client_address
            self.connection = self._simulator.new_connection(client.logical if client else 16)
        elif isinstance(event, Disconnected | ProtocolViolation):
            self.connection.drop_association()
        elif isinstance(event, ApduReceived):
            answer = self._serve(event.apdu)
            if answer is not None and self.link.is_connected:
                self.link.send_apdu(answer)

    def _on_station_event(self, station: _Station, event: LinkEvent) -> None:
        if isinstance(event, Connected):
            client = station.link.client_address
            station.connection = station.new_connection(client.logical if client else 16)
        elif isinstance(event, Disconnected | ProtocolViolation):
            station.connection.drop_association()
        elif isinstance(event, ApduReceived):
            answer = self._serve(event.apdu, station.connection)
            if answer is not None and station.link.is_connected:
                station.link.send_apdu(answer)


class _WrapperSession(_Session):
    def __init__(self, port: _Port, simulator: SimulatorServer, describe: str) -> None:
        super().__init__(port, simulator, describe)
        self.devices = LogicalDevices(simulator)

    def _reboot(self) -> None:
        super()._reboot()
        self.devices.drop()

    async def run(self) -> None:
        framer = WrapperFramer()
        while True:
            data = await self.port.read()
            if not data:
                return
            if self.faults.take_reboot():
                self._reboot()
                framer.reset()
                continue  # the request that found the meter rebooting is lost
            if self._deaf():
                continue
            for pdu in framer.feed(data):
                connection = self.devices.connection(self, pdu.destination, pdu.source)
                if connection is None:
                    continue  # no logical device at that wPort
                answer = self._serve(pdu.apdu, connection)
                if answer is not None:
                    await self.transmit(WrapperPdu(pdu.destination, pdu.source, answer).encode())


class InMemoryTransport:
    """An ``ApduTransport`` straight into a :class:`ServerConnection`, for client tests without a port.

    Closing it is a lost link: the association is dropped. A request the server leaves unanswered
    (a fault) is :class:`MeterNotRespondingError` at once, as if the timeout had expired.
    """

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self._open = False

    @property
    def is_open(self) -> bool:
        """True between ``open`` and ``close``."""
        return self._open

    async def open(self) -> None:
        """Nothing to open."""
        self._open = True

    async def request(self, apdu: bytes) -> bytes:
        """The server's answer."""
        if not self._open:
            raise ConnectionLostError("the in-memory transport is closed")
        answer = self.connection.handle(apdu)
        if answer is None:
            raise MeterNotRespondingError("the simulated meter did not answer")
        return answer

    async def send(self, apdu: bytes) -> None:
        """Hand over an APDU that gets no answer."""
        if not self._open:
            raise ConnectionLostError("the in-memory transport is closed")
        self.connection.handle(apdu)

    async def close(self) -> None:
        """Drop the association, as a closed link does."""
        self._open = False
        self.connection.drop_association()


class SimulatorServer:
    """The simulated meter listening on a pty or a TCP port; ``start`` returns where.

    Use as an async context manager, or call :meth:`start` and :meth:`close`. ``connection_factory``
    options (PDU size, challenge randomness) come from ``settings`` and ``random_bytes``.

    ``extra_meters`` puts further meters on the same HDLC port (pty or TCP), each at its own HDLC
    address (which must differ from ``settings.server_address`` and from each other); faults, line
    speed and the inactivity timeout are the port's, pushes come from ``meter`` only. Over the
    wrapper they are logical devices behind one gateway, at their logical address as wPort.
    """

    def __init__(
        self,
        meter: SimulatedMeter,
        settings: RunnerSettings | None = None,
        *,
        faults: FaultInjector | None = None,
        random_bytes: Callable[[int], bytes] | None = None,
        extra_meters: Sequence[tuple[HdlcAddress, SimulatedMeter]] = (),
    ) -> None:
        self.meter = meter
        self.settings = settings or RunnerSettings()
        self.extra_meters = tuple(extra_meters)
        addresses = [self.settings.server_address, *(address for address, _ in extra_meters)]
        if any(same_station(a, b) for i, a in enumerate(addresses) for b in addresses[i + 1 :]):
            raise ValueError("every meter on the port needs its own HDLC address")
        logicals = [address.logical for address in addresses]
        if not self._is_hdlc and len(set(logicals)) != len(logicals):
            raise ValueError("behind the wrapper every meter needs its own logical address (wPort)")
        self.faults = faults or FaultInjector()
        self._random_bytes = random_bytes
        self.sessions: list[_Session] = []
        """Sessions currently running."""
        self.sessions_served = 0
        """Clients served so far (TCP connections; the pty counts as one)."""
        self.push_builder: PushBuilder | None = None
        self._server: asyncio.Server | None = None
        self._pty: _PtyPort | None = None
        self._udp: UdpListener | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.address = ""
        """Where the simulator listens: ``host:port`` or the pty's slave path."""

    @property
    def _is_hdlc(self) -> bool:
        return self.settings.transport in (Transport.HDLC_TCP, Transport.HDLC_PTY)

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def new_connection(
        self,
        client_sap: int = 16,
        *,
        meter: SimulatedMeter | None = None,
        address: HdlcAddress | None = None,
    ) -> ServerConnection:
        """A fresh association with the meter (for a new link or a new TCP client).

        ``meter`` and ``address`` name one of the ``extra_meters`` instead.
        """
        return ServerConnection(
            meter or self.meter,
            client_sap=client_sap,
            server_sap=(address or self.settings.server_address).logical,
            max_receive_pdu_size=self.settings.max_receive_pdu_size,
            short_names=self.settings.short_names,
            random_bytes=self._random_bytes or secrets.token_bytes,
        )

    async def start(self) -> str:
        """Open the port; returns (and keeps in :attr:`address`) where clients connect."""
        settings = self.settings
        if settings.push_interval is not None:
            self.push_builder = PushBuilder(self.meter, settings.push)
        if settings.transport is Transport.HDLC_PTY:
            self._pty = _PtyPort()
            self.address = self._pty.path
            port: _Port = _ModeEPort(self._pty) if settings.optical_mode_e else self._pty
            session = _HdlcSession(port, self, self._pty.path)
            self._spawn(self._run_session(session))
        elif settings.transport is Transport.WRAPPER_UDP:
            from .udp import start_udp  # noqa: PLC0415 - the UDP module builds on this one

            self._udp = await start_udp(self)
            self.address = self._udp.address
        else:
            self._server = await asyncio.start_server(self._on_client, settings.host, settings.port)
            host, port = self._server.sockets[0].getsockname()[:2]
            self.address = f"{host}:{port}"
        if settings.push_interval is not None:
            self._spawn(self._push_loop(settings.push_interval))
        _LOGGER.info("Simulator listening on %s (%s)", self.address, settings.transport)
        return self.address

    async def close(self) -> None:
        """Stop serving: close the port and every connection, cancel and await every task."""
        if self._server is not None:
            self._server.close()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for session in list(self.sessions):
            session.port.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        port = _StreamPort(reader, writer)
        session: _Session
        if self.settings.transport is Transport.HDLC_TCP:
            session = _HdlcSession(port, self, str(peer))
        else:
            session = _WrapperSession(port, self, str(peer))
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._run_session(session)
        finally:
            self._tasks.discard(task)

    async def _run_session(self, session: _Session) -> None:
        self.sessions.append(session)
        self.sessions_served += 1
        _LOGGER.debug("Client connected: %s", session.describe)
        try:
            await session.run()
        except (OSError, DlmsError) as err:
            _LOGGER.debug("Session %s ended: %s", session.describe, err)
        except Exception:
            _LOGGER.exception("Session %s failed", session.describe)
        finally:
            self.sessions.remove(session)
            session.port.close()
            _LOGGER.debug("Client gone: %s", session.describe)

    async def _push_loop(self, interval: float) -> None:
        assert self.push_builder is not None
        while True:
            await asyncio.sleep(interval)
            if not self.sessions:
                continue
            try:
                frames = self.push_builder.frames()
            except DlmsError as err:
                _LOGGER.warning("Cannot build a push telegram: %s", err)
                continue
            for session in list(self.sessions):
                try:
                    await session.push(frames)
                except OSError as err:
                    _LOGGER.debug("Push to %s failed: %s", session.describe, err)
