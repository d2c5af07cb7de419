"""Push listener torture: ciphered telegrams over a real pty, split, delayed, buried in garbage, cut.

The simulated meter builds authenticated and encrypted push telegrams (HDLC or M-Bus framing, each
with its own invocation counter, so every telegram is known by it). A writer sends them to a pty the
:class:`~..listener.PushListener` reads through serialx, the way it reads a USB serial adapter: each
telegram in random chunks with random gaps between them, random garbage between telegrams, and now
and then the port closed half way through a telegram (the pty is closed and a new one is created
behind the same path, as ``/dev/serial/by-id/...`` comes back when a cable is plugged in again).

Counted: telegrams sent whole (each must be decoded exactly once), telegrams cut by a closed port
(none may be decoded), telegrams decoded that were never sent whole (invented: must be 0), and
whether the listener ever stopped decoding (a watchdog on every telegram). ``python -m
custom_components.dlms_cosem.dlms.simulator.torture`` runs it (``scripts/torture``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
import tty
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..listener import LinkStatus, PushListener
from ..security import SecurityKeys
from ..telegram import Telegram, TelegramFailure
from ..transport.streams import SerialEndpoint, open_stream
from .campaign import SteppedClock
from .model import MeterSecurity, SimulatedMeter
from .push import PushBuilder, PushFraming, PushSettings

KEYS = SecurityKeys(bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes(range(16, 32)))
#: Seconds an intact telegram may take from its last byte to its decode before the listener counts
#: as stuck (the quiet gap and a reconnect fit many times over).
WATCHDOG = 10.0


@dataclass(frozen=True, slots=True)
class TortureSettings:
    """How hard the line is."""

    telegrams: int = 1000
    seed: int = 1
    framing: PushFraming = PushFraming.HDLC
    min_gap: float = 0.05
    """Shortest pause inside a telegram (seconds)."""
    max_gap: float = 0.5
    """Longest pause inside a telegram (seconds)."""
    max_chunks: int = 4
    """A telegram goes out in 1 to this many chunks (so up to ``max_chunks - 1`` pauses inside it)."""
    max_garbage: int = 40
    """Up to this many random bytes between telegrams."""
    close_probability: float = 0.03
    """Chance that the port closes half way through a telegram."""
    quiet_gap: float = 0.5
    """The listener's quiet gap (its default)."""


