"""The sans-I/O client connection: AARQ/AARE, HLS-GMAC, GET/SET/ACTION, blocks, ciphering, errors."""

from __future__ import annotations

import dataclasses
import re

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    RLRE,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    ApplicationContextName,
    ApplicationReferenceError,
    AssociationResult,
    AuthenticationMechanism,
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    Conformance,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    ExceptionResponse,
    ExceptionServiceError,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    ServiceErrorType,
    SetRequestNormal,
    SetResponseNormal,
    StateError,
    decode_get_request,
)
from custom_components.dlms_cosem.dlms.axdr import Data, encode_data
from custom_components.dlms_cosem.dlms.client import (
    AssociationState,
    Authentication,
    ClientConnection,
    ClientSettings,
    InvalidSettingsError,
    NegotiatedContext,
    NotAssociatedError,
    Operation,
    Referencing,
    ServiceUnsupportedError,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    AuthenticationTagMismatchError,
    ConnectionLostError,
    DecodeError,
    DecryptionError,
    EncodeError,
    ObjectUndefinedError,
    ProtocolError,
    SecurityError,
    ServiceError,
    TruncatedError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import (
    SecurityKeys,
    hls_gmac_response,
    protect,
    unprotect,
)

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEYS = SecurityKeys(EK, AK)
METER_TITLE = bytes.fromhex("4B464D1020000001")

AARQ_NO_SECURITY = "601da109060760857405080101be10040e01000000065f1f0400007e1f04b0"
AARQ_LLS = (
    "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738"
    "be10040e01000000065f1f0400007e1f04b0"
)
AARQ_LLS_CIPHERED = (
    "6066a109060760857405080103a60a04084D4D4D0000BC614E8a0207808b0760857405080201ac0a80083132333435363738"
    "be34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB"
    "8E356855"
)
AARQ_HLS_GMAC = (
    "6036a1090607608574050801018a0207808b0760857405080205ac0a80084b35366956616759"
    "be10040e01000000065f1f0400007e1f04b0"
)
AARE_HLS_GMAC = (
    "6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146"
    "BE10040E0800065F1F040000501F01F40007"
)
AARE_ACCEPTED = "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007"
AARE_REJECTED = "611FA109060760857405080101A203020101A305A103020101BE0604040E010601"
GET_NORMAL = "c001c1000100002b0100ff0200"
GET_RESPONSE_NORMAL = "c401c1000600001391"
GET_WITH_LIST = "c003c102000100002a0000ff020000080000010000ff0200"
GET_RESPONSE_WITH_LIST = "c403c10200091049534b3130333037373737363433363600090c07e50603040e091700ffc400"

FRAME_COUNTER = CosemAttributeDescriptor(1, ObisCode(0, 0, 43, 1, 0, 255), 2)
DEVICE_ID = CosemAttributeDescriptor(1, ObisCode(0, 0, 42, 0, 0, 255), 2)
CLOCK_TIME = CosemAttributeDescriptor(8, ObisCode(0, 0, 1, 0, 0, 255), 2)
ENERGY = CosemAttributeDescriptor(3, ObisCode(1, 0, 1, 8, 0, 255), 2)
WITH_LIST = Conformance.from_block_bytes(bytes.fromhex("007e1f"))
NO_LIST = Conformance.from_block_bytes(bytes.fromhex("00501f"))


def _aare(
    conformance: Conformance = WITH_LIST,
    max_pdu: int = 1024,
    *,
    title: bytes | None = None,
    context: ApplicationContextName = ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING,
    user_information: InitiateResponse | ConfirmedServiceError | bytes | None = None,
    result: AssociationResult = AssociationResult.ACCEPTED,
    diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic = AcseServiceUserDiagnostic.NULL,
    mechanism: AuthenticationMechanism | None = None,
    challenge: bytes | None = None,
) -> bytes:
    if user_information is None:
        user_information = InitiateResponse(conformance, max_pdu)
    return AARE(
        result=result,
        result_source_diagnostic=diagnostic,
        application_context_name=context,
        user_information=user_information,
        mechanism_name=mechanism,
        responding_authentication_value=challenge,
        responding_ap_title=title,
    ).encode()


def _associated(
    settings: ClientSettings | None = None, conformance: Conformance = WITH_LIST, max_pdu: int = 1024
) -> ClientConnection:
    connection = ClientConnection(settings or ClientSettings())
    operation = connection.associate()
    assert operation.receive(_aare(conformance, max_pdu)) is None
    assert connection.state is AssociationState.ASSOCIATED
    return connection


def _invoke(request: bytes) -> InvokeIdAndPriority:
    return InvokeIdAndPriority.from_byte(request[2])


# --- association --------------------------------------------------------------------------------------


def test_aarq_without_security_is_the_public_vector() -> None:
    operation = ClientConnection(ClientSettings(max_pdu_size=1200)).associate()
    assert operation.request.hex() == AARQ_NO_SECURITY


def test_aarq_lls_is_the_public_vector() -> None:
    settings = ClientSettings(max_pdu_size=1200, authentication=Authentication.LLS, password=b"12345678")
    assert ClientConnection(settings).associate().request.hex() == AARQ_LLS


def test_aarq_ciphered_lls_with_glo_initiate_is_the_public_vector() -> None:
    reported: list[int] = []
    settings = ClientSettings(
        max_pdu_size=1200,
        authentication=Authentication.LLS,
        password=b"12345678",
        keys=KEYS,
        ciphered=True,
        client_system_title=bytes.fromhex("4D4D4D0000BC614E"),
        invocation_counter=0x01234567,
        on_invocation_counter=reported.append,
        dedicated_key=bytes.fromhex("00112233445566778899AABBCCDDEEFF"),
    )
    connection = ClientConnection(settings)
    assert connection.associate().request.hex().upper() == AARQ_LLS_CIPHERED.upper()
    assert reported == [0x01234568]
    assert connection.invocation_counter == 0x01234568


def test_aarq_hls_gmac_is_the_public_vector_and_pass_three_answers_the_challenge() -> None:
    settings = ClientSettings(
        max_pdu_size=1200,
        authentication=Authentication.HLS_GMAC,
        keys=KEYS,
        client_system_title=bytes.fromhex("4D4D4D0000000001"),
        invocation_counter=1,
        server_system_title=METER_TITLE,
        send_system_title=False,  # the vector carries no calling-AP-title
    )
    connection = ClientConnection(settings, random_bytes=lambda n: b"K56iVagY"[:n], challenge_length=8)
    operation = connection.associate()
    assert operation.request.hex() == AARQ_HLS_GMAC
    action = operation.receive(bytes.fromhex(AARE_HLS_GMAC))
    assert action is not None
    assert connection.state is AssociationState.AUTHENTICATING
    request = ActionRequestNormal.decode(action)
    assert request.method == CosemMethodDescriptor(15, ObisCode(0, 0, 40, 0, 0, 255), 1)
    # f(StoC) = SC || IC || GMAC tag, with the Green Book tag for this challenge, title and counter.
    assert request.parameters == Data.octet_string(bytes.fromhex("1000000001" + "1A52FE7DD3E72748973C1E28"))
    answer = hls_gmac_response(
        system_title=METER_TITLE,
        invocation_counter=77,
        encryption_key=EK,
        authentication_key=AK,
        challenge=b"K56iVagY",
    )
    reply = ActionResponseNormal(
        ActionResult.SUCCESS, Data.octet_string(answer), request.invoke_id_and_priority
    )
    assert operation.receive(reply.encode()) is None
    context = operation.result()
    assert connection.state is AssociationState.ASSOCIATED
    assert context.conformance == NO_LIST
    assert context.server_max_pdu_size == 500
    assert connection.invocation_counter == 2


_HLS_AARE = _aare(
    title=METER_TITLE,
    diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
    mechanism=AuthenticationMechanism.HIGH_LEVEL_GMAC,
    challenge=b"StoC-challenge!!",
)


def _hls_pass_three(
    settings: ClientSettings | None = None,
) -> tuple[ClientConnection, Operation[NegotiatedContext], bytes]:
    settings = settings or ClientSettings(
        authentication=Authentication.HLS_GMAC,
        keys=KEYS,
        client_system_title=bytes.fromhex("4D4D4D0000000001"),
        invocation_counter=1,
    )
    connection = ClientConnection(settings, random_bytes=lambda n: bytes(range(n)))
    operation = connection.associate()
    action = operation.receive(_HLS_AARE)
    assert action is not None
    return connection, operation, action


def test_hls_gmac_with_a_wrong_server_answer_fails_authentication() -> None:
    connection, operation, action = _hls_pass_three()
    wrong = hls_gmac_response(
        system_title=METER_TITLE,
        invocation_counter=5,
        encryption_key=EK,
        authentication_key=bytes(16),
        challenge=bytes(range(16)),
    )
    reply = ActionResponseNormal(ActionResult.SUCCESS, Data.octet_string(wrong), _invoke(action))
    with pytest.raises(AuthenticationFailedError, match="does not verify"):
        operation.receive(reply.encode())
    assert connection.state is AssociationState.NOT_ASSOCIATED


def test_hls_gmac_with_the_right_server_answer_associates() -> None:
    connection, operation, action = _hls_pass_three()
    right = hls_gmac_response(
        system_title=METER_TITLE,
        invocation_counter=5,
        encryption_key=EK,
        authentication_key=AK,
        challenge=bytes(range(16)),
    )
    reply = ActionResponseNormal(ActionResult.SUCCESS, Data.octet_string(right), _invoke(action))
    assert operation.receive(reply.encode()) is None
    assert connection.associated


@pytest.mark.parametrize(
    "reply",
    [
        ActionResponseNormal(ActionResult.READ_WRITE_DENIED),
        ActionResponseNormal(ActionResult.SUCCESS),
        ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE),
    ],
)
def test_hls_gmac_refused_pass_three_fails_authentication(
    reply: ActionResponseNormal | ExceptionResponse,
) -> None:
    connection, operation, action = _hls_pass_three()
    if isinstance(reply, ActionResponseNormal):
        reply = dataclasses.replace(reply, invoke_id_and_priority=_invoke(action))
    with pytest.raises(AuthenticationFailedError):
        operation.receive(reply.encode())
    assert not connection.associated


