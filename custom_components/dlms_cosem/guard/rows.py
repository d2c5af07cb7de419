"""Which rows of a profile (pushed, or read back from the meter) can go to the hourly statistics.

A row is judged against the register it belongs to: walking from the newest row to the oldest, each
must be at or below the value after it (the register's accepted value, then the row kept after it),
and no further below than the installation can draw in the time between them. A row after the
register's accepted value (read in the same telegram) may be above it by that much at most. So a
damaged oldest row cannot pull the hours after it down, and a damaged newest row cannot push a spike
into the hour it ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime

from ..models import MeterReading
from .totals import number, quantum, seconds_between

type Anchor = tuple[float, datetime]
"""A value the rows must be consistent with, and when the meter measured it."""


def _fits(value: float, at: datetime, anchor: Anchor, rate: float | None, step: float) -> bool:
    anchored, when = anchor
    if at <= when:  # before the anchor: not above it, and not so far below that it rose too fast since
        low = -math.inf if rate is None else anchored - rate * seconds_between(when, at) - step
        return low <= value <= anchored + step
    high = math.inf if rate is None else anchored + rate * seconds_between(at, when) + step
    return anchored - step <= value <= high


def plausible_rows(
    rows: Iterable[MeterReading], anchor: Anchor | None, rate_of: Callable[[str | None], float | None]
) -> tuple[list[MeterReading], int]:
    """The rows (oldest first) that can be true, and how many were left out.

    ``anchor`` is the register's accepted value and its time (``None``: the newest row anchors);
    ``rate_of`` gives the fastest rise per second of a unit. Rows without a number or a time are left
    out without being counted.
    """
    timed = sorted(
        (row for row in rows if row.captured is not None and number(row.value) is not None),
        key=lambda row: row.captured or datetime.min,
    )
    kept: list[MeterReading] = []
    dropped = 0
    for row in reversed(timed):
        value = number(row.value)
        assert value is not None
        assert row.captured is not None
        if not math.isfinite(value):
            dropped += 1
            continue
        if anchor is not None and not _fits(value, row.captured, anchor, rate_of(row.unit), quantum(row)):
            dropped += 1
            continue
        kept.append(row)
        anchor = (value, row.captured)
    kept.reverse()
    return kept, dropped
