"""The ``read`` command end to end: the simulator on a pty and on TCP, the command against it."""

from __future__ import annotations

import argparse
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
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism, DataAccessResult
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cli.read import (
    ObjectReader,
    ObjectReading,
    ObjectRequest,
    _transport_factory,
    add_arguments,
)
from custom_components.dlms_cosem.dlms.client import ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    CURRENTS,
    FREQUENCY,
    LAST_AVERAGE_DEMAND_IMPORT,
    SERIAL_NUMBER,
    VOLTAGES,
    AccessFailureError,
    DataObject,
    MeterSecurity,
    Register,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport import HdlcTransport, SerialEndpoint, TcpEndpoint
from custom_components.dlms_cosem.dlms.transport.base import ApduTransport
from custom_components.dlms_cosem.dlms.transport.wrapper import WrapperTransport
from custom_components.dlms_cosem.dlms.units import ScalerUnit
from tests.dlms.stack import PACKAGE as STACK_PACKAGE

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
PASSWORD = "Lls-pa55word"
KEY = "000102030405060708090A0B0C0D0E0F"
AUTH_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
WRONG_KEY = "0F0E0D0C0B0A09080706050403020100"
KEYS = SecurityKeys(bytes.fromhex(KEY), bytes.fromhex(AUTH_KEY))
SECRETS = (PASSWORD, PASSWORD.encode().hex(), KEY, KEY.lower(), AUTH_KEY, AUTH_KEY.lower(), WRONG_KEY)
TIMEOUT = "0.3"
STARTUP_TIMEOUT = 10.0
AARQ_TAG, RLRQ_TAG, GET_TAG = 0x60, 0x62, 0xC0

VOLTAGE = str(VOLTAGES[0])
ENERGY = str(ACTIVE_ENERGY_IMPORT)
CURRENT = str(CURRENTS[0])
SERIAL = str(SERIAL_NUMBER)
CLOCK_TIME = "0.0.1.0.0.255:2"
#: Neutral current: an electricity register the simulator does not have.
MISSING = "1.0.91.7.0.255"
POWER_FACTOR = ObisCode(1, 0, 13, 7, 0, 255)
DEMAND = str(LAST_AVERAGE_DEMAND_IMPORT)


# --- helpers -----------------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    records: list[dict[str, object]]
    stderr: str
    stdout: str

    def by_obis(self) -> dict[str, dict[str, object]]:
        return {str(record["obis"]): record for record in self.records}


def _call(argv: list[str]) -> Result:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = main(["read", *argv])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    text = stdout.getvalue()
    return Result(code, [json.loads(line) for line in text.splitlines()], stderr.getvalue(), text)


async def read(*argv: str) -> Result:
    """``main(["read", ...])`` in a worker thread (it runs its own event loop), output captured."""
    return await asyncio.to_thread(_call, list(argv))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def security(level: str) -> MeterSecurity | None:
    if level == "lls":
        return MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode())
    if level == "hls-gmac":
        return MeterSecurity(
            authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS, require_ciphering=True
        )
    return None


def credentials(level: str) -> list[str]:
    if level == "lls":
        return ["--client-address", "1", "--auth", "lls", "--password", PASSWORD]
    if level == "hls-gmac":
        return ["--client-address", "1", "--auth", "hls-gmac", "--key", KEY, "--auth-key", AUTH_KEY]
    return []


def where(server: SimulatorServer) -> list[str]:
    kind = server.settings.transport
    if kind is Transport.HDLC_PTY:
        return ["--port", server.address, "--physical-address", "17", "--timeout", TIMEOUT]
    host, port = server.address.rsplit(":", 1)
    hdlc = ["--hdlc", "--physical-address", "17"] if kind is Transport.HDLC_TCP else []
    return ["--host", host, "--tcp-port", port, *hdlc, "--timeout", TIMEOUT]