def test_hls_gmac_without_server_challenge_or_title_fails() -> None:
    settings = ClientSettings(authentication=Authentication.HLS_GMAC, keys=KEYS)
    operation = ClientConnection(settings).associate()
    with pytest.raises(AuthenticationFailedError, match="no challenge"):
        operation.receive(_aare(mechanism=AuthenticationMechanism.HIGH_LEVEL_GMAC))
    connection = ClientConnection(settings, random_bytes=bytes)
    operation = connection.associate()
    action = operation.receive(bytes.fromhex(AARE_HLS_GMAC))  # the vector carries no responding-AP-title
    assert action is not None
    answer = hls_gmac_response(
        system_title=METER_TITLE,
        invocation_counter=1,
        encryption_key=EK,
        authentication_key=AK,
        challenge=bytes(16),
    )
    reply = ActionResponseNormal(ActionResult.SUCCESS, Data.octet_string(answer), _invoke(action))
    with pytest.raises(AuthenticationFailedError, match="system title"):
        operation.receive(reply.encode())


def test_challenge_source_must_give_the_requested_length() -> None:
    settings = ClientSettings(authentication=Authentication.HLS_GMAC, keys=KEYS)
    with pytest.raises(InvalidSettingsError):
        ClientConnection(settings, challenge_length=7)
    with pytest.raises(InvalidSettingsError):
        ClientConnection(settings, challenge_length=65)
    connection = ClientConnection(settings, random_bytes=lambda n: b"short", challenge_length=8)
    with pytest.raises(EncodeError):
        connection.associate()
    assert connection.state is AssociationState.NOT_ASSOCIATED


def test_default_challenge_is_random_and_sixteen_bytes() -> None:
    settings = ClientSettings(authentication=Authentication.HLS_GMAC, keys=KEYS)
    first = AARQ.decode(ClientConnection(settings).associate().request).calling_authentication_value
    second = AARQ.decode(ClientConnection(settings).associate().request).calling_authentication_value
    assert first is not None
    assert second is not None
    assert len(first) == len(second) == 16
    assert first != second


def test_accepted_aare_vector_gives_the_negotiated_context() -> None:
    connection = ClientConnection(ClientSettings())
    operation = connection.associate()
    assert operation.receive(bytes.fromhex(AARE_ACCEPTED)) is None
    context = operation.result()
    assert context.conformance == NO_LIST
    assert context.conformance.bit_numbers() == (9, 11, 19, 20, 21, 22, 23)
    assert context.server_max_pdu_size == 500
    assert context.dlms_version == 6
    assert context.vaa_name == 7
    assert not context.allows(Conformance.MULTIPLE_REFERENCES)
    assert connection.context == context
    assert connection.associated


