import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.common import CosemAttributeDescriptor, InvokeIdAndPriority
from custom_components.dlms_cosem.dlms.apdu.get import (
    CosemAttributeDescriptorWithSelection,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    decode_get_data_results,
    decode_get_request,
    decode_get_response,
)
from custom_components.dlms_cosem.dlms.apdu.selective_access import (
    CaptureObjectDefinition,
    EntryDescriptor,
    RangeDescriptor,
    SelectiveAccessDescriptor,
)
from custom_components.dlms_cosem.dlms.apdu.service_errors import DataAccessResult
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.cosem_datetime import ClockStatus, CosemDate, CosemDateTime, CosemTime
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError
from custom_components.dlms_cosem.dlms.obis import ObisCode

from .test_apdu_strategies import attribute_descriptors, data_values, invoke_ids, selective_access

GET_NORMAL = "c001c1000100002b0100ff0200"
GET_WITH_LIST = "c003c102000100002a0000ff020000080000010000ff0200"
GET_RESPONSE_NORMAL = "c401c1000600001391"
GET_RESPONSE_WITH_LIST = "c403c10200091049534b3130333037373737363433363600090c07e50603040e091700ffc400"
GET_RESPONSE_WITH_LIST_COMPOUND = (
    "c403c109001200320012000000120000001200000012000000120000001208fe000207060190560b120326111111021200f0"
    "1200011200000002051202d0120ca8111811200fc0"
)
SELECTIVE_ACCESS_RANGE = (
    "c001c100070100630100ff0201010204020412000809060000010000ff0f02120000090c07e10a010700000000ffc480"
    "090c07e10a010701000000ffc4800100"
)
VECTORS = [
    GET_NORMAL,
    GET_WITH_LIST,
    GET_RESPONSE_NORMAL,
    GET_RESPONSE_WITH_LIST,
    GET_RESPONSE_WITH_LIST_COMPOUND,
    SELECTIVE_ACCESS_RANGE,
]
C1 = InvokeIdAndPriority(invoke_id=1, confirmed=True, high_priority=True)


def test_invoke_id_and_priority_byte() -> None:
    assert C1.to_byte() == 0xC1
    assert InvokeIdAndPriority.from_byte(0xC1) == C1
    assert InvokeIdAndPriority() == C1
    assert InvokeIdAndPriority(invoke_id=5, confirmed=True, high_priority=False).to_byte() == 0x45
    assert InvokeIdAndPriority.from_byte(0x0F) == InvokeIdAndPriority(
        15, confirmed=False, high_priority=False
    )
    with pytest.raises(EncodeError):
        InvokeIdAndPriority(invoke_id=16)


def test_get_normal() -> None:
    request = decode_get_request(bytes.fromhex(GET_NORMAL))
    assert request == GetRequestNormal(CosemAttributeDescriptor(1, ObisCode.parse("0.0.43.1.0.255"), 2))
    assert request.invoke_id_and_priority.to_byte() == 0xC1
    assert request.encode().hex() == GET_NORMAL
    assert GetRequestNormal.decode(bytes.fromhex(GET_NORMAL)) == request


def test_get_with_list() -> None:
    request = GetRequestWithList.decode(bytes.fromhex(GET_WITH_LIST))
    assert [
        (item.attribute.class_id, str(item.attribute.instance_id), item.attribute.attribute_id)
        for item in request.attributes
    ] == [
        (1, "0.0.42.0.0.255", 2),
        (8, "0.0.1.0.0.255", 2),
    ]
    assert all(item.access_selection is None for item in request.attributes)
    assert request.encode().hex() == GET_WITH_LIST


def test_get_response_normal() -> None:
    response = GetResponseNormal.decode(bytes.fromhex(GET_RESPONSE_NORMAL))
    assert response.result == Data.double_long_unsigned(5009)
    assert response.invoke_id_and_priority == C1
    assert response.encode().hex() == GET_RESPONSE_NORMAL


def test_get_response_with_list() -> None:
    response = GetResponseWithList.decode(bytes.fromhex(GET_RESPONSE_WITH_LIST))
    name, clock = response.results
    assert name == Data.octet_string(b"ISK1030777764366")
    assert isinstance(clock, Data)
    assert clock.tag is DataTag.OCTET_STRING
    assert isinstance(clock.value, bytes)
    moment = CosemDateTime.from_bytes(clock.value)
    assert moment.date == CosemDate(2021, 6, 3, 4)
    assert moment.time == CosemTime(14, 9, 23, 0)
    assert moment.deviation == -60
    assert moment.clock_status == ClockStatus(0)
    assert response.encode().hex() == GET_RESPONSE_WITH_LIST


