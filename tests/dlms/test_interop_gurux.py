"""Interoperability with an independent DLMS/COSEM implementation: gurux-dlms (GPL, a test-only peer).

- Our ``DlmsClient`` over ``WrapperTransport`` against a gurux server (a subprocess, see
  :mod:`tests.dlms.peers.gurux_server`), without security and with LLS, also in GET blocks.
- A gurux client against our simulator over HDLC on a pty, HDLC over TCP and the TCP wrapper, as the
  public client and with LLS. The simulator runs in the test's event loop with a frozen clock (so the
  values are exact); gurux's blocking calls run in a worker thread, every read with its own deadline.
- A gurux client against the ``simulate`` command (a subprocess, real clock).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import selectors
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gurux_dlms import GXDLMSException
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister

from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.client import (
    Authentication,
    ClientSettings,
    DlmsClient,
    RegisterValue,
)
from custom_components.dlms_cosem.dlms.errors import (
    AssociationRejectedError,
    AuthenticationFailedError,
    ObjectUndefinedError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator import (
    AccessLevel,
    MeterSecurity,
    RunnerSettings,
    SimulatedMeter,
    SimulatorServer,
    Transport,
)
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    CLOCK,
    CURRENTS,
    FREQUENCY,
    LOAD_PROFILE,
    LOGICAL_DEVICE_NAME,
    VOLTAGES,
    ProfileGeneric,
)
from custom_components.dlms_cosem.dlms.transport import TcpEndpoint, WrapperTransport
from custom_components.dlms_cosem.dlms.units import ScalerUnit, Unit
from tests.dlms.peers import PEER_DATA, PEER_LOGICAL_DEVICE_NAME, PEER_REGISTERS, PEER_SERVER_WPORT
from tests.dlms.peers.gurux_client import FdLink, GuruxSession, Link, SocketLink
from tests.dlms.stack import PACKAGE as STACK_PACKAGE

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Gurux-LLS-1"
STARTUP_TIMEOUT = 10.0
RESPONSE_TIMEOUT = 2.0
#: Ceiling for one gurux conversation in its worker thread (its own reads time out well before).
THREAD_TIMEOUT = 15.0
NOW = datetime(2024, 3, 5, 12, 34, 56, tzinfo=UTC)
MANAGEMENT_CLIENT = 1
PUBLIC_CLIENT = 16
#: What the gurux client proposes: small enough that the object list comes in GET datablocks.
GURUX_MAX_PDU_SIZE = 256
#: An object the gurux server does not have (export power).
MISSING = "1.0.2.7.0.255"


# --- our client against a gurux server --------------------------------------------------------------


@pytest.fixture(scope="module")
def gurux_server() -> Iterator[int]:
    """The gurux server subprocess (LLS for non-public clients); its port. Stopped by closing stdin."""
    command = [sys.executable, "-m", "tests.dlms.peers.gurux_server", "--password", PASSWORD]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(STARTUP_TIMEOUT), "the gurux server did not report its port"
        yield int(process.stdout.readline())
    finally:
        try:
            _, stderr = process.communicate(timeout=STARTUP_TIMEOUT)  # closes stdin: the server stops
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


class CountingWrapperTransport(WrapperTransport):
    """A real wrapper transport that counts the confirmed exchanges."""

    requests = 0

    async def request(self, apdu: bytes) -> bytes:
        self.requests += 1
        return await super().request(apdu)


def wrapper_to(port: int, client_wport: int) -> CountingWrapperTransport:
    return CountingWrapperTransport(
        TcpEndpoint("127.0.0.1", port),
        client_wport=client_wport,
        server_wport=PEER_SERVER_WPORT,
        response_timeout=RESPONSE_TIMEOUT,
        open_timeout=RESPONSE_TIMEOUT,
    )


def lls_settings(password: str = PASSWORD, **options: Any) -> ClientSettings:
    return ClientSettings(
        client_address=MANAGEMENT_CLIENT,
        authentication=Authentication.LLS,
        password=password.encode(),
        **options,
    )


SECURITY = {
    "none": (PUBLIC_CLIENT, ClientSettings()),
    "lls": (MANAGEMENT_CLIENT, lls_settings()),
}
PEER_OBJECTS = [
    (15, 2, ObisCode.parse("0.0.40.0.0.255")),
    *((3, 0, ObisCode.parse(spec.logical_name)) for spec in PEER_REGISTERS),
    (1, 0, ObisCode.parse(PEER_LOGICAL_DEVICE_NAME[0])),
    *((1, 0, ObisCode.parse(data.logical_name)) for data in PEER_DATA),
]


@pytest.mark.parametrize("security", ["none", "lls"])
async def test_our_client_reads_registers_from_a_gurux_server(gurux_server: int, security: str) -> None:
    client_wport, settings = SECURITY[security]
    transport = wrapper_to(gurux_server, client_wport)
    async with DlmsClient(transport, settings) as client:
        context = client.context
        assert context is not None
        assert context.dlms_version == 6
        names = [spec.logical_name for spec in PEER_REGISTERS]
        first = await client.read_registers(names)
        again = await client.read_registers(names)  # scaler_unit cached: values only
        device_name = await client.get(PEER_LOGICAL_DEVICE_NAME[0], 1)
        objects = await client.read_object_list()

    for values in (first, again):
        assert all(isinstance(value, RegisterValue) for value in values), values
        registers = [value for value in values if isinstance(value, RegisterValue)]
        assert [r.raw for r in registers] == [Data(DataTag(s.tag), s.value) for s in PEER_REGISTERS]
        assert [r.scaler_unit for r in registers] == [
            ScalerUnit(s.scaler, Unit(s.unit)) for s in PEER_REGISTERS
        ]
        assert [r.value for r in registers] == [12_345_678, 43_210, 230.1, -1_500]
        assert [r.unit for r in registers] == ["Wh", "Wh", "V", "W"]
    assert device_name == Data.octet_string(PEER_LOGICAL_DEVICE_NAME[1])
    assert [(o.class_id, o.version, o.obis) for o in objects] == PEER_OBJECTS
    assert all(o.readable(2) and not o.writable(2) for o in objects)
    assert transport.pdus_ignored == 0
    assert not transport.is_open


async def test_our_client_reassembles_gurux_get_blocks(gurux_server: int) -> None:
    """A 64-byte PDU makes gurux send the object list in GET-Response-With-Datablock pieces."""
    transport = wrapper_to(gurux_server, MANAGEMENT_CLIENT)
    async with DlmsClient(transport, lls_settings(max_pdu_size=64)) as client:
        context = client.context
        assert context is not None
        assert context.server_max_pdu_size == 64
        before = transport.requests
        objects = await client.read_object_list()
        exchanges = transport.requests - before
        registers = await client.read_registers([spec.logical_name for spec in PEER_REGISTERS])
    assert exchanges > 3  # GET-Request-Normal, then GET-Request-Next per further block
    assert [(o.class_id, o.version, o.obis) for o in objects] == PEER_OBJECTS
    assert [r.value for r in registers if isinstance(r, RegisterValue)] == [12_345_678, 43_210, 230.1, -1_500]


async def test_gurux_server_refusals_and_no_leaked_connection(gurux_server: int) -> None:
    """Refused associations raise typed errors and leave no connection open behind ``async with``.

    The gurux peer serves one connection at a time, so a connection left open by a failed
    ``__aenter__`` would keep the next client waiting until the peer's idle timeout.
    """
    wrong = wrapper_to(gurux_server, MANAGEMENT_CLIENT)
    with pytest.raises(AuthenticationFailedError):
        async with DlmsClient(wrong, lls_settings("not-the-password")):
            pytest.fail("associated with a wrong password")
    assert not wrong.is_open

    unauthenticated = wrapper_to(gurux_server, MANAGEMENT_CLIENT)
    with pytest.raises(AssociationRejectedError) as rejected:
        async with DlmsClient(unauthenticated, ClientSettings(client_address=MANAGEMENT_CLIENT)):
            pytest.fail("management associated without authentication")
    assert not isinstance(rejected.value, AuthenticationFailedError)
    assert not unauthenticated.is_open

    right = wrapper_to(gurux_server, MANAGEMENT_CLIENT)
    async with asyncio.timeout(RESPONSE_TIMEOUT), DlmsClient(right, lls_settings()) as client:
        assert await client.get(PEER_LOGICAL_DEVICE_NAME[0], 1) == Data.octet_string(
            PEER_LOGICAL_DEVICE_NAME[1]
        )
    assert PASSWORD not in repr(lls_settings())


async def test_our_client_reads_around_an_object_gurux_does_not_have(gurux_server: int) -> None:
    """gurux-dlms 1.0.203 truncates a whole GET-with-list answer for one undefined item.

    The client then reads each attribute alone: the missing one fails by itself, the others are read.
    """
    transport = wrapper_to(gurux_server, PUBLIC_CLIENT)
    async with DlmsClient(transport, ClientSettings()) as client:
        before = transport.requests
        values = await client.read_registers(["1.0.1.8.0.255", MISSING, "1.0.32.7.0.255"])
        exchanges = transport.requests - before
    assert isinstance(values[0], RegisterValue)
    assert (values[0].value, values[0].unit) == (12_345_678, "Wh")
    assert isinstance(values[1], ObjectUndefinedError)
    assert str(values[1]) == f"{MISSING} attribute 2 (class 3): object-undefined"
    assert isinstance(values[2], RegisterValue)
    assert (values[2].value, values[2].unit) == (230.1, "V")
    # The with-list, the association again (the garbled answer left it in doubt), six attributes alone.
    assert exchanges == 1 + 1 + 6


def read_command(port: int, security: str, *objects: str) -> tuple[int, list[dict[str, Any]], str]:
    """``python -m ... read`` against the gurux server: exit code, JSON lines, stderr."""
    import contextlib
    import io

    from custom_components.dlms_cosem.dlms.__main__ import main

    argv = ["read", "--host", "127.0.0.1", "--tcp-port", str(port), "--timeout", "3"]
    if security == "lls":
        argv += ["--client-address", str(MANAGEMENT_CLIENT), "--auth", "lls", "--password", PASSWORD]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*argv, *objects])
    assert PASSWORD not in stdout.getvalue() + stderr.getvalue()
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue()


@pytest.mark.parametrize("security", ["none", "lls"])
def test_the_read_command_reads_a_register_and_a_data_object_without_the_object_list(
    gurux_server: int, security: str
) -> None:
    """The classes guessed from the OBIS codes are right: one GET-with-list reads both."""
    serial = PEER_DATA[0]
    code, records, stderr = read_command(gurux_server, security, "1.0.1.8.0.255", serial.logical_name)
    assert code == 0, stderr
    assert stderr == ""
    assert records == [
        {"obis": "1.0.1.8.0.255", "attribute": 2, "value": 12_345_678, "unit": "Wh", "raw": 12_345_678},
        {
            "obis": "0.0.96.1.0.255",
            "attribute": 2,
            "value": "GRX-SN-87654321",
            "unit": None,
            "raw": "GRX-SN-87654321",
        },
    ]
    assert serial.value == b"GRX-SN-87654321"


def test_the_read_command_recovers_a_wrong_guess_and_reports_a_missing_object(gurux_server: int) -> None:
    """A power factor gurux serves as Data (guessed a Register) and an object it does not have.

    gurux truncates the GET-with-list answer for both; the read command still reads every object it
    can, and says which one the meter does not have.
    """
    power_factor = PEER_DATA[1]
    code, records, stderr = read_command(
        gurux_server, "lls", "1.0.1.8.0.255", power_factor.logical_name, MISSING, "1.0.32.7.0.255"
    )
    assert code == 1
    assert records == [
        {"obis": "1.0.1.8.0.255", "attribute": 2, "value": 12_345_678, "unit": "Wh", "raw": 12_345_678},
        {"obis": "1.0.13.7.0.255", "attribute": 2, "value": 987, "unit": None, "raw": 987},
        {
            "obis": MISSING,
            "attribute": 2,
            "error": "not in this association's object list",
            "kind": "object undefined",
        },
        {"obis": "1.0.32.7.0.255", "attribute": 2, "value": 230.1, "unit": "V", "raw": 2_301},
    ]
    assert power_factor.value == 987
    assert stderr.splitlines() == [
        f"read: {MISSING} attribute 2: object undefined: not in this association's object list",
        "read: 3 of 4 read, 1 failed",
    ]


# --- a gurux client against our simulator -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuruxRegister:
    """A register as the gurux client read it."""

    raw: object
    scaler: int
    unit: int


@dataclass(frozen=True, slots=True)
class GuruxReading:
    """Everything one gurux association read, as plain values."""

    registers: dict[ObisCode, GuruxRegister]
    device_name: bytes
    clock: datetime
    deviation: int
    objects: list[tuple[int, int, ObisCode]]
    listed: list[object]
    printed: list[str]


READ_REGISTERS = (ACTIVE_ENERGY_IMPORT, VOLTAGES[0], CURRENTS[1], FREQUENCY)


def _gurux_scaler(multiplier: float) -> int:
    """gurux keeps a scaler as the multiplier 10**scaler."""
    return round(math.log10(multiplier))


def open_link(transport: Transport, address: str) -> Link:
    if transport is Transport.HDLC_PTY:
        return FdLink(address)
    host, _, port = address.rpartition(":")
    return SocketLink(host, int(port), RESPONSE_TIMEOUT)


def gurux_session(link: Link, transport: Transport, password: str | None) -> GuruxSession:
    """The object list (about 1 KB) then needs HDLC segments of 128 bytes and GET datablocks."""
    return GuruxSession.create(
        link,
        hdlc=transport is not Transport.WRAPPER_TCP,
        client_address=MANAGEMENT_CLIENT if password else PUBLIC_CLIENT,
        password=password.encode() if password else None,
        max_pdu_size=GURUX_MAX_PDU_SIZE,
        timeout=RESPONSE_TIMEOUT,
    )


def gurux_reads(transport: Transport, address: str, password: str | None) -> GuruxReading:
    """One gurux association (blocking; runs in a worker thread): registers, name, clock, objects."""
    link = open_link(transport, address)
    with closing(link):
        session = gurux_session(link, transport, password)
        session.connect()
        registers = {}
        for obis in READ_REGISTERS:
            register = GXDLMSRegister(_dotted(obis))
            session.read(register, 3)
            raw = session.read(register, 2)
            registers[obis] = GuruxRegister(raw, _gurux_scaler(register.scaler), int(register.unit))
        device_name = GXDLMSData(_dotted(LOGICAL_DEVICE_NAME))
        session.read(device_name, 2)
        clock = GXDLMSClock(_dotted(CLOCK))
        session.read(clock, 2)
        session.read(clock, 3)
        objects = [
            (int(item.objectType), item.version, ObisCode.parse(item.logicalName))
            for item in session.read_objects()
        ]
        listed = session.read_list([(GXDLMSRegister(_dotted(obis)), 2) for obis in READ_REGISTERS])
        session.close()
    return GuruxReading(
        registers,
        bytes(device_name.value),
        clock.time.value,
        clock.timeZone,
        objects,
        listed,
        session.printed,
    )


def _dotted(obis: ObisCode) -> str:
    return f"{obis.a}.{obis.b}.{obis.c}.{obis.d}.{obis.e}.{obis.f}"


def _fixed(instant: datetime) -> Callable[[], datetime]:
    return lambda: instant


def lls_meter(clock: Callable[[], datetime] = lambda: NOW, **options: Any) -> SimulatedMeter:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode())
    return SimulatedMeter(clock, security=security, **options)


@asynccontextmanager
async def simulator(meter: SimulatedMeter, transport: Transport) -> AsyncIterator[str]:
    async with SimulatorServer(meter, RunnerSettings(transport)) as server:
        yield server.address


async def in_thread[T](function: Callable[..., T], *args: object) -> T:
    """Run gurux's blocking calls off the event loop (which serves the simulator)."""
    async with asyncio.timeout(THREAD_TIMEOUT):
        return await asyncio.to_thread(function, *args)


