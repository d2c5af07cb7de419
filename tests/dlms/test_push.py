"""Objects from notification bodies in each layout real meters use."""

from __future__ import annotations

from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.push import PushLayout, extract_objects
from custom_components.dlms_cosem.dlms.units import Unit

CLOCK_BYTES = bytes.fromhex("07E5091B01092F0F00FF8880")


def obis(text: str) -> Data:
    return Data.octet_string(ObisCode.parse(text).to_bytes())


def scaler_unit(scaler: int, unit: int) -> Data:
    return Data.structure(Data.integer(scaler), Data.enum(unit))


def summary(body: Data) -> list[tuple[str | None, object, str | None]]:
    content = extract_objects(body)
    return [(str(o.obis) if o.obis else None, o.value, o.unit) for o in content.objects]


def test_structured_layout_with_and_without_scaler_unit() -> None:
    body = Data.array(
        Data.structure(obis("1.1.0.2.129.255"), Data.visible_string("AIDON_V0001")),
        Data.structure(obis("1.0.1.7.0.255"), Data.double_long_unsigned(1122), scaler_unit(0, Unit.WATT)),
        Data.structure(obis("1.0.32.7.0.255"), Data.long_unsigned(2307), scaler_unit(-1, Unit.VOLT)),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.STRUCTURED
    assert content.list_identifier == "AIDON_V0001"
    assert summary(body) == [
        ("1.1.0.2.129.255", "AIDON_V0001", None),
        ("1.0.1.7.0.255", 1122, "W"),
        ("1.0.32.7.0.255", 230.7, "V"),
    ]


def test_flat_obis_value_sequence_with_optional_scaler_units_and_bare_values() -> None:
    body = Data.structure(
        Data.octet_string(CLOCK_BYTES),
        obis("1.0.1.8.0.255"),
        Data.double_long_unsigned(12937),
        scaler_unit(0, Unit.WATT_HOUR),
        obis("1.0.13.7.0.255"),
        Data.long_unsigned(1000),
        scaler_unit(-3, 255),
        obis("0.0.96.1.0.255"),
        Data.octet_string(b"181220000009"),
        Data.visible_string("trailing"),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.OBIS_VALUE_SEQUENCE
    rows = summary(body)
    assert rows[0][0] is None
    assert isinstance(rows[0][1], CosemDateTime)
    assert rows[1:] == [
        ("1.0.1.8.0.255", 12937, "Wh"),
        ("1.0.13.7.0.255", 1.0, None),
        ("0.0.96.1.0.255", "181220000009", None),
        (None, "trailing", None),
    ]
    clock = content.clock()
    assert clock is not None
    as_datetime = clock.to_datetime()
    assert as_datetime is not None
    assert as_datetime.isoformat() == "2021-09-27T09:47:15+02:00"


def test_push_object_list_followed_by_values() -> None:
    entries = Data.array(
        Data.structure(Data.long_unsigned(8), obis("0.0.1.0.0.255"), Data.integer(2), Data.long_unsigned(0)),
        Data.structure(Data.long_unsigned(3), obis("1.0.1.8.0.255"), Data.integer(2), Data.long_unsigned(0)),
        Data.structure(Data.long_unsigned(1), obis("0.0.96.1.0.255"), Data.integer(2), Data.long_unsigned(0)),
    )
    body = Data.structure(
        entries,
        Data.octet_string(CLOCK_BYTES),
        Data.double_long_unsigned(5000),
        Data.octet_string(b"SN123"),
    )
    content = extract_objects(body)
    assert content.layout is PushLayout.OBJECT_LIST
    assert [(str(o.obis), o.class_id, o.attribute) for o in content.objects] == [
        ("0.0.1.0.0.255", 8, 2),
        ("1.0.1.8.0.255", 3, 2),
        ("0.0.96.1.0.255", 1, 2),
    ]
    assert content.objects[1].value == 5000
    assert content.objects[2].value == "SN123"
    assert content.clock() is not None


def test_bare_values_are_kept_in_order_without_obis() -> None:
    body = Data.structure(Data.long_unsigned(7), Data.octet_string(b"\x01\xff"), Data.boolean(True))
    content = extract_objects(body)
    assert content.layout is PushLayout.BARE_VALUES
    assert [(o.obis, o.raw) for o in content.objects] == [(None, 7), (None, b"\x01\xff"), (None, True)]


def test_single_value_body() -> None:
    content = extract_objects(Data.double_long_unsigned(42))
    assert [(o.obis, o.value) for o in content.objects] == [(None, 42)]


def test_kaifa_list_identifier_fixes_obis_codes_and_scalers() -> None:
    """KFM_001 list 2, three-phase: bare values whose meaning the list identifier fixes."""
    body = Data.structure(
        Data.visible_string("KFM_001"),
        Data.visible_string("6970631400000000"),
        Data.visible_string("MA304H3E"),
        Data.double_long_unsigned(1563),
        Data.double_long_unsigned(0),
        Data.double_long_unsigned(0),
        Data.double_long_unsigned(223),
        Data.double_long_unsigned(6848),
        Data.double_long_unsigned(1201),
        Data.double_long_unsigned(2343),
        Data.double_long_unsigned(2327),
        Data.double_long_unsigned(0),
        Data.double_long_unsigned(2328),
    )
    content = extract_objects(body)
    assert content.list_identifier == "KFM_001"
    values = {str(o.obis): (o.value, o.unit) for o in content.objects}
    assert values["1.1.0.2.129.255"] == ("KFM_001", None)
    assert values["0.0.96.1.0.255"] == ("6970631400000000", None)
    assert values["1.0.1.7.0.255"] == (1563, "W")
    assert values["1.0.4.7.0.255"] == (223, "var")
    assert values["1.0.31.7.0.255"] == (6.848, "A")
    assert values["1.0.32.7.0.255"] == (232.7, "V")
    assert values["1.0.72.7.0.255"] == (232.8, "V")


def test_kamstrup_ct_meter_currents_are_in_milliamperes() -> None:
    body = Data.structure(
        Data.visible_string("Kamstrup_V0001"),
        obis("1.1.96.1.1.255"),
        Data.visible_string("6851638BN243101040"),
        obis("1.1.31.7.0.255"),
        Data.double_long_unsigned(1234),
        obis("1.1.1.8.0.255"),
        Data.double_long_unsigned(5),
    )
    values = {o: (v, u) for o, v, u in summary(body)}
    assert values["1.1.31.7.0.255"] == (1.234, "A")
    assert values["1.1.1.8.0.255"] == (50, "Wh")


def test_unknown_list_identifier_changes_nothing() -> None:
    body = Data.structure(Data.visible_string("ACME_V9"), obis("1.0.31.7.0.255"), Data.long_unsigned(5))
    content = extract_objects(body)
    assert content.list_identifier is None
    assert summary(body)[1] == ("1.0.31.7.0.255", 5, None)
