"""Image transfer (class 18): the client's process and the image-transfer command against the simulator.

The simulated meter listens on real sockets (UDP and TCP on 127.0.0.1); its image transfer object loses
blocks, fails verification or takes its time on demand, so each branch of the process is exercised.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.client.image_transfer import (
    ImageProgress,
    read_image_transfer_state,
    transfer_image,
)
from custom_components.dlms_cosem.dlms.errors import AccessDeniedError, ServiceError
from custom_components.dlms_cosem.dlms.image_transfer import (
    IMAGE_TRANSFER,
    ImageTransferError,
    ImageTransferStatus,
)
from custom_components.dlms_cosem.dlms.simulator.image_transfer import (
    ACTIVE_FIRMWARE_IDENTIFIER,
    ACTIVE_FIRMWARE_SIGNATURE,
    ImageFaults,
    ImageTransfer,
    add_image_transfer,
)
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport import (
    TcpEndpoint,
    UdpEndpoint,
    UdpTransport,
    WrapperTransport,
)

from .test_simulator_cli import simulator, stop

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
PASSWORD = "Img-pa55word"
IMAGE = bytes((index * 7 + 3) % 256 for index in range(5000))  # 27 blocks of 192 (the last of 8 bytes)
LLS = ["--client-address", "1", "--auth", "lls", "--password", PASSWORD]


@dataclass
class Result:
    code: int
    records: list[dict[str, object]]
    stderr: str


def _call(argv: list[str]) -> Result:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = main(["image-transfer", *argv])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return Result(code, [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue())


async def image_transfer(*argv: str) -> Result:
    """``main(["image-transfer", ...])`` in a worker thread (it runs its own event loop)."""
    return await asyncio.to_thread(_call, list(argv))


@asynccontextmanager
async def meter_with_images(
    transport: Transport = Transport.WRAPPER_UDP, faults: ImageFaults | None = None
) -> AsyncIterator[tuple[SimulatorServer, ImageTransfer]]:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode())
    meter = SimulatedMeter(lambda: NOW, security=security)
    transfer = add_image_transfer(meter, faults=faults)
    async with SimulatorServer(meter, RunnerSettings(transport=transport)) as server:
        yield server, transfer


def where(server: SimulatorServer) -> list[str]:
    host, port = server.address.rsplit(":", 1)
    return ["--host", host, "--tcp-port", port, "--udp", "--timeout", "0.5"]


def management_client(server: SimulatorServer) -> DlmsClient:
    host, port = server.address.rsplit(":", 1)
    settings = ClientSettings(client_address=1, authentication=Authentication.LLS, password=PASSWORD.encode())
    return DlmsClient(WrapperTransport(TcpEndpoint(host, int(port)), client_wport=1), settings)


def firmware(server: SimulatorServer) -> bytes:
    value = server.meter.read(ACTIVE_FIRMWARE_IDENTIFIER).value
    assert isinstance(value, bytes)
    return value


async def test_cli_transfers_verifies_and_activates_over_udp_resending_lost_blocks(tmp_path: Path) -> None:
    image_file = tmp_path / "meter-fw-2.0.bin"
    image_file.write_bytes(IMAGE)
    async with meter_with_images(faults=ImageFaults(lose_blocks={0, 5, 26})) as (server, transfer):
        assert firmware(server) == b"SIM-FW-1.0.0"
        result = await image_transfer(
            "--file", str(image_file), "--identifier", "FW-2.0", *where(server), *LLS
        )
        assert result.code == 0, result.stderr
        *progress, summary = result.records
        assert summary == {
            "status": "activation_successful",
            "block_size": 192,
            "blocks": 27,
            "blocks_resent": [0, 5, 26],
            "activated": True,
            "images_to_activate": [
                {"size": 5000, "identification": "FW-2.0", "signature": hashlib.sha256(IMAGE).hexdigest()}
            ],
        }
        stages = [record["stage"] for record in progress]
        assert stages[0] == "initiated"
        assert stages.count("transferring") == 27
        assert stages.count("resending") == 3
        assert stages[-3:] == ["verifying", "activating", "activated"]
        assert progress[27] == {"stage": "transferring", "blocks_sent": 27, "blocks_total": 27}
        # The meter has the whole image, and runs it.
        assert transfer.image() == IMAGE
        assert transfer.activated == [b"FW-2.0"]
        assert firmware(server) == b"FW-2.0"
        assert server.meter.read(ACTIVE_FIRMWARE_SIGNATURE).value == hashlib.sha256(IMAGE).digest()
        assert PASSWORD not in result.stderr + json.dumps(result.records)


async def test_cli_reports_a_failed_verification_and_activates_nothing(tmp_path: Path) -> None:
    image_file = tmp_path / "bad.bin"
    image_file.write_bytes(IMAGE)
    async with meter_with_images(faults=ImageFaults(fail_verification=True)) as (server, transfer):
        result = await image_transfer("--file", str(image_file), *where(server), *LLS)
        assert result.code == 1
        assert "did not verify the image (verification_failed)" in result.stderr
        assert [record["stage"] for record in result.records][-1] == "verifying"
        assert transfer.status is ImageTransferStatus.VERIFICATION_FAILED
        assert transfer.activated == []
        assert firmware(server) == b"SIM-FW-1.0.0"
        status = await image_transfer("--status", *where(server), *LLS)
        assert status.code == 0
        assert status.records == [
            {
                "status": "verification_failed",
                "enabled": True,
                "block_size": 192,
                "blocks_transferred": 27,
                "blocks_total": 27,
                "first_not_transferred_block": 27,
                "images_to_activate": [],
            }
        ]


async def test_cli_usage_and_access_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    result = await image_transfer("--file", str(empty), "--host", "127.0.0.1", "--udp")
    assert result.code == 2
    assert "is empty" in result.stderr
    result = await image_transfer("--file", str(tmp_path / "missing.bin"), "--host", "127.0.0.1")
    assert result.code == 2
    image_file = tmp_path / "fw.bin"
    image_file.write_bytes(IMAGE)
    async with meter_with_images() as (server, transfer):
        # The public client may read the object but not invoke its methods.
        result = await image_transfer("--file", str(image_file), *where(server))
        assert result.code == 1
        assert "access denied" in result.stderr
        assert transfer.status is ImageTransferStatus.NOT_INITIATED


async def test_verification_in_progress_is_polled_until_it_settles() -> None:
    async with meter_with_images(Transport.WRAPPER_TCP, ImageFaults(verification_reads=3)) as (
        server,
        transfer,
    ):
        seen: list[ImageProgress] = []
        async with management_client(server) as client:
            report = await transfer_image(
                client, IMAGE, b"FW-3", activate=False, progress=seen.append, status_poll_interval=0.01
            )
            state = await read_image_transfer_state(client)
        assert report.status is ImageTransferStatus.VERIFICATION_SUCCESSFUL
        assert not report.activated
        assert report.blocks_resent == []
        assert seen[-1] == ImageProgress("verifying", 27, 27)
        assert state.status is ImageTransferStatus.VERIFICATION_SUCCESSFUL
        assert state.blocks_transferred == 27
        assert state.images_to_activate[0].identification == b"FW-3"
        assert transfer.activated == []
        assert firmware(server) == b"SIM-FW-1.0.0"


async def test_refusals_are_typed_errors() -> None:
    async with (
        meter_with_images(Transport.WRAPPER_TCP) as (server, transfer),
        management_client(server) as client,
    ):
        # Malformed parameters and steps out of order: Action-Results, the meter's state unchanged.
        with pytest.raises(ServiceError, match="type-unmatched"):
            await client.action(IMAGE_TRANSFER, 18, 1, Data.integer(5))
        with pytest.raises(ServiceError, match="temporary-failure"):
            await client.action(IMAGE_TRANSFER, 18, 4, Data.integer(0))
        assert transfer.status is ImageTransferStatus.NOT_INITIATED
        # Verification of an image with a block that never arrived fails.
        await client.action(
            IMAGE_TRANSFER, 18, 1, Data.structure(Data.octet_string(b"X"), Data.double_long_unsigned(400))
        )
        await client.action(
            IMAGE_TRANSFER,
            18,
            2,
            Data.structure(Data.double_long_unsigned(0), Data.octet_string(IMAGE[:192])),
        )
        with pytest.raises(ServiceError):
            await client.action(IMAGE_TRANSFER, 18, 3, Data.integer(0))
        assert transfer.status is ImageTransferStatus.VERIFICATION_FAILED
        transfer.enabled = False
        with pytest.raises(ImageTransferError, match="not enabled"):
            await transfer_image(client, IMAGE, b"FW")
        with pytest.raises(ImageTransferError, match="empty"):
            await transfer_image(client, b"", b"FW")


async def test_public_client_over_udp_sees_the_status_but_may_not_transfer() -> None:
    async with meter_with_images() as (server, _):
        host, port = server.address.rsplit(":", 1)
        async with DlmsClient(UdpTransport(UdpEndpoint(host, int(port))), ClientSettings()) as client:
            state = await read_image_transfer_state(client)
            assert state.status is ImageTransferStatus.NOT_INITIATED
            assert state.enabled
            with pytest.raises(AccessDeniedError):
                await transfer_image(client, IMAGE, b"FW")


def test_both_commands_as_processes_lost_block_then_failed_verification(tmp_path: Path) -> None:
    # simulate --udp --image-transfer with its fault options, driven by image-transfer.
    image_file = tmp_path / "fw.bin"
    image_file.write_bytes(IMAGE)
    lls = ["--auth", "lls", "--password", PASSWORD]
    options = ["--udp", "127.0.0.1:0", *lls, "--image-transfer", "--image-block-size", "1000"]
    with simulator(*options, "--image-lose-block", "2") as (process, address):
        host, port = address.rsplit(":", 1)
        result = _call(["--file", str(image_file), "--host", host, "--udp", "--tcp-port", port, *LLS])
        assert result.code == 0, result.stderr
        assert result.records[-1]["blocks"] == 5
        assert result.records[-1]["blocks_resent"] == [2]
        assert result.records[-1]["status"] == "activation_successful"
        code, _, stderr = stop(process)
    assert code == 0
    assert PASSWORD.encode() not in stderr
    with simulator(*options, "--image-fail-verification") as (process, address):
        host, port = address.rsplit(":", 1)
        result = _call(["--file", str(image_file), "--host", host, "--udp", "--tcp-port", port, *LLS])
        assert result.code == 1
        assert "verification_failed" in result.stderr
        assert stop(process)[0] == 0


async def test_blocks_larger_than_the_meters_pdu_are_refused_before_sending() -> None:
    async with meter_with_images(Transport.WRAPPER_TCP) as (server, transfer):
        transfer.block_size = 2000  # the simulator's PDU size is 1024
        async with management_client(server) as client:
            with pytest.raises(ImageTransferError, match="does not fit its PDU size 1024"):
                await transfer_image(client, IMAGE, b"FW")
        assert transfer.status is ImageTransferStatus.NOT_INITIATED
