"""compact-array: the type description and the bound on how far its contents may expand.

A compact-array sends one type description followed by the elements without their tags, which is how
load profiles keep their size down. Structure and array nodes, null-data and dont-care take no bytes
of contents, so the number of values is bounded by the contents size (:class:`ValueBudget`).
"""

from __future__ import annotations

from ..errors import DecodeError, EncodeError, NestingTooDeepError
from ..reader import ByteReader, encode_length
from .model import MAX_NESTING_DEPTH, DataTag, TypeDescription, tag_of

COMPACT_ARRAY_VALUES_PER_BYTE = 4
"""A compact-array may expand to at most this many values per byte of contents (plus a small allowance).

Structure and array nodes, null-data and dont-care take no bytes in compact-array contents, so without
a bound a few bytes could describe millions of values.
"""
COMPACT_ARRAY_VALUE_ALLOWANCE = 64


class ValueBudget:
    """Counts the values a compact-array produces, so a tiny input cannot expand without bound."""

    __slots__ = ("remaining",)

    def __init__(self, contents_size: int) -> None:
        self.remaining = COMPACT_ARRAY_VALUES_PER_BYTE * contents_size + COMPACT_ARRAY_VALUE_ALLOWANCE

    def spend(self) -> None:
        """Count one value; past the budget the contents are refused."""
        self.remaining -= 1
        if self.remaining < 0:
            raise DecodeError("compact-array expands to far more values than it has bytes")


def decode_description(reader: ByteReader, depth: int) -> TypeDescription:
    """Read a type description; ``depth`` bounds nesting like containers in values."""
    if depth > MAX_NESTING_DEPTH:
        raise NestingTooDeepError(f"compact-array type description nests deeper than {MAX_NESTING_DEPTH}")
    tag = tag_of(reader.u8("type description tag"), "type description tag")
    if tag is DataTag.ARRAY:
        count = reader.u16("array number-of-elements")
        return TypeDescription(tag, count, (decode_description(reader, depth + 1),))
    if tag is DataTag.STRUCTURE:
        members = reader.count("structure description count")
        return TypeDescription(tag, 0, tuple(decode_description(reader, depth + 1) for _ in range(members)))
    if tag is DataTag.COMPACT_ARRAY:
        raise DecodeError("a compact-array type description cannot contain a compact-array")
    return TypeDescription(tag)


def takes_no_bytes(description: TypeDescription) -> bool:
    """True when an element of this description is encoded in zero bytes of compact-array contents."""
    match description.tag:
        case DataTag.NULL_DATA | DataTag.DONT_CARE:
            return True
        case DataTag.ARRAY:
            return description.count == 0 or takes_no_bytes(description.elements[0])
        case DataTag.STRUCTURE:
            return all(takes_no_bytes(element) for element in description.elements)
    return False


def encode_description(description: object, out: bytearray, depth: int) -> None:
    """Append a type description, refusing what the decoder would refuse."""
    if depth > MAX_NESTING_DEPTH:
        raise EncodeError(f"compact-array type description nests deeper than {MAX_NESTING_DEPTH}")
    if not isinstance(description, TypeDescription):
        raise EncodeError(f"expected TypeDescription, got {type(description).__name__}")
    out.append(description.tag)
    if description.tag is DataTag.ARRAY:
        out += description.count.to_bytes(2, "big")
        encode_description(description.elements[0], out, depth + 1)
    elif description.tag is DataTag.STRUCTURE:
        out += encode_length(len(description.elements))
        for member in description.elements:
            encode_description(member, out, depth + 1)
