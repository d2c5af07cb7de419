r"""Sans-I/O framer for text telegrams: bytes from the port in, whole P1 telegrams and readouts out.

A text telegram starts at ``/`` (the identification) or ``STX`` (a readout's data message caught after
the identification) and is text to its end: printable ASCII, CR and LF. It ends at the line after the
end character ``!`` (a P1 telegram: with or without its CRC) or at the block check character after
``ETX`` (a readout). The framer only cuts; :func:`.frames.decode_text_frame` checks what it cut.

Its structure is what lets it resynchronise on anything else on the line:

- a byte that is no text (binary frames, noise) ends a candidate at once, and the search goes on after
  it, so the work is linear in the bytes fed;
- a ``/`` that starts a line, or that an identification line follows, inside a telegram starts the
  next one: the telegram before it was cut (its end was lost), and is reported as an
  :class:`~..errors.IncompleteTelegramError` instead of being joined to the next;
- nothing grows past ``max_size`` bytes (:class:`~..errors.TelegramTooLargeError`).

Bytes are taken without their eighth bit: optical ports run 7E1, and a bridge set to 8N1 leaves the
parity bit in the data.
"""

from __future__ import annotations

from enum import Enum

from ..errors import DlmsError, IncompleteTelegramError, TelegramTooLargeError
from .frames import (
    CR,
    END_CHARACTER,
    ETX,
    LF,
    MAX_IDENTIFICATION_LENGTH,
    MIN_IDENTIFICATION_LENGTH,
    START_CHARACTER,
    STX,
)

_SEVEN_BITS = bytes(byte & 0x7F for byte in range(256))
_TEXT = frozenset({CR, LF, *range(0x20, 0x7F)})
_STARTS = frozenset({START_CHARACTER, STX})
_MAX_TRAILER = 8
"""Bytes after ``!`` within which its line ends: four CRC digits and CR LF, with room to spare."""
MAX_TEXT_TELEGRAM_BYTES = 8192
"""The largest text telegram taken (DSMR 5 telegrams with a full text message are about 3 KiB)."""


class _Skipped(Enum):
    """What the scan returns when it skipped bytes that start no telegram (and goes on)."""

    SKIPPED = 0


