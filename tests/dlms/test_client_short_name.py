"""The sans-I/O client with short name referencing: detection, base names, READ/WRITE, data blocks."""

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    DEFAULT_SN_CLIENT_CONFORMANCE,
    VAA_NAME_SN,
    AccessError,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    BlockNumberAccess,
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    Conformance,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    DataBlockResult,
    EntryDescriptor,
    ExceptionResponse,
    ExceptionServiceError,
    InitiateResponse,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    SelectiveAccessDescriptor,
    ServiceErrorType,
    StateError,
    VariableName,
    WriteRequest,
    WriteResponse,
)
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag, encode_data
from custom_components.dlms_cosem.dlms.client import (
    Authentication,
    ClientConnection,
    ClientSettings,
    NegotiatedContext,
    Operation,
    Referencing,
)
from custom_components.dlms_cosem.dlms.errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    DecodeError,
    ObjectUndefinedError,
    ProtocolError,
    ServiceError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import (
    SecurityKeys,
    hls_gmac_response,
    verify_hls_gmac_response,
)

SN = ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING
LN = ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING
ENERGY = ObisCode(1, 0, 1, 8, 0, 255)
SERIAL = ObisCode(0, 0, 96, 1, 0, 255)
PROFILE = ObisCode(1, 0, 99, 1, 0, 255)
SN_CONFORMANCE = DEFAULT_SN_CLIENT_CONFORMANCE
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
METER_TITLE = bytes.fromhex("4B464D1020000001")


def _refusal(context: ApplicationContextName = LN) -> bytes:
    return AARE(
        result=AssociationResult.REJECTED_PERMANENT,
        result_source_diagnostic=AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
        application_context_name=context,
        user_information=None,
    ).encode()


def _accept(conformance: Conformance = SN_CONFORMANCE, max_pdu: int = 512) -> bytes:
    return AARE(
        result=AssociationResult.ACCEPTED,
        result_source_diagnostic=AcseServiceUserDiagnostic.NULL,
        application_context_name=SN,
        user_information=InitiateResponse(conformance, max_pdu, vaa_name=VAA_NAME_SN),
    ).encode()


def _object_list() -> Data:
    def element(base: int, class_id: int, obis: ObisCode) -> Data:
        return Data.structure(
            Data.long(base - 0x10000 if base > 0x7FFF else base),
            Data.long_unsigned(class_id),
            Data.unsigned(0),
            Data.octet_string(obis.to_bytes()),
        )

    return Data.array(
        element(0xFA00, 12, ObisCode(0, 0, 40, 0, 0, 255)),
        element(0x2000, 3, ENERGY),
        element(0x2100, 1, SERIAL),
        element(0x3000, 7, PROFILE),
    )


def _associated(conformance: Conformance = SN_CONFORMANCE, max_pdu: int = 512) -> ClientConnection:
    connection = ClientConnection(ClientSettings(referencing=Referencing.SN))
    operation = connection.associate()
    assert operation.receive(_accept(conformance, max_pdu)) is None
    return connection


def _with_names(connection: ClientConnection, request: bytes) -> bytes:
    """The answer to the object list read the first short name request starts with."""
    assert ReadRequest.decode(request) == ReadRequest((VariableName(0xFA08),))
    del connection
    return ReadResponse((_object_list(),)).encode()


def test_auto_falls_back_to_short_names_when_the_meter_refuses_logical_names() -> None:
    connection = ClientConnection(ClientSettings())
    operation = connection.associate()
    first = AARQ.decode(operation.request)
    assert first.application_context_name is LN
    second_raw = operation.receive(_refusal())
    assert second_raw is not None
    second = AARQ.decode(second_raw)
    assert second.application_context_name is SN
    assert second.user_information is not None
    assert not isinstance(second.user_information, bytes)
    assert second.user_information.proposed_conformance == DEFAULT_SN_CLIENT_CONFORMANCE
    assert operation.receive(_accept()) is None
    assert connection.associated
    assert connection.short_name_referencing
    assert connection.referencing is Referencing.SN
    context = operation.result()
    assert context.vaa_name == VAA_NAME_SN
    # The next association (after the link dropped) proposes short names straight away.
    connection.reset()
    again = connection.associate()
    assert AARQ.decode(again.request).application_context_name is SN


def test_auto_keeps_the_logical_name_refusal_when_short_names_are_refused_too() -> None:
    connection = ClientConnection(ClientSettings())
    operation = connection.associate()
    assert operation.receive(_refusal()) is not None
    with pytest.raises(AssociationRejectedError, match="application context name not supported"):
        operation.receive(_refusal(SN))
    assert not connection.associated
    assert connection.referencing is Referencing.LN


