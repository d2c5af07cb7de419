"""The sans-I/O simulator server against APDUs built with the stack's own codecs (and public vectors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    DEFAULT_CLIENT_CONFORMANCE,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    CaptureObjectDefinition,
    ConfirmedServiceError,
    Conformance,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataAccessResult,
    EntryDescriptor,
    ExceptionResponse,
    ExceptionServiceError,
    GetDatablockReassembler,
    GetListDatablockReassembler,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateError,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    RangeDescriptor,
    SelectiveAccessDescriptor,
    SetRequestNormal,
    SetRequestWithList,
    SetResponseNormal,
    SetResponseWithList,
    StateError,
    decode_apdu,
)
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import (
    SecurityKeys,
    decode_ciphered_apdu,
    hls_gmac_response,
    protect,
    unprotect,
    verify_hls_gmac_response,
)
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_EXPORT,
    ACTIVE_POWER_IMPORT,
    CLOCK,
    CURRENT_ASSOCIATION,
    CURRENTS,
    FRAME_COUNTER,
    FREQUENCY,
    LAST_AVERAGE_DEMAND_IMPORT,
    LOAD_PROFILE,
    LOGICAL_DEVICE_NAME,
    SECURITY_SETUP,
    SERIAL_NUMBER,
    VOLTAGES,
    AccessLevel,
    AssociationStatus,
    MeterSecurity,
    SimulatedMeter,
    seconds_since_reference,
)
from custom_components.dlms_cosem.dlms.simulator.server import SERVER_CONFORMANCE, ServerConnection

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "public_vectors.json").read_text())
APDU = {vector["id"]: vector for vector in VECTORS["apdu"]}
CRYPTO = {vector["id"]: vector for vector in VECTORS["crypto"]}
AARQ_NO_SECURITY = bytes.fromhex(APDU["aarq-no-security"]["hex"])
AARQ_LLS = bytes.fromhex(APDU["aarq-lls"]["hex"])
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEYS = SecurityKeys(EK, AK)
SERVER_TITLE = bytes.fromhex("53494D0000000001")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000BC614E")
NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_meter(clock: FrozenClock | None = None, **security: Any) -> SimulatedMeter:
    settings_ = {"system_title": SERVER_TITLE, **security}
    return SimulatedMeter(clock or FrozenClock(), serial="12345678", security=MeterSecurity(**settings_))


def aarq(
    *,
    mechanism: AuthenticationMechanism | None = None,
    value: bytes | None = None,
    max_pdu: int = 0xFFFF,
    conformance: Conformance = DEFAULT_CLIENT_CONFORMANCE,
    context: ApplicationContextName = ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING,
    title: bytes | None = None,
    version: int = 6,
    user_information: InitiateRequest | bytes | None = None,
) -> bytes:
    if user_information is None:
        user_information = InitiateRequest(conformance, max_pdu, version)
    return AARQ(
        application_context_name=context,
        user_information=user_information,
        mechanism_name=mechanism,
        calling_authentication_value=value,
        calling_ap_title=title,
    ).encode()


def answer(connection: ServerConnection, request: bytes) -> Any:
    response = connection.handle(request)
    assert response is not None
    return decode_apdu(response)


def get(
    connection: ServerConnection, class_id: int, obis: ObisCode, attribute: int = 2, **kwargs: Any
) -> Any:
    response = answer(
        connection, GetRequestNormal(CosemAttributeDescriptor(class_id, obis, attribute), **kwargs).encode()
    )
    assert isinstance(response, GetResponseNormal)
    return response.result


def associate(connection: ServerConnection, request: bytes = AARQ_NO_SECURITY) -> AARE:
    response = answer(connection, request)
    assert isinstance(response, AARE)
    assert response.result is AssociationResult.ACCEPTED
    return response


def rejected(connection: ServerConnection, request: bytes) -> AARE:
    response = answer(connection, request)
    assert isinstance(response, AARE)
    assert response.result is AssociationResult.REJECTED_PERMANENT
    assert not connection.associated
    return response


# --- association ------------------------------------------------------------------------------------


def test_aarq_without_security_is_accepted_with_negotiated_conformance() -> None:
    connection = ServerConnection(make_meter())
    aare = associate(connection)
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.NULL
    assert aare.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING
    assert aare.mechanism_name is None
    initiate = aare.user_information
    assert isinstance(initiate, InitiateResponse)
    proposed = Conformance.from_block_bytes(bytes.fromhex("007e1f"))
    assert initiate.negotiated_conformance == proposed & SERVER_CONFORMANCE
    assert initiate.negotiated_conformance.block_bytes() == bytes.fromhex("00521d")
    assert initiate.server_max_receive_pdu_size == 1024
    assert initiate.vaa_name == 0x0007
    assert connection.associated
    assert connection.client_max_receive_pdu_size == 0x04B0  # from the vector


def test_lls_with_the_password_from_the_vector() -> None:
    connection = ServerConnection(
        make_meter(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    )
    aare = associate(connection, AARQ_LLS)
    assert aare.mechanism_name is AuthenticationMechanism.LOW_LEVEL
    assert get(connection, 7, LOAD_PROFILE, 4) == Data.double_long_unsigned(900)


def test_lls_wrong_password_is_an_authentication_failure() -> None:
    connection = ServerConnection(
        make_meter(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"87654321")
    )
    aare = rejected(connection, AARQ_LLS)
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert answer(connection, GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()) == (
        ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE)
    )


def test_public_client_sees_a_read_only_subset() -> None:
    meter = make_meter(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    connection = ServerConnection(meter)
    associate(connection)
    assert get(connection, 1, SERIAL_NUMBER) == Data.octet_string(b"12345678")
    assert get(connection, 7, LOAD_PROFILE) is DataAccessResult.READ_WRITE_DENIED
    clock = CosemDateTime.from_datetime(NOW.astimezone(CET))
    result = answer(
        connection,
        SetRequestNormal(CosemAttributeDescriptor(8, CLOCK, 2), Data.octet_string(clock.to_bytes())).encode(),
    )
    assert result.result is DataAccessResult.READ_WRITE_DENIED
    object_list = get(connection, 15, CURRENT_ASSOCIATION)
    names = {ObisCode.from_bytes(entry.value[2].value) for entry in object_list.value}
    assert SERIAL_NUMBER in names
    assert LOAD_PROFILE not in names


def test_public_client_refused_when_the_meter_has_none() -> None:
    meter = make_meter(
        authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678", allow_public_client=False
    )
    aare = rejected(ServerConnection(meter), AARQ_NO_SECURITY)
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED


def test_unsupported_mechanism_is_not_recognised() -> None:
    meter = make_meter(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    request = aarq(mechanism=AuthenticationMechanism.HIGH_LEVEL_GMAC, value=b"K56iVagY", title=CLIENT_TITLE)
    aare = rejected(ServerConnection(meter), request)
    assert (
        aare.result_source_diagnostic
        is AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
    )


@pytest.mark.parametrize(
    "request_bytes",
    [
        aarq(context=ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING),
        # Logical name referencing with ciphering, but the meter has no keys.
        aarq(context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING, title=CLIENT_TITLE),
        # An application context OID the decoder does not know (2.16.756.5.8.1.9).
        AARQ_NO_SECURITY.replace(
            bytes.fromhex("a109060760857405080101"), bytes.fromhex("a109060760857405080109")
        ),
    ],
)
def test_unknown_context_is_application_context_name_not_supported(request_bytes: bytes) -> None:
    aare = rejected(ServerConnection(make_meter()), request_bytes)
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED


def test_old_dlms_version_is_refused_with_an_initiate_error() -> None:
    aare = rejected(ServerConnection(make_meter()), aarq(version=5))
    assert aare.user_information == ConfirmedServiceError.decode(bytes.fromhex("0e010601"))
    assert aare.encode() == bytes.fromhex(APDU["aare-rejected"]["hex"])


def test_tiny_max_pdu_is_refused() -> None:
    aare = rejected(ServerConnection(make_meter()), aarq(max_pdu=32))
    assert isinstance(aare.user_information, ConfirmedServiceError)
    assert aare.user_information.value == InitiateError.PDU_SIZE_TOO_SHORT


def test_not_associated_gets_exception_response() -> None:
    connection = ServerConnection(make_meter())
    request = GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()
    assert answer(connection, request) == ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
    )
    associate(connection)
    assert get(connection, 1, SERIAL_NUMBER) == Data.octet_string(b"12345678")
    connection.drop_association()
    assert isinstance(answer(connection, request), ExceptionResponse)


def test_release() -> None:
    connection = ServerConnection(make_meter())
    associate(connection)
    assert answer(connection, RLRQ().encode()) == RLRE()
    assert not connection.associated
    assert isinstance(
        answer(connection, GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()),
        ExceptionResponse,
    )


def test_a_new_aarq_replaces_the_association() -> None:
    connection = ServerConnection(make_meter())
    associate(connection, aarq(max_pdu=200))
    associate(connection, aarq(max_pdu=300))
    assert connection.client_max_receive_pdu_size == 300


# --- GET ----------------------------------------------------------------------------------------------


def test_get_every_default_object() -> None:
    clock = FrozenClock()
    meter = make_meter(clock)
    connection = ServerConnection(meter)
    associate(connection)
    s = seconds_since_reference(NOW)
    power = meter.electricity
    assert get(connection, 1, LOGICAL_DEVICE_NAME) == Data.octet_string(b"SIM12345678")
    assert get(connection, 1, SERIAL_NUMBER) == Data.octet_string(b"12345678")
    assert get(connection, 1, FRAME_COUNTER) == Data.double_long_unsigned(0)
    clock_value = get(connection, 8, CLOCK)
    assert clock_value.tag is DataTag.OCTET_STRING
    shown = CosemDateTime.from_bytes(clock_value.value)
    assert shown.to_datetime() == NOW
    assert shown.deviation == -60
    assert get(connection, 8, CLOCK, 3) == Data.long(-60)
    expected_registers = {
        ACTIVE_ENERGY_IMPORT: (int(power.import_energy(s)), 0, 30),
        ACTIVE_ENERGY_EXPORT: (int(power.export_energy(s)), 0, 30),
        ACTIVE_POWER_IMPORT: (round(power.import_power(s)), 0, 27),
        ACTIVE_POWER_EXPORT: (round(power.export_power(s)), 0, 27),
        FREQUENCY: (round(power.frequency(s) * 100), -2, 44),
    }
    for phase in range(3):
        expected_registers[VOLTAGES[phase]] = (round(power.voltage(phase, s) * 10), -1, 35)
        expected_registers[CURRENTS[phase]] = (round(power.current(phase, s) * 100), -2, 33)
    for obis, (value, scaler, unit) in expected_registers.items():
        assert get(connection, 3, obis).value == value, obis
        assert get(connection, 3, obis, 3) == Data.structure(Data.integer(scaler), Data.enum(unit)), obis
    for obis in VOLTAGES:
        assert 2200 <= get(connection, 3, obis).value <= 2400
    assert 4990 <= get(connection, 3, FREQUENCY).value <= 5010
    assert get(connection, 3, ACTIVE_ENERGY_IMPORT).value > 4_000_000
    demand = get(connection, 4, LAST_AVERAGE_DEMAND_IMPORT)
    assert demand.value > 0
    captured = CosemDateTime.from_bytes(get(connection, 4, LAST_AVERAGE_DEMAND_IMPORT, 5).value)
    assert captured.to_datetime() == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert get(connection, 64, SECURITY_SETUP, 5) == Data.octet_string(SERVER_TITLE)
    assert get(connection, 7, LOAD_PROFILE, 7) == Data.double_long_unsigned(960)
    assert get(connection, 7, LOAD_PROFILE, 8) == Data.double_long_unsigned(960)
    capture_objects = get(connection, 7, LOAD_PROFILE, 3)
    assert [CaptureObjectDefinition.from_data(item).logical_name for item in capture_objects.value] == [
        CLOCK,
        ACTIVE_ENERGY_IMPORT,
        ACTIVE_ENERGY_EXPORT,
    ]
    # Logical names (attribute 1) of everything in the object list.
    object_list = get(connection, 15, CURRENT_ASSOCIATION)
    assert len(object_list.value) == len(meter.objects)
    for entry in object_list.value:
        class_id, _version, name, rights = entry.value
        logical_name = ObisCode.from_bytes(name.value)
        assert get(connection, class_id.value, logical_name, 1) == Data.octet_string(logical_name.to_bytes())
        attribute_rights = rights.value[0].value
        assert attribute_rights[0].value[1] == Data.enum(1)  # logical name: read-only


def test_values_move_with_time() -> None:
    clock = FrozenClock()
    connection = ServerConnection(make_meter(clock))
    associate(connection)
    before = get(connection, 3, ACTIVE_ENERGY_IMPORT).value
    clock.now = NOW + timedelta(hours=1)
    after = get(connection, 3, ACTIVE_ENERGY_IMPORT).value
    assert 70 <= after - before <= 1130  # between the minimum and maximum power for an hour
    assert CosemDateTime.from_bytes(get(connection, 8, CLOCK).value).to_datetime() == NOW + timedelta(hours=1)


def test_association_ln_attributes() -> None:
    connection = ServerConnection(make_meter(), client_sap=16, server_sap=1)
    associate(connection)
    assert get(connection, 15, CURRENT_ASSOCIATION, 3) == Data.structure(
        Data.integer(16), Data.long_unsigned(1)
    )
    context = get(connection, 15, CURRENT_ASSOCIATION, 4)
    assert [item.value for item in context.value] == [2, 16, 756, 5, 8, 1, 1]
    mechanism = get(connection, 15, CURRENT_ASSOCIATION, 6)
    assert [item.value for item in mechanism.value] == [2, 16, 756, 5, 8, 2, 0]
    assert get(connection, 15, CURRENT_ASSOCIATION, 8) == Data.enum(AssociationStatus.ASSOCIATED)
    xdlms = get(connection, 15, CURRENT_ASSOCIATION, 5)
    assert xdlms.value[0].value.data == bytes.fromhex("00521d")
    assert xdlms.value[2] == Data.long_unsigned(0x04B0)
    assert (
        get(connection, 15, CURRENT_ASSOCIATION, 7) is DataAccessResult.READ_WRITE_DENIED
    )  # write-only secret


def test_get_errors() -> None:
    connection = ServerConnection(make_meter())
    associate(connection)
    assert get(connection, 3, ObisCode(1, 0, 99, 99, 0, 255)) is DataAccessResult.OBJECT_UNDEFINED
    assert get(connection, 1, ACTIVE_ENERGY_IMPORT) is DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert get(connection, 3, ACTIVE_ENERGY_IMPORT, 9) is DataAccessResult.OBJECT_UNDEFINED
    selection = SelectiveAccessDescriptor.of(EntryDescriptor(1, 1))
    assert (
        get(connection, 3, ACTIVE_ENERGY_IMPORT, access_selection=selection) is DataAccessResult.OTHER_REASON
    )


def test_get_with_list() -> None:
    meter = make_meter()
    connection = ServerConnection(meter)
    associate(connection)
    items = tuple(
        CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(class_id, obis, attribute))
        for class_id, obis, attribute in [
            (1, LOGICAL_DEVICE_NAME, 2),
            (8, CLOCK, 2),
            (3, ObisCode(1, 0, 99, 99, 0, 255), 2),
            (3, VOLTAGES[0], 3),
        ]
    )
    invoke = InvokeIdAndPriority(invoke_id=5)
    response = answer(connection, GetRequestWithList(items, invoke).encode())
    assert isinstance(response, GetResponseWithList)
    assert response.invoke_id_and_priority == invoke
    assert response.results[0] == Data.octet_string(b"SIM12345678")
    assert CosemDateTime.from_bytes(response.results[1].value).to_datetime() == NOW
    assert response.results[2] is DataAccessResult.OBJECT_UNDEFINED
    assert response.results[3] == Data.structure(Data.integer(-1), Data.enum(35))


def test_with_list_needs_multiple_references() -> None:
    connection = ServerConnection(make_meter())
    associate(connection, aarq(conformance=Conformance.GET))
    item = CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2))
    assert answer(connection, GetRequestWithList((item,)).encode()) == ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
    )


def read_in_blocks(
    connection: ServerConnection, request: bytes, max_pdu: int, reassembler: Any
) -> tuple[Any, int]:
    response = connection.handle(request)
    blocks = 0
    while True:
        assert response is not None
        assert len(response) <= max_pdu
        decoded = decode_apdu(response)
        assert isinstance(decoded, GetResponseWithDatablock)
        blocks += 1
        result = reassembler.add(decoded)
        if result is not None:
            return result, blocks
        response = connection.handle(reassembler.next_request().encode())


def test_long_answers_go_out_in_datablocks_within_the_client_max_pdu() -> None:
    meter = make_meter()
    big = ServerConnection(meter)
    associate(big, aarq())
    whole = get(big, 7, LOAD_PROFILE)
    assert len(whole.value) == 960
    small = ServerConnection(meter)
    associate(small, aarq(max_pdu=128))
    request = GetRequestNormal(CosemAttributeDescriptor(7, LOAD_PROFILE, 2)).encode()
    value, blocks = read_in_blocks(small, request, 128, GetDatablockReassembler())
    assert value == whole
    assert blocks > 100
    # The object list too, and a with-list answer.
    object_list = get(big, 15, CURRENT_ASSOCIATION)
    request = GetRequestNormal(CosemAttributeDescriptor(15, CURRENT_ASSOCIATION, 2)).encode()
    assert read_in_blocks(small, request, 128, GetDatablockReassembler())[0] == object_list
    items = tuple(
        CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(class_id, obis, 2))
        for class_id, obis in [(15, CURRENT_ASSOCIATION), (1, SERIAL_NUMBER)]
    )
    results, _ = read_in_blocks(small, GetRequestWithList(items).encode(), 128, GetListDatablockReassembler())
    assert results == (object_list, Data.octet_string(b"12345678"))


def test_get_next_resends_a_lost_block_and_refuses_a_wrong_number() -> None:
    connection = ServerConnection(make_meter())
    associate(connection, aarq(max_pdu=128))
    first = answer(connection, GetRequestNormal(CosemAttributeDescriptor(7, LOAD_PROFILE, 2)).encode())
    second = answer(connection, GetRequestNext(1).encode())
    assert (first.block_number, second.block_number) == (1, 2)
    assert answer(connection, GetRequestNext(1).encode()) == second  # the answer to next(1) was lost
    assert answer(connection, GetRequestNext(2).encode()).block_number == 3
    refused = answer(connection, GetRequestNext(7).encode())
    assert refused.raw_data is DataAccessResult.DATA_BLOCK_NUMBER_INVALID
    nothing = answer(connection, GetRequestNext(3).encode())
    assert nothing.raw_data is DataAccessResult.NO_LONG_GET_IN_PROGRESS


# --- selective access ---------------------------------------------------------------------------------


def profile_row(meter: SimulatedMeter, instant: datetime) -> tuple[datetime, int, int]:
    s = seconds_since_reference(instant)
    return instant, int(meter.electricity.import_energy(s)), int(meter.electricity.export_energy(s))


def decode_rows(buffer: Data) -> list[tuple[Any, ...]]:
    rows = []
    for row in buffer.value:
        values = []
        for item in row.value:
            if item.tag is DataTag.OCTET_STRING:
                values.append(CosemDateTime.from_bytes(item.value).to_datetime())
            else:
                values.append(item.value)
        rows.append(tuple(values))
    return rows


def test_selective_access_by_range_on_the_clock_column() -> None:
    meter = make_meter()
    connection = ServerConnection(meter)
    associate(connection)
    clock_column = CaptureObjectDefinition(8, CLOCK, 2)
    start = CosemDateTime.from_datetime(datetime(2024, 5, 1, 9, 0, tzinfo=CET))
    end = CosemDateTime.from_datetime(datetime(2024, 5, 1, 10, 0, tzinfo=CET))
    descriptor = RangeDescriptor(
        clock_column, Data.octet_string(start.to_bytes()), Data.octet_string(end.to_bytes())
    )
    buffer = get(connection, 7, LOAD_PROFILE, access_selection=SelectiveAccessDescriptor.of(descriptor))
    expected = [
        profile_row(meter, datetime(2024, 5, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=15 * k))
        for k in range(5)
    ]
    assert decode_rows(buffer) == expected
    # The vector's encoding of the same kind of request (2017: before the buffer, so nothing).
    old = answer(connection, bytes.fromhex(APDU["selective-access-range"]["hex"]))
    assert old.result == Data.array()
    # Only the import column, date-time values as bounds.
    descriptor = RangeDescriptor(
        clock_column,
        Data.date_time(start),
        Data.date_time(end),
        (CaptureObjectDefinition(3, ACTIVE_ENERGY_IMPORT, 2),),
    )
    buffer = get(connection, 7, LOAD_PROFILE, access_selection=SelectiveAccessDescriptor.of(descriptor))
    assert decode_rows(buffer) == [(row[1],) for row in expected]
    # Restricting on another column is refused.
    other = RangeDescriptor(
        CaptureObjectDefinition(3, ACTIVE_ENERGY_IMPORT, 2),
        Data.double_long_unsigned(0),
        Data.double_long_unsigned(1),
    )
    assert (
        get(connection, 7, LOAD_PROFILE, access_selection=SelectiveAccessDescriptor.of(other))
        is DataAccessResult.OTHER_REASON
    )


def test_selective_access_by_entry() -> None:
    meter = make_meter()
    connection = ServerConnection(meter)
    associate(connection)
    newest = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    oldest = newest - timedelta(minutes=15 * 959)
    selection = SelectiveAccessDescriptor.of(EntryDescriptor(1, 3, 2, 3))
    buffer = get(connection, 7, LOAD_PROFILE, access_selection=selection)
    assert decode_rows(buffer) == [
        profile_row(meter, oldest + timedelta(minutes=15 * k))[1:] for k in range(3)
    ]
    last = get(
        connection, 7, LOAD_PROFILE, access_selection=SelectiveAccessDescriptor.of(EntryDescriptor(960, 0))
    )
    assert decode_rows(last) == [profile_row(meter, newest)]
    beyond = get(
        connection, 7, LOAD_PROFILE, access_selection=SelectiveAccessDescriptor.of(EntryDescriptor(961, 0))
    )
    assert beyond == Data.array()


def test_profile_of_a_recently_installed_meter() -> None:
    clock = FrozenClock()
    meter = SimulatedMeter(
        clock, installed_at=NOW - timedelta(hours=1), security=MeterSecurity(system_title=SERVER_TITLE)
    )
    connection = ServerConnection(meter)
    associate(connection)
    assert get(connection, 7, LOAD_PROFILE, 7) == Data.double_long_unsigned(4)


# --- SET and ACTION -----------------------------------------------------------------------------------


def test_set_and_access_rights() -> None:
    clock = FrozenClock()
    connection = ServerConnection(make_meter(clock))
    associate(connection)
    register = SetRequestNormal(
        CosemAttributeDescriptor(3, ACTIVE_ENERGY_IMPORT, 2), Data.double_long_unsigned(0)
    )
    assert answer(connection, register.encode()).result is DataAccessResult.READ_WRITE_DENIED
    wanted = datetime(2024, 5, 1, 12, 0, tzinfo=CET)
    set_clock = SetRequestNormal(
        CosemAttributeDescriptor(8, CLOCK, 2),
        Data.octet_string(CosemDateTime.from_datetime(wanted).to_bytes()),
    )
    assert answer(connection, set_clock.encode()) == SetResponseNormal(DataAccessResult.SUCCESS)
    assert CosemDateTime.from_bytes(get(connection, 8, CLOCK).value).to_datetime() == wanted
    clock.now += timedelta(seconds=10)
    assert CosemDateTime.from_bytes(get(connection, 8, CLOCK).value).to_datetime() == wanted + timedelta(
        seconds=10
    )
    wrong_type = SetRequestNormal(CosemAttributeDescriptor(8, CLOCK, 2), Data.long_unsigned(3))
    assert answer(connection, wrong_type.encode()).result is DataAccessResult.TYPE_UNMATCHED
    undefined = SetRequestNormal(
        CosemAttributeDescriptor(1, ObisCode(0, 0, 96, 99, 0, 255), 2), Data.long_unsigned(3)
    )
    assert answer(connection, undefined.encode()).result is DataAccessResult.OBJECT_UNDEFINED
    with_list = SetRequestWithList(
        (
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(8, CLOCK, 2)),
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(3, FREQUENCY, 3)),
        ),
        (set_clock.value, Data.structure(Data.integer(0), Data.enum(44))),
    )
    assert answer(connection, with_list.encode()) == SetResponseWithList(
        (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED)
    )


def test_action() -> None:
    clock = FrozenClock()
    connection = ServerConnection(make_meter(clock))
    associate(connection)
    shift = ActionRequestNormal(CosemMethodDescriptor(8, CLOCK, 6), Data.long(60))
    assert answer(connection, shift.encode()) == ActionResponseNormal(ActionResult.SUCCESS)
    assert CosemDateTime.from_bytes(get(connection, 8, CLOCK).value).to_datetime() == NOW + timedelta(
        seconds=60
    )
    too_far = ActionRequestNormal(CosemMethodDescriptor(8, CLOCK, 6), Data.long(3600))
    assert answer(connection, too_far.encode()).result is ActionResult.OTHER_REASON
    reset = ActionRequestNormal(CosemMethodDescriptor(3, ACTIVE_ENERGY_IMPORT, 1), Data.integer(0))
    assert answer(connection, reset.encode()).result is ActionResult.READ_WRITE_DENIED
    missing = ActionRequestNormal(CosemMethodDescriptor(3, ACTIVE_ENERGY_IMPORT, 9))
    assert answer(connection, missing.encode()).result is ActionResult.OBJECT_UNDEFINED


def test_lls_secret_can_be_changed() -> None:
    meter = make_meter(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    connection = ServerConnection(meter)
    associate(connection, AARQ_LLS)
    change = SetRequestNormal(
        CosemAttributeDescriptor(15, CURRENT_ASSOCIATION, 7), Data.octet_string(b"secret99")
    )
    assert answer(connection, change.encode()) == SetResponseNormal(DataAccessResult.SUCCESS)
    rejected(ServerConnection(meter), AARQ_LLS)
    associate(ServerConnection(meter), aarq(mechanism=AuthenticationMechanism.LOW_LEVEL, value=b"secret99"))


# --- HLS-GMAC -----------------------------------------------------------------------------------------


HLS = CRYPTO["greenbook-hls-gmac"]
HLS_CLIENT_TITLE = bytes.fromhex(HLS["client_system_title"])
STOC = bytes.fromhex(HLS["server_to_client_challenge"])
CTOS = b"K56iVagY"


def hls_meter(**extra: Any) -> SimulatedMeter:
    return make_meter(authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS, **extra)


def hls_pass_1_2(connection: ServerConnection) -> AARE:
    aare = associate(
        connection,
        aarq(mechanism=AuthenticationMechanism.HIGH_LEVEL_GMAC, value=CTOS, title=HLS_CLIENT_TITLE),
    )
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
    assert aare.mechanism_name is AuthenticationMechanism.HIGH_LEVEL_GMAC
    assert aare.responding_authentication_value == STOC
    assert aare.responding_ap_title == SERVER_TITLE
    return aare


def test_hls_gmac_four_pass() -> None:
    meter = hls_meter()
    connection = ServerConnection(meter, random_bytes=lambda n: STOC[:n], challenge_length=8)
    hls_pass_1_2(connection)
    assert connection.status is AssociationStatus.ASSOCIATION_PENDING
    assert get(connection, 1, SERIAL_NUMBER) is DataAccessResult.READ_WRITE_DENIED
    # Pass 3: f(StoC) from the Green Book example (client IC 1), so the tag is the published one.
    f_stoc = bytes.fromhex("1000000001" + HLS["tag"])
    assert f_stoc == hls_gmac_response(
        system_title=HLS_CLIENT_TITLE,
        invocation_counter=1,
        encryption_key=EK,
        authentication_key=AK,
        challenge=STOC,
    )
    reply = ActionRequestNormal(CosemMethodDescriptor(15, CURRENT_ASSOCIATION, 1), Data.octet_string(f_stoc))
    response = answer(connection, reply.encode())
    assert response.result is ActionResult.SUCCESS
    # Pass 4: the server's f(CtoS) checks out with its system title.
    f_ctos = response.return_parameters.value
    counter = verify_hls_gmac_response(
        system_title=SERVER_TITLE, encryption_key=EK, authentication_key=AK, challenge=CTOS, response=f_ctos
    )
    assert counter == meter.security.server_invocation_counter
    assert connection.associated
    assert get(connection, 15, CURRENT_ASSOCIATION, 8) == Data.enum(AssociationStatus.ASSOCIATED)
    assert get(connection, 7, LOAD_PROFILE, 4) == Data.double_long_unsigned(900)


def test_hls_gmac_wrong_answer_drops_the_association() -> None:
    connection = ServerConnection(hls_meter(), random_bytes=lambda n: STOC[:n], challenge_length=8)
    hls_pass_1_2(connection)
    wrong = hls_gmac_response(
        system_title=HLS_CLIENT_TITLE,
        invocation_counter=1,
        encryption_key=EK,
        authentication_key=EK,
        challenge=STOC,
    )
    reply = ActionRequestNormal(CosemMethodDescriptor(15, CURRENT_ASSOCIATION, 1), Data.octet_string(wrong))
    assert answer(connection, reply.encode()).result is ActionResult.OTHER_REASON
    assert connection.status is AssociationStatus.NON_ASSOCIATED
    assert isinstance(
        answer(connection, GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()),
        ExceptionResponse,
    )


def test_hls_gmac_needs_the_client_system_title() -> None:
    request = bytes.fromhex(HLS["aarq_hls_gmac"])  # the published AARQ carries no calling AP title
    aare = rejected(ServerConnection(hls_meter()), request)
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED


# --- ciphering ----------------------------------------------------------------------------------------


GLO = CRYPTO["greenbook-glo-initiate"]
GCM_GET = CRYPTO["greenbook-gcm-get"]


def ciphered_meter(**extra: Any) -> SimulatedMeter:
    return make_meter(
        authentication=AuthenticationMechanism.LOW_LEVEL,
        password=b"12345678",
        keys=KEYS,
        require_ciphering=True,
        **extra,
    )


def cipher(tag: int, plaintext: bytes, counter: int, keys: SecurityKeys = KEYS, control: int = 0x30) -> bytes:
    return protect(
        tag, plaintext, keys, system_title=CLIENT_TITLE, invocation_counter=counter, control=control
    ).encode()


def decipher(response: bytes) -> Any:
    ciphered = decode_ciphered_apdu(response)
    clear = unprotect(ciphered, KEYS, SERVER_TITLE)
    assert clear.verified
    return ciphered.tag, ciphered.invocation_counter, decode_apdu(clear.plaintext)


def test_glo_initiate_vector_and_ciphered_get() -> None:
    meter = ciphered_meter()
    connection = ServerConnection(meter)
    aare = associate(connection, bytes.fromhex(GLO["aarq_lls_12345678"]))
    assert aare.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
    assert aare.responding_ap_title == SERVER_TITLE
    tag, counter, initiate = decipher(aare.user_information)
    assert tag == ApduTag.GLO_INITIATE_RESPONSE
    assert isinstance(initiate, InitiateResponse)
    assert meter.security.client_invocation_counter == 0x01234567
    # The frame counter object shows the last client counter accepted (this very request's).
    request = GetRequestNormal(CosemAttributeDescriptor(1, FRAME_COUNTER, 2)).encode()
    tag, second, response = decipher(connection.handle(cipher(ApduTag.GLO_GET_REQUEST, request, 0x01234568)))
    assert tag == ApduTag.GLO_GET_RESPONSE
    assert second > counter
    assert response.result == Data.double_long_unsigned(0x01234568)
    # General-glo-ciphering in, general-glo-ciphering out.
    request = GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()
    reply = connection.handle(cipher(ApduTag.GENERAL_GLO_CIPHERING, request, 0x01234569))
    tag, _, response = decipher(reply)
    assert tag == ApduTag.GENERAL_GLO_CIPHERING
    assert response.result == Data.octet_string(b"12345678")


def test_ciphered_get_from_the_green_book_vector() -> None:
    meter = ciphered_meter()
    connection = ServerConnection(meter)
    initiate = cipher(ApduTag.GLO_INITIATE_REQUEST, InitiateRequest().encode(), 0x01234566)
    associate(
        connection,
        aarq(
            mechanism=AuthenticationMechanism.LOW_LEVEL,
            value=b"12345678",
            context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
            title=CLIENT_TITLE,
            user_information=initiate,
        ),
    )
    body = bytes.fromhex("30" + GCM_GET["invocation_counter"] + GCM_GET["ciphertext"] + GCM_GET["tag"])
    request = bytes([ApduTag.GLO_GET_REQUEST, len(body)]) + body
    _, _, response = decipher(connection.handle(request))
    assert CosemDateTime.from_bytes(response.result.value).to_datetime() == NOW
    # The same request again is a replay.
    replay = answer(connection, request)
    assert replay == ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.INVOCATION_COUNTER_ERROR, 0x01234568
    )


def test_ciphered_context_refuses_plain_wrong_key_and_weak_protection() -> None:
    connection = ServerConnection(ciphered_meter())
    associate(connection, bytes.fromhex(GLO["aarq_lls_12345678"]))
    plain = GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()
    assert answer(connection, plain).service_error is ExceptionServiceError.SERVICE_NOT_SUPPORTED
    wrong = cipher(ApduTag.GLO_GET_REQUEST, plain, 0x01234570, keys=SecurityKeys(AK, EK))
    assert answer(connection, wrong).service_error is ExceptionServiceError.DECIPHERING_ERROR
    authenticated_only = cipher(ApduTag.GLO_GET_REQUEST, plain, 0x01234571, control=0x10)
    assert answer(connection, authenticated_only).service_error is ExceptionServiceError.DECIPHERING_ERROR
    mismatched = cipher(ApduTag.GLO_SET_REQUEST, plain, 0x01234572)
    assert answer(connection, mismatched).service_error is ExceptionServiceError.OTHER_REASON
    # Still associated: a good request works.
    _, _, response = decipher(connection.handle(cipher(ApduTag.GLO_GET_REQUEST, plain, 0x01234573)))
    assert response.result == Data.octet_string(b"12345678")


def test_ciphering_required_for_management() -> None:
    meter = ciphered_meter()
    aare = rejected(ServerConnection(meter), AARQ_LLS)
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    # The public client may still read the frame counter in the clear.
    connection = ServerConnection(meter)
    associate(connection)
    assert get(connection, 1, FRAME_COUNTER) == Data.double_long_unsigned(0)


def test_glo_initiate_with_a_stale_counter_is_refused() -> None:
    meter = ciphered_meter()
    associate(ServerConnection(meter), bytes.fromhex(GLO["aarq_lls_12345678"]))
    aare = rejected(ServerConnection(meter), bytes.fromhex(GLO["aarq_lls_12345678"]))
    assert isinstance(aare.user_information, ConfirmedServiceError)
    assert aare.user_information.value == 6  # deciphering-error


def test_blocks_in_a_ciphered_context_fit_the_max_pdu() -> None:
    meter = ciphered_meter()
    connection = ServerConnection(meter)
    proposal = InitiateRequest(Conformance.from_block_bytes(bytes.fromhex("007e1f")), 128)
    initiate = cipher(ApduTag.GLO_INITIATE_REQUEST, proposal.encode(), 1)
    associate(
        connection,
        aarq(
            mechanism=AuthenticationMechanism.LOW_LEVEL,
            value=b"12345678",
            context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
            title=CLIENT_TITLE,
            user_information=initiate,
        ),
    )
    reassembler = GetDatablockReassembler()
    request = GetRequestNormal(CosemAttributeDescriptor(15, CURRENT_ASSOCIATION, 2)).encode()
    counter = 2
    reply = connection.handle(cipher(ApduTag.GLO_GET_REQUEST, request, counter))
    while True:
        assert reply is not None
        assert len(reply) <= 128
        _, _, block = decipher(reply)
        value = reassembler.add(block)
        if value is not None:
            break
        counter += 1
        reply = connection.handle(
            cipher(ApduTag.GLO_GET_REQUEST, reassembler.next_request().encode(), counter)
        )
    assert len(value.value) == len(meter.objects)


# --- robustness ---------------------------------------------------------------------------------------


def test_oversized_request_and_unknown_service() -> None:
    connection = ServerConnection(make_meter(), max_receive_pdu_size=64)
    associate(connection)
    long_request = SetRequestNormal(
        CosemAttributeDescriptor(1, SERIAL_NUMBER, 2), Data.octet_string(bytes(100))
    )
    assert answer(connection, long_request.encode()).service_error is ExceptionServiceError.PDU_TOO_LONG
    assert answer(connection, bytes([0xE0, 0x80, 0, 1, 0, 0, 0])).state_error is StateError.SERVICE_UNKNOWN
    assert (
        answer(connection, bytes([ApduTag.GET_REQUEST, 1])).service_error
        is ExceptionServiceError.OTHER_REASON
    )
    assert connection.handle(b"") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.booleans())
def test_garbage_never_raises(data: bytes, associated: bool) -> None:
    connection = ServerConnection(ciphered_meter())
    if associated:
        associate(connection, bytes.fromhex(GLO["aarq_lls_12345678"]))
    response = connection.handle(data)
    if data:
        assert response is not None
        assert response[0] in {ApduTag.AARE, ApduTag.RLRE, ApduTag.EXCEPTION_RESPONSE}


def test_security_repr_hides_secrets() -> None:
    security = MeterSecurity(
        authentication=AuthenticationMechanism.LOW_LEVEL,
        password=b"hunter22",
        keys=KEYS,
        system_title=SERVER_TITLE,
    )
    text = repr(security) + str(security)
    assert "hunter22" not in text
    assert EK.hex() not in text.lower()
    assert AK.hex() not in text.lower()
    assert "hunter22" not in repr(
        ServerConnection(SimulatedMeter(FrozenClock(), security=security)).meter.security
    )


def test_access_levels_exposed() -> None:
    meter = make_meter()
    obj = meter.find(LOAD_PROFILE)
    assert obj is not None
    assert obj.attribute_access(2, AccessLevel.PUBLIC).name == "NO_ACCESS"
    assert obj.attribute_access(2, AccessLevel.MANAGEMENT).name == "READ_ONLY"


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2045, 1, 1), timezones=st.just(UTC)),
    st.lists(st.integers(min_value=0, max_value=40 * 86_400_000_000), min_size=1, max_size=20),
    st.text(alphabet="0123456789", min_size=1, max_size=12),
)
def test_energy_registers_never_decrease(start: datetime, steps_us: list[int], serial: str) -> None:
    clock = FrozenClock(start)
    meter = SimulatedMeter(clock, serial=serial)
    previous = (meter.read(ACTIVE_ENERGY_IMPORT).value, meter.read(ACTIVE_ENERGY_EXPORT).value)
    for step in sorted(steps_us):
        clock.now = start + timedelta(microseconds=step)
        current = (meter.read(ACTIVE_ENERGY_IMPORT).value, meter.read(ACTIVE_ENERGY_EXPORT).value)
        assert current[0] >= previous[0]
        assert current[1] >= previous[1]
        previous = current
