"""``read --profile``: a load profile between two instants as CSV and JSON, from the simulator over TCP."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta

from custom_components.dlms_cosem.dlms.__main__ import main
from custom_components.dlms_cosem.dlms.simulator.access import RequestContext
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT, LOAD_PROFILE
from custom_components.dlms_cosem.dlms.simulator.runner import Transport

from .test_read_command import credentials, simulator, where

START = "2024-03-10T09:00:00+00:00"
END = "2024-03-10T10:00:00Z"
PASSWORD = credentials("lls")[-1]


def _call(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = main(["read", *argv])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, stdout.getvalue(), stderr.getvalue()


async def read(*argv: str) -> tuple[int, str, str]:
    """The command in a worker thread (it runs its own event loop): exit code, stdout, stderr."""
    return await asyncio.to_thread(_call, list(argv))


async def test_profile_as_csv_has_a_row_per_quarter_hour_with_the_registers_values() -> None:
    async with simulator(Transport.WRAPPER_TCP, "lls") as server:
        result = await read(
            *where(server), *credentials("lls"), "--profile", str(LOAD_PROFILE), "--from", START, "--to", END
        )
        meter = server.meter
    code, stdout, stderr = result
    assert code == 0, stderr
    assert stderr == ""
    assert PASSWORD not in stdout
    rows = list(csv.reader(io.StringIO(stdout)))
    assert rows[0] == ["timestamp", "meter_time", "1.0.1.8.0.255 [Wh]", "1.0.2.8.0.255 [Wh]"]
    first = datetime(2024, 3, 10, 9, tzinfo=UTC)
    instants = [first + timedelta(minutes=15 * i) for i in range(5)]
    assert [row[0] for row in rows[1:]] == [instant.isoformat() for instant in instants]
    assert rows[1][1] == "2024-03-10T10:00:00+01:00"
    register = meter.find(ACTIVE_ENERGY_IMPORT)
    assert register is not None
    expected = [str(register.get(2, RequestContext(now=instant)).value) for instant in instants]
    assert [row[2] for row in rows[1:]] == expected


async def test_profile_as_json_is_one_object_per_row() -> None:
    async with simulator(Transport.HDLC_TCP, "lls") as server:
        result = await read(
            *where(server),
            *credentials("lls"),
            "--profile",
            str(LOAD_PROFILE),
            "--from",
            START,
            "--to",
            END,
            "--format",
            "json",
        )
    code, stdout, stderr = result
    assert code == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert len(records) == 5
    assert records[0]["timestamp"] == "2024-03-10T09:00:00+00:00"
    assert records[0]["meter_time"] == "2024-03-10T10:00:00+01:00"
    assert records[0]["1.0.1.8.0.255 [Wh]"] < records[-1]["1.0.1.8.0.255 [Wh]"]


async def test_profile_the_public_client_may_not_read_fails_with_what_the_meter_said() -> None:
    async with simulator(Transport.WRAPPER_TCP, "lls") as server:  # the public client (16) asks
        result = await read(*where(server), "--profile", str(LOAD_PROFILE), "--from", START, "--to", END)
    code, stdout, stderr = result
    assert code == 1
    assert stdout == ""
    assert "profile 1.0.99.1.0.255" in stderr


def test_profile_usage_errors() -> None:
    assert _call(["--host", "127.0.0.1", "--profile", str(LOAD_PROFILE)])[0] == 2
    assert _call(["--host", "127.0.0.1", "--from", START])[0] == 2
    assert (
        _call(["--host", "127.0.0.1", "--profile", str(LOAD_PROFILE), "--from", END, "--to", START])[0] == 2
    )
    assert _call(["--host", "127.0.0.1", "--profile", str(LOAD_PROFILE), "--from", "yesterday"])[0] == 2
