"""The update limit: fewer states written for a pushing meter, with statistics that stay true.

A meter that pushes every 2.5 seconds would write a state row for every changed value (an Aidon with 20
changing values: about 700,000 rows a day). Home Assistant's statistics are time-weighted means over
5-minute periods, of states that each hold until the next one. Writing a value every N seconds, sampled
(core dsmr's "time between updates") or averaged, holds each value past the moment it stood for: when an
appliance switches, the 5-minute means miss by several percent (``benchmarks/throttle_strategies.py``:
4 to 15 % on average at 30 to 60 s). So a sensor here writes:

- an instantaneous value (power, current, voltage): the time-weighted mean of what arrived since the
  last state, at most every ``interval`` seconds; but a value that moved more than a fifth (and more than
  the device class's floor: 100 W, 0.5 A, 10 V ...) away from the one shown is written at once, so a
  switched appliance shows, and counts, from its first telegram;
- a total (an energy register): its latest value (never a mean), at most every ``interval`` seconds,
  and also on the last telegram before each 5-minute boundary, so each period's energy is the meter's;
- anything else (text, a timestamp): its latest value, at most every ``interval`` seconds.

On the made-up household stream, 60 s with the step rule writes 67 rows an hour per power sensor (core
dsmr's default 30 s: 120) and keeps the 5-minute means within 0.7 % on average, the hourly within
0.3 %. ``interval`` 0 writes every telegram (automations that must react within seconds). Changes of
availability are the entity's to write at once: this only decides about values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.sensor.const import UNIT_CONVERTERS

from .const import CONF_CONNECTION_TYPE, CONF_UPDATE_INTERVAL, ConnectionType
from .models import DlmsCosemConfigEntry

DEFAULT_UPDATE_INTERVAL: Final = 60
"""Seconds between the states of a value (0: every telegram)."""
STEP_FRACTION: Final = 0.2
"""A value this far (relative) from the one shown is written at once."""
STEP_FLOORS: Final[dict[SensorDeviceClass, float]] = {
    SensorDeviceClass.POWER: 100.0,  # W: a light bulb is no step, a kettle is
    SensorDeviceClass.REACTIVE_POWER: 100.0,
    SensorDeviceClass.APPARENT_POWER: 100.0,
    SensorDeviceClass.CURRENT: 0.5,  # A: about 100 W on one phase
    SensorDeviceClass.VOLTAGE: 10.0,
    SensorDeviceClass.FREQUENCY: 0.2,
}
"""And at least this far, in the device class's base unit (converted to the sensor's own by the caller)."""
BASE_UNITS: Final[dict[SensorDeviceClass, str]] = {
    SensorDeviceClass.POWER: "W",
    SensorDeviceClass.REACTIVE_POWER: "var",
    SensorDeviceClass.APPARENT_POWER: "VA",
    SensorDeviceClass.CURRENT: "A",
    SensorDeviceClass.VOLTAGE: "V",
    SensorDeviceClass.FREQUENCY: "Hz",
}
"""The unit each floor is in."""
STATISTICS_PERIOD: Final = 300.0
"""Seconds of Home Assistant's short-term statistics periods (5 minutes, on the clock)."""


class ValueKind(Enum):
    """How a sensor's values are written under the limit."""

    MEASUREMENT = auto()  # averaged over time, steps at once
    TOTAL = auto()  # the latest, and before each statistics boundary
    OTHER = auto()  # the latest


@dataclass(slots=True)
class UpdateLimit:
    """Decides, telegram by telegram, whether a sensor writes its state, and with which value.

    ``offer`` takes the instant (seconds, wall clock) and the value that arrived; it answers the value
    to write, or None to write nothing now. Non-numeric values of a measurement are written as they are.
    """

    kind: ValueKind
    interval: float
    step_floor: float = math.inf

    _written_at: float | None = None
    _shown: object = None
    _last_at: float | None = None
    _last: float | None = None
    _area: float = 0.0
    _held: float = 0.0
    _gap: float = 0.0  # seconds between the last two telegrams: when the next one is due

    def offer(self, now: float, value: object) -> tuple[bool, object]:
        """(write?, the value to write) for ``value`` arriving at ``now``."""
        number = _number(value)
        if self._last_at is not None and now > self._last_at:
            self._gap = now - self._last_at
            if self._last is not None:
                self._area += self._last * (now - self._last_at)
                self._held += now - self._last_at
        self._last_at, self._last = now, number
        if self.interval <= 0 or self._written_at is None:
            return self._write(now, value)
        due = now - self._written_at >= self.interval
        if self.kind is ValueKind.MEASUREMENT and number is not None:
            shown = _number(self._shown)
            if shown is None or abs(number - shown) > max(STEP_FRACTION * abs(shown), self.step_floor):
                return self._write(now, value)  # a step: from its first telegram on
            if due:
                mean = self._area / self._held if self._held > 0 else number
                return self._write(now, mean)
            return False, None
        if self.kind is ValueKind.TOTAL and value != self._shown and self._before_boundary(now):
            return self._write(now, value)
        if due and value != self._shown:
            return self._write(now, value)
        return False, None

    def restart(self, now: float, value: object) -> None:
        """The entity wrote ``value`` by itself (availability changed): the limit counts from there."""
        self._write(now, value)
        self._last_at, self._last = now, _number(value)

    def _before_boundary(self, now: float) -> bool:
        """Whether a statistics period ends before the next telegram is due (this is its last one)."""
        if self._gap <= 0:
            return False
        boundary = (math.floor(now / STATISTICS_PERIOD) + 1) * STATISTICS_PERIOD
        return now + self._gap >= boundary

    def _write(self, now: float, value: object) -> tuple[bool, object]:
        self._written_at = now
        self._shown = value
        self._area = self._held = 0.0
        return True, value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


TOTALS: Final = frozenset({SensorStateClass.TOTAL, SensorStateClass.TOTAL_INCREASING})
"""The state classes of totals: written as their latest value, and kept across restarts."""


def update_limit(entry: DlmsCosemConfigEntry, description: SensorEntityDescription) -> UpdateLimit | None:
    """The limit on a pushing meter's sensor (a polled meter is read at its polling interval)."""
    kind = entry.data.get(CONF_CONNECTION_TYPE)
    if kind is None or not ConnectionType(kind).is_push:
        return None
    interval = float(entry.options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL))
    if interval <= 0:
        return None
    if description.state_class in TOTALS:
        return UpdateLimit(ValueKind.TOTAL, interval)
    if description.state_class is SensorStateClass.MEASUREMENT:
        return UpdateLimit(ValueKind.MEASUREMENT, interval, step_floor(description))
    return UpdateLimit(ValueKind.OTHER, interval)


def step_floor(description: SensorEntityDescription) -> float:
    """The device class's step floor in the sensor's own unit (100 W is 0.1 kW); none if unknown."""
    device_class = description.device_class
    if not isinstance(device_class, SensorDeviceClass) or device_class not in STEP_FLOORS:
        return math.inf
    floor = STEP_FLOORS[device_class]
    unit = description.native_unit_of_measurement
    base = BASE_UNITS[device_class]
    if unit is None or unit == base:
        return floor
    converter = UNIT_CONVERTERS.get(device_class)
    if converter is not None and {unit, base} <= converter.VALID_UNITS:
        return converter.convert(floor, base, unit)
    return math.inf
