"""COSEM objects from the notification body of a pushed telegram.

A push telegram carries the values of the push setup's object list, but meters lay them out in
different ways. This module recognises the layouts real meters use and turns each into a list of
:class:`PushObject` (OBIS code, value scaled by its scaler, unit):

- ``STRUCTURED``: every element is a structure (OBIS, value[, scaler_unit]) — Aidon, many Landis+Gyr.
- ``OBIS_VALUE_SEQUENCE``: a flat sequence where an OBIS octet-string is followed by its value and an
  optional scaler_unit structure — Kamstrup, Kaifa over M-Bus (Austria), Iskraemeco.
- ``OBJECT_LIST``: a push object list (class id, OBIS, attribute[, data index]) followed by the values.
- ``BARE_VALUES``: values without OBIS codes, kept in order with ``obis`` ``None``.

Some meters leave scalers and units (or even OBIS codes) out; a list identifier string in the telegram
(``Kamstrup_V0001``, ``KFM_001``, ...) then fixes them, as published by the meter vendors for the
Norwegian HAN port (NVE). See :mod:`.list_identifiers`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from .axdr import Data, DataTag, datetime_from_data
from .cosem_datetime import CosemDateTime
from .list_identifiers import ListProfile, find_list_profile
from .obis import ObisCode
from .units import ScalerUnit, scale_value, unit_symbol

CLOCK = ObisCode(0, 0, 1, 0, 0, 255)

type ScalarValue = int | float | str | bytes | bool | CosemDateTime | None


class PushLayout(StrEnum):
    """How a notification body lays out its objects."""

    STRUCTURED = "structured"
    OBIS_VALUE_SEQUENCE = "obis_value_sequence"
    OBJECT_LIST = "object_list"
    BARE_VALUES = "bare_values"


@dataclass(frozen=True, slots=True)
class PushObject:
    """One value from a telegram, with what is known about it."""

    obis: ObisCode | None
    data: Data
    scaler_unit: ScalerUnit | None = None
    class_id: int | None = None
    attribute: int | None = None

    @property
    def raw(self) -> object:
        """The value as sent: integers unscaled, strings decoded, structures as lists."""
        return plain_value(self.data)

    @property
    def value(self) -> object:
        """The value scaled by the scaler (when there is one and the value is a number)."""
        raw = self.raw
        if self.scaler_unit is not None and isinstance(raw, int | float) and not isinstance(raw, bool):
            return scale_value(raw, self.scaler_unit.scaler)
        return raw

    @property
    def unit(self) -> str | None:
        """The unit symbol, when the telegram or a list identifier gives one."""
        return None if self.scaler_unit is None else unit_symbol(self.scaler_unit.unit)


@dataclass(frozen=True, slots=True)
class PushContent:
    """What a notification body holds."""

    layout: PushLayout
    objects: tuple[PushObject, ...]
    list_identifier: str | None = None

    def clock(self) -> CosemDateTime | None:
        """The meter's clock from the body: the clock object, else the first bare date-time."""
        for obj in self.objects:
            if obj.obis == CLOCK:
                found = datetime_from_data(obj.data)
                if found is not None:
                    return found
        for obj in self.objects:
            if obj.obis is None:
                found = datetime_from_data(obj.data)
                if found is not None:
                    return found
        return None


def plain_value(data: Data) -> object:
    """A JSON-friendly Python value: text where bytes are printable text, date-times recognised."""
    if data.tag in (DataTag.ARRAY, DataTag.STRUCTURE):
        items = data.value
        assert isinstance(items, tuple)
        return [plain_value(item) for item in items]
    if data.tag == DataTag.OCTET_STRING:
        found = datetime_from_data(data)
        if found is not None:
            return found
        raw = data.value
        assert isinstance(raw, bytes)
        text = printable_text(raw)
        return text if text is not None else raw
    if data.tag == DataTag.COMPACT_ARRAY:
        return data.to_python()
    return data.value


def printable_text(raw: bytes) -> str | None:
    """The bytes as text when they are all printable ASCII (meters send names as octet-strings)."""
    if not raw or not all(0x20 <= byte < 0x7F for byte in raw):
        return None
    return raw.decode("ascii")


def _as_obis(data: Data) -> ObisCode | None:
    """The OBIS code an element holds, when it is a plausible one (6-byte octet-string)."""
    if data.tag != DataTag.OCTET_STRING:
        return None
    raw = data.value
    if not isinstance(raw, bytes) or len(raw) != 6:
        return None
    code = ObisCode.from_bytes(raw)
    # Group A is the medium (0 abstract, 1 electricity, ... 15 other); larger values are data.
    return code if code.a <= 15 else None


