"""asyncio push listener: a port's byte stream in, decoded telegrams out, forever.

The listener opens the stream (serial port, ser2net, ESPHome serial proxy, TCP), feeds what arrives to a
:class:`TelegramDecoder`, tells the decoder when the line goes quiet (so bare APDUs and cut frames are
settled), drops replayed telegrams, and reopens the stream when it closes or cannot be opened, with a
growing delay. Every outcome is an event, so a caller can show a loose cable or a wrong key.

**When a partial telegram is given up.** A meter sends the frames of one telegram back to back, with
pauses of at most about half a second between them; a bridge on the way (ser2net, an ESPHome serial
proxy, a USB adapter's latency timer) may hold bytes back until it has a whole frame, so the listener
can also see a silence as long as one frame takes on the line. A silence longer than

    cut_after = max(QUIET_GAPS_TO_CUT * quiet_gap,
                    METER_PAUSE + LONGEST_PUSH_FRAME_BYTES * BITS_PER_CHARACTER / baudrate)

ends every telegram: the decoder is flushed with ``cut=True`` and drops a partial one, so the first
frame of a telegram whose rest was lost is never joined to the rest of the next. Without a baud rate
(a TCP stream) the bound is ``QUIET_GAPS_TO_CUT * quiet_gap``: 1.5 s with the default 0.5 s gap. At
2400 baud (M-Bus customer ports) it is 0.5 + 600 * 11 / 2400 = 3.25 s, still below the 5 s and longer
intervals those meters push at; from 9600 baud up the first term rules. When the port closes, what the
decoder held of an unfinished telegram is dropped as well (:meth:`TelegramDecoder.drop_partial`).

**Bounded steps.** What a read returns is fed in slices of at most :data:`FEED_SLICE_BYTES`, and the
listener yields to the event loop after each, so a flood of bytes already buffered (a reconnect to a
bridge that queued minutes of data, a misbehaving line) never holds Home Assistant's loop: a slice costs
at most a few milliseconds of framing plus, when it completes one, the decode of one telegram of at
most ``MAX_TELEGRAM_BYTES``.
"""

from __future__ import annotations

import asyncio
import logging
import math
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
FEED_SLICE_BYTES = 1024
"""The most bytes fed to the decoder in one step of the event loop (the listener yields after each)."""
#: Quiet gaps in a row after which a frame that stopped half way counts as cut. Meters pause inside
#: telegrams (up to about half a second); a shorter silence only settles bare APDUs.
QUIET_GAPS_TO_CUT = 3
METER_PAUSE = 0.5
"""Seconds a meter pauses between the frames of one telegram, at most (the torture line's model)."""
LONGEST_PUSH_FRAME_BYTES = 600
"""Above the longest frame of the real captures (581 bytes, an Aidon list in one HDLC frame; an M-Bus
long frame is at most 261)."""
BITS_PER_CHARACTER = 11
"""Start bit, 8 data bits, parity and stop bit (8E1); 8N1 takes 10, so this errs on the long side."""


def cut_after(quiet_gap: float, baudrate: int | None = None) -> float:
    """Seconds of silence after which a partial telegram is dropped (see the module docstring)."""
    floor = QUIET_GAPS_TO_CUT * quiet_gap
    if not baudrate or baudrate <= 0:
        return floor
    return max(floor, METER_PAUSE + LONGEST_PUSH_FRAME_BYTES * BITS_PER_CHARACTER / baudrate)


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
    ``baudrate`` (None for TCP streams or when unknown) lengthens the silence after which a partial
    telegram is dropped on slow lines (:func:`cut_after`).
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
        baudrate: int | None = None,
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
        self.baudrate = baudrate
        # Quiet gaps in a row that make the silence that ends every telegram.
        self._gaps_to_cut = max(
            QUIET_GAPS_TO_CUT, math.ceil(cut_after(quiet_gap, baudrate) / quiet_gap - 1e-9)
        )

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
            # Bytes of a frame too short to report as cut would join the next connection's bytes.
            self.decoder.drop_partial()
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
                for event in self._settle(self.decoder.flush(cut=quiet >= self._gaps_to_cut)):
                    yield event
                continue
            quiet = 0
            if not data:
                return
            if self._on_data is not None:
                self._on_data(data)
            for start in range(0, len(data), FEED_SLICE_BYTES):
                if start:
                    await asyncio.sleep(0)  # let the loop run between slices
                for event in self._settle(self.decoder.feed(data[start : start + FEED_SLICE_BYTES])):
                    yield event
            # A read of buffered bytes returns without suspending: yield so a flood cannot hold the loop.
            await asyncio.sleep(0)

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
