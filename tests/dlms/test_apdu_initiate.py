import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.conformance import DEFAULT_CLIENT_CONFORMANCE, Conformance
from custom_components.dlms_cosem.dlms.apdu.initiate import InitiateRequest, InitiateResponse
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError

# From the Green Book AARQ example (user-information of aarq-no-security).
PLAIN_REQUEST = "01000000065f1f0400007e1f04b0"
# Green Book glo-initiate plaintext: dedicated key 00112233..FF.
DEDICATED_KEY_REQUEST = "01011000112233445566778899aabbccddeeff0000065f1f0400007e1f04b0"
# From the Green Book AARE example.
PLAIN_RESPONSE = "0800065f1f040000501f01f40007"


def test_plain_initiate_request() -> None:
    request = InitiateRequest.decode(bytes.fromhex(PLAIN_REQUEST))
    assert request.dedicated_key is None
    assert request.response_allowed is True
    assert request.proposed_quality_of_service is None
    assert request.proposed_dlms_version_number == 6
    assert request.proposed_conformance == DEFAULT_CLIENT_CONFORMANCE
    assert request.client_max_receive_pdu_size == 1200
    assert request.encode().hex() == PLAIN_REQUEST
    assert InitiateRequest(client_max_receive_pdu_size=0x4B0).encode().hex() == PLAIN_REQUEST


def test_initiate_request_with_dedicated_key_hides_key() -> None:
    request = InitiateRequest.decode(bytes.fromhex(DEDICATED_KEY_REQUEST))
    assert request.dedicated_key == bytes.fromhex("00112233445566778899aabbccddeeff")
    assert request.encode().hex() == DEDICATED_KEY_REQUEST
    assert "00112233" not in repr(request)
    assert "dedicated_key" not in repr(request)


def test_response_allowed_false_and_qos() -> None:
    request = InitiateRequest(response_allowed=False, proposed_quality_of_service=-1)
    raw = request.encode()
    assert raw[:5].hex() == "0100010001"
    assert raw[5] == 0xFF
    assert InitiateRequest.decode(raw) == request


def test_initiate_response() -> None:
    response = InitiateResponse.decode(bytes.fromhex(PLAIN_RESPONSE))
    assert response.negotiated_quality_of_service is None
    assert response.negotiated_dlms_version_number == 6
    assert response.server_max_receive_pdu_size == 500
    assert response.vaa_name == 7
    assert Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ in response.negotiated_conformance
    assert response.encode().hex() == PLAIN_RESPONSE


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "08",
        "01000000065f1f0400007e1f04",  # truncated pdu size
        "01000000065f1f0400007e1f04b000",  # trailing byte
        "01020000065f1f0400007e1f04b0",  # bad presence flag
        "0101ff",  # dedicated key longer than the APDU
        "0800065f1f040000501f01f400",
    ],
)
def test_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    decode = InitiateResponse.decode if data[:1] == b"\x08" else InitiateRequest.decode
    with pytest.raises(DecodeError):
        decode(data)


def test_out_of_range_values_refused() -> None:
    with pytest.raises(EncodeError):
        InitiateRequest(client_max_receive_pdu_size=0x10000)
    with pytest.raises(EncodeError):
        InitiateResponse(Conformance.GET, 500, vaa_name=-1)


requests = st.builds(
    InitiateRequest,
    proposed_conformance=st.integers(0, 0xFFFFFF).map(Conformance),
    client_max_receive_pdu_size=st.integers(0, 0xFFFF),
    proposed_dlms_version_number=st.integers(0, 255),
    dedicated_key=st.none() | st.binary(max_size=32),
    response_allowed=st.booleans(),
    proposed_quality_of_service=st.none() | st.integers(-128, 127),
)
responses = st.builds(
    InitiateResponse,
    negotiated_conformance=st.integers(0, 0xFFFFFF).map(Conformance),
    server_max_receive_pdu_size=st.integers(0, 0xFFFF),
    negotiated_dlms_version_number=st.integers(0, 255),
    vaa_name=st.integers(0, 0xFFFF),
    negotiated_quality_of_service=st.none() | st.integers(-128, 127),
)


@settings(max_examples=150)
@given(requests)
def test_request_round_trip(request: InitiateRequest) -> None:
    assert InitiateRequest.decode(request.encode()) == request


@settings(max_examples=150)
@given(responses)
def test_response_round_trip(response: InitiateResponse) -> None:
    assert InitiateResponse.decode(response.encode()) == response


@settings(max_examples=200)
@given(st.binary(max_size=40), st.sampled_from([InitiateRequest, InitiateResponse]))
def test_fuzz_random(raw: bytes, kind: type[InitiateRequest] | type[InitiateResponse]) -> None:
    with contextlib.suppress(DlmsError):
        kind.decode(bytes([kind.TAG]) + raw)


@settings(max_examples=200)
@given(st.data())
def test_fuzz_mutations(data: st.DataObject) -> None:
    raw = bytearray(
        bytes.fromhex(data.draw(st.sampled_from([PLAIN_REQUEST, DEDICATED_KEY_REQUEST, PLAIN_RESPONSE])))
    )
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    with contextlib.suppress(DlmsError):
        (InitiateResponse if raw[:1] == b"\x08" else InitiateRequest).decode(bytes(raw))
