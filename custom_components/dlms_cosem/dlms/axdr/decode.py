"""A-XDR decoding: bytes to :class:`~.model.Data`, every read bounds-checked.

Hostile input is bounded: every read is checked against the bytes that remain, nesting stops at
:data:`~.model.MAX_NESTING_DEPTH`, and a compact-array may not expand into far more values than it
has bytes.

Two decoders give the same result. :func:`_fast` indexes the bytes directly for the types push
telegrams are made of (about 2-3x faster than one method call per field); it checks every bound but
builds no error message: on any failure the input is decoded again by the reference decoder
(:func:`_decode_reference`, reads through :class:`~..reader.ByteReader`), which raises the precise,
typed error. Types that are rare in telegrams go to the reference decoder directly.
"""

from __future__ import annotations

import struct

from ..cosem_datetime import CosemDateTime
from ..errors import DecodeError, DlmsError, NestingTooDeepError
from ..reader import ByteReader
from .compact import ValueBudget, decode_description, takes_no_bytes
from .model import (
    CALENDAR_TYPES,
    FLOAT_FORMATS,
    INTEGER_FORMATS,
    MAX_NESTING_DEPTH,
    TAGS,
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
            return tuple(_decode_reference(reader, depth + 1) for _ in range(count))
        case DataTag.COMPACT_ARRAY:
            return _decode_compact_array(reader, depth)
    raise DecodeError(f"unsupported data tag {tag.name}")  # pragma: no cover - every tag is handled


def _decode_reference(reader: ByteReader, depth: int = 0) -> Data:
    """Read one tagged value field by field: the specification of :func:`_fast`, and its error path."""
    if depth > MAX_NESTING_DEPTH:
        raise NestingTooDeepError(f"data nests deeper than {MAX_NESTING_DEPTH} levels")
    tag = tag_of(reader.u8("data tag"), "data tag")
    return Data(tag, _decode_value(reader, tag, depth))


class _ReferenceNeededError(Exception):
    """The fast decoder met something it leaves to the reference decoder (always an error here)."""


_BY_BYTE: tuple[DataTag | None, ...] = tuple(TAGS.get(raw) for raw in range(256))
_ARRAY, _STRUCTURE, _OCTET_STRING = DataTag.ARRAY, DataTag.STRUCTURE, DataTag.OCTET_STRING
_VISIBLE_STRING, _BOOLEAN = DataTag.VISIBLE_STRING, DataTag.BOOLEAN
_DATE_TIME, _NULL_DATA = DataTag.DATE_TIME, DataTag.NULL_DATA
# tag -> (size, unpacker) for the fixed-size numbers (enum and bcd are one unsigned byte).
_NUMBERS: dict[DataTag, tuple[int, struct.Struct]] = {
    DataTag.UNSIGNED: (1, struct.Struct(">B")),
    DataTag.ENUM: (1, struct.Struct(">B")),
    DataTag.BCD: (1, struct.Struct(">B")),
    DataTag.INTEGER: (1, struct.Struct(">b")),
    DataTag.LONG: (2, struct.Struct(">h")),
    DataTag.DOUBLE_LONG: (4, struct.Struct(">i")),
    DataTag.LONG64: (8, struct.Struct(">q")),
    DataTag.LONG_UNSIGNED: (2, struct.Struct(">H")),
    DataTag.DOUBLE_LONG_UNSIGNED: (4, struct.Struct(">I")),
    DataTag.LONG64_UNSIGNED: (8, struct.Struct(">Q")),
    DataTag.FLOAT32: (4, struct.Struct(">f")),
    DataTag.FLOAT64: (8, struct.Struct(">d")),
}
_DATE_TIME_SIZE = CALENDAR_TYPES[DataTag.DATE_TIME][0]


# Values that recur in every telegram of a meter (OBIS codes, scaler_units), by their bytes: Data is
# immutable, so one instance serves them all. Keys differ in length (6 and 4), so they never clash.
_RECURRING: dict[bytes, Data] = {}
_RECURRING_LIMIT = 2048
_OBIS_SIZE = 6
_INTEGER, _ENUM = DataTag.INTEGER, DataTag.ENUM
_INTEGER_BYTE, _ENUM_BYTE = int(DataTag.INTEGER), int(DataTag.ENUM)
_I8 = struct.Struct(">b")


def _remember(key: bytes, value: Data) -> Data:
    if len(_RECURRING) >= _RECURRING_LIMIT:
        _RECURRING.clear()
    _RECURRING[key] = value
    return value


def _ber(data: bytes, pos: int) -> tuple[int, int]:
    """A BER-style length or count at ``pos`` and where it ends; out of range raises IndexError."""
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4 or pos + 1 + size > len(data):
        raise _ReferenceNeededError
    return int.from_bytes(data[pos + 1 : pos + 1 + size]), pos + 1 + size


def _fast(data: bytes, pos: int, depth: int) -> tuple[Data, int]:
    """One tagged value at ``pos`` and where it ends; any failure is left to the reference decoder."""
    tag = _BY_BYTE[data[pos]]
    if tag is None:
        raise _ReferenceNeededError
    pos += 1
    if tag is _STRUCTURE or tag is _ARRAY:
        count, pos = _ber(data, pos)
        if count > len(data) - pos or depth >= MAX_NESTING_DEPTH:
            raise _ReferenceNeededError
        if count == 2 and data[pos] == _INTEGER_BYTE and data[pos + 2] == _ENUM_BYTE and tag is _STRUCTURE:
            key = data[pos : pos + 4]  # a scaler_unit: (integer scaler, enum unit)
            cached = _RECURRING.get(key)
            if cached is None:
                scaler, unit = Data(_INTEGER, _I8.unpack_from(key, 1)[0]), Data(_ENUM, key[3])
                cached = _remember(key, Data(tag, (scaler, unit)))
            return cached, pos + 4
        items: list[Data] = []
        append = items.append
        for _ in range(count):
            item, pos = _fast(data, pos, depth + 1)
            append(item)
        return Data(tag, tuple(items)), pos
    if tag is _OCTET_STRING or tag is _VISIBLE_STRING:
        size, pos = _ber(data, pos)
        end = pos + size
        if end > len(data):
            raise _ReferenceNeededError
        raw = data[pos:end]
        if size == _OBIS_SIZE and tag is _OCTET_STRING:  # most likely an OBIS code
            cached = _RECURRING.get(raw)
            return (_remember(raw, Data(tag, raw)) if cached is None else cached), end
        return Data(tag, raw if tag is _OCTET_STRING else raw.decode(VISIBLE_STRING_CODEC)), end
    number = _NUMBERS.get(tag)
    if number is not None:
        size, layout = number
        return Data(tag, layout.unpack_from(data, pos)[0]), pos + size
    if tag is _BOOLEAN:
        return Data(tag, data[pos] != 0), pos + 1
    if tag is _NULL_DATA:
        return Data(tag, None), pos
    if tag is _DATE_TIME:
        end = pos + _DATE_TIME_SIZE
        if end > len(data):
            raise _ReferenceNeededError
        return Data(tag, CosemDateTime.from_bytes(data[pos:end])), end
    # Rare in telegrams (bit-string, utf8-string, date, time, compact-array, dont-care).
    reader = ByteReader(data, pos)
    value = _decode_value(reader, tag, depth)
    return Data(tag, value), reader.position


def decode_data(reader: ByteReader, depth: int = 0) -> Data:
    """Read one tagged A-XDR value; ``depth`` is how deep it sits inside containers."""
    data, start = reader.buffer, reader.position
    if depth <= MAX_NESTING_DEPTH:
        try:
            value, end = _fast(data, start, depth)
        except (_ReferenceNeededError, IndexError, struct.error, DlmsError):
            pass
        else:
            reader.seek(end)
            return value
    return _decode_reference(reader, depth)


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