@asynccontextmanager
async def simulator(
    kind: Transport = Transport.HDLC_PTY,
    level: str = "none",
    faults: FaultInjector | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[SimulatorServer]:
    meter = SimulatedMeter(clock or Clock(), security=security(level))
    async with SimulatorServer(meter, RunnerSettings(transport=kind), faults=faults) as server:
        yield server


def expected_voltage(meter: SimulatedMeter, phase: int = 0) -> tuple[int, float]:
    raw = meter.read(VOLTAGES[phase]).value
    assert isinstance(raw, int)
    return raw, raw / 10


def assert_no_secrets(result: Result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr


# --- reading over each link with each security level ----------------------------------------------------

KINDS = [Transport.HDLC_PTY, Transport.WRAPPER_TCP, Transport.HDLC_TCP]


@pytest.mark.parametrize("level", ["none", "lls", "hls-gmac"])
@pytest.mark.parametrize("kind", KINDS)
async def test_reads_scaled_registers_text_and_time(kind: Transport, level: str) -> None:
    async with simulator(kind, level) as server:
        result = await read(*where(server), *credentials(level), VOLTAGE, ENERGY, CURRENT, SERIAL, CLOCK_TIME)
        meter = server.meter
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    records = result.by_obis()
    raw_voltage, volts = expected_voltage(meter)
    assert records[VOLTAGE] == {
        "obis": VOLTAGE,
        "attribute": 2,
        "value": pytest.approx(volts),
        "unit": "V",
        "raw": raw_voltage,
    }
    assert 200 < volts < 260
    energy = meter.read(ACTIVE_ENERGY_IMPORT).value
    assert records[ENERGY] == {"obis": ENERGY, "attribute": 2, "value": energy, "unit": "Wh", "raw": energy}
    current = meter.read(CURRENTS[0]).value
    assert isinstance(current, int)
    assert records[CURRENT]["unit"] == "A"
    assert records[CURRENT]["value"] == pytest.approx(current / 100)
    assert records[SERIAL] == {
        "obis": SERIAL,
        "attribute": 2,
        "value": "12345678",
        "unit": None,
        "raw": "12345678",
    }
    # The clock shows the meter's wall time (UTC+1 by default), as ISO text.
    assert records["0.0.1.0.0.255"]["value"] == "2024-03-10T13:07:30"
    assert [record["obis"] for record in result.records] == [
        VOLTAGE,
        ENERGY,
        CURRENT,
        SERIAL,
        "0.0.1.0.0.255",
    ]
    assert_no_secrets(result)


async def test_energy_increases_between_reads_and_frequency_is_scaled() -> None:
    clock = Clock()
    async with simulator(Transport.WRAPPER_TCP, clock=clock) as server:
        first = await read(*where(server), ENERGY, str(FREQUENCY))
        clock.now += timedelta(hours=1)
        second = await read(*where(server), ENERGY, str(FREQUENCY))
    assert first.code == second.code == 0
    before, after = first.by_obis()[ENERGY]["value"], second.by_obis()[ENERGY]["value"]
    assert isinstance(before, int)
    assert isinstance(after, int)
    assert after > before
    frequency = second.by_obis()[str(FREQUENCY)]
    assert frequency["unit"] == "Hz"
    assert 49.5 < frequency["value"] < 50.5  # type: ignore[operator]


async def test_list_objects_then_values_by_their_classes() -> None:
    async with simulator(Transport.HDLC_PTY, "lls") as server:
        result = await read(*where(server), *credentials("lls"), "--list-objects", SERIAL, "0.0.40.0.0.255:3")
    assert result.code == 0, result.stderr
    listed = [record for record in result.records if "class_id" in record]
    assert {"class_id": 3, "version": 0, "obis": ENERGY} in listed
    assert {"class_id": 8, "version": 0, "obis": "0.0.1.0.0.255"} in listed
    assert {"class_id": 7, "version": 1, "obis": "1.0.99.1.0.255"} in listed
    values = result.by_obis()
    assert values[SERIAL]["value"] == "12345678"
    # associated_partners_id of the association read through: client 1, server 1.
    assert values["0.0.40.0.0.255"]["value"] == [1, 1]


async def test_hls_gmac_without_ciphering_and_explicit_invocation_counter() -> None:
    meter_security = MeterSecurity(authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS)
    meter = SimulatedMeter(Clock(), security=meter_security)
    meter_security.client_invocation_counter = 500
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP)) as server:
        plain = await read(*where(server), *credentials("hls-gmac"), "--no-ciphering", VOLTAGE)
        assert plain.code == 0, plain.stderr
        ciphered = await read(
            *where(server), *credentials("hls-gmac"), "--invocation-counter", "900", VOLTAGE
        )
        assert ciphered.code == 0, ciphered.stderr
        assert meter_security.client_invocation_counter >= 900
        replayed = await read(*where(server), *credentials("hls-gmac"), "--invocation-counter", "3", VOLTAGE)
    assert replayed.code == 1
    assert replayed.records == []
    assert "read: " in replayed.stderr


