"""What the plausibility guard reports: held-back readings and the totals it asks the user about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from ..dlms.obis import ObisCode


class HeldReason(StrEnum):
    """Why a reading was held back."""

    NOT_FINITE = "not_finite"
    NEW_REGISTER = "new_register"
    UNIT_CHANGED = "unit_changed"
    CLOCK_WENT_BACK = "clock_went_back"
    WENT_BACKWARDS = "went_backwards"
    ROSE_TOO_FAST = "rose_too_fast"
    BEYOND_INSTALLATION = "beyond_installation"
    OUT_OF_RANGE = "out_of_range"
    DISPUTED = "disputed"


class DisputeKind(StrEnum):
    """What a disputed total did."""

    RESTARTED = "restarted"
    JUMPED = "jumped"
    REPLACED = "replaced"
    """The meter's identity changed (a new serial number or system title): another meter's totals."""


@dataclass(frozen=True, slots=True)
class HeldReading:
    """A reading that was not shown, for the diagnostics."""

    key: ObisCode
    value: float
    unit: str | None
    reason: HeldReason
    at: datetime
    last_accepted: float | None


@dataclass(frozen=True, slots=True)
class Dispute:
    """A total whose confirmed new value needs the user's word before it is shown."""

    key: ObisCode
    kind: DisputeKind
    last_accepted: float
    latest: float
    unit: str | None
    since: datetime
    measured: datetime
    """When the meter measured ``latest`` (its time): the baseline's time once the user accepts it."""

    def to_dict(self) -> dict[str, Any]:
        """As the entry's storage keeps it (a dispute outlives a reload: its repair issue does)."""
        return {
            "key": str(self.key),
            "kind": self.kind.value,
            "last_accepted": self.last_accepted,
            "latest": self.latest,
            "unit": self.unit,
            "since": self.since.isoformat(),
            "measured": self.measured.isoformat(),
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Self:
        """A stored dispute; ValueError, KeyError, TypeError or DlmsError when it is damaged."""
        unit = stored.get("unit")
        return cls(
            ObisCode.parse(str(stored["key"])),
            DisputeKind(stored["kind"]),
            float(stored["last_accepted"]),
            float(stored["latest"]),
            unit if isinstance(unit, str) else None,
            datetime.fromisoformat(str(stored["since"])),
            datetime.fromisoformat(str(stored["measured"])),
        )
