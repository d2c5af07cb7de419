"""asyncio push listener: a port's byte stream in, decoded telegrams out, forever.

The listener opens the stream (serial port, ser2net, ESPHome serial proxy, TCP), feeds what arrives to a
:class:`TelegramDecoder`, tells the decoder when the line goes quiet (so bare APDUs and cut frames are
settled), drops replayed telegrams, and reopens the stream when it closes or cannot be opened, with a
growing delay. Every outcome is an event, so a caller can show a loose cable or a wrong key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from .errors import DlmsError, PortUnavailableError
from .replay import ReplayedTelegramError, ReplayGuard
from .security import SecurityKeys
from .telegram import Framing, Telegram, TelegramDecoder, TelegramEvent, TelegramFailure
from .transport.streams import close_stream

_LOGGER = logging.getLogger(__name__)

type StreamOpener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter | None]]]

READ_SIZE = 4096
#: Quiet gaps in a row after which a frame that stopped half way counts as cut. Meters pause inside
#: telegrams (up to about half a second); a shorter silence only settles bare APDUs.
QUIET_GAPS_TO_CUT = 3


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The stream opened (``connected``) or closed / could not be opened (with the reason)."""

    connected: bool
    reason: str | None = None


type ListenerEvent = Telegram | TelegramFailure | LinkStatus


class PushListener:
    """Listens to a meter's push port and yields :class:`ListenerEvent` objects.

    ``quiet_gap`` is the silence (seconds) after which the line counts as quiet; meters send a telegram
    every few seconds, so half a second separates telegrams without delaying them noticeably.
    """

    def __init__(
        self,
        open_stream: StreamOpener,
        keys: SecurityKeys | None = None,
        *,
        framing: Framing | None = None,
        replay_guard: ReplayGuard | None = None,
        quiet_gap: float = 0.5,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 60.0,
        on_data: Callable[[bytes], None] | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._keys = keys
        self._framing = framing
        self.replay_guard = replay_guard or ReplayGuard()
        self._quiet_gap = quiet_gap
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self.decoder = TelegramDecoder(keys, framing)
        self._on_data = on_data  # sees every chunk as read, e.g. to keep the last raw bytes

    async def events(self) -> AsyncIterator[ListenerEvent]:
        """Listen until cancelled; reopen the stream whenever it closes."""
        delay = self._reconnect_delay
        while True:
            try:
                reader, writer = await self._open_stream()
            except (OSError, DlmsError) as err:
                reason = str(err) if isinstance(err, PortUnavailableError) else f"cannot open the port: {err}"
                yield LinkStatus(False, reason)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_reconnect_delay)
                continue
            delay = self._reconnect_delay
            yield LinkStatus(True)
            try:
                async for event in self._read(reader):
                    yield event
                reason = "the port closed"
            except OSError as err:
                reason = f"read failed: {err}"
            finally:
                if writer is not None:
                    # Awaited, so a serial port's lock is free before anyone opens it again.
                    await close_stream(writer)
            for event in self._settle(self.decoder.flush()):
                yield event
            yield LinkStatus(False, reason)
            await asyncio.sleep(delay)

    async def _read(self, reader: asyncio.StreamReader) -> AsyncIterator[TelegramEvent]:
        quiet = 0
        while True:
            try:
                async with asyncio.timeout(self._quiet_gap):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                quiet += 1
                for event in self._settle(self.decoder.flush(cut=quiet >= QUIET_GAPS_TO_CUT)):
                    yield event
                continue
            quiet = 0
            if not data:
                return
            if self._on_data is not None:
                self._on_data(data)
            for event in self._settle(self.decoder.feed(data)):
                yield event

    def _settle(self, events: list[TelegramEvent]) -> list[TelegramEvent]:
        """Apply replay protection: a replayed telegram becomes a failure."""
        settled: list[TelegramEvent] = []
        for event in events:
            if isinstance(event, Telegram):
                try:
                    self.replay_guard.check(event.system_title, event.invocation_counter)
                except ReplayedTelegramError as err:
                    _LOGGER.debug("Dropped a replayed telegram: %s", err)
                    settled.append(
                        TelegramFailure(
                            event.framing, event.apdu, err, event.system_title, event.invocation_counter
                        )
                    )
                    continue
            settled.append(event)
        return settled
