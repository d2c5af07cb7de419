import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.acse import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    ReleaseRequestReason,
    ReleaseResponseReason,
)
from custom_components.dlms_cosem.dlms.apdu.conformance import DEFAULT_CLIENT_CONFORMANCE, Conformance
from custom_components.dlms_cosem.dlms.apdu.initiate import InitiateRequest, InitiateResponse
from custom_components.dlms_cosem.dlms.apdu.service_errors import (
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    InitiateError,
    ServiceErrorType,
)
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError

AARQ_NO_SECURITY = "601da109060760857405080101be10040e01000000065f1f0400007e1f04b0"
AARQ_LLS = (
    "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738"
    "be10040e01000000065f1f0400007e1f04b0"
)
AARQ_HLS_GMAC = (
    "6036a1090607608574050801018a0207808b0760857405080205ac0a80084b35366956616759"
    "be10040e01000000065f1f0400007e1f04b0"
)
GLO_INITIATE = (
    "21303001234567801302ff8a7874133d414ced25b42534d28db0047720606b175bd52211be6841db204d39ee6fdb8e356855"
)
AARQ_LLS_CIPHERED = (
    "6066a109060760857405080103a60a04084d4d4d0000bc614e8a0207808b0760857405080201ac0a80083132333435363738"
    "be34043221303001234567801302ff8a7874133d414ced25b42534d28db0047720606b175bd52211be6841db204d39ee6fdb8e356855"
)
AARQ_HDLC = "601da109060760857405080101be10040e01000000065f1f0400001e1dffff"
AARE_ACCEPTED = "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000501f01f40007"
AARE_REJECTED = "611fa109060760857405080101a203020101a305a103020101be0604040e010601"
AARE_HLS_GMAC = (
    "6142a109060760857405080101a203020100a305a10302010e88020780890760857405080205aa0a8008503677524a323146"
    "be10040e0800065f1f040000501f01f40007"
)
AARE_HDLC = "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f0400001e1d04c80007"

ALL_VECTORS = [
    AARQ_NO_SECURITY,
    AARQ_LLS,
    AARQ_HLS_GMAC,
    AARQ_LLS_CIPHERED,
    AARQ_HDLC,
    AARE_ACCEPTED,
    AARE_REJECTED,
    AARE_HLS_GMAC,
    AARE_HDLC,
]

DECODERS: dict[int, Callable[[bytes], object]] = {
    0x60: AARQ.decode,
    0x61: AARE.decode,
    0x62: RLRQ.decode,
    0x63: RLRE.decode,
}


def test_aarq_no_security() -> None:
    aarq = AARQ.decode(bytes.fromhex(AARQ_NO_SECURITY))
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING
    assert aarq.mechanism_name is None
    assert aarq.calling_authentication_value is None
    assert aarq.calling_ap_title is None
    assert aarq.user_information == InitiateRequest(DEFAULT_CLIENT_CONFORMANCE, 1200)
    assert aarq.encode().hex() == AARQ_NO_SECURITY
    assert (
        AARQ(user_information=InitiateRequest(client_max_receive_pdu_size=1200)).encode().hex()
        == AARQ_NO_SECURITY
    )


def test_aarq_lls_password_is_hidden() -> None:
    aarq = AARQ.decode(bytes.fromhex(AARQ_LLS))
    assert aarq.mechanism_name is AuthenticationMechanism.LOW_LEVEL
    assert aarq.mechanism_name.oid == "2.16.756.5.8.2.1"
    assert aarq.calling_authentication_value == b"12345678"
    assert "12345678" not in repr(aarq)
    assert "12345678" not in str(aarq)
    built = AARQ(
        user_information=InitiateRequest(client_max_receive_pdu_size=1200),
        mechanism_name=AuthenticationMechanism.LOW_LEVEL,
        calling_authentication_value=b"12345678",
    )
    assert built.encode().hex() == AARQ_LLS


def test_aarq_hls_gmac_carries_client_challenge() -> None:
    aarq = AARQ.decode(bytes.fromhex(AARQ_HLS_GMAC))
    assert aarq.mechanism_name is AuthenticationMechanism.HIGH_LEVEL_GMAC
    assert aarq.calling_authentication_value == b"K56iVagY"
    assert aarq.encode().hex() == AARQ_HLS_GMAC


def test_aarq_ciphered_context_keeps_glo_initiate_bytes() -> None:
    aarq = AARQ.decode(bytes.fromhex(AARQ_LLS_CIPHERED))
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
    assert aarq.application_context_name.ciphered
    assert aarq.calling_ap_title == bytes.fromhex("4d4d4d0000bc614e")
    assert aarq.mechanism_name is AuthenticationMechanism.LOW_LEVEL
    assert aarq.user_information == bytes.fromhex(GLO_INITIATE)
    assert aarq.encode().hex() == AARQ_LLS_CIPHERED