async def test_frame_counter_unreadable_warns_and_starts_above_zero() -> None:
    meter_security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC,
        keys=KEYS,
        require_ciphering=True,
        allow_public_client=False,
    )
    meter = SimulatedMeter(Clock(), security=meter_security)
    async with SimulatorServer(meter, RunnerSettings(Transport.HDLC_PTY)) as server:
        result = await read(*where(server), *credentials("hls-gmac"), VOLTAGE)
    assert result.code == 0, result.stderr
    assert result.stderr.startswith(
        "read: warning: frame counter 0.0.43.1.0.255 not read as the public client (association rejected: "
    )
    assert result.by_obis()[VOLTAGE]["unit"] == "V"
    assert meter_security.client_invocation_counter > 1  # started at 1, then HLS and the GET


# --- failures ---------------------------------------------------------------------------------------------


async def test_silent_pty_is_not_responding_within_the_timeout() -> None:
    master, slave = os.openpty()
    try:
        started = time.monotonic()
        result = await read("--port", os.ttyname(slave), "--timeout", "0.2", "--retries", "1", VOLTAGE)
        elapsed = time.monotonic() - started
    finally:
        os.close(master)
        os.close(slave)
    assert result.code == 1
    assert result.records == []
    lines = result.stderr.splitlines()
    assert lines[0].startswith("read: meter not responding")
    assert lines[-1] == "read: 0 of 1 read; nothing more could be read"
    assert elapsed < 2.0  # (1 + retries) x 0.2 s, and the time to open the port


@pytest.mark.parametrize("kind", [Transport.WRAPPER_TCP, Transport.HDLC_PTY])
async def test_meter_that_stops_answering_then_recovers(kind: Transport) -> None:
    faults = FaultInjector()
    async with simulator(kind, faults=faults) as server:
        faults.stop_answering()
        started = time.monotonic()
        silent = await read(*where(server), "--retries", "1", VOLTAGE)
        elapsed = time.monotonic() - started
        faults.resume()
        # The port was closed by the failed read and is opened again by this one.
        again = await read(*where(server), VOLTAGE)
        expected = expected_voltage(server.meter)[1]
    assert silent.code == 1
    assert "meter not responding" in silent.stderr
    assert elapsed < 2.5
    assert again.code == 0, again.stderr
    assert again.records[0]["value"] == pytest.approx(expected)


async def test_wrong_password_is_an_authentication_failure() -> None:
    async with simulator(Transport.HDLC_PTY, "lls") as server:
        result = await read(
            *where(server),
            "--client-address",
            "1",
            "--auth",
            "lls",
            "--password",
            "wrong-" + PASSWORD,
            VOLTAGE,
        )
    assert result.code == 1
    assert result.stderr.splitlines()[0] == "read: authentication failed: authentication failure"
    assert_no_secrets(result)


async def test_unsupported_mechanism_is_an_association_rejection() -> None:
    async with simulator(Transport.WRAPPER_TCP, "lls") as server:
        result = await read(*where(server), *credentials("hls-gmac"), "--no-ciphering", VOLTAGE)
    assert result.code == 1
    assert result.stderr.startswith(
        "read: association rejected: authentication mechanism name not recognised"
    )


async def test_wrong_key_fails_authentication_without_showing_keys() -> None:
    async with simulator(Transport.HDLC_TCP, "hls-gmac") as server:
        result = await read(
            *where(server),
            "--client-address",
            "1",
            "--auth",
            "hls-gmac",
            "--key",
            WRONG_KEY,
            "--auth-key",
            AUTH_KEY,
            "--log-level",
            "debug",
            VOLTAGE,
        )
    assert result.code == 1
    assert result.records == []
    first = result.stderr.splitlines()
    assert any(
        line.startswith(("read: authentication failed", "read: decryption failed")) for line in first
    ), result.stderr
    assert_no_secrets(result)


async def test_secrets_never_appear_in_debug_logs() -> None:
    for level in ("lls", "hls-gmac"):
        async with simulator(Transport.HDLC_PTY, level) as server:
            result = await read(*where(server), *credentials(level), "--log-level", "debug", VOLTAGE)
        assert result.code == 0, result.stderr
        assert "DEBUG" in result.stderr  # it did log
        assert_no_secrets(result)