def _as_scaler_unit(data: Data) -> ScalerUnit | None:
    if data.tag != DataTag.STRUCTURE:
        return None
    items = data.value
    if not isinstance(items, tuple) or len(items) != 2:
        return None
    if items[0].tag != DataTag.INTEGER or items[1].tag != DataTag.ENUM:
        return None
    return ScalerUnit.from_data(data)


def _as_object_list_entry(data: Data) -> tuple[int, ObisCode, int] | None:
    """(class id, OBIS, attribute) of a push object list entry."""
    if data.tag != DataTag.STRUCTURE or not isinstance(data.value, tuple):
        return None
    items = data.value
    if len(items) not in (3, 4) or items[0].tag != DataTag.LONG_UNSIGNED:
        return None
    obis = _as_obis(items[1])
    if obis is None or items[2].tag not in (DataTag.INTEGER, DataTag.UNSIGNED):
        return None
    class_id, attribute = items[0].value, items[2].value
    assert isinstance(class_id, int)
    assert isinstance(attribute, int)
    return class_id, obis, attribute


def _structured(elements: tuple[Data, ...]) -> list[PushObject] | None:
    objects: list[PushObject] = []
    for element in elements:
        if element.tag != DataTag.STRUCTURE or not isinstance(element.value, tuple):
            return None
        items = element.value
        if len(items) not in (2, 3):
            return None
        obis = _as_obis(items[0])
        if obis is None:
            return None
        scaler_unit = _as_scaler_unit(items[2]) if len(items) == 3 else None
        if len(items) == 3 and scaler_unit is None:
            return None
        objects.append(PushObject(obis, items[1], scaler_unit))
    return objects


def _object_list(elements: tuple[Data, ...]) -> list[PushObject] | None:
    head = elements[0]
    if head.tag != DataTag.ARRAY or not isinstance(head.value, tuple) or not head.value:
        return None
    entries = [_as_object_list_entry(item) for item in head.value]
    values = elements[1:]
    if any(entry is None for entry in entries) or len(entries) != len(values):
        return None
    objects: list[PushObject] = []
    for entry, value in zip(entries, values, strict=True):
        assert entry is not None
        class_id, obis, attribute = entry
        objects.append(PushObject(obis, value, None, class_id, attribute))
    return objects


def _obis_value_sequence(elements: tuple[Data, ...]) -> list[PushObject] | None:
    objects: list[PushObject] = []
    found_obis = False
    index = 0
    while index < len(elements):
        element = elements[index]
        obis = _as_obis(element)
        if obis is not None and index + 1 < len(elements):
            value = elements[index + 1]
            index += 2
            scaler_unit = None
            if index < len(elements):
                scaler_unit = _as_scaler_unit(elements[index])
                if scaler_unit is not None:
                    index += 1
            objects.append(PushObject(obis, value, scaler_unit))
            found_obis = True
        else:
            objects.append(PushObject(None, element))
            index += 1
    return objects if found_obis else None


def _elements(body: Data) -> tuple[Data, ...]:
    if body.tag in (DataTag.STRUCTURE, DataTag.ARRAY) and isinstance(body.value, tuple):
        return body.value
    return (body,)


def extract_objects(body: Data) -> PushContent:
    """The objects of a notification body, in the order the meter sent them."""
    elements = _elements(body)
    # A single structure wrapping the list (some meters nest once more).
    if len(elements) == 1 and elements[0].tag in (DataTag.STRUCTURE, DataTag.ARRAY):
        inner = _elements(elements[0])
        if _structured(inner) or _object_list(inner) or _obis_value_sequence(inner):
            elements = inner
    layout: PushLayout
    if elements and (objects := _structured(elements)) is not None:
        layout = PushLayout.STRUCTURED
    elif elements and (objects := _object_list(elements)) is not None:
        layout = PushLayout.OBJECT_LIST
    elif (objects := _obis_value_sequence(elements)) is not None:
        layout = PushLayout.OBIS_VALUE_SEQUENCE
    else:
        layout = PushLayout.BARE_VALUES
        objects = [PushObject(None, element) for element in elements]
    profile = find_list_profile(objects)
    if profile is not None:
        objects = apply_list_profile(profile, objects)
    return PushContent(layout, tuple(objects), profile.identifier if profile else None)


def apply_list_profile(profile: ListProfile, objects: list[PushObject]) -> list[PushObject]:
    """Fill in OBIS codes, scalers and units the meter leaves out, as its list identifier fixes them."""
    if all(obj.obis is None for obj in objects):
        codes = profile.obis_for_positions(len(objects))
        if codes is not None:
            objects = [replace(obj, obis=code) for obj, code in zip(objects, codes, strict=True)]
    fixed: list[PushObject] = []
    for obj in objects:
        scaler_unit = None
        if obj.obis is not None and obj.scaler_unit is None:
            scaler_unit = profile.scaler_unit_for(obj.obis, objects)
        fixed.append(obj if scaler_unit is None else replace(obj, scaler_unit=scaler_unit))
    return fixed