def test_rejected_aare_vector_names_the_reason() -> None:
    connection = ClientConnection(ClientSettings())
    operation = connection.associate()
    with pytest.raises(AssociationRejectedError) as caught:
        operation.receive(bytes.fromhex(AARE_REJECTED))
    assert not isinstance(caught.value, AuthenticationFailedError)
    assert caught.value.reason == "no reason given; initiate-error: dlms-version-too-low"
    assert connection.state is AssociationState.NOT_ASSOCIATED
    assert operation.done


@pytest.mark.parametrize(
    ("diagnostic", "error", "reason"),
    [
        (
            AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
            AuthenticationFailedError,
            "authentication failure",
        ),
        (
            AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
            AssociationRejectedError,
            "application context name not supported",
        ),
        (
            AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED,
            AssociationRejectedError,
            "authentication mechanism name not recognised",
        ),
        (
            AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION,
            AssociationRejectedError,
            "no common acse version (ACSE service provider)",
        ),
    ],
)
def test_rejections_map_to_errors(
    diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic,
    error: type[AssociationRejectedError],
    reason: str,
) -> None:
    # referencing=ln: with auto, a refused LN context is retried with short names (test_client_short_name)
    settings = ClientSettings(
        authentication=Authentication.LLS, password=b"wrong-password", referencing=Referencing.LN
    )
    operation = ClientConnection(settings).associate()
    aare = _aare(result=AssociationResult.REJECTED_PERMANENT, diagnostic=diagnostic)
    with pytest.raises(error) as caught:
        operation.receive(aare)
    assert type(caught.value) is error
    assert caught.value.reason == reason
    assert "wrong-password" not in str(caught.value)


def test_transient_rejection_says_so() -> None:
    operation = ClientConnection(ClientSettings()).associate()
    aare = _aare(
        result=AssociationResult.REJECTED_TRANSIENT, diagnostic=AcseServiceUserDiagnostic.NO_REASON_GIVEN
    )
    with pytest.raises(AssociationRejectedError, match=r"no reason given \(transient\)"):
        operation.receive(aare)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", DecodeError),
        (bytes.fromhex("6203800100"), ProtocolError),
        (bytes.fromhex("D80101"), NotAssociatedError),
        (bytes.fromhex("6129A1090607608574050801"), DecodeError),
        (_aare(context=ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING), ProtocolError),
        (
            AARE(user_information=None).encode(),
            ProtocolError,
        ),
        (
            _aare(
                user_information=ConfirmedServiceError(
                    ConfirmedServiceErrorService.INITIATE_ERROR, ServiceErrorType.INITIATE, 2
                )
            ),
            AssociationRejectedError,
        ),
    ],
)
def test_bad_association_answers_give_typed_errors(answer: bytes, error: type[Exception]) -> None:
    connection = ClientConnection(ClientSettings())
    operation = connection.associate()
    with pytest.raises(error):
        operation.receive(answer)
    assert connection.state is AssociationState.NOT_ASSOCIATED
    with pytest.raises(ProtocolError):
        operation.receive(b"\x61")
    with pytest.raises(ProtocolError):
        operation.result()


def test_requests_need_an_association() -> None:
    connection = ClientConnection(ClientSettings())
    with pytest.raises(NotAssociatedError):
        connection.get(FRAME_COUNTER)
    with pytest.raises(ConnectionLostError):
        connection.get_many([FRAME_COUNTER])
    with pytest.raises(NotAssociatedError):
        connection.set(FRAME_COUNTER, Data.double_long_unsigned(1))
    with pytest.raises(NotAssociatedError):
        connection.action(CosemMethodDescriptor(70, ObisCode(0, 0, 96, 3, 10, 255), 1))


def test_release_sends_rlrq_and_ends_the_association() -> None:
    connection = _associated()
    operation = connection.release()
    assert operation.request.hex() == "6203800100"
    assert connection.state is AssociationState.RELEASING
    assert operation.receive(RLRE().encode()) is None
    assert connection.state is AssociationState.NOT_ASSOCIATED
    connection = _associated()
    operation = connection.release()
    with pytest.raises(ProtocolError):
        operation.receive(bytes.fromhex("D80101"))
    assert connection.state is AssociationState.NOT_ASSOCIATED


# --- GET ----------------------------------------------------------------------------------------------


def test_get_normal_is_the_public_vector() -> None:
    connection = _associated()
    operation = connection.get(FRAME_COUNTER)
    assert operation.request.hex() == GET_NORMAL
    assert operation.receive(bytes.fromhex(GET_RESPONSE_NORMAL)) is None
    assert operation.result() == Data.double_long_unsigned(5009)


def test_get_with_list_is_the_public_vector() -> None:
    connection = _associated()
    operation = connection.get_many([DEVICE_ID, CLOCK_TIME])
    assert operation.request.hex() == GET_WITH_LIST
    assert operation.receive(bytes.fromhex(GET_RESPONSE_WITH_LIST)) is None
    device_id, clock = operation.result()
    assert device_id == Data.octet_string(b"ISK1030777764366")
    assert isinstance(clock, Data)
    assert isinstance(clock.value, bytes)
    stamp = CosemDateTime.from_bytes(clock.value)
    assert (stamp.date.year, stamp.date.month, stamp.date.day_of_month) == (2021, 6, 3)
    assert (stamp.time.hour, stamp.time.minute, stamp.time.second) == (14, 9, 23)
    assert stamp.deviation == -60


def test_get_many_without_multiple_references_asks_one_by_one() -> None:
    connection = _associated(conformance=NO_LIST)
    operation = connection.get_many([DEVICE_ID, FRAME_COUNTER, CLOCK_TIME])
    sent: list[GetRequestNormal] = []
    answers = [
        GetResponseNormal(Data.octet_string(b"ID")),
        GetResponseNormal(DataAccessResult.READ_WRITE_DENIED),
        GetResponseNormal(DataAccessResult.OBJECT_UNDEFINED),
    ]
    request: bytes | None = operation.request
    for answer in answers:
        assert request is not None
        parsed = GetRequestNormal.decode(request)
        sent.append(parsed)
        request = operation.receive(
            dataclasses.replace(answer, invoke_id_and_priority=parsed.invoke_id_and_priority).encode()
        )
    assert request is None
    assert [item.attribute for item in sent] == [DEVICE_ID, FRAME_COUNTER, CLOCK_TIME]
    value, denied, undefined = operation.result()
    assert value == Data.octet_string(b"ID")
    assert isinstance(denied, AccessDeniedError)
    assert str(denied) == "0.0.43.1.0.255 attribute 2 (class 1): read-write-denied"
    assert isinstance(undefined, ObjectUndefinedError)