@pytest.mark.parametrize("transport", [Transport.HDLC_PTY, Transport.HDLC_TCP, Transport.WRAPPER_TCP])
@pytest.mark.parametrize("security", ["none", "lls"])
async def test_gurux_client_reads_our_simulator(transport: Transport, security: str) -> None:
    meter = lls_meter()
    password = PASSWORD if security == "lls" else None
    async with simulator(meter, transport) as address:
        reading = await in_thread(gurux_reads, transport, address, password)

    for obis in READ_REGISTERS:
        expected = ScalerUnit.from_data(meter.read(obis, 3))
        assert reading.registers[obis] == GuruxRegister(
            meter.read(obis).value, expected.scaler, int(expected.unit)
        ), obis
    assert reading.registers[ACTIVE_ENERGY_IMPORT].unit == Unit.WATT_HOUR
    assert reading.registers[VOLTAGES[0]].scaler == -1
    assert reading.listed == [meter.read(obis).value for obis in READ_REGISTERS]
    assert reading.device_name == meter.read(LOGICAL_DEVICE_NAME).value == b"SIM12345678"
    assert reading.clock == NOW
    assert reading.deviation == meter.read(CLOCK, 3).value == -60
    level = AccessLevel.MANAGEMENT if password else AccessLevel.PUBLIC
    expected_objects = [
        (obj.class_id, obj.version, obj.logical_name)
        for obj in meter.objects.values()
        if obj.visible_to(level)
    ]
    assert reading.objects == expected_objects
    assert (LOAD_PROFILE in [name for _, _, name in reading.objects]) == (password is not None)
    assert reading.printed == []