def test_get_response_with_list_compound() -> None:
    response = GetResponseWithList.decode(bytes.fromhex(GET_RESPONSE_WITH_LIST_COMPOUND))
    assert len(response.results) == 9
    assert response.results[:7] == tuple(Data.long_unsigned(v) for v in (50, 0, 0, 0, 0, 0, 2302))
    assert response.results[7] == Data.structure(
        Data.double_long_unsigned(26236427),
        Data.long_unsigned(806),
        Data.unsigned(17),
        Data.unsigned(2),
        Data.long_unsigned(240),
        Data.long_unsigned(1),
        Data.long_unsigned(0),
    )
    assert response.results[8] == Data.structure(
        Data.long_unsigned(720),
        Data.long_unsigned(3240),
        Data.unsigned(24),
        Data.unsigned(32),
        Data.integer(-64),
    )
    assert response.encode().hex() == GET_RESPONSE_WITH_LIST_COMPOUND


def test_selective_access_by_range_on_clock() -> None:
    request = GetRequestNormal.decode(bytes.fromhex(SELECTIVE_ACCESS_RANGE))
    assert request.attribute == CosemAttributeDescriptor(7, ObisCode.parse("1.0.99.1.0.255"), 2)
    assert request.access_selection is not None
    assert request.access_selection.access_selector == 1
    selection = request.access_selection.parsed()
    assert isinstance(selection, RangeDescriptor)
    assert selection.restricting_object == CaptureObjectDefinition(8, ObisCode.parse("0.0.1.0.0.255"), 2, 0)
    assert selection.selected_values == ()
    start, end = selection.from_value.value, selection.to_value.value
    assert isinstance(start, bytes)
    assert isinstance(end, bytes)
    start_time, end_time = CosemDateTime.from_bytes(start), CosemDateTime.from_bytes(end)
    assert start_time.date == CosemDate(2017, 10, 1, 7)
    assert start_time.time == CosemTime(0, 0, 0, 0)
    assert end_time.time == CosemTime(1, 0, 0, 0)
    assert start_time.deviation == -60
    assert start_time.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    # building the same request from the model gives the same bytes
    built = GetRequestNormal(
        CosemAttributeDescriptor(7, ObisCode.parse("1-0:99.1.0*255"), 2),
        SelectiveAccessDescriptor.of(
            RangeDescriptor(
                CaptureObjectDefinition(8, ObisCode.parse("0-0:1.0.0*255"), 2),
                Data.octet_string(start_time.to_bytes()),
                Data.octet_string(end_time.to_bytes()),
            )
        ),
    )
    assert built.encode().hex() == SELECTIVE_ACCESS_RANGE


def test_entry_descriptor() -> None:
    selection = SelectiveAccessDescriptor.of(EntryDescriptor(from_entry=1, to_entry=10))
    assert selection.encode().hex() == "0202040600000001060000000a120001120000"
    assert selection.parsed() == EntryDescriptor(1, 10, 1, 0)
    assert SelectiveAccessDescriptor(9, Data.null_data()).parsed() is None


@pytest.mark.parametrize(
    "parameters",
    [
        Data.null_data(),
        Data.structure(Data.long_unsigned(1)),
        Data.structure(*(Data.octet_string(b"") for _ in range(4))),
        Data.structure(Data.null_data(), Data.null_data(), Data.null_data(), Data.array()),
    ],
)
def test_malformed_selective_access_parameters(parameters: Data) -> None:
    with pytest.raises(DecodeError):
        SelectiveAccessDescriptor(1, parameters).parsed()
    with pytest.raises(DecodeError):
        SelectiveAccessDescriptor(2, parameters).parsed()


def test_next_and_datablock() -> None:
    assert GetRequestNext(1).encode().hex() == "c002c100000001"
    assert decode_get_request(bytes.fromhex("c002c100000001")) == GetRequestNext(1)
    block = GetResponseWithDatablock(False, 1, b"\x01\x02")
    assert block.encode().hex() == "c402c1000000000100020102"
    assert decode_get_response(block.encode()) == block
    aborted = GetResponseWithDatablock(True, 2, DataAccessResult.LONG_GET_ABORTED)
    assert aborted.encode().hex() == "c402c10100000002010f"
    assert decode_get_response(aborted.encode()) == aborted


def test_data_access_result_in_response() -> None:
    response = decode_get_response(bytes.fromhex("c401c10104"))
    assert response == GetResponseNormal(DataAccessResult.OBJECT_UNDEFINED)
    assert decode_get_data_results(bytes.fromhex("020104001100")) == (
        DataAccessResult.OBJECT_UNDEFINED,
        Data.unsigned(0),
    )


