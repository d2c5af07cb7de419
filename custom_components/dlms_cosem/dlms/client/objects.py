"""What the client reads out of COSEM objects: the association's object list, registers and profiles.

These are plain values built from :class:`~..axdr.Data`; the parsers check the structure the Blue Book
prescribes (with the leniency real meters need: any integer kind where an integer is due, a boolean
or an enum for method access) and raise :class:`DecodeError` for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..apdu import (
    CaptureObjectDefinition,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    EntryDescriptor,
    RangeDescriptor,
    SelectiveAccessDescriptor,
)
from ..axdr import INTEGER_TAGS, CompactArray, Data, DataTag
from ..errors import DecodeError, DlmsError, EncodeError
from ..obis import ObisCode
from ..units import ScalerUnit

#: The current association (class 15, Association LN): its object_list is attribute 2.
CURRENT_ASSOCIATION = ObisCode(0, 0, 40, 0, 0, 255)
#: The clock (class 8); attribute 2 is the time, the usual restricting column of a profile.
CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
#: The invocation counter of security setup 0 (class 1), readable by the public client.
FRAME_COUNTER = ObisCode(0, 0, 43, 1, 0, 255)

ASSOCIATION_LN_CLASS_ID = 15
CLOCK_CLASS_ID = 8
DATA_CLASS_ID = 1
REGISTER_CLASS_ID = 3
EXTENDED_REGISTER_CLASS_ID = 4
DEMAND_REGISTER_CLASS_ID = 5
PROFILE_GENERIC_CLASS_ID = 7

#: Association LN versions from 3 on encode access modes as bit flags rather than an enumeration.
_BIT_FLAG_ACCESS_VERSION = 3
_READ_MODES_ENUMERATED = frozenset({1, 3, 4, 6})
_WRITE_MODES_ENUMERATED = frozenset({2, 3, 5, 6})


class AttributeAccessMode(IntEnum):
    """``attribute_access_mode`` of Association LN versions 0..2 (version 3 uses bit flags)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3
    AUTHENTICATED_READ_ONLY = 4
    AUTHENTICATED_WRITE_ONLY = 5
    AUTHENTICATED_READ_AND_WRITE = 6


def _integer(data: Data, what: str) -> int:
    value = data.value
    if (data.tag in INTEGER_TAGS or data.tag is DataTag.ENUM) and type(value) is int:
        return value
    raise DecodeError(f"{what} must be an integer, got {data.tag.name}")


def _members(data: Data, what: str) -> tuple[Data, ...]:
    if data.tag is DataTag.STRUCTURE and isinstance(data.value, tuple):
        return data.value
    raise DecodeError(f"{what} must be a structure, got {data.tag.name}")


def _elements(data: Data, what: str) -> tuple[Data, ...]:
    if data.tag is DataTag.ARRAY and isinstance(data.value, tuple):
        return data.value
    if data.tag is DataTag.COMPACT_ARRAY and isinstance(data.value, CompactArray):
        return data.value.elements
    raise DecodeError(f"{what} must be an array, got {data.tag.name}")


def _access_mode(data: Data, what: str) -> int:
    if data.tag is DataTag.BOOLEAN and isinstance(data.value, bool):
        return int(data.value)
    return _integer(data, what)


