"""Keep serialx's byte dumps out of the logs.

serialx logs every chunk it writes and receives (``Immediately writing b'...'``, and its RFC 2217
client as hex: ``RX raw: 5 bytes [7e a0 ...]``) at DEBUG. Those chunks carry the LLS password and the
meter's plaintext data, and a user who sets ``logger: default: debug`` to report a problem would paste
them into an issue. The filter keeps each record (the timing and the sizes are useful when a line
misbehaves) and replaces every bytes argument, and every argument that is a hex dump, with its length.
"""

from __future__ import annotations

import logging
import re

SERIALX_LOGGER = "serialx"


# Hex bytes with separators, or long enough not to be a number (a baud rate, a port) logged as text.
_HEX_DUMP = re.compile(r"[0-9A-Fa-f]{2}(?:[ :][0-9A-Fa-f]{2})+|(?:[0-9A-Fa-f]{2}){8,}")


class ByteDumpRedactor(logging.Filter):
    """Replace bytes-like and hex-dump record arguments with ``<N bytes>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record; its byte dumps become lengths."""
        args = record.args
        if isinstance(args, tuple) and any(_is_dump(a) for a in args):
            record.args = tuple(_redacted(a) for a in args)
        return True


def _is_dump(arg: object) -> bool:
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return True
    return isinstance(arg, str) and _HEX_DUMP.fullmatch(arg) is not None


class _Length:
    """Formats as ``<N bytes>`` under both %s and %r."""

    __slots__ = ("_text",)

    def __init__(self, size: int) -> None:
        self._text = f"<{size} bytes>"

    def __str__(self) -> str:
        return self._text

    __repr__ = __str__


def _redacted(arg: object) -> object:
    if isinstance(arg, memoryview):
        return _Length(arg.nbytes)
    if isinstance(arg, (bytes, bytearray)):
        return _Length(len(arg))
    if isinstance(arg, str) and _HEX_DUMP.fullmatch(arg) is not None:
        return _Length(len(re.sub(r"[ :]", "", arg)) // 2)
    return arg


_REDACTOR = ByteDumpRedactor()


def redact_serialx_byte_dumps() -> None:
    """Attach the redactor to every serialx logger that exists now (idempotent, cheap).

    A logger's filters see only its own records, so each serialx module's logger gets one; called after
    each port opens, when serialx has imported the platform module that does the logging.
    """
    manager = logging.Logger.manager
    names = [SERIALX_LOGGER, *(n for n in list(manager.loggerDict) if n.startswith(SERIALX_LOGGER + "."))]
    for name in names:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
