"""Profile Generic (class 7) as typed history: the profile's shape, and its rows as instants and values.

A load profile's buffer is rows of plain A-XDR values; what they mean lives elsewhere: the capture
objects (attribute 3) name each column, the columns' own scaler_unit scales them, the clock column's
date-times carry their deviation (so rows either side of a daylight saving change land on the right
UTC instant), and a status column (0.x.96.10.x.255) flags rows the meter itself does not trust.

Reading by range on the clock column is tried first; a meter that refuses it (or answers garbage) is
read by entry instead, the entry numbers estimated from the capture period and the entries in use,
then filtered by time. Rows whose clock is null (meters that write the date-time in the first row only)
follow the previous row by one capture period. A meter clock a few minutes off the period boundary is
snapped to the nearest boundary (the capture belongs to that boundary) when ``snap`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from ..apdu import CaptureObjectDefinition
from ..axdr import Data, DataTag, datetime_from_data
from ..errors import DecodeError, DlmsError, ServiceError
from ..obis import ObisCode
from ..profile_status import UNTRUSTED, ProfileStatus, is_status_object
from ..units import ScalerUnit
from .objects import (
    CLOCK_CLASS_ID,
    DEMAND_REGISTER_CLASS_ID,
    EXTENDED_REGISTER_CLASS_ID,
    PROFILE_GENERIC_CLASS_ID,
    REGISTER_CLASS_ID,
    ProfileBuffer,
    parse_capture_objects,
)

if TYPE_CHECKING:
    from .client import DlmsClient

LOAD_PROFILE_1 = ObisCode(1, 0, 99, 1, 0, 255)
LOAD_PROFILE_2 = ObisCode(1, 0, 99, 2, 0, 255)
DAILY_PROFILE = ObisCode(1, 0, 98, 2, 0, 255)
BILLING_PROFILE = ObisCode(0, 0, 98, 1, 0, 255)

_BUFFER = 2
_CAPTURE_OBJECTS = 3
_CAPTURE_PERIOD = 4
_ENTRIES_IN_USE = 7
_PROFILE_ENTRIES = 8
_SCALER_UNIT_ATTRIBUTE = {REGISTER_CLASS_ID: 3, EXTENDED_REGISTER_CLASS_ID: 3, DEMAND_REGISTER_CLASS_ID: 4}
#: Extra capture periods asked for either side when reading by entry (the estimate can be off).
_ENTRY_MARGIN = 2


def is_status_column(column: CaptureObjectDefinition) -> bool:
    """Whether a capture object is the profile status (Data 0.x.96.10.x.255)."""
    return is_status_object(column.class_id, column.logical_name)


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    """What a profile captures and how often: the columns, their scalers and the period."""

    obis: ObisCode
    columns: tuple[CaptureObjectDefinition, ...]
    scaler_units: tuple[ScalerUnit | None, ...]
    capture_period: int
    entries_in_use: int | None
    profile_entries: int | None

    @property
    def clock_column(self) -> int | None:
        """Index of the clock column, ``None`` when the profile has none."""
        return next((i for i, c in enumerate(self.columns) if c.class_id == CLOCK_CLASS_ID), None)

    @property
    def status_column(self) -> int | None:
        """Index of the status column, ``None`` when the profile has none."""
        return next((i for i, c in enumerate(self.columns) if is_status_column(c)), None)

    @property
    def value_columns(self) -> tuple[int, ...]:
        """Indexes of the register columns (the ones with a value to scale)."""
        return tuple(i for i, c in enumerate(self.columns) if c.class_id in _SCALER_UNIT_ATTRIBUTE)


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """One row: its instant (UTC), the meter's own clock text, scaled values by column, status."""

    timestamp: datetime
    meter_time: datetime | None
    values: tuple[object, ...]
    status: ProfileStatus | None

    @property
    def trusted(self) -> bool:
        """Whether the meter flags nothing that makes the row's values unusable."""
        return self.status is None or not self.status & UNTRUSTED

    def value(self, obis: ObisCode, info: ProfileInfo) -> object:
        """The value of the column capturing ``obis`` (``None`` when not captured)."""
        for index, column in enumerate(info.columns):
            if column.logical_name == obis and index in info.value_columns:
                return self.values[index]
        return None


def _unsigned(data: Data | DlmsError, what: str) -> int | None:
    if isinstance(data, DlmsError):
        return None
    value = data.value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DecodeError(f"{what} must be an unsigned integer, got {data.tag.name}")
    return value


async def read_profile_info(client: DlmsClient, obis: ObisCode) -> ProfileInfo:
    """The columns, scalers, capture period and entries of a profile (two requests)."""
    columns_data, period, in_use, size = await client.get_many(
        [
            (obis, PROFILE_GENERIC_CLASS_ID, attribute)
            for attribute in (_CAPTURE_OBJECTS, _CAPTURE_PERIOD, _ENTRIES_IN_USE, _PROFILE_ENTRIES)
        ]
    )
    if isinstance(columns_data, DlmsError):
        raise columns_data
    columns = parse_capture_objects(columns_data)
    capture_period = _unsigned(period, "capture period") or 0
    registers = [(i, c) for i, c in enumerate(columns) if c.class_id in _SCALER_UNIT_ATTRIBUTE]
    scalers: list[ScalerUnit | None] = [None] * len(columns)
    if registers:
        found = await client.get_many(
            [(c.logical_name, c.class_id, _SCALER_UNIT_ATTRIBUTE[c.class_id]) for _, c in registers]
        )
        for (index, _), item in zip(registers, found, strict=True):
            if isinstance(item, Data):
                scalers[index] = ScalerUnit.from_data(item)
    return ProfileInfo(
        obis,
        columns,
        tuple(scalers),
        capture_period,
        _unsigned(in_use, "entries in use"),
        _unsigned(size, "profile entries"),
    )