def test_get_many_of_nothing_sends_nothing() -> None:
    operation = _associated().get_many([])
    assert operation.done
    assert operation.result() == []


def _answer_with_list(request: bytes) -> tuple[GetRequestWithList | GetRequestNormal, bytes]:
    parsed = decode_get_request(request)
    if isinstance(parsed, GetRequestWithList):
        results = tuple(Data.long_unsigned(item.attribute.instance_id.e) for item in parsed.attributes)
        return parsed, GetResponseWithList(results, parsed.invoke_id_and_priority).encode()
    assert isinstance(parsed, GetRequestNormal)
    value = Data.long_unsigned(parsed.attribute.instance_id.e)
    return parsed, GetResponseNormal(value, parsed.invoke_id_and_priority).encode()


@pytest.mark.parametrize("ciphered", [False, True])
def test_get_with_list_is_split_to_fit_the_server_pdu_size(ciphered: bool) -> None:
    max_pdu = 64
    settings = ClientSettings(keys=KEYS, ciphered=True) if ciphered else ClientSettings()
    connection = ClientConnection(settings)
    operation = connection.associate()
    if ciphered:
        initiate = protect(
            ApduTag.GLO_INITIATE_RESPONSE,
            InitiateResponse(WITH_LIST, max_pdu).encode(),
            KEYS,
            system_title=METER_TITLE,
            invocation_counter=1,
        ).encode()
        operation.receive(
            _aare(
                title=METER_TITLE,
                context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
                user_information=initiate,
            )
        )
    else:
        operation.receive(_aare(WITH_LIST, max_pdu))
    assert connection.associated
    attributes = [CosemAttributeDescriptor(3, ObisCode(1, 0, 1, 8, index, 255), 2) for index in range(20)]
    operation = connection.get_many(attributes)
    request: bytes | None = operation.request
    counts: list[int] = []
    server_counter = 10
    while request is not None:
        assert len(request) <= max_pdu
        if ciphered:
            assert request[0] == ApduTag.GLO_GET_REQUEST
            plain = unprotect(request, KEYS, settings.client_system_title).plaintext
        else:
            plain = request
        parsed, answer = _answer_with_list(plain)
        counts.append(len(parsed.attributes) if isinstance(parsed, GetRequestWithList) else 1)
        if ciphered:
            server_counter += 1
            answer = protect(
                ApduTag.GLO_GET_RESPONSE,
                answer,
                KEYS,
                system_title=METER_TITLE,
                invocation_counter=server_counter,
            ).encode()
        request = operation.receive(answer)
    assert sum(counts) == 20
    assert len(counts) > 1
    assert max(counts) > 1
    assert operation.result() == [Data.long_unsigned(index) for index in range(20)]


def test_get_with_list_respects_the_item_cap() -> None:
    connection = _associated(ClientSettings(max_list_items=3))
    attributes = [CosemAttributeDescriptor(1, ObisCode(0, 0, 96, 1, index, 255), 2) for index in range(7)]
    operation = connection.get_many(attributes)
    request: bytes | None = operation.request
    counts: list[int] = []
    while request is not None:
        parsed, answer = _answer_with_list(request)
        counts.append(len(parsed.attributes) if isinstance(parsed, GetRequestWithList) else 1)
        request = operation.receive(answer)
    assert counts == [3, 3, 1]
    assert operation.result() == [Data.long_unsigned(index) for index in range(7)]


def test_get_with_list_refused_falls_back_to_single_requests() -> None:
    connection = _associated()
    operation = connection.get_many([DEVICE_ID, FRAME_COUNTER])
    refused = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED)
    request = operation.receive(refused.encode())
    assert request is not None
    assert GetRequestNormal.decode(request).attribute == DEVICE_ID
    request = operation.receive(GetResponseNormal(Data.octet_string(b"A"), _invoke(request)).encode())
    assert request is not None
    assert GetRequestNormal.decode(request).attribute == FRAME_COUNTER
    assert operation.receive(GetResponseNormal(Data.unsigned(1), _invoke(request)).encode()) is None
    assert operation.result() == [Data.octet_string(b"A"), Data.unsigned(1)]
    # From now on the connection does not try with-list again.
    again = connection.get_many([DEVICE_ID, FRAME_COUNTER])
    assert GetRequestNormal.decode(again.request).attribute == DEVICE_ID


def test_get_with_list_per_item_errors_and_count_mismatch() -> None:
    connection = _associated()
    operation = connection.get_many([DEVICE_ID, FRAME_COUNTER])
    answer = GetResponseWithList(
        (Data.unsigned(3), DataAccessResult.SCOPE_OF_ACCESS_VIOLATED), _invoke(operation.request)
    )
    operation.receive(answer.encode())
    value, error = operation.result()
    assert value == Data.unsigned(3)
    assert isinstance(error, AccessDeniedError)
    assert "scope-of-access-violated" in str(error)
    operation = connection.get_many([DEVICE_ID, FRAME_COUNTER])
    with pytest.raises(ProtocolError, match="1 results for 2 attributes"):
        operation.receive(GetResponseWithList((Data.unsigned(3),), _invoke(operation.request)).encode())
    operation = connection.get_many([DEVICE_ID, FRAME_COUNTER])
    with pytest.raises(ProtocolError, match="normal answer"):
        operation.receive(GetResponseNormal(Data.unsigned(3), _invoke(operation.request)).encode())


def _blocks(value: Data, size: int, invoke: InvokeIdAndPriority) -> list[GetResponseWithDatablock]:
    raw = encode_data(value)
    chunks = [raw[start : start + size] for start in range(0, len(raw), size)]
    return [
        GetResponseWithDatablock(index == len(chunks) - 1, index + 1, chunk, invoke)
        for index, chunk in enumerate(chunks)
    ]


def test_get_reassembles_datablocks_with_get_next() -> None:
    connection = _associated()
    value = Data.array(*(Data.double_long_unsigned(n) for n in range(100)))
    operation = connection.get(ENERGY)
    invoke = _invoke(operation.request)
    blocks = _blocks(value, 200, invoke)
    assert len(blocks) == 3
    nexts: list[GetRequestNext] = []
    for block in blocks:
        request = operation.receive(block.encode())
        if request is not None:
            nexts.append(GetRequestNext.decode(request))
    assert [item.block_number for item in nexts] == [1, 2]
    assert all(item.invoke_id_and_priority == invoke for item in nexts)
    assert operation.result() == value