def gurux_refused(transport: Transport, address: str, password: str) -> str:
    link = open_link(transport, address)
    with closing(link):
        session = gurux_session(link, transport, password)
        with pytest.raises(GXDLMSException) as refused:
            session.connect()
        if transport is not Transport.WRAPPER_TCP:
            session.disconnect()
    return str(refused.value)


async def test_our_simulator_refuses_a_wrong_gurux_password() -> None:
    meter = lls_meter()
    async with simulator(meter, Transport.HDLC_TCP) as address:
        message = await in_thread(gurux_refused, Transport.HDLC_TCP, address, "not-the-password")
        reading = await in_thread(gurux_reads, Transport.HDLC_TCP, address, PASSWORD)
    assert "rejected" in message.lower()
    assert reading.device_name == b"SIM12345678"


def gurux_profile(address: str, start: datetime, end: datetime) -> tuple[list[Any], list[Any], list[Any]]:
    """Profile columns, rows 1..3 by entry and the rows of a time range, as gurux decodes them."""
    link = open_link(Transport.HDLC_TCP, address)
    with closing(link):
        session = gurux_session(link, Transport.HDLC_TCP, PASSWORD)
        session.connect()
        profile = GXDLMSProfileGeneric(_dotted(LOAD_PROFILE))
        columns = session.read(profile, 3)
        by_entry = session.request_value(session.client.readRowsByEntry(profile, 1, 3))
        by_range = session.request_value(session.client.readRowsByRange(profile, start, end))
        session.close()
    return columns, by_entry, by_range


