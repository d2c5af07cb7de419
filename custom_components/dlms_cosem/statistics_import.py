"""Hourly statistics from the meter's own timestamps: one row per captured hour, continuing the sums.

Shared by the load profile backfill (many hours at once) and by readings that carry their capture time
(an M-Bus channel's hourly value, a pushed hourly list): the hour a value belongs to is the one the
meter says, not the one the value happened to arrive in.

The row starting at ``h`` holds the value captured at ``h + 1 h``, as the recorder's compiled rows hold
the last state of their hour. Its sum is the value plus the offset ``sum - state`` of the sensor's
latest statistic (the short-term one the recorder's next compile continues from, else the hourly
one), so imported and compiled rows join without a jump and an import repeated writes the same row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from homeassistant.components.recorder.models import StatisticData, StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    get_last_short_term_statistics,
    get_last_statistics,
)
from homeassistant.components.sensor.const import UNIT_CONVERTERS, SensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance

from .const import LOGGER
from .meter_values import utc_hour_start

HOUR: Final = timedelta(hours=1)
ROUNDING: Final = 6  # decimals kept: the same period imported twice gives the same floats
TOTALS: Final = ("total", "total_increasing")


async def statistic_offset(hass: HomeAssistant, statistic_id: str) -> float | None:
    """``sum - state`` of the statistic's latest row; ``None`` while it has none."""
    recorder = get_instance(hass)
    for reader in (get_last_short_term_statistics, get_last_statistics):
        found = await recorder.async_add_executor_job(reader, hass, 1, statistic_id, True, {"state", "sum"})
        rows = found.get(statistic_id)
        if rows:
            state, total = rows[0].get("state"), rows[0].get("sum")
            if state is not None and total is not None:
                return round(total - state, ROUNDING)
    return None


def statistic_metadata(
    statistic_id: str, unit: str, device_class: SensorDeviceClass | None
) -> StatisticMetaData:
    """The metadata the sensor's own statistics have (the recorder is their source)."""
    converter = UNIT_CONVERTERS.get(device_class)
    return StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=None,
        source="recorder",
        statistic_id=statistic_id,
        unit_class=converter.UNIT_CLASS if converter is not None else None,
        unit_of_measurement=unit,
    )


def converted(
    value: float, from_unit: str | None, to_unit: str, device_class: SensorDeviceClass | None
) -> float:
    """``value`` in the statistic's unit (the meter's may differ: Wh for a sensor shown in kWh)."""
    if from_unit is None or from_unit == to_unit:
        return value
    converter = UNIT_CONVERTERS.get(device_class)
    if converter is None or not {from_unit, to_unit} <= converter.VALID_UNITS:
        return value
    return converter.convert(value, from_unit, to_unit)


def hourly_row(captured: datetime, state: float, offset: float) -> StatisticData | None:
    """The row for the hour ending at ``captured``; ``None`` when it ends no UTC hour (utc_hour_start)."""
    if not math.isfinite(state):
        return None
    start = utc_hour_start(captured)
    if start is None:
        return None
    value = round(state, ROUNDING)
    return StatisticData(start=start, state=value, sum=round(value + offset, ROUNDING))


def device_class_of(attribute: object) -> SensorDeviceClass | None:
    """A state's ``device_class`` attribute as the enum, when it is one."""
    if isinstance(attribute, str) and attribute in SensorDeviceClass:
        return SensorDeviceClass(attribute)
    return None


async def async_import_reading(
    hass: HomeAssistant, entity_id: str, value: float, from_unit: str | None, captured: datetime
) -> bool:
    """Import the hour ending at ``captured`` for a total sensor; whether a row was imported."""
    return await async_import_readings(hass, entity_id, [(value, from_unit, captured)]) > 0


async def async_import_readings(
    hass: HomeAssistant, entity_id: str, readings: Sequence[tuple[float, str | None, datetime]]
) -> int:
    """Import the hours ending at each reading's capture for a total sensor, in one import; rows written.

    One offset serves every row (a total's ``sum - state`` stays the same), so rows imported together
    never read each other's sums half written.
    """
    # Most readings end no hour (a telegram's time between the hours): no database read for them.
    readings = [reading for reading in readings if hourly_row(reading[2], reading[0], 0.0) is not None]
    if not readings:
        return 0
    state = hass.states.get(entity_id)
    if state is None or state.attributes.get("state_class") not in TOTALS:
        return 0
    unit = state.attributes.get("unit_of_measurement")
    if not isinstance(unit, str):
        return 0
    offset = await statistic_offset(hass, entity_id)
    if offset is None:
        return 0  # the recorder's first compile starts the sums
    device_class = device_class_of(state.attributes.get("device_class"))
    rows: dict[datetime, StatisticData] = {}
    for value, from_unit, captured in readings:
        row = hourly_row(captured, converted(value, from_unit, unit, device_class), offset)
        if row is not None:
            rows[row["start"]] = row
    if not rows:
        return 0
    LOGGER.debug("Statistics of %s: %d hours, the last ending %s", entity_id, len(rows), max(rows) + HOUR)
    async_import_statistics(
        hass, statistic_metadata(entity_id, unit, device_class), [rows[start] for start in sorted(rows)]
    )
    return len(rows)
