import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.common import CosemAttributeDescriptor
from custom_components.dlms_cosem.dlms.apdu.get import CosemAttributeDescriptorWithSelection
from custom_components.dlms_cosem.dlms.apdu.service_errors import DataAccessResult
from custom_components.dlms_cosem.dlms.apdu.set import (
    DataBlockSA,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_set_request,
    decode_set_response,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError
from custom_components.dlms_cosem.dlms.obis import ObisCode

from .test_apdu_strategies import attribute_descriptors, data_values, invoke_ids, selective_access

CLOCK_TIME = CosemAttributeDescriptor(8, ObisCode.parse("0.0.1.0.0.255"), 2)
# SET clock time (class 8, 0.0.1.0.0.255, attribute 2) to an octet-string date-time
SET_CLOCK = "c101c100080000010000ff0200090c07e50603040e091700ffc400"


def test_set_normal_clock() -> None:
    request = SetRequestNormal(CLOCK_TIME, Data.octet_string(bytes.fromhex("07e50603040e091700ffc400")))
    assert request.encode().hex() == SET_CLOCK
    assert SetRequestNormal.decode(bytes.fromhex(SET_CLOCK)) == request


def test_set_response_normal() -> None:
    assert SetResponseNormal.decode(bytes.fromhex("c501c100")).result is DataAccessResult.SUCCESS
    assert SetResponseNormal.decode(bytes.fromhex("c501c103")).result is DataAccessResult.READ_WRITE_DENIED
    assert SetResponseNormal(DataAccessResult.TYPE_UNMATCHED).encode().hex() == "c501c10c"


def test_set_datablocks() -> None:
    first = SetRequestWithFirstDatablock(CLOCK_TIME, DataBlockSA(False, 1, b"\x09\x0c"))
    assert first.encode().hex() == "c102c100080000010000ff0200000000000102090c"
    assert decode_set_request(first.encode()) == first
    following = SetRequestWithDatablock(DataBlockSA(True, 2, b"\x00"))
    assert following.encode().hex() == "c103c101000000020100"
    assert SetResponseDatablock(1).encode().hex() == "c502c100000001"
    assert SetResponseLastDatablock(DataAccessResult.SUCCESS, 2).encode().hex() == "c503c10000000002"


def test_set_with_list() -> None:
    request = SetRequestWithList(
        (CosemAttributeDescriptorWithSelection(CLOCK_TIME),), (Data.octet_string(b"\x00" * 12),)
    )
    raw = request.encode()
    assert raw[:4].hex() == "c104c101"
    assert decode_set_request(raw) == request
    response = decode_set_response(bytes.fromhex("c505c1020004"))
    assert response == SetResponseWithList((DataAccessResult.SUCCESS, DataAccessResult.OBJECT_UNDEFINED))


@pytest.mark.parametrize(
    "raw",
    ["c1", "c101c1", "c106c1", "c101c100080000010000ff0200", "c501c1", "c501c1ff", "c506c100", "c501c10000"],
)
def test_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    decode = decode_set_request if data[0] == 0xC1 else decode_set_response
    with pytest.raises(DecodeError):
        decode(data)


datablocks = st.builds(DataBlockSA, st.booleans(), st.integers(0, 0xFFFFFFFF), st.binary(max_size=200))
with_selection = st.builds(
    CosemAttributeDescriptorWithSelection, attribute_descriptors, st.none() | selective_access
)
access_results = st.lists(st.sampled_from(DataAccessResult), max_size=5).map(tuple)
set_requests = st.one_of(
    st.builds(SetRequestNormal, attribute_descriptors, data_values, st.none() | selective_access, invoke_ids),
    st.builds(
        SetRequestWithFirstDatablock,
        attribute_descriptors,
        datablocks,
        st.none() | selective_access,
        invoke_ids,
    ),
    st.builds(SetRequestWithDatablock, datablocks, invoke_ids),
    st.builds(
        SetRequestWithList,
        st.lists(with_selection, max_size=3).map(tuple),
        st.lists(data_values, max_size=3).map(tuple),
        invoke_ids,
    ),
    st.builds(
        SetRequestWithListAndFirstDatablock,
        st.lists(with_selection, max_size=3).map(tuple),
        datablocks,
        invoke_ids,
    ),
)
set_responses = st.one_of(
    st.builds(SetResponseNormal, st.sampled_from(DataAccessResult), invoke_ids),
    st.builds(SetResponseDatablock, st.integers(0, 0xFFFFFFFF), invoke_ids),
    st.builds(
        SetResponseLastDatablock, st.sampled_from(DataAccessResult), st.integers(0, 0xFFFFFFFF), invoke_ids
    ),
    st.builds(SetResponseLastDatablockWithList, access_results, st.integers(0, 0xFFFFFFFF), invoke_ids),
    st.builds(SetResponseWithList, access_results, invoke_ids),
)


@settings(max_examples=150)
@given(set_requests)
def test_request_round_trip(request: SetRequestNormal) -> None:
    assert decode_set_request(request.encode()) == request


@settings(max_examples=100)
@given(set_responses)
def test_response_round_trip(response: SetResponseNormal) -> None:
    assert decode_set_response(response.encode()) == response


@settings(max_examples=200)
@given(st.sampled_from([0xC1, 0xC5]), st.integers(0, 6), st.binary(max_size=40))
def test_fuzz(tag: int, choice: int, raw: bytes) -> None:
    decode = decode_set_request if tag == 0xC1 else decode_set_response
    with contextlib.suppress(DlmsError):
        decode(bytes([tag, choice, 0xC1]) + raw)