def test_aarq_from_hdlc_capture() -> None:
    aarq = AARQ.decode(bytes.fromhex(AARQ_HDLC))
    assert isinstance(aarq.user_information, InitiateRequest)
    assert aarq.user_information.client_max_receive_pdu_size == 0xFFFF
    assert aarq.user_information.proposed_conformance == Conformance.from_block_bytes(bytes.fromhex("001e1d"))
    assert aarq.encode().hex() == AARQ_HDLC


def test_aare_accepted() -> None:
    aare = AARE.decode(bytes.fromhex(AARE_ACCEPTED))
    assert aare.accepted
    assert aare.result is AssociationResult.ACCEPTED
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.NULL
    assert aare.user_information == InitiateResponse(
        Conformance.from_block_bytes(bytes.fromhex("00501f")), 500
    )
    assert aare.encode().hex() == AARE_ACCEPTED


def test_aare_rejected_with_initiate_error() -> None:
    aare = AARE.decode(bytes.fromhex(AARE_REJECTED))
    assert not aare.accepted
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.NO_REASON_GIVEN
    assert aare.user_information == ConfirmedServiceError(
        ConfirmedServiceErrorService.INITIATE_ERROR,
        ServiceErrorType.INITIATE,
        InitiateError.DLMS_VERSION_TOO_LOW,
    )
    assert aare.encode().hex() == AARE_REJECTED


def test_aare_hls_gmac_authentication_required_with_challenge() -> None:
    aare = AARE.decode(bytes.fromhex(AARE_HLS_GMAC))
    assert aare.accepted
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
    assert aare.mechanism_name is AuthenticationMechanism.HIGH_LEVEL_GMAC
    assert aare.responding_authentication_value == bytes.fromhex("503677524a323146")
    assert aare.encode().hex() == AARE_HLS_GMAC


def test_aare_from_hdlc_capture() -> None:
    aare = AARE.decode(bytes.fromhex(AARE_HDLC))
    assert isinstance(aare.user_information, InitiateResponse)
    assert aare.user_information.server_max_receive_pdu_size == 0x04C8
    assert aare.encode().hex() == AARE_HDLC


def test_aare_service_provider_diagnostic() -> None:
    aare = AARE(
        result=AssociationResult.REJECTED_TRANSIENT,
        result_source_diagnostic=AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION,
    )
    raw = aare.encode()
    assert bytes.fromhex("a305a203020102") in raw
    assert AARE.decode(raw) == aare


def test_unknown_optional_fields_are_skipped() -> None:
    # called-AP-invocation-id [4] and implementation-information [29] inserted after the context name
    body = bytes.fromhex(AARQ_NO_SECURITY)[2:]
    extra = bytes.fromhex("a403020101") + bytes.fromhex("9d0141")
    body = body[:11] + extra + body[11:]
    aarq = AARQ.decode(bytes([0x60, len(body)]) + body)
    assert aarq == AARQ.decode(bytes.fromhex(AARQ_NO_SECURITY))
    # a high-tag-number field is skipped too
    body = bytes.fromhex(AARE_ACCEPTED)[2:] + bytes.fromhex("bf2101ff")
    assert AARE.decode(bytes([0x61, len(body)]) + body) == AARE.decode(bytes.fromhex(AARE_ACCEPTED))


def test_protocol_version_and_titles_round_trip() -> None:
    aarq = AARQ(
        protocol_version=True,
        called_ap_title=b"SERVER01",
        calling_ap_title=b"CLIENT01",
        calling_ae_qualifier=b"\x30\x00",
        application_context_name=ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING,
    )
    raw = aarq.encode()
    assert raw[2:6].hex() == "80020780"
    assert AARQ.decode(raw) == aarq


def test_authentication_value_needs_mechanism() -> None:
    with pytest.raises(EncodeError):
        AARQ(calling_authentication_value=b"secret")


def test_release() -> None:
    assert RLRQ().encode().hex() == "6203800100"
    assert RLRQ.decode(bytes.fromhex("6203800100")).reason is ReleaseRequestReason.NORMAL
    assert RLRQ.decode(bytes.fromhex("6200")).reason is None
    assert RLRE.decode(bytes.fromhex("6303800100")).reason is ReleaseResponseReason.NORMAL
    rlrq = RLRQ(ReleaseRequestReason.USER_DEFINED, InitiateRequest())
    assert RLRQ.decode(rlrq.encode()) == rlrq
    rlre = RLRE(user_information=bytes.fromhex(GLO_INITIATE))
    assert RLRE.decode(rlre.encode()) == rlre
    rlre = RLRE(user_information=InitiateResponse(Conformance.GET, 1024))
    assert RLRE.decode(rlre.encode()) == rlre


