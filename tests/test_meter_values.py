"""Values between the actions and the meter: JSON to A-XDR and back, and the clock's drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.dlms_cosem.dlms.axdr import Data, DataTag, encode_data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import DecodeError, EncodeError
from custom_components.dlms_cosem.meter_values import (
    VALUE_TYPES,
    clock_drift,
    clock_setting,
    data_from_json,
    data_to_json,
    meter_time,
)

CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("null_data", None, Data.null_data()),
        ("boolean", True, Data.boolean(True)),
        ("boolean", "false", Data.boolean(False)),
        ("integer", -5, Data.integer(-5)),
        ("unsigned", "200", Data.unsigned(200)),
        ("long_unsigned", 65535, Data.long_unsigned(65535)),
        ("double_long", -70000, Data.double_long(-70000)),
        ("enum", 2, Data.enum(2)),
        ("float64", 1.5, Data.float64(1.5)),
        ("octet_string", "0a 0B", Data.octet_string(b"\x0a\x0b")),
        ("visible_string", "RATE2", Data.visible_string("RATE2")),
        ("axdr", "0202110116FF", Data.structure(Data.unsigned(1), Data.enum(255))),
    ],
)
def test_values_take_their_type(type_name: str, value: object, expected: Data) -> None:
    data = data_from_json(type_name, value)
    assert data == expected
    assert encode_data(data) == encode_data(expected)


def test_date_time_is_written_as_a_clock_writes_it() -> None:
    data = data_from_json("date_time", "2026-12-03T02:30:00+01:00")
    assert data.tag is DataTag.OCTET_STRING
    assert isinstance(data.value, bytes)
    assert CosemDateTime.from_bytes(data.value).to_datetime() == datetime(2026, 12, 3, 2, 30, tzinfo=CET)


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("unsigned", 256),
        ("unsigned", -1),
        ("long", 1.5),
        ("integer", True),
        ("integer", "ten"),
        ("boolean", 2),
        ("float32", float("nan")),
        ("octet_string", "xyz"),
        ("visible_string", 12),
        ("date_time", "yesterday"),
        ("axdr", "02"),
        ("structure", [1]),
    ],
)
def test_values_that_do_not_fit_are_refused(type_name: str, value: object) -> None:
    with pytest.raises(EncodeError):
        data_from_json(type_name, value)


def test_every_offered_type_builds_a_value() -> None:
    samples = {"boolean": True, "octet_string": "00", "visible_string": "a", "utf8_string": "ä"}
    samples |= {"date_time": "2026-01-01T00:00:00", "axdr": "0F01", "float32": 1.0, "float64": 1.0}
    for name in VALUE_TYPES:
        data = data_from_json(name, samples.get(name, 1))
        assert encode_data(data)


def test_meter_values_become_json() -> None:
    instant = datetime(2026, 12, 3, 1, 2, 3, tzinfo=CET)
    value = Data.structure(
        Data.octet_string(b"\x01\xff"),
        Data.octet_string(b"SIM123"),
        Data.octet_string(CosemDateTime.from_datetime(instant).to_bytes()),
        Data.array(Data.long_unsigned(7), Data.boolean(False)),
        Data.bit_string([1, 0, 1]),
    )
    assert data_to_json(value) == ["01FF", "SIM123", "2026-12-03T01:02:03+01:00", [7, False], "101"]


def test_drift_and_the_time_to_set() -> None:
    now = datetime(2026, 12, 3, 1, 0, 0, tzinfo=UTC)
    slow = Data.octet_string(
        CosemDateTime.from_datetime((now - timedelta(seconds=90)).astimezone(CET)).to_bytes()
    )
    assert clock_drift(meter_time(slow, UTC), now) == -90.0
    setting = clock_setting(slow, now)
    assert isinstance(setting.value, bytes)
    written = CosemDateTime.from_bytes(setting.value).to_datetime()
    assert written == now
    assert written is not None
    assert written.utcoffset() == timedelta(hours=1)  # in the zone the meter shows

    # A meter without a deviation keeps local time: its time is read in Home Assistant's zone.
    local = Data.octet_string(CosemDateTime.from_datetime(datetime(2026, 12, 3, 2, 0, 30)).to_bytes())
    assert clock_drift(meter_time(local, CET), now) == 30.0
    naive = clock_setting(local, now.astimezone(CET))
    assert isinstance(naive.value, bytes)
    assert CosemDateTime.from_bytes(naive.value).to_datetime() == datetime(2026, 12, 3, 2, 0, 0)

    with pytest.raises(DecodeError):
        meter_time(Data.octet_string(b"\xff" * 12), UTC)
    with pytest.raises(DecodeError):
        meter_time(Data.long_unsigned(5), UTC)