def test_explicit_ln_never_retries() -> None:
    operation = ClientConnection(ClientSettings(referencing=Referencing.LN)).associate()
    with pytest.raises(AssociationRejectedError):
        operation.receive(_refusal())


def test_explicit_sn_proposes_short_names() -> None:
    operation = ClientConnection(ClientSettings(referencing=Referencing.SN)).associate()
    assert AARQ.decode(operation.request).application_context_name is SN


def _hls_sn(
    challenge: bytes = b"StoC-challenge!!",
) -> tuple[ClientConnection, Operation[NegotiatedContext], bytes]:
    settings = ClientSettings(
        referencing=Referencing.SN,
        authentication=Authentication.HLS_GMAC,
        keys=SecurityKeys(EK, AK),
        client_system_title=CLIENT_TITLE,
        invocation_counter=1,
    )
    connection = ClientConnection(settings, random_bytes=lambda n: bytes(range(n)))
    operation = connection.associate()
    aarq = AARQ.decode(operation.request)
    assert aarq.application_context_name is SN
    assert aarq.mechanism_name is AuthenticationMechanism.HIGH_LEVEL_GMAC
    assert aarq.calling_authentication_value == bytes(range(16))
    aare = AARE(
        result=AssociationResult.ACCEPTED,
        result_source_diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        application_context_name=SN,
        user_information=InitiateResponse(SN_CONFORMANCE, 512, vaa_name=VAA_NAME_SN),
        responding_ap_title=METER_TITLE,
        mechanism_name=AuthenticationMechanism.HIGH_LEVEL_GMAC,
        responding_authentication_value=challenge,
    )
    request = operation.receive(aare.encode())
    assert request is not None
    return connection, operation, request


def test_hls_gmac_by_short_name_reads_reply_to_hls_authentication() -> None:
    """Pass 3 is a read of Association SN method 8 (0xFA00 + 0x20 + 7 * 8) with f(StoC) as parameter."""
    connection, operation, request = _hls_sn()
    (spec,) = ReadRequest.decode(request).specifications
    assert isinstance(spec, ParameterizedAccess)
    assert (spec.name, spec.selector) == (0xFA58, 0)
    assert spec.parameter.tag is DataTag.OCTET_STRING
    assert isinstance(spec.parameter.value, bytes)
    verify_hls_gmac_response(  # raises unless f(StoC) is right for our title and keys
        system_title=CLIENT_TITLE,
        encryption_key=EK,
        authentication_key=AK,
        challenge=b"StoC-challenge!!",
        response=spec.parameter.value,
    )
    answer = hls_gmac_response(
        system_title=METER_TITLE,
        invocation_counter=9,
        encryption_key=EK,
        authentication_key=AK,
        challenge=bytes(range(16)),
    )
    assert operation.receive(ReadResponse((Data.octet_string(answer),)).encode()) is None
    assert connection.associated
    assert operation.result().vaa_name == VAA_NAME_SN


@pytest.mark.parametrize(
    "reply",
    [
        ReadResponse((DataAccessResult.READ_WRITE_DENIED,)),
        ReadResponse((Data.null_data(),)),
        ReadResponse(
            (
                Data.octet_string(
                    hls_gmac_response(
                        system_title=METER_TITLE,
                        invocation_counter=9,
                        encryption_key=EK,
                        authentication_key=bytes(16),  # not the meter's key
                        challenge=bytes(range(16)),
                    )
                ),
            )
        ),
    ],
)
def test_hls_gmac_by_short_name_fails_on_a_refusal_or_a_wrong_answer(reply: ReadResponse) -> None:
    connection, operation, _ = _hls_sn()
    with pytest.raises(AuthenticationFailedError):
        operation.receive(reply.encode())
    assert not connection.associated


def test_register_value_and_scaler_in_one_read_after_the_object_list() -> None:
    connection = _associated()
    operation = connection.get_many(
        [CosemAttributeDescriptor(3, ENERGY, 2), CosemAttributeDescriptor(3, ENERGY, 3)]
    )
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert ReadRequest.decode(request) == ReadRequest((VariableName(0x2008), VariableName(0x2010)))
    scaler_unit = Data.structure(Data.integer(-1), Data.enum(30))
    assert operation.receive(ReadResponse((Data.double_long_unsigned(12345), scaler_unit)).encode()) is None
    assert operation.result() == [Data.double_long_unsigned(12345), scaler_unit]
    # The base names are kept: the next read goes straight to the variable.
    single = connection.get(CosemAttributeDescriptor(1, SERIAL, 2))
    assert ReadRequest.decode(single.request) == ReadRequest((VariableName(0x2108),))
    assert single.receive(ReadResponse((Data.visible_string("SN1"),)).encode()) is None
    assert single.result() == Data.visible_string("SN1")


