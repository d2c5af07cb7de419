"""The hour a meter's timestamp names, on the days daylight saving changes too.

The recorder's hours are UTC hours: a timestamp in a zone's wall time is taken to UTC before the hour
it ends is found, and a clock without deviation says with its status which pass of a repeated hour
it means.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from custom_components.dlms_cosem.dlms.cosem_datetime import ClockStatus, CosemDateTime
from custom_components.dlms_cosem.meter_values import local_instant, utc_hour_start
from custom_components.dlms_cosem.statistics_import import hourly_row

OSLO = ZoneInfo("Europe/Oslo")


def start_of(captured: datetime) -> datetime | None:
    row = hourly_row(captured, 1.0, 0.0)
    return None if row is None else row["start"]


def test_the_hour_ends_at_the_capture_in_utc_across_daylight_saving() -> None:
    # Autumn: 03:00 CET is 02:00 UTC, so its hour starts at 01:00 UTC (not 00:00).
    assert start_of(datetime(2026, 10, 25, 3, 0, tzinfo=OSLO)) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    # Spring: 03:00 CEST is 01:00 UTC and 04:00 CEST is 02:00 UTC: two hours, not one twice.
    assert start_of(datetime(2026, 3, 29, 3, 0, tzinfo=OSLO)) == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert start_of(datetime(2026, 3, 29, 4, 0, tzinfo=OSLO)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_no_row_off_a_utc_hour_or_for_unusable_values() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    assert start_of(datetime(2026, 11, 30, 10, 0, tzinfo=india)) is None  # 04:30 UTC
    assert hourly_row(datetime(2026, 11, 30, 10, 0, tzinfo=UTC), float("nan"), 0.0) is None
    assert hourly_row(datetime(2026, 11, 30, 10, 0, tzinfo=UTC), float("inf"), 0.0) is None
    assert start_of(datetime(1, 1, 1, 0, 0, tzinfo=UTC)) is None  # the edge of the calendar


def test_a_repeated_hour_is_placed_by_the_clock_status() -> None:
    two = datetime(2026, 10, 25, 2, 0)  # 02:00 comes twice in Oslo that night
    summer = CosemDateTime.from_datetime(two, ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    winter = CosemDateTime.from_datetime(two, ClockStatus(0))
    assert summer.deviation is None
    assert local_instant(summer, OSLO) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    assert local_instant(winter, OSLO) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    rows = [
        start_of(moment) for moment in (local_instant(summer, OSLO), local_instant(winter, OSLO)) if moment
    ]
    assert rows == [datetime(2026, 10, 24, 23, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 0, tzinfo=UTC)]


def test_a_sensor_starts_an_import_only_for_what_ends_an_hour() -> None:
    # The sensor's check before an import task and the row the import writes: both from utc_hour_start.
    amsterdam = ZoneInfo("Europe/Amsterdam")
    kolkata = timezone(timedelta(hours=5, minutes=30))
    for moment, ends_an_hour in (
        (datetime(2026, 12, 7, 12, 0, tzinfo=amsterdam), True),
        (datetime(2026, 12, 7, 12, 0, 2, 500000, tzinfo=amsterdam), False),
        (datetime(2026, 12, 7, 12, 30, tzinfo=kolkata), True),  # 07:00 UTC: an hour in UTC
        (datetime(2026, 12, 7, 12, 0, tzinfo=kolkata), False),  # 06:30 UTC: none
        (datetime(2026, 12, 7, 11, 59, 59, tzinfo=UTC), False),
        (datetime(1, 1, 1, 0, 30, tzinfo=kolkata), False),  # before the calendar in UTC
    ):
        assert (utc_hour_start(moment) is not None) == ends_an_hour, moment
        assert (hourly_row(moment, 1.0, 0.0) is not None) == ends_an_hour, moment
