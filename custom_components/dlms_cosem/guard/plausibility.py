"""The plausibility guard: no value reaches an entity or a statistic unless it can be true.

One wrong reading of an energy total puts a spike into the Energy panel's long-term statistics for good,
and a telegram can decode to wrong values that look right (an M-Bus checksum that two swapped bytes keep,
a bare APDU that nothing checks). So every reading passes here on its way from the coordinator to the
entities and the statistics:

- A **total** (energy, volume, an M-Bus meter reading) never goes backwards, and never rises faster than
  the installation can draw: the hard bound is :data:`.limits.DEFAULT_MAX_POWER_W` (or the flow limit),
  the soft bound the largest all-phase power the meter reported since the total last changed.
- A total is measured at the meter's time for it (a capture time, the telegram's clock, a poll's
  clock; a clock more than :data:`.limits.FUTURE_CLOCK_SLACK` ahead is not believed, and its capture
  time is dropped so it reaches no hour) and never before the value it follows: a later value stamped
  earlier (a damaged clock, a splice that kept the other telegram's clock) would land in the wrong hour.
- A total the meter never sent before, while it sends others (a damaged logical name makes one up),
  or in another unit than before (a damaged unit byte), waits for confirmation like any held value;
  a meter's first totals are believed at once.
- An **instantaneous** value (voltage, current, frequency, power, power factor) stays in its physical
  range; every number is finite.

A reading that breaks these is *held back*: the entity keeps the last accepted value, the statistics do
not see it, it is counted, and logged once per register. When the next readings confirm it
(:data:`CONFIRMATIONS` in a row, consistent with each other), the meter meant it:

- a soft break (a total that rose faster than the power suggested, or at a rate it keeps up beyond the
  installation's default: a larger site; an instantaneous value out of range) is accepted, and the
  bound it broke widens for that register;
- a total that restarted from a low value (below 90 % of the last accepted one: a counter reset or a
  new meter), jumped by more than the installation can draw and then went on at a household's pace,
  or belongs to a replaced meter (a new identity), is **disputed**: its entity becomes unavailable and
  a repair issue asks the user to accept the meter's new value. It is never shown as a negative or a
  giant step without that (and an accepted jump is taken out of the statistics: ``statistics_step``).
- a total that went back by less than that stays at its last accepted value until the meter passes it
  (the value it replaced was itself a plausible-looking error, or the meter was corrected a little):
  the statistics see no negative hour. Should it stay below for over :data:`STALL_LIMIT`, it is
  disputed too.

The guard keeps no clock: the coordinator hands it the time of each telegram or poll. Its baselines
(each total's last accepted value, what the meter confirmed, open disputes) persist with the entry, so
a wrong value right after a restart is caught too, and a repair issue still works after a reload.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from ..const import LOGGER
from ..dlms.errors import DlmsError
from ..dlms.obis import ObisCode
from ..models import MeterReading
from .limits import (
    DEFAULT_MAX_POWER_W,
    ENERGY_POWER_UNITS,
    FUTURE_CLOCK_SLACK,
    POWER_UNITS,
    SECONDS_PER_HOUR,
    SOFT_FLOOR_W,
    SOFT_POWER_MARGIN,
    TIME_SLACK_SECONDS,
    instantaneous_range,
    is_all_phase_power,
    is_total,
    max_rate_per_second,
)
from .records import Dispute, DisputeKind, HeldReading, HeldReason
from .rows import plausible_rows
from .totals import TotalState, measured_at, number, quantum, seconds_between

#: Readings in a row, consistent with each other, that confirm a held-back value.
CONFIRMATIONS: Final = 3
#: A total confirmed below this share of its last accepted value restarted (Home Assistant's own
#: threshold for a reset of a ``total_increasing`` sensor).
RESTART_SHARE: Final = 0.9
#: A total held a little below its accepted value for longer than this (the meter's time) did not just
#: follow a plausible-looking wrong value (the meter passes one of those within minutes): it restarted
#: a little below, or is another meter, and the user decides.
STALL_LIMIT: Final = timedelta(hours=1)
#: Held-back readings kept for the diagnostics.
HELD_KEPT: Final = 50
#: A confirmed out-of-range value widens its register's range to this multiple of its magnitude; a
#: confirmed sustained rise beyond the installation's bound raises that total's bound the same way.
WIDEN_FACTOR: Final = 2.0
#: Consecutive out-of-range readings confirm each other when each is within this factor of the last;
#: a jump's first step is a sustained rate when it is within this factor of the rate that followed.
SIMILAR_FACTOR: Final = 2.0
#: Bounds on what the guard remembers of registers it does not show (damaged logical names).
MAX_PENDING: Final = 64
MAX_INSTANTS: Final = 256
MAX_LOGGED: Final = 512


@dataclass(slots=True)
class _Instant:
    """An instantaneous register's widened range and the out-of-range readings held in a row."""

    widened: float = 0.0  # a magnitude confirmed by the meter; the range includes +-this
    candidates: list[float] = field(default_factory=list)


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
        self._totals: dict[ObisCode, TotalState] = {}
        self._instants: dict[ObisCode, _Instant] = {}
        self._logged: set[tuple[ObisCode, HeldReason]] = set()
        # Totals not seen before (or in a new unit), until confirmed: their readings in a row.
        self._pending: dict[ObisCode, list[tuple[float, str | None]]] = {}
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
        if enabled:
            self._load(baselines or {})

    # --- persistence ------------------------------------------------------------------------------

    def _load(self, baselines: Mapping[str, Any]) -> None:
        for text, stored in _mapping(baselines.get("totals")).items():
            key = _obis(text)
            total = TotalState.from_dict(stored) if key is not None and isinstance(stored, dict) else None
            if key is not None and total is not None:
                self._totals[key] = total
        for text, widened in _mapping(baselines.get("ranges")).items():
            key, magnitude = _obis(text), number(widened)
            if key is not None and magnitude is not None and math.isfinite(magnitude) and magnitude > 0:
                self._instants[key] = _Instant(widened=magnitude)
        for stored in baselines.get("disputes", ()) if isinstance(baselines.get("disputes"), list) else ():
            try:
                dispute = Dispute.from_dict(stored)
            except KeyError, TypeError, ValueError, DlmsError:
                continue
            if dispute.key in self._totals:
                self.disputes[dispute.key] = dispute
        identity = baselines.get("meter")
        self.meter_identity = identity if isinstance(identity, str) else None
        max_power = number(baselines.get("max_power_w"))
        if max_power is not None and math.isfinite(max_power) and max_power > self.max_power_w:
            self.max_power_w = max_power

    def baselines(self) -> dict[str, Any]:
        """What to persist: each total's last accepted value, what the meter confirmed, open disputes."""
        return {
            "totals": {str(key): total.to_dict() for key, total in self._totals.items()},
            "ranges": {str(key): state.widened for key, state in self._instants.items() if state.widened},
            "disputes": [dispute.to_dict() for dispute in self.disputes.values()],
            "max_power_w": self.max_power_w,
            "meter": self.meter_identity,
        }

    # --- the meter's identity -------------------------------------------------------------------------

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

    # --- screening ----------------------------------------------------------------------------------

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
            value = number(reading.value)
            if value is None:
                passed[key] = reading  # text, dates, codes: nothing to hold them to
            elif not math.isfinite(value):
                self._hold(key, value, reading.unit, HeldReason.NOT_FINITE, now, None)
            elif is_total(key):
                totals.append((key, reading, value))
            elif self._instant_plausible(key, value, reading.unit, now):
                passed[key] = reading
                if is_all_phase_power(key, reading.unit) and reading.unit is not None:
                    peaks[reading.unit] = max(peaks.get(reading.unit, 0.0), abs(value))
        for total in self._totals.values():
            total.watch_power(now, _peak(total.unit, peaks))
        for key, arrived, value in totals:
            reading = arrived
            if reading.captured is not None and reading.captured > now + FUTURE_CLOCK_SLACK:
                reading = replace(reading, captured=None)  # a clock ahead: its time is not believed
            moment = measured_at(reading.captured or measured, now)
            if self._total_plausible(key, reading, value, (moment, now), peaks):
                passed[key] = reading
        if totals:
            # Readings in a row: a new register missing from a telegram with totals starts again.
            for key in [key for key in self._pending if key not in readings]:
                del self._pending[key]
        self._forget_the_unshown()
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

        See :mod:`.rows`; the register's accepted value anchors them. A disputed register gives no
        rows until the user decides.
        """
        if not self.enabled:
            return tuple(rows)
        listed = list(rows)
        if key in self.disputes:
            self.history_rows_dropped += len(listed)
            return ()
        total = self._totals.get(key)
        anchor = None
        if total is not None and all(row.unit == total.unit for row in listed):
            anchor = (total.value, total.since)
        kept, dropped = plausible_rows(listed, anchor, self._rate_of(total))
        if dropped:
            self.history_rows_dropped += dropped
            self._log_once(
                key, HeldReason.DISPUTED, "Rows of the profile of %s of %s were left out of the statistics"
            )
        return tuple(kept)

    def _rate_of(self, total: TotalState | None) -> Callable[[str | None], float | None]:
        def rate_of(unit: str | None) -> float | None:
            if total is not None and total.unit == unit:
                return total.max_rate(self.max_power_w)
            return max_rate_per_second(unit, self.max_power_w)

        return rate_of

    # --- instantaneous values -----------------------------------------------------------------------

    def _instant_plausible(self, key: ObisCode, value: float, unit: str | None, now: datetime) -> bool:
        bounds = instantaneous_range(key, unit, self.max_power_w)
        if bounds is None:
            return True
        low, high = bounds
        state = self._instants.get(key)
        if state is not None and state.widened:
            low, high = min(low, -state.widened), max(high, state.widened)
        if low <= value <= high:
            if state is not None:
                state.candidates.clear()
            return True
        state = self._instants.setdefault(key, _Instant())
        previous = state.candidates[-1] if state.candidates else None
        if previous is None or not _similar(previous, value):
            state.candidates = [value]
        else:
            state.candidates.append(value)
        if len(state.candidates) < CONFIRMATIONS:
            self._hold(key, value, unit, HeldReason.OUT_OF_RANGE, now, None)
            return False
        # The meter keeps saying it: a larger installation than the defaults assume.
        state.widened = max(abs(candidate) for candidate in state.candidates) * WIDEN_FACTOR
        state.candidates.clear()
        if unit in POWER_UNITS:
            self.max_power_w = max(self.max_power_w, state.widened)
        self.confirmed += 1
        LOGGER.info("%s of %s confirmed a value out of the usual range: %s %s", key, self._meter, value, unit)
        return True

    # --- totals ---------------------------------------------------------------------------------------

    def _total_plausible(
        self,
        key: ObisCode,
        reading: MeterReading,
        value: float,
        times: tuple[datetime, datetime],
        peaks: Mapping[str, float],
    ) -> bool:
        """Whether a total may be shown; ``times`` is when it was measured and Home Assistant's now."""
        total = self._totals.get(key)
        moment, now = times
        if total is not None and key in self._replaced:
            self._replaced.discard(key)
            self.disputes[key] = Dispute(
                key, DisputeKind.REPLACED, total.value, value, reading.unit, now, moment
            )
            self._hold(key, value, reading.unit, HeldReason.DISPUTED, now, total.value)
            return False
        if total is None or total.unit != reading.unit:
            # A register the meter did not send before (or in another unit): a damaged name or unit
            # byte makes one up, so it waits for confirmation unless these are the meter's first totals.
            changed = total is not None
            if (changed or self._knew_totals) and not self._confirm_new(
                key, reading, value, now, changed=changed
            ):
                return False
            total = self._totals[key] = TotalState(value, reading.unit, moment)
            total.restart(value, moment, now, _peak(reading.unit, peaks))
            self.disputes.pop(key, None)
            return True
        self._pending.pop(key, None)
        verdict = self._compare(total, value, quantum(reading), (moment, now))
        dispute = self.disputes.get(key)
        if dispute is not None and dispute.kind is DisputeKind.REPLACED:
            verdict = HeldReason.DISPUTED  # another meter's total: only the user's word ends it
        if verdict is None:
            if self.disputes.pop(key, None) is not None:
                LOGGER.info("%s of %s is back in line with its last accepted value", key, self._meter)
            if value != total.value:
                total.restart(value, moment, now, _peak(reading.unit, peaks))
            total.candidates.clear()
            return True
        if dispute is not None:
            self.disputes[key] = replace(dispute, latest=value, measured=moment)
            self._hold(key, value, reading.unit, HeldReason.DISPUTED, now, total.value)
            return False
        if total.candidates and value < total.candidates[-1][0]:
            total.candidates = []  # the held readings confirm each other only while they go on
        total.candidates.append((value, moment, verdict))
        if len(total.candidates) < CONFIRMATIONS:
            self._hold(key, value, reading.unit, verdict, now, total.value)
            return False
        return self._confirmed(key, total, reading, (moment, now), peaks)

    def _confirm_new(
        self, key: ObisCode, reading: MeterReading, value: float, now: datetime, *, changed: bool
    ) -> bool:
        """Whether a total the meter did not send before (or in another unit) came often enough.

        It is shown once it came :data:`CONFIRMATIONS` times in a row, in one unit, not going
        backwards.
        """
        candidates = self._pending.pop(key, [])  # re-inserted last: the oldest pending goes first
        if candidates and (value < candidates[-1][0] or reading.unit != candidates[-1][1]):
            candidates = []
        candidates.append((value, reading.unit))
        if len(candidates) >= CONFIRMATIONS:
            if changed:
                LOGGER.info("%s of %s is now in %s", key, self._meter, reading.unit)
            return True
        self._pending[key] = candidates
        while len(self._pending) > MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        reason = HeldReason.UNIT_CHANGED if changed else HeldReason.NEW_REGISTER
        total = self._totals.get(key)
        self._hold(key, value, reading.unit, reason, now, total.value if total is not None else None)
        return False

    def _compare(
        self, total: TotalState, value: float, step: float, times: tuple[datetime, datetime]
    ) -> HeldReason | None:
        """Why ``value`` cannot follow the total's accepted value (None: it can).

        ``times`` is when it was measured and Home Assistant's now; ``step`` the register's resolution.
        """
        moment, now = times
        if value < total.value:
            return HeldReason.WENT_BACKWARDS
        if value != total.value and moment < total.since - timedelta(seconds=TIME_SLACK_SECONDS):
            # A new value measured before the accepted one: a damaged clock, or another telegram's.
            return HeldReason.CLOCK_WENT_BACK
        rate = total.max_rate(self.max_power_w)
        if rate is None:
            return None
        seconds = seconds_between(moment, total.since)
        rise = value - total.value
        if rise > rate * seconds + step:
            return HeldReason.BEYOND_INSTALLATION
        if total.unit in ENERGY_POWER_UNITS and total.soft_bound_applies(now):
            soft_rate = max(total.peak_power * SOFT_POWER_MARGIN, SOFT_FLOOR_W) / SECONDS_PER_HOUR
            if rise > soft_rate * seconds + step:
                return HeldReason.ROSE_TOO_FAST
        return None

    def _confirmed(
        self,
        key: ObisCode,
        total: TotalState,
        reading: MeterReading,
        times: tuple[datetime, datetime],
        peaks: Mapping[str, float],
    ) -> bool:
        """The meter confirmed a held value: accept it, keep waiting, or ask the user."""
        moment, now = times
        value = total.candidates[-1][0]
        reasons = {reason for _, _, reason in total.candidates}
        first, first_at, _ = total.candidates[0]
        kept_up = _sustained_rate(total)
        if HeldReason.BEYOND_INSTALLATION in reasons and kept_up is not None:
            # No jump: the meter keeps rising at that pace (a larger site than the default assumes).
            leading = (first - total.value) / seconds_between(first_at, total.since)
            if leading <= kept_up * SIMILAR_FACTOR:
                total.learned_rate = max(total.learned_rate, kept_up, leading) * WIDEN_FACTOR
                reasons = {HeldReason.ROSE_TOO_FAST}
        restarted = value < total.value * RESTART_SHARE
        if reasons <= {HeldReason.ROSE_TOO_FAST, HeldReason.CLOCK_WENT_BACK}:
            unbounded = total.unbounded_by_power or HeldReason.ROSE_TOO_FAST in reasons
            total.restart(value, moment, now, _peak(reading.unit, peaks))
            total.unbounded_by_power = unbounded
            self.confirmed += 1
            LOGGER.info("%s of %s confirmed a fast rise to %s %s", key, self._meter, value, reading.unit)
            return True
        stalled = total.stalled_since or first_at
        total.stalled_since = stalled
        if HeldReason.WENT_BACKWARDS in reasons and not restarted and moment - stalled < STALL_LIMIT:
            # A little below the accepted value: wait until the meter passes it (no negative hour).
            total.candidates = total.candidates[-(CONFIRMATIONS - 1) :]
            self._hold(key, value, reading.unit, HeldReason.WENT_BACKWARDS, now, total.value)
            return False
        restarted = restarted or HeldReason.WENT_BACKWARDS in reasons
        kind = DisputeKind.RESTARTED if restarted else DisputeKind.JUMPED
        self.disputes[key] = Dispute(key, kind, total.value, value, reading.unit, now, moment)
        total.candidates = []
        LOGGER.warning(
            "%s of %s %s: %s %s after %s %s; it stays unavailable until the new value is accepted (a repair)",
            key,
            self._meter,
            "restarted from a low value" if restarted else "rose faster than the installation can draw",
            value,
            reading.unit,
            total.value,
            reading.unit,
        )
        self._hold(key, value, reading.unit, HeldReason.DISPUTED, now, total.value)
        return False

    def accept_disputes(self, now: datetime) -> list[ObisCode]:
        """The user accepted the meter's new values: they become the baselines and are shown again."""
        accepted = list(self.disputes)
        for key, dispute in self.disputes.items():
            total = self._totals[key] = TotalState(dispute.latest, dispute.unit, dispute.measured)
            total.restart(dispute.latest, dispute.measured, now, None)
        self.disputes.clear()
        return accepted

    # --- bookkeeping ----------------------------------------------------------------------------------

    def _forget_the_unshown(self) -> None:
        """Keep what is remembered of registers never shown (damaged names) bounded."""
        if len(self._instants) > MAX_INSTANTS:
            for key in [key for key, state in self._instants.items() if not state.widened]:
                del self._instants[key]
        if len(self._logged) > MAX_LOGGED:
            self._logged.clear()

    def _hold(  # noqa: PLR0917 - one held reading's fields, in the order HeldReading has them
        self,
        key: ObisCode,
        value: float,
        unit: str | None,
        reason: HeldReason,
        now: datetime,
        last_accepted: float | None,
    ) -> None:
        self.held_counts[reason] += 1
        self.held.append(HeldReading(key, value, unit, reason, now, last_accepted))
        if (key, reason) in self._logged:
            LOGGER.debug("Held back %s of %s again: %s %s (%s)", key, self._meter, value, unit, reason)
            return
        self._logged.add((key, reason))
        LOGGER.warning(
            "Held back %s of %s: %s %s is not plausible (%s; last accepted %s); "
            "it is shown only if the next readings confirm it",
            key,
            self._meter,
            value,
            unit,
            reason.replace("_", " "),
            last_accepted,
        )

    def _log_once(self, key: ObisCode, reason: HeldReason, message: str) -> None:
        if (key, reason) not in self._logged:
            self._logged.add((key, reason))
            LOGGER.info(message, key, self._meter)


def _peak(unit: str | None, peaks: Mapping[str, float]) -> float | None:
    """The telegram's largest all-phase power that bounds a total in ``unit`` (None: none sent)."""
    found = [peaks[power] for power in ENERGY_POWER_UNITS.get(unit or "", ()) if power in peaks]
    return max(found) if found else None


def _sustained_rate(total: TotalState) -> float | None:
    """The rate the held readings rose at among themselves (per second), when they rose at all."""
    first, first_at, _ = total.candidates[0]
    last, last_at, _ = total.candidates[-1]
    if last <= first or last_at <= first_at:
        return None
    return (last - first) / seconds_between(last_at, first_at)


def _similar(previous: float, value: float) -> bool:
    """Out-of-range readings that confirm each other: same sign, within a factor of each other."""
    if previous == 0 or value == 0 or (previous > 0) != (value > 0):
        return False
    ratio = abs(value / previous)
    return 1 / SIMILAR_FACTOR <= ratio <= SIMILAR_FACTOR


def _mapping(found: object) -> dict[str, Any]:
    return found if isinstance(found, dict) else {}


def _obis(text: object) -> ObisCode | None:
    try:
        return ObisCode.parse(str(text))
    except DlmsError:
        return None
