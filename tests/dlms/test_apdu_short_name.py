"""Short name Read/Write requests and responses against bytes (gurux-dlms 1.0.203 vectors)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu import (
    BlockNumberAccess,
    DataAccessResult,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    VariableName,
    WriteRequest,
    WriteResponse,
    attribute_name,
    decode_apdu,
    decode_read_results,
)
from custom_components.dlms_cosem.dlms.axdr import Data, encode_data
from custom_components.dlms_cosem.dlms.errors import DecodeError, EncodeError

from .test_apdu_strategies import data_values

# What gurux-dlms's GXDLMSClient(useLogicalNameReferencing=False) sends (wrapper header removed):
#: read(register with base name 0x2000, attribute 2)
GURUX_READ = "0501022008"
#: readList([(register 0x2000, 2), (register 0x2000, 3)])
GURUX_READ_LIST = "050202200802 2010".replace(" ", "")
#: write(data object 0x2100, attribute 2) with the visible string "ABC"
GURUX_WRITE = "0601022108010a03414243"
#: readRowsByEntry(profile generic 0x3000, 1, 5): parameterized access to the buffer, selector 2
GURUX_READ_BY_ENTRY = "050104300802020406000000010600000005120001120000"


def test_read_request_variable_name_matches_gurux() -> None:
    request = ReadRequest((VariableName(attribute_name(0x2000, 2)),))
    assert request.encode().hex() == GURUX_READ
    assert ReadRequest.decode(bytes.fromhex(GURUX_READ)) == request


def test_read_request_multiple_references_matches_gurux() -> None:
    request = ReadRequest((VariableName(0x2008), VariableName(0x2010)))
    assert request.encode().hex() == GURUX_READ_LIST
    assert decode_apdu(bytes.fromhex(GURUX_READ_LIST)) == request


def test_parameterized_access_matches_gurux() -> None:
    parameter = Data.structure(
        Data.double_long_unsigned(1),
        Data.double_long_unsigned(5),
        Data.long_unsigned(1),
        Data.long_unsigned(0),
    )
    request = ReadRequest((ParameterizedAccess(0x3008, 2, parameter),))
    assert request.encode().hex() == GURUX_READ_BY_ENTRY
    assert ReadRequest.decode(bytes.fromhex(GURUX_READ_BY_ENTRY)) == request


def test_write_request_matches_gurux() -> None:
    request = WriteRequest((VariableName(0x2108),), (Data.visible_string("ABC"),))
    assert request.encode().hex() == GURUX_WRITE
    assert decode_apdu(bytes.fromhex(GURUX_WRITE)) == request


def test_block_number_access() -> None:
    request = ReadRequest((BlockNumberAccess(3),))
    assert request.encode().hex() == "0501050003"
    assert ReadRequest.decode(bytes.fromhex("0501050003")) == request


def test_read_response_choices() -> None:
    raw = bytes.fromhex("0c03" + "0006000030 39".replace(" ", "") + "0104" + "02000001" + "03aabbcc")
    response = ReadResponse.decode(raw)
    assert response.results == (
        Data.double_long_unsigned(12345),
        DataAccessResult.OBJECT_UNDEFINED,
        DataBlockResult(False, 1, b"\xaa\xbb\xcc"),
    )
    assert response.encode() == raw
    assert response.block is None
    single = ReadResponse((DataBlockResult(True, 2, b"\x01"),))
    assert single.block == DataBlockResult(True, 2, b"\x01")
    assert single.encode().hex() == "0c010201000201" + "01"


def test_write_response_success_and_error() -> None:
    raw = bytes.fromhex("0d02000103")
    response = WriteResponse.decode(raw)
    assert response.results == (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED)
    assert response.encode() == raw


def test_block_payloads() -> None:
    value = Data.octet_string(b"x" * 40)
    assert decode_read_results(encode_data(value), 1) == (value,)
    several = ReadResponse((value, DataAccessResult.OBJECT_UNAVAILABLE)).encode()[1:]
    assert decode_read_results(several, 2) == (value, DataAccessResult.OBJECT_UNAVAILABLE)
    with pytest.raises(DecodeError, match="2 results in the data blocks for 3"):
        decode_read_results(several, 3)
    with pytest.raises(DecodeError):
        decode_read_results(encode_data(value)[:-1], 1)


def test_attribute_name_arithmetic() -> None:
    assert attribute_name(0xFA00, 2) == 0xFA08
    assert attribute_name(0x2000, 1) == 0x2000
    assert attribute_name(0x2000, 3) == 0x2010
    with pytest.raises(EncodeError):
        attribute_name(0x2000, 0)
    with pytest.raises(EncodeError):
        attribute_name(0xFFF8, 3)


@pytest.mark.parametrize(
    "raw",
    [
        "05",  # no count
        "0501",  # count without element
        "050102",  # truncated name
        "05010220",  # truncated name
        "0501032000",  # detailed access: unsupported
        "0501092000",  # unknown choice
        "050102200800",  # trailing byte
        "0c01",  # response without result
        "0c0109",  # unknown response choice
        "0c010300",  # block-number: unsupported here
        "0c0102000001",  # block without raw data
        "0c01020000010500",  # raw data shorter than its length
        "0601022108",  # write without values
        "060102210802 0a00 0a00".replace(" ", ""),  # two values for one variable
        "0d0102",  # block-number: unsupported
        "0d0107",  # unknown write-response choice
        "0d0101",  # error without its result
        "0d0101ee",  # unknown data-access-result
    ],
)
def test_malformed_apdus_are_decode_errors(raw: str) -> None:
    with pytest.raises(DecodeError):
        decode_apdu(bytes.fromhex(raw))


def test_invalid_values_are_encode_errors() -> None:
    with pytest.raises(EncodeError):
        VariableName(0x10000)
    with pytest.raises(EncodeError):
        ParameterizedAccess(1, 256, Data.null_data())
    with pytest.raises(EncodeError):
        ReadRequest(())
    with pytest.raises(EncodeError):
        WriteRequest((VariableName(8),), ())


names = st.integers(0, 0xFFFF)


@given(st.lists(st.one_of(names.map(VariableName), names.map(BlockNumberAccess)), min_size=1, max_size=5))
def test_read_request_round_trip(specifications: list[VariableName | BlockNumberAccess]) -> None:
    request = ReadRequest(tuple(specifications))
    assert ReadRequest.decode(request.encode()) == request


@given(st.lists(data_values, min_size=1, max_size=4), names)
def test_read_and_write_round_trip(values: list[Data], base: int) -> None:
    response = ReadResponse(tuple(values))
    assert ReadResponse.decode(response.encode()) == response
    specifications = tuple(VariableName((base + i) & 0xFFFF) for i in range(len(values)))
    request = WriteRequest(specifications, tuple(values))
    assert WriteRequest.decode(request.encode()) == request
