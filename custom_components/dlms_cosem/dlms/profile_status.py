"""The profile status a load profile captures beside its values (the AMR profile status, 0.x.96.10.x.255).

Shared by profiles read from a meter and profiles it pushes: a row the meter flags as unreliable is
no history.
"""

from __future__ import annotations

from enum import IntFlag

from .obis import ObisCode

DATA_CLASS_ID = 1
STATUS_C, STATUS_D = 96, 10


class ProfileStatus(IntFlag):
    """The IDIS/DSMR profile status byte."""

    CRITICAL_ERROR = 0x01
    CLOCK_INVALID = 0x02
    DATA_NOT_VALID = 0x04
    DAYLIGHT_SAVING = 0x08
    CLOCK_ADJUSTED = 0x20
    POWER_DOWN = 0x80


#: Status bits that make a row's values unusable as history.
UNTRUSTED = ProfileStatus.CRITICAL_ERROR | ProfileStatus.CLOCK_INVALID | ProfileStatus.DATA_NOT_VALID


def is_status_object(class_id: int, logical_name: ObisCode) -> bool:
    """Whether a capture object is the profile status (Data 0.x.96.10.x.255)."""
    return class_id == DATA_CLASS_ID and logical_name.c == STATUS_C and logical_name.d == STATUS_D


def trusted_status(value: object) -> bool:
    """Whether a status column's value flags nothing that makes the row unusable."""
    if isinstance(value, bool) or not isinstance(value, int):
        return True  # no status byte: nothing flagged
    return not ProfileStatus(value & 0xFF) & UNTRUSTED
