"""Properties of the text codec over generated telegrams (fixed seed in CI, see tests/conftest.py):
what is encoded decodes to the same values, the framer cuts the same telegrams however the bytes are
split, and bytes that are no telegram (garbage, a flipped byte) give a DlmsError, never other values."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import DlmsError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.text import TextFramer, decode_text_telegram, encode_p1_telegram

_REAL = [
    bytes.fromhex(frame).lstrip(b"\r\n")  # a line end before the identification is no part of it
    for vector in json.loads((Path(__file__).parent.parent / "fixtures" / "text_vectors.json").read_text())[
        "vectors"
    ]
    if vector.get("keys") is None
    for frame in vector["frames"]
]
# Units as meters write them, with the DLMS symbol and the power of ten of their prefix.
_UNITS = {"kWh": ("Wh", 3), "Wh": ("Wh", 0), "kW": ("W", 3), "V": ("V", 0), "A": ("A", 0), "m3": ("m³", 0)}

_codes = st.tuples(
    st.integers(0, 15), st.integers(0, 64), st.integers(1, 99), st.integers(0, 99), st.integers(0, 99)
).map(lambda groups: ObisCode(*groups, 255))
_numbers = st.tuples(st.integers(0, 10**9), st.integers(0, 4))


@st.composite
def _telegrams(draw: st.DrawFn) -> tuple[str, dict[ObisCode, tuple[Decimal, str]]]:
    lines = []
    expected: dict[ObisCode, tuple[Decimal, str]] = {}
    for code in draw(st.lists(_codes, min_size=1, max_size=12, unique=True)):
        digits, decimals = draw(_numbers)
        unit = draw(st.sampled_from(sorted(_UNITS)))
        text = str(digits).rjust(decimals + 1, "0")
        if decimals:
            text = f"{text[:-decimals]}.{text[-decimals:]}"
        lines.append(f"{code.a}-{code.b}:{code.c}.{code.d}.{code.e}({text}*{unit})\r\n")
        symbol, exponent = _UNITS[unit]
        expected[code] = (Decimal(text).scaleb(exponent), symbol)
    return "".join(lines), expected


@settings(max_examples=150)
@given(_telegrams(), st.booleans())
def test_encoded_values_decode_to_the_same_values(
    telegram: tuple[str, dict[ObisCode, tuple[Decimal, str]]], crc: bool
) -> None:
    block, expected = telegram
    decoded = decode_text_telegram(encode_p1_telegram("ABC5TEST", block, with_crc=crc))
    assert decoded.frame.checked is crc
    got = {obj.obis: obj for obj in decoded.objects}
    assert set(got) == set(expected)
    for code, (value, unit) in expected.items():
        assert got[code].unit == unit
        assert Decimal(str(got[code].value)) == value


def _comparable(result: object) -> object:
    return result if isinstance(result, bytes) else (type(result), str(result))


@settings(max_examples=100)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=200), st.binary(max_size=64))
def test_the_framer_cuts_the_same_telegrams_however_the_bytes_are_split(
    sizes: list[int], noise: bytes
) -> None:
    stream = noise.replace(b"/", b"").replace(b"\x02", b"") + b"".join(_REAL)
    whole = TextFramer().feed(stream)
    framer = TextFramer()
    pieces: list[object] = []
    position = 0
    for size in sizes * (len(stream) // sum(sizes) + 1):
        pieces += framer.feed(stream[position : position + size])
        position += size
        if position >= len(stream):
            break
    assert [_comparable(piece) for piece in pieces] == [_comparable(frame) for frame in whole]
    frames = [frame for frame in whole if isinstance(frame, bytes)]
    assert len(frames) == len(_REAL)
    # Each is the published telegram up to its end (a gateway's lines after '!' are not part of it).
    for frame, published in zip(frames, _REAL, strict=True):
        assert published.startswith(frame)


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_garbage_is_a_decode_error(data: bytes) -> None:
    with contextlib.suppress(DlmsError):
        decode_text_telegram(data)


@settings(max_examples=300)
@given(
    st.sampled_from([frame for frame in _REAL if b"!" in frame and frame.rstrip()[-5:-4] == b"!"]), st.data()
)
def test_a_changed_byte_of_a_checked_telegram_never_gives_other_values(
    frame: bytes, data: st.DataObject
) -> None:
    end = frame.rindex(b"!") + 5  # the CRC covers '/' to '!'; its four digits check it
    index = data.draw(st.integers(0, end - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda value: value != frame[index]))
    damaged = frame[:index] + bytes((byte,)) + frame[index + 1 :]
    original = decode_text_telegram(frame)
    try:
        decoded = decode_text_telegram(damaged)
    except DlmsError:
        return
    # Only a change the CRC cannot see is accepted: the hexadecimal digits' case.
    assert [(o.obis, o.value) for o in decoded.objects] == [(o.obis, o.value) for o in original.objects]
