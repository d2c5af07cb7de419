import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.service_errors import (
    AccessError,
    ActionResult,
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    DataAccessResult,
    ExceptionResponse,
    ExceptionServiceError,
    InitiateError,
    ServiceErrorType,
    StateError,
)
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError


def test_data_access_result_values() -> None:
    assert DataAccessResult.OBJECT_UNDEFINED.value == 4
    assert DataAccessResult.OBJECT_CLASS_INCONSISTENT.value == 9
    assert DataAccessResult.OBJECT_UNAVAILABLE.value == 11
    assert DataAccessResult.DATA_BLOCK_NUMBER_INVALID.value == 19
    assert DataAccessResult.OTHER_REASON.value == 250
    assert ActionResult.LONG_ACTION_ABORTED.value == 15


def test_confirmed_service_error_initiate_from_rejecting_aare() -> None:
    error = ConfirmedServiceError.decode(bytes.fromhex("0e010601"))
    assert error.service is ConfirmedServiceErrorService.INITIATE_ERROR
    assert error.error_type is ServiceErrorType.INITIATE
    assert error.detail is InitiateError.DLMS_VERSION_TOO_LOW
    assert error.encode().hex() == "0e010601"


def test_confirmed_service_error_detail_falls_back_to_number() -> None:
    assert ConfirmedServiceError(ConfirmedServiceErrorService.READ, ServiceErrorType.ACCESS, 99).detail == 99
    assert ConfirmedServiceError(ConfirmedServiceErrorService.READ, ServiceErrorType.OTHER, 3).detail == 3
    error = ConfirmedServiceError(ConfirmedServiceErrorService.READ, ServiceErrorType.ACCESS, 1)
    assert error.detail is AccessError.SCOPE_OF_ACCESS_VIOLATED


def test_exception_response() -> None:
    response = ExceptionResponse.decode(bytes.fromhex("d80102"))
    assert response.state_error is StateError.SERVICE_NOT_ALLOWED
    assert response.service_error is ExceptionServiceError.SERVICE_NOT_SUPPORTED
    assert response.invocation_counter is None
    assert response.encode().hex() == "d80102"


def test_exception_response_invocation_counter() -> None:
    response = ExceptionResponse.decode(bytes.fromhex("d8010600000123"))
    assert response.service_error is ExceptionServiceError.INVOCATION_COUNTER_ERROR
    assert response.invocation_counter == 0x123
    assert response.encode().hex() == "d8010600000123"
    # older meters send no counter
    assert ExceptionResponse.decode(bytes.fromhex("d80106")).invocation_counter is None


@pytest.mark.parametrize(
    "raw", ["d8", "d801", "d80007", "d80301", "d8010101", "0e0106", "0e000601", "0e01ff01", "c40102"]
)
def test_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    decode = ConfirmedServiceError.decode if data[0] == 0x0E else ExceptionResponse.decode
    with pytest.raises(DecodeError):
        decode(data)


@given(
    st.sampled_from(StateError),
    st.sampled_from(ExceptionServiceError),
    st.none() | st.integers(0, 0xFFFFFFFF),
)
def test_exception_round_trip(state: StateError, service: ExceptionServiceError, counter: int | None) -> None:
    if service is not ExceptionServiceError.INVOCATION_COUNTER_ERROR:
        counter = None
    response = ExceptionResponse(state, service, counter)
    assert ExceptionResponse.decode(response.encode()) == response


@given(st.sampled_from(ConfirmedServiceErrorService), st.sampled_from(ServiceErrorType), st.integers(0, 255))
def test_confirmed_service_error_round_trip(
    service: ConfirmedServiceErrorService, error_type: ServiceErrorType, value: int
) -> None:
    error = ConfirmedServiceError(service, error_type, value)
    assert ConfirmedServiceError.decode(error.encode()) == error


@settings(max_examples=200)
@given(st.sampled_from([0x0E, 0xD8]), st.binary(max_size=8))
def test_fuzz(tag: int, raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        (ConfirmedServiceError if tag == 0x0E else ExceptionResponse).decode(bytes([tag]) + raw)
