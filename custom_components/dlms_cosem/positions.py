"""Keys for pushed values that carry no OBIS code, so they can still become sensors.

Some meters push bare values (no codes, no list identifier the stack knows). Home Assistant keys
objects by OBIS code (options, unique ids, readings), so each such value gets a code of its own: its
position in the telegram and the telegram's number of values, in value group B = 254, which the Blue
Book reserves (B 200..254) and so no meter uses. The key stays the same across telegrams of the same
shape; a meter that alternates a short and a long list gets separate sensors for each.

Two bare values are known by their structure and get their real code instead (when the telegram does
not carry that code already): a date-time is the meter's clock (0-0:1.0.0), and a string of 8 to 20
digits is the meter number (0-0:96.1.0, which names the device rather than becoming a sensor). Netz NÖ's
telegrams send both so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .dlms.cosem_datetime import CosemDateTime
from .dlms.obis import ObisCode
from .dlms.push import PushObject
from .dlms.push.profiles import PROFILE_GENERIC_CLASS_ID

POSITION_CHANNEL: Final = 254
"""OBIS value group B of positional keys: a reserved channel number."""
_MAX_POSITION: Final = 255
METER_CLOCK: Final = ObisCode(0, 0, 1, 0, 0, 255)
METER_NUMBER: Final = ObisCode(0, 0, 96, 1, 0, 255)
"""Device ID 1, the meter number (COSEM's serial number object); meter_identity names the device by it."""
_METER_NUMBER_DIGITS: Final = range(8, 21)
VALUE_ATTRIBUTE: Final = 2
"""The attribute that holds the value of Data, Register, Extended and Demand register (classes 1, 3-5)."""


def positional_code(position: int, count: int) -> ObisCode | None:
    """The key of the ``position``-th (from 1) of ``count`` values; None past 255 values."""
    if not 1 <= position <= count <= _MAX_POSITION:
        return None
    return ObisCode(0, POSITION_CHANNEL, count, position, 0, 255)


def position_of(obis: ObisCode) -> tuple[int, int] | None:
    """(position, count) of a positional key, None for a real OBIS code."""
    if obis.a != 0 or obis.b != POSITION_CHANNEL or obis.e != 0 or obis.f != 255:
        return None
    if not 1 <= obis.d <= obis.c:
        return None
    return obis.d, obis.c


def keyed_objects(objects: Iterable[PushObject]) -> list[tuple[ObisCode, PushObject]]:
    """Each object with its OBIS code, its code by structure, or its positional key.

    A telegram that names attributes may send several of one object (a register's value and its
    status): the value (attribute 2) keeps the object's key, the others are left out rather than
    shown as the object's value.
    """
    listed = list(objects)
    coded = {obj.obis for obj in listed if obj.obis is not None}
    keyed: dict[ObisCode, PushObject] = {}
    for index, obj in enumerate(listed, start=1):
        key = obj.obis
        if key is None:
            key = _code_by_structure(obj, coded) or positional_code(index, len(listed))
            if key is not None and position_of(key) is None:
                coded.add(key)  # the first such value takes the code; a second stays positional
        if key is None or obj.class_id == PROFILE_GENERIC_CLASS_ID:
            continue  # a profile is history (see pushed_history), not a value to show
        present = keyed.get(key)
        if present is not None and _is_value(present) and not _is_value(obj):
            continue
        keyed[key] = obj
    return list(keyed.items())


def _code_by_structure(obj: PushObject, coded: set[ObisCode]) -> ObisCode | None:
    """The meter clock or the meter number, for a bare value that can only be one of them."""
    value = obj.value
    if isinstance(value, CosemDateTime) and METER_CLOCK not in coded:
        return METER_CLOCK
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) in _METER_NUMBER_DIGITS
        and METER_NUMBER not in coded
    ):
        return METER_NUMBER
    return None


def _is_value(obj: PushObject) -> bool:
    """Whether the object is a value (attribute 2, or a layout that names no attributes)."""
    return obj.attribute is None or obj.attribute == VALUE_ATTRIBUTE