def test_without_multiple_references_each_variable_is_read_alone() -> None:
    connection = _associated(SN_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES)
    operation = connection.get_many(
        [CosemAttributeDescriptor(3, ENERGY, 2), CosemAttributeDescriptor(1, SERIAL, 2)]
    )
    first = operation.receive(_with_names(connection, operation.request))
    assert first is not None
    assert ReadRequest.decode(first) == ReadRequest((VariableName(0x2008),))
    second = operation.receive(ReadResponse((DataAccessResult.READ_WRITE_DENIED,)).encode())
    assert second is not None
    assert ReadRequest.decode(second) == ReadRequest((VariableName(0x2108),))
    assert operation.receive(ReadResponse((Data.visible_string("X"),)).encode()) is None
    first_result, second_result = operation.result()
    assert isinstance(first_result, AccessDeniedError)
    assert second_result == Data.visible_string("X")


def test_unknown_objects_and_wrong_classes_fail_without_a_request() -> None:
    connection = _associated()
    operation = connection.get_many(
        [CosemAttributeDescriptor(3, ObisCode(1, 0, 2, 8, 0, 255), 2), CosemAttributeDescriptor(1, ENERGY, 2)]
    )
    assert operation.receive(_with_names(connection, operation.request)) is None
    unknown, wrong_class = operation.result()
    assert isinstance(unknown, ObjectUndefinedError)
    assert "not in the object list" in str(unknown)
    assert isinstance(wrong_class, ObjectUndefinedError)
    assert "object-class-inconsistent" in str(wrong_class)


def test_selective_access_goes_as_parameterized_access() -> None:
    connection = _associated()
    selection = SelectiveAccessDescriptor.of(EntryDescriptor(1, 2))
    operation = connection.get(CosemAttributeDescriptor(7, PROFILE, 2), selection)
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert ReadRequest.decode(request) == ReadRequest(
        (ParameterizedAccess(0x3008, 2, selection.access_parameters),)
    )


def test_long_answers_come_in_data_blocks() -> None:
    connection = _associated()
    operation = connection.get(CosemAttributeDescriptor(1, SERIAL, 2))
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    raw = encode_data(Data.octet_string(bytes(range(200))))
    request = operation.receive(ReadResponse((DataBlockResult(False, 1, raw[:100]),)).encode())
    assert request is not None
    assert ReadRequest.decode(request) == ReadRequest((BlockNumberAccess(1),))
    assert operation.receive(ReadResponse((DataBlockResult(True, 2, raw[100:]),)).encode()) is None
    assert operation.result() == Data.octet_string(bytes(range(200)))


def test_the_object_list_itself_in_data_blocks() -> None:
    connection = _associated()
    operation = connection.object_list()
    raw = encode_data(_object_list())
    request = operation.receive(ReadResponse((DataBlockResult(False, 1, raw[:30]),)).encode())
    assert request is not None
    assert ReadRequest.decode(request) == ReadRequest((BlockNumberAccess(1),))
    assert operation.receive(ReadResponse((DataBlockResult(True, 2, raw[30:]),)).encode()) is None
    entries = operation.result()
    assert [(entry.class_id, entry.obis) for entry in entries][1:] == [(3, ENERGY), (1, SERIAL), (7, PROFILE)]


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ([ReadResponse((DataBlockResult(False, 2, b"\x00"),)).encode()], ProtocolError),  # starts at 2
        (
            [
                ReadResponse((DataBlockResult(False, 1, b"\x09"),)).encode(),
                ReadResponse((DataBlockResult(True, 3, b"\x00"),)).encode(),  # skips 2
            ],
            ProtocolError,
        ),
        (
            [
                ReadResponse((DataBlockResult(False, 1, b"\x09"),)).encode(),
                ReadResponse((DataAccessResult.DATA_BLOCK_NUMBER_INVALID,)).encode(),
            ],
            ServiceError,
        ),
        ([ReadResponse((DataBlockResult(True, 1, b"\x09\x05ab"),)).encode()], DecodeError),  # truncated
        ([bytes.fromhex("0c0100")], DecodeError),  # data without its value
        ([ReadResponse((Data.unsigned(1), Data.unsigned(2))).encode()], ProtocolError),  # two for one
        ([bytes.fromhex("c401c1000600")], ProtocolError),  # a GET answer to a READ
    ],
)
def test_bad_answers_are_typed_errors(answers: list[bytes], error: type[Exception]) -> None:
    connection = _associated()
    operation = connection.get(CosemAttributeDescriptor(1, SERIAL, 2))
    operation.receive(_with_names(connection, operation.request))
    *accepted, refused = answers
    for answer in accepted:
        assert operation.receive(answer) is not None
    with pytest.raises(error):
        operation.receive(refused)


