import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.conformance import (
    DEFAULT_CLIENT_CONFORMANCE,
    Conformance,
    decode_conformance,
    encode_conformance,
)
from custom_components.dlms_cosem.dlms.apdu.tags import CIPHERED_TAGS, ApduTag
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError
from custom_components.dlms_cosem.dlms.reader import ByteReader


def test_bit_numbers_follow_the_standard_msb_first() -> None:
    assert Conformance.RESERVED_ZERO.block_bytes().hex() == "800000"
    assert Conformance.GENERAL_PROTECTION.block_bytes().hex() == "400000"
    assert Conformance.ATTRIBUTE0_SUPPORTED_WITH_SET.block_bytes().hex() == "008000"
    assert Conformance.DATA_NOTIFICATION.block_bytes().hex() == "000080"
    assert Conformance.ACTION.block_bytes().hex() == "000001"
    assert Conformance.GET.bit_numbers() == (19,)
    assert Conformance.from_bit_numbers(19, 20, 23) == Conformance.GET | Conformance.SET | Conformance.ACTION


def test_client_proposal_from_green_book_aarq() -> None:
    # 5F1F 04 00 007E1F in the Green Book AARQ examples
    conformance = decode_conformance(ByteReader(bytes.fromhex("5f1f0400007e1f")))
    assert conformance == DEFAULT_CLIENT_CONFORMANCE
    assert conformance.bit_numbers() == (9, 10, 11, 12, 13, 14, 19, 20, 21, 22, 23)
    assert Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ in conformance
    assert Conformance.GENERAL_BLOCK_TRANSFER not in conformance
    assert encode_conformance(conformance).hex() == "5f1f0400007e1f"


def test_server_answer_from_green_book_aare() -> None:
    conformance = decode_conformance(ByteReader(bytes.fromhex("5f1f040000501f")))
    assert conformance == (
        Conformance.PRIORITY_MGMT_SUPPORTED
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.GET
        | Conformance.SET
        | Conformance.SELECTIVE_ACCESS
        | Conformance.EVENT_NOTIFICATION
        | Conformance.ACTION
    )


@pytest.mark.parametrize("raw", ["5f1e0400007e1f", "5f1f0300007e", "5f1f0408007e1f", "5f1f040000", "5f"])
def test_malformed_conformance(raw: str) -> None:
    with pytest.raises(DecodeError):
        decode_conformance(ByteReader(bytes.fromhex(raw)))


def test_bad_bit_number() -> None:
    with pytest.raises(EncodeError):
        Conformance.from_bit_numbers(24)
    with pytest.raises(DecodeError):
        Conformance.from_block_bytes(b"\x00\x00")


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_round_trip(value: int) -> None:
    conformance = Conformance(value)
    encoded = encode_conformance(conformance)
    assert len(encoded) == 7
    assert decode_conformance(ByteReader(encoded)) == conformance
    assert Conformance.from_bit_numbers(*conformance.bit_numbers()) == conformance


@given(st.binary(max_size=10))
def test_fuzz_only_dlms_errors(raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        decode_conformance(ByteReader(raw))


def test_tags() -> None:
    assert ApduTag.AARQ.value == 0x60
    assert ApduTag.GET_REQUEST.value == 0xC0
    assert ApduTag.GET_RESPONSE.value == 0xC4
    assert ApduTag.EXCEPTION_RESPONSE.value == 0xD8
    assert ApduTag.GENERAL_BLOCK_TRANSFER.value == 0xE0
    assert ApduTag.DATA_NOTIFICATION.value == 0x0F
    assert {0x21, 0x28, 0xC8, 0xCC, 0xD0, 0xDB, 0xDC, 0xDD} <= CIPHERED_TAGS
    assert not {0x01, 0x08, 0x0E, 0x0F, 0x60, 0xC0, 0xC4, 0xD8, 0xE0} & CIPHERED_TAGS
