import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import DecodeError, EncodeError
from custom_components.dlms_cosem.dlms.reader import ByteReader, encode_length


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (65536, "83010000")],
)
def test_length_forms(length: int, encoded: str) -> None:
    assert encode_length(length).hex() == encoded
    reader = ByteReader(bytes.fromhex(encoded) + bytes(length))
    assert reader.length() == length


@given(st.integers(min_value=0, max_value=3000))
def test_length_round_trip(length: int) -> None:
    reader = ByteReader(encode_length(length) + bytes(length))
    assert reader.length() == length
    assert reader.remaining == length


def test_length_claiming_more_than_remains_fails_before_reading() -> None:
    with pytest.raises(DecodeError, match="truncated"):
        ByteReader(bytes.fromhex("84ffffffff00")).length()


def test_indefinite_and_oversized_length_forms_are_rejected() -> None:
    for raw in ("80", "85" + "00" * 5):
        with pytest.raises(DecodeError, match="unsupported"):
            ByteReader(bytes.fromhex(raw)).length()


def test_truncated_fields() -> None:
    reader = ByteReader(b"\x01")
    assert reader.u8() == 1
    with pytest.raises(DecodeError):
        reader.u8()
    with pytest.raises(DecodeError):
        ByteReader(b"\x00").u16()
    with pytest.raises(DecodeError):
        ByteReader(b"\x00\x01").take(3)


def test_signed_and_unsigned() -> None:
    reader = ByteReader(bytes.fromhex("fffefffe"))
    assert reader.sint(2) == -2
    assert reader.u16() == 0xFFFE
    assert reader.at_end
    reader.expect_end()


def test_leftover_bytes_and_counts() -> None:
    with pytest.raises(DecodeError, match="unexpected"):
        ByteReader(b"\x00").expect_end()
    with pytest.raises(DecodeError, match="exceeds"):
        ByteReader(bytes.fromhex("050000")).count()
    assert ByteReader(bytes.fromhex("020000")).count() == 2


def test_negative_length_cannot_be_encoded() -> None:
    with pytest.raises(EncodeError):
        encode_length(-1)
