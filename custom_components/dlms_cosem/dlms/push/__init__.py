"""COSEM objects from the notification body of a pushed telegram.

A push telegram carries the values of the push setup's object list, but meters lay them out in
different ways; :mod:`.layouts` recognises each by its structure and :func:`extract_objects` turns
the body into :class:`PushObject` values (OBIS code, value scaled by its scaler, unit).

Some meters leave scalers and units (or even OBIS codes) out; a list identifier string in the
telegram (``Kamstrup_V0001``, ``KFM_001``, ...) then fixes them, as published by the meter vendors
for the Norwegian HAN port (NVE). See :mod:`..list_identifiers`. Such meters send their identifier
only in their longer lists, so the profile found in one telegram may be passed on to the next ones
(``known_profile``), which then get their codes too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial

from ..axdr import Data, DataTag
from ..cosem_datetime import CosemDateTime
from ..list_identifiers import ListProfile, find_list_profile
from ..obis import ObisCode
from .layouts import PushLayout, recognise
from .values import PushObject, ScalarValue, date_time_from_data, plain_value, printable_text

__all__ = [
    "CLOCK",
    "PushContent",
    "PushLayout",
    "PushObject",
    "ScalarValue",
    "apply_list_profile",
    "date_time_from_data",
    "extract_objects",
    "plain_value",
    "printable_text",
]

CLOCK = ObisCode(0, 0, 1, 0, 0, 255)


@dataclass(frozen=True, slots=True)
class PushContent:
    """What a notification body holds."""

    layout: PushLayout
    objects: tuple[PushObject, ...]
    list_identifier: str | None = None
    list_profile: ListProfile | None = None

    def clock(self) -> CosemDateTime | None:
        """The meter's clock from the body: the clock object, else the first bare date-time."""
        for obj in self.objects:
            obis = obj.obis  # two group tests first: comparing whole codes builds tuples
            if obis is not None and obis.c == CLOCK.c and obis.d == CLOCK.d and obis == CLOCK:
                found = date_time_from_data(obj.data)
                if found is not None:
                    return found
        for obj in self.objects:
            if obj.obis is None:
                found = date_time_from_data(obj.data)
                if found is not None:
                    return found
        return None


def _elements(body: Data) -> tuple[Data, ...]:
    if body.tag in (DataTag.STRUCTURE, DataTag.ARRAY) and isinstance(body.value, tuple):
        return body.value
    return (body,)


def extract_objects(body: Data, known_profile: ListProfile | None = None) -> PushContent:
    """The objects of a notification body, in the order the meter sent them.

    ``known_profile`` is the list profile of an earlier telegram from the same meter; it applies
    when this telegram names none.
    """
    layout, objects = recognise(_elements(body))
    profile = find_list_profile(objects)
    identifier = profile.identifier if profile is not None else None
    profile = profile or known_profile
    if profile is not None:
        objects = apply_list_profile(profile, objects)
    return PushContent(layout, tuple(objects), identifier, profile)


def apply_list_profile(profile: ListProfile, objects: list[PushObject]) -> list[PushObject]:
    """Fill in OBIS codes, scalers and units the meter leaves out, as its list identifier fixes them.

    Each object that gains something is built once, with its code and its scaler_unit together.
    """
    codes: Sequence[ObisCode | None] | None = None
    if all(obj.obis is None for obj in objects):
        codes = profile.obis_for_positions(len(objects))
    if codes is None:
        codes = [obj.obis for obj in objects]
    ct_meter = cache(partial(profile.is_ct_meter, codes, objects))  # asked once, and only for currents
    fixed: list[PushObject] = []
    for obj, code in zip(objects, codes, strict=True):
        scaler_unit = obj.scaler_unit
        if code is not None and scaler_unit is None:
            scaler_unit = profile.scaler_unit_for(code, ct_meter=ct_meter)
        if code is obj.obis and scaler_unit is obj.scaler_unit:
            fixed.append(obj)
        else:
            fixed.append(PushObject(code, obj.data, scaler_unit, obj.class_id, obj.attribute, obj.captured))
    return fixed
