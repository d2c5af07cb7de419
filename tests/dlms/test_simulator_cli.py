"""``python -m custom_components.dlms_cosem.dlms simulate`` as a real subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.__main__ import build_parser
from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    AssociationResult,
    AuthenticationMechanism,
    CosemAttributeDescriptor,
    GetRequestNormal,
    GetResponseNormal,
    InitiateRequest,
    decode_apdu,
)
from custom_components.dlms_cosem.dlms.axdr import Data, datetime_from_data
from custom_components.dlms_cosem.dlms.client import ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.hdlc import (
    Control,
    HdlcFrame,
    HdlcFramer,
    client_address,
    server_address,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator import cli
from custom_components.dlms_cosem.dlms.simulator.model import SERIAL_NUMBER
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams
from custom_components.dlms_cosem.dlms.transport.readout import ReadoutSettings, read_out
from custom_components.dlms_cosem.dlms.transport.streams import TcpEndpoint
from custom_components.dlms_cosem.dlms.transport.wrapper import WrapperTransport
from custom_components.dlms_cosem.dlms.wrapper import WrapperFramer, WrapperPdu
from tests.dlms.stack import PACKAGE as STACK_PACKAGE

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "pa55-w0rd"
KEY = "000102030405060708090A0B0C0D0E0F"
AUTH_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
STARTUP_TIMEOUT = 10.0


@contextmanager
def simulator(*arguments: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start the command, wait for its listening line, and make sure it is gone afterwards."""
    command = [sys.executable, "-m", STACK_PACKAGE, "simulate", *arguments]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(STARTUP_TIMEOUT), "the simulator did not report where it listens"
        line = process.stdout.readline()
        yield process, json.loads(line)["listening"]
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=STARTUP_TIMEOUT)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> tuple[int, bytes, bytes]:
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=STARTUP_TIMEOUT)
    return process.returncode, stdout, stderr


def wrapper_exchange(sock: socket.socket, apdu: bytes) -> bytes:
    sock.sendall(WrapperPdu(16, 1, apdu).encode())
    framer = WrapperFramer()
    while True:
        data = sock.recv(4096)
        assert data, "connection closed"
        pdus = framer.feed(data)
        if pdus:
            return pdus[0].apdu


def test_tcp_wrapper_with_lls_and_clean_sigterm() -> None:
    arguments = [
        "--tcp",
        "127.0.0.1:0",
        "--auth",
        "lls",
        "--password",
        PASSWORD,
        "--key",
        KEY,
        "--auth-key",
        AUTH_KEY,
    ]
    with simulator(*arguments, "--log-level", "debug", "--serial", "87654321") as (process, address):
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            request = AARQ(
                mechanism_name=AuthenticationMechanism.LOW_LEVEL,
                calling_authentication_value=PASSWORD.encode(),
                user_information=InitiateRequest(),
            )
            aare = decode_apdu(wrapper_exchange(sock, request.encode()))
            assert isinstance(aare, AARE)
            assert aare.result is AssociationResult.ACCEPTED
            serial = decode_apdu(
                wrapper_exchange(
                    sock, GetRequestNormal(CosemAttributeDescriptor(1, SERIAL_NUMBER, 2)).encode()
                )
            )
            assert serial == GetResponseNormal(Data.octet_string(b"87654321"))
        code, stdout, stderr = stop(process)
    assert code == 0
    assert stdout == b""  # the listening line was the only output
    assert b"DEBUG" in stderr  # it did log, without secrets
    for secret in (PASSWORD, KEY, AUTH_KEY, KEY.lower(), AUTH_KEY.lower()):
        assert secret.encode() not in stderr


def test_pty_hdlc_and_sigint() -> None:
    with simulator("--pty", "--server-address", "1/17") as (process, path):
        assert path.startswith("/dev/")
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            snrm = HdlcFrame(server_address(1, 17), client_address(16), Control.snrm())
            os.write(fd, snrm.encode())
            framer = HdlcFramer()
            deadline = time.monotonic() + STARTUP_TIMEOUT
            frames: list[HdlcFrame] = []
            with selectors.DefaultSelector() as selector:
                selector.register(fd, selectors.EVENT_READ)
                while not frames and time.monotonic() < deadline:
                    if selector.select(0.5):
                        frames = framer.feed(os.read(fd, 4096))
            assert frames
            assert frames[0].control.frame_type.name == "UA"
        finally:
            os.close(fd)
        code, stdout, _ = stop(process, signal.SIGINT)
    assert code == 0
    assert stdout == b""


def test_push_mode_over_tcp() -> None:
    with simulator("--tcp", "127.0.0.1:0", "--push", "0.05", "--push-framing", "hdlc") as (process, address):
        host, port = address.rsplit(":", 1)
        received = b""
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                received += sock.recv(4096)
                if len([event for event in decode_telegrams([received]) if isinstance(event, Telegram)]) >= 2:
                    break
        code, _, _ = stop(process)
    telegrams = [event for event in decode_telegrams([received]) if isinstance(event, Telegram)]
    assert len(telegrams) >= 2
    assert code == 0