@dataclass(slots=True)
class TortureFigures:
    """What a torture run counted."""

    sent: int = 0
    intact: int = 0
    """Telegrams sent whole while the listener had the port open: each must be decoded once."""
    cut: int = 0
    """Telegrams cut by a closed port: none may be decoded."""
    decoded_once: int = 0
    duplicates: int = 0
    invented: int = 0
    """Decoded telegrams that were never sent whole (must be 0)."""
    missed: int = 0
    """Intact telegrams never decoded (must be 0)."""
    stuck: int = 0
    """Watchdog expiries: an intact telegram not decoded within ``WATCHDOG`` seconds (must be 0)."""
    failures: Counter[str] = field(default_factory=Counter)
    """TelegramFailure events by error type (cut frames, garbage that looked like a frame)."""
    reconnects: int = 0
    garbage_bytes: int = 0
    pauses: int = 0
    slowest_decode: float = 0.0
    """Longest time from a telegram's last byte to its decode (seconds)."""
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The figures as printable lines."""
        failures = ", ".join(f"{name} {count}" for name, count in self.failures.most_common()) or "none"
        return [
            f"telegrams sent: {self.sent} (intact {self.intact}, cut by a closed port {self.cut})",
            f"decoded exactly once: {self.decoded_once}; duplicates {self.duplicates}, invented "
            f"{self.invented}, missed {self.missed}, watchdog expiries {self.stuck}",
            f"port closed and recreated: {self.reconnects} times; garbage between telegrams: "
            f"{self.garbage_bytes} bytes; pauses inside telegrams: {self.pauses}",
            f"failures reported (cut or damaged frames): {failures}",
            f"slowest decode after a telegram's last byte: {self.slowest_decode * 1000:.0f} ms; "
            f"whole run: {self.seconds:.1f} s",
        ]


class PtyLine:
    """The meter's end of a pty, behind a stable symlink; ``replug`` is a new pty at the same path."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = self.slave = -1
        self._open()

    def _open(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        temporary = self.link.with_suffix(".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(self.slave))
        temporary.replace(self.link)

    async def write(self, data: bytes) -> None:
        """Send bytes to whoever has the pty open (waiting while its buffer is full)."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            view = view[written:]

    def close(self) -> None:
        """Close both ends: the reader's next read fails, as when the cable is pulled."""
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.master = self.slave = -1

    def replug(self) -> None:
        """Pull the cable and plug it back: a new pty behind the same path."""
        self.close()
        self._open()


class _Watcher:
    """Consumes the listener's events and keeps what the run needs to check."""

    def __init__(self) -> None:
        self.decoded: Counter[int] = Counter()
        self.decoded_at: dict[int, float] = {}
        self.failures: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self.progress = asyncio.Event()

    async def run(self, listener: PushListener) -> None:
        async for event in listener.events():
            if isinstance(event, LinkStatus):
                if event.connected:
                    self.connected.set()
                else:
                    self.connected.clear()
            elif isinstance(event, Telegram):
                counter = event.invocation_counter if event.invocation_counter is not None else -1
                self.decoded[counter] += 1
                self.decoded_at.setdefault(counter, time.monotonic())
                self.progress.set()
            elif isinstance(event, TelegramFailure):
                self.failures[type(event.error).__name__] += 1

    async def wait_decoded(self, counter: int) -> bool:
        """Wait up to ``WATCHDOG`` seconds for the telegram with this counter; False when it never came."""
        try:
            async with asyncio.timeout(WATCHDOG):
                while counter not in self.decoded:
                    self.progress.clear()
                    await self.progress.wait()
        except TimeoutError:
            return False
        return True


async def run_torture(settings: TortureSettings, directory: Path | None = None) -> TortureFigures:
    """Send ``settings.telegrams`` telegrams through the torture line to a listener; count."""
    rng = random.Random(settings.seed)  # noqa: S311 - test noise, not cryptography
    clock = SteppedClock()
    meter = SimulatedMeter(clock, security=MeterSecurity(keys=KEYS))
    builder = PushBuilder(meter, PushSettings(framing=settings.framing, security=0x30))
    figures = TortureFigures()
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dlms-torture-")))
        line = PtyLine(directory / f"meter-{settings.framing}")
        stack.callback(line.close)
        endpoint = SerialEndpoint(str(line.link), baudrate=115200, parity="N")

        async def opener() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await open_stream(endpoint)

        listener = PushListener(
            opener,
            KEYS,
            quiet_gap=settings.quiet_gap,
            reconnect_delay=0.05,
            max_reconnect_delay=0.2,
        )
        watcher = _Watcher()
        consumer = asyncio.create_task(watcher.run(listener))
        began = time.monotonic()
        try:
            await _send_all(settings, rng, clock, builder, meter, line, watcher, figures)
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        figures.seconds = time.monotonic() - began
        figures.failures = watcher.failures
    return figures


async def _send_all(  # noqa: PLR0917 - one run's state, passed once
    settings: TortureSettings,
    rng: random.Random,
    clock: SteppedClock,
    builder: PushBuilder,
    meter: SimulatedMeter,
    line: PtyLine,
    watcher: _Watcher,
    figures: TortureFigures,
) -> None:
    intact: set[int] = set()
    cut: set[int] = set()
    async with asyncio.timeout(WATCHDOG):
        await watcher.connected.wait()
    for _ in range(settings.telegrams):
        clock.step()
        telegram = builder.telegram()
        counter = meter.security.server_invocation_counter
        figures.sent += 1
        garbage = rng.randbytes(rng.randint(0, settings.max_garbage))
        figures.garbage_bytes += len(garbage)
        await line.write(garbage)
        if rng.random() < settings.close_probability:
            offset = rng.randrange(1, len(telegram))
            await _write_in_chunks(line, telegram[:offset], settings, rng, figures)
            await asyncio.sleep(rng.uniform(0, settings.max_gap))
            line.replug()
            figures.reconnects += 1
            cut.add(counter)
            async with asyncio.timeout(WATCHDOG):
                while watcher.connected.is_set():  # noqa: ASYNC110 - the event says connected, not closed
                    await asyncio.sleep(0.01)
                await watcher.connected.wait()
            continue
        await _write_in_chunks(line, telegram, settings, rng, figures)
        finished = time.monotonic()
        intact.add(counter)
        if await watcher.wait_decoded(counter):
            figures.slowest_decode = max(figures.slowest_decode, watcher.decoded_at[counter] - finished)
        else:
            figures.stuck += 1
    figures.intact = len(intact)
    figures.cut = len(cut)
    decoded = watcher.decoded
    figures.decoded_once = sum(1 for counter in intact if decoded[counter] == 1)
    figures.duplicates = sum(count - 1 for count in decoded.values() if count > 1)
    figures.invented = sum(count for counter, count in decoded.items() if counter not in intact)
    figures.missed = sum(1 for counter in intact if decoded[counter] == 0)


async def _write_in_chunks(
    line: PtyLine, data: bytes, settings: TortureSettings, rng: random.Random, figures: TortureFigures
) -> None:
    chunks = rng.randint(1, max(1, min(settings.max_chunks, len(data))))
    cuts = sorted(rng.sample(range(1, len(data)), chunks - 1)) if chunks > 1 else []
    start = 0
    for index, end in enumerate([*cuts, len(data)]):
        if index:
            figures.pauses += 1
            await asyncio.sleep(rng.uniform(settings.min_gap, settings.max_gap))
        await line.write(data[start:end])
        start = end


def main(argv: Sequence[str] | None = None) -> int:
    """Run the torture for HDLC and M-Bus framing side by side; exit 1 on any miss, invention or hang."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--telegrams", type=int, default=1000, help="per framing")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-gap", type=float, default=0.05)
    parser.add_argument("--max-gap", type=float, default=0.5)
    parser.add_argument("--close-probability", type=float, default=0.03)
    args = parser.parse_args(argv)
    runs = [
        TortureSettings(
            telegrams=args.telegrams,
            seed=args.seed + index,
            framing=framing,
            min_gap=args.min_gap,
            max_gap=args.max_gap,
            close_probability=args.close_probability,
        )
        for index, framing in enumerate((PushFraming.HDLC, PushFraming.MBUS))
    ]

    async def both() -> list[TortureFigures]:
        return list(await asyncio.gather(*(run_torture(settings) for settings in runs)))

    status = 0
    for settings, figures in zip(runs, asyncio.run(both()), strict=True):
        print(
            f"Listener torture, {settings.framing} framing, authenticated and encrypted, "
            f"seed {settings.seed}: "
            f"pauses {settings.min_gap * 1000:.0f}-{settings.max_gap * 1000:.0f} ms inside telegrams, "
            f"up to {settings.max_garbage} garbage bytes between them, port closed in "
            f"{settings.close_probability:.0%} of them"
        )
        for text in figures.lines():
            print(f"  {text}")
        if figures.missed or figures.invented or figures.duplicates or figures.stuck:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
