"""The layouts meters give a notification body, each recognised by its structure alone.

Every recogniser takes the elements of a body (or of a container inside it) and returns the objects
when the elements follow its layout, or None. No recogniser looks at a meter's name or at particular
bytes: a layout is a shape of A-XDR values.

- ``STRUCTURED``: every element is a structure ``(OBIS, value[, scaler_unit[, capture_time]])`` (the
  attributes 2, 3 and 5 of an extended register, as meters send M-Bus channel readings).
- ``OBIS_VALUE_SEQUENCE``: a flat sequence where an OBIS octet-string is followed by its value and
  an optional scaler_unit structure; values without a code, and ``(OBIS, value[, scaler_unit])``
  structures, may stand between them.
- ``OBJECT_LIST``: the push object list (capture object definitions ``(class_id, logical_name,
  attribute_index[, data_index])``, as an array or a structure), then the values in the same order,
  flat or in one container.
- ``DESCRIBED_VALUES``: every element is a structure ``(capture object definition, value)``.
- ``BARE_VALUES``: none of these; the values in order, one-element containers flattened.

In the two layouts that name attributes, a register's scaler_unit (attribute 3, or 4 of a demand
register) and an extended or demand register's capture_time (attribute 5, or 6) arrive as values of
their own; they are given to the value of the same object instead of becoming objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from ..axdr import Data, DataTag
from ..cosem_datetime import CosemDateTime
from ..obis import ObisCode
from ..units import ScalerUnit
from .values import PushObject, date_time_from_data

_OBIS_LENGTH = 6
_MAX_MEDIUM = 15
"""OBIS value group A names the medium (0 abstract, 1 electricity, ... 15 other); larger is data."""
_SCALER_UNIT_ATTRIBUTES: dict[int, int] = {3: 3, 4: 3, 5: 4}
"""scaler_unit: attribute 3 of Register (class 3) and Extended register (4), 4 of Demand register (5)."""
_CAPTURE_TIME_ATTRIBUTES: dict[int, int] = {4: 5, 5: 6}
"""capture_time: attribute 5 of Extended register (class 4), 6 of Demand register (5)."""
_PUSH_SETUP_CLASS_ID = 40
_PUSH_OBJECT_LIST_ATTRIBUTE = 2
_MAX_CONTAINER_DEPTH = 4
"""How deep the list of objects may sit inside wrapping containers."""

_OCTET_STRING = DataTag.OCTET_STRING
_SCALER_UNITS: dict[tuple[object, object], ScalerUnit] = {}
_SCALER_UNITS_LIMIT = 4096

type CaptureObject = tuple[int, ObisCode, int]
"""(class_id, logical_name, attribute_index) of a capture object definition."""


class PushLayout(StrEnum):
    """How a notification body lays out its objects."""

    STRUCTURED = "structured"
    OBIS_VALUE_SEQUENCE = "obis_value_sequence"
    OBJECT_LIST = "object_list"
    DESCRIBED_VALUES = "described_values"
    BARE_VALUES = "bare_values"
    TEXT = "text"
    """Not a notification body: the data sets of an IEC 62056-21 text telegram (see ``..text``)."""


def _items(data: Data) -> tuple[Data, ...] | None:
    """The members of an array or structure, None for any other value."""
    if data.tag in (DataTag.STRUCTURE, DataTag.ARRAY) and isinstance(data.value, tuple):
        return data.value
    return None


def as_obis(data: Data) -> ObisCode | None:
    """The OBIS code an element holds, when it is a plausible one (6-byte octet-string)."""
    raw = data.value
    if isinstance(raw, bytes) and len(raw) == _OBIS_LENGTH and data.tag == _OCTET_STRING:
        return ObisCode.from_bytes(raw) if raw[0] <= _MAX_MEDIUM else None
    return None


def as_scaler_unit(data: Data) -> ScalerUnit | None:
    """The scaler_unit a structure ``(integer scaler, enum unit)`` holds."""
    items = _items(data)
    if data.tag != DataTag.STRUCTURE or items is None or len(items) != 2:
        return None
    scaler, unit = items
    if scaler.tag != DataTag.INTEGER or unit.tag != DataTag.ENUM:
        return None
    key = (scaler.value, unit.value)
    if type(key[0]) is int and type(key[1]) is int and (known := _SCALER_UNITS.get(key)) is not None:
        return known  # the same few pairs in every telegram; ScalerUnit is immutable
    scaler_unit = ScalerUnit.from_data(data)
    if len(_SCALER_UNITS) < _SCALER_UNITS_LIMIT:
        _SCALER_UNITS[key] = scaler_unit
    return scaler_unit


def as_capture_object(data: Data) -> CaptureObject | None:
    """(class id, OBIS, attribute) of a capture object definition structure.

    The definition is ``(class_id, logical_name, attribute_index[, data_index])``; push setups of
    later versions add ``restriction`` (a structure) and ``columns`` (an array) to each entry.
    """
    items = _items(data)
    if data.tag != DataTag.STRUCTURE or items is None or not 3 <= len(items) <= 6:
        return None
    if items[0].tag != DataTag.LONG_UNSIGNED or items[2].tag not in (DataTag.INTEGER, DataTag.UNSIGNED):
        return None
    restriction, columns = items[4:5], items[5:6]
    if any(item.tag != DataTag.STRUCTURE for item in restriction) or any(
        item.tag != DataTag.ARRAY for item in columns
    ):
        return None
    obis = as_obis(items[1])
    if obis is None:
        return None
    class_id, attribute = items[0].value, items[2].value
    assert isinstance(class_id, int)
    assert isinstance(attribute, int)
    return class_id, obis, attribute


def _described(pairs: Sequence[tuple[CaptureObject, Data]]) -> list[PushObject]:
    """Objects from values with their capture object definitions.

    The scaler_unit and capture_time attributes are given to the values of their objects.
    """
    scaler_units: dict[ObisCode, ScalerUnit] = {}
    captures: dict[ObisCode, CosemDateTime] = {}
    folded: set[tuple[ObisCode, int]] = set()
    for (class_id, obis, attribute), value in pairs:
        if attribute == _SCALER_UNIT_ATTRIBUTES.get(class_id) and (scaler_unit := as_scaler_unit(value)):
            scaler_units[obis] = scaler_unit
            folded.add((obis, attribute))
        elif attribute == _CAPTURE_TIME_ATTRIBUTES.get(class_id) and (moment := date_time_from_data(value)):
            captures[obis] = moment
            folded.add((obis, attribute))
    return [
        PushObject(obis, value, scaler_units.get(obis), class_id, attribute, captures.get(obis))
        for (class_id, obis, attribute), value in pairs
        if (obis, attribute) not in folded
    ]


def structured(elements: Sequence[Data]) -> list[PushObject] | None:
    """Every element a structure ``(OBIS, value[, scaler_unit[, capture_time]])``."""
    objects: list[PushObject] = []
    for element in elements:
        items = _items(element)
        if element.tag != DataTag.STRUCTURE or items is None or not 2 <= len(items) <= 4:
            return None
        obis = as_obis(items[0])
        if obis is None:
            return None
        scaler_unit = as_scaler_unit(items[2]) if len(items) >= 3 else None
        if len(items) >= 3 and scaler_unit is None:
            return None
        if len(items) == 4:
            captured = date_time_from_data(items[3])
            if captured is None:
                return None
            objects.append(PushObject(obis, items[1], scaler_unit, captured=captured))
        else:
            objects.append(PushObject(obis, items[1], scaler_unit))
    return objects


def described_values(elements: Sequence[Data]) -> list[PushObject] | None:
    """Every element a structure ``(capture object definition, value)``."""
    pairs: list[tuple[CaptureObject, Data]] = []
    for element in elements:
        items = _items(element)
        if element.tag != DataTag.STRUCTURE or items is None or len(items) != 2:
            return None
        definition = as_capture_object(items[0])
        if definition is None:
            return None
        pairs.append((definition, items[1]))
    return _described(pairs)


def object_list(elements: Sequence[Data]) -> list[PushObject] | None:
    """The capture object definitions first, then their values (flat, or in one container).

    A push setup may list its own push_object_list (class 40, attribute 2) first: its value is then
    the list of definitions itself, which is no reading and gives no object.
    """
    entries = _items(elements[0])
    if not entries:
        return None
    definitions = [as_capture_object(entry) for entry in entries]
    if any(definition is None for definition in definitions):
        return None
    captured = [definition for definition in definitions if definition is not None]
    values: Sequence[Data] = elements[1:]
    if len(values) == 1 and len(captured) > 1 and (inner := _items(values[0])) is not None:
        values = inner
    first_class, _, first_attribute = captured[0]
    if (first_class, first_attribute) == (_PUSH_SETUP_CLASS_ID, _PUSH_OBJECT_LIST_ATTRIBUTE):
        captured = captured[1:]
    if len(captured) != len(values):
        return None
    return _described(list(zip(captured, values, strict=True)))


def obis_value_sequence(elements: Sequence[Data]) -> list[PushObject] | None:
    """OBIS code, value and optional scaler_unit after one another; other values kept as they come."""
    objects: list[PushObject] = []
    found_obis = False
    index = 0
    while index < len(elements):
        element = elements[index]
        obis = as_obis(element)
        if obis is not None and index + 1 < len(elements):
            value = elements[index + 1]
            index += 2
            scaler_unit = None
            if index < len(elements):
                scaler_unit = as_scaler_unit(elements[index])
                if scaler_unit is not None:
                    index += 1
            objects.append(PushObject(obis, value, scaler_unit))
            found_obis = True
        elif (nested := structured([element]) if element.tag == DataTag.STRUCTURE else None) is not None:
            # Some meters mix the two: flat pairs, then (OBIS, value[, scaler_unit]) structures.
            objects.extend(nested)
            found_obis = True
            index += 1
        else:
            objects.append(PushObject(None, element))
            index += 1
    return objects if found_obis else None


def flatten(data: Data) -> Data:
    """A one-element array or structure stands for its element (at any depth)."""
    items = _items(data)
    while items is not None and len(items) == 1:
        data = items[0]
        items = _items(data)
    return data


def bare_values(elements: Sequence[Data]) -> list[PushObject]:
    """The values in order, without codes: every number can still become a sensor."""
    return [PushObject(None, flatten(element)) for element in elements]


_RECOGNISERS: tuple[tuple[PushLayout, Callable[[Sequence[Data]], list[PushObject] | None]], ...] = (
    (PushLayout.STRUCTURED, structured),
    (PushLayout.DESCRIBED_VALUES, described_values),
    (PushLayout.OBJECT_LIST, object_list),
    (PushLayout.OBIS_VALUE_SEQUENCE, obis_value_sequence),
)


def recognise(elements: Sequence[Data], depth: int = 0) -> tuple[PushLayout, list[PushObject]]:
    """The layout of ``elements`` and their objects; bare values when no layout fits.

    When no layout fits the elements themselves but exactly one of them is a container, the list of
    objects may sit inside it (a structure wrapping the list, or an enum or a date-time beside it);
    the elements around it are kept as bare values in their places.
    """
    if elements:
        for layout, recogniser in _RECOGNISERS:
            objects = recogniser(elements)
            if objects is not None:
                return layout, objects
    containers = [index for index, element in enumerate(elements) if _items(element) is not None]
    if len(containers) == 1 and depth < _MAX_CONTAINER_DEPTH:
        index = containers[0]
        inner = _items(elements[index])
        assert inner is not None
        layout, objects = recognise(inner, depth + 1)
        if layout is not PushLayout.BARE_VALUES or len(elements) == 1:
            before, after = bare_values(elements[:index]), bare_values(elements[index + 1 :])
            return layout, [*before, *objects, *after]
    return PushLayout.BARE_VALUES, bare_values(elements)