class TextFramer:
    """Cuts P1 telegrams and readouts out of a byte stream (see the module docstring)."""

    def __init__(self, max_size: int = MAX_TEXT_TELEGRAM_BYTES) -> None:
        self.max_size = max_size
        self._buffer = bytearray()
        self._checked = 0  # bytes of the candidate at the buffer's start already known to be text
        self.frames = 0
        """Telegrams cut out so far."""
        self.errors = 0
        """Telegrams cut short or too large."""
        self.bytes_discarded = 0

    @property
    def pending(self) -> int:
        """Bytes held of a telegram whose end has not arrived."""
        return len(self._buffer)

    @property
    def started(self) -> bool:
        """True when the bytes held start a telegram (its identification line arrived whole)."""
        buffer = self._buffer
        if not buffer:
            return False
        return buffer[0] == STX or buffer.find(b"\n") > 0

    def reset(self) -> None:
        """Forget what is held (the port closed or reopened)."""
        self._buffer.clear()
        self._checked = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes | DlmsError]:
        """Add bytes; return the telegrams they complete, and errors for telegrams cut short."""
        self._buffer += bytes(data).translate(_SEVEN_BITS)
        out: list[bytes | DlmsError] = []
        while self._buffer:
            if not self._find_start():
                break
            result = self._scan()
            if result is None:
                break
            if result is not _Skipped.SKIPPED:
                out.append(result)
        return out

    def flush(self) -> list[bytes | DlmsError]:
        """The line went quiet: a telegram whose last line ended in ``!`` is whole; else it was cut."""
        buffer = self._buffer
        if not buffer:
            return []
        whole = buffer[0] == START_CHARACTER and self._bang(len(buffer)) == len(buffer.rstrip(b"\r")) - 1
        frame = bytes(buffer)
        started = self.started
        self.reset()
        if whole:
            self.frames += 1
            return [frame]
        if not started:
            self.bytes_discarded += len(frame)
            return []
        self.errors += 1
        return [IncompleteTelegramError("a text telegram stopped before its end: it was dropped")]

    def _find_start(self) -> bool:
        """Drop bytes up to the next ``/`` or ``STX``; False when there is none."""
        buffer = self._buffer
        if buffer[0] in _STARTS:
            return True
        starts = [index for index in (buffer.find(b"/"), buffer.find(bytes((STX,)))) if index >= 0]
        skip = min(starts) if starts else len(buffer)
        self.bytes_discarded += skip
        del buffer[:skip]
        self._checked = 0
        return bool(buffer)

    def _drop(self, count: int) -> None:
        self.bytes_discarded += count
        del self._buffer[:count]
        self._checked = 0

    def _bang(self, limit: int) -> int:
        """The index of the first ``!`` that starts a line (after the identification), or -1."""
        buffer = self._buffer
        index = buffer.find(b"\n!", 0, limit)
        return index + 1 if index >= 0 else -1

    def _header_end(self) -> int | None:
        """Where the data after the identification line starts; None while that line has not ended.

        -1 when the line grew too long to be one: its ``/`` was skipped.
        """
        buffer = self._buffer
        if buffer[0] == STX:
            return 1
        end = buffer.find(b"\n", 0, MAX_IDENTIFICATION_LENGTH + 2)
        if end >= 0:
            restart = buffer.find(b"/", 1, end)
            if restart > 0:  # no identification holds '/': the telegram starts at the later one
                self._drop(restart)
                return -1
            return end + 1
        if len(buffer) >= MAX_IDENTIFICATION_LENGTH + 2:
            self._drop(1)
            return -1
        return None

    def _scan(self) -> bytes | DlmsError | _Skipped | None:
        """The telegram at the buffer's start, an error, a skip, or None when more bytes are needed."""
        buffer = self._buffer
        size = len(buffer)
        header_end = self._header_end()
        if header_end is None or header_end < 0:
            return None if header_end is None else _Skipped.SKIPPED
        readout = buffer[0] == STX or (header_end < size and buffer[header_end] == STX)
        data_start = header_end + 1 if readout and buffer[0] != STX else header_end
        # Text all the way: the first byte that is no text ends the candidate, and everything before
        # it is skipped (no candidate starting in it could get past that byte either).
        index = max(self._checked, data_start)
        while index < size:
            byte = buffer[index]
            if byte == ETX and readout:
                if not buffer.endswith(b"!\r\n", 0, index) and not buffer.endswith(b"!\n", 0, index):
                    return self._abandon(index)  # the data block ends with its end character line
                if index + 1 >= size:
                    self._checked = index
                    return None
                return self._take(index + 2)
            if byte not in _TEXT:
                return self._abandon(index)
            if byte == START_CHARACTER:
                starts = self._starts_telegram(index)
                if starts is None:
                    self._checked = index
                    return None
                if starts and not self._holds_a_line(data_start, index):
                    return self._abandon(index)  # a lone STX (noise) is no telegram that was cut
                if starts:
                    self._drop(index)
                    self.errors += 1
                    return IncompleteTelegramError(
                        "a text telegram was cut: the next one started before its end"
                    )
            if byte == END_CHARACTER and buffer[index - 1] == LF and not readout:
                trailer_end = buffer.find(b"\n", index, index + _MAX_TRAILER)
                if trailer_end >= 0:
                    return self._take(trailer_end + 1)
                if size - index >= _MAX_TRAILER:
                    return self._abandon(index)
                self._checked = index
                return None
            index += 1
        self._checked = size
        if size > self.max_size:
            self._drop(1)
            self.errors += 1
            return TelegramTooLargeError(f"text telegram larger than {self.max_size} bytes: dropped")
        return None

    def _holds_a_line(self, data_start: int, index: int) -> bool:
        """Whether the candidate up to ``index`` holds a whole line: its identification or a data line."""
        buffer = self._buffer
        return buffer[0] == START_CHARACTER or buffer.find(b"\n", data_start, index) >= 0

    def _starts_telegram(self, index: int) -> bool | None:
        """Whether the ``/`` at ``index`` starts a telegram (None: its line has not ended yet).

        At a line start it does. Elsewhere it does when an identification line follows it: up to the
        line end, no parenthesis (a ``/`` in a value, such as the unit ``m3/h``, is followed by the
        value's closing one). That is how a telegram cut in the middle of a line is told.
        """
        buffer = self._buffer
        if buffer[index - 1] == LF:
            return True
        end = buffer.find(b"\n", index, index + MAX_IDENTIFICATION_LENGTH + 2)
        if end < 0:
            return None if len(buffer) < index + MAX_IDENTIFICATION_LENGTH + 2 else False
        line = buffer[index + 1 : end]
        return b"(" not in line and b")" not in line and len(line.rstrip(b"\r")) >= MIN_IDENTIFICATION_LENGTH

    def _take(self, end: int) -> bytes:
        frame = bytes(self._buffer[:end])
        del self._buffer[:end]
        self._checked = 0
        self.frames += 1
        return frame

    def _abandon(self, index: int) -> _Skipped:
        """Not a telegram up to ``index``: skip it and look for the next start after it."""
        self._drop(max(index, 1))
        return _Skipped.SKIPPED
