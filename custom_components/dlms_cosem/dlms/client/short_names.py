"""Base names of a short name meter: its Association SN ``object_list`` and the lookup built from it.

A short name meter addresses attribute n of an object by the object's base name + 8 (n - 1); the base
names are the meter's own choice, so the client reads them first from the current association (class
12, base name 0xFA00, attribute 2: ``array of {base_name, class_id, version, logical_name}``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..apdu import DataAccessResult, attribute_name, method_name
from ..axdr import INTEGER_TAGS, CompactArray, Data, DataTag
from ..errors import DecodeError, EncodeError, ServiceError
from ..obis import ObisCode
from .objects import CURRENT_ASSOCIATION, ObjectListEntry
from .outcomes import result_error

#: Association SN (class 12): the current association of a short name meter.
ASSOCIATION_SN_CLASS_ID = 12
#: Base name of the current Association SN object (also the ``vaa-name`` of short name servers).
ASSOCIATION_SN_BASE_NAME = 0xFA00
#: Association SN attribute 2, ``object_list``.
OBJECT_LIST_ATTRIBUTE = 2
#: Variable name of the current association's object list (0xFA08).
OBJECT_LIST_NAME = attribute_name(ASSOCIATION_SN_BASE_NAME, OBJECT_LIST_ATTRIBUTE)
#: Association SN method 8, reply_to_HLS_authentication (0xFA58 on the current association).
REPLY_TO_HLS_AUTHENTICATION_SN = 8


@dataclass(frozen=True, slots=True)
class ShortNameObject:
    """One ``objectlist_element`` of Association SN."""

    base_name: int
    class_id: int
    version: int
    obis: ObisCode

    def entry(self) -> ObjectListEntry:
        """The object as the logical name object list describes it (no access rights are listed)."""
        return ObjectListEntry(self.class_id, self.version, self.obis)


def _integer(data: Data, what: str) -> int:
    if data.tag in INTEGER_TAGS and type(data.value) is int:
        return data.value
    raise DecodeError(f"{what} must be an integer, got {data.tag.name}")


def _element(data: Data) -> ShortNameObject:
    members = data.value
    if data.tag is not DataTag.STRUCTURE or not isinstance(members, tuple) or len(members) != 4:
        raise DecodeError("an Association SN object list element must be a structure of 4")
    base_name = _integer(members[0], "base name") & 0xFFFF  # ``long``: names above 0x7FFF come negative
    class_id = _integer(members[1], "class id")
    version = _integer(members[2], "version")
    name = members[3].value
    if members[3].tag is not DataTag.OCTET_STRING or not isinstance(name, bytes):
        raise DecodeError("logical name must be an octet-string")
    if not 0 <= class_id <= 0xFFFF or not 0 <= version <= 0xFF:
        raise DecodeError(f"class id {class_id} or version {version} out of range")
    return ShortNameObject(base_name, class_id, version, ObisCode.from_bytes(name))


def parse_short_name_object_list(data: Data) -> tuple[ShortNameObject, ...]:
    """The elements of an Association SN ``object_list``."""
    if data.tag is DataTag.ARRAY and isinstance(data.value, tuple):
        items = data.value
    elif data.tag is DataTag.COMPACT_ARRAY and isinstance(data.value, CompactArray):
        items = data.value.elements
    else:
        raise DecodeError(f"object list must be an array, got {data.tag.name}")
    return tuple(_element(item) for item in items)


class ShortNames:
    """Logical name to base name, for the objects one short name association lists."""

    def __init__(self, objects: tuple[ShortNameObject, ...]) -> None:
        self.objects = objects
        self._by_obis = {obj.obis: obj for obj in objects}

    def _object(self, class_id: int, obis: ObisCode, what: str) -> ShortNameObject | ServiceError:
        obj = self._by_obis.get(obis)
        if obj is None and obis == CURRENT_ASSOCIATION and class_id == ASSOCIATION_SN_CLASS_ID:
            obj = ShortNameObject(ASSOCIATION_SN_BASE_NAME, class_id, 0, obis)
        if obj is None:
            return result_error(DataAccessResult.OBJECT_UNDEFINED, f"{what} (not in the object list)")
        if obj.class_id != class_id:
            return result_error(
                DataAccessResult.OBJECT_CLASS_INCONSISTENT, f"{what} (the meter lists class {obj.class_id})"
            )
        return obj

    def method_name(self, class_id: int, obis: ObisCode, method: int, what: str) -> int | ServiceError:
        """The variable name that invokes a method, or the error a logical name meter would have given."""
        obj = self._object(class_id, obis, what)
        if isinstance(obj, ServiceError):
            return obj
        try:
            return method_name(obj.base_name, class_id, method)
        except EncodeError as err:
            return result_error(DataAccessResult.OBJECT_UNDEFINED, f"{what} ({err})")

    def variable_name(self, class_id: int, obis: ObisCode, attribute: int, what: str) -> int | ServiceError:
        """The variable name of an attribute, or the error a logical name meter would have given."""
        obj = self._object(class_id, obis, what)
        if isinstance(obj, ServiceError):
            return obj
        if attribute < 1:
            return result_error(DataAccessResult.OBJECT_UNDEFINED, f"{what} (no short name for attribute 0)")
        try:
            return attribute_name(obj.base_name, attribute)
        except EncodeError as err:
            return result_error(DataAccessResult.OBJECT_UNDEFINED, f"{what} ({err})")
