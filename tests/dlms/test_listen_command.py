"""``listen``: real byte streams with real silences over TCP and a pty, as a process and as a call."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms import __main__ as cli
from custom_components.dlms_cosem.dlms.cli import decode
from tests.dlms.stack import PACKAGE as STACK_PACKAGE
from tests.waiting import wait_for

from .test_listener import AIDON, GLO, GLO_APDU, KAMSTRUP, Meter
from .test_telegram_integrity import HDLC_FIRST, HDLC_REST

ROOT = Path(__file__).parent.parent.parent
QUIET_GAP = "0.1"


def _decode_lines(*arguments: str) -> list[dict[str, object]]:
    """What ``decode`` prints for the same telegrams: the reference."""
    out = io.StringIO()
    args = cli.build_parser().parse_args(["decode", *arguments])
    assert decode.run(args, out, io.StringIO(), io.StringIO()) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _args(*arguments: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["listen", *arguments])


async def _serve(script: list[bytes | float]) -> tuple[Meter, int]:
    meter = Meter([script])
    return meter, await meter.start()


async def _listen(script: list[bytes | float], *options: str) -> tuple[int, str, str]:
    """``listen`` run as a function on a served ``script``: its exit code, output and errors."""
    meter, port = await _serve(script)
    out, err = io.StringIO(), io.StringIO()
    args = _args("--port", f"socket://127.0.0.1:{port}", *options, "--quiet-gap", QUIET_GAP)
    try:
        code = await asyncio.to_thread(cli.listen.run, args, out, err)
    finally:
        await meter.stop()
    return code, out.getvalue(), err.getvalue()


async def test_listen_prints_each_telegram_as_decode_does() -> None:
    """As a function: two telegrams with a silence between them, then the count stops it."""
    code, out, err = await _listen([AIDON, 0.3, KAMSTRUP, 5.0], "--count", "2", "--duration", "10")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == _decode_lines(AIDON.hex()) + _decode_lines(KAMSTRUP.hex())


async def test_listen_takes_p1_text_telegrams_and_readouts_as_decode_does() -> None:
    """A P1 port in the clear and an optical readout: found by their structure like binary telegrams."""
    vectors = {
        vector["id"]: bytes.fromhex(vector["frames"][0])
        for vector in json.loads((ROOT / "tests" / "fixtures" / "text_vectors.json").read_text())["vectors"]
    }
    p1, readout = vectors["dsmr_parser-v5"], vectors["iec62056-21-mode-c-readout-synthetic"]
    script: list[bytes | float] = [p1[:100], 0.05, p1[100:], 0.3, readout, 5.0]
    code, out, err = await _listen(script, "--count", "2", "--duration", "10")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == _decode_lines(p1.hex()) + _decode_lines(readout.hex())
    assert {"obis": "1.0.1.8.1.255", "value": 4426, "unit": "Wh", "raw": 4426} in lines[0]["objects"]


async def test_listen_never_prints_a_stitched_telegram() -> None:
    code, out, err = await _listen([HDLC_FIRST, 0.6, HDLC_REST, 5.0], "--duration", "1.5")
    assert code == 1
    assert out == ""
    assert "listen: no telegram decoded in 1.5 s" in err
    assert "telegram not decoded" in err


async def test_listen_as_a_process_over_tcp_with_a_key() -> None:
    keys = GLO["keys"]
    meter, port = await _serve([GLO_APDU, 0.4, 5.0])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        STACK_PACKAGE,
        "listen",
        "--port",
        f"socket://127.0.0.1:{port}",
        "--key",
        keys["encryption"],
        "--auth-key",
        keys["authentication"],
        "--count",
        "1",
        "--duration",
        "20",
        "--quiet-gap",
        QUIET_GAP,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    finally:
        await meter.stop()
    assert process.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert lines == _decode_lines(
        "--key", keys["encryption"], "--auth-key", keys["authentication"], GLO_APDU.hex()
    )
    for secret in (keys["encryption"], keys["authentication"]):
        assert secret.lower() not in (stdout + stderr).decode().lower()


def _has_open(pid: int, path: str) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux /proc)."""
    fds = f"/proc/{pid}/fd"
    with contextlib.suppress(OSError):
        return any(os.readlink(f"{fds}/{fd}") == path for fd in os.listdir(fds))
    return False


async def test_listen_as_a_process_on_a_pty() -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        STACK_PACKAGE,
        "listen",
        "--port",
        path,
        "--baudrate",
        "115200",
        "--count",
        "2",
        "--duration",
        "20",
        "--quiet-gap",
        QUIET_GAP,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # Bytes written before the process has opened and set up the port are lost: wait until it has
        # the port open, however slowly it starts under load, then for the line settings and flush.
        await wait_for(lambda: _has_open(process.pid, path), 20.0)
        await asyncio.sleep(1.0)
        for chunk in (AIDON[:100], AIDON[100:], KAMSTRUP):
            os.write(master, chunk)
            await asyncio.sleep(0.3)
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
        os.close(master)
        os.close(slave)
    assert process.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert lines == _decode_lines(AIDON.hex()) + _decode_lines(KAMSTRUP.hex())


def test_listen_with_nothing_to_read_says_so() -> None:
    err = io.StringIO()
    args = _args("--port", "socket://127.0.0.1:9", "--duration", "0.3")
    assert cli.listen.run(args, io.StringIO(), err) == 1
    assert "listen: no telegram decoded in 0.3 s" in err.getvalue()


@pytest.mark.parametrize("key", ["zz", "0011"])
def test_listen_refuses_a_bad_key_without_printing_it(key: str) -> None:
    err = io.StringIO()
    assert cli.listen.run(_args("--port", "/dev/null", "--key", key), io.StringIO(), err) == 2
    assert key not in err.getvalue()