async def test_undefined_and_denied_objects_fail_alone() -> None:
    async with simulator(Transport.WRAPPER_TCP, "lls") as server:
        result = await read(
            *where(server), *credentials("lls"), VOLTAGE, "1.0.99.98.0.255", "0.0.40.0.0.255:7"
        )
    assert result.code == 1
    # One line per object asked for, in that order: the value read, or what the meter said.
    assert [record["obis"] for record in result.records] == [VOLTAGE, "1.0.99.98.0.255", "0.0.40.0.0.255"]
    assert result.records[0]["unit"] == "V"
    assert result.records[1:] == [
        {
            "obis": "1.0.99.98.0.255",
            "attribute": 2,
            "error": "not in this association's object list",
            "kind": "object undefined",
        },
        {"obis": "0.0.40.0.0.255", "attribute": 7, "error": "read-write-denied", "kind": "access denied"},
    ]
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "read: 1.0.99.98.0.255 attribute 2: object undefined: not in this association's object list"
    )
    assert lines[1] == "read: 0.0.40.0.0.255 attribute 7: access denied: read-write-denied"
    assert lines[2] == "read: 1 of 3 read, 2 failed"


async def test_an_object_the_meter_does_not_have_fails_alone() -> None:
    async with simulator(Transport.HDLC_TCP) as server:
        result = await read(*where(server), VOLTAGE, MISSING, SERIAL, CLOCK_TIME, ENERGY)
        energy = server.meter.read(ACTIVE_ENERGY_IMPORT).value
    assert result.code == 1
    assert [record["obis"] for record in result.records] == [
        VOLTAGE,
        MISSING,
        SERIAL,
        "0.0.1.0.0.255",
        ENERGY,
    ]
    assert result.records[1] == {
        "obis": MISSING,
        "attribute": 2,
        "error": "not in this association's object list",
        "kind": "object undefined",
    }
    values = result.by_obis()
    assert values[VOLTAGE]["unit"] == "V"
    assert values[SERIAL]["value"] == "12345678"
    assert values["0.0.1.0.0.255"]["value"] == "2024-03-10T13:07:30"
    assert values[ENERGY] == {"obis": ENERGY, "attribute": 2, "value": energy, "unit": "Wh", "raw": energy}
    assert result.stderr.splitlines() == [
        f"read: {MISSING} attribute 2: object undefined: not in this association's object list",
        "read: 4 of 5 read, 1 failed",
    ]


async def test_wrong_class_guesses_are_read_with_the_right_class() -> None:
    """A power factor served as Data (guessed a Register) and a demand the guess calls a Register.

    The power factor is tried again as Data; the last average demand (an Extended register, D = 5) is
    refused as a Register and as Data, so its class comes from the object list.
    """
    meter = SimulatedMeter(Clock(), security=security("lls"))
    meter.add(DataObject(POWER_FACTOR, Data.long_unsigned(987)))
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP)) as server:
        result = await read(*where(server), *credentials("lls"), str(POWER_FACTOR), DEMAND, VOLTAGE)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    demand = meter.read(LAST_AVERAGE_DEMAND_IMPORT).value
    assert result.records[:2] == [
        {"obis": str(POWER_FACTOR), "attribute": 2, "value": 987, "unit": None, "raw": 987},
        {"obis": DEMAND, "attribute": 2, "value": demand, "unit": "W", "raw": demand},
    ]
    assert result.records[2]["unit"] == "V"


def _unavailable(_now: datetime) -> Data:
    raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "not measured now")


async def test_a_register_the_meter_cannot_give_now_reports_what_the_meter_said() -> None:
    """Refused as guessed (a Register): the error line keeps that answer, not the Data retry's."""
    meter = SimulatedMeter(Clock())
    meter.add(Register(POWER_FACTOR, _unavailable, ScalerUnit(-3, 255)))
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP)) as server:
        result = await read(*where(server), str(POWER_FACTOR), VOLTAGE)
    assert result.code == 1
    assert result.records[0] == {
        "obis": str(POWER_FACTOR),
        "attribute": 2,
        "error": "object-unavailable",
        "kind": "object undefined",
    }
    assert result.records[1]["unit"] == "V"
    assert result.stderr.splitlines() == [
        f"read: {POWER_FACTOR} attribute 2: object undefined: object-unavailable",
        "read: 1 of 2 read, 1 failed",
    ]


