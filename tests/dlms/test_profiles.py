"""Profiles as typed history: shape, range and entry reads, DST, meter clock deviation, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    CaptureObjectDefinition,
    DataAccessResult,
    RangeDescriptor,
    SelectiveAccessDescriptor,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import ClientSettings, DlmsClient, ProfileBuffer
from custom_components.dlms_cosem.dlms.client.profiles import (
    ProfileInfo,
    ProfileStatus,
    decode_entries,
    read_profile_info,
    read_profile_range,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import DecodeError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.access import AccessFailureError, RequestContext
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    CLOCK,
    LOAD_PROFILE,
    MeterSecurity,
    ProfileGeneric,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.units import ScalerUnit

from .test_client_simulator import SimulatorTransport

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
STATUS = ObisCode(0, 0, 96, 10, 1, 255)


def _client(meter: SimulatedMeter) -> DlmsClient:
    return DlmsClient(SimulatorTransport(meter, client_sap=1), ClientSettings(client_address=1))


def _meter(now: datetime = NOW) -> SimulatedMeter:
    return SimulatedMeter(lambda: now, security=MeterSecurity())


def _register(meter: SimulatedMeter, obis: ObisCode, instant: datetime) -> object:
    register = meter.find(obis)
    assert register is not None
    return register.get(2, RequestContext(now=instant)).value


async def test_profile_info_gives_columns_scalers_period_and_entries() -> None:
    meter = _meter()
    client = _client(meter)
    info = await read_profile_info(client, LOAD_PROFILE)
    assert [column.logical_name for column in info.columns] == [
        CLOCK,
        ACTIVE_ENERGY_IMPORT,
        ACTIVE_ENERGY_EXPORT,
    ]
    assert info.capture_period == 900
    assert info.profile_entries == 960
    assert info.entries_in_use == 960
    assert info.clock_column == 0
    assert info.status_column is None
    assert info.value_columns == (1, 2)
    assert info.scaler_units[1] is not None
    assert info.scaler_units[1].symbol == "Wh"
    await client.close()


async def test_six_hours_by_range_are_the_registers_at_each_quarter_hour() -> None:
    meter = _meter()
    client = _client(meter)
    info = await read_profile_info(client, LOAD_PROFILE)
    start = datetime(2024, 3, 10, 6, tzinfo=UTC)
    end = datetime(2024, 3, 10, 12, tzinfo=UTC)
    entries, by_entry = await read_profile_range(client, info, start, end, now=NOW)
    assert not by_entry
    assert [entry.timestamp for entry in entries] == [start + timedelta(minutes=15 * i) for i in range(25)]
    for entry in entries:
        assert entry.value(ACTIVE_ENERGY_IMPORT, info) == _register(
            meter, ACTIVE_ENERGY_IMPORT, entry.timestamp
        )
        assert entry.value(ACTIVE_ENERGY_EXPORT, info) == _register(
            meter, ACTIVE_ENERGY_EXPORT, entry.timestamp
        )
        assert entry.trusted
    await client.close()


class _NoRangeProfile(ProfileGeneric):
    """A profile that, like some meters, only takes the entry descriptor."""

    def get_selective(
        self, attribute: int, selection: SelectiveAccessDescriptor, context: RequestContext
    ) -> Data:
        if selection.access_selector == RangeDescriptor.ACCESS_SELECTOR:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "no range access")
        return super().get_selective(attribute, selection, context)


async def test_a_meter_without_range_access_is_read_by_entry() -> None:
    meter = _meter()
    profile = meter.find(LOAD_PROFILE)
    assert isinstance(profile, ProfileGeneric)
    meter.add(
        _NoRangeProfile(
            LOAD_PROFILE,
            profile.capture_objects,
            meter.find,
            meter.clock,
            capture_period=900,
            profile_entries=960,
        )
    )
    client = _client(meter)
    info = await read_profile_info(client, LOAD_PROFILE)
    start = datetime(2024, 3, 10, 6, tzinfo=UTC)
    end = datetime(2024, 3, 10, 12, tzinfo=UTC)
    entries, by_entry = await read_profile_range(client, info, start, end, now=NOW)
    assert by_entry
    assert [entry.timestamp for entry in entries] == [start + timedelta(minutes=15 * i) for i in range(25)]
    assert entries[-1].value(ACTIVE_ENERGY_IMPORT, info) == _register(meter, ACTIVE_ENERGY_IMPORT, end)
    await client.close()


async def test_rows_either_side_of_the_autumn_dst_change_keep_their_utc_instants() -> None:
    # Europe/Oslo leaves summer time at 01:00 UTC on 27 October 2024: local 02:00-03:00 happens twice.
    now = datetime(2024, 10, 27, 4, 3, tzinfo=UTC)
    meter = _meter(now)
    meter.clock.zone = ZoneInfo("Europe/Oslo")  # type: ignore[assignment]
    client = _client(meter)
    info = await read_profile_info(client, LOAD_PROFILE)
    start = datetime(2024, 10, 26, 23, tzinfo=UTC)
    end = datetime(2024, 10, 27, 3, tzinfo=UTC)
    entries, _ = await read_profile_range(client, info, start, end, now=now)
    stamps = [entry.timestamp for entry in entries]
    assert stamps == [start + timedelta(minutes=15 * i) for i in range(17)]
    local = [entry.meter_time for entry in entries]
    assert all(moment is not None for moment in local)
    offsets = {moment.utcoffset() for moment in local if moment is not None}
    assert offsets == {timedelta(hours=2), timedelta(hours=1)}
    wall = [moment.replace(tzinfo=None) for moment in local if moment is not None]
    assert len(set(wall)) < len(wall)  # the repeated local hour
    for entry in entries:
        assert entry.value(ACTIVE_ENERGY_IMPORT, info) == _register(
            meter, ACTIVE_ENERGY_IMPORT, entry.timestamp
        )
    await client.close()


@pytest.mark.parametrize("minutes", [-6, 4])
async def test_a_meter_clock_a_few_minutes_off_gives_the_boundaries(minutes: int) -> None:
    meter = _meter()
    meter.clock.offset = timedelta(minutes=minutes)
    client = _client(meter)
    info = await read_profile_info(client, LOAD_PROFILE)
    start = datetime(2024, 3, 10, 9, tzinfo=UTC)
    end = datetime(2024, 3, 10, 11, tzinfo=UTC)
    entries, _ = await read_profile_range(client, info, start, end, now=NOW)
    assert [entry.timestamp for entry in entries] == [start + timedelta(minutes=15 * i) for i in range(9)]
    for entry in entries:
        assert entry.meter_time is not None
        assert entry.meter_time - entry.timestamp == timedelta(minutes=minutes)
        assert entry.value(ACTIVE_ENERGY_IMPORT, info) == _register(
            meter, ACTIVE_ENERGY_IMPORT, entry.timestamp
        )
    await client.close()


def _stamp(moment: datetime) -> Data:
    return Data.octet_string(CosemDateTime.from_datetime(moment).to_bytes())


_INFO = ProfileInfo(
    LOAD_PROFILE,
    (
        CaptureObjectDefinition(8, CLOCK, 2),
        CaptureObjectDefinition(1, STATUS, 2),
        CaptureObjectDefinition(3, ACTIVE_ENERGY_IMPORT, 2),
    ),
    (None, None, ScalerUnit(1, 30)),
    3600,
    3,
    100,
)


def test_status_column_null_clock_and_scaler_are_understood() -> None:
    first = datetime(2024, 1, 1, 10, tzinfo=UTC)
    rows = (
        (_stamp(first), Data.unsigned(0), Data.double_long_unsigned(100)),
        (Data.null_data(), Data.unsigned(int(ProfileStatus.POWER_DOWN)), Data.double_long_unsigned(101)),
        (Data.null_data(), Data.unsigned(int(ProfileStatus.DATA_NOT_VALID)), Data.double_long_unsigned(7)),
    )
    entries = decode_entries(_INFO, ProfileBuffer(_INFO.columns, rows))
    assert [entry.timestamp for entry in entries] == [
        first,
        first + timedelta(hours=1),
        first + timedelta(hours=2),
    ]
    assert [entry.value(ACTIVE_ENERGY_IMPORT, _INFO) for entry in entries] == [1000, 1010, 70]
    assert [entry.trusted for entry in entries] == [True, True, False]
    assert entries[1].status == ProfileStatus.POWER_DOWN


def test_bad_rows_are_decode_errors() -> None:
    short = ((_stamp(datetime(2024, 1, 1, tzinfo=UTC)), Data.unsigned(0)),)
    with pytest.raises(DecodeError, match="2 values for 3 columns"):
        decode_entries(_INFO, ProfileBuffer(_INFO.columns, short))
    not_a_time = ((Data.unsigned(3), Data.unsigned(0), Data.double_long_unsigned(1)),)
    with pytest.raises(DecodeError, match="not a date-time"):
        decode_entries(_INFO, ProfileBuffer(_INFO.columns, not_a_time))
    naive = ((_stamp(datetime(2024, 1, 1)), Data.unsigned(0), Data.double_long_unsigned(1)),)
    with pytest.raises(DecodeError, match="no deviation"):
        decode_entries(_INFO, ProfileBuffer(_INFO.columns, naive))
    placed = decode_entries(_INFO, ProfileBuffer(_INFO.columns, naive), zone=ZoneInfo("Europe/Oslo"))
    assert placed[0].timestamp == datetime(2023, 12, 31, 23, tzinfo=UTC)


def test_rows_without_deviation_in_the_repeated_autumn_hour_are_placed_in_order() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    wall = [datetime(2024, 10, 27, 1, 45)] + [datetime(2024, 10, 27, 2, 15 * i) for i in range(4)] * 2
    wall.append(datetime(2024, 10, 27, 3, 0))
    info = ProfileInfo(LOAD_PROFILE, _INFO.columns, _INFO.scaler_units, 900, len(wall), 100)
    rows = tuple(
        (_stamp(moment), Data.unsigned(0), Data.double_long_unsigned(i)) for i, moment in enumerate(wall)
    )
    entries = decode_entries(info, ProfileBuffer(info.columns, rows), zone=oslo)
    first = datetime(2024, 10, 26, 23, 45, tzinfo=UTC)
    assert [entry.timestamp for entry in entries] == [first + timedelta(minutes=15 * i) for i in range(10)]
