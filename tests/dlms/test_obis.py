import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError
from custom_components.dlms_cosem.dlms.obis import ObisCode

ACTIVE_ENERGY_IMPORT = ObisCode(1, 0, 1, 8, 0, 255)

obis_codes = st.builds(ObisCode, *(st.integers(0, 255) for _ in range(6)))


@pytest.mark.parametrize(
    "text",
    [
        "1-0:1.8.0*255",
        "1-0:1.8.0.255",
        "1-0:1.8.0",
        "1.0.1.8.0.255",
        "1.0.1.8.0",
        "  1-0:1.8.0*255\n",
        "\t1.0.1.8.0 ",
        "001-000:001.008.000*255",
    ],
)
def test_parse_accepted_forms(text: str) -> None:
    assert ObisCode.parse(text) == ACTIVE_ENERGY_IMPORT


def test_parse_keeps_explicit_f() -> None:
    assert ObisCode.parse("0-0:96.1.0*0") == ObisCode(0, 0, 96, 1, 0, 0)
    assert ObisCode.parse("1.1.0.0.5.0") == ObisCode(1, 1, 0, 0, 5, 0)
    assert ObisCode.parse("0-0:1.0.0.255") == ObisCode(0, 0, 1, 0, 0, 255)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1-0:1.8",
        "1.0.1.8",
        "1.0.1.8.0.255.0",
        "1-0:1.8.0*255*1",
        "1-0:1.8.0*",
        "1-0:256.8.0*255",
        "1.0.1.8.0.256",
        "1000.0.1.8.0.255",
        "1-0:1.8.0&255",
        "1 - 0:1.8.0*255",
        "1-0 1.8.0*255",
        "a-0:1.8.0*255",
        "1-0:1.8.0x255",
        "-1.0.1.8.0.255",
        "1-0:\uff11.8.0*255",  # fullwidth digit one: not ASCII
        "1,0,1,8,0,255",
        "1.0.1.8.0.255" + " " * 300,
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(DecodeError):
        ObisCode.parse(text)


def test_parse_error_message_names_the_problem() -> None:
    with pytest.raises(DecodeError, match="not an OBIS code"):
        ObisCode.parse("hello")
    with pytest.raises(DecodeError, match="group C out of range"):
        ObisCode.parse("1-0:300.8.0*255")


def test_parse_rejects_non_text() -> None:
    with pytest.raises(DecodeError):
        ObisCode.parse(b"1.0.1.8.0.255")  # type: ignore[arg-type]


def test_bytes_forms() -> None:
    raw = bytes.fromhex("0100010800ff")
    assert ObisCode.from_bytes(raw) == ACTIVE_ENERGY_IMPORT
    assert ObisCode.from_bytes(bytearray(raw)) == ACTIVE_ENERGY_IMPORT
    assert ACTIVE_ENERGY_IMPORT.to_bytes() == raw
    # Logical names as they appear in the public push vectors (Aidon, Kamstrup).
    assert str(ObisCode.from_bytes(bytes.fromhex("0100200700ff"))) == "1.0.32.7.0.255"
    assert ObisCode.from_bytes(bytes.fromhex("0101000005ff")).reduced() == "1-1:0.0.5*255"


@pytest.mark.parametrize("raw", ["", "0100010800", "0100010800ff00"])
def test_from_bytes_needs_six_bytes(raw: str) -> None:
    with pytest.raises(DecodeError, match="6 bytes"):
        ObisCode.from_bytes(bytes.fromhex(raw))


def test_from_bytes_rejects_non_bytes() -> None:
    with pytest.raises(DecodeError):
        ObisCode.from_bytes("0100010800ff")  # type: ignore[arg-type]


def test_text_forms() -> None:
    assert str(ACTIVE_ENERGY_IMPORT) == "1.0.1.8.0.255"
    assert ACTIVE_ENERGY_IMPORT.reduced() == "1-0:1.8.0*255"
    assert ObisCode(0, 0, 96, 1, 0, 0).reduced() == "0-0:96.1.0*0"


@pytest.mark.parametrize("groups", [(256, 0, 1, 8, 0, 255), (1, 0, 1, 8, 0, -1), (1, 0, 1, 8, 0, True)])
def test_constructor_validates(groups: tuple[int, ...]) -> None:
    with pytest.raises(EncodeError):
        ObisCode(*groups)


def test_frozen_hashable_and_ordered() -> None:
    codes = [ObisCode(1, 0, 2, 8, 0, 255), ObisCode(0, 0, 1, 0, 0, 255), ACTIVE_ENERGY_IMPORT]
    assert sorted(codes) == [ObisCode(0, 0, 1, 0, 0, 255), ACTIVE_ENERGY_IMPORT, ObisCode(1, 0, 2, 8, 0, 255)]
    assert {ACTIVE_ENERGY_IMPORT: "x"}[ObisCode.parse("1-0:1.8.0")] == "x"
    with pytest.raises(AttributeError):
        ACTIVE_ENERGY_IMPORT.a = 2  # type: ignore[misc]


@given(obis_codes)
@settings(max_examples=200)
def test_round_trips(code: ObisCode) -> None:
    assert ObisCode.parse(str(code)) == code
    assert ObisCode.parse(code.reduced()) == code
    assert ObisCode.from_bytes(code.to_bytes()) == code


@given(st.text(alphabet="0123456789-:.*& \t1x", max_size=30) | st.text(max_size=40))
@settings(max_examples=300)
def test_fuzz_parse_raises_only_decode_error(text: str) -> None:
    try:
        code = ObisCode.parse(text)
    except DecodeError:
        return
    assert ObisCode.parse(str(code)) == code


@given(st.binary(max_size=10))
@settings(max_examples=100)
def test_fuzz_from_bytes(raw: bytes) -> None:
    try:
        code = ObisCode.from_bytes(raw)
    except DlmsError:
        assert len(raw) != 6
        return
    assert code.to_bytes() == raw
