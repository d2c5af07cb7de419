"""The plausibility guard: no value reaches an entity or a statistic unless it can be true.

One wrong reading of an energy total puts a spike into the Energy panel's long-term statistics for good,
and a telegram can decode to wrong values that look right (an M-Bus checksum that two swapped bytes keep,
a bare APDU that nothing checks). So every reading passes here on its way from the coordinator to the
entities and the statistics:

- A **total** (energy, volume, an M-Bus meter reading) never goes backwards, and never rises faster than
  the installation can draw: the hard bound is :data:`.limits.DEFAULT_MAX_POWER_W` (or the flow limit),
  the soft bound the largest all-phase power the meter reported since the total last changed.
- An **instantaneous** value (voltage, current, frequency, power, power factor) stays in its physical
  range; every number is finite.
- A total is measured at the meter's time for it (a capture time, the telegram's clock, a poll's
  clock; a clock more than an hour ahead is not believed) and never before the value it follows: a
  later value stamped earlier (a damaged clock, a splice that kept the other telegram's clock) would
  land in the wrong hour of the statistics.
- A total the meter never sent before, while it sends others (a damaged logical name makes one up),
  waits for confirmation like any held value; a meter's first totals are believed at once.

A reading that breaks these is *held back*: the entity keeps the last accepted value, the statistics do
not see it, it is counted, and logged once per register. When the next readings confirm it
(:data:`CONFIRMATIONS` in a row, consistent with each other), the meter meant it:

- a soft break (a total that rose faster than the power suggested, an instantaneous value out of
  range) is accepted, and the range it broke widens for that register;
- a total that restarted from a low value (below 90 % of the last accepted one: a counter reset or a
  new meter), or rose faster than the installation can draw, is **disputed**: its entity becomes
  unavailable and a repair issue asks the user to accept the meter's new value. It is never shown as a
  negative or a giant step without that.
- a total that went back by less than that stays at its last accepted value until the meter passes it
  (the value it replaced was itself a plausible-looking error, or the meter was corrected a little):
  the statistics see no negative hour. Should it stay below for over :data:`STALL_LIMIT`, it is
  disputed too.

The guard keeps no clock: the coordinator hands it the time of each telegram or poll. Its baselines
(the last accepted total of each register and since when) persist with the entry, so a wrong value
right after a restart is caught too.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from ..const import LOGGER
from ..dlms.errors import DlmsError
from ..dlms.obis import ObisCode
from ..models import MeterReading
from .limits import (
    DEFAULT_MAX_POWER_W,
    ENERGY_POWER_UNITS,
    SOFT_FLOOR_W,
    SOFT_POWER_MARGIN,
    TIME_SLACK_SECONDS,
    instantaneous_range,
    is_all_phase_power,
    is_total,
    max_rate_per_second,
)

#: Readings in a row, consistent with each other, that confirm a held-back value.
CONFIRMATIONS: Final = 3
#: A total confirmed below this share of its last accepted value restarted (Home Assistant's own
#: threshold for a reset of a ``total_increasing`` sensor).
RESTART_SHARE: Final = 0.9
#: Held-back readings kept for the diagnostics.
HELD_KEPT: Final = 50
#: A confirmed out-of-range value widens its register's range to this multiple of its magnitude.
WIDEN_FACTOR: Final = 2.0
#: A total held below its accepted value for longer than this (the meter's time) did not just follow a
#: plausible-looking wrong value (the meter passes one of those within minutes): it restarted a little
#: below, or is another meter, and the user decides.
STALL_LIMIT: Final = timedelta(hours=1)
#: The longest gap between power reports for them to bound a total's rise (a poll every 5 minutes).
COVER_GAP: Final = timedelta(minutes=5)
#: A meter clock ahead of Home Assistant's by more than this is not believed (clocks drift and some
#: meters keep the wrong daylight saving time, hence the hour).
FUTURE_CLOCK_SLACK: Final = timedelta(hours=1, minutes=5)
#: Consecutive out-of-range readings confirm each other when each is within this factor of the last.
SIMILAR_FACTOR: Final = 2.0


class HeldReason(StrEnum):
    """Why a reading was held back."""

    NOT_FINITE = "not_finite"
    NEW_REGISTER = "new_register"
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


@dataclass(slots=True)
class _Total:
    """A total's last accepted value, since when it stands, and the readings held against it."""

    value: float
    unit: str | None
    since: datetime
    candidates: list[tuple[float, datetime, HeldReason]] = field(default_factory=list)
    peak_power: float = 0.0
    """The largest all-phase power (W, VA or var) reported since ``since``."""
    last_power: datetime | None = None
    """When that power was last reported (Home Assistant's time, as ``watch_start``)."""
    watch_start: datetime | None = None
    """When the watch on the power started (Home Assistant's time of the telegram that set ``value``)."""
    covered: bool = False
    stalled_since: datetime | None = None
    """When the readings started to stay below ``value`` (the meter's time)."""
    """Whether power reports cover the whole time since ``since``, with no gap over :data:`COVER_GAP`."""

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
        return self.covered and self.last_power is not None and (now - self.last_power) <= COVER_GAP


