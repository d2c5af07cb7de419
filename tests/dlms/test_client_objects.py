"""Object list, register and profile parsing; robustness of the client connection against any answer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu import (
    AARQ,
    ApduTag,
    ApplicationContextName,
    CaptureObjectDefinition,
    Conformance,
    CosemAttributeDescriptor,
    InitiateResponse,
)
from custom_components.dlms_cosem.dlms.axdr import BitString, Data, TypeDescription
from custom_components.dlms_cosem.dlms.client import (
    AttributeReference,
    Authentication,
    ClientConnection,
    ClientSettings,
    InvalidSettingsError,
    parse_capture_objects,
    parse_object_list,
    parse_profile_rows,
    register_value,
)
from custom_components.dlms_cosem.dlms.client.objects import as_obis, as_selection
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys, protect
from custom_components.dlms_cosem.dlms.units import ScalerUnit

from .test_client_connection import _aare

ASSOCIATION = ObisCode(0, 0, 40, 0, 0, 255)
ENERGY = ObisCode(1, 0, 1, 8, 0, 255)
KEYS = SecurityKeys(bytes(range(16)), bytes(range(16, 32)))
METER_TITLE = b"MTR\x00\x00\x00\x00\x01"


def _entry(class_id: int, version: int, obis: ObisCode, modes: list[tuple[int, int]]) -> Data:
    return Data.structure(
        Data.long_unsigned(class_id),
        Data.unsigned(version),
        Data.octet_string(obis.to_bytes()),
        Data.structure(
            Data.array(
                *(
                    Data.structure(Data.integer(attribute), Data.enum(mode), Data.null_data())
                    for attribute, mode in modes
                )
            ),
            Data.array(),
        ),
    )


def test_object_list_access_modes_follow_the_association_version() -> None:
    # Version 3 of Association LN encodes access modes as bit flags: 4 is "authenticated request" only.
    for version, readable_modes in [(2, {1, 3, 4, 6}), (3, {1, 3, 5, 7})]:
        modes = [(attribute, attribute - 1) for attribute in range(1, 9)]
        entries = parse_object_list(
            Data.array(_entry(15, version, ASSOCIATION, [(1, 1)]), _entry(3, 0, ENERGY, modes))
        )
        energy = entries[1]
        assert energy.association_version == version
        assert {mode for attribute, mode in modes if energy.readable(attribute)} == readable_modes
        assert not energy.readable(20)
        assert not energy.writable(20)


def test_object_list_without_access_rights_and_with_compact_integers() -> None:
    entry = Data.structure(Data.long_unsigned(1), Data.unsigned(0), Data.octet_string(ENERGY.to_bytes()))
    (parsed,) = parse_object_list(Data.array(entry))
    assert parsed.attribute_access == ()
    assert parsed.association_version == 0


@pytest.mark.parametrize(
    "bad",
    [
        Data.octet_string(b"x"),
        Data.array(Data.unsigned(1)),
        Data.array(Data.structure(Data.long_unsigned(1), Data.unsigned(0))),
        Data.array(Data.structure(Data.long_unsigned(1), Data.unsigned(0), Data.octet_string(b"short"))),
        Data.array(Data.structure(Data.long_unsigned(1), Data.unsigned(0), Data.visible_string("abcdef"))),
        Data.array(
            Data.structure(Data.boolean(True), Data.unsigned(0), Data.octet_string(ENERGY.to_bytes()))
        ),
        Data.array(Data.structure(Data.long(-1), Data.unsigned(0), Data.octet_string(ENERGY.to_bytes()))),
        Data.array(
            Data.structure(
                Data.long_unsigned(1),
                Data.unsigned(0),
                Data.octet_string(ENERGY.to_bytes()),
                Data.structure(Data.array()),
            )
        ),
        Data.array(
            Data.structure(
                Data.long_unsigned(1),
                Data.unsigned(0),
                Data.octet_string(ENERGY.to_bytes()),
                Data.structure(Data.array(Data.structure(Data.integer(1))), Data.array()),
            )
        ),
        Data.array(
            Data.structure(
                Data.long_unsigned(1),
                Data.unsigned(0),
                Data.octet_string(ENERGY.to_bytes()),
                Data.structure(
                    Data.array(), Data.array(Data.structure(Data.integer(1), Data.octet_string(b"")))
                ),
            )
        ),
    ],
)
def test_malformed_object_lists_are_decode_errors(bad: Data) -> None:
    with pytest.raises(DecodeError):
        parse_object_list(bad)


def test_register_value_scaling_and_plain_values() -> None:
    watt_hours = ScalerUnit(3, 30)
    value = register_value(ENERGY, Data.double_long_unsigned(12), watt_hours)
    assert (value.value, value.unit) == (12000, "Wh")
    assert register_value(ENERGY, Data.float32(2.5), ScalerUnit(-1, 35)).value == 0.25
    assert register_value(ENERGY, Data.enum(3), watt_hours).value == 3  # an enum is not a quantity
    text = register_value(ENERGY, Data.visible_string("on"), watt_hours)
    assert (text.value, text.unit) == ("on", "Wh")
    assert register_value(ENERGY, Data.boolean(True), None).value is True
    bits = register_value(ENERGY, Data.bit_string(BitString.from_bits([1, 0])), None)
    assert bits.unit is None
    assert bits.scaler_unit is None


def test_profile_parsing() -> None:
    columns = (
        CaptureObjectDefinition(8, ObisCode(0, 0, 1, 0, 0, 255), 2),
        CaptureObjectDefinition(3, ENERGY, 2),
    )
    assert parse_capture_objects(Data.array(*(column.to_data() for column in columns))) == columns
    rows = Data.compact_array(
        TypeDescription.structure(TypeDescription.simple(Data.unsigned(0).tag)),
        Data.structure(Data.unsigned(1)),
        Data.structure(Data.unsigned(2)),
    )
    assert parse_profile_rows(rows) == ((Data.unsigned(1),), (Data.unsigned(2),))
    with pytest.raises(DecodeError):
        parse_profile_rows(Data.array(Data.unsigned(1)))
    with pytest.raises(DecodeError):
        parse_capture_objects(Data.array(Data.unsigned(1)))


def test_references() -> None:
    assert as_obis("1-0:1.8.0") == ENERGY
    assert as_obis(ENERGY) is ENERGY
    assert as_selection(None) is None
    descriptor = AttributeReference(ENERGY, 3, 3).descriptor()
    assert descriptor.attribute == CosemAttributeDescriptor(3, ENERGY, 3)
    assert descriptor.access_selection is None
    with pytest.raises(DecodeError):
        as_obis("not an obis code")


def test_calling_ap_title_is_sent_with_hls_gmac_by_default() -> None:
    settings = ClientSettings(
        authentication=Authentication.HLS_GMAC, keys=KEYS, client_system_title=b"ABC12345"
    )
    aarq = AARQ.decode(ClientConnection(settings).associate().request)
    assert aarq.calling_ap_title == b"ABC12345"
    assert AARQ.decode(ClientConnection(ClientSettings()).associate().request).calling_ap_title is None
    forced = ClientSettings(send_system_title=True, client_system_title=b"ABC12345")
    assert AARQ.decode(ClientConnection(forced).associate().request).calling_ap_title == b"ABC12345"
    with pytest.raises(InvalidSettingsError):
        ClientSettings(keys=KEYS, ciphered=True, send_system_title=False)


# --- robustness: any answer gives a result or a DlmsError ---------------------------------------------


def _associated(ciphered: bool) -> ClientConnection:
    if not ciphered:
        connection = ClientConnection(ClientSettings())
        connection.associate().receive(_aare(Conformance.from_block_bytes(bytes.fromhex("007e1f")), 1024))
        return connection
    connection = ClientConnection(ClientSettings(keys=KEYS, ciphered=True))
    initiate = protect(
        ApduTag.GLO_INITIATE_RESPONSE,
        InitiateResponse(Conformance.from_block_bytes(bytes.fromhex("007e1f")), 1024).encode(),
        KEYS,
        system_title=METER_TITLE,
        invocation_counter=1,
    ).encode()
    connection.associate().receive(
        _aare(
            title=METER_TITLE,
            context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
            user_information=initiate,
        )
    )
    return connection


_PREFIXES = st.sampled_from(
    [b"", b"\xc4\x01\xc1", b"\xc4\x02\xc1", b"\xc4\x03\xc1", b"\x61", b"\xd8", b"\x0e", b"\xcc"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=_PREFIXES, tail=st.binary(max_size=64), ciphered=st.booleans(), many=st.booleans())
def test_any_answer_gives_a_value_or_a_dlms_error(
    prefix: bytes, tail: bytes, ciphered: bool, many: bool
) -> None:
    connection = _associated(ciphered)
    attributes = [CosemAttributeDescriptor(3, ENERGY, 2), CosemAttributeDescriptor(3, ENERGY, 3)]
    operation = connection.get_many(attributes) if many else connection.get(attributes[0])
    try:
        follow_up = operation.receive(prefix + tail)
    except DlmsError:
        assert operation.done
        return
    if follow_up is None:
        assert operation.result() is not None


@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=80), ciphered=st.booleans())
def test_any_association_answer_gives_a_context_or_a_dlms_error(tail: bytes, ciphered: bool) -> None:
    settings_ = ClientSettings(keys=KEYS, ciphered=True) if ciphered else ClientSettings()
    connection = ClientConnection(settings_)
    operation = connection.associate()
    try:
        operation.receive(b"\x61" + bytes([len(tail)]) + tail)
    except DlmsError:
        assert not connection.associated
        return
    assert connection.associated
