"""A bounds-checked cursor over bytes, shared by every codec.

Codecs read through :class:`ByteReader` instead of indexing, so truncated or lying input raises
:class:`DecodeError` (never ``IndexError`` or ``struct.error``), and a length field that claims more
bytes than remain fails before anything is allocated.
"""

from __future__ import annotations

from .errors import DecodeError, EncodeError, TruncatedError


class ByteReader:
    """Reads big-endian fields from a byte string, front to back."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        self._data = bytes(data)
        if not 0 <= offset <= len(self._data):
            raise DecodeError(f"offset {offset} outside {len(self._data)} bytes")
        self._pos = offset

    @property
    def buffer(self) -> bytes:
        """Every byte, read or not: for decoders that index it directly and then :meth:`seek`."""
        return self._data

    @property
    def position(self) -> int:
        """Index of the next unread byte."""
        return self._pos

    @property
    def remaining(self) -> int:
        """How many bytes are left to read."""
        return len(self._data) - self._pos

    @property
    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self._pos >= len(self._data)

    def _need(self, count: int, what: str) -> None:
        if count < 0:
            raise DecodeError(f"negative length for {what}")
        if count > len(self._data) - self._pos:
            raise TruncatedError(
                f"truncated {what}: needs {count} bytes at offset {self._pos}, {self.remaining} remain"
            )

    def take(self, count: int, what: str = "data") -> bytes:
        """The next ``count`` bytes."""
        self._need(count, what)
        start = self._pos
        self._pos += count
        return self._data[start : self._pos]

    def rest(self) -> bytes:
        """Every byte not read yet."""
        start = self._pos
        self._pos = len(self._data)
        return self._data[start:]

    def seek(self, position: int) -> None:
        """Go back (or forward) to ``position``, to read the same bytes under another encoding."""
        if not 0 <= position <= len(self._data):
            raise DecodeError(f"position {position} outside {len(self._data)} bytes")
        self._pos = position

    def peek(self, count: int, what: str = "data") -> bytes:
        """The next ``count`` bytes, without consuming them (for choosing between encodings)."""
        self._need(count, what)
        return self._data[self._pos : self._pos + count]

    def peek_u8(self, what: str = "byte") -> int:
        """The next byte, without consuming it."""
        self._need(1, what)
        return self._data[self._pos]

    def u8(self, what: str = "byte") -> int:
        """An unsigned 8-bit integer."""
        self._need(1, what)
        value = self._data[self._pos]
        self._pos += 1
        return value

    def uint(self, size: int, what: str = "integer") -> int:
        """An unsigned big-endian integer of ``size`` bytes."""
        return int.from_bytes(self.take(size, what), "big")

    def sint(self, size: int, what: str = "integer") -> int:
        """A signed (two's complement) big-endian integer of ``size`` bytes."""
        return int.from_bytes(self.take(size, what), "big", signed=True)

    def u16(self, what: str = "integer") -> int:
        """An unsigned 16-bit integer."""
        return self.uint(2, what)

    def u32(self, what: str = "integer") -> int:
        """An unsigned 32-bit integer."""
        return self.uint(4, what)

    def length(self, what: str = "length") -> int:
        """A BER-style length (A-XDR and ASN.1 BER share it), checked against the bytes that remain.

        Short form: one byte below 0x80. Long form: 0x80 | n followed by n bytes of length.
        """
        first = self.u8(what)
        if first < 0x80:
            value = first
        else:
            size = first & 0x7F
            if size == 0 or size > 4:
                raise DecodeError(f"unsupported {what} form 0x{first:02X}")
            value = self.uint(size, what)
        self._need(value, what)
        return value

    def count(self, what: str = "element count") -> int:
        """A BER-style count of elements (not bytes), which is only bounded by what remains.

        Every element takes at least one byte, so a count larger than the remaining bytes is a lie.
        """
        first = self.u8(what)
        if first < 0x80:
            value = first
        else:
            size = first & 0x7F
            if size == 0 or size > 4:
                raise DecodeError(f"unsupported {what} form 0x{first:02X}")
            value = self.uint(size, what)
        if value > self.remaining:
            raise TruncatedError(f"{what} {value} exceeds the {self.remaining} bytes that remain")
        return value

    def expect_end(self, what: str = "data") -> None:
        """Raise when bytes are left over."""
        if not self.at_end:
            raise DecodeError(f"{self.remaining} unexpected bytes after {what}")


def encode_length(length: int) -> bytes:
    """A BER-style length: short form below 128, else long form with the fewest bytes."""
    if length < 0:
        raise EncodeError("length must not be negative")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body
