"""The guard between the stack and every entity and statistic: values that cannot be true are held back."""

from .plausibility import PlausibilityGuard
from .records import Dispute, DisputeKind, HeldReading, HeldReason

__all__ = ["Dispute", "DisputeKind", "HeldReading", "HeldReason", "PlausibilityGuard"]
