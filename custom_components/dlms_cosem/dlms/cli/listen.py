"""``listen``: read a meter's push port live, through the listener the integration uses.

``--port`` is a device path or a serialx URL (``socket://host:port`` for ser2net, ``rfc2217://``,
``esphome://``). Every telegram prints as one JSON object on its own line, exactly as ``decode`` prints
it; a telegram that does not decode (wrong key, damaged, replayed) is reported on standard error the
same way. It stops after ``--duration`` seconds or ``--count`` telegrams, whichever comes first, and
exits 0 when at least one telegram decoded. Keys are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import TextIO

from ..errors import DlmsError
from ..listener import LinkStatus, PushListener
from ..security import SecurityKeys
from ..telegram import Telegram, TelegramFailure
from ..transport.streams import SerialEndpoint, open_stream, port_name
from .decode import EXIT_DECODED, EXIT_NOTHING_DECODED, EXIT_USAGE, keys_from_arguments, telegram_record
from .output import write_json_line

DEFAULT_BAUDRATE = 115200
"""P1-style customer ports (Norway, Sweden, Luxembourg) send 115200 8N1; M-Bus ports 2400 8E1."""
DEFAULT_DURATION = 60.0


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("--port", required=True, metavar="DEVICE_OR_URL", help="device path or serialx URL")
    parser.add_argument("--baudrate", type=_positive_int, help=f"line speed (default {DEFAULT_BAUDRATE})")
    parser.add_argument("--parity", choices=("n", "e", "N", "E"), default="n", help="8N1 or 8E1 (default n)")
    parser.add_argument("--key", help="encryption key (32 or 64 hex digits; spaces and colons ignored)")
    parser.add_argument("--auth-key", help="authentication key (hex)")
    parser.add_argument(
        "--duration", type=_positive_float, default=DEFAULT_DURATION, help="seconds to listen (default 60)"
    )
    parser.add_argument("--count", type=_positive_int, help="stop after this many telegrams")
    parser.add_argument("--quiet-gap", type=_positive_float, default=0.5, help=argparse.SUPPRESS)


async def listen(
    args: argparse.Namespace, keys: SecurityKeys | None, stdout: TextIO, stderr: TextIO
) -> tuple[int, int]:
    """Listen until the duration or count is reached; (telegrams decoded, telegrams not decoded)."""
    endpoint = SerialEndpoint(
        args.port, baudrate=args.baudrate or DEFAULT_BAUDRATE, parity=args.parity.upper()
    )

    async def opener() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await open_stream(endpoint)

    listener = PushListener(
        opener,
        keys,
        quiet_gap=args.quiet_gap,
        reconnect_delay=min(1.0, args.duration / 4),
        baudrate=args.baudrate,
    )
    decoded = failed = 0
    last_reason: str | None = None
    with contextlib.suppress(TimeoutError):
        events = listener.events()
        try:
            async with asyncio.timeout(args.duration):
                async for event in events:
                    if isinstance(event, Telegram):
                        write_json_line(stdout, telegram_record(event))
                        stdout.flush()
                        decoded += 1
                        if args.count is not None and decoded >= args.count:
                            break
                    elif isinstance(event, TelegramFailure):
                        stderr.write(f"listen: telegram not decoded: {event.error}\n")
                        failed += 1
                    elif (
                        isinstance(event, LinkStatus) and not event.connected and event.reason != last_reason
                    ):
                        stderr.write(f"listen: {port_name(args.port)}: {event.reason}\n")
                        last_reason = event.reason
        finally:
            await events.aclose()  # type: ignore[attr-defined]
    return decoded, failed


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Listen and print; the exit code says whether a telegram decoded."""
    try:
        keys = keys_from_arguments(args)
    except (DlmsError, ValueError) as err:
        stderr.write(f"listen: {err}\n")
        return EXIT_USAGE
    decoded, failed = asyncio.run(listen(args, keys, stdout, stderr))
    if decoded:
        return EXIT_DECODED
    reason = f"{failed} telegram(s) arrived but none decoded" if failed else "nothing decodable arrived"
    stderr.write(f"listen: no telegram decoded in {args.duration:g} s: {reason}\n")
    return EXIT_NOTHING_DECODED