async def test_reader_learns_a_wrong_guess_once() -> None:
    meter = SimulatedMeter(Clock())
    meter.add(DataObject(POWER_FACTOR, Data.long_unsigned(987)))
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP)) as server:
        transport = CountingTransport(_transport(server, 16))
        client = DlmsClient(transport, ClientSettings())
        reader = ObjectReader(client)
        requests = [ObjectRequest(POWER_FACTOR), ObjectRequest(VOLTAGES[0])]
        try:
            first = await reader.read(requests)
            # AARQ, both guessed Registers in one GET-with-list, the power factor again as Data.
            assert transport.requests == [AARQ_TAG, GET_TAG, GET_TAG]
            assert dict(reader.classes) == {POWER_FACTOR: 1, VOLTAGES[0]: 3}
            second = await reader.read(requests)
            assert transport.requests[3:] == [GET_TAG]  # classes known: one request
        finally:
            await client.close()
    volts = expected_voltage(meter)[1]
    for readings in (first, second):
        assert all(isinstance(reading, ObjectReading) for reading in readings), readings
        values = [(r.class_id, r.value, r.unit) for r in readings if isinstance(r, ObjectReading)]
        assert values == [(1, 987, None), (3, pytest.approx(volts), "V")]


async def test_public_client_does_not_see_management_objects() -> None:
    async with simulator(Transport.HDLC_TCP, "lls") as server:  # no credentials: the public client
        result = await read(*where(server), "1.0.99.1.0.255", VOLTAGE)
    assert result.code == 1
    assert [record["obis"] for record in result.records] == ["1.0.99.1.0.255", VOLTAGE]
    # Guessed a Profile generic (C=99) right: the meter says the public client may not read it.
    assert result.records[0] == {
        "obis": "1.0.99.1.0.255",
        "attribute": 2,
        "error": "read-write-denied",
        "kind": "access denied",
    }
    assert result.records[1]["unit"] == "V"
    assert "read: 1.0.99.1.0.255 attribute 2: access denied: read-write-denied\n" in result.stderr


async def test_unavailable_ports(tmp_path: Path) -> None:
    missing = await read("--port", str(tmp_path / "ttyMISSING"), "--timeout", TIMEOUT, VOLTAGE)
    assert missing.code == 1
    assert missing.stderr.startswith("read: port unavailable: cannot open")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        refused = await read("--host", "127.0.0.1", "--tcp-port", str(port), "--timeout", TIMEOUT, VOLTAGE)
    assert refused.code == 1
    assert refused.stderr.startswith("read: port unavailable")
    # A pty that went away with its simulator.
    async with simulator() as server:
        arguments = where(server)
    gone = await read(*arguments, VOLTAGE)
    assert gone.code == 1
    assert gone.stderr.startswith("read: port unavailable")


async def test_corrupted_frames_give_right_values_or_a_failure_never_a_wrong_value() -> None:
    faults = FaultInjector(seed=7, corrupt_probability=0.2)
    async with simulator(Transport.HDLC_PTY, faults=faults) as server:
        expected = {str(obis): expected_voltage(server.meter, phase) for phase, obis in enumerate(VOLTAGES)}
        expected_energy = server.meter.read(ACTIVE_ENERGY_IMPORT).value
        outcomes = []
        for _ in range(6):
            result = await read(*where(server), "--timeout", "0.15", "--retries", "3", *expected, ENERGY)
            outcomes.append(result.code)
            if result.code == 0:
                for obis, (raw, value) in expected.items():
                    assert result.by_obis()[obis]["raw"] == raw
                    assert result.by_obis()[obis]["value"] == pytest.approx(value)
                assert result.by_obis()[ENERGY]["value"] == expected_energy
            else:
                assert result.code == 1
                assert result.records == [] or len(result.records) == 4
        faults.corrupt_probability = 0
        faults.corrupt_next(1)  # the very next frame (the UA): the link is set up again
        last = await read(*where(server), *expected)
    assert faults.frames_corrupted > 1
    assert 0 in outcomes
    assert last.code == 0, last.stderr
    assert {obis: record["raw"] for obis, record in last.by_obis().items()} == {
        obis: raw for obis, (raw, _) in expected.items()
    }