def _snapped(instant: datetime, period: int) -> datetime:
    if period <= 0 or period > 86_400:
        return instant
    step = timedelta(seconds=period)
    midnight = instant.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + round((instant - midnight) / step) * step


def decode_entries(
    info: ProfileInfo, buffer: ProfileBuffer, *, zone: tzinfo | None = None, snap: bool = True
) -> list[ProfileEntry]:
    """The buffer's rows as typed entries, oldest first as the meter gives them.

    ``zone`` places date-times that carry no deviation; in the hour a zone repeats when daylight saving
    ends, a row that would go back in time is the second pass of that hour. Rows without an instant
    (no clock column, or the first rows null) cannot be placed and are dropped.
    """
    clock, status_column = info.clock_column, info.status_column
    period = timedelta(seconds=info.capture_period)
    entries: list[ProfileEntry] = []
    previous: datetime | None = None
    for row in buffer.rows:
        if len(row) != len(info.columns):
            raise DecodeError(f"profile row has {len(row)} values for {len(info.columns)} columns")
        meter_time = _row_time(row[clock], zone) if clock is not None else None
        if meter_time is not None:
            if previous is not None and meter_time.tzinfo is zone and meter_time.astimezone(UTC) <= previous:
                meter_time = meter_time.replace(fold=1)  # the repeated local hour, its second time
            instant = meter_time.astimezone(UTC)
            if snap:
                instant = _snapped(instant, info.capture_period)
        elif previous is not None and info.capture_period > 0:
            instant = previous + period
        else:
            continue
        previous = instant
        values = tuple(_column_value(row[i], info.scaler_units[i]) for i in range(len(row)))
        status = None
        if status_column is not None:
            raw = row[status_column].value
            if isinstance(raw, int) and not isinstance(raw, bool):
                status = ProfileStatus(raw & 0xFF)
        entries.append(ProfileEntry(instant, meter_time, values, status))
    return entries


def _row_time(data: Data, zone: tzinfo | None) -> datetime | None:
    if data.tag is DataTag.NULL_DATA:
        return None
    found = datetime_from_data(data)
    if found is None:
        raise DecodeError(f"profile clock column is not a date-time ({data.tag.name})")
    instant = found.to_datetime()
    if instant is None:
        return None
    if instant.tzinfo is None:
        if zone is None:
            raise DecodeError("profile date-time has no deviation and no zone was given")
        instant = instant.replace(tzinfo=zone)
    return instant


def _column_value(data: Data, scaler_unit: ScalerUnit | None) -> object:
    value = data.value
    if scaler_unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return scaler_unit.scale(value)
    return data.to_python()


async def read_profile_range(
    client: DlmsClient,
    info: ProfileInfo,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    by_entry: bool = False,
    zone: tzinfo | None = None,
) -> tuple[list[ProfileEntry], bool]:
    """Entries with ``start <= timestamp <= end`` (aware datetimes), and whether read by entry.

    By range first unless ``by_entry``; a meter refusing or garbling the range is read by entry,
    with the entry numbers estimated from ``now`` (the true time), the period and the entries in use.
    ``zone`` (default: ``start``'s) is the meter's time zone for date-times without a deviation.
    """
    zone = zone or start.tzinfo
    if not by_entry:
        try:
            # Half a period more either side: a meter clock a little off still returns its boundary rows.
            margin = timedelta(seconds=info.capture_period / 2)
            # In the meter's zone: a meter that ignores the deviation still reads its own wall time.
            first, last = start - margin, end + margin
            if zone is not None:
                first, last = first.astimezone(zone), last.astimezone(zone)
            buffer = await client.read_profile(info.obis, start=first, end=last)
            return _within(decode_entries(info, buffer, zone=zone), start, end), False
        except (ServiceError, DecodeError):
            pass
    entries = await _read_by_entry(client, info, start, end, now, zone)
    return _within(entries, start, end), True


async def _read_by_entry(  # noqa: PLR0917 - the range, the instant and the zone it is read in
    client: DlmsClient, info: ProfileInfo, start: datetime, end: datetime, now: datetime, zone: tzinfo | None
) -> list[ProfileEntry]:
    in_use = info.entries_in_use
    period = info.capture_period
    if not in_use or period <= 0:
        buffer = await client.read_profile(info.obis)
        return decode_entries(info, buffer, zone=zone)
    # Entry in_use is the newest, captured at the last period boundary before now.
    newest = now - timedelta(seconds=(now.timestamp() % period))
    back_first = int((newest - start).total_seconds() // period) + _ENTRY_MARGIN
    back_last = int((newest - end).total_seconds() // period) - _ENTRY_MARGIN
    first = max(1, in_use - back_first)
    last = min(in_use, in_use - max(0, back_last))
    if first > last:
        return []
    buffer = await client.read_profile(info.obis, from_entry=first, to_entry=last)
    return decode_entries(info, buffer, zone=zone)


def _within(entries: list[ProfileEntry], start: datetime, end: datetime) -> list[ProfileEntry]:
    return [entry for entry in entries if start <= entry.timestamp <= end]
