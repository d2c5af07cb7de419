"""What a meter's values can physically be: the ranges and rates the plausibility guard holds them to.

A value that decodes is not yet a value that is true: an 8-bit M-Bus checksum passes two swapped bytes,
and a bare APDU has no check at all. These bounds are deliberately wide (they must never hold back a
genuine reading of a home or a small business), and narrow enough that the values a corrupted telegram
produces (energy rising by megawatt-hours in seconds, a voltage of 30,000 V) fall outside them.

Units are the DLMS symbols the stack gives (``Wh``, ``W``, ``m³``...): values arrive scaled to them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from ..dlms.obis import ObisCode
from ..media import is_channel_reading
from ..meter_values import is_cumulative

#: The most power a metered installation is taken to draw or feed when the meter does not show more:
#: a direct-connected meter carries at most about 120 A per phase (3 x 230 V x 120 A = 83 kW). A meter
#: that keeps reporting more (a CT meter of a larger site) raises it: see ``PlausibilityGuard``.
DEFAULT_MAX_POWER_W: Final = 100_000.0

#: The most gas or water a household or small business meter passes (a G65 gas meter: 100 m³/h).
MAX_FLOW_M3_PER_HOUR: Final = 100.0

#: Soft bound on an active energy register's rise: the largest total power the meter reported since
#: the register's last accepted value, times this margin (the power is sampled, a kettle may switch on
#: between two samples), and never less than ``SOFT_FLOOR_W``.
SOFT_POWER_MARGIN: Final = 1.5
SOFT_FLOOR_W: Final = 3_000.0

#: Seconds added to the time between two readings before the rate is computed: telegrams are stamped
#: on arrival, and a telegram that waited in a buffer arrives late.
TIME_SLACK_SECONDS: Final = 5.0

SECONDS_PER_HOUR: Final = 3600.0

#: A meter clock ahead of Home Assistant's by more than this is not believed: the total's time is its
#: arrival, and its capture time goes to no hour of the statistics (a damaged hour byte would put a
#: value into an hour that has not ended).
FUTURE_CLOCK_SLACK: Final = timedelta(minutes=5)

#: The longest gap between power reports for them to bound a total's rise (a poll every 5 minutes).
COVER_GAP: Final = timedelta(minutes=5)

#: Energy units and the power units whose values bound their rise (apparent power bounds both the
#: active and the reactive part).
ENERGY_POWER_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "Wh": ("W", "VA"),
    "varh": ("var", "VA"),
    "VAh": ("VA",),
}
POWER_UNITS: Final = frozenset({"W", "var", "VA"})
JOULE: Final = "J"
CUBIC_METRE: Final = "m³"

#: Instantaneous values: the range each unit's values stay in (a meter that keeps reporting beyond it
#: widens it for that register). Power is bounded by the installation's maximum power instead.
RANGES: Final[dict[str, tuple[float, float]]] = {
    "V": (0.0, 1_000.0),
    "A": (-1_000.0, 1_000.0),
    "Hz": (0.0, 100.0),
}
#: Power factor: OBIS group C of the total and per-phase power factors (value group D 7, instantaneous).
POWER_FACTOR_C: Final = frozenset({13, 33, 53, 73})
POWER_FACTOR_RANGE: Final = (-1.0005, 1.0005)

#: OBIS group C of quantities summed over all phases (1-16): their power bounds a total energy register.
#: Per-phase powers (21-36, 41-56, 61-76) are not used for that bound, as they add up.
ALL_PHASES_MAX_C: Final = 16


def is_total(key: ObisCode) -> bool:
    """A register that only grows: an energy or volume total, or an M-Bus channel's meter reading."""
    return is_cumulative(key) or is_channel_reading(key)


def max_rate_per_second(unit: str | None, max_power_w: float) -> float | None:
    """The fastest a total in ``unit`` can rise, per second; ``None`` when nothing bounds it."""
    if unit in ENERGY_POWER_UNITS:
        return max_power_w / SECONDS_PER_HOUR  # Wh per second
    if unit == JOULE:
        return max_power_w  # J per second
    if unit == CUBIC_METRE:
        return MAX_FLOW_M3_PER_HOUR / SECONDS_PER_HOUR
    return None


def instantaneous_range(key: ObisCode, unit: str | None, max_power_w: float) -> tuple[float, float] | None:
    """The range of an instantaneous value; ``None`` for values nothing bounds (counts, codes, text)."""
    if unit in POWER_UNITS:
        return (-max_power_w, max_power_w)
    if unit is not None and unit in RANGES:
        return RANGES[unit]
    if unit is None and key.a == 1 and key.c in POWER_FACTOR_C and key.d == 7:
        return POWER_FACTOR_RANGE
    return None


def is_all_phase_power(key: ObisCode, unit: str | None) -> bool:
    """A power summed over the phases (the one that bounds a total energy register's rise)."""
    return unit in POWER_UNITS and key.a == 1 and 1 <= key.c <= ALL_PHASES_MAX_C
