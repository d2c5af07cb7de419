"""An emulated noisy line between a client and the simulated meter: bytes corrupted and lost, both ways.

:class:`~.faults.FaultInjector` mangles whole frames the meter sends; a real line (a long RS-485 run
next to a pump, a loose optical head) damages single bytes in both directions, requests included.
:class:`NoisyLine` is that, sans-I/O: every byte that crosses it is lost with ``loss_probability``
or altered with ``corrupt_probability`` (a seeded :class:`random.Random`, so a run is reproducible).
:class:`LineRelay` puts two of them (one per direction) in a TCP relay on 127.0.0.1 in front of the
simulator's TCP port, so a client talks to the meter through real sockets and a real noisy line.
:meth:`LineRelay.cut` is the cable pulled: every connection through the relay closes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

_LOGGER = logging.getLogger(__name__)

READ_SIZE = 4096


class NoisyLine:
    """One direction of a line: each byte is carried intact, altered, or lost."""

    def __init__(
        self, *, seed: int | None = None, corrupt_probability: float = 0.0, loss_probability: float = 0.0
    ) -> None:
        self._random = random.Random(seed)  # noqa: S311 - line noise, not cryptography
        self.corrupt_probability = corrupt_probability
        self.loss_probability = loss_probability
        self.bytes_carried = 0
        """Bytes handed to the line."""
        self.bytes_corrupted = 0
        """Bytes delivered with other bits than were sent."""
        self.bytes_lost = 0
        """Bytes that never arrived."""

    def __repr__(self) -> str:
        return f"NoisyLine(corrupt={self.corrupt_probability}, loss={self.loss_probability})"

    @property
    def quiet(self) -> bool:
        """True when the line carries every byte intact."""
        return not (self.corrupt_probability or self.loss_probability)

    def carry(self, data: bytes) -> bytes:
        """What arrives at the other end when ``data`` is sent."""
        self.bytes_carried += len(data)
        if self.quiet:
            return data
        loss = self.loss_probability
        damage = loss + self.corrupt_probability
        draw = self._random.random
        out = bytearray()
        for byte in data:
            roll = draw()
            if roll >= damage:
                out.append(byte)
            elif roll < loss:
                self.bytes_lost += 1
            else:
                self.bytes_corrupted += 1
                out.append(byte ^ self._random.randrange(1, 256))  # never XOR 0: the byte does change
        return bytes(out)


class LineRelay:
    """A TCP relay on 127.0.0.1 to ``upstream`` (the simulator's host and port) through noisy lines.

    Each client connection gets its own upstream connection; bytes to the meter cross ``to_meter``,
    bytes to the client cross ``to_client``. Either side closing closes both, as a broken cable does.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        to_meter: NoisyLine | None = None,
        to_client: NoisyLine | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self._upstream = (upstream_host, upstream_port)
        self.to_meter = to_meter or NoisyLine()
        self.to_client = to_client or NoisyLine()
        self._host = host
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        """The relay's own port (valid after :meth:`start`)."""
        self.connections = 0
        """Client connections accepted so far."""

    async def __aenter__(self) -> LineRelay:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def start(self) -> int:
        """Listen; returns the port clients connect to."""
        self._server = await asyncio.start_server(self._on_client, self._host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def cut(self) -> None:
        """Pull the cable: every open connection through the relay closes now (new ones still work)."""
        for writer in list(self._writers):
            writer.close()

    async def close(self) -> None:
        """Stop listening, close every connection and await every pump."""
        if self._server is not None:
            self._server.close()
        self.cut()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self._writers.add(writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
            self._writers.add(upstream_writer)
            pumps = [
                asyncio.create_task(_pump(reader, upstream_writer, self.to_meter)),
                asyncio.create_task(_pump(upstream_reader, writer, self.to_client)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except OSError as err:
            _LOGGER.debug("Relay connection failed: %s", err)
        finally:
            for end in (writer, upstream_writer):
                if end is not None:
                    self._writers.discard(end)
                    end.close()
                    with contextlib.suppress(OSError):
                        await end.wait_closed()
            self._tasks.discard(task)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: NoisyLine) -> None:
    """Copy one direction through the line until the reading side ends."""
    while True:
        try:
            data = await reader.read(READ_SIZE)
        except OSError:
            return
        if not data:
            return
        arrived = line.carry(data)
        if arrived:
            writer.write(arrived)
            try:
                await writer.drain()
            except OSError:
                return
