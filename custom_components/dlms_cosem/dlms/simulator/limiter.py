"""Limiter (class 71, Blue Book 4.5.9): the thresholds a meter holds a monitored value against.

The simulated limiter watches the active power import (attribute 2 of 1.0.1.7.0.255, in W) against
a normal threshold and an emergency one; the active threshold is the emergency one while an
emergency profile is active. Management may write the thresholds and the durations; the limiter
takes no action of its own in the simulation (attribute 11 names no scripts).
"""

from __future__ import annotations

from typing import Final

from ..apdu import DataAccessResult
from ..axdr import Data, DataTag
from ..obis import ObisCode
from .access import AccessFailureError, AttributeAccess, RequestContext
from .interface_classes import CosemObject

#: The limiter of the supply (OBIS 0.0.17.0.0.255).
LIMITER: Final = ObisCode(0, 0, 17, 0, 0, 255)

MONITORED_VALUE: Final = 2
THRESHOLD_ACTIVE: Final = 3
THRESHOLD_NORMAL: Final = 4
THRESHOLD_EMERGENCY: Final = 5
MIN_OVER_THRESHOLD_DURATION: Final = 6
MIN_UNDER_THRESHOLD_DURATION: Final = 7
EMERGENCY_PROFILE_ACTIVE: Final = 10

_RW = AttributeAccess.READ_AND_WRITE
_NO_SCRIPT: Final = Data.structure(Data.octet_string(bytes(6)), Data.long_unsigned(0))


class Limiter(CosemObject):
    """Limiter (class 71, version 0) on a register attribute whose values are double-long-unsigned."""

    class_id = 71
    attribute_count = 11

    def __init__(
        self,
        logical_name: ObisCode,
        monitored: tuple[int, ObisCode, int],
        *,
        normal: int,
        emergency: int,
        over_seconds: int = 60,
        under_seconds: int = 30,
        public: bool = True,
    ) -> None:
        writable = (
            THRESHOLD_NORMAL,
            THRESHOLD_EMERGENCY,
            MIN_OVER_THRESHOLD_DURATION,
            MIN_UNDER_THRESHOLD_DURATION,
        )
        super().__init__(logical_name, access=dict.fromkeys(writable, _RW), public=public)
        self.monitored = monitored
        self.normal = normal
        self.emergency = emergency
        self.over_seconds = over_seconds
        self.under_seconds = under_seconds
        self.emergency_active = False

    @property
    def active(self) -> int:
        """The threshold in force: the emergency one during an emergency profile."""
        return self.emergency if self.emergency_active else self.normal

    def _get(self, attribute: int, context: RequestContext) -> Data:
        class_id, name, index = self.monitored
        match attribute:
            case 2:
                return Data.structure(
                    Data.long_unsigned(class_id), Data.octet_string(name.to_bytes()), Data.integer(index)
                )
            case 3:
                return Data.double_long_unsigned(self.active)
            case 4:
                return Data.double_long_unsigned(self.normal)
            case 5:
                return Data.double_long_unsigned(self.emergency)
            case 6:
                return Data.double_long_unsigned(self.over_seconds)
            case 7:
                return Data.double_long_unsigned(self.under_seconds)
            case 8:
                return Data.structure(
                    Data.long_unsigned(0), Data.octet_string(b"\xff" * 12), Data.double_long_unsigned(0)
                )
            case 9:
                return Data.array()
            case 10:
                return Data.boolean(self.emergency_active)
            case 11:
                return Data.structure(_NO_SCRIPT, _NO_SCRIPT)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Write a threshold or a duration (double-long-unsigned)."""
        if attribute not in (4, 5, 6, 7):
            raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)
        if value.tag is not DataTag.DOUBLE_LONG_UNSIGNED or not isinstance(value.value, int):
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "a double-long-unsigned is due")
        match attribute:
            case 4:
                self.normal = value.value
            case 5:
                self.emergency = value.value
            case 6:
                self.over_seconds = value.value
            case _:
                self.under_seconds = value.value
