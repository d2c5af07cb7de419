"""Load profile backfill over a paced line: how long a block takes and how long a poll waits behind it.

Run: scripts/run env PYTHONPATH=. python benchmarks/bench_profile.py [--days D] [--baud B] [--latency-ms L]

The simulator (15-minute load profile: clock, +A, -A) sits behind the same paced line as
``bench_poll`` (HDLC on a pty at ``--baud``, 10 bits per byte, ``--latency-ms`` before each reply).
The client reads ``--days`` of profile in blocks of :data:`history.BLOCK` (six hours, one request each,
as the integration's backfill does) while a poller reads 10 registers every ``--poll-every`` seconds
on the same client (one association, requests serialised). Figures: rows read, the block time (median,
max), the whole backfill, and the poll's wall time alone and while the backfill runs (median, max):
the extra wait of a poll is at most one block, well under a polling interval.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchmarks.bench_poll import _client, registers
from custom_components.dlms_cosem.dlms.client.profiles import read_profile_info, read_profile_range
from custom_components.dlms_cosem.dlms.simulator.model import LOAD_PROFILE
from custom_components.dlms_cosem.dlms.simulator.runner import Transport

BLOCK = timedelta(hours=6)  # history.BLOCK (not imported: that module loads Home Assistant)


async def run(days: int, baud: int, latency: float, poll_every: float) -> list[str]:
    """The figures, one line each."""
    entries = days * 96 + 96  # the meter holds the period asked for (15-minute profile)
    async with _client(Transport.HDLC_PTY, "lls", 10, baud, latency, profile_entries=entries) as (
        client,
        transport,
        line,
    ):
        polled = registers(10)
        await client.read_registers(polled)  # association, scalers
        alone = []
        for _ in range(5):
            started = time.perf_counter()
            await client.read_registers(polled)
            alone.append(time.perf_counter() - started)
        info = await read_profile_info(client, LOAD_PROFILE)
        now = datetime.now(UTC)
        end = now.replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=days)
        blocks: list[float] = []
        rows = 0
        during: list[float] = []
        done = asyncio.Event()

        async def poller() -> None:
            while not done.is_set():
                started = time.perf_counter()
                await client.read_registers(polled)
                during.append(time.perf_counter() - started)
                await asyncio.sleep(poll_every)

        polling = asyncio.create_task(poller()) if poll_every > 0 else None
        sent, received, trips = line.sent, line.received, transport.requests
        total_started = time.perf_counter()
        block_start = start
        while block_start < end:
            block_end = min(block_start + BLOCK, end)
            started = time.perf_counter()
            entries, _ = await read_profile_range(client, info, block_start, block_end, now=now)
            blocks.append(time.perf_counter() - started)
            rows += len(entries)
            block_start = block_end
        total = time.perf_counter() - total_started
        sent, received, trips = line.sent - sent, line.received - received, transport.requests - trips
        done.set()
        if polling is not None:
            await polling
    ms = 1000
    wire = (sent + received) * 10 / baud  # 8N1: a start bit, 8 data bits, a stop bit per byte
    bound = wire + latency * trips
    backfill = (
        f"backfill {days} d: {rows} rows in {len(blocks)} blocks of {BLOCK}, {total:.1f} s in all; "
        f"{sent} bytes out + {received} in ({(sent + received) / max(rows, 1):.1f} per row), "
        f"{trips} round trips; "
        f"wire bound (bytes x 10 / {baud} + {latency * ms:.0f} ms x round trips) {bound:.1f} s, "
        f"measured / bound {total / bound:.3f}"
    )
    if polling is None:
        return [
            f"line: HDLC pty, {baud} baud 8N1 paced both ways, reply latency {latency * ms:.0f} ms, LLS; "
            f"profile period {info.capture_period} s, no polls meanwhile",
            backfill,
            f"block: median {statistics.median(blocks) * ms:.0f} ms, max {max(blocks) * ms:.0f} ms",
        ]
    return [
        f"line: HDLC pty, {baud} baud, reply latency {latency * ms:.0f} ms, LLS; "
        f"profile period {info.capture_period} s",
        backfill,
        f"block: median {statistics.median(blocks) * ms:.0f} ms, max {max(blocks) * ms:.0f} ms",
        f"poll of 10 registers alone: median {statistics.median(alone) * ms:.0f} ms, "
        f"max {max(alone) * ms:.0f} ms",
        f"poll during the backfill ({len(during)} polls): median {statistics.median(during) * ms:.0f} ms, "
        f"max {max(during) * ms:.0f} ms",
    ]


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--poll-every", type=float, default=1.0, help="0: no polls during the backfill")
    args = parser.parse_args()
    for line in asyncio.run(run(args.days, args.baud, args.latency_ms / 1000, args.poll_every)):
        print(line)


if __name__ == "__main__":
    main()