def _row(row: list[Any]) -> tuple[bytes, int, int]:
    """A gurux profile row (clock as octet-string, two energies) as plain values."""
    stamp, imported, exported = row
    return bytes(stamp), int(imported), int(exported)


async def test_gurux_client_reads_our_load_profile_by_entry_and_by_range() -> None:
    installed = NOW - timedelta(hours=3)
    meter = lls_meter(profile_entries=8, installed_at=installed)
    profile = meter.find(LOAD_PROFILE)
    assert isinstance(profile, ProfileGeneric)
    instants = profile.capture_instants(NOW)
    assert len(instants) == 8
    start, end = instants[2], instants[4]
    async with simulator(meter, Transport.HDLC_TCP) as address:
        columns, by_entry, by_range = await in_thread(gurux_profile, address, start, end)

    assert [(c[0], bytes(c[1]), c[2], c[3]) for c in columns] == [
        (8, CLOCK.to_bytes(), 2, 0),
        (3, ACTIVE_ENERGY_IMPORT.to_bytes(), 2, 0),
        (3, ObisCode(1, 0, 2, 8, 0, 255).to_bytes(), 2, 0),
    ]

    def expected(instant: datetime) -> tuple[bytes, int, int]:
        stamp, imported, exported = (item.value for item in profile.row(instant))
        assert isinstance(stamp, bytes)
        assert isinstance(imported, int)
        assert isinstance(exported, int)
        return stamp, imported, exported

    assert [_row(row) for row in by_entry] == [expected(instant) for instant in instants[:3]]
    assert [_row(row) for row in by_range] == [expected(instant) for instant in instants[2:5]]


