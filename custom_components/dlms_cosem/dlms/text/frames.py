r"""IEC 62056-21 text telegrams as they come off the line: the P1 telegram and the data readout.

Two framings carry the same data block (lines of data sets ``ID(value)(value)...``):

- **The P1 telegram** (DSMR, the Luxembourg and Belgian customer ports): the identification line
  ``/XXX5<identification>``, a blank line, the data lines, then the end character ``!`` with, from
  DSMR 4 on, a CRC16 of everything from ``/`` to ``!`` as four hexadecimal digits. Older versions
  (DSMR 2.2 and 3) end at ``!`` without one. Some devices end lines with LF alone.
- **The data message of a readout** (IEC 62056-21 modes A to C, the optical port): the identification
  line, then ``STX`` data block ``!`` CR LF ``ETX`` and the block check character: the XOR of every
  byte after ``STX`` up to and including ``ETX``. A capture that starts after the identification
  (the baud rate switch) has the data message alone.

:func:`decode_text_frame` takes exactly one such frame and checks what it carries (CRC16 or BCC): a
mismatch is a :class:`~..errors.FrameError`, a frame that is not one is a
:class:`~..errors.DecodeError`. The data lines themselves are parsed by :mod:`.lines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..crc import reflected_crc16, reflected_crc16_table
from ..errors import DecodeError, FrameError, ProtocolError
from ..iec62056_21 import Identification

START_CHARACTER = 0x2F
"""``/``: starts the identification message (and so a P1 telegram)."""
END_CHARACTER = 0x21
"""``!``: ends the data block (IEC 62056-21 "end character")."""
STX = 0x02
"""Start of text: the data message of a readout follows."""
ETX = 0x03
"""End of text: the block check character follows."""
CR = 0x0D
LF = 0x0A
CRC_DIGITS = 4
"""The P1 telegram's CRC16 is written as four hexadecimal digits after ``!``."""
MAX_IDENTIFICATION_LENGTH = 128
"""Bytes of an identification line beyond which it is not one (the standard allows about 20; DSMR
meters add a longer type string)."""


MIN_IDENTIFICATION_LENGTH = 4
"""``XXXZ``: the manufacturer's three letters and the baud rate character come first."""


class TextKind(StrEnum):
    """Which framing a text frame came in."""

    P1 = "p1"
    READOUT = "readout"


@dataclass(frozen=True, slots=True)
class TextFrame:
    """One whole text frame, its checksum verified when it carries one."""

    kind: TextKind
    identification: str | None
    """The identification line without ``/`` and line end; None when the capture has none."""
    data: str
    """The data block: the data lines, without ``!`` and what follows it."""
    checked: bool
    """True when a CRC16 or BCC was present and matched; False for a P1 telegram without one."""

    @property
    def meter_identification(self) -> Identification | None:
        """The identification parsed as IEC 62056-21 ``XXXZ<identification>``, when it is one."""
        if self.identification is None:
            return None
        try:
            return Identification.parse(b"/" + self.identification.encode("ascii"))
        except (ProtocolError, UnicodeError):
            return None


CRC16_POLYNOMIAL_REFLECTED = 0xA001
"""x^16+x^15+x^2+1 (0x8005) bit-reversed: the P1 CRC runs LSB first (CRC-16/ARC)."""


