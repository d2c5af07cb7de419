"""A-XDR ``Data``: every COSEM data type (IEC 62056-5-3, Blue Book 4.1.5), encoded and decoded.

Each value is a tag byte followed by contents: fixed-size big-endian numbers, length-prefixed strings,
count-prefixed arrays and structures, and fixed 12/5/4-byte date-time/date/time. A compact-array sends
one type description followed by the elements without their tags, which is how load profiles keep
their size down.

Hostile input is bounded: every read goes through :class:`ByteReader`, nesting stops at
:data:`MAX_NESTING_DEPTH`, and a compact-array may not expand into far more values than it has bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from .cosem_datetime import CosemDate, CosemDateTime, CosemTime
from .errors import DecodeError, EncodeError, NestingTooDeepError
from .reader import ByteReader, encode_length

MAX_NESTING_DEPTH = 16
"""Deepest accepted nesting of arrays, structures and compact-array descriptions (top level is 0)."""

COMPACT_ARRAY_VALUES_PER_BYTE = 4
"""A compact-array may expand to at most this many values per byte of contents (plus a small allowance).

Structure and array nodes, null-data and dont-care take no bytes in compact-array contents, so without
a bound a few bytes could describe millions of values.
"""
_COMPACT_ARRAY_VALUE_ALLOWANCE = 64


class DataTag(IntEnum):
    """The Data CHOICE tags (Blue Book 4.1.5, IEC 62056-5-3 COSEM data types)."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DONT_CARE = 255


_TAGS: dict[int, DataTag] = {int(tag): tag for tag in DataTag}

# tag -> (size in bytes, signed)
_INTEGER_FORMATS: dict[DataTag, tuple[int, bool]] = {
    DataTag.INTEGER: (1, True),
    DataTag.LONG: (2, True),
    DataTag.DOUBLE_LONG: (4, True),
    DataTag.LONG64: (8, True),
    DataTag.UNSIGNED: (1, False),
    DataTag.LONG_UNSIGNED: (2, False),
    DataTag.DOUBLE_LONG_UNSIGNED: (4, False),
    DataTag.LONG64_UNSIGNED: (8, False),
    DataTag.ENUM: (1, False),
    DataTag.BCD: (1, False),
}

INTEGER_TAGS: frozenset[DataTag] = frozenset(
    {
        DataTag.INTEGER,
        DataTag.LONG,
        DataTag.DOUBLE_LONG,
        DataTag.LONG64,
        DataTag.UNSIGNED,
        DataTag.LONG_UNSIGNED,
        DataTag.DOUBLE_LONG_UNSIGNED,
        DataTag.LONG64_UNSIGNED,
    }
)
"""The integer kinds that carry a measured quantity (not enum or bcd)."""

FLOAT_TAGS: frozenset[DataTag] = frozenset({DataTag.FLOAT32, DataTag.FLOAT64})

_FLOAT_FORMATS: dict[DataTag, struct.Struct] = {
    DataTag.FLOAT32: struct.Struct(">f"),
    DataTag.FLOAT64: struct.Struct(">d"),
}

_CALENDAR_TYPES: dict[DataTag, tuple[int, type[CosemDateTime | CosemDate | CosemTime]]] = {
    DataTag.DATE_TIME: (12, CosemDateTime),
    DataTag.DATE: (5, CosemDate),
    DataTag.TIME: (4, CosemTime),
}

_VISIBLE_STRING_CODEC = "latin-1"
"""visible-string is ISO 646, but meters put other bytes in it too; Latin-1 maps every byte one to one."""


