"""CPU per MiB of hostile input, and per step of the push listener (issue 19).

``scripts/run python -m benchmarks.bench_floods`` prints, for floods that keep the framers busy (frame
starts that are never a frame) and for the largest telegram the decoder takes, the CPU seconds per MiB
fed, at 1 and 2 MiB (a cost that grows with the size is quadratic) and in 4 KiB reads or in one
chunk; then the slowest single step of the real :class:`PushListener` reading a 4 MiB flood from
127.0.0.1, with asyncio's slow-callback detection on (debug mode, 50 ms, as Home Assistant sets it).
Times are the process's CPU time, best of three.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from custom_components.dlms_cosem.dlms.apdu import DataNotification, split_general_block_transfer
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.hdlc.fcs import fcs_bytes
from custom_components.dlms_cosem.dlms.listener import PushListener
from custom_components.dlms_cosem.dlms.telegram import MAX_TELEGRAM_BYTES, Framing, TelegramDecoder

MIB = 1 << 20
_HDLC_HEADER = bytes([0xA7, 0xFF, 0x21, 0x03, 0x13])


def floods() -> dict[str, bytes]:
    """1 MiB of each flood."""
    valid_hcs = b"\x7e" + _HDLC_HEADER + fcs_bytes(_HDLC_HEADER) + b"\x00"  # claims 2047 bytes, flags align
    return {
        "M-Bus short frame starts": b"\x10\x01\x02\x04\x00" * (MIB // 5),
        "M-Bus long frame headers": b"\x68\xff\xff\x68" * (MIB // 4),
        "HDLC headers with a valid HCS": valid_hcs * (MIB // len(valid_hcs)),
        "HDLC 7E A8 pairs": b"\x7e\xa8" * (MIB // 2),
        "wrapper headers": b"\x00\x01\x00\x01\x00\x01\xff\xff" * (MIB // 8),
        "push tags (bare APDU)": b"\x0f\x00" * (MIB // 2),
    }


def _cpu(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def _feed(data: bytes, framing: Framing | None, chunk: int) -> Callable[[], object]:
    def run() -> None:
        decoder = TelegramDecoder(framing=framing)
        for start in range(0, len(data), chunk):
            decoder.feed(data[start : start + chunk])
        decoder.flush()

    return run


def flood_table() -> list[str]:
    """CPU seconds per MiB for every flood, framing and chunking."""
    lines = [f"{'flood':32} {'framing':8} {'reads':>8} {'1 MiB':>8} {'2 MiB':>8}  (CPU s per MiB)"]
    for name, flood in floods().items():
        for framing in (None, Framing.HDLC, Framing.MBUS, Framing.WRAPPER, Framing.APDU):
            for chunk, label in ((4096, "4 KiB"), (0, "one")):
                per_mib = []
                for size in (1, 2):
                    data = flood * size
                    per_mib.append(_cpu(_feed(data, framing, chunk or len(data))) / size)
                lines.append(
                    f"{name:32} {framing or 'detect':8} {label:>8} {per_mib[0]:8.3f} {per_mib[1]:8.3f}"
                )
    return lines


def telegram_table() -> list[str]:
    """CPU of the largest telegram the decoder takes, by content."""
    size = MAX_TELEGRAM_BYTES - 16
    contents = {
        "one-byte values (worst)": Data(
            DataTag.ARRAY, tuple(Data(DataTag.NULL_DATA, None) for _ in range(size))
        ),
        "OBIS/value structures": Data(
            DataTag.STRUCTURE,
            tuple(
                Data(
                    DataTag.STRUCTURE,
                    (
                        Data(DataTag.OCTET_STRING, bytes([1, 0, 1, 8, index % 200, 255])),
                        Data(DataTag.DOUBLE_LONG_UNSIGNED, index),
                    ),
                )
                for index in range(size // 15)
            ),
        ),
    }
    lines = []
    for name, body in contents.items():
        apdu = DataNotification(body).encode()
        milliseconds = _cpu(_feed(apdu, Framing.APDU, len(apdu))) * 1000
        lines.append(f"telegram of {len(apdu)} bytes, {name}: {milliseconds:.1f} ms CPU")
    blocks = b"".join(block.encode() for block in split_general_block_transfer(bytes(4 * MIB), 200))
    seconds = _cpu(_feed(blocks, Framing.APDU, len(blocks)))
    lines.append(f"4 MiB general-block-transfer in 200-byte blocks, one feed: {seconds:.3f} s CPU")
    return lines


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "took" in record.getMessage():
            self.messages.append(record.getMessage())


async def _listener_steps(flood: bytes) -> tuple[int, list[str]]:
    async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(flood)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def open_stream() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port)

    listener = PushListener(open_stream, quiet_gap=0.2)
    events = 0
    async with asyncio.timeout(120), contextlib.aclosing(listener.events()) as stream:
        async for _ in stream:
            events += 1
            if listener.decoder.statistics.bytes_received >= len(flood):
                break
    server.close()
    await server.wait_closed()
    return events, []


def listener_table() -> list[str]:
    """The slowest callbacks asyncio reports while the listener reads a 4 MiB flood."""
    handler = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    lines = []
    try:
        for name, flood in floods().items():
            loop = asyncio.new_event_loop()
            loop.set_debug(True)
            loop.slow_callback_duration = 0.05
            handler.messages.clear()
            start = time.perf_counter()
            loop.run_until_complete(_listener_steps(flood * 4))
            elapsed = time.perf_counter() - start
            loop.close()
            first = f": {handler.messages[0]}" if handler.messages else ""
            lines.append(
                f"listener, 4 MiB of {name}: {elapsed:.2f} s, "
                f"{len(handler.messages)} callbacks over 50 ms{first}"
            )
    finally:
        logger.removeHandler(handler)
    return lines


def main() -> None:
    """Print every table."""
    print("\n".join(flood_table()))
    print()
    print("\n".join(telegram_table()))
    print()
    print("\n".join(listener_table()))


if __name__ == "__main__":
    main()
