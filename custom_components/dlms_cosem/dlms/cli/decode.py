"""``decode``: test a key on captured telegrams before setting up Home Assistant.

Each argument is a captured chunk of hex, fed in order as if it arrived on the port (``-`` reads hex
from standard input). With ``--raw`` each argument is a file holding the bytes as captured (``-``:
standard input), such as a P1 port's text telegrams saved with ``cat /dev/ttyUSB0 > p1.txt``. Every
complete telegram (binary, P1 text or an optical readout) prints as one JSON object on its own line,
or as a table with ``--format table``. Keys are never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from ..errors import DlmsError
from ..security import SecurityKeys, parse_key
from ..telegram import Telegram, TelegramDecoder, TelegramFailure
from .output import json_value, write_json_line, write_table

EXIT_DECODED = 0
EXIT_NOTHING_DECODED = 1
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("--key", help="encryption key (32 hex digits; spaces and colons ignored)")
    parser.add_argument("--auth-key", help="authentication key (32 hex digits)")
    parser.add_argument("--format", choices=("json", "table"), default="json", help="output format")
    parser.add_argument(
        "--raw", action="store_true", help="the arguments are files of captured bytes (- for stdin), not hex"
    )
    parser.add_argument("hex", nargs="+", help="captured chunks as hex, or - to read hex from stdin")


def telegram_record(telegram: Telegram) -> dict[str, object]:
    """The JSON record of one telegram (values scaled, raw as sent)."""
    return {
        "system_title": telegram.system_title,
        "invocation_counter": telegram.invocation_counter,
        "security": str(telegram.security),
        "authenticated": telegram.authenticated,
        "timestamp": telegram.timestamp,
        "objects": [
            {
                "obis": str(obj.obis) if obj.obis else None,
                "value": obj.value,
                "unit": obj.unit,
                "raw": obj.raw,
            }
            for obj in telegram.content.objects
        ],
    }


def _chunks(arguments: list[str], stdin: TextIO) -> list[bytes]:
    chunks = []
    for argument in arguments:
        text = stdin.read() if argument == "-" else argument
        cleaned = "".join(text.split()).replace(":", "")
        try:
            chunks.append(bytes.fromhex(cleaned))
        except ValueError:
            raise ValueError("not hex: each chunk must be hexadecimal digits (spaces allowed)") from None
    return chunks


def keys_from_arguments(args: argparse.Namespace) -> SecurityKeys | None:
    """The keys of ``--key`` and ``--auth-key`` (None without either); bad hex is a ValueError."""
    if args.key is None and args.auth_key is None:
        return None
    encryption = parse_key(args.key) if args.key is not None else None
    authentication = parse_key(args.auth_key) if args.auth_key is not None else None
    return SecurityKeys(encryption_key=encryption, authentication_key=authentication)


def _raw_chunks(arguments: list[str], stdin: TextIO) -> list[bytes]:
    chunks = []
    for argument in arguments:
        if argument == "-":
            chunks.append(stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("latin-1"))
            continue
        try:
            chunks.append(Path(argument).read_bytes())
        except OSError as err:
            raise ValueError(f"cannot read {argument}: {err.strerror or err}") from None
    return chunks


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, stdin: TextIO) -> int:
    """Decode the chunks and print what they hold; the exit code says whether anything decoded."""
    try:
        keys = keys_from_arguments(args)
        chunks = _raw_chunks(args.hex, stdin) if getattr(args, "raw", False) else _chunks(args.hex, stdin)
    except (DlmsError, ValueError) as err:
        stderr.write(f"decode: {err}\n")
        return EXIT_USAGE
    decoder = TelegramDecoder(keys)
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    telegrams = [event for event in events if isinstance(event, Telegram)]
    for event in events:
        if isinstance(event, TelegramFailure):
            stderr.write(f"decode: telegram not decoded: {event.error}\n")
    for telegram in telegrams:
        if args.format == "table":
            _write_telegram_table(stdout, telegram)
        else:
            write_json_line(stdout, telegram_record(telegram))
    if telegrams:
        return EXIT_DECODED
    if not events:
        stats = decoder.statistics
        reason = (
            f"no valid frame in {stats.bytes_received} bytes (check the baud rate and parity of the capture)"
            if stats.frames == 0
            else "frames arrived but no complete telegram"
        )
        stderr.write(f"decode: no telegram decoded: {reason}\n")
    return EXIT_NOTHING_DECODED


def _write_telegram_table(stream: TextIO, telegram: Telegram) -> None:
    record = telegram_record(telegram)
    for key in ("system_title", "invocation_counter", "security", "authenticated", "timestamp"):
        value = record[key]
        stream.write(f"{key.replace('_', ' ')}: {'-' if value is None else json_value(value)}\n")
    rows = [
        (obj.obis.reduced() if obj.obis else None, obj.value, obj.unit, obj.raw)
        for obj in telegram.content.objects
    ]
    write_table(stream, ("OBIS", "value", "unit", "raw"), rows)
    stream.write("\n")