@dataclass(frozen=True, slots=True)
class BitString:
    """A bit-string: ``length`` bits, first bit in the most significant bit of ``data[0]``.

    Unused bits of the last byte are kept as received, so encoding gives back the same bytes.
    """

    length: int
    data: bytes

    def __post_init__(self) -> None:
        if type(self.length) is not int or self.length < 0:
            raise EncodeError(f"bit-string length must be a non-negative integer, got {self.length!r}")
        if not isinstance(self.data, bytes):
            raise EncodeError(f"bit-string data must be bytes, got {type(self.data).__name__}")
        if len(self.data) != (self.length + 7) // 8:
            raise EncodeError(f"{self.length} bits need {(self.length + 7) // 8} bytes, got {len(self.data)}")

    @classmethod
    def from_bits(cls, bits: Iterable[bool | int]) -> Self:
        """The bit-string holding these bits, first one first (padding bits are zero)."""
        values = [bool(bit) for bit in bits]
        data = bytearray((len(values) + 7) // 8)
        for index, bit in enumerate(values):
            if bit:
                data[index // 8] |= 0x80 >> (index % 8)
        return cls(len(values), bytes(data))

    @property
    def bits(self) -> tuple[bool, ...]:
        """The bits, first one first."""
        return tuple(bool(self.data[index // 8] & (0x80 >> (index % 8))) for index in range(self.length))

    def __str__(self) -> str:
        return "".join("1" if bit else "0" for bit in self.bits)


@dataclass(frozen=True, slots=True)
class TypeDescription:
    """The contents-description of a compact-array (IEC 62056-5-3 TypeDescription).

    A simple type is just its tag. An array carries ``count`` (number-of-elements, Unsigned16) and one
    element description in ``elements``; a structure carries one description per member in
    ``elements``. Build them with :meth:`simple`, :meth:`array` and :meth:`structure`.
    """

    tag: DataTag
    count: int = 0
    elements: tuple[TypeDescription, ...] = ()

    def __post_init__(self) -> None:
        tag = _TAGS.get(self.tag) if isinstance(self.tag, int) else None
        if tag is None:
            raise EncodeError(f"unknown data tag {self.tag!r} in type description")
        object.__setattr__(self, "tag", tag)
        if self.tag is DataTag.COMPACT_ARRAY:
            raise EncodeError("a type description cannot contain a compact-array")
        if type(self.count) is not int:
            raise EncodeError(f"type description count must be an integer, got {self.count!r}")
        if not isinstance(self.elements, tuple) or not all(
            isinstance(element, TypeDescription) for element in self.elements
        ):
            raise EncodeError("type description elements must be a tuple of TypeDescription")
        if self.tag is DataTag.ARRAY:
            if len(self.elements) != 1:
                raise EncodeError("an array type description has exactly one element description")
            if not 0 <= self.count <= 0xFFFF:
                raise EncodeError(f"array number-of-elements {self.count} out of range 0..65535")
        elif self.count:
            raise EncodeError("only an array type description has a count")
        elif self.elements and self.tag is not DataTag.STRUCTURE:
            raise EncodeError(f"a {self.tag.name} type description has no element descriptions")

    @classmethod
    def simple(cls, tag: DataTag) -> Self:
        """The description of a simple (non-container) type."""
        return cls(DataTag(tag))

    @classmethod
    def array(cls, count: int, element: TypeDescription) -> Self:
        """An array of ``count`` elements, each described by ``element``."""
        return cls(DataTag.ARRAY, count, (element,))

    @classmethod
    def structure(cls, *elements: TypeDescription) -> Self:
        """A structure with one description per member."""
        return cls(DataTag.STRUCTURE, 0, tuple(elements))

    @property
    def element(self) -> TypeDescription:
        """The element description of an array description."""
        if self.tag is not DataTag.ARRAY:
            raise EncodeError(f"a {self.tag.name} type description has no single element description")
        return self.elements[0]


@dataclass(frozen=True, slots=True)
class CompactArray:
    """A compact-array: the shared description and the elements (each a :class:`Data` matching it)."""

    description: TypeDescription
    elements: tuple[Data, ...]


type DataValue = (
    bool
    | int
    | float
    | bytes
    | str
    | BitString
    | CosemDateTime
    | CosemDate
    | CosemTime
    | tuple[Data, ...]
    | CompactArray
    | None
)
"""The Python value of a :class:`Data`, depending on its tag (see docs/stack.md, value model)."""


@dataclass(frozen=True, slots=True)
class Data:
    """One A-XDR value: its type tag and the Python value for that type.

    null-data and dont-care: ``None``; boolean: ``bool``; bit-string: :class:`BitString`; integer
    kinds, enum and bcd (the raw byte): ``int``; float32/float64: ``float``; octet-string: ``bytes``;
    visible-string and utf8-string: ``str``; date-time, date, time: :class:`CosemDateTime`,
    :class:`CosemDate`, :class:`CosemTime`; array and structure: ``tuple[Data, ...]``;
    compact-array: :class:`CompactArray`. Values are checked when encoded, not when constructed; the
    integer constructors store plain ``int`` (an ``IntEnum`` member such as a unit becomes its number).
    """

    tag: DataTag
    value: DataValue

    @classmethod
    def null_data(cls) -> Self:
        """null-data."""
        return cls(DataTag.NULL_DATA, None)

    @classmethod
    def dont_care(cls) -> Self:
        """dont-care (used in selective access filters)."""
        return cls(DataTag.DONT_CARE, None)

    @classmethod
    def boolean(cls, value: bool) -> Self:
        """Boolean."""
        return cls(DataTag.BOOLEAN, value)

    @classmethod
    def bit_string(cls, value: BitString | Iterable[bool | int]) -> Self:
        """bit-string, from a :class:`BitString` or from bits (first bit first)."""
        return cls(DataTag.BIT_STRING, value if isinstance(value, BitString) else BitString.from_bits(value))

    @classmethod
    def double_long(cls, value: int) -> Self:
        """double-long (signed 32-bit)."""
        return cls(DataTag.DOUBLE_LONG, int(value))

    @classmethod
    def double_long_unsigned(cls, value: int) -> Self:
        """double-long-unsigned (unsigned 32-bit)."""
        return cls(DataTag.DOUBLE_LONG_UNSIGNED, int(value))

    @classmethod
    def octet_string(cls, value: bytes | bytearray | memoryview) -> Self:
        """octet-string."""
        return cls(DataTag.OCTET_STRING, bytes(value))

    @classmethod
    def visible_string(cls, value: str) -> Self:
        """visible-string."""
        return cls(DataTag.VISIBLE_STRING, value)

    @classmethod
    def utf8_string(cls, value: str) -> Self:
        """utf8-string."""
        return cls(DataTag.UTF8_STRING, value)

    @classmethod
    def bcd(cls, value: int) -> Self:
        """Bcd (one raw byte, two decimal digits)."""
        return cls(DataTag.BCD, int(value))

    @classmethod
    def integer(cls, value: int) -> Self:
        """Integer (signed 8-bit)."""
        return cls(DataTag.INTEGER, int(value))

    @classmethod
    def long(cls, value: int) -> Self:
        """Long (signed 16-bit)."""
        return cls(DataTag.LONG, int(value))

    @classmethod
    def unsigned(cls, value: int) -> Self:
        """Unsigned (8-bit)."""
        return cls(DataTag.UNSIGNED, int(value))

    @classmethod
    def long_unsigned(cls, value: int) -> Self:
        """long-unsigned (16-bit)."""
        return cls(DataTag.LONG_UNSIGNED, int(value))

    @classmethod
    def long64(cls, value: int) -> Self:
        """long64 (signed 64-bit)."""
        return cls(DataTag.LONG64, int(value))

    @classmethod
    def long64_unsigned(cls, value: int) -> Self:
        """long64-unsigned (64-bit)."""
        return cls(DataTag.LONG64_UNSIGNED, int(value))

    @classmethod
    def enum(cls, value: int) -> Self:
        """Enum (0..255)."""
        return cls(DataTag.ENUM, int(value))

    @classmethod
    def float32(cls, value: float) -> Self:
        """float32 (IEEE 754 single precision)."""
        return cls(DataTag.FLOAT32, float(value))

    @classmethod
    def float64(cls, value: float) -> Self:
        """float64 (IEEE 754 double precision)."""
        return cls(DataTag.FLOAT64, float(value))

    @classmethod
    def date_time(cls, value: CosemDateTime) -> Self:
        """date-time (12 bytes)."""
        return cls(DataTag.DATE_TIME, value)

    @classmethod
    def date(cls, value: CosemDate) -> Self:
        """Date (5 bytes)."""
        return cls(DataTag.DATE, value)

    @classmethod
    def time(cls, value: CosemTime) -> Self:
        """Time (4 bytes)."""
        return cls(DataTag.TIME, value)

    @classmethod
    def array(cls, *items: Data) -> Self:
        """Array (elements of one type)."""
        return cls(DataTag.ARRAY, tuple(items))

    @classmethod
    def structure(cls, *items: Data) -> Self:
        """Structure."""
        return cls(DataTag.STRUCTURE, tuple(items))

    @classmethod
    def compact_array(cls, description: TypeDescription, *elements: Data) -> Self:
        """compact-array: elements that all match ``description``."""
        return cls(DataTag.COMPACT_ARRAY, CompactArray(description, tuple(elements)))

    def to_python(self) -> object:
        """Plain Python values: arrays, structures and compact-arrays as lists, everything else as-is."""
        value = self.value
        if isinstance(value, tuple):
            return [item.to_python() for item in value]
        if isinstance(value, CompactArray):
            return [item.to_python() for item in value.elements]
        return value


# --------------------------------------------------------------------------------------------- decode


class _ValueBudget:
    """Counts the values a compact-array produces, so a tiny input cannot expand without bound."""

    __slots__ = ("remaining",)

    def __init__(self, contents_size: int) -> None:
        self.remaining = COMPACT_ARRAY_VALUES_PER_BYTE * contents_size + _COMPACT_ARRAY_VALUE_ALLOWANCE

    def spend(self) -> None:
        self.remaining -= 1
        if self.remaining < 0:
            raise DecodeError("compact-array expands to far more values than it has bytes")


def _tag(raw: int, what: str) -> DataTag:
    tag = _TAGS.get(raw)
    if tag is None:
        raise DecodeError(f"unknown {what} 0x{raw:02X}")
    return tag


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
    integer = _INTEGER_FORMATS.get(tag)
    if integer is not None:
        size, signed = integer
        return reader.sint(size, tag.name) if signed else reader.uint(size, tag.name)
    match tag:
        case DataTag.NULL_DATA | DataTag.DONT_CARE:
            return None
        case DataTag.BOOLEAN:
            return reader.u8("boolean") != 0
        case DataTag.FLOAT32 | DataTag.FLOAT64:
            layout = _FLOAT_FORMATS[tag]
            value: float = layout.unpack(reader.take(layout.size, tag.name))[0]
            return value
        case DataTag.OCTET_STRING:
            return reader.take(reader.length("octet-string length"), "octet-string")
        case DataTag.VISIBLE_STRING:
            raw = reader.take(reader.length("visible-string length"), "visible-string")
            return raw.decode(_VISIBLE_STRING_CODEC)
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
            size, kind = _CALENDAR_TYPES[tag]
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
    tag = _tag(reader.u8("data tag"), "data tag")
    return Data(tag, _decode_value(reader, tag, depth))


def decode_data_bytes(raw: bytes | bytearray | memoryview) -> Data:
    """Decode a value that must take up all of ``raw``."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise DecodeError(f"A-XDR data must be bytes, got {type(raw).__name__}")
    reader = ByteReader(raw)
    data = decode_data(reader)
    reader.expect_end("A-XDR data")
    return data


def _decode_description(reader: ByteReader, depth: int) -> TypeDescription:
    if depth > MAX_NESTING_DEPTH:
        raise NestingTooDeepError(f"compact-array type description nests deeper than {MAX_NESTING_DEPTH}")
    tag = _tag(reader.u8("type description tag"), "type description tag")
    if tag is DataTag.ARRAY:
        count = reader.u16("array number-of-elements")
        return TypeDescription(tag, count, (_decode_description(reader, depth + 1),))
    if tag is DataTag.STRUCTURE:
        members = reader.count("structure description count")
        return TypeDescription(tag, 0, tuple(_decode_description(reader, depth + 1) for _ in range(members)))
    if tag is DataTag.COMPACT_ARRAY:
        raise DecodeError("a compact-array type description cannot contain a compact-array")
    return TypeDescription(tag)


def _takes_no_bytes(description: TypeDescription) -> bool:
    """True when an element of this description is encoded in zero bytes of compact-array contents."""
    match description.tag:
        case DataTag.NULL_DATA | DataTag.DONT_CARE:
            return True
        case DataTag.ARRAY:
            return description.count == 0 or _takes_no_bytes(description.elements[0])
        case DataTag.STRUCTURE:
            return all(_takes_no_bytes(element) for element in description.elements)
    return False


def _decode_compact_element(reader: ByteReader, description: TypeDescription, budget: _ValueBudget) -> Data:
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
    description = _decode_description(reader, depth + 1)
    size = reader.length("compact-array contents length")
    contents = ByteReader(reader.take(size, "compact-array contents"))
    if _takes_no_bytes(description):
        if size:
            raise DecodeError("compact-array elements of this type take no bytes, but contents are not empty")
        return CompactArray(description, ())
    budget = _ValueBudget(size)
    elements: list[Data] = []
    while not contents.at_end:
        elements.append(_decode_compact_element(contents, description, budget))
    return CompactArray(description, tuple(elements))


# --------------------------------------------------------------------------------------------- encode


def _expect_int(tag: DataTag, value: object) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise EncodeError(f"{tag.name} needs an int, got {type(value).__name__}")
    return value


def _encode_value(tag: DataTag, value: object, out: bytearray, depth: int) -> None:
    """Append the contents (no tag) of a value of type ``tag``."""
    integer = _INTEGER_FORMATS.get(tag)
    if integer is not None:
        size, signed = integer
        number = _expect_int(tag, value)
        try:
            out += number.to_bytes(size, "big", signed=signed)
        except OverflowError:
            raise EncodeError(f"{number} does not fit {tag.name}") from None
        return
    match tag:
        case DataTag.NULL_DATA | DataTag.DONT_CARE:
            if value is not None:
                raise EncodeError(f"{tag.name} has no value, got {type(value).__name__}")
        case DataTag.BOOLEAN:
            if not isinstance(value, bool):
                raise EncodeError(f"boolean needs a bool, got {type(value).__name__}")
            out.append(1 if value else 0)
        case DataTag.FLOAT32 | DataTag.FLOAT64:
            if type(value) is bool or not isinstance(value, int | float):
                raise EncodeError(f"{tag.name} needs a float, got {type(value).__name__}")
            try:
                out += _FLOAT_FORMATS[tag].pack(value)
            except OverflowError, struct.error:
                raise EncodeError(f"{value!r} does not fit {tag.name}") from None
        case DataTag.OCTET_STRING:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise EncodeError(f"octet-string needs bytes, got {type(value).__name__}")
            raw = bytes(value)
            out += encode_length(len(raw)) + raw
        case DataTag.VISIBLE_STRING | DataTag.UTF8_STRING:
            if not isinstance(value, str):
                raise EncodeError(f"{tag.name} needs a str, got {type(value).__name__}")
            codec = _VISIBLE_STRING_CODEC if tag is DataTag.VISIBLE_STRING else "utf-8"
            try:
                raw = value.encode(codec)
            except UnicodeEncodeError:
                raise EncodeError(f"text cannot be encoded as {tag.name}") from None
            out += encode_length(len(raw)) + raw
        case DataTag.BIT_STRING:
            if not isinstance(value, BitString):
                raise EncodeError(f"bit-string needs a BitString, got {type(value).__name__}")
            out += encode_length(value.length) + value.data
        case DataTag.DATE_TIME | DataTag.DATE | DataTag.TIME:
            kind = _CALENDAR_TYPES[tag][1]
            if not isinstance(value, kind):
                raise EncodeError(f"{tag.name} needs a {kind.__name__}, got {type(value).__name__}")
            out += value.to_bytes()
        case DataTag.ARRAY | DataTag.STRUCTURE:
            if not isinstance(value, tuple | list):
                raise EncodeError(f"{tag.name} needs a tuple of Data, got {type(value).__name__}")
            out += encode_length(len(value))
            for item in value:
                _encode(item, out, depth + 1)
        case DataTag.COMPACT_ARRAY:
            if not isinstance(value, CompactArray):
                raise EncodeError(f"compact-array needs a CompactArray, got {type(value).__name__}")
            _encode_compact_array(value, out, depth)


def _encode(data: object, out: bytearray, depth: int) -> None:
    if depth > MAX_NESTING_DEPTH:
        raise EncodeError(f"data nests deeper than {MAX_NESTING_DEPTH} levels")
    if not isinstance(data, Data):
        raise EncodeError(f"expected Data, got {type(data).__name__}")
    tag = _TAGS.get(data.tag) if isinstance(data.tag, int) else None
    if tag is None:
        raise EncodeError(f"unknown data tag {data.tag!r}")
    out.append(tag)
    _encode_value(tag, data.value, out, depth)


def encode_data(data: Data) -> bytes:
    """The A-XDR encoding of a value (tag and contents)."""
    out = bytearray()
    _encode(data, out, 0)
    return bytes(out)


def _encode_description(description: object, out: bytearray, depth: int) -> None:
    if depth > MAX_NESTING_DEPTH:
        raise EncodeError(f"compact-array type description nests deeper than {MAX_NESTING_DEPTH}")
    if not isinstance(description, TypeDescription):
        raise EncodeError(f"expected TypeDescription, got {type(description).__name__}")
    out.append(description.tag)
    if description.tag is DataTag.ARRAY:
        out += description.count.to_bytes(2, "big")
        _encode_description(description.elements[0], out, depth + 1)
    elif description.tag is DataTag.STRUCTURE:
        out += encode_length(len(description.elements))
        for member in description.elements:
            _encode_description(member, out, depth + 1)


def _encode_compact_element(data: object, description: TypeDescription, out: bytearray) -> int:
    """Append one element's untagged contents; returns how many values it holds (as the decoder counts)."""
    if not isinstance(data, Data):
        raise EncodeError(f"expected Data, got {type(data).__name__}")
    if data.tag != description.tag:
        raise EncodeError(
            f"compact-array element is {data.tag!r}, the description says {description.tag.name}"
        )
    if description.tag is DataTag.ARRAY or description.tag is DataTag.STRUCTURE:
        items = data.value
        if not isinstance(items, tuple | list):
            raise EncodeError(f"{description.tag.name} needs a tuple of Data, got {type(items).__name__}")
        members = (
            (description.elements[0],) * description.count
            if description.tag is DataTag.ARRAY
            else description.elements
        )
        if len(items) != len(members):
            raise EncodeError(
                f"compact-array element has {len(items)} members, the description says {len(members)}"
            )
        return 1 + sum(
            _encode_compact_element(item, member, out) for item, member in zip(items, members, strict=True)
        )
    _encode_value(description.tag, data.value, out, MAX_NESTING_DEPTH)
    return 1


def _encode_compact_array(value: CompactArray, out: bytearray, depth: int) -> None:
    _encode_description(value.description, out, depth + 1)
    if not isinstance(value.elements, tuple | list):
        raise EncodeError(f"compact-array elements must be a tuple, got {type(value.elements).__name__}")
    if value.elements and _takes_no_bytes(value.description):
        raise EncodeError("compact-array elements of this type take no bytes, so their number cannot be sent")
    contents = bytearray()
    values = sum(_encode_compact_element(element, value.description, contents) for element in value.elements)
    if values > COMPACT_ARRAY_VALUES_PER_BYTE * len(contents) + _COMPACT_ARRAY_VALUE_ALLOWANCE:
        raise EncodeError("compact-array holds far more values than bytes; the decoder would refuse it")
    out += encode_length(len(contents)) + contents


# --------------------------------------------------------------------------------------------- helpers


DATE_TIME_OCTET_STRING_LENGTH = 12


def datetime_from_data(data: Data) -> CosemDateTime | None:
    """The date-time in ``data``: a date-time value, or an octet-string(12) holding one.

    Many meters send their timestamps as octet-strings rather than date-time; an octet-string of 12
    bytes that does not parse as a date-time gives ``None`` like any other type.
    """
    value = data.value
    if data.tag == DataTag.DATE_TIME and isinstance(value, CosemDateTime):
        return value
    if (
        data.tag == DataTag.OCTET_STRING
        and isinstance(value, bytes)
        and len(value) == DATE_TIME_OCTET_STRING_LENGTH
    ):
        try:
            return CosemDateTime.from_bytes(value)
        except DecodeError:
            return None
    return None
