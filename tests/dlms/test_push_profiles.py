"""Profile buffers inside pushed telegrams: found by structure, with the columns the telegram names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.push import PushLayout, extract_objects
from custom_components.dlms_cosem.dlms.push.profiles import pushed_profiles
from custom_components.dlms_cosem.dlms.units import ScalerUnit
from custom_components.dlms_cosem.positions import keyed_objects

CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
ENERGY = ObisCode(1, 0, 1, 8, 0, 255)
STATUS = ObisCode(0, 0, 96, 10, 1, 255)
PROFILE = ObisCode(1, 0, 99, 1, 0, 255)
WATT_HOUR = 30
TOP = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def definition(class_id: int, obis: ObisCode, attribute: int) -> Data:
    return Data.structure(
        Data.long_unsigned(class_id),
        Data.octet_string(obis.to_bytes()),
        Data.integer(attribute),
        Data.long_unsigned(0),
    )


def stamp(moment: datetime) -> Data:
    return Data.octet_string(CosemDateTime.from_datetime(moment).to_bytes())


def telegram_body(rows: list[tuple[datetime, int]], *, with_columns: bool = True) -> Data:
    listed = [(8, CLOCK, 2), (3, ENERGY, 2), (3, ENERGY, 3), (7, PROFILE, 2)]
    values = [
        stamp(TOP + timedelta(minutes=5)),
        Data.double_long_unsigned(rows[-1][1] + 42),
        ScalerUnit(0, WATT_HOUR).to_data(),
        Data.array(
            *(Data.structure(stamp(moment), Data.double_long_unsigned(value)) for moment, value in rows)
        ),
    ]
    if with_columns:
        listed.append((7, PROFILE, 3))
        values.append(Data.array(definition(8, CLOCK, 2), definition(3, ENERGY, 2)))
    return Data.structure(Data.array(*(definition(*entry) for entry in listed)), *values)


HOURS = [(TOP - timedelta(hours=2), 1000), (TOP - timedelta(hours=1), 1500), (TOP, 2250)]


def test_a_pushed_buffer_with_its_columns() -> None:
    content = extract_objects(telegram_body(HOURS))
    assert content.layout is PushLayout.OBJECT_LIST
    (profile,) = pushed_profiles(content.objects)
    assert profile.obis == PROFILE
    assert profile.columns == ((8, CLOCK, 2), (3, ENERGY, 2))
    assert [row[1].value for row in profile.rows] == [1000, 1500, 2250]
    # The buffer is history, not a value to show: it keys no sensor; the live register does.
    keyed = dict(keyed_objects(content.objects))
    assert PROFILE not in keyed
    assert keyed[ENERGY].value == 2292
    assert keyed[ENERGY].unit == "Wh"


def test_a_buffer_without_its_columns_is_left_out() -> None:
    content = extract_objects(telegram_body(HOURS, with_columns=False))
    assert pushed_profiles(content.objects) == []


def test_rows_that_do_not_fit_the_columns_are_left_out() -> None:
    body = Data.structure(
        Data.array(definition(7, PROFILE, 3), definition(7, PROFILE, 2)),
        Data.array(definition(8, CLOCK, 2), definition(3, ENERGY, 2)),
        Data.array(Data.structure(stamp(TOP), Data.double_long_unsigned(1), Data.unsigned(0))),
    )
    assert pushed_profiles(extract_objects(body).objects) == []
    empty = Data.structure(
        Data.array(definition(7, PROFILE, 3), definition(7, PROFILE, 2)),
        Data.array(definition(8, CLOCK, 2), definition(3, ENERGY, 2)),
        Data.array(),
    )
    (profile,) = pushed_profiles(extract_objects(empty).objects)
    assert profile.rows == ()
