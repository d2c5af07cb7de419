import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.block_transfer import (
    GeneralBlockTransfer,
    GeneralBlockTransferReassembler,
    GetDatablockReassembler,
    GetListDatablockReassembler,
    split_general_block_transfer,
)
from custom_components.dlms_cosem.dlms.apdu.common import InvokeIdAndPriority
from custom_components.dlms_cosem.dlms.apdu.decode import decode_apdu
from custom_components.dlms_cosem.dlms.apdu.get import (
    GetRequestNext,
    GetResponseNormal,
    GetResponseWithDatablock,
)
from custom_components.dlms_cosem.dlms.apdu.service_errors import DataAccessResult
from custom_components.dlms_cosem.dlms.axdr import Data, encode_data
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError

from .test_apdu_strategies import data_values

GET_RESPONSE_NORMAL = bytes.fromhex("c401c1000600001391")


def test_gbt_encoding() -> None:
    block = GeneralBlockTransfer(block_number=1, block_data=b"\xc4\x01", last_block=False, window=1)
    assert block.block_control == 0x01
    assert block.encode().hex() == "e0010001000002c401"
    last = GeneralBlockTransfer(2, b"", last_block=True, streaming=True, window=63, block_number_ack=5)
    assert last.block_control == 0xFF
    assert last.encode().hex() == "e0ff0002000500"
    assert GeneralBlockTransfer.decode(last.encode()) == last
    assert decode_apdu(block.encode()) == block


def test_gbt_reassembly_gives_inner_apdu() -> None:
    blocks = split_general_block_transfer(GET_RESPONSE_NORMAL, 4)
    assert [block.block_number for block in blocks] == [1, 2, 3]
    assert [block.last_block for block in blocks] == [False, False, True]
    reassembler = GeneralBlockTransferReassembler()
    assert reassembler.add(GeneralBlockTransfer.decode(blocks[0].encode())) is None
    assert reassembler.expected_block_number == 2
    assert reassembler.add(blocks[1]) is None
    assert reassembler.in_progress
    inner = reassembler.add(blocks[2])
    assert inner == GET_RESPONSE_NORMAL
    assert decode_apdu(inner) == GetResponseNormal(Data.double_long_unsigned(5009))
    assert reassembler.expected_block_number == 1
    # reusable for the next transfer
    assert reassembler.add(GeneralBlockTransfer(1, b"\x01")) == b"\x01"


@pytest.mark.parametrize("order", [[2], [1, 3], [1, 1]])
def test_gbt_out_of_order_or_missing(order: list[int]) -> None:
    blocks = split_general_block_transfer(GET_RESPONSE_NORMAL, 2)
    reassembler = GeneralBlockTransferReassembler()
    for number in order[:-1]:
        assert reassembler.add(blocks[number - 1]) is None
    with pytest.raises(DecodeError, match="out of sequence"):
        reassembler.add(blocks[order[-1] - 1])
    assert not reassembler.in_progress


def test_gbt_bounded_size() -> None:
    reassembler = GeneralBlockTransferReassembler(max_size=10)
    assert reassembler.add(GeneralBlockTransfer(1, bytes(6), last_block=False)) is None
    with pytest.raises(DecodeError, match="exceed"):
        reassembler.add(GeneralBlockTransfer(2, bytes(6), last_block=True))


def test_split_rejects_bad_block_size() -> None:
    with pytest.raises(EncodeError):
        split_general_block_transfer(b"\x00", 0)


@pytest.mark.parametrize("raw", ["e0", "e0010001", "e001000100000201", "e00100010000020101ff"])
def test_gbt_malformed(raw: str) -> None:
    with pytest.raises(DecodeError):
        GeneralBlockTransfer.decode(bytes.fromhex(raw))


def _datablocks(encoded: bytes, size: int, invoke: InvokeIdAndPriority) -> list[GetResponseWithDatablock]:
    chunks = [encoded[index : index + size] for index in range(0, len(encoded), size)]
    return [
        GetResponseWithDatablock(index == len(chunks) - 1, index + 1, chunk, invoke)
        for index, chunk in enumerate(chunks)
    ]


