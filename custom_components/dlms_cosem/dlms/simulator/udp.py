"""The simulated meter on UDP: the IEC 62056-47 wrapper, one PDU per datagram.

One UDP socket serves every client: each remote address (host and port) gets its own session, with
its own association, as a TCP connection does; a session forgotten after ``inactivity_timeout``
seconds of silence is a meter that dropped its association. A datagram that is not one whole wrapper
PDU is ignored, as a meter does.

Like the TCP wrapper it is a gateway: PDUs go to the logical device at their destination wPort
(:class:`~.gateway.LogicalDevices`).

Faults apply per datagram: a datagram the fault injector cuts short or corrupts is lost whole (UDP's
checksum would drop it), so a client sees lost datagrams, never damaged ones.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..errors import FrameError
from ..wrapper import WrapperPdu, decode_wrapper_pdu
from .gateway import LogicalDevices
from .runner import _Port, _Session

if TYPE_CHECKING:
    from .runner import SimulatorServer

_LOGGER = logging.getLogger(__name__)

type Address = tuple[str | int, ...]


class _DatagramPort(_Port):
    """One client's datagrams: read from the socket's queue for that address, written back to it."""

    def __init__(self, transport: asyncio.DatagramTransport, address: Address) -> None:
        self._transport = transport
        self.address = address
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()
        self._closed = False

    async def read(self) -> bytes:
        if self._closed:
            return b""
        return await self.datagrams.get()

    async def write(self, data: bytes) -> None:
        if not self._closed and not self._transport.is_closing():
            self._transport.sendto(data, self.address)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.datagrams.put_nowait(b"")


class UdpSession(_Session):
    """One client address on the UDP socket: whole PDUs in, whole PDUs out."""

    def __init__(self, port: _DatagramPort, simulator: SimulatorServer) -> None:
        super().__init__(port, simulator, f"udp {port.address}")
        self.devices = LogicalDevices(simulator)
        self.datagrams_invalid = 0
        """Datagrams that were not one whole wrapper PDU."""

    def _reboot(self) -> None:
        super()._reboot()
        self.devices.drop()

    async def run(self) -> None:
        """Serve datagrams until the client stays silent for the inactivity timeout."""
        timeout = self._simulator.settings.inactivity_timeout
        while True:
            try:
                async with asyncio.timeout(timeout):
                    datagram = await self.port.read()
            except TimeoutError:
                _LOGGER.debug("UDP client %s silent: association dropped", self.describe)
                return
            if not datagram:
                return
            if self.faults.take_reboot():
                self._reboot()
                continue  # the request that found the meter rebooting is lost
            if self._deaf():
                continue
            try:
                pdu = decode_wrapper_pdu(datagram)
            except FrameError as err:
                self.datagrams_invalid += 1
                _LOGGER.debug("Ignoring a datagram from %s: %s", self.describe, err)
                continue
            connection = self.devices.connection(self, pdu.destination, pdu.source)
            if connection is None:
                continue  # no logical device at that wPort
            answer = self._serve(pdu.apdu, connection)
            if answer is not None:
                await self.transmit(WrapperPdu(pdu.destination, pdu.source, answer).encode())

    async def transmit(self, data: bytes, *, reply: bool = True) -> None:
        """Send one datagram after the latency; a datagram a fault damages is lost whole."""
        if not data:
            return
        if reply and self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if self.faults.mangle(data) != data:
            _LOGGER.debug("Datagram to %s lost (fault)", self.describe)
            return
        await self.port.write(data)


class _Socket(asyncio.DatagramProtocol):
    """Hands each datagram to its client's session, starting one for a new address."""

    def __init__(self, simulator: SimulatorServer) -> None:
        self._simulator = simulator
        self.transport: asyncio.DatagramTransport | None = None
        self.sessions: dict[Address, UdpSession] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Address) -> None:
        assert self.transport is not None
        session = self.sessions.get(addr)
        if session is None:
            session = self.sessions[addr] = UdpSession(_DatagramPort(self.transport, addr), self._simulator)
            self._simulator._spawn(self._serve(addr, session))
        port = session.port
        assert isinstance(port, _DatagramPort)
        port.datagrams.put_nowait(data)

    async def _serve(self, addr: Address, session: UdpSession) -> None:
        try:
            await self._simulator._run_session(session)
        finally:
            if self.sessions.get(addr) is session:
                del self.sessions[addr]


class UdpListener:
    """The simulator's UDP socket."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Socket) -> None:
        self._transport = transport
        self.protocol = protocol
        host, port = transport.get_extra_info("sockname")[:2]
        self.address = f"{host}:{port}"

    def close(self) -> None:
        """Close the socket (the runner ends the sessions)."""
        self._transport.close()


async def start_udp(simulator: SimulatorServer) -> UdpListener:
    """Listen on ``settings.host``/``settings.port`` over UDP."""
    loop = asyncio.get_running_loop()
    settings = simulator.settings
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Socket(simulator), local_addr=(settings.host, settings.port)
    )
    return UdpListener(transport, protocol)
