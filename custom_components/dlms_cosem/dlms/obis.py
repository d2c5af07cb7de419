"""OBIS codes (IEC 62056-6-1): the six-group names of COSEM objects.

On the wire a logical name is a 6-byte octet-string (groups A..F, one byte each). People and meter
documentation write it either in the reduced form ``A-B:C.D.E*F`` or as six dotted numbers; both are
parsed here so configuration can accept whatever the user copies from a data sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Self

from .errors import DecodeError, EncodeError

_GROUP = r"([0-9]{1,3})"
# A-B:C.D.E with an optional F after "*" or "."
_REDUCED = rf"{_GROUP}-{_GROUP}:{_GROUP}\.{_GROUP}\.{_GROUP}(?:[*.]{_GROUP})?"
# A.B.C.D.E with an optional .F
_DOTTED = rf"{_GROUP}\.{_GROUP}\.{_GROUP}\.{_GROUP}\.{_GROUP}(?:\.{_GROUP})?"


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The text forms, compiled when first needed: decoding telegrams never parses text."""
    return re.compile(_REDUCED), re.compile(_DOTTED)


# Bounding the text keeps the work on hostile input small (the longest valid code is 23 characters).
_MAX_TEXT = 256

OBIS_LENGTH = 6
"""Bytes of a logical name on the wire (the octet-string(6) of attribute 1 of every interface class)."""

_CACHE_LIMIT = 4096
"""Codes kept by their bytes: a meter sends the same few dozen in every telegram."""
_GROUP_NAMES = "ABCDEF"


@dataclass(frozen=True, slots=True, order=True)
class ObisCode:
    """A logical name: value groups A (medium) .. F (billing period / storage), each 0..255."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int

    def __post_init__(self) -> None:
        for name, value in zip(_GROUP_NAMES, (self.a, self.b, self.c, self.d, self.e, self.f), strict=True):
            if type(value) is not int or not 0 <= value <= 255:
                raise EncodeError(f"OBIS group {name} must be an integer 0..255, got {value!r}")

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read ``A-B:C.D.E*F``, ``A-B:C.D.E.F``, ``A-B:C.D.E``, ``A.B.C.D.E.F`` or ``A.B.C.D.E``.

        A missing group F means 255 ("not used"), the usual value for current data.
        """
        if not isinstance(text, str):
            raise DecodeError(f"OBIS code must be text, got {type(text).__name__}")
        if len(text) > _MAX_TEXT:
            raise DecodeError(f"OBIS code text too long ({len(text)} characters)")
        stripped = text.strip()
        reduced, dotted = _patterns()
        match = reduced.fullmatch(stripped) or dotted.fullmatch(stripped)
        if match is None:
            raise DecodeError(
                f"not an OBIS code: {stripped!r} (expected A-B:C.D.E*F, A-B:C.D.E, A.B.C.D.E.F or A.B.C.D.E)"
            )
        groups = [int(group) if group is not None else 255 for group in match.groups()]
        for name, value in zip("ABCDEF", groups, strict=True):
            if value > 255:
                raise DecodeError(f"OBIS group {name} out of range 0..255 in {stripped!r}")
        return cls(*groups)

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | memoryview) -> Self:
        """The logical name carried as a 6-byte octet-string."""
        if type(raw) is bytes:  # the common case first: a code met before
            known = _BY_BYTES.get(raw)
            if known is not None and type(known) is cls:
                return known
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise DecodeError(f"OBIS code must be bytes, got {type(raw).__name__}")
        data = bytes(raw)
        cached = _BY_BYTES.get(data)
        if cached is not None and type(cached) is cls:
            return cached
        if len(data) != OBIS_LENGTH:
            raise DecodeError(f"OBIS code must be {OBIS_LENGTH} bytes, got {len(data)}")
        code = cls(*data)
        if len(_BY_BYTES) >= _CACHE_LIMIT:
            _BY_BYTES.clear()
        _BY_BYTES[data] = code
        return code

    def to_bytes(self) -> bytes:
        """The 6-byte octet-string form used in APDUs and push telegrams."""
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    def reduced(self) -> str:
        """The reduced form ``A-B:C.D.E*F`` used in the standards and meter documentation."""
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}*{self.f}"

    def __str__(self) -> str:
        return f"{self.a}.{self.b}.{self.c}.{self.d}.{self.e}.{self.f}"


_BY_BYTES: dict[bytes, ObisCode] = {}
"""Decoded codes by their 6 bytes (codes are immutable, so one instance serves every telegram)."""