_CRC16_TABLE = reflected_crc16_table(CRC16_POLYNOMIAL_REFLECTED)
"""The CRC of each byte value: one lookup a byte instead of eight shifts (a P1 telegram is ~1 KiB)."""


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16 as the P1 telegram uses it: polynomial x^16+x^15+x^2+1, LSB first, initial value 0."""
    return reflected_crc16(data, _CRC16_TABLE, 0)


def block_check(data: bytes | bytearray | memoryview) -> int:
    """The block check character: the XOR of the bytes given (after STX, up to and including ETX)."""
    check = 0
    for byte in bytes(data):
        check ^= byte
    return check


def _text(raw: bytes, what: str) -> str:
    """ASCII text; a byte outside it (binary data, a parity bit left in) is a DecodeError."""
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError(f"{what} is not ASCII text") from None


def _identification(raw: bytes) -> tuple[str, int]:
    """The identification line at the start of ``raw`` (which begins with ``/``) and where it ends."""
    end = raw.find(b"\n")
    if end < 0:
        raise DecodeError("text telegram without a line end after its identification")
    # Only its length is checked: it names the meter and carries no values, and one published P1
    # telegram has a control character in it (its CRC covers it).
    line = _text(raw[1:end].rstrip(b"\r"), "identification line")
    if not MIN_IDENTIFICATION_LENGTH <= len(line) <= MAX_IDENTIFICATION_LENGTH or "/" in line or "!" in line:
        raise DecodeError("text telegram with a malformed identification line")
    return line, end + 1


def _end_of_data(raw: bytes, start: int) -> int:
    """The index of the end character: the first ``!`` that starts a line."""
    index = start
    while True:
        bang = raw.find(b"!", index)
        if bang < 0:
            raise DecodeError("text telegram without the end character '!'")
        if bang == start or raw[bang - 1] == LF:
            return bang
        index = bang + 1


def decode_text_frame(raw: bytes | bytearray | memoryview) -> TextFrame:
    """Decode exactly one P1 telegram or readout data message (with or without identification)."""
    data = bytes(raw)
    if not data:
        raise DecodeError("empty text telegram")
    if data[0] == STX:
        return _readout(data, 0)
    if data[0] != START_CHARACTER:
        raise DecodeError("not a text telegram: it starts with neither '/' nor STX")
    # A readout's data message follows its identification line; a P1 telegram's data lines do.
    line_end = data.find(b"\n")
    if 0 <= line_end < len(data) - 1 and data[line_end + 1] == STX:
        return _readout(data, line_end + 1)
    return _p1(data)


def _p1(data: bytes) -> TextFrame:
    identification, body_start = _identification(data)
    bang = _end_of_data(data, body_start)
    trailer = data[bang + 1 :]
    line_end = trailer.find(b"\n")
    if line_end >= 0 and trailer[line_end + 1 :].strip(b"\r\n"):
        raise DecodeError("bytes after the end of the text telegram")
    digits = trailer.strip(b"\r\n")
    checked = False
    if digits:
        # Four digits, though one gateway drops the leading zeros ("!B9F"): the number is what counts.
        if len(digits) > CRC_DIGITS or not _is_hex(digits):
            raise DecodeError("text telegram with a malformed CRC after '!'")
        expected = int(digits, 16)
        if crc16(data[: bang + 1]) != expected:
            raise FrameError("text telegram CRC16 mismatch: the telegram was damaged or cut")
        checked = True
    return TextFrame(TextKind.P1, identification, _text(data[body_start:bang], "data block"), checked)


def _readout(data: bytes, stx: int) -> TextFrame:
    identification = _identification(data)[0] if stx else None
    etx = data.find(bytes((ETX,)), stx + 1)
    if etx < 0 or etx + 1 >= len(data):
        raise DecodeError("readout data message without ETX and its block check character")
    if etx + 2 != len(data):
        raise DecodeError("bytes after the block check character of the readout")
    if block_check(data[stx + 1 : etx + 1]) != data[etx + 1]:
        raise FrameError("readout block check character mismatch: the data message was damaged")
    block = data[stx + 1 : etx]
    # No value holds '!', so the last one is the end character: on a line of its own, or closing the
    # last data line as some meters write it ("6.31(0109868*h)!").
    bang = block.rfind(b"!")
    if bang < 0 or block[bang + 1 :].strip(b"\r\n"):
        raise DecodeError("readout without the end character '!' at the end of its data")
    return TextFrame(TextKind.READOUT, identification, _text(block[:bang], "data block"), True)


def _is_hex(digits: bytes) -> bool:
    return all(byte in b"0123456789ABCDEFabcdef" for byte in digits)


def encode_p1_telegram(identification: str, data: str, *, with_crc: bool = True) -> bytes:
    """A P1 telegram: the simulator's meters and the tests build theirs here."""
    body = f"/{identification}\r\n\r\n{data}!".encode("ascii")
    trailer = f"{crc16(body):04X}\r\n" if with_crc else "\r\n"
    return body + trailer.encode("ascii")


def encode_readout(identification: str | None, data: str) -> bytes:
    """A readout: identification line (when given), then the data message with its BCC."""
    head = b"" if identification is None else f"/{identification}\r\n".encode("ascii")
    message = f"{data}!\r\n".encode("ascii") + bytes((ETX,))
    return head + bytes((STX,)) + message + bytes((block_check(message),))