@pytest.mark.parametrize("security", [(), ("--push-security", "authenticated-encrypted")])
def test_p1_and_smarty_push_over_tcp(security: tuple[str, ...]) -> None:
    """``--push-framing p1``: DSMR text telegrams; with security, as a Luxembourg Smarty sends them."""
    keys = SecurityKeys(bytes.fromhex(KEY), bytes.fromhex(KEY)) if security else None
    key_options = ("--key", KEY, "--auth-key", KEY) if security else ()
    arguments = ("--tcp", "127.0.0.1:0", "--push", "0.05", "--push-framing", "p1", *security, *key_options)
    with simulator(*arguments) as (process, address):
        host, port = address.rsplit(":", 1)
        received = b""
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                received += sock.recv(4096)
                events = decode_telegrams([received], keys)
                if len([event for event in events if isinstance(event, Telegram)]) >= 2:
                    break
        code, _, _ = stop(process)
    telegrams = [event for event in decode_telegrams([received], keys) if isinstance(event, Telegram)]
    assert len(telegrams) >= 2
    assert all(telegram.authenticated is bool(security) for telegram in telegrams)
    assert all(telegram.identification == "SIM5\\2SIMULATED-P1" for telegram in telegrams)
    assert code == 0


def test_readout_meter_over_tcp() -> None:
    """``--readout c``: an optical port without HDLC, read out by the stack's own mode C session."""
    with simulator("--tcp", "127.0.0.1:0", "--readout", "c", "--serial", "87654321") as (process, address):
        host, port = address.rsplit(":", 1)
        settings = ReadoutSettings(reaction_time=0.0, answer_timeout=2.0)
        result = asyncio.run(read_out(TcpEndpoint(host, int(port)), settings))
        code, _, _ = stop(process)
    values = {str(obj.obis): obj.value for obj in result.telegram.content.objects}
    assert values["1.0.96.1.0.255"] == "87654321"
    assert isinstance(values["1.0.1.8.0.255"], int)
    assert code == 0


def test_push_continues_from_the_invocation_counter_given() -> None:
    """A restarted simulator carries on from a counter the client has not seen (no replay)."""
    arguments = ("--tcp", "127.0.0.1:0", "--push", "0.05", "--push-security", "encrypted", "--key", KEY)
    with simulator(*arguments, "--invocation-counter", "4000000000") as (process, address):
        host, port = address.rsplit(":", 1)
        received = b""
        keys = SecurityKeys(encryption_key=bytes.fromhex(KEY))
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                received += sock.recv(4096)
                events = decode_telegrams([received], keys)
                if len([event for event in events if isinstance(event, Telegram)]) >= 2:
                    break
        code, _, _ = stop(process)
    counters = [event.invocation_counter for event in decode_telegrams([received], keys)]
    assert counters[:2] == [4_000_000_001, 4_000_000_002]
    assert code == 0


def run_in_process(*arguments: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["simulate", *arguments])
    stdout, stderr = io.StringIO(), io.StringIO()
    return cli.run(args, stdout, stderr), stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize(
    "arguments",
    [
        ("--tcp", "127.0.0.1:0", "--auth", "lls"),  # no password
        ("--tcp", "127.0.0.1:0", "--auth", "hls-gmac", "--key", KEY),  # no authentication key
        ("--tcp", "127.0.0.1:0", "--key", "00112233-not-a-secret-key"),
        ("--tcp", "127.0.0.1:0", "--push", "1", "--push-security", "encrypted"),  # no key
    ],
)
def test_bad_settings_exit_2_without_echoing_secrets(arguments: tuple[str, ...]) -> None:
    code, stdout, stderr = run_in_process(*arguments)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("simulate: ")
    assert "not-a-secret" not in stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ("--tcp", "nohostport"),
        ("--pty", "--tcp", "127.0.0.1:0"),
        (),
        ("--pty", "--max-pdu", "10"),
        ("--pty", "--baud", "-5"),
        ("--pty", "--latency-ms", "nan"),
    ],
)
def test_usage_errors(arguments: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["simulate", *arguments])
    assert raised.value.code == 2


def test_port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stdout, stderr = run_in_process("--tcp", f"127.0.0.1:{port}")
    assert code == 1
    assert stdout == ""
    assert "cannot listen" in stderr


def test_load_management_objects_and_a_clock_offset() -> None:
    async def read(port: int) -> tuple[Data | Exception, ...]:
        transport = WrapperTransport(TcpEndpoint("127.0.0.1", port), client_wport=16, server_wport=1)
        async with DlmsClient(transport, ClientSettings()) as client:
            return tuple(
                await client.get_many(
                    [
                        (ObisCode(0, 0, 1, 0, 0, 255), 8, 2),
                        (ObisCode(0, 0, 17, 0, 0, 255), 71, 4),
                        (ObisCode(0, 0, 97, 98, 0, 255), 1, 2),
                    ]
                )
            )

    with simulator("--tcp", "127.0.0.1:0", "--load-management", "--clock-offset", "-450") as (
        process,
        address,
    ):
        clock, threshold, alarms = asyncio.run(read(int(address.rsplit(":", 1)[1])))
        assert stop(process)[0] == 0
    assert isinstance(clock, Data)
    found = datetime_from_data(clock)
    assert found is not None
    shown = found.to_datetime()
    assert shown is not None
    assert -455 < (shown - datetime.now(UTC)).total_seconds() < -440
    assert threshold == Data.double_long_unsigned(17_250)
    assert alarms == Data.double_long_unsigned(0)
