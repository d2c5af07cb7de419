"""The event loop's own CPU per poll on a slow line: the floor under the client's CPU figure.

At 9600 baud the simulator (like a USB serial adapter) hands a reply over in pieces of about 10 ms
worth of bytes, so the reading thread wakes once per piece. This measures what those wakes cost with
no DLMS work at all: a thread plays the meter on a pty (reads the request, waits the latency, then
writes the reply in pieces at the line's pace), and the event loop of the measuring thread writes a
request and reads the reply, either through an ``asyncio.StreamReader`` (as the transports do) or
through a protocol that wakes the waiting task only once the whole reply is in. The thread's CPU time
per poll is the figure, as for the client in :mod:`benchmarks.bench_poll`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import threading
import time
import tty

PIECE_SECONDS = 0.01
"""How much of the line's time one piece of the reply holds (as the simulator paces its writes)."""


def _meter(fd: int, stop: threading.Event, *, request: int, reply: int, baud: int, latency: float) -> None:
    piece = max(1, int(baud / 10 * PIECE_SECONDS))
    pending = 0
    while not stop.is_set():
        try:
            pending += len(os.read(fd, 4096))
        except OSError:
            return
        while pending >= request:
            pending -= request
            time.sleep(latency)
            for start in range(0, reply, piece):
                size = min(piece, reply - start)
                time.sleep(size * 10 / baud)
                os.write(fd, bytes(size))


class _WholeReply(asyncio.Protocol):
    """Collects pieces; wakes the waiting task once ``size`` bytes are in."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= self.size and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(bytes(self.buffer))
            self.buffer.clear()


async def _measure(
    mode: str, polls: int, *, request: int, reply: int, baud: int, latency: float
) -> list[float]:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    stop = threading.Event()
    line = {"request": request, "reply": reply, "baud": baud, "latency": latency}
    meter = threading.Thread(target=_meter, args=(master, stop), kwargs=line, daemon=True)
    meter.start()
    loop = asyncio.get_running_loop()
    pipe = os.fdopen(slave, "rb", buffering=0, closefd=False)
    whole = _WholeReply(reply)
    stream = asyncio.StreamReader()
    protocol: asyncio.Protocol = whole if mode == "protocol" else asyncio.StreamReaderProtocol(stream)
    transport, _ = await loop.connect_read_pipe(lambda: protocol, pipe)
    cpu_ms = []
    try:
        for poll in range(polls + 1):
            started = time.thread_time()
            os.write(slave, bytes(request))
            if mode == "protocol":
                whole.waiter = loop.create_future()
                await whole.waiter
            else:
                received = 0
                while received < reply:
                    received += len(await stream.read(4096))
            if poll:  # the first is a warm-up
                cpu_ms.append((time.thread_time() - started) * 1000)
    finally:
        stop.set()
        transport.close()
        os.close(slave)
        with contextlib.suppress(OSError):
            os.close(master)
        meter.join(1)
    return cpu_ms


async def run(baud: int, latency: float, polls: int, request: int = 119, reply: int = 67) -> list[str]:
    """One line per way of reading: the median (and min) CPU ms per poll of the event loop alone."""
    lines = [
        f"event loop alone, no DLMS (the floor under the CPU column): a {request}-byte request, "
        f"a {reply}-byte reply in pieces of {PIECE_SECONDS * 1000:.0f} ms of line time, pty, {polls} polls"
    ]
    for mode in ("stream", "protocol"):
        cpu = await _measure(mode, polls, request=request, reply=reply, baud=baud, latency=latency)
        how = "StreamReader, one wake per piece" if mode == "stream" else "protocol, the task woken once"
        lines.append(f"  {how:34} CPU {statistics.median(cpu):5.2f} ms per poll (min {min(cpu):.2f})")
    return lines
