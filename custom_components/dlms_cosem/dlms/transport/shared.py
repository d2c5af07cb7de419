"""One port, several meters: the stream under the HDLC transports, shared one transaction at a time.

Several meters on one RS-485 bus (or behind one serial-to-TCP bridge) answer at different HDLC server
addresses. Each meter gets its own :class:`~.hdlc.HdlcTransport` built on the same
:class:`SharedPort`: the port is opened by the first transport that opens and closed by the last one
that closes (reference counted), a transaction holds :attr:`SharedPort.lock` from the first byte sent
to the last byte received, and each transport's link ignores frames for other addresses. A private
port is what an ``HdlcTransport`` makes for itself when it is given an endpoint.

The optical probe's IEC 62056-21 mode E opening belongs to the port too: it runs each time the
stream is opened, before any HDLC.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import serialx

from ..errors import ConnectionLostError
from ..hdlc.address import HdlcAddress
from ..iec62056_21 import Identification, ModeEOpening, OpeningAction, Send, SetLine, Wait
from .streams import DEFAULT_OPEN_TIMEOUT, Endpoint, close_stream, open_stream, set_line

_LOGGER = logging.getLogger(__name__)

READ_SIZE = 4096


@dataclass(frozen=True, slots=True)
class ModeESettings:
    """How to open an optical port in IEC 62056-21 mode E (see :class:`ModeEOpening`).

    ``identification_timeout`` is how long one sign-on waits for the meter's identification (the
    meter's reaction time is at most 1.5 s, and the identification itself takes ~0.7 s at 300 baud).
    """

    device_address: str = ""
    max_baudrate: int | None = None
    require_hdlc: bool = True
    reaction_time: float = 0.2
    identification_timeout: float = 2.5
    max_retries: int = 2


class SharedPort:
    """A byte stream that several transports use in turn; see the module description."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        optical_mode_e: bool | ModeESettings = False,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
    ) -> None:
        self._endpoint = endpoint
        if optical_mode_e is True:
            optical_mode_e = ModeESettings()
        self._mode_e = optical_mode_e or None
        self._open_timeout = open_timeout
        self._lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._users = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._broken = False
        self._generation = 0
        self._identification: Identification | None = None
        self.hdlc_without_proposal: set[HdlcAddress] = set()
        """HDLC servers on this line that refused or ignored a proposal: every link to them goes plain."""

    def __repr__(self) -> str:
        return f"SharedPort({self._endpoint}, users={self._users}, open={self.is_open})"

    @property
    def endpoint(self) -> Endpoint:
        """Where the port leads."""
        return self._endpoint

    @property
    def lock(self) -> asyncio.Lock:
        """Held for a whole transaction, so only one meter talks at a time."""
        return self._lock

    @property
    def is_open(self) -> bool:
        """True while the stream is open and has not failed."""
        return self._writer is not None and not self._broken

    @property
    def users(self) -> int:
        """Transports attached."""
        return self._users

    @property
    def generation(self) -> int:
        """Counts the times the stream was opened; a transport whose link predates it lost it."""
        return self._generation

    @property
    def identification(self) -> Identification | None:
        """The meter's IEC 62056-21 identification from the last mode E opening."""
        return self._identification

    async def attach(self) -> None:
        """Take a reference; the first one (or the first after a failure) opens the stream."""
        async with self._open_lock:
            if not self.is_open:
                await self._close_stream()
                await self._open_stream()
            self._users += 1

    async def detach(self) -> None:
        """Drop a reference; the last one closes the stream. Never raises."""
        async with self._open_lock:
            self._users = max(0, self._users - 1)
            if self._users == 0:
                await self._close_stream()

    async def write(self, data: bytes) -> None:
        """Send bytes; ConnectionLostError when the stream is gone."""
        writer = self._writer
        if writer is None or self._broken:
            raise ConnectionLostError(f"{self._endpoint} is not open")
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, RuntimeError, serialx.SerialException) as exc:
            self._broken = True
            raise ConnectionLostError(f"{self._endpoint} failed: {_describe(exc)}") from None

    async def read(self, max_wait: float) -> bytes:
        """Bytes as they arrive, or ``b""`` when none came within ``max_wait`` seconds.

        ConnectionLostError when the stream ends or fails (unplugged adapter, closed connection).
        """
        reader = self._reader
        if reader is None or self._broken:
            raise ConnectionLostError(f"{self._endpoint} is not open")
        try:
            async with asyncio.timeout(max(max_wait, 0.0)):
                data = await reader.read(READ_SIZE)
        except TimeoutError:
            return b""
        except (OSError, serialx.SerialException) as exc:
            self._broken = True
            raise ConnectionLostError(f"{self._endpoint} failed: {_describe(exc)}") from None
        if not data:
            self._broken = True
            raise ConnectionLostError(f"{self._endpoint} was closed by the other side")
        return data

    async def discard_input(self) -> int:
        """Drop bytes that already arrived (late answers from before); returns how many."""
        discarded = 0
        while self.is_open:
            data = await self.read(0)
            if not data:
                break
            discarded += len(data)
        return discarded

    # -- internals --

    async def _open_stream(self) -> None:
        reader, writer = await open_stream(self._endpoint, open_timeout=self._open_timeout)
        self._reader, self._writer = reader, writer
        self._broken = False
        try:
            if self._mode_e is not None:
                await self._open_mode_e(self._mode_e)
        except BaseException:
            await self._close_stream()
            raise
        self._generation += 1

    async def _close_stream(self) -> None:
        writer = self._writer
        self._reader = None
        self._writer = None
        self._broken = False
        if writer is not None:
            await close_stream(writer)

    async def _open_mode_e(self, settings: ModeESettings) -> None:
        opening = ModeEOpening(
            device_address=settings.device_address,
            max_baudrate=settings.max_baudrate,
            require_hdlc=settings.require_hdlc,
            reaction_time=settings.reaction_time,
            max_retries=settings.max_retries,
        )
        loop = asyncio.get_running_loop()
        await self._run(opening.start())
        deadline = loop.time() + settings.identification_timeout
        while not opening.done:
            data = await self.read(deadline - loop.time())
            if data:
                actions = opening.receive(data)
            elif loop.time() >= deadline:
                actions = opening.on_timeout()  # raises MeterNotRespondingError after the retries
                deadline = loop.time() + settings.identification_timeout
            else:
                continue
            await self._run(actions)
        self._identification = opening.identification
        _LOGGER.debug("%s: mode E at %s baud", self._endpoint, opening.baudrate)

    async def _run(self, actions: list[OpeningAction]) -> None:
        for action in actions:
            if isinstance(action, Send):
                await self.write(action.data)
            elif isinstance(action, Wait):
                await asyncio.sleep(action.seconds)
            elif isinstance(action, SetLine):
                assert self._writer is not None
                await set_line(
                    self._writer,
                    baudrate=action.baudrate,
                    bytesize=action.bytesize,
                    parity=action.parity,
                    stopbits=action.stopbits,
                )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