def test_get_with_list_reassembles_datablocks() -> None:
    connection = _associated()
    operation = connection.get_many([DEVICE_ID, FRAME_COUNTER])
    invoke = _invoke(operation.request)
    raw = bytes.fromhex("02") + b"\x00" + encode_data(Data.octet_string(b"x" * 50)) + b"\x01\x04"
    first = GetResponseWithDatablock(False, 1, raw[:20], invoke)
    second = GetResponseWithDatablock(True, 2, raw[20:], invoke)
    request = operation.receive(first.encode())
    assert request is not None
    assert GetRequestNext.decode(request).block_number == 1
    assert operation.receive(second.encode()) is None
    value, error = operation.result()
    assert value == Data.octet_string(b"x" * 50)
    assert isinstance(error, ObjectUndefinedError)


def test_datablock_errors() -> None:
    connection = _associated()
    operation = connection.get(ENERGY)
    invoke = _invoke(operation.request)
    operation.receive(GetResponseWithDatablock(False, 1, b"\x01\x02", invoke).encode())
    with pytest.raises(ServiceError, match="long-get-aborted"):
        operation.receive(
            GetResponseWithDatablock(True, 2, DataAccessResult.LONG_GET_ABORTED, invoke).encode()
        )
    operation = connection.get(ENERGY)
    invoke = _invoke(operation.request)
    operation.receive(GetResponseWithDatablock(False, 1, b"\x01\x02", invoke).encode())
    with pytest.raises(DecodeError, match="out of sequence"):
        operation.receive(GetResponseWithDatablock(True, 3, b"\x00", invoke).encode())
    operation = connection.get(ENERGY)
    invoke = _invoke(operation.request)
    operation.receive(GetResponseWithDatablock(False, 1, b"\x01\x02", invoke).encode())
    with pytest.raises(ProtocolError, match="interrupted"):
        operation.receive(GetResponseNormal(Data.unsigned(1), invoke).encode())


def test_endless_empty_blocks_are_bounded() -> None:
    connection = ClientConnection(ClientSettings(), max_blocks=5)
    connection.associate().receive(_aare())
    operation = connection.get(ENERGY)
    invoke = _invoke(operation.request)
    for number in range(1, 5):
        assert operation.receive(GetResponseWithDatablock(False, number, b"", invoke).encode()) is not None
    with pytest.raises(ProtocolError, match="more than 5 blocks"):
        operation.receive(GetResponseWithDatablock(False, 5, b"", invoke).encode())


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (DataAccessResult.READ_WRITE_DENIED, AccessDeniedError),
        (DataAccessResult.SCOPE_OF_ACCESS_VIOLATED, AccessDeniedError),
        (DataAccessResult.OBJECT_UNDEFINED, ObjectUndefinedError),
        (DataAccessResult.OBJECT_UNAVAILABLE, ObjectUndefinedError),
        (DataAccessResult.OBJECT_CLASS_INCONSISTENT, ObjectUndefinedError),
        (DataAccessResult.HARDWARE_FAULT, ServiceError),
        (DataAccessResult.TEMPORARY_FAILURE, ServiceError),
        (DataAccessResult.TYPE_UNMATCHED, ServiceError),
        (DataAccessResult.OTHER_REASON, ServiceError),
    ],
)
def test_data_access_results_map_to_errors(result: DataAccessResult, error: type[ServiceError]) -> None:
    connection = _associated()
    operation = connection.get(ENERGY)
    with pytest.raises(error) as caught:
        operation.receive(GetResponseNormal(result, _invoke(operation.request)).encode())
    assert type(caught.value) is error
    assert (
        str(caught.value) == f"1.0.1.8.0.255 attribute 2 (class 3): {result.name.lower().replace('_', '-')}"
    )
    assert connection.associated


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        ("D80101", NotAssociatedError, "service-not-allowed, operation-not-possible"),
        ("D80103", NotAssociatedError, "other-reason"),
        ("D80102", ServiceUnsupportedError, "service-not-supported"),
        ("D80201", ServiceUnsupportedError, "service-unknown"),
        ("D80104", ServiceError, "pdu-too-long"),
        ("D80105", DecryptionError, "security policy may require"),  # we did not cipher
        ("D8010600001000", SecurityError, "expects at least 4096"),
        ("0E050302", ServiceError, "confirmed-service-error read: service-unsupported"),
        ("0E010201", NotAssociatedError, "no-dlms-context"),
        ("C501C100", ProtocolError, "expected get_response"),
        ("C402C1", TruncatedError, "truncated"),
        ("C40FC100", DecodeError, "unknown get-response choice"),
        ("CC0500000000", ProtocolError, "ciphered answer"),
    ],
)
def test_negative_and_wrong_answers_map_to_errors(answer: str, error: type[Exception], text: str) -> None:
    connection = _associated()
    operation = connection.get(ENERGY)
    with pytest.raises(error, match=text) as caught:
        operation.receive(bytes.fromhex(answer))
    assert type(caught.value) is error
    if error is SecurityError:
        assert connection.invocation_counter == 4096


def test_not_associated_answer_is_a_lost_connection() -> None:
    assert issubclass(NotAssociatedError, ConnectionLostError)
    assert issubclass(ServiceUnsupportedError, ServiceError)


def test_wrong_invoke_id_is_a_protocol_error() -> None:
    connection = _associated()
    operation = connection.get(FRAME_COUNTER)
    wrong = InvokeIdAndPriority(invoke_id=(_invoke(operation.request).invoke_id + 1) % 16)
    with pytest.raises(ProtocolError, match="invoke id"):
        operation.receive(GetResponseNormal(Data.unsigned(1), wrong).encode())


def test_invoke_ids_cycle_through_sixteen_values() -> None:
    connection = _associated()
    ids = []
    for _ in range(18):
        operation = connection.get(FRAME_COUNTER)
        invoke = _invoke(operation.request)
        assert invoke.confirmed
        assert invoke.high_priority
        ids.append(invoke.invoke_id)
        operation.receive(GetResponseNormal(Data.unsigned(1), invoke).encode())
    assert ids == [*range(1, 16), 0, 1, 2]