def test_get_datablock_reassembly() -> None:
    value = Data.array(
        *(Data.structure(Data.octet_string(bytes(12)), Data.double_long_unsigned(n)) for n in range(40))
    )
    invoke = InvokeIdAndPriority(invoke_id=3)
    blocks = _datablocks(encode_data(value), 100, invoke)
    assert len(blocks) > 3
    reassembler = GetDatablockReassembler()
    for block in blocks[:-1]:
        assert reassembler.add(GetResponseWithDatablock.decode(block.encode())) is None
        assert reassembler.next_request() == GetRequestNext(block.block_number, invoke)
    assert reassembler.add(blocks[-1]) == value
    with pytest.raises(EncodeError):
        reassembler.next_request()


def test_get_datablock_errors() -> None:
    reassembler = GetDatablockReassembler()
    with pytest.raises(DecodeError, match="expected block 1"):
        reassembler.add(GetResponseWithDatablock(False, 2, b"\x00"))
    assert reassembler.add(GetResponseWithDatablock(False, 1, b"\x01\x02")) is None
    assert reassembler.add(GetResponseWithDatablock(True, 2, DataAccessResult.LONG_GET_ABORTED)) is (
        DataAccessResult.LONG_GET_ABORTED
    )
    assert not reassembler.in_progress
    # a joined value that is not one whole A-XDR value is a decode error
    with pytest.raises(DecodeError):
        reassembler.add(GetResponseWithDatablock(True, 1, b"\x12\x00"))
    bounded = GetDatablockReassembler(max_size=3)
    with pytest.raises(DecodeError, match="exceed"):
        bounded.add(GetResponseWithDatablock(True, 1, bytes(4)))
    tolerant = GetDatablockReassembler(first_block_number=0)
    assert tolerant.add(GetResponseWithDatablock(True, 0, b"\x11\x07")) == Data.unsigned(7)


def test_get_list_datablock_reassembly() -> None:
    raw = bytes.fromhex("020006000013910104")
    reassembler = GetListDatablockReassembler()
    assert reassembler.add(GetResponseWithDatablock(False, 1, raw[:3])) is None
    assert reassembler.add(GetResponseWithDatablock(True, 2, raw[3:])) == (
        Data.double_long_unsigned(5009),
        DataAccessResult.OBJECT_UNDEFINED,
    )


@settings(max_examples=100)
@given(data_values, st.integers(1, 50))
def test_get_datablock_round_trip(value: Data, size: int) -> None:
    reassembler = GetDatablockReassembler()
    results = [
        reassembler.add(block) for block in _datablocks(encode_data(value), size, InvokeIdAndPriority())
    ]
    assert results[-1] == value
    assert all(result is None for result in results[:-1])


@settings(max_examples=100)
@given(st.binary(max_size=500), st.integers(1, 64), st.integers(0, 63))
def test_gbt_round_trip(apdu: bytes, size: int, window: int) -> None:
    reassembler = GeneralBlockTransferReassembler()
    results = [
        reassembler.add(GeneralBlockTransfer.decode(block.encode()))
        for block in split_general_block_transfer(apdu, size, window=window)
    ]
    assert results[-1] == apdu
    assert all(result is None for result in results[:-1])


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.binary(max_size=8)), max_size=8))
def test_reassemblers_only_raise_dlms_errors(blocks: list[tuple[int, bool, bytes]]) -> None:
    gbt = GeneralBlockTransferReassembler(max_size=20)
    get = GetDatablockReassembler(max_size=20)
    for number, last, data in blocks:
        with contextlib.suppress(DlmsError):
            gbt.add(GeneralBlockTransfer(number, data, last_block=last))
        with contextlib.suppress(DlmsError):
            get.add(GetResponseWithDatablock(last, number, data))


@settings(max_examples=200)
@given(st.binary(max_size=30))
def test_gbt_fuzz(raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        GeneralBlockTransfer.decode(b"\xe0" + raw)
