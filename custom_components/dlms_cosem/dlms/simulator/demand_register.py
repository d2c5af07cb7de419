"""Demand Register (class 5, Blue Book 4.3.4): the average of a quantity over demand periods.

The current average runs over the period under way (energy since its start over the time elapsed),
the last average is that of the last complete period, captured at its end. Periods are aligned on
the meter's reference instant, like the load profile's, so readings of the same instant agree.
Methods (reset, next_period) exist but are not granted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..apdu import DataAccessResult
from ..axdr import Data
from ..obis import ObisCode
from ..units import ScalerUnit
from .access import AccessFailureError, RequestContext
from .electricity import REFERENCE_INSTANT, seconds_since_reference
from .interface_classes import Clock, CosemObject

#: Energy (Wh) at a second since the reference instant.
type EnergyCurve = Callable[[int], float]


class DemandRegister(CosemObject):
    """Demand Register (class 5, version 0) of a power whose energy curve is known (W, scaler 0)."""

    class_id = 5
    attribute_count = 9
    method_count = 2

    def __init__(
        self,
        logical_name: ObisCode,
        energy: EnergyCurve,
        scaler_unit: ScalerUnit,
        clock: Clock,
        *,
        period: int = 900,
        public: bool = True,
    ) -> None:
        super().__init__(logical_name, public=public)
        self._energy = energy
        self.scaler_unit = scaler_unit
        self._clock = clock
        self.period = period

    def _period_start(self, instant: datetime) -> datetime:
        step = timedelta(seconds=self.period)
        return REFERENCE_INSTANT + ((instant - REFERENCE_INSTANT) // step) * step

    def _average(self, start: datetime, end: datetime) -> int:
        seconds = seconds_since_reference(end) - seconds_since_reference(start)
        if seconds <= 0:
            return 0
        energy = self._energy(seconds_since_reference(end)) - self._energy(seconds_since_reference(start))
        return max(0, round(energy * 3600 / seconds))

    def _time(self, instant: datetime) -> Data:
        return Data.octet_string(self._clock.date_time(instant).to_bytes())

    def _get(self, attribute: int, context: RequestContext) -> Data:
        now = context.now
        start = self._period_start(now)
        match attribute:
            case 2:
                return Data.double_long_unsigned(self._average(start, now))
            case 3:
                return Data.double_long_unsigned(self._average(start - timedelta(seconds=self.period), start))
            case 4:
                return self.scaler_unit.to_data()
            case 5:
                return Data.unsigned(0)
            case 6:
                return self._time(start)  # the last average was captured when its period ended
            case 7:
                return self._time(start)
            case 8:
                return Data.double_long_unsigned(self.period)
            case 9:
                return Data.long_unsigned(1)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)