# --- the reader: association dropped between two polls -------------------------------------------------


class CountingTransport:
    """The real transport, with its opens and round trips counted."""

    def __init__(self, inner: ApduTransport) -> None:
        self.inner = inner
        self.opens = 0
        self.requests: list[int] = []  # first byte (APDU tag) of each request

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    async def open(self) -> None:
        self.opens += 1
        await self.inner.open()

    async def request(self, apdu: bytes) -> bytes:
        self.requests.append(apdu[0])
        return await self.inner.request(apdu)

    async def send(self, apdu: bytes) -> None:
        await self.inner.send(apdu)

    async def close(self) -> None:
        await self.inner.close()


def _transport(server: SimulatorServer, client_address: int) -> ApduTransport:
    if server.settings.transport is Transport.HDLC_PTY:
        return HdlcTransport(
            SerialEndpoint(server.address),
            client_address=client_address,
            server_physical=17,
            response_timeout=0.5,
        )
    host, port = server.address.rsplit(":", 1)
    return WrapperTransport(TcpEndpoint(host, int(port)), client_wport=client_address, response_timeout=0.5)


@pytest.mark.parametrize("kind", [Transport.WRAPPER_TCP, Transport.HDLC_PTY])
async def test_reader_associates_again_after_the_meter_dropped_the_association(kind: Transport) -> None:
    faults = FaultInjector()
    async with simulator(kind, faults=faults) as server:
        transport = CountingTransport(_transport(server, 16))
        client = DlmsClient(transport, ClientSettings())
        reader = ObjectReader(client)
        requests = [ObjectRequest(VOLTAGES[0]), ObjectRequest(SERIAL_NUMBER)]
        try:
            first = await reader.read(requests)
            assert (reader.classes[VOLTAGES[0]], reader.classes[SERIAL_NUMBER]) == (3, 1)
            # AARQ, then the voltage (guessed a Register) and the serial number (guessed Data) in one
            # GET-with-list: no object list needed.
            assert transport.requests == [AARQ_TAG, GET_TAG]
            assert transport.opens == 1
            polled = await reader.read(requests)
            assert transport.requests[2:] == [GET_TAG]  # classes and scalers known: one request
            faults.drop_association()
            second = await reader.read(requests)
        finally:
            await client.close()
        sessions = server.sessions_served
    # The GET found the association gone; the client opened the link again, associated, retried.
    assert transport.requests[3:] == [GET_TAG, AARQ_TAG, GET_TAG, RLRQ_TAG]
    assert transport.opens == 2
    assert [reading.value for reading in polled if isinstance(reading, ObjectReading)][1] == "12345678"
    for readings in (first, second):
        assert all(isinstance(reading, ObjectReading) for reading in readings), readings
    values = [reading.value for reading in second if isinstance(reading, ObjectReading)]
    assert values[0] == pytest.approx(expected_voltage(server.meter)[1])
    assert values[1] == "12345678"
    if kind is Transport.WRAPPER_TCP:
        assert sessions == 2  # the client reconnected and associated again


# --- usage errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ["--port", "/dev/null"],  # nothing to read
        ["--port", "/dev/null", "--auth", "lls", VOLTAGE],  # no password
        ["--port", "/dev/null", "--auth", "hls-gmac", "--key", KEY, VOLTAGE],  # no authentication key
        ["--port", "/dev/null", "--key", "00112233-not-a-secret-key", VOLTAGE],
        ["--port", "/dev/null", "--auth-key", AUTH_KEY, VOLTAGE],
        ["--port", "/dev/null", "--tcp-port", "4059", VOLTAGE],
        ["--host", "127.0.0.1", "--physical-address", "17", VOLTAGE],
        ["--host", "127.0.0.1", "--baud", "300", VOLTAGE],
        ["--port", "/dev/null", "1.0.1.8.0.999"],
        ["--port", "/dev/null", "1.0.1.8.0.255:0"],
        ["--port", "/dev/null", "--client-address", "200", VOLTAGE],
        ["--port", "/dev/null", "--system-title", "ABCD", VOLTAGE],
    ],
)
async def test_usage_errors_exit_2_without_echoing_secrets(arguments: list[str]) -> None:
    result = await read(*arguments)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("read: ")
    assert "not-a-secret" not in result.stderr
    assert_no_secrets(result)