# --- a gurux client against the ``simulate`` command ----------------------------------------------------


@pytest.fixture
def simulate_command() -> Iterator[str]:
    """``simulate --tcp 127.0.0.1:0 --hdlc --auth lls`` as a subprocess; where it listens."""
    command = [
        sys.executable,
        "-m",
        STACK_PACKAGE,
        "simulate",
        "--tcp",
        "127.0.0.1:0",
        "--hdlc",
        "--auth",
        "lls",
        "--password",
        PASSWORD,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(STARTUP_TIMEOUT), "the simulator did not report where it listens"
        yield json.loads(process.stdout.readline())["listening"]
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=STARTUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")
    assert PASSWORD.encode() not in stderr


def test_gurux_client_reads_the_simulate_command_over_hdlc_tcp(simulate_command: str) -> None:
    """The real-clock simulator: values must be the load curve's at a second within the exchange."""
    before = datetime.now(UTC)
    reading = gurux_reads(Transport.HDLC_TCP, simulate_command, PASSWORD)
    after = datetime.now(UTC)
    seconds = [
        before.replace(microsecond=0) + timedelta(seconds=n)
        for n in range(int((after - before).total_seconds()) + 2)
    ]
    for obis in READ_REGISTERS:
        possible = {lls_meter(_fixed(at)).read(obis).value for at in seconds}
        assert reading.registers[obis].raw in possible, obis
        assert reading.registers[obis].scaler == ScalerUnit.from_data(lls_meter().read(obis, 3)).scaler
    assert reading.device_name == b"SIM12345678"
    assert before - timedelta(seconds=1) <= reading.clock <= after + timedelta(seconds=1)
    assert reading.deviation == -60
    assert LOAD_PROFILE in [name for _, _, name in reading.objects]


@pytest.mark.parametrize("security", ["none", "lls"])
def test_the_read_command_reads_a_gurux_server(gurux_server: int, security: str) -> None:
    """``python -m ... read`` against the gurux server: registers scaled, the device name as text."""
    import contextlib
    import io

    from custom_components.dlms_cosem.dlms.__main__ import main

    argv = ["read", "--host", "127.0.0.1", "--tcp-port", str(gurux_server), "--timeout", "3"]
    if security == "lls":
        argv += ["--client-address", str(MANAGEMENT_CLIENT), "--auth", "lls", "--password", PASSWORD]
    # --list-objects gives the read command every object's class up front. (Guessing a Data object to
    # be a Register makes gurux-dlms 1.0.203 answer a GET-with-list with a truncated response.)
    argv += ["--list-objects", *(spec.logical_name for spec in PEER_REGISTERS), PEER_LOGICAL_DEVICE_NAME[0]]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    assert code == 0, stderr.getvalue()
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert {(r["class_id"], r["obis"]) for r in lines if "class_id" in r} == {
        (class_id, str(obis)) for class_id, _, obis in PEER_OBJECTS
    }
    records = {r["obis"]: r for r in lines if "attribute" in r}
    assert [(records[s.logical_name]["value"], records[s.logical_name]["unit"]) for s in PEER_REGISTERS] == [
        (12_345_678, "Wh"),
        (43_210, "Wh"),
        (230.1, "V"),
        (-1_500, "W"),
    ]
    assert records["1.0.32.7.0.255"]["raw"] == 2_301
    assert records[PEER_LOGICAL_DEVICE_NAME[0]]["value"] == PEER_LOGICAL_DEVICE_NAME[1].decode()
    assert PASSWORD not in stdout.getvalue() + stderr.getvalue()
