"""The update limit decides which of a pushing meter's values become states (pure: no Home Assistant).

The values are time-weighted means between states, steps are written at once, totals carry their latest
value and reach each statistics boundary; on a day of a made-up household stream the statistics stay
within 1 % of the unthrottled stream's with fewer rows than core dsmr's default writes.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription, SensorStateClass

from benchmarks.throttle_strategies import HOUR, HOURS, PERIOD, errors, household_stream, period_means
from custom_components.dlms_cosem.update_limit import (
    DEFAULT_UPDATE_INTERVAL,
    UpdateLimit,
    ValueKind,
    step_floor,
    update_limit,
)


def offers(limit: UpdateLimit, values: list[tuple[float, object]]) -> list[tuple[float, object]]:
    """The states written for values arriving at the given instants."""
    written = []
    for instant, value in values:
        write, shown = limit.offer(instant, value)
        if write:
            written.append((instant, shown))
    return written


def test_a_measurement_writes_its_time_weighted_mean_at_most_every_interval() -> None:
    limit = UpdateLimit(ValueKind.MEASUREMENT, 10, step_floor=100)
    values: list[tuple[float, object]] = [(0, 1000.0), *[(float(t), 1100.0) for t in range(1, 21)]]
    written = offers(limit, values)
    # The first value at once; then, every 10 s, the mean of what held since: 1000 W for 1 s, 1100 W for 9.
    assert written == [(0, 1000.0), (10, pytest.approx(1090.0)), (20, pytest.approx(1100.0))]


def test_a_step_is_written_from_its_first_telegram() -> None:
    limit = UpdateLimit(ValueKind.MEASUREMENT, 60, step_floor=100)
    written = offers(limit, [(0, 400.0), (2.5, 450.0), (5, 2400.0), (7.5, 2450.0)])
    # 450 W is within a fifth of 400 W (and within the 100 W floor); a kettle's 2 kW is not.
    assert written == [(0, 400.0), (5, 2400.0)]


def test_a_small_value_needs_the_floor_to_step() -> None:
    limit = UpdateLimit(ValueKind.MEASUREMENT, 60, step_floor=100)
    # 50 W to 120 W is more than a fifth, but less than the 100 W floor: noise around a standby load.
    assert offers(limit, [(0, 50.0), (2.5, 120.0), (5, 40.0)]) == [(0, 50.0)]


def test_a_total_carries_its_latest_value_and_reaches_each_statistics_boundary() -> None:
    limit = UpdateLimit(ValueKind.TOTAL, 60)
    values = [(290.0 + 2.5 * step, 1000.0 + step) for step in range(8)]  # 290 .. 307.5 s
    written = offers(limit, values)
    # The first, then the last telegram before 300 s (the next one is due after the boundary): the
    # 5-minute period ending at 300 s gets the meter's energy up to its end, never a mean.
    assert written == [(290.0, 1000.0), (297.5, 1003.0)]


def test_other_values_are_written_when_changed_at_most_every_interval() -> None:
    limit = UpdateLimit(ValueKind.OTHER, 10)
    written = offers(limit, [(0, "a"), (5, "b"), (10, "b"), (15, "b"), (25, "b")])
    assert written == [(0, "a"), (10, "b")]


def test_no_interval_writes_every_telegram() -> None:
    limit = UpdateLimit(ValueKind.MEASUREMENT, 0, step_floor=100)
    assert offers(limit, [(0, 1.0), (1, 2.0), (2, 3.0)]) == [(0, 1.0), (1, 2.0), (2, 3.0)]


def _entry(kind: str, **options: Any) -> Any:
    return cast("Any", SimpleNamespace(data={"connection_type": kind}, options=options))


def test_only_pushing_meters_are_limited_and_zero_turns_it_off() -> None:
    power = SensorEntityDescription(
        key="p",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement="kW",
    )
    assert update_limit(_entry("serial_poll"), power) is None
    assert update_limit(_entry("network_push", update_interval=0), power) is None
    limit = update_limit(_entry("network_push"), power)
    assert limit is not None
    assert limit.interval == DEFAULT_UPDATE_INTERVAL
    assert limit.step_floor == pytest.approx(0.1)  # 100 W in the sensor's kW
    assert step_floor(SensorEntityDescription(key="x")) == float("inf")


def test_a_day_of_household_power_keeps_its_statistics_with_fewer_rows_than_dsmr() -> None:
    times, power = household_stream()
    limit = UpdateLimit(ValueKind.MEASUREMENT, DEFAULT_UPDATE_INTERVAL, step_floor=100)
    written = [
        (instant, float(value)) for instant, value in offers(limit, list(zip(times, power, strict=True)))
    ]
    reference = list(zip(times, power, strict=True))
    _, five_mean, _ = errors(period_means(written, PERIOD), period_means(reference, PERIOD))
    hour_max, hour_mean, _ = errors(period_means(written, HOUR), period_means(reference, HOUR))
    rows_per_hour = len(written) / HOURS
    assert rows_per_hour < 3600 / 30  # core dsmr's default: a state every 30 s
    assert five_mean < 0.01
    assert hour_mean < 0.01
    assert hour_max < 0.02
