import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms import apdu
from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    ConfirmedServiceError,
    DataNotification,
    ExceptionResponse,
    GeneralBlockTransfer,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    decode_apdu,
    is_ciphered,
)
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError

VECTORS: dict[str, tuple[str, type]] = {
    "get-normal": ("c001c1000100002b0100ff0200", GetRequestNormal),
    "get-with-list": ("c003c102000100002a0000ff020000080000010000ff0200", GetRequestWithList),
    "get-response-normal": ("c401c1000600001391", GetResponseNormal),
    "get-response-with-list": (
        "c403c10200091049534b3130333037373737363433363600090c07e50603040e091700ffc400",
        GetResponseWithList,
    ),
    "get-response-with-list-compound": (
        "c403c109001200320012000000120000001200000012000000120000001208fe000207060190560b120326111111021200f0"
        "1200011200000002051202d0120ca8111811200fc0",
        GetResponseWithList,
    ),
    "selective-access-range": (
        "c001c100070100630100ff0201010204020412000809060000010000ff0f02120000090c07e10a010700000000ffc480"
        "090c07e10a010701000000ffc4800100",
        GetRequestNormal,
    ),
    "aarq-no-security": ("601da109060760857405080101be10040e01000000065f1f0400007e1f04b0", AARQ),
    "aarq-lls": (
        "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738"
        "be10040e01000000065f1f0400007e1f04b0",
        AARQ,
    ),
    "aarq-hls-gmac": (
        "6036a1090607608574050801018a0207808b0760857405080205ac0a80084b35366956616759"
        "be10040e01000000065f1f0400007e1f04b0",
        AARQ,
    ),
    "aarq-lls-ciphered": (
        "6066a109060760857405080103a60a04084d4d4d0000bc614e8a0207808b0760857405080201ac0a80083132333435363738"
        "be34043221303001234567801302ff8a7874133d414ced25b42534d28db0047720606b175bd52211be6841db204d39ee6fdb8e356855",
        AARQ,
    ),
    "aarq-hdlc": ("601da109060760857405080101be10040e01000000065f1f0400001e1dffff", AARQ),
    "aare-accepted": (
        "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000501f01f40007",
        AARE,
    ),
    "aare-rejected": ("611fa109060760857405080101a203020101a305a103020101be0604040e010601", AARE),
    "aare-hls-gmac": (
        "6142a109060760857405080101a203020100a305a10302010e88020780890760857405080205aa0a8008503677524a323146"
        "be10040e0800065f1f040000501f01f40007",
        AARE,
    ),
    "aare-hdlc": (
        "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f0400001e1d04c80007",
        AARE,
    ),
    "data-notification": (
        "0f000001db000922125a8591360000000049000000110000000a5a8513d014800000000d0000000a0100",
        DataNotification,
    ),
    "initiate-request": ("01000000065f1f0400007e1f04b0", InitiateRequest),
    "initiate-response": ("0800065f1f040000501f01f40007", InitiateResponse),
    "confirmed-service-error": ("0e010601", ConfirmedServiceError),
    "exception-response": ("d80102", ExceptionResponse),
    "general-block-transfer": ("e0810001000009c401c1000600001391", GeneralBlockTransfer),
}


@pytest.mark.parametrize("name", list(VECTORS))
def test_dispatch_and_round_trip(name: str) -> None:
    raw, kind = VECTORS[name]
    decoded = decode_apdu(bytes.fromhex(raw))
    assert type(decoded) is kind
    assert decoded.encode().hex() == raw


def test_ciphered_apdus_are_left_to_security() -> None:
    for tag in (0x21, 0x28, 0xC8, 0xCC, 0xD0, 0xDB, 0xDC, 0xDD):
        raw = bytes([tag]) + bytes(20)
        assert is_ciphered(raw)
        with pytest.raises(DecodeError, match="ciphered APDU"):
            decode_apdu(raw)
    assert not is_ciphered(b"")
    assert not is_ciphered(bytes.fromhex("c401c1000600001391"))


def test_unsupported_and_unknown_tags() -> None:
    with pytest.raises(DecodeError, match="unsupported APDU information_report_request"):
        decode_apdu(b"\x18\x00")
    with pytest.raises(DecodeError, match="empty read-request"):
        decode_apdu(b"\x05\x00")
    with pytest.raises(DecodeError, match="unknown APDU tag 0x02"):
        decode_apdu(b"\x02")
    with pytest.raises(DecodeError, match="empty"):
        decode_apdu(b"")


def test_package_exports() -> None:
    for name in apdu.__all__:
        assert hasattr(apdu, name), name


@settings(max_examples=500)
@given(st.binary(max_size=80))
def test_fuzz_random_bytes(raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        decode_apdu(raw)


@settings(max_examples=300)
@given(st.sampled_from(sorted({int(tag) for tag in apdu.ApduTag})), st.binary(max_size=60))
def test_fuzz_every_tag(tag: int, raw: bytes) -> None:
    with contextlib.suppress(DlmsError):
        decode_apdu(bytes([tag]) + raw)


@settings(max_examples=600)
@given(st.data())
def test_fuzz_mutated_vectors(data: st.DataObject) -> None:
    raw = bytearray(bytes.fromhex(VECTORS[data.draw(st.sampled_from(sorted(VECTORS)))][0]))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        index = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if action == "flip" and raw:
            raw[index] = data.draw(st.integers(0, 255))
        elif action == "insert":
            raw.insert(index, data.draw(st.integers(0, 255)))
        elif raw:
            del raw[index]
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    with contextlib.suppress(DlmsError):
        decoded = decode_apdu(bytes(raw))
        # whatever decodes must encode again
        decoded.encode()
