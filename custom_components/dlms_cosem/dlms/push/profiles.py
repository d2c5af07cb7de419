"""Profile buffers a meter pushes: rows of history inside a telegram.

A push setup may list a Profile Generic (class 7) object: its buffer (attribute 2) is then an array of
rows, one structure per capture, and its capture_objects (attribute 3) name the columns. Meters that
push a load profile or a billing snapshot this way send both in the same telegram; a buffer whose
columns the telegram does not name cannot be read and is left out (the rows alone could be any
registers). Nothing here looks at a meter's name: the rows are found by their structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..axdr import Data, DataTag
from ..obis import ObisCode
from .layouts import CaptureObject, as_capture_object
from .values import PushObject

PROFILE_GENERIC_CLASS_ID = 7
BUFFER = 2
CAPTURE_OBJECTS = 3


@dataclass(frozen=True, slots=True)
class PushedProfile:
    """A profile's rows as the telegram carries them, with the capture object of each column."""

    obis: ObisCode
    columns: tuple[CaptureObject, ...]
    rows: tuple[tuple[Data, ...], ...]


def pushed_profiles(objects: Sequence[PushObject]) -> list[PushedProfile]:
    """The profiles whose buffer and capture objects the telegram both carries, in telegram order."""
    buffers: dict[ObisCode, Data] = {}
    columns: dict[ObisCode, tuple[CaptureObject, ...]] = {}
    for obj in objects:
        if obj.obis is None or obj.class_id != PROFILE_GENERIC_CLASS_ID:
            continue
        if obj.attribute == BUFFER:
            buffers[obj.obis] = obj.data
        elif obj.attribute == CAPTURE_OBJECTS and (found := _capture_objects(obj.data)) is not None:
            columns[obj.obis] = found
    profiles: list[PushedProfile] = []
    for obis, buffer in buffers.items():
        named = columns.get(obis)
        rows = _rows(buffer, len(named)) if named else None
        if named and rows is not None:
            profiles.append(PushedProfile(obis, named, rows))
    return profiles


def _capture_objects(data: Data) -> tuple[CaptureObject, ...] | None:
    if data.tag != DataTag.ARRAY or not isinstance(data.value, tuple) or not data.value:
        return None
    found = tuple(as_capture_object(entry) for entry in data.value)
    if any(entry is None for entry in found):
        return None
    return tuple(entry for entry in found if entry is not None)


def _rows(buffer: Data, width: int) -> tuple[tuple[Data, ...], ...] | None:
    """The buffer's rows when each is a structure of one value per column (an empty buffer has none)."""
    if buffer.tag != DataTag.ARRAY or not isinstance(buffer.value, tuple):
        return None
    rows: list[tuple[Data, ...]] = []
    for row in buffer.value:
        if row.tag != DataTag.STRUCTURE or not isinstance(row.value, tuple) or len(row.value) != width:
            return None
        rows.append(row.value)
    return tuple(rows)
