"""The fast paths give exactly what the reference code they replace gives, on random input too.

Each optimisation of the push path keeps a slow, obviously right version: the A-XDR reference
decoder, the table-driven FCS, the validating date-time codec, decimal scaling. These tests hold the
fast ones to them, including on bytes that are mostly garbage, and check that the push path does
not import the client, the simulator or the command line.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from decimal import Context, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.axdr import Data, encode_data
from custom_components.dlms_cosem.dlms.axdr.decode import _decode_reference, decode_data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime, _trusted_date_time
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError
from custom_components.dlms_cosem.dlms.hdlc.fcs import _register, _register_reference
from custom_components.dlms_cosem.dlms.reader import ByteReader
from custom_components.dlms_cosem.dlms.units import scale_value
from tests.dlms.stack import INSTALLED as STACK_INSTALLED
from tests.dlms.stack import PACKAGE as STACK_PACKAGE

from .test_axdr import any_data

ROOT = Path(__file__).resolve().parent.parent.parent


def _outcome(decode: object, raw: bytes) -> tuple[str, object, int]:
    reader = ByteReader(raw)
    try:
        value = decode(reader)  # type: ignore[operator]
    except DlmsError as err:
        return type(err).__name__, str(err), reader.position
    return "ok", repr(value), reader.position  # repr: a NaN float is not equal to itself


def _same_decode(raw: bytes) -> None:
    assert _outcome(decode_data, raw) == _outcome(_decode_reference, raw)


@settings(max_examples=300, deadline=None)
@given(any_data)
def test_fast_decoder_equals_reference_on_valid_data(value: Data) -> None:
    raw = encode_data(value)
    _same_decode(raw)
    _same_decode(raw + b"\x00\x01")  # followed by more bytes
    for cut in range(len(raw)):  # and cut anywhere: the same error, message included
        _same_decode(raw[:cut])


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_fast_decoder_equals_reference_on_random_bytes(raw: bytes) -> None:
    _same_decode(raw)


def test_fast_decoder_equals_reference_on_mutated_telegram_bodies() -> None:
    rng = random.Random(12)
    body = bytes.fromhex(
        "020309060100010800ff060000053902020f00161e0203090c07e3020401173416ff800000"
        "0a0b4b464d5f3030310d12090474657374"
    )
    for _ in range(3000):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        _same_decode(bytes(mutated[: rng.randint(0, len(mutated))]))


def test_fast_decoder_nesting_limit_is_the_reference_one() -> None:
    for depth in (15, 16, 17, 18):
        raw = b"\x02\x01" * depth + b"\x11\x05"
        _same_decode(raw)
        _same_decode(b"\x02\x01" * depth + b"\x01\x00")


def test_fcs_equals_the_table_loop() -> None:
    rng = random.Random(5)
    for size in [*range(40), 255, 256, 1000]:
        data = rng.randbytes(size)
        assert _register(data) == _register_reference(data)
        assert _register(bytearray(data)) == _register_reference(data)
        assert _register(memoryview(data)) == _register_reference(data)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from([0, 1, 7, 12, 13, 23, 24, 31, 32, 59, 60, 99, 100, 0x80, 0xFD, 0xFE, 0xFF]),
        min_size=12,
        max_size=12,
    ),
    st.sampled_from([bytes.fromhex(raw) for raw in ("8000", "ffc4", "003c", "0348", "0349", "fcb8", "fcb7")]),
)
def test_table_date_time_decoder_equals_the_validating_one(fields: list[int], deviation: bytes) -> None:
    raw = bytes(fields[:9]) + deviation + bytes(fields[11:])
    try:
        expected: CosemDateTime | None = CosemDateTime.from_bytes(bytearray(raw))  # the validating path
    except DecodeError:
        expected = None
    assert repr(_trusted_date_time(CosemDateTime, raw)) == repr(expected)


_EXACT = Context(prec=80)


def _decimal_scale(raw: int | float, scaler: int) -> int | float:
    if isinstance(raw, int) and scaler >= 0:
        return raw * 10**scaler
    exact = Decimal(raw) if isinstance(raw, int) else Decimal(repr(raw))
    return float(exact.scaleb(scaler, _EXACT))


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.integers(-(2**63), 2**64 - 1),
        st.integers(-(2**200), 2**200),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    st.integers(-128, 127),
)
def test_scaling_equals_exact_decimal_scaling(raw: int | float, scaler: int) -> None:
    got, expected = scale_value(raw, scaler), _decimal_scale(raw, scaler)
    assert (got, type(got)) == (expected, type(expected))


@pytest.mark.parametrize("module", ["telegram", "listener"])
def test_push_path_imports_no_client_simulator_or_cli_code(module: str) -> None:
    """The push decoder and listener load without the client, the simulator and the CLI."""
    # The integration package's own __init__ (Home Assistant glue) is not part of the push path.
    stub_integration = (
        "package = types.ModuleType('custom_components.dlms_cosem')\n"
        f"package.__path__ = [{str(ROOT / 'custom_components' / 'dlms_cosem')!r}]\n"
        "sys.modules['custom_components.dlms_cosem'] = package\n"
    )
    code = (
        "import sys, types\n"
        + ("" if STACK_INSTALLED else stub_integration)
        + f"import {STACK_PACKAGE}.{module}\n"
        f"prefix = '{STACK_PACKAGE}.'\n"
        "print(' '.join(name[len(prefix):] for name in sys.modules if name.startswith(prefix)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=os.environ
    )
    loaded = result.stdout.split()
    assert "telegram" in loaded
    assert not [name for name in loaded if name.split(".")[0] in ("client", "simulator", "cli")], loaded
