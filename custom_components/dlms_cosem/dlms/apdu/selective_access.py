"""Selective access: reading part of an attribute (Blue Book, profile generic attribute 2).

A ``Selective-Access-Descriptor`` is an access selector and an A-XDR parameter; the two selectors every
profile generic supports are the range descriptor (1: rows whose restricting column lies between two
values, usually the clock) and the entry descriptor (2: rows and columns by index). Both are modelled
so a caller can build a request without hand-assembling structures, and read one back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..axdr import Data, DataTag, decode_data, encode_data
from ..errors import DecodeError, EncodeError
from ..obis import ObisCode
from ..reader import ByteReader
from .common import check_range, read_optional_flag

RANGE_DESCRIPTOR = 1
ENTRY_DESCRIPTOR = 2


def _members(data: Data, count: int, what: str) -> tuple[Data, ...]:
    if data.tag is not DataTag.STRUCTURE or not isinstance(data.value, tuple) or len(data.value) != count:
        raise DecodeError(f"{what} must be a structure of {count} elements")
    return data.value


def _integer(data: Data, what: str) -> int:
    value = data.value
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"{what} must be an integer, got {data.tag.name}")
    return value


@dataclass(frozen=True, slots=True)
class CaptureObjectDefinition:
    """One column of a profile: ``{class_id, logical_name, attribute_index, data_index}``.

    ``data_index`` 0 means the whole attribute; the restricting object of a range descriptor uses it
    the same way.
    """

    class_id: int
    logical_name: ObisCode
    attribute_index: int
    data_index: int = 0

    def __post_init__(self) -> None:
        check_range(self.class_id, 0, 0xFFFF, "class id")
        check_range(self.attribute_index, -128, 127, "attribute index")
        check_range(self.data_index, 0, 0xFFFF, "data index")

    def to_data(self) -> Data:
        """The A-XDR structure."""
        return Data.structure(
            Data.long_unsigned(self.class_id),
            Data.octet_string(self.logical_name.to_bytes()),
            Data.integer(self.attribute_index),
            Data.long_unsigned(self.data_index),
        )

    @classmethod
    def from_data(cls, data: Data) -> Self:
        """Read the structure back; integer kinds are accepted loosely, values are range checked."""
        class_id, name, attribute, index = _members(data, 4, "capture object definition")
        if not isinstance(name.value, bytes):
            raise DecodeError("capture object logical name must be an octet-string")
        try:
            return cls(
                _integer(class_id, "class id"),
                ObisCode.from_bytes(name.value),
                _integer(attribute, "attribute index"),
                _integer(index, "data index"),
            )
        except EncodeError as exc:
            raise DecodeError(f"capture object definition out of range: {exc}") from None


@dataclass(frozen=True, slots=True)
class RangeDescriptor:
    """Access selector 1: entries whose ``restricting_object`` value lies in ``[from_value, to_value]``.

    ``selected_values`` chooses columns; empty means all of them.
    """

    restricting_object: CaptureObjectDefinition
    from_value: Data
    to_value: Data
    selected_values: tuple[CaptureObjectDefinition, ...] = ()

    ACCESS_SELECTOR: ClassVar[int] = RANGE_DESCRIPTOR

    def to_data(self) -> Data:
        """The access parameters."""
        return Data.structure(
            self.restricting_object.to_data(),
            self.from_value,
            self.to_value,
            Data.array(*(column.to_data() for column in self.selected_values)),
        )

    @classmethod
    def from_data(cls, data: Data) -> Self:
        """Read the access parameters back."""
        restricting, from_value, to_value, selected = _members(data, 4, "range descriptor")
        if selected.tag is not DataTag.ARRAY or not isinstance(selected.value, tuple):
            raise DecodeError("range descriptor selected values must be an array")
        return cls(
            CaptureObjectDefinition.from_data(restricting),
            from_value,
            to_value,
            tuple(CaptureObjectDefinition.from_data(column) for column in selected.value),
        )


@dataclass(frozen=True, slots=True)
class EntryDescriptor:
    """Access selector 2: entries and columns by 1-based index; 0 as an upper bound means "up to the last"."""

    from_entry: int = 1
    to_entry: int = 0
    from_selected_value: int = 1
    to_selected_value: int = 0

    ACCESS_SELECTOR: ClassVar[int] = ENTRY_DESCRIPTOR

    def __post_init__(self) -> None:
        check_range(self.from_entry, 0, 0xFFFF_FFFF, "from entry")
        check_range(self.to_entry, 0, 0xFFFF_FFFF, "to entry")
        check_range(self.from_selected_value, 0, 0xFFFF, "from selected value")
        check_range(self.to_selected_value, 0, 0xFFFF, "to selected value")

    def to_data(self) -> Data:
        """The access parameters."""
        return Data.structure(
            Data.double_long_unsigned(self.from_entry),
            Data.double_long_unsigned(self.to_entry),
            Data.long_unsigned(self.from_selected_value),
            Data.long_unsigned(self.to_selected_value),
        )

    @classmethod
    def from_data(cls, data: Data) -> Self:
        """Read the access parameters back."""
        members = _members(data, 4, "entry descriptor")
        names = ("from entry", "to entry", "from selected value", "to selected value")
        values = [_integer(member, name) for member, name in zip(members, names, strict=True)]
        try:
            return cls(*values)
        except EncodeError as exc:
            raise DecodeError(f"entry descriptor out of range: {exc}") from None


@dataclass(frozen=True, slots=True)
class SelectiveAccessDescriptor:
    """``Selective-Access-Descriptor``: access selector and its parameters as they go on the wire."""

    access_selector: int
    access_parameters: Data

    def __post_init__(self) -> None:
        check_range(self.access_selector, 0, 0xFF, "access selector")

    @classmethod
    def of(cls, descriptor: RangeDescriptor | EntryDescriptor) -> Self:
        """The descriptor for a range or entry selection."""
        return cls(descriptor.ACCESS_SELECTOR, descriptor.to_data())

    def parsed(self) -> RangeDescriptor | EntryDescriptor | None:
        """The range or entry descriptor, or ``None`` for a selector this module does not model."""
        if self.access_selector == RANGE_DESCRIPTOR:
            return RangeDescriptor.from_data(self.access_parameters)
        if self.access_selector == ENTRY_DESCRIPTOR:
            return EntryDescriptor.from_data(self.access_parameters)
        return None

    def encode(self) -> bytes:
        """Selector byte and the A-XDR parameters."""
        return bytes([self.access_selector]) + encode_data(self.access_parameters)

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read the descriptor from an APDU."""
        selector = reader.u8("access selector")
        return cls(selector, decode_data(reader))


def encode_optional_access(selection: SelectiveAccessDescriptor | None) -> bytes:
    """An ``OPTIONAL`` selective access field: 0x00, or 0x01 and the descriptor."""
    return b"\x00" if selection is None else b"\x01" + selection.encode()


def read_optional_access(reader: ByteReader) -> SelectiveAccessDescriptor | None:
    """An ``OPTIONAL`` selective access field."""
    return SelectiveAccessDescriptor.read(reader) if read_optional_flag(reader, "access-selection") else None
