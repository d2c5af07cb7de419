"""The ``read`` command against the ``simulate --sn`` command: two real processes over TCP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.dlms.stack import PACKAGE as STACK_PACKAGE

from .test_read_command import AUTH_KEY, ENERGY, KEY, REPO, SERIAL, STARTUP_TIMEOUT, VOLTAGE, simulate_process


def _read(host: str, port: str, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    command = [
        sys.executable,
        "-m",
        STACK_PACKAGE,
        "read",
        "--host",
        host,
        "--tcp-port",
        port,
        "--timeout",
        "2",
        *arguments,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, timeout=STARTUP_TIMEOUT, check=False
    )


@pytest.mark.parametrize("referencing", [[], ["--sn"], ["--referencing", "sn"]])
def test_read_process_reads_the_short_name_simulator(referencing: list[str]) -> None:
    with simulate_process("--tcp", "127.0.0.1:0", "--sn") as (_, address):
        host, port = address.rsplit(":", 1)
        done = _read(host, port, *referencing, "--list-objects", VOLTAGE, ENERGY, SERIAL)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    listed = {record["obis"]: record["class_id"] for record in records if "class_id" in record}
    assert listed["0.0.40.0.0.255"] == 12
    assert listed[ENERGY] == 3
    values = {record["obis"]: record for record in records if "value" in record}
    assert values[VOLTAGE]["unit"] == "V"
    assert values[VOLTAGE]["value"] == pytest.approx(values[VOLTAGE]["raw"] / 10)
    assert 200 < values[VOLTAGE]["value"] < 260
    assert values[ENERGY]["unit"] == "Wh"
    assert values[SERIAL]["value"] == "12345678"


def test_read_process_with_logical_names_only_is_refused_clearly() -> None:
    with simulate_process("--tcp", "127.0.0.1:0", "--sn") as (_, address):
        host, port = address.rsplit(":", 1)
        done = _read(host, port, "--referencing", "ln", VOLTAGE)
    assert done.returncode != 0
    assert b"application context name not supported" in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("ciphering", [[], ["--no-ciphering"]], ids=["ciphered", "authentication-only"])
def test_read_process_with_hls_gmac_by_short_name(ciphering: list[str]) -> None:
    """``read --sn --auth hls-gmac``: pass 3 by Association SN method 8, then registers and the serial."""
    keys = ["--auth", "hls-gmac", "--key", KEY, "--auth-key", AUTH_KEY]
    with simulate_process("--tcp", "127.0.0.1:0", "--sn", *keys) as (_, address):
        host, port = address.rsplit(":", 1)
        done = _read(host, port, "--sn", "--client-address", "1", *keys, *ciphering, VOLTAGE, ENERGY, SERIAL)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    values = {record["obis"]: record for record in map(json.loads, done.stdout.decode().splitlines())}
    assert values[SERIAL]["value"] == "12345678"
    assert values[ENERGY]["unit"] == "Wh"
    assert isinstance(values[ENERGY]["raw"], int)
    assert values[VOLTAGE]["value"] == pytest.approx(values[VOLTAGE]["raw"] / 10)
    for secret in (KEY, AUTH_KEY):
        assert secret.lower().encode() not in (done.stdout + done.stderr).lower()


def test_read_process_with_a_wrong_key_by_short_name_fails_authentication() -> None:
    keys = ["--auth", "hls-gmac", "--key", KEY]
    with simulate_process("--tcp", "127.0.0.1:0", "--sn", *keys, "--auth-key", AUTH_KEY) as (_, address):
        host, port = address.rsplit(":", 1)
        done = _read(host, port, "--sn", "--client-address", "1", *keys, "--auth-key", "00" * 16, SERIAL)
    assert done.returncode != 0
    assert b"Traceback" not in done.stderr
    assert b"12345678" not in done.stdout