def test_selective_access_is_sent() -> None:
    connection = _associated()
    from custom_components.dlms_cosem.dlms.apdu import EntryDescriptor, SelectiveAccessDescriptor

    selection = SelectiveAccessDescriptor.of(EntryDescriptor(1, 10))
    operation = connection.get(CosemAttributeDescriptor(7, ObisCode(1, 0, 99, 1, 0, 255), 2), selection)
    assert GetRequestNormal.decode(operation.request).access_selection == selection


# --- SET and ACTION -----------------------------------------------------------------------------------


def test_set_normal() -> None:
    connection = _associated()
    operation = connection.set(CLOCK_TIME, Data.octet_string(bytes(12)))
    request = SetRequestNormal.decode(operation.request)
    assert request.attribute == CLOCK_TIME
    assert request.value == Data.octet_string(bytes(12))
    assert (
        operation.receive(
            SetResponseNormal(DataAccessResult.SUCCESS, request.invoke_id_and_priority).encode()
        )
        is None
    )
    assert operation.result() is None
    operation = connection.set(CLOCK_TIME, Data.octet_string(bytes(12)))
    with pytest.raises(AccessDeniedError):
        operation.receive(
            SetResponseNormal(DataAccessResult.READ_WRITE_DENIED, _invoke(operation.request)).encode()
        )


def test_action_normal() -> None:
    connection = _associated()
    disconnect = CosemMethodDescriptor(70, ObisCode(0, 0, 96, 3, 10, 255), 1)
    operation = connection.action(disconnect, Data.integer(0))
    request = ActionRequestNormal.decode(operation.request)
    assert request.method == disconnect
    assert request.parameters == Data.integer(0)
    operation.receive(
        ActionResponseNormal(ActionResult.SUCCESS, None, request.invoke_id_and_priority).encode()
    )
    assert operation.result() is None
    operation = connection.action(disconnect)
    invoke = _invoke(operation.request)
    operation.receive(ActionResponseNormal(ActionResult.SUCCESS, Data.unsigned(7), invoke).encode())
    assert operation.result() == Data.unsigned(7)
    for reply, error in [
        (ActionResponseNormal(ActionResult.READ_WRITE_DENIED), AccessDeniedError),
        (ActionResponseNormal(ActionResult.OBJECT_UNDEFINED), ObjectUndefinedError),
        (ActionResponseNormal(ActionResult.SUCCESS, DataAccessResult.TEMPORARY_FAILURE), ServiceError),
    ]:
        operation = connection.action(disconnect)
        with pytest.raises(error, match=r"0\.0\.96\.3\.10\.255 method 1 \(class 70\)"):
            operation.receive(
                dataclasses.replace(reply, invoke_id_and_priority=_invoke(operation.request)).encode()
            )


# --- ciphering ----------------------------------------------------------------------------------------


def _ciphered_connection(
    reported: list[int], *, control: int = 0x30
) -> tuple[ClientConnection, ClientSettings]:
    settings = ClientSettings(
        client_address=1,
        authentication=Authentication.LLS,
        password=b"secret",
        keys=KEYS,
        ciphered=True,
        security_control=control,
        client_system_title=b"CLI\x00\x00\x00\x00\x07",
        invocation_counter=100,
        on_invocation_counter=reported.append,
    )
    connection = ClientConnection(settings)
    operation = connection.associate()
    aarq = AARQ.decode(operation.request)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
    assert aarq.calling_ap_title == settings.client_system_title
    assert isinstance(aarq.user_information, bytes)
    assert aarq.user_information[0] == ApduTag.GLO_INITIATE_REQUEST
    initiate = protect(
        ApduTag.GLO_INITIATE_RESPONSE,
        InitiateResponse(WITH_LIST, 1024).encode(),
        KEYS,
        system_title=METER_TITLE,
        invocation_counter=500,
        control=control,
    ).encode()
    aare = _aare(
        title=METER_TITLE,
        context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
        user_information=initiate,
    )
    assert operation.receive(aare) is None
    assert connection.context is not None
    assert connection.context.server_system_title == METER_TITLE
    return connection, settings


def _meter_reply(
    apdu: bytes, counter: int, *, tag: int = ApduTag.GLO_GET_RESPONSE, control: int = 0x30
) -> bytes:
    return protect(
        tag, apdu, KEYS, system_title=METER_TITLE, invocation_counter=counter, control=control
    ).encode()


def test_ciphered_get_wraps_requests_and_reports_every_counter() -> None:
    reported: list[int] = []
    connection, settings = _ciphered_connection(reported)
    assert reported == [101]
    for expected_counter, server_counter in [(101, 501), (102, 502)]:
        operation = connection.get(FRAME_COUNTER)
        request = operation.request
        assert request[0] == ApduTag.GLO_GET_REQUEST
        clear = unprotect(request, KEYS, settings.client_system_title)
        assert clear.invocation_counter == expected_counter
        assert clear.verified
        plain = GetRequestNormal.decode(clear.plaintext)
        assert plain.attribute == FRAME_COUNTER
        reply = GetResponseNormal(
            Data.double_long_unsigned(server_counter), plain.invoke_id_and_priority
        ).encode()
        assert operation.receive(_meter_reply(reply, server_counter)) is None
        assert operation.result() == Data.double_long_unsigned(server_counter)
    assert reported == [101, 102, 103]
    assert connection.invocation_counter == 103


