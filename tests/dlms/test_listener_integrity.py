"""The push listener never stitches two telegrams, and never holds the event loop (issue 19).

Real TCP sockets on 127.0.0.1 with real silences; the quiet gap is shortened (50 ms) to keep the tests
fast, so the silence that ends every telegram is ``QUIET_GAPS_TO_CUT`` gaps (150 ms).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from custom_components.dlms_cosem.dlms.errors import IncompleteTelegramError
from custom_components.dlms_cosem.dlms.listener import (
    FEED_SLICE_BYTES,
    QUIET_GAPS_TO_CUT,
    LinkStatus,
    ListenerEvent,
    PushListener,
    cut_after,
)
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramEvent, TelegramFailure

from .test_listener import AIDON, Meter, opener
from .test_telegram_integrity import HDLC_FIRST, HDLC_REST, MBUS_FIRST, MBUS_REST

QUIET_GAP = 0.05
CUT = QUIET_GAP * QUIET_GAPS_TO_CUT
STITCHED = pytest.mark.parametrize(
    ("first", "rest"), [(HDLC_FIRST, HDLC_REST), (MBUS_FIRST, MBUS_REST)], ids=["hdlc", "mbus"]
)


async def _until_closed(events: AsyncIterator[ListenerEvent], closes: int = 1) -> list[ListenerEvent]:
    """Every event up to the ``closes``-th time the port closed."""
    seen: list[ListenerEvent] = []
    async with asyncio.timeout(10):
        async for event in events:
            seen.append(event)
            if isinstance(event, LinkStatus) and not event.connected:
                closes -= 1
                if closes == 0:
                    break
    return seen


async def _run(scripts: list[list[bytes | float]], closes: int = 1) -> list[ListenerEvent]:
    meter = Meter(scripts)
    port = await meter.start()
    listener = PushListener(opener(port), quiet_gap=QUIET_GAP, reconnect_delay=0.01)
    try:
        return await _until_closed(listener.events(), closes)
    finally:
        await meter.stop()


def _telegrams(events: list[ListenerEvent]) -> list[Telegram]:
    return [event for event in events if isinstance(event, Telegram)]


@STITCHED
async def test_a_short_pause_inside_a_telegram_keeps_it(first: bytes, rest: bytes) -> None:
    """The control: a pause of one quiet gap between the pieces is a meter pausing, not a cut."""
    events = await _run([[first, QUIET_GAP * 1.3, rest, CUT * 2]])
    assert len(_telegrams(events)) == 1


@STITCHED
async def test_a_silence_longer_than_the_cut_drops_the_partial_telegram(first: bytes, rest: bytes) -> None:
    events = await _run([[AIDON if first is HDLC_FIRST else b"", first, CUT * 3, rest, CUT * 2]])
    telegrams = _telegrams(events)
    assert all(
        {str(o.obis): o.value for o in t.content.objects}.get("1.0.1.8.0.255") != 36694612 for t in telegrams
    )
    assert len(telegrams) == (1 if first is HDLC_FIRST else 0)  # only the genuine Aidon telegram
    failures = [event.error for event in events if isinstance(event, TelegramFailure)]
    assert any(isinstance(error, IncompleteTelegramError) for error in failures)


@STITCHED
async def test_a_partial_telegram_does_not_outlive_a_reconnect(first: bytes, rest: bytes) -> None:
    events = await _run([[first], [rest, CUT * 2]], closes=2)
    assert _telegrams(events) == []
    assert [event.connected for event in events if isinstance(event, LinkStatus)] == [
        True,
        False,
        True,
        False,
    ]


def test_the_cut_is_derived_from_the_baud_rate() -> None:
    assert cut_after(0.5) == pytest.approx(1.5)  # unknown baud rate: three quiet gaps
    assert cut_after(0.5, 115200) == pytest.approx(1.5)
    assert cut_after(0.5, 2400) == pytest.approx(0.5 + 600 * 11 / 2400)
    listener = PushListener(opener(1), quiet_gap=0.5, baudrate=2400)
    assert listener._gaps_to_cut == 7  # 3.25 s in gaps of 0.5 s
    assert PushListener(opener(1), quiet_gap=0.5)._gaps_to_cut == QUIET_GAPS_TO_CUT


async def test_a_large_read_is_fed_in_slices_with_the_loop_running_between_them() -> None:
    """A flood already buffered is never fed in one step: each step is bounded and the loop runs between."""
    flood = bytes(range(256)) * 256 + AIDON  # 64 KiB of noise, then a telegram, in one write
    meter = Meter([[flood, CUT * 2]])
    port = await meter.start()
    listener = PushListener(opener(port), quiet_gap=QUIET_GAP)
    fed: list[tuple[int, int]] = []
    ticks = 0
    feed = listener.decoder.feed

    def spy(data: bytes) -> list[TelegramEvent]:
        fed.append((len(data), ticks))
        return feed(data)

    listener.decoder.feed = spy  # type: ignore[method-assign]

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        events = await _until_closed(listener.events())
    finally:
        task.cancel()
        await meter.stop()
    assert len(_telegrams(events)) == 1
    assert sum(size for size, _ in fed) == len(flood)
    assert max(size for size, _ in fed) <= FEED_SLICE_BYTES
    assert len(fed) >= len(flood) // FEED_SLICE_BYTES
    # the ticker ran between every two feeds
    assert all(later > earlier for (_, earlier), (_, later) in itertools.pairwise(fed))