@pytest.mark.parametrize(
    "raw",
    [
        "60",
        "6000",  # no application context
        "6100",
        "601da109060760857405080109be10040e01000000065f1f0400007e1f04b0",  # unknown context 1.9
        "600ba109060760857405080201",  # mechanism OID as context
        "6129a109060760857405080101a203020103a305a103020100be10040e0800065f1f040000501f01f40007",  # result 3
        "6129a109060760857405080101a203020100a305a103020120be10040e0800065f1f040000501f01f40007",  # diag 32
        "6129a109060760857405080101a203020100a305a303020100be10040e0800065f1f040000501f01f40007",  # [3]
        "601da109060760857405080101be10040e02000000065f1f0400007e1f04b0",  # inner tag 02
        "601ea109060760857405080101be10040e01000000065f1f0400007e1f04b000",  # length lie
        "6010a109060760857405080101a109060760",  # duplicate field
        "6203800105",  # unknown release reason
        "6303800107",
    ],
)
def test_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    with pytest.raises(DecodeError):
        DECODERS[data[0]](data)


def test_messages_never_show_password() -> None:
    raw = bytearray(bytes.fromhex(AARQ_LLS))
    raw[raw.index(bytes.fromhex("ac0a80")) + 2] = (
        0x81  # authentication-value bitstring choice is not supported
    )
    with pytest.raises(DecodeError) as info:
        AARQ.decode(bytes(raw))
    assert "12345678" not in str(info.value)
    assert "3132" not in str(info.value)


titles = st.none() | st.binary(min_size=0, max_size=20)
initiate_requests = st.builds(
    InitiateRequest,
    proposed_conformance=st.integers(0, 0xFFFFFF).map(Conformance),
    client_max_receive_pdu_size=st.integers(0, 0xFFFF),
    dedicated_key=st.none() | st.binary(max_size=16),
)


@st.composite
def aarqs(draw: st.DrawFn) -> AARQ:
    mechanism = draw(st.none() | st.sampled_from(AuthenticationMechanism))
    return AARQ(
        application_context_name=draw(st.sampled_from(ApplicationContextName)),
        user_information=draw(st.none() | initiate_requests | st.just(bytes.fromhex(GLO_INITIATE))),
        mechanism_name=mechanism,
        calling_authentication_value=None if mechanism is None else draw(st.none() | st.binary(max_size=200)),
        calling_ap_title=draw(titles),
        called_ap_title=draw(titles),
        calling_ae_qualifier=draw(titles),
        protocol_version=draw(st.booleans()),
    )


aares = st.builds(
    AARE,
    result=st.sampled_from(AssociationResult),
    result_source_diagnostic=st.sampled_from(AcseServiceUserDiagnostic)
    | st.sampled_from(AcseServiceProviderDiagnostic),
    application_context_name=st.sampled_from(ApplicationContextName),
    user_information=st.none()
    | st.builds(InitiateResponse, st.integers(0, 0xFFFFFF).map(Conformance), st.integers(0, 0xFFFF))
    | st.builds(
        ConfirmedServiceError,
        st.sampled_from(ConfirmedServiceErrorService),
        st.sampled_from(ServiceErrorType),
        st.integers(0, 255),
    )
    | st.just(bytes.fromhex("28") + bytes(20)),
    mechanism_name=st.none() | st.sampled_from(AuthenticationMechanism),
    responding_authentication_value=st.none() | st.binary(max_size=64),
    responding_ap_title=titles,
    responding_ae_qualifier=titles,
    protocol_version=st.booleans(),
)


@settings(max_examples=150)
@given(aarqs())
def test_aarq_round_trip(aarq: AARQ) -> None:
    assert AARQ.decode(aarq.encode()) == aarq


@settings(max_examples=150)
@given(aares)
def test_aare_round_trip(aare: AARE) -> None:
    assert AARE.decode(aare.encode()) == aare


def _decode_any(raw: bytes) -> None:
    DECODERS.get(raw[0] if raw else 0x60, AARQ.decode)(raw)


@settings(max_examples=300)
@given(st.data())
def test_fuzz_mutated_vectors(data: st.DataObject) -> None:
    raw = bytearray(bytes.fromhex(data.draw(st.sampled_from(ALL_VECTORS))))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    with contextlib.suppress(DlmsError):
        _decode_any(bytes(raw))


@settings(max_examples=200)
@given(st.sampled_from([0x60, 0x61, 0x62, 0x63]), st.binary(max_size=60))
def test_fuzz_random(tag: int, raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        _decode_any(bytes([tag]) + raw)
