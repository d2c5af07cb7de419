import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.action import (
    ActionRequestNormal,
    ActionResponseNormal,
    decode_action_request,
    decode_action_response,
)
from custom_components.dlms_cosem.dlms.apdu.common import CosemMethodDescriptor
from custom_components.dlms_cosem.dlms.apdu.service_errors import ActionResult, DataAccessResult
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError
from custom_components.dlms_cosem.dlms.obis import ObisCode

from .test_apdu_strategies import data_values, invoke_ids, method_descriptors

# Disconnect control (class 70, 0.0.96.3.10.255) method 1 remote_disconnect(integer 0)
REMOTE_DISCONNECT = "c301c1004600006003 0aff01010f00".replace(" ", "")
DISCONNECT = CosemMethodDescriptor(70, ObisCode.parse("0-0:96.3.10*255"), 1)


def test_action_request_with_parameters() -> None:
    request = ActionRequestNormal(DISCONNECT, Data.integer(0))
    assert request.encode().hex() == REMOTE_DISCONNECT
    assert ActionRequestNormal.decode(bytes.fromhex(REMOTE_DISCONNECT)) == request


def test_action_request_without_parameters() -> None:
    request = ActionRequestNormal(DISCONNECT)
    assert request.encode().hex() == "c301c1004600006003 0aff0100".replace(" ", "")
    assert decode_action_request(request.encode()) == request


def test_action_response() -> None:
    assert decode_action_response(bytes.fromhex("c701c10000")) == ActionResponseNormal(ActionResult.SUCCESS)
    response = decode_action_response(bytes.fromhex("c701c10001000600000005"))
    assert response.result is ActionResult.SUCCESS
    assert response.return_parameters == Data.double_long_unsigned(5)
    denied = decode_action_response(bytes.fromhex("c701c103010101"))
    assert denied.result is ActionResult.READ_WRITE_DENIED
    assert denied.return_parameters is DataAccessResult.HARDWARE_FAULT
    assert denied.encode().hex() == "c701c103010101"


@pytest.mark.parametrize(
    "raw",
    [
        "c3",
        "c302c100000001",
        "c301c1004600006003",
        "c301c10046000060030aff0102",
        "c701c1",
        "c701c105",
        "c701c10001",
        "c704c1",
    ],
)
def test_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    decode = decode_action_request if data[0] == 0xC3 else decode_action_response
    with pytest.raises(DecodeError):
        decode(data)


@settings(max_examples=100)
@given(st.builds(ActionRequestNormal, method_descriptors, st.none() | data_values, invoke_ids))
def test_request_round_trip(request: ActionRequestNormal) -> None:
    assert decode_action_request(request.encode()) == request


@settings(max_examples=100)
@given(
    st.builds(
        ActionResponseNormal,
        st.sampled_from(ActionResult),
        st.none() | data_values | st.sampled_from(DataAccessResult),
        invoke_ids,
    )
)
def test_response_round_trip(response: ActionResponseNormal) -> None:
    assert decode_action_response(response.encode()) == response


@settings(max_examples=200)
@given(st.sampled_from([0xC3, 0xC7]), st.binary(max_size=30))
def test_fuzz(tag: int, raw: bytes) -> None:
    decode = decode_action_request if tag == 0xC3 else decode_action_response
    with contextlib.suppress(DlmsError):
        decode(bytes([tag, 1, 0xC1]) + raw)