def test_ciphered_answers_must_be_authentic_fresh_and_protected() -> None:
    reported: list[int] = []
    connection, _settings = _ciphered_connection(reported)

    def reply_for(operation_request: bytes, value: int) -> bytes:
        plain = unprotect(operation_request, KEYS, b"CLI\x00\x00\x00\x00\x07").plaintext
        return GetResponseNormal(Data.unsigned(value), InvokeIdAndPriority.from_byte(plain[2])).encode()

    operation = connection.get(FRAME_COUNTER)
    tampered = bytearray(_meter_reply(reply_for(operation.request, 1), 600))
    tampered[-1] ^= 0x01
    with pytest.raises(AuthenticationTagMismatchError):
        operation.receive(bytes(tampered))

    operation = connection.get(FRAME_COUNTER)
    with pytest.raises(DecryptionError, match="unprotected answer"):
        operation.receive(reply_for(operation.request, 1))

    operation = connection.get(FRAME_COUNTER)
    with pytest.raises(DecryptionError, match="less protected"):
        operation.receive(_meter_reply(reply_for(operation.request, 1), 601, control=0x20))

    operation = connection.get(FRAME_COUNTER)
    operation.receive(_meter_reply(reply_for(operation.request, 1), 602))
    assert operation.result() == Data.unsigned(1)
    operation = connection.get(FRAME_COUNTER)
    with pytest.raises(DecryptionError, match="did not increase"):
        operation.receive(_meter_reply(reply_for(operation.request, 2), 602))

    operation = connection.get(FRAME_COUNTER)
    other_title = protect(
        ApduTag.GENERAL_GLO_CIPHERING,
        reply_for(operation.request, 3),
        KEYS,
        system_title=b"OTHER\x00\x00\x01",
        invocation_counter=700,
    ).encode()
    with pytest.raises(DecryptionError, match="another system title"):
        operation.receive(other_title)

    operation = connection.get(FRAME_COUNTER)
    general = protect(
        ApduTag.GENERAL_GLO_CIPHERING,
        reply_for(operation.request, 4),
        KEYS,
        system_title=METER_TITLE,
        invocation_counter=701,
    ).encode()
    operation.receive(general)
    assert operation.result() == Data.unsigned(4)


def test_ciphered_association_accepts_unprotected_exception_responses() -> None:
    connection, _settings = _ciphered_connection([])
    operation = connection.get(FRAME_COUNTER)
    with pytest.raises(NotAssociatedError):
        operation.receive(bytes.fromhex("D80101"))
    operation = connection.get(FRAME_COUNTER)
    with pytest.raises(DecryptionError, match="could not decipher"):
        operation.receive(bytes.fromhex("D80105"))


def test_a_deciphering_error_for_keys_we_used_blames_the_keys() -> None:
    connection, _settings = _ciphered_connection([])
    operation = connection.get(FRAME_COUNTER)
    with pytest.raises(DecryptionError, match=r"wrong keys\?") as raised:
        operation.receive(bytes.fromhex("D80105"))
    assert "security policy" not in str(raised.value)


def test_a_deciphering_error_without_ciphering_points_to_the_meters_policy() -> None:
    """The gurux C server answers a request in clear this way when its policy requires ciphering."""
    settings = ClientSettings(authentication=Authentication.HLS_GMAC, keys=KEYS, ciphered=False)
    _connection, operation, _action = _hls_pass_three(settings)
    # The answer to HLS pass 3, in clear: exception-response service-not-allowed, deciphering-error.
    with pytest.raises(DecryptionError) as raised:
        operation.receive(bytes.fromhex("D80105"))
    message = str(raised.value)
    assert "security policy may require" in message
    assert "without --no-ciphering" in message
    assert "wrong keys" not in message
    plain = _associated()
    with pytest.raises(DecryptionError, match="security policy may require") as plain_raised:
        plain.get(FRAME_COUNTER).receive(bytes.fromhex("D80105"))
    assert "wrong keys" not in str(plain_raised.value)


@pytest.mark.parametrize(
    ("ciphered", "expected"), [(True, "wrong keys?"), (False, "security policy may require")]
)
def test_an_aarq_the_meter_could_not_decipher(ciphered: bool, expected: str) -> None:
    settings = ClientSettings(keys=KEYS, ciphered=ciphered, client_system_title=b"CLI\x00\x00\x00\x00\x07")
    refusal = AARE(
        result=AssociationResult.REJECTED_PERMANENT,
        result_source_diagnostic=AcseServiceUserDiagnostic.NULL,
        application_context_name=ClientConnection(settings).build_aarq().application_context_name,
        user_information=ConfirmedServiceError(
            ConfirmedServiceErrorService.INITIATE_ERROR,
            ServiceErrorType.APPLICATION_REFERENCE,
            ApplicationReferenceError.DECIPHERING_ERROR,
        ),
    )
    operation = ClientConnection(settings).associate()
    with pytest.raises(AuthenticationFailedError, match=re.escape(expected)):
        operation.receive(refusal.encode())


def test_ciphered_association_needs_a_ciphered_initiate_response() -> None:
    settings = ClientSettings(keys=KEYS, ciphered=True)
    operation = ClientConnection(settings).associate()
    context = ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
    with pytest.raises(DecryptionError, match="unprotected"):
        operation.receive(_aare(title=METER_TITLE, context=context))
    operation = ClientConnection(settings).associate()
    wrong_key = protect(
        ApduTag.GLO_INITIATE_RESPONSE,
        InitiateResponse(WITH_LIST, 1024).encode(),
        SecurityKeys(bytes(16), AK),
        system_title=METER_TITLE,
        invocation_counter=1,
    ).encode()
    with pytest.raises(AuthenticationTagMismatchError):
        operation.receive(_aare(title=METER_TITLE, context=context, user_information=wrong_key))
    operation = ClientConnection(settings).associate()
    good = protect(
        ApduTag.GLO_INITIATE_RESPONSE,
        InitiateResponse(WITH_LIST, 1024).encode(),
        KEYS,
        system_title=METER_TITLE,
        invocation_counter=1,
    ).encode()
    with pytest.raises(DecryptionError, match="system title is unknown"):
        operation.receive(_aare(context=context, user_information=good))
    # A rejection whose ciphered user-information cannot be read still reports the diagnostic.
    operation = ClientConnection(settings).associate()
    rejected = _aare(
        context=context,
        user_information=good,
        result=AssociationResult.REJECTED_PERMANENT,
        diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
    )
    with pytest.raises(AuthenticationFailedError, match="authentication failure"):
        operation.receive(rejected)


