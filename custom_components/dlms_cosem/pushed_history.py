"""Hours a pushed profile buffer carries, as readings with their capture times.

Meters that push their load profile (or a billing snapshot) send rows of history in the telegram: each
cumulative register column becomes, per row, a reading captured at the row's clock, which the sensor
writes as that hour's statistic. A column whose scaler the telegram does not give is left out (its
values could be off by powers of ten), as are rows the profile status flags and rows without a time.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo

from .dlms.obis import ObisCode
from .dlms.profile_status import is_status_object, trusted_status
from .dlms.push import PushContent, PushObject, date_time_from_data
from .dlms.push.profiles import PushedProfile, pushed_profiles
from .meter_values import is_cumulative, local_instant
from .models import MeterReading

CLOCK_CLASS_ID = 8
CLOCK_TIME = 2
VALUE = 2
REGISTER_CLASSES = frozenset({3, 4})


def profile_history(content: PushContent, zone: tzinfo) -> dict[ObisCode, tuple[MeterReading, ...]]:
    """Per cumulative register, the readings of the pushed profiles' rows, oldest first.

    Two profiles capturing the same register (an hourly load profile and a billing profile) give
    one history, each instant once.
    """
    profiles = pushed_profiles(content.objects)
    if not profiles:
        return {}
    scalers = {
        obj.obis: obj.scaler_unit
        for obj in content.objects
        if obj.obis is not None and obj.scaler_unit is not None
    }
    found: dict[ObisCode, dict[datetime, MeterReading]] = {}
    for profile in profiles:
        times = _row_times(profile, zone)
        if times is None:
            continue
        for index, (class_id, obis, attribute) in enumerate(profile.columns):
            scaler = scalers.get(obis)
            if attribute != VALUE or class_id not in REGISTER_CLASSES or scaler is None:
                continue
            if not is_cumulative(obis):
                continue  # only totals have hourly statistics
            for row, moment in zip(profile.rows, times, strict=True):
                obj = PushObject(obis, row[index], scaler)
                value = obj.value
                if moment is None or isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if math.isfinite(value):
                    found.setdefault(obis, {})[moment] = MeterReading(
                        value, obj.unit, obj.raw, captured=moment
                    )
    return {obis: tuple(rows[moment] for moment in sorted(rows)) for obis, rows in found.items()}


def _row_times(profile: PushedProfile, zone: tzinfo) -> list[datetime | None] | None:
    """Each row's instant (``None`` for a row without one or flagged unusable); ``None``: no clock."""
    clock = next(
        (i for i, (c, _, a) in enumerate(profile.columns) if (c, a) == (CLOCK_CLASS_ID, CLOCK_TIME)), None
    )
    if clock is None:
        return None
    status = next((i for i, (c, o, _) in enumerate(profile.columns) if is_status_object(c, o)), None)
    times: list[datetime | None] = []
    for row in profile.rows:
        found = date_time_from_data(row[clock])
        moment = local_instant(found, zone) if found is not None else None
        if status is not None and not trusted_status(row[status].value):
            moment = None
        times.append(moment)
    return times
