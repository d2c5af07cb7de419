"""Peers for the transport tests: a pty whose master end plays a meter, a TCP server that does too.

No tasks: the pty master is watched with ``loop.add_reader`` and the TCP server is protocol based,
so every test can close all of it synchronously-ish and leave nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import tty
from collections.abc import Callable
from pathlib import Path

from custom_components.dlms_cosem.dlms.hdlc import HdlcAddress, HdlcFrame, HdlcFramer, HdlcParameters
from custom_components.dlms_cosem.dlms.hdlc.link import ApduReceived, HdlcServerLink, ProposalAnswer

type Handler = Callable[[bytes], bytes]


def split_frames(data: bytes) -> list[bytes]:
    """Cut a link's own output into frames by their length fields."""
    out = []
    position = 0
    while position < len(data):
        length = ((data[position + 1] << 8) | data[position + 2]) & 0x07FF
        out.append(data[position : position + length + 2])
        position += length + 2
    return out


def default_answer(address: HdlcAddress, apdu: bytes) -> bytes | None:
    """The answer the test meters give: their physical address, then the request reversed."""
    return bytes([address.physical or 0]) + apdu[::-1]


class Meter:
    """HDLC meters (one server link per address) on one line, with faults to switch on."""

    def __init__(
        self,
        addresses: list[HdlcAddress],
        *,
        parameters: HdlcParameters | None = None,
        proposal_answer: ProposalAnswer = ProposalAnswer.NEGOTIATE,
        answer: Callable[[HdlcAddress, bytes], bytes | None] = default_answer,
    ) -> None:
        self.links = {
            address: HdlcServerLink(address, parameters, proposal_answer=proposal_answer)
            for address in addresses
        }
        self.answer = answer
        self.silent: set[HdlcAddress] = set()
        """Addresses that hear but never answer."""
        self.drop_frames = 0
        """Drop this many of the next frames sent."""
        self.corrupt_frames = 0
        """Flip a bit in this many of the next frames sent."""
        self.garbage = b""
        """Bytes put on the line before every answer."""
        self.requests: list[tuple[HdlcAddress, bytes]] = []
        self.heard: list[HdlcFrame] = []
        self.sent_frames = 0
        self._recorder = HdlcFramer()

    def feed(self, data: bytes) -> bytes:
        """Bytes from the client in, bytes onto the line out."""
        out = bytearray()
        for address, link in self.links.items():
            for event in link.receive(data):
                if isinstance(event, ApduReceived):
                    self.requests.append((address, event.apdu))
                    answer = self.answer(address, event.apdu)
                    if answer is None:
                        link.acknowledge()
                    else:
                        link.send_apdu(answer)
            reply = link.data_to_send()
            if address in self.silent or not reply:
                continue
            out += self.garbage
            for frame in split_frames(reply):
                self.sent_frames += 1
                if self.drop_frames:
                    self.drop_frames -= 1
                    continue
                if self.corrupt_frames:
                    self.corrupt_frames -= 1
                    frame = frame[:5] + bytes([frame[5] ^ 0x04]) + frame[6:]  # noqa: PLW2901
                out += frame
        return bytes(out)

    def record(self, data: bytes) -> None:
        """Keep the frames the client sent, for checks on what went over the line."""
        self.heard.extend(self._recorder.feed(data))

    def handle(self, data: bytes) -> bytes:
        """What a peer calls: record, then answer."""
        self.record(data)
        return self.feed(data)


class PtyPeer:
    """A pty whose master end is played by ``handler``; ``path`` (a symlink, like /dev/serial/by-id)
    is what the transport opens. ``hang_up`` closes the master (adapter unplugged), ``replug`` makes
    a new pty behind the same path."""

    def __init__(self, directory: Path, handler: Handler) -> None:
        self.handler = handler
        self.path = directory / "ttyMETER"
        self.received = bytearray()
        self._loop = asyncio.get_running_loop()
        self._pending = bytearray()
        self.master = -1
        self.slave = -1
        self._timers: list[asyncio.TimerHandle] = []
        self._make()

    def _make(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.path.symlink_to(os.ttyname(self.slave))
        self._loop.add_reader(self.master, self._readable)

    @property
    def url(self) -> str:
        return str(self.path)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EIO):
                return
            raise
        self.received += data
        reply = self.handler(data)
        if reply:
            self.write(reply)

    def write(self, data: bytes) -> None:
        self._pending += data
        self._flush()

    def write_later(self, delay: float, data: bytes) -> None:
        self._timers.append(self._loop.call_later(delay, self.write, data))

    def _flush(self) -> None:
        if self.master < 0:
            return
        try:
            written = os.write(self.master, self._pending)
        except BlockingIOError:
            written = 0
        del self._pending[:written]
        if self._pending:
            self._loop.add_writer(self.master, self._writable)

    def _writable(self) -> None:
        self._loop.remove_writer(self.master)
        self._flush()

    def _release_master(self) -> None:
        if self.master >= 0:
            self._loop.remove_reader(self.master)
            self._loop.remove_writer(self.master)
            os.close(self.master)
            self.master = -1
        self._pending.clear()

    def hang_up(self) -> None:
        """The other end goes away (the adapter is unplugged)."""
        self._release_master()

    def replug(self) -> None:
        """A new pty behind the same path (the adapter is plugged in again)."""
        self.close()
        self._make()

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._release_master()
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1


class _Connection(asyncio.Protocol):
    def __init__(self, peer: TcpPeer) -> None:
        self.peer = peer
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer.connections.append(self)

    def data_received(self, data: bytes) -> None:
        self.peer.received += data
        reply = self.peer.handler(data)
        if reply and self.transport is not None:
            self.transport.write(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.peer.connections:
            self.peer.connections.remove(self)


class TcpPeer:
    """A TCP server on 127.0.0.1 whose connections are played by ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received = bytearray()
        self.connections: list[_Connection] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> TcpPeer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def hang_up(self) -> None:
        """Close every open connection from the server side."""
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()

    async def close(self) -> None:
        self.hang_up()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        await asyncio.sleep(0)
