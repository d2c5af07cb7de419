"""A-XDR decoding: bytes to :class:`~.model.Data`, every read bounds-checked.

Hostile input is bounded: every read goes through :class:`~..reader.ByteReader`, nesting stops at
:data:`~.model.MAX_NESTING_DEPTH`, and a compact-array may not expand into far more values than it
has bytes.
"""

from __future__ import annotations

from ..errors import DecodeError, NestingTooDeepError
from ..reader import ByteReader
from .compact import ValueBudget, decode_description, takes_no_bytes
from .model import (
    CALENDAR_TYPES,
    FLOAT_FORMATS,
    INTEGER_FORMATS,
    MAX_NESTING_DEPTH,
    VISIBLE_STRING_CODEC,
    BitString,
    CompactArray,
    Data,
    DataTag,
    DataValue,
    TypeDescription,
    tag_of,
)


def _bit_count(reader: ByteReader) -> int:
    """The bit-string's length in bits (BER form); the bytes it needs are checked when taken."""
    first = reader.u8("bit-string length")
    if first < 0x80:
        return first
    size = first & 0x7F
    if size == 0 or size > 4:
        raise DecodeError(f"unsupported bit-string length form 0x{first:02X}")
    return reader.uint(size, "bit-string length")


def _decode_value(reader: ByteReader, tag: DataTag, depth: int) -> DataValue:
    """The contents of one value whose tag is already known (also used for compact-array contents)."""
    integer = INTEGER_FORMATS.get(tag)
    if integer is not None:
        size, signed = integer
        return reader.sint(size, tag.name) if signed else reader.uint(size, tag.name)
    match tag:
        case DataTag.NULL_DATA | DataTag.DONT_CARE:
            return None
        case DataTag.BOOLEAN:
            return reader.u8("boolean") != 0
        case DataTag.FLOAT32 | DataTag.FLOAT64:
            layout = FLOAT_FORMATS[tag]
            value: float = layout.unpack(reader.take(layout.size, tag.name))[0]
            return value
        case DataTag.OCTET_STRING:
            return reader.take(reader.length("octet-string length"), "octet-string")
        case DataTag.VISIBLE_STRING:
            raw = reader.take(reader.length("visible-string length"), "visible-string")
            return raw.decode(VISIBLE_STRING_CODEC)
        case DataTag.UTF8_STRING:
            raw = reader.take(reader.length("utf8-string length"), "utf8-string")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError(f"utf8-string is not valid UTF-8 ({exc.reason})") from None
        case DataTag.BIT_STRING:
            length = _bit_count(reader)
            return BitString(length, reader.take((length + 7) // 8, "bit-string"))
        case DataTag.DATE_TIME | DataTag.DATE | DataTag.TIME:
            size, kind = CALENDAR_TYPES[tag]
            return kind.from_bytes(reader.take(size, tag.name))
        case DataTag.ARRAY | DataTag.STRUCTURE:
            count = reader.count(f"{tag.name} element count")
            return tuple(decode_data(reader, depth + 1) for _ in range(count))
        case DataTag.COMPACT_ARRAY:
            return _decode_compact_array(reader, depth)
    raise DecodeError(f"unsupported data tag {tag.name}")  # pragma: no cover - every tag is handled


def decode_data(reader: ByteReader, depth: int = 0) -> Data:
    """Read one tagged A-XDR value; ``depth`` is how deep it sits inside containers."""
    if depth > MAX_NESTING_DEPTH:
        raise NestingTooDeepError(f"data nests deeper than {MAX_NESTING_DEPTH} levels")
    tag = tag_of(reader.u8("data tag"), "data tag")
    return Data(tag, _decode_value(reader, tag, depth))


def decode_data_bytes(raw: bytes | bytearray | memoryview) -> Data:
    """Decode a value that must take up all of ``raw``."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise DecodeError(f"A-XDR data must be bytes, got {type(raw).__name__}")
    reader = ByteReader(raw)
    data = decode_data(reader)
    reader.expect_end("A-XDR data")
    return data


def _decode_compact_element(reader: ByteReader, description: TypeDescription, budget: ValueBudget) -> Data:
    budget.spend()
    tag = description.tag
    if tag is DataTag.ARRAY:
        element = description.elements[0]
        return Data(
            tag, tuple(_decode_compact_element(reader, element, budget) for _ in range(description.count))
        )
    if tag is DataTag.STRUCTURE:
        return Data(
            tag, tuple(_decode_compact_element(reader, member, budget) for member in description.elements)
        )
    return Data(tag, _decode_value(reader, tag, MAX_NESTING_DEPTH))


def _decode_compact_array(reader: ByteReader, depth: int) -> CompactArray:
    description = decode_description(reader, depth + 1)
    size = reader.length("compact-array contents length")
    contents = ByteReader(reader.take(size, "compact-array contents"))
    if takes_no_bytes(description):
        if size:
            raise DecodeError("compact-array elements of this type take no bytes, but contents are not empty")
        return CompactArray(description, ())
    budget = ValueBudget(size)
    elements: list[Data] = []
    while not contents.at_end:
        elements.append(_decode_compact_element(contents, description, budget))
    return CompactArray(description, tuple(elements))
