"""Registers pushed with their capture time (M-Bus channel readings): the time goes with the value.

Meters push an extended register's attributes 2 (value), 3 (scaler_unit), 4 (status) and 5
(capture_time), and a demand register's 2 to 6, either named by capture object definitions or as
``(OBIS, value, scaler_unit, capture_time)`` structures. The value keeps the register's code; the
scaler_unit and capture_time are given to it; a status never stands in for the value.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.list_identifiers import KAIFA
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.push import PushLayout, PushObject, apply_list_profile, extract_objects
from custom_components.dlms_cosem.dlms.units import ScalerUnit
from custom_components.dlms_cosem.positions import keyed_objects

GAS = ObisCode(0, 1, 24, 2, 1, 255)
DEMAND = ObisCode(1, 0, 1, 4, 0, 255)
CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
CUBIC_METRE = 14
WATT = 27
CAPTURED = datetime(2026, 3, 29, 1, 0, tzinfo=timezone(timedelta(hours=1)))
SENT = datetime(2026, 3, 29, 1, 7, 30, tzinfo=timezone(timedelta(hours=1)))


def date_time(moment: datetime) -> Data:
    return Data.octet_string(CosemDateTime.from_datetime(moment).to_bytes())


def definition(class_id: int, obis: ObisCode, attribute: int) -> Data:
    return Data.structure(
        Data.long_unsigned(class_id),
        Data.octet_string(obis.to_bytes()),
        Data.integer(attribute),
        Data.long_unsigned(0),
    )


def object_list_body(definitions: list[tuple[int, ObisCode, int]], values: list[Data]) -> Data:
    return Data.structure(Data.array(*(definition(*entry) for entry in definitions)), *values)


def test_extended_register_in_an_object_list() -> None:
    body = object_list_body(
        [(8, CLOCK, 2), (4, GAS, 2), (4, GAS, 3), (4, GAS, 4), (4, GAS, 5)],
        [
            date_time(SENT),
            Data.double_long_unsigned(1234567),
            ScalerUnit(-3, CUBIC_METRE).to_data(),
            Data.unsigned(0),
            date_time(CAPTURED),
        ],
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.OBJECT_LIST
    gas = [obj for obj in content.objects if obj.obis == GAS]
    assert [obj.attribute for obj in gas] == [2, 4]  # scaler_unit and capture_time folded into the value
    value = gas[0]
    assert value.value == pytest.approx(1234.567)
    assert value.unit == "m³"
    assert value.captured is not None
    assert value.captured.to_datetime() == CAPTURED
    assert gas[1].captured == value.captured  # the status belongs to the same capture
    keyed = dict(keyed_objects(content.objects))
    assert keyed[GAS] is value  # the status never stands in for the value
    assert keyed[CLOCK].captured is None


def test_status_before_the_value_does_not_take_its_place() -> None:
    body = object_list_body(
        [(4, GAS, 4), (4, GAS, 2), (4, GAS, 3)],
        [Data.unsigned(8), Data.double_long_unsigned(500), ScalerUnit(0, CUBIC_METRE).to_data()],
    )
    keyed = dict(keyed_objects(extract_objects(body).objects))
    assert keyed[GAS].value == 500
    assert keyed[GAS].attribute == 2


def test_demand_register_scaler_unit_is_attribute_4_and_capture_time_6() -> None:
    body = object_list_body(
        [(5, DEMAND, 2), (5, DEMAND, 3), (5, DEMAND, 4), (5, DEMAND, 6)],
        [
            Data.double_long_unsigned(1500),
            Data.double_long_unsigned(1400),
            ScalerUnit(-1, WATT).to_data(),
            date_time(CAPTURED),
        ],
    )
    objects = [obj for obj in extract_objects(body).objects if obj.obis == DEMAND]
    assert [(obj.attribute, obj.value, obj.unit) for obj in objects] == [(2, 150.0, "W"), (3, 140.0, "W")]
    assert all(obj.captured is not None and obj.captured.to_datetime() == CAPTURED for obj in objects)
    assert dict(keyed_objects(objects))[DEMAND].value == 150.0  # the current average is the value


def test_attribute_3_of_a_demand_register_is_a_value_not_a_scaler_unit() -> None:
    body = object_list_body(
        [(5, DEMAND, 3), (5, DEMAND, 4)], [Data.long_unsigned(7), ScalerUnit(0, WATT).to_data()]
    )
    objects = extract_objects(body).objects
    assert [(obj.attribute, obj.value, obj.unit) for obj in objects] == [(3, 7, "W")]


def test_described_values_with_capture_time() -> None:
    body = Data.array(
        Data.structure(definition(4, GAS, 2), Data.double_long_unsigned(42)),
        Data.structure(definition(4, GAS, 5), date_time(CAPTURED)),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.DESCRIBED_VALUES
    (gas,) = content.objects
    assert gas.value == 42
    assert gas.captured is not None
    assert gas.captured.to_datetime() == CAPTURED


def test_structure_with_capture_time() -> None:
    body = Data.array(
        Data.structure(Data.octet_string(CLOCK.to_bytes()), date_time(SENT)),
        Data.structure(
            Data.octet_string(GAS.to_bytes()),
            Data.double_long_unsigned(98765),
            ScalerUnit(-2, CUBIC_METRE).to_data(),
            date_time(CAPTURED),
        ),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.STRUCTURED
    gas = dict(keyed_objects(content.objects))[GAS]
    assert gas.value == pytest.approx(987.65)
    assert gas.captured is not None
    assert gas.captured.to_datetime() == CAPTURED
    assert content.clock() is not None


def test_a_fourth_member_that_is_no_time_is_not_this_layout() -> None:
    body = Data.array(
        Data.structure(
            Data.octet_string(GAS.to_bytes()),
            Data.double_long_unsigned(1),
            ScalerUnit(0, CUBIC_METRE).to_data(),
            Data.unsigned(3),
        )
    )
    assert extract_objects(body).layout is not PushLayout.STRUCTURED


def test_capture_time_not_specified_gives_no_time() -> None:
    unspecified = Data.octet_string(bytes([0xFF] * 9) + bytes([0x80, 0x00, 0xFF]))
    body = object_list_body([(4, GAS, 2), (4, GAS, 5)], [Data.double_long_unsigned(5), unspecified])
    keyed = dict(keyed_objects(extract_objects(body).objects))
    gas = keyed[GAS]
    assert gas.value == 5  # the value keeps the code
    assert gas.captured is None or gas.captured.to_datetime() is None


def test_a_list_profile_keeps_the_capture_time() -> None:
    moment = CosemDateTime.from_datetime(CAPTURED)
    pushed = [PushObject(ObisCode(1, 0, 1, 8, 0, 255), Data.double_long_unsigned(7), captured=moment)]
    (fixed,) = apply_list_profile(KAIFA, pushed)
    assert fixed.captured == moment
    assert fixed.scaler_unit is not None  # the list identifier gave the scaler
