"""The A-XDR value model: the Data CHOICE tags, :class:`Data` and the values it holds.

Kept apart from the codecs so code that only builds or inspects values (push layouts, units, the
integration) reads the model without the byte-level details.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from ..cosem_datetime import CosemDate, CosemDateTime, CosemTime
from ..errors import DecodeError, EncodeError

MAX_NESTING_DEPTH = 16
"""Deepest accepted nesting of arrays, structures and compact-array descriptions (top level is 0)."""


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


TAGS: dict[int, DataTag] = {int(tag): tag for tag in DataTag}


def tag_of(raw: int, what: str) -> DataTag:
    """The tag numbered ``raw``; an unknown number is a decode error naming ``what`` it was."""
    tag = TAGS.get(raw)
    if tag is None:
        raise DecodeError(f"unknown {what} 0x{raw:02X}")
    return tag


# tag -> (size in bytes, signed)
INTEGER_FORMATS: dict[DataTag, tuple[int, bool]] = {
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

FLOAT_FORMATS: dict[DataTag, struct.Struct] = {
    DataTag.FLOAT32: struct.Struct(">f"),
    DataTag.FLOAT64: struct.Struct(">d"),
}

CALENDAR_TYPES: dict[DataTag, tuple[int, type[CosemDateTime | CosemDate | CosemTime]]] = {
    DataTag.DATE_TIME: (12, CosemDateTime),
    DataTag.DATE: (5, CosemDate),
    DataTag.TIME: (4, CosemTime),
}

VISIBLE_STRING_CODEC = "latin-1"
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
        tag = TAGS.get(self.tag) if isinstance(self.tag, int) else None
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
            return _to_python(value)
        if isinstance(value, CompactArray):
            return _to_python(value.elements)
        return value


def _to_python(items: tuple[Data, ...]) -> list[object]:
    """The members as plain values; a leaf is taken as is without a call (most members are leaves)."""
    return [
        item.to_python() if isinstance(leaf := item.value, tuple | CompactArray) else leaf for item in items
    ]


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
