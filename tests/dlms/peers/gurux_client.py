"""A gurux-dlms client (GXDLMSClient) driven over a blocking byte link, as an independent test peer.

gurux-net and gurux-serial are not installed, so the bytes go through :class:`SocketLink` (TCP) or
:class:`FdLink` (a pty) here; every read has a deadline, so a silent peer gives ``TimeoutError``
instead of a hang. All calls block: run them in a worker thread (``asyncio.to_thread``) while the
simulator runs in the event loop. gurux prints to stdout in places (decryption, unknown objects):
:meth:`GuruxSession.quiet` captures that output so the test output stays clean.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType

READ_SIZE = 4096


class Link(Protocol):
    """A blocking byte stream with a read deadline."""

    def send(self, data: bytes) -> None:
        """Write all bytes."""

    def receive(self, timeout: float) -> bytes:
        """The next bytes available within ``timeout`` seconds (``TimeoutError`` otherwise)."""

    def close(self) -> None:
        """Release the stream."""


class SocketLink:
    """A TCP connection."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.socket = socket.create_connection((host, port), timeout=timeout)

    def send(self, data: bytes) -> None:
        self.socket.sendall(data)

    def receive(self, timeout: float) -> bytes:
        self.socket.settimeout(timeout)
        data = self.socket.recv(READ_SIZE)
        if not data:
            raise ConnectionError("the peer closed the connection")
        return data

    def close(self) -> None:
        self.socket.close()


class FdLink:
    """A serial line: the slave side of a pty, opened by path, read with ``select``."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            select.select([], [self.fd], [], 1.0)
            written = os.write(self.fd, view)
            view = view[written:]

    def receive(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no bytes within {timeout} s")
        return os.read(self.fd, READ_SIZE)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class GuruxSession:
    """One gurux client association: connect (SNRM/UA for HDLC, AARQ/AARE), read, release.

    ``printed`` collects whatever gurux wrote to stdout.
    """

    link: Link
    client: GXDLMSClient
    timeout: float = 2.0
    printed: list[str] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        link: Link,
        *,
        hdlc: bool,
        client_address: int = 16,
        logical_address: int = 1,
        physical_address: int = 17,
        password: bytes | None = None,
        max_pdu_size: int = 0xFFFF,
        timeout: float = 2.0,
    ) -> GuruxSession:
        """A gurux client for one logical device (HDLC address or wrapper wPort).

        A small ``max_pdu_size`` makes the server answer long values in GET datablocks.
        """
        if hdlc:
            server = GXDLMSClient.getServerAddress(logical_address, physical_address)
            interface = InterfaceType.HDLC
        else:
            server = logical_address
            interface = InterfaceType.WRAPPER
        authentication = Authentication.LOW if password else Authentication.NONE
        client = GXDLMSClient(True, client_address, server, authentication, password, interface)
        client.maxReceivePDUSize = max_pdu_size
        return cls(link, client, timeout)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Capture what gurux prints."""
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            yield
        if output.getvalue():
            self.printed.append(output.getvalue())

    def _exchange(self, frame: Any, reply: GXReplyData) -> None:
        """Send one frame and read until gurux has a complete answer (``reply`` accumulates)."""
        if frame is not None:
            self.link.send(bytes(frame))
        buffer = GXByteBuffer()
        notify = GXReplyData()
        deadline = time.monotonic() + self.timeout
        while not self.client.getData(buffer, reply, notify):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete answer within {self.timeout} s")
            buffer.set(self.link.receive(remaining))

    def _request(self, frames: Any) -> GXReplyData:
        """Send the frames of one request; follow segmented answers (RR, next data block)."""
        reply = GXReplyData()
        for frame in _flatten(frames):
            reply.clear()
            self._exchange(frame, reply)
            while reply.isMoreData():
                if reply.isStreaming():
                    self._exchange(None, reply)
                else:
                    self._exchange(self.client.receiverReady(reply), reply)
        return reply

    def connect(self) -> None:
        """SNRM/UA (HDLC only), then AARQ/AARE; raises when the server refuses."""
        with self.quiet():
            snrm = self.client.snrmRequest()
            if snrm is not None:
                reply = self._request(snrm)
                self.client.parseUAResponse(reply.data)
            reply = self._request(self.client.aarqRequest())
            self.client.parseAareResponse(reply.data)

    def request_value(self, frames: Any) -> Any:
        """Send a request gurux built (e.g. ``readRowsByEntry``); the value of the answer."""
        with self.quiet():
            reply = self._request(frames)
            if reply.error:
                raise RuntimeError(f"gurux request failed: {reply.getErrorMessage()} ({reply.error})")
            return reply.value

    def read(self, item: Any, attribute: int) -> Any:
        """GET one attribute; the value as gurux decodes it (the object is updated too)."""
        raw = self.request_value(self.client.read(item, attribute))
        with self.quiet():
            self.client.updateValue(item, attribute, raw)
        return raw

    def read_list(self, items: list[tuple[Any, int]]) -> list[Any]:
        """GET-with-list of (object, attribute) pairs; the values as gurux decodes them."""
        values = list(self.request_value(self.client.readList(items)))
        with self.quiet():
            self.client.updateValues(items, values)
        return values

    def read_objects(self) -> Any:
        """The association's object list, parsed by gurux."""
        with self.quiet():
            reply = self._request(self.client.getObjectsRequest())
            return self.client.parseObjects(reply.data, True)

    def disconnect(self) -> None:
        """DISC/UA (HDLC only), without releasing an association."""
        with self.quiet():
            if self.client.interfaceType != InterfaceType.WRAPPER:
                self._request(self.client.disconnectRequest(True))

    def close(self) -> None:
        """Release (RLRQ/RLRE) and, on HDLC, disconnect (DISC/UA)."""
        with self.quiet():
            release = self.client.releaseRequest()
            if release is not None:
                self._request(release)
        self.disconnect()


def _flatten(frames: Any) -> Iterator[Any]:
    """gurux returns one frame, a list of frames, or (GET-with-list) a list of lists of frames."""
    if isinstance(frames, list):
        for item in frames:
            yield from _flatten(item)
    else:
        yield frames