@pytest.mark.parametrize(
    "raw",
    [
        "c0",
        "c001",
        "c004c1",  # unknown choice
        "c001c1000100002b0100ff02",  # no access-selection flag
        "c001c1000100002b0100ff0202",  # bad flag
        "c001c1000100002b0100ff020000",  # trailing byte
        "c401c10207",  # bad get-data-result choice
        "c401c10105",  # unknown data-access-result
        "c402c100000000010200",  # bad datablock choice
        "c402c1000000000100ff",  # raw-data length lie
        "c403c10500",  # count larger than what remains
        "c401c10006",  # truncated data
    ],
)
def test_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    decode = decode_get_request if data[0] == 0xC0 else decode_get_response
    with pytest.raises(DecodeError):
        decode(data)


def test_decode_as_wrong_choice() -> None:
    with pytest.raises(DecodeError):
        GetRequestNext.decode(bytes.fromhex(GET_NORMAL))
    with pytest.raises(DecodeError):
        GetResponseNormal.decode(bytes.fromhex(GET_NORMAL))


get_data_results = data_values | st.sampled_from(DataAccessResult)
with_selection = st.builds(
    CosemAttributeDescriptorWithSelection, attribute_descriptors, st.none() | selective_access
)
get_requests = st.one_of(
    st.builds(GetRequestNormal, attribute_descriptors, st.none() | selective_access, invoke_ids),
    st.builds(GetRequestNext, st.integers(0, 0xFFFFFFFF), invoke_ids),
    st.builds(GetRequestWithList, st.lists(with_selection, max_size=4).map(tuple), invoke_ids),
)
get_responses = st.one_of(
    st.builds(GetResponseNormal, get_data_results, invoke_ids),
    st.builds(
        GetResponseWithDatablock,
        st.booleans(),
        st.integers(0, 0xFFFFFFFF),
        st.binary(max_size=300) | st.sampled_from(DataAccessResult),
        invoke_ids,
    ),
    st.builds(GetResponseWithList, st.lists(get_data_results, max_size=4).map(tuple), invoke_ids),
)


@settings(max_examples=150)
@given(get_requests)
def test_request_round_trip(request: GetRequestNormal | GetRequestNext | GetRequestWithList) -> None:
    assert decode_get_request(request.encode()) == request


@settings(max_examples=150)
@given(get_responses)
def test_response_round_trip(
    response: GetResponseNormal | GetResponseWithDatablock | GetResponseWithList,
) -> None:
    assert decode_get_response(response.encode()) == response


@settings(max_examples=300)
@given(st.data())
def test_fuzz_mutated_vectors(data: st.DataObject) -> None:
    raw = bytearray(bytes.fromhex(data.draw(st.sampled_from(VECTORS))))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(1, len(raw)))]
    decode = decode_get_request if raw[0] == 0xC0 else decode_get_response
    with contextlib.suppress(DlmsError):
        decode(bytes(raw))
        request = GetRequestNormal.decode(bytes(raw)) if raw[0] == 0xC0 else None
        if request is not None and request.access_selection is not None:
            request.access_selection.parsed()


# --- bytes after a complete result ------------------------------------------------------------------------

#: The gurux C example server's answer to a read of the clock (0.0.1.0.0.255, attribute 2), as captured
#: from GuruxDLMS.c built from its sources: the date-time, then ``09 0F``, the date-time again, ``09 0F``.
GURUX_CLOCK = "c401c100090c07ea0c070117330900000000090f090c07ea0c070117330900000000090f"
GURUX_TIME = bytes.fromhex("07ea0c070117330900000000")


def test_a_tail_that_repeats_the_value_is_taken_and_counted() -> None:
    response = decode_get_response(bytes.fromhex(GURUX_CLOCK))
    assert isinstance(response, GetResponseNormal)
    assert response.result == Data.octet_string(GURUX_TIME)
    assert response.repeated_tail == 18
    assert decode_get_response(GetResponseNormal(Data.octet_string(GURUX_TIME)).encode()).repeated_tail == 0


@pytest.mark.parametrize(
    "answer",
    [
        # A tail that does not repeat the value: which part is right cannot be known.
        "c401c100090c07ea0c070117330900000000090f",
        "c401c100090c07ea0c070117330900000000" + "00" * 18,
        # An array whose count says one element where two follow: the first complete value is wrong.
        "c401c10001010600000001" + "0600000002",
        # The same, with the second element equal to the first: still not the value repeated whole.
        "c401c10001010600000001" + "0600000001",
        # A short value (unsigned 5) found again in a tail proves nothing.
        "c401c1001105" + "001105",
        # A data-access-result followed by anything.
        "c401c10104" + "0104",
    ],
)
def test_other_bytes_after_a_result_are_refused(answer: str) -> None:
    with pytest.raises(DecodeError, match="unexpected bytes after get-response"):
        decode_get_response(bytes.fromhex(answer))


def test_bytes_after_a_with_list_answer_are_still_refused() -> None:
    with_list = GetResponseWithList((Data.octet_string(GURUX_TIME),)).encode()
    with pytest.raises(DecodeError, match="unexpected bytes"):
        decode_get_response(with_list + with_list[3:])
