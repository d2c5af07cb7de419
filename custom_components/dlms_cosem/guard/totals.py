"""A total as the guard follows it: its last accepted value, since when, and what bounds its rise."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from ..models import MeterReading
from .limits import COVER_GAP, FUTURE_CLOCK_SLACK, TIME_SLACK_SECONDS, max_rate_per_second
from .records import HeldReason

type Candidate = tuple[float, datetime, HeldReason]
"""A held reading of a total: its value, when the meter measured it, and why it was held."""


def number(value: object) -> float | None:
    """A reading's value as a float; ``None`` for text, dates, booleans and codes."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def quantum(reading: MeterReading) -> float:
    """The register's resolution: one step of its unscaled value (a register in whole kWh steps 1000 Wh)."""
    value, raw = number(reading.value), number(reading.raw)
    if value is None or raw is None or raw == 0 or not math.isfinite(value):
        return 0.0
    return abs(value / raw)


def measured_at(measured: datetime | None, now: datetime) -> datetime:
    """When a reading was measured: the meter's time for it when the meter gave one, else its arrival.

    The meter's own time is what its totals accrued over (a meter that pushes its energy once an hour
    stamps it with the hour; a poll reads the clock with the values). A time in the future (a damaged
    clock) is not believed.
    """
    if measured is None or measured > now + FUTURE_CLOCK_SLACK:
        return now
    return measured


def seconds_between(later: datetime, earlier: datetime) -> float:
    """The time a total had to rise in, with the slack of telegrams stamped on arrival."""
    return max((later - earlier).total_seconds(), 0.0) + TIME_SLACK_SECONDS


@dataclass(slots=True)
class TotalState:
    """A total's last accepted value, since when it stands, and the readings held against it."""

    value: float
    unit: str | None
    since: datetime
    """When the meter measured ``value`` (its time where it gave one)."""
    candidates: list[Candidate] = field(default_factory=list)
    peak_power: float = 0.0
    """The largest all-phase power (W, VA or var) reported since ``since``."""
    last_power: datetime | None = None
    """When that power was last reported (Home Assistant's time, as ``watch_start``)."""
    watch_start: datetime | None = None
    """When the watch on the power started (Home Assistant's time of the telegram that set ``value``)."""
    covered: bool = False
    """Whether power reports cover the whole time since ``since``, with no gap over :data:`COVER_GAP`."""
    stalled_since: datetime | None = None
    """When the readings started to stay below ``value`` (the meter's time)."""
    learned_rate: float = 0.0
    """A rise per second the meter kept up beyond the installation's default (a larger site)."""
    unbounded_by_power: bool = False
    """The meter confirmed a rise faster than its reported power: that power does not bound it."""

    def restart(self, value: float, moment: datetime, now: datetime, peak: float | None) -> None:
        """A new accepted value, measured at ``moment``: the watch on the power starts again from it."""
        self.value, self.since, self.candidates, self.stalled_since = value, moment, [], None
        self.peak_power = peak or 0.0
        self.watch_start = now
        self.last_power = now if peak is not None else None
        self.covered = peak is not None

    def watch_power(self, now: datetime, peak: float | None) -> None:
        """Take a telegram's power into the watch (``peak``: None when the telegram had none)."""
        if peak is None:
            return
        gap_start = self.last_power or self.watch_start
        if gap_start is None:
            return  # a baseline loaded from storage: the time since it was stored was not watched
        self.covered = (self.covered or self.last_power is None) and (now - gap_start) <= COVER_GAP
        self.peak_power = max(self.peak_power, peak)
        self.last_power = now

    def soft_bound_applies(self, now: datetime) -> bool:
        """The power reports watched the whole interval, up to now: they bound the rise."""
        return (
            not self.unbounded_by_power
            and self.covered
            and self.last_power is not None
            and (now - self.last_power) <= COVER_GAP
        )

    def max_rate(self, max_power_w: float) -> float | None:
        """The fastest this total can rise, per second (``None``: its unit bounds nothing)."""
        default = max_rate_per_second(self.unit, max_power_w)
        return None if default is None else max(default, self.learned_rate)

    def to_dict(self) -> dict[str, Any]:
        """As the entry's storage keeps it."""
        return {
            "value": self.value,
            "unit": self.unit,
            "since": self.since.isoformat(),
            "learned_rate": self.learned_rate,
            "unbounded_by_power": self.unbounded_by_power,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Self | None:
        """A stored total (``None`` when damaged: that baseline is lost, nothing else)."""
        try:
            value = float(stored["value"])
            since = datetime.fromisoformat(str(stored["since"]))
            learned = float(stored.get("learned_rate", 0.0))
        except KeyError, TypeError, ValueError:
            return None
        if not math.isfinite(value) or since.tzinfo is None or not math.isfinite(learned):
            return None
        unit = stored.get("unit")
        return cls(
            value,
            unit if isinstance(unit, str) else None,
            since,
            learned_rate=max(learned, 0.0),
            unbounded_by_power=stored.get("unbounded_by_power") is True,
        )