def test_ciphered_hls_gmac_uses_distinct_counters() -> None:
    reported: list[int] = []
    settings = ClientSettings(
        authentication=Authentication.HLS_GMAC,
        keys=KEYS,
        ciphered=True,
        client_system_title=b"CLI\x00\x00\x00\x00\x07",
        invocation_counter=10,
        on_invocation_counter=reported.append,
    )
    connection = ClientConnection(settings, random_bytes=lambda n: b"C" * n)
    operation = connection.associate()
    initiate = protect(
        ApduTag.GLO_INITIATE_RESPONSE,
        InitiateResponse(WITH_LIST, 1024).encode(),
        KEYS,
        system_title=METER_TITLE,
        invocation_counter=1,
    ).encode()
    action = operation.receive(
        _aare(
            title=METER_TITLE,
            context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
            user_information=initiate,
            diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
            mechanism=AuthenticationMechanism.HIGH_LEVEL_GMAC,
            challenge=b"S" * 32,
        )
    )
    assert action is not None
    assert action[0] == ApduTag.GLO_ACTION_REQUEST
    clear = unprotect(action, KEYS, settings.client_system_title)
    assert clear.invocation_counter == 12  # 10: glo-initiate-request, 11: f(StoC), 12: this APDU
    request = ActionRequestNormal.decode(clear.plaintext)
    assert request.parameters is not None
    assert isinstance(request.parameters.value, bytes)
    assert request.parameters.value[1:5] == (11).to_bytes(4, "big")
    answer = hls_gmac_response(
        system_title=METER_TITLE,
        invocation_counter=2,
        encryption_key=EK,
        authentication_key=AK,
        challenge=b"C" * 16,
    )
    reply = ActionResponseNormal(
        ActionResult.SUCCESS, Data.octet_string(answer), request.invoke_id_and_priority
    )
    operation.receive(_meter_reply(reply.encode(), 2, tag=ApduTag.GLO_ACTION_RESPONSE))
    assert connection.associated
    assert reported == [11, 12, 13]


def test_invocation_counter_only_moves_forward_and_is_exhausted_at_the_top() -> None:
    reported: list[int] = []
    connection, _settings = _ciphered_connection(reported)
    connection.advance_invocation_counter(50)
    assert connection.invocation_counter == 101
    connection.advance_invocation_counter(0xFFFF_FFFF)
    assert reported[-1] == 0xFFFF_FFFF
    operation = connection.get(FRAME_COUNTER)
    assert unprotect(operation.request, KEYS, b"CLI\x00\x00\x00\x00\x07").invocation_counter == 0xFFFF_FFFF
    with pytest.raises(SecurityError, match="exhausted"):
        connection.get(FRAME_COUNTER)


# --- settings -----------------------------------------------------------------------------------------


def test_settings_repr_hides_secrets() -> None:
    settings = ClientSettings(
        authentication=Authentication.LLS,
        password=b"hunter2-password",
        keys=KEYS,
        ciphered=True,
        dedicated_key=bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
    )
    text = repr(settings) + str(settings)
    for secret in ("hunter2", EK.hex(), AK.hex(), "a0a1a2a3", "A0A1A2A3"):
        assert secret.lower() not in text.lower()
    assert "client_address=16" in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"authentication": Authentication.LLS},
        {"password": b"x"},
        {"authentication": Authentication.HLS_GMAC},
        {"authentication": Authentication.HLS_GMAC, "keys": SecurityKeys(EK, None)},
        {"ciphered": True},
        {"ciphered": True, "keys": SecurityKeys(EK, None)},
        {"ciphered": True, "keys": KEYS, "security_control": 0x00},
        {"ciphered": True, "keys": KEYS, "security_control": 0x33},  # suite 3: no symmetric keys
        {"ciphered": True, "keys": KEYS, "security_control": 0x32},  # suite 2 needs 32-byte keys
        {"ciphered": True, "keys": KEYS, "security_control": 0x130},
        {"ciphered": True, "keys": KEYS, "dedicated_key": b"short"},
        {"dedicated_key": bytes(16)},
        {"client_system_title": b"short"},
        {"server_system_title": b"toolongtitle"},
        {"max_pdu_size": 11},
        {"max_pdu_size": 0x10000},
        {"invocation_counter": -1},
        {"invocation_counter": 1 << 32},
        {"client_address": 0x10000},
        {"max_list_items": 0},
    ],
)
def test_settings_are_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        ClientSettings(**kwargs)  # type: ignore[arg-type]
    assert "hunter" not in str(caught.value)


def test_encryption_only_settings_need_no_authentication_key() -> None:
    settings = ClientSettings(ciphered=True, keys=SecurityKeys(EK, None), security_control=0x20)
    assert settings.control.encrypted
    assert not settings.control.authenticated


def test_dedicated_key_answers_are_deciphered_with_the_proposed_key() -> None:
    dedicated = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")
    for proposed in (dedicated, None):
        settings = ClientSettings(keys=KEYS, ciphered=True, dedicated_key=proposed)
        connection = ClientConnection(settings)
        operation = connection.associate()
        aarq = AARQ.decode(operation.request)
        assert isinstance(aarq.user_information, bytes)
        initiate = unprotect(aarq.user_information, KEYS, settings.client_system_title).plaintext
        assert InitiateRequest.decode(initiate).dedicated_key == proposed
        answer = protect(
            ApduTag.GLO_INITIATE_RESPONSE,
            InitiateResponse(WITH_LIST, 1024).encode(),
            KEYS,
            system_title=METER_TITLE,
            invocation_counter=1,
        ).encode()
        operation.receive(
            _aare(
                title=METER_TITLE,
                context=ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
                user_information=answer,
            )
        )
        get = connection.get(FRAME_COUNTER)
        plain = unprotect(get.request, KEYS, settings.client_system_title).plaintext
        reply = GetResponseNormal(Data.unsigned(9), InvokeIdAndPriority.from_byte(plain[2])).encode()
        ded = protect(
            ApduTag.DED_GET_RESPONSE,
            reply,
            SecurityKeys(dedicated, AK),
            system_title=METER_TITLE,
            invocation_counter=2,
        ).encode()
        if proposed is None:
            with pytest.raises(DecryptionError, match="dedicated key"):
                get.receive(ded)
        else:
            get.receive(ded)
            assert get.result() == Data.unsigned(9)


def test_a_value_repeated_after_itself_is_kept_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """The gurux C example server's clock answer: the date-time, then it again (see test_apdu_get)."""
    connection = _associated()
    operation = connection.get(CosemAttributeDescriptor(8, ObisCode(0, 0, 1, 0, 0, 255), 2))
    answer = bytearray.fromhex("c401c100090c07ea0c070117330900000000090f090c07ea0c070117330900000000090f")
    answer[2] = operation.request[2]  # our invoke id
    with caplog.at_level("WARNING"):
        assert operation.receive(bytes(answer)) is None
    assert operation.result() == Data.octet_string(bytes.fromhex("07ea0c070117330900000000"))
    assert "18 bytes after the value that repeat it" in caplog.text
    other = connection.get(CosemAttributeDescriptor(8, ObisCode(0, 0, 1, 0, 0, 255), 2))
    garbled = bytearray.fromhex("c401c100090c07ea0c070117330900000000090f")
    garbled[2] = other.request[2]
    with pytest.raises(DecodeError, match="2 unexpected bytes"):
        other.receive(bytes(garbled))