@dataclass(frozen=True, slots=True)
class AttributeAccess:
    """One ``attribute_access_item``: the mode and the selective access selectors offered."""

    attribute_id: int
    access_mode: int
    access_selectors: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class MethodAccess:
    """One ``method_access_item``; version 0 sends a boolean (kept as 0/1)."""

    method_id: int
    access_mode: int


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One object the association gives access to, as the meter lists it in ``object_list``."""

    class_id: int
    version: int
    obis: ObisCode
    attribute_access: tuple[AttributeAccess, ...] = ()
    method_access: tuple[MethodAccess, ...] = ()
    #: Version of the Association LN that sent the list: it decides how access modes are encoded.
    association_version: int = 0

    def _mode(self, attribute_id: int) -> int | None:
        for access in self.attribute_access:
            if access.attribute_id == attribute_id:
                return access.access_mode
        return None

    def readable(self, attribute_id: int) -> bool:
        """Whether the association may read the attribute (``False`` when it is not listed)."""
        mode = self._mode(attribute_id)
        if mode is None:
            return False
        if self.association_version >= _BIT_FLAG_ACCESS_VERSION:
            return bool(mode & 0x01)
        return mode in _READ_MODES_ENUMERATED

    def writable(self, attribute_id: int) -> bool:
        """Whether the association may write the attribute (``False`` when it is not listed)."""
        mode = self._mode(attribute_id)
        if mode is None:
            return False
        if self.association_version >= _BIT_FLAG_ACCESS_VERSION:
            return bool(mode & 0x02)
        return mode in _WRITE_MODES_ENUMERATED


def _parse_attribute_access(data: Data) -> AttributeAccess:
    members = _members(data, "attribute access item")
    if len(members) != 3:
        raise DecodeError(f"attribute access item must have 3 elements, got {len(members)}")
    attribute_id, mode, selectors = members
    parsed_selectors: tuple[int, ...] | None = None
    if selectors.tag is not DataTag.NULL_DATA:
        parsed_selectors = tuple(
            _integer(item, "access selector") for item in _elements(selectors, "access selectors")
        )
    return AttributeAccess(
        _integer(attribute_id, "attribute id"), _access_mode(mode, "attribute access mode"), parsed_selectors
    )


def _parse_method_access(data: Data) -> MethodAccess:
    members = _members(data, "method access item")
    if len(members) != 2:
        raise DecodeError(f"method access item must have 2 elements, got {len(members)}")
    return MethodAccess(_integer(members[0], "method id"), _access_mode(members[1], "method access mode"))


def _parse_entry(
    data: Data,
) -> tuple[int, int, ObisCode, tuple[AttributeAccess, ...], tuple[MethodAccess, ...]]:
    members = _members(data, "object list element")
    if len(members) not in {3, 4}:
        raise DecodeError(f"object list element must have 4 elements, got {len(members)}")
    class_id = _integer(members[0], "class id")
    version = _integer(members[1], "version")
    name = members[2].value
    if members[2].tag is not DataTag.OCTET_STRING or not isinstance(name, bytes):
        raise DecodeError("logical name must be an octet-string")
    attributes: tuple[AttributeAccess, ...] = ()
    methods: tuple[MethodAccess, ...] = ()
    if len(members) == 4:
        rights = _members(members[3], "access rights")
        if len(rights) != 2:
            raise DecodeError(f"access rights must have 2 elements, got {len(rights)}")
        attributes = tuple(_parse_attribute_access(item) for item in _elements(rights[0], "attribute access"))
        methods = tuple(_parse_method_access(item) for item in _elements(rights[1], "method access"))
    if not 0 <= class_id <= 0xFFFF or not 0 <= version <= 0xFF:
        raise DecodeError(f"class id {class_id} or version {version} out of range")
    return class_id, version, ObisCode.from_bytes(name), attributes, methods


def parse_object_list(data: Data) -> list[ObjectListEntry]:
    """The entries of an Association LN ``object_list`` (attribute 2).

    Access modes are interpreted with the version the list gives for the association object itself
    (``0.0.40.0.0.255``, class 15), since that version changed their encoding.
    """
    raw = [_parse_entry(item) for item in _elements(data, "object list")]
    association_version = next(
        (
            version
            for class_id, version, obis, _, _ in raw
            if class_id == ASSOCIATION_LN_CLASS_ID and obis == CURRENT_ASSOCIATION
        ),
        0,
    )
    return [
        ObjectListEntry(class_id, version, obis, attributes, methods, association_version)
        for class_id, version, obis, attributes, methods in raw
    ]


# --- registers ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterReference:
    """A value-carrying object to poll: Data (1), Register (3), Extended (4) or Demand Register (5)."""

    obis: ObisCode
    class_id: int = REGISTER_CLASS_ID

    def __post_init__(self) -> None:
        if self.class_id not in _REGISTER_ATTRIBUTES:
            raise EncodeError(f"class {self.class_id} is not a data or register class (1, 3, 4, 5)")

    @property
    def value_attribute(self) -> int:
        """The attribute holding the value (Demand Register: current_average_value)."""
        return _REGISTER_ATTRIBUTES[self.class_id][0]

    @property
    def scaler_unit_attribute(self) -> int | None:
        """The attribute holding scaler_unit; ``None`` for Data objects, which have none."""
        return _REGISTER_ATTRIBUTES[self.class_id][1]


_REGISTER_ATTRIBUTES: dict[int, tuple[int, int | None]] = {
    DATA_CLASS_ID: (2, None),
    REGISTER_CLASS_ID: (2, 3),
    EXTENDED_REGISTER_CLASS_ID: (2, 3),
    DEMAND_REGISTER_CLASS_ID: (2, 4),
}


@dataclass(frozen=True, slots=True)
class RegisterValue:
    """A register reading: ``value`` is the scaled number (or the plain value when not numeric).

    ``unit`` is the unit's symbol (``None`` for counts and Data objects); ``raw`` the value as read.
    """

    obis: ObisCode
    value: object
    unit: str | None
    raw: Data
    scaler_unit: ScalerUnit | None


def register_value(obis: ObisCode, raw: Data, scaler_unit: ScalerUnit | None) -> RegisterValue:
    """Apply the scaler to a numeric value; other values are given as their plain Python form."""
    value = raw.value
    numeric = isinstance(value, int | float) and not isinstance(value, bool) and raw.tag is not DataTag.ENUM
    if scaler_unit is not None and numeric and isinstance(value, int | float):
        try:
            scaled: object = scaler_unit.scale(value)
        except DlmsError:  # pragma: no cover - scale_value only rejects non-numbers
            scaled = value
        return RegisterValue(obis, scaled, scaler_unit.symbol, raw, scaler_unit)
    unit = scaler_unit.symbol if scaler_unit is not None else None
    return RegisterValue(obis, raw.to_python(), unit, raw, scaler_unit)


# --- profiles -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileBuffer:
    """Rows of a Profile Generic buffer and the columns (capture objects) they follow."""

    columns: tuple[CaptureObjectDefinition, ...]
    rows: tuple[tuple[Data, ...], ...]


def parse_capture_objects(data: Data) -> tuple[CaptureObjectDefinition, ...]:
    """Profile Generic attribute 3: an array of capture object definitions."""
    return tuple(CaptureObjectDefinition.from_data(item) for item in _elements(data, "capture objects"))


def parse_profile_rows(data: Data) -> tuple[tuple[Data, ...], ...]:
    """Profile Generic attribute 2: an array (or compact-array) of structures, one per entry."""
    return tuple(_members(row, "profile entry") for row in _elements(data, "profile buffer"))


# --- references ---------------------------------------------------------------------------------------


def as_obis(obis: ObisCode | str) -> ObisCode:
    """An OBIS code given as :class:`ObisCode` or as text (``1-0:1.8.0*255``, ``1.0.1.8.0.255``)."""
    return obis if isinstance(obis, ObisCode) else ObisCode.parse(obis)


def as_selection(
    selection: SelectiveAccessDescriptor | RangeDescriptor | EntryDescriptor | None,
) -> SelectiveAccessDescriptor | None:
    """Selective access as it goes on the wire, from a descriptor or its range/entry parameters."""
    if selection is None or isinstance(selection, SelectiveAccessDescriptor):
        return selection
    return SelectiveAccessDescriptor.of(selection)


@dataclass(frozen=True, slots=True)
class AttributeReference:
    """One attribute to GET: object, class, attribute and optional selective access."""

    obis: ObisCode
    class_id: int
    attribute: int = 2
    access_selection: SelectiveAccessDescriptor | None = None

    def descriptor(self) -> CosemAttributeDescriptorWithSelection:
        """The descriptor a GET request carries."""
        return CosemAttributeDescriptorWithSelection(
            CosemAttributeDescriptor(self.class_id, self.obis, self.attribute), self.access_selection
        )