@pytest.mark.parametrize(
    "arguments",
    [[VOLTAGE], ["--port", "/dev/null", "--host", "h", VOLTAGE], ["--port", "x", "--timeout", "0", VOLTAGE]],
)
async def test_argparse_errors_exit_2(arguments: list[str]) -> None:
    result = await read(*arguments)
    assert result.code == 2
    assert result.stdout == ""


def test_object_requests_parse_both_obis_forms() -> None:
    assert ObjectRequest.parse("1-0:32.7.0*255") == ObjectRequest(VOLTAGES[0], 2)
    assert ObjectRequest.parse("1-0:32.7.0*255:3") == ObjectRequest(VOLTAGES[0], 3)
    assert ObjectRequest.parse("1.0.32.7.0.255:2") == ObjectRequest(VOLTAGES[0], 2)
    assert ObjectRequest.parse("1-0:32.7.0") == ObjectRequest(ObisCode(1, 0, 32, 7, 0, 255), 2)


# --- real processes ---------------------------------------------------------------------------------------


@contextmanager
def simulate_process(*arguments: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``python -m ... simulate`` until its listening line; terminated and waited for afterwards."""
    command = [sys.executable, "-m", STACK_PACKAGE, "simulate", *arguments]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(STARTUP_TIMEOUT), "the simulator did not report where it listens"
        yield process, json.loads(process.stdout.readline())["listening"]
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=STARTUP_TIMEOUT)


def test_read_process_against_simulate_process_over_the_wrapper_with_hls_gmac() -> None:
    keys = ["--auth", "hls-gmac", "--key", KEY, "--auth-key", AUTH_KEY]
    with simulate_process("--tcp", "127.0.0.1:0", *keys, "--require-ciphering") as (_, address):
        host, port = address.rsplit(":", 1)
        command = [
            sys.executable,
            "-m",
            STACK_PACKAGE,
            "read",
            "--host",
            host,
            "--tcp-port",
            port,
            "--client-address",
            "1",
            *keys,
            "--timeout",
            "2",
            VOLTAGE,
            ENERGY,
            SERIAL,
        ]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, timeout=STARTUP_TIMEOUT, check=False
        )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    records = {record["obis"]: record for record in map(json.loads, done.stdout.decode().splitlines())}
    voltage = records[VOLTAGE]
    assert voltage["unit"] == "V"
    assert voltage["value"] == pytest.approx(voltage["raw"] / 10)
    assert 200 < voltage["value"] < 260
    assert records[ENERGY]["unit"] == "Wh"
    assert records[ENERGY]["value"] == records[ENERGY]["raw"] > 0
    assert records[SERIAL]["value"] == "12345678"
    for secret in SECRETS:
        assert secret.encode() not in done.stdout + done.stderr


async def test_read_against_simulate_process_on_a_pty_with_lls() -> None:
    with simulate_process("--pty", "--auth", "lls", "--password", PASSWORD) as (process, path):
        arguments = ["--port", path, "--physical-address", "17", "--timeout", "1", *credentials("lls")]
        first = await read(*arguments, VOLTAGE, ENERGY)
        process.send_signal(signal.SIGUSR2)  # the meter drops the association between two reads
        second = await read(*arguments, VOLTAGE, ENERGY)
        wrong = await read(*arguments[:-1], "not-the-password", VOLTAGE)
    assert first.code == 0, first.stderr
    assert second.code == 0, second.stderr
    for result in (first, second):
        voltage = result.by_obis()[VOLTAGE]
        assert voltage["unit"] == "V"
        assert voltage["value"] == pytest.approx(voltage["raw"] / 10)  # type: ignore[operator]
    before, after = first.by_obis()[ENERGY]["value"], second.by_obis()[ENERGY]["value"]
    assert isinstance(before, int)
    assert isinstance(after, int)
    assert after >= before
    assert wrong.code == 1
    assert wrong.stderr.startswith("read: authentication failed")


@pytest.mark.parametrize(("switch", "proposes"), [([], True), (["--no-negotiate"], False)])
def test_no_negotiate_sends_a_plain_snrm(switch: list[str], proposes: bool) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "/dev/ttyUSB0", "--physical-address", "17", *switch, "1.0.1.8.0.255"])
    transport = _transport_factory(args)(16)
    assert isinstance(transport, HdlcTransport)
    assert transport.link.proposes is proposes