def test_write_sends_one_variable_and_maps_the_result() -> None:
    connection = _associated()
    operation = connection.set(CosemAttributeDescriptor(1, SERIAL, 2), Data.visible_string("NEW"))
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert WriteRequest.decode(request) == WriteRequest(
        (VariableName(0x2108),), (Data.visible_string("NEW"),)
    )
    assert operation.receive(WriteResponse((DataAccessResult.SUCCESS,)).encode()) is None
    denied = connection.set(CosemAttributeDescriptor(1, SERIAL, 2), Data.visible_string("NEW"))
    with pytest.raises(AccessDeniedError):
        denied.receive(WriteResponse((DataAccessResult.READ_WRITE_DENIED,)).encode())


def test_a_method_with_a_parameter_is_a_parameterized_read_of_its_name() -> None:
    """Register reset (class 3 method 1) is at base name + 0x28 (Blue Book); null-data means no return."""
    connection = _associated()
    operation = connection.action(CosemMethodDescriptor(3, ENERGY, 1), Data.integer(0))
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert ReadRequest.decode(request) == ReadRequest((ParameterizedAccess(0x2028, 0, Data.integer(0)),))
    assert operation.receive(ReadResponse((Data.null_data(),)).encode()) is None
    assert operation.result() is None


def test_a_method_without_a_parameter_reads_its_name_and_returns_the_data() -> None:
    """Profile generic capture (class 7 method 2): base name + 0x58 + 8."""
    connection = _associated()
    operation = connection.action(CosemMethodDescriptor(7, PROFILE, 2))
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert ReadRequest.decode(request) == ReadRequest((VariableName(0x3060),))
    assert operation.receive(ReadResponse((Data.unsigned(7),)).encode()) is None
    assert operation.result() == Data.unsigned(7)
    refused = connection.action(CosemMethodDescriptor(7, PROFILE, 2))
    with pytest.raises(AccessDeniedError):
        refused.receive(ReadResponse((DataAccessResult.READ_WRITE_DENIED,)).encode())


def test_without_parameterized_access_a_method_parameter_is_written() -> None:
    connection = _associated(SN_CONFORMANCE & ~Conformance.PARAMETERIZED_ACCESS)
    operation = connection.action(CosemMethodDescriptor(3, ENERGY, 1), Data.integer(0))
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert WriteRequest.decode(request) == WriteRequest((VariableName(0x2028),), (Data.integer(0),))
    assert operation.receive(WriteResponse((DataAccessResult.SUCCESS,)).encode()) is None
    assert operation.result() is None


def test_methods_of_unlisted_objects_or_classes_without_short_name_methods_are_undefined() -> None:
    connection = _associated()
    operation = connection.action(CosemMethodDescriptor(1, SERIAL, 1))  # Data (class 1) has no methods
    with pytest.raises(ObjectUndefinedError, match="no methods by short name"):
        operation.receive(_with_names(connection, operation.request))
    with pytest.raises(ObjectUndefinedError, match="not in the object list"):
        connection.action(CosemMethodDescriptor(8, ObisCode(0, 0, 1, 0, 0, 255), 1))  # no request sent


def test_a_refused_multiple_read_falls_back_to_one_variable_at_a_time() -> None:
    connection = _associated()
    operation = connection.get_many(
        [CosemAttributeDescriptor(3, ENERGY, 2), CosemAttributeDescriptor(1, SERIAL, 2)]
    )
    request = operation.receive(_with_names(connection, operation.request))
    assert request is not None
    assert len(ReadRequest.decode(request).specifications) == 2
    refusal = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED)
    first = operation.receive(refusal.encode())
    assert first is not None
    assert ReadRequest.decode(first) == ReadRequest((VariableName(0x2008),))
    error = ConfirmedServiceError(
        ConfirmedServiceErrorService.READ, ServiceErrorType.ACCESS, AccessError.HARDWARE_FAULT
    )
    second = operation.receive(error.encode())  # a service error for one variable: the others go on
    assert second is not None
    assert ReadRequest.decode(second) == ReadRequest((VariableName(0x2108),))
    assert operation.receive(ReadResponse((Data.visible_string("S"),)).encode()) is None
    energy, serial = operation.result()
    assert isinstance(energy, ServiceError)
    assert "hardware-fault" in str(energy)
    assert serial == Data.visible_string("S")
    # The refusal is remembered: the next reads of several variables go one by one straight away.
    later = connection.get_many(
        [CosemAttributeDescriptor(3, ENERGY, 2), CosemAttributeDescriptor(1, SERIAL, 2)]
    )
    assert ReadRequest.decode(later.request) == ReadRequest((VariableName(0x2008),))