@dataclass(slots=True)
class _Instant:
    """An instantaneous register's widened range and the out-of-range readings held in a row."""

    widened: float = 0.0  # a magnitude confirmed by the meter; the range includes +-this
    candidates: list[float] = field(default_factory=list)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _quantum(reading: MeterReading) -> float:
    """The register's resolution: one step of its unscaled value (a register in whole kWh steps 1000 Wh)."""
    value, raw = _number(reading.value), _number(reading.raw)
    if value is None or raw is None or raw == 0 or not math.isfinite(value):
        return 0.0
    return abs(value / raw)


class PlausibilityGuard:
    """Screens readings before entities and statistics see them (see the module's docstring)."""

    def __init__(
        self,
        baselines: Mapping[str, Any] | None = None,
        *,
        enabled: bool = True,
        max_power_w: float = DEFAULT_MAX_POWER_W,
        meter: str = "the meter",
    ) -> None:
        self.enabled = enabled
        self.max_power_w = max_power_w
        self._meter = meter
        self._totals: dict[ObisCode, _Total] = {}
        self._instants: dict[ObisCode, _Instant] = {}
        self._logged: set[tuple[ObisCode, HeldReason]] = set()
        # Totals whose fast rise the meter confirmed: the sampled power does not bound them (per-phase
        # powers only, a register of another kind), so only the installation's bound applies.
        self._unbounded_by_power: set[ObisCode] = set()
        self._new_totals: dict[ObisCode, list[float]] = {}  # totals not seen before, until confirmed
        self._knew_totals = False  # whether any total was known before the telegram being screened
        self.meter_identity: str | None = None
        """The meter the baselines belong to (its serial number or system title), when it says."""
        self._identity_candidates: list[str] = []
        self._replaced: set[ObisCode] = set()  # totals whose next reading is another meter's
        self.disputes: dict[ObisCode, Dispute] = {}
        self.held: deque[HeldReading] = deque(maxlen=HELD_KEPT)
        self.held_counts: Counter[HeldReason] = Counter()
        self.confirmed = 0
        """Held-back readings the meter confirmed and that were then accepted."""
        self.history_rows_dropped = 0
        """Rows of a pushed or read profile left out of the statistics."""
        self._load(baselines or {})

    # --- persistence ------------------------------------------------------------------------------

    def _load(self, baselines: Mapping[str, Any]) -> None:
        for text, stored in baselines.get("totals", {}).items():
            try:
                key = ObisCode.parse(text)
                since = datetime.fromisoformat(str(stored["since"]))
                value = float(stored["value"])
            except KeyError, TypeError, ValueError, DlmsError:
                continue  # a damaged store loses that baseline, nothing else
            if math.isfinite(value) and since.tzinfo is not None:
                self._totals[key] = _Total(value, stored.get("unit"), since)
        identity = baselines.get("meter")
        self.meter_identity = identity if isinstance(identity, str) else None
        max_power = _number(baselines.get("max_power_w"))
        if max_power is not None and math.isfinite(max_power) and max_power > self.max_power_w:
            self.max_power_w = max_power

    def baselines(self) -> dict[str, Any]:
        """What to persist: each total's last accepted value, and a maximum power the meter showed."""
        return {
            "totals": {
                str(key): {"value": total.value, "unit": total.unit, "since": total.since.isoformat()}
                for key, total in self._totals.items()
            },
            "max_power_w": self.max_power_w,
            "meter": self.meter_identity,
        }

    # --- screening ----------------------------------------------------------------------------------

    def observe_meter(self, identity: str | None, *, checked: bool = False) -> None:
        """The meter's identity as a telegram or a poll gave it (its system title or serial number).

        A new identity, the same in :data:`CONFIRMATIONS` telegrams in a row (one damaged serial
        number is no new meter) or once when ``checked`` (read over a link that checks every frame,
        at a poll's setup), means the meter was replaced: each total's next reading is another
        meter's and is disputed (the user accepts it in a repair) whatever its value.
        """
        if not self.enabled or identity is None or identity == self.meter_identity:
            self._identity_candidates.clear()
            return
        if self.meter_identity is None or not self._totals:
            self.meter_identity = identity
            return
        if self._identity_candidates and self._identity_candidates[-1] != identity:
            self._identity_candidates.clear()
        self._identity_candidates.append(identity)
        if len(self._identity_candidates) < CONFIRMATIONS and not checked:
            return
        LOGGER.warning(
            "%s reports another meter's identity: its totals wait for the user's word", self._meter
        )
        self.meter_identity = identity
        self._identity_candidates.clear()
        self._replaced = set(self._totals)

    @property
    def held_total(self) -> int:
        """How many readings were held back since the entry loaded."""
        return sum(self.held_counts.values())

    def screen(
        self, readings: Mapping[ObisCode, MeterReading], now: datetime, measured: datetime | None = None
    ) -> dict[ObisCode, MeterReading]:
        """The readings of one telegram or poll that may be shown; the others are held back.

        ``now`` is Home Assistant's time; ``measured`` the meter's, when it sent its clock with the
        values (a reading's own capture time comes first).
        """
        if not self.enabled:
            return dict(readings)
        passed: dict[ObisCode, MeterReading] = {}
        self._knew_totals = bool(self._totals)  # before this telegram: its own totals are no news
        totals: list[tuple[ObisCode, MeterReading, float]] = []
        peaks: dict[str, float] = {}
        for key, reading in readings.items():
            number = _number(reading.value)
            if number is None:
                passed[key] = reading  # text, dates, codes: nothing to hold them to
                continue
            if not math.isfinite(number):
                self._hold(key, number, reading.unit, HeldReason.NOT_FINITE, now, None)
                continue
            if is_total(key):
                totals.append((key, reading, number))
                continue
            if self._instant_plausible(key, number, reading.unit, now):
                passed[key] = reading
                if is_all_phase_power(key, reading.unit) and reading.unit is not None:
                    peaks[reading.unit] = max(peaks.get(reading.unit, 0.0), abs(number))
        for total in self._totals.values():
            total.watch_power(now, self._peak(total.unit, peaks))
        for key, reading, number in totals:
            moment = _moment(reading.captured or measured, now)
            if self._total_plausible(key, reading, number, (moment, now), peaks):
                passed[key] = reading
        return passed

    def screen_history(
        self, history: Mapping[ObisCode, tuple[MeterReading, ...]]
    ) -> dict[ObisCode, tuple[MeterReading, ...]]:
        """Rows of pushed profiles that may go to the statistics (see :meth:`plausible_rows`)."""
        if not self.enabled:
            return dict(history)
        screened: dict[ObisCode, tuple[MeterReading, ...]] = {}
        for key, rows in history.items():
            kept = self.plausible_rows(key, rows)
            if kept:
                screened[key] = kept
        return screened

    def plausible_rows(self, key: ObisCode, rows: Iterable[MeterReading]) -> tuple[MeterReading, ...]:
        """A profile column's rows (oldest first) that can be true, for the hourly statistics.

        A row is kept when it is a finite number, not below the row kept before it, not above the
        register's last accepted value, and not rising faster than the installation can draw. A
        disputed register gives no rows until the user decides.
        """
        if not self.enabled:
            return tuple(rows)
        if key in self.disputes:
            dropped = list(rows)
            self.history_rows_dropped += len(dropped)
            return ()
        total = self._totals.get(key)
        kept: list[MeterReading] = []
        for row in rows:
            number = _number(row.value)
            if number is None or row.captured is None:
                continue
            if not self._row_fits(key, row, number, kept, total):
                self.history_rows_dropped += 1
                if (key, HeldReason.DISPUTED) not in self._logged:
                    LOGGER.info("A profile row of %s of %s was left out of the statistics", key, self._meter)
                    self._logged.add((key, HeldReason.DISPUTED))
                continue
            kept.append(row)
        return tuple(kept)

    def _row_fits(
        self, key: ObisCode, row: MeterReading, number: float, kept: list[MeterReading], total: _Total | None
    ) -> bool:
        if not math.isfinite(number):
            return False
        quantum = _quantum(row)
        if total is not None and total.unit == row.unit and number > total.value + quantum:
            return False  # a profile row cannot be ahead of the register itself
        if not kept:
            return True
        previous = kept[-1]
        before = _number(previous.value)
        assert before is not None
        assert previous.captured is not None
        assert row.captured is not None
        if number < before:
            return False
        rate = max_rate_per_second(row.unit, self.max_power_w)
        if rate is None:
            return True
        seconds = abs((row.captured - previous.captured).total_seconds()) + TIME_SLACK_SECONDS
        return number - before <= rate * seconds + quantum

    # --- instantaneous values -----------------------------------------------------------------------

    def _instant_plausible(self, key: ObisCode, number: float, unit: str | None, now: datetime) -> bool:
        bounds = instantaneous_range(key, unit, self.max_power_w)
        if bounds is None:
            return True
        state = self._instants.setdefault(key, _Instant())
        low, high = bounds
        if state.widened:
            low, high = min(low, -state.widened), max(high, state.widened)
        if low <= number <= high:
            state.candidates.clear()
            return True
        previous = state.candidates[-1] if state.candidates else None
        if previous is None or not _similar(previous, number):
            state.candidates = [number]
        else:
            state.candidates.append(number)
        if len(state.candidates) < CONFIRMATIONS:
            self._hold(key, number, unit, HeldReason.OUT_OF_RANGE, now, None)
            return False
        # The meter keeps saying it: a larger installation than the defaults assume.
        state.widened = max(abs(value) for value in state.candidates) * WIDEN_FACTOR
        state.candidates.clear()
        if unit is not None and unit in ("W", "VA", "var"):
            self.max_power_w = max(self.max_power_w, state.widened)
        self.confirmed += 1
        LOGGER.info(
            "%s of %s confirmed a value out of the usual range: %s %s", key, self._meter, number, unit
        )
        return True

    # --- totals ---------------------------------------------------------------------------------------

    def _peaks_for(self, unit: str | None, peaks: Mapping[str, float]) -> list[float]:
        return [peaks[power] for power in ENERGY_POWER_UNITS.get(unit or "", ()) if power in peaks]

    def _total_plausible(
        self,
        key: ObisCode,
        reading: MeterReading,
        number: float,
        times: tuple[datetime, datetime],
        peaks: Mapping[str, float],
    ) -> bool:
        """Whether a total may be shown; ``times`` is when it was measured and Home Assistant's now."""
        total = self._totals.get(key)
        moment, now = times
        if total is None and self._knew_totals and not self._confirm_new(key, reading, number, moment):
            return False
        if total is not None and key in self._replaced:
            self._replaced.discard(key)
            self.disputes[key] = Dispute(
                key, DisputeKind.REPLACED, total.value, number, reading.unit, now, moment
            )
            self._hold(key, number, reading.unit, HeldReason.DISPUTED, now, total.value)
            return False
        if total is None or total.unit != reading.unit:
            # Nothing to compare with (a new register, or the meter changed its unit: a new baseline).
            total = self._totals[key] = _Total(number, reading.unit, moment)
            total.restart(number, moment, now, self._peak(reading.unit, peaks))
            return True
        verdict = self._compare(
            total, number, _quantum(reading), (moment, now), soft=key not in self._unbounded_by_power
        )
        if key in self.disputes and self.disputes[key].kind is DisputeKind.REPLACED:
            verdict = HeldReason.DISPUTED  # another meter's total: only the user's word ends it
        if verdict is None:
            dispute = self.disputes.pop(key, None)
            if dispute is not None:
                LOGGER.info("%s of %s is back in line with its last accepted value", key, self._meter)
            if number != total.value:
                total.restart(number, moment, now, self._peak(reading.unit, peaks))
            total.candidates.clear()
            return True
        if key in self.disputes:
            self.disputes[key] = replace(self.disputes[key], latest=number, measured=moment)
            self._hold(key, number, reading.unit, HeldReason.DISPUTED, now, total.value)
            return False
        if not self._extends_candidates(total, number, _quantum(reading), moment):
            total.candidates = []
        total.candidates.append((number, moment, verdict))
        if len(total.candidates) < CONFIRMATIONS:
            self._hold(key, number, reading.unit, verdict, now, total.value)
            return False
        return self._confirmed(
            key, total=total, reading=reading, number=number, moment=moment, now=now, peaks=peaks
        )

    def _confirm_new(self, key: ObisCode, reading: MeterReading, number: float, moment: datetime) -> bool:
        """Whether a total the meter never sent before, while it sends others, may be shown.

        A damaged logical name makes one up. It is shown once it came :data:`CONFIRMATIONS` times in a
        row, not going backwards. A meter's first telegrams (no total known yet) are believed at once.
        """
        candidates = self._new_totals.setdefault(key, [])
        if candidates and number < candidates[-1]:
            candidates.clear()
        candidates.append(number)
        if len(candidates) >= CONFIRMATIONS:
            del self._new_totals[key]
            return True
        self._hold(key, number, reading.unit, HeldReason.NEW_REGISTER, moment, None)
        return False

    def _peak(self, unit: str | None, peaks: Mapping[str, float]) -> float | None:
        """The telegram's largest all-phase power that bounds a total in ``unit`` (None: none sent)."""
        found = self._peaks_for(unit, peaks)
        return max(found) if found else None

    def _compare(
        self, total: _Total, number: float, quantum: float, times: tuple[datetime, datetime], *, soft: bool
    ) -> HeldReason | None:
        """Why ``number`` cannot follow the total's accepted value (None: it can).

        ``times`` is when it was measured and Home Assistant's now; ``soft``: whether the power the
        meter reported bounds it too.
        """
        moment, now = times
        if number < total.value:
            return HeldReason.WENT_BACKWARDS
        if number != total.value and moment < total.since - timedelta(seconds=TIME_SLACK_SECONDS):
            # A new value measured before the accepted one: a damaged clock, or another telegram's.
            return HeldReason.CLOCK_WENT_BACK
        rate = max_rate_per_second(total.unit, self.max_power_w)
        if rate is None:
            return None
        seconds = max((moment - total.since).total_seconds(), 0.0) + TIME_SLACK_SECONDS
        rise = number - total.value
        if rise > rate * seconds + quantum:
            return HeldReason.BEYOND_INSTALLATION
        if soft and total.unit in ENERGY_POWER_UNITS and total.soft_bound_applies(now):
            soft_rate = max(total.peak_power * SOFT_POWER_MARGIN, SOFT_FLOOR_W) / 3600.0
            if rise > soft_rate * seconds + quantum:
                return HeldReason.ROSE_TOO_FAST
        return None

    def _extends_candidates(self, total: _Total, number: float, quantum: float, moment: datetime) -> bool:
        """Whether ``number`` follows the readings held so far (they then confirm each other)."""
        if not total.candidates:
            return True
        last, at, _ = total.candidates[-1]
        if number < last:
            return False
        rate = max_rate_per_second(total.unit, self.max_power_w)
        if rate is None:
            return True
        seconds = max((moment - at).total_seconds(), 0.0) + TIME_SLACK_SECONDS
        return number - last <= rate * seconds + quantum

    def _confirmed(
        self,
        key: ObisCode,
        *,
        total: _Total,
        reading: MeterReading,
        number: float,
        moment: datetime,
        now: datetime,
        peaks: Mapping[str, float],
    ) -> bool:
        """The meter confirmed a held value: accept it, keep waiting, or ask the user."""
        reasons = {reason for _, _, reason in total.candidates}
        restarted = number < total.value * RESTART_SHARE
        if reasons <= {HeldReason.ROSE_TOO_FAST, HeldReason.CLOCK_WENT_BACK}:
            total.restart(number, moment, now, self._peak(reading.unit, peaks))
            if HeldReason.ROSE_TOO_FAST in reasons:
                self._unbounded_by_power.add(key)
            self.confirmed += 1
            LOGGER.info("%s of %s confirmed a fast rise to %s %s", key, self._meter, number, reading.unit)
            return True
        stalled = total.stalled_since or total.candidates[0][1]
        total.stalled_since = stalled
        if HeldReason.WENT_BACKWARDS in reasons and not restarted and moment - stalled < STALL_LIMIT:
            # A little below the accepted value: wait until the meter passes it (no negative hour).
            total.candidates = total.candidates[-(CONFIRMATIONS - 1) :]
            self._hold(key, number, reading.unit, HeldReason.WENT_BACKWARDS, now, total.value)
            return False
        restarted = restarted or HeldReason.WENT_BACKWARDS in reasons
        kind = DisputeKind.RESTARTED if restarted else DisputeKind.JUMPED
        self.disputes[key] = Dispute(key, kind, total.value, number, reading.unit, now, moment)
        total.candidates = []
        LOGGER.warning(
            "%s of %s %s: %s %s after %s %s; it stays unavailable until the new value is accepted (a repair)",
            key,
            self._meter,
            "restarted from a low value" if restarted else "rose faster than the installation can draw",
            number,
            reading.unit,
            total.value,
            reading.unit,
        )
        self._hold(key, number, reading.unit, HeldReason.DISPUTED, now, total.value)
        return False

    def accept_disputes(self, now: datetime) -> list[ObisCode]:
        """The user accepted the meter's new values: they become the baselines and are shown again."""
        accepted = list(self.disputes)
        for key, dispute in self.disputes.items():
            total = self._totals[key] = _Total(dispute.latest, dispute.unit, dispute.measured)
            total.restart(dispute.latest, dispute.measured, now, None)
        self.disputes.clear()
        return accepted

    def _hold(  # noqa: PLR0917 - one held reading's fields, in the order HeldReading has them
        self,
        key: ObisCode,
        number: float,
        unit: str | None,
        reason: HeldReason,
        now: datetime,
        last_accepted: float | None,
    ) -> None:
        self.held_counts[reason] += 1
        self.held.append(HeldReading(key, number, unit, reason, now, last_accepted))
        if (key, reason) in self._logged:
            LOGGER.debug("Held back %s of %s again: %s %s (%s)", key, self._meter, number, unit, reason)
            return
        self._logged.add((key, reason))
        LOGGER.warning(
            "Held back %s of %s: %s %s is not plausible (%s; last accepted %s); "
            "it is shown only if the next readings confirm it",
            key,
            self._meter,
            number,
            unit,
            reason.replace("_", " "),
            last_accepted,
        )


def _moment(measured: datetime | None, now: datetime) -> datetime:
    """When a reading was measured: the meter's time for it when the meter gave one, else its arrival.

    The meter's own time is what its totals accrued over (a meter that pushes its energy once an hour
    stamps it with the hour; a poll reads the clock with the values). A time in the future (a damaged
    clock) is not believed.
    """
    if measured is None or measured > now + FUTURE_CLOCK_SLACK:
        return now
    return measured


def _similar(previous: float, number: float) -> bool:
    """Out-of-range readings that confirm each other: same sign, within a factor of each other."""
    if previous == 0 or number == 0 or (previous > 0) != (number > 0):
        return False
    ratio = abs(number / previous)
    return 1 / SIMILAR_FACTOR <= ratio <= SIMILAR_FACTOR
