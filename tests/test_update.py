"""The firmware update entity through a simulated image transfer driven by the image-transfer command.

The simulated meter (UDP, image transfer with a lost block and a verification that waits for the test)
is polled by Home Assistant with the public client; the command runs as a real process with the
management client. After each step the coordinator polls and the entity shows what the meter says.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.update import ATTR_IN_PROGRESS, ATTR_UPDATE_PERCENTAGE
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]

from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.image_transfer import IMAGE_TRANSFER, ImageTransferStatus
from custom_components.dlms_cosem.dlms.simulator.image_transfer import (
    ACTIVE_FIRMWARE_IDENTIFIER,
    ImageFaults,
    ImageTransfer,
    add_image_transfer,
)
from custom_components.dlms_cosem.dlms.simulator.interface_classes import DataObject
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport import UdpEndpoint, UdpTransport
from custom_components.dlms_cosem.poll_coordinator import DlmsPollCoordinator

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
PASSWORD = "Fw-pa55word"
IMAGE = bytes((index * 13 + 1) % 251 for index in range(5000))  # 27 blocks of 192 bytes
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
async def meter(socket_enabled: None) -> AsyncIterator[tuple[SimulatorServer, ImageTransfer]]:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode())
    simulated = SimulatedMeter(lambda: NOW, serial="44401234", security=security)
    transfer = add_image_transfer(simulated, faults=ImageFaults(lose_blocks={12}, hold_verification=True))
    async with SimulatorServer(simulated, RunnerSettings(transport=Transport.WRAPPER_UDP)) as server:
        yield server, transfer


def host_port(server: SimulatorServer) -> tuple[str, int]:
    host, port = server.address.rsplit(":", 1)
    return host, int(port)


async def image_transfer_command(server: SimulatorServer, *argv: str) -> tuple[int, str, str]:
    """The command as a user runs it: a process of its own, management client with LLS."""
    host, port = host_port(server)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "custom_components.dlms_cosem.dlms",
        "image-transfer",
        *argv,
        "--host",
        host,
        "--udp",
        "--tcp-port",
        str(port),
        "--client-address",
        "1",
        "--auth",
        "lls",
        "--password",
        PASSWORD,
        "--timeout",
        "1",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def until(condition: Any) -> None:
    """Wait for the simulated meter to reach a state (it changes in the command's requests)."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - the meter's state has no event to wait on
            await asyncio.sleep(0.01)


async def poll(hass: HomeAssistant, entry: MockConfigEntry) -> State:
    """One poll of the meter; the update entity's state after it."""
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPollCoordinator)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.last_update_success
    entity_id = er.async_get(hass).async_get_entity_id("update", DOMAIN, f"{entry.unique_id}_firmware")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def set_up_udp_entry(hass: HomeAssistant, server: SimulatorServer, unique_id: str) -> MockConfigEntry:
    """An entry polling ``server`` over UDP (default client, no authentication) for its serial number."""
    host, port = host_port(server)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=unique_id,
        data={"connection_type": "udp_poll", "host": host, "port": port, "authentication": "none"},
        options={"objects": ["0.0.96.1.0.255"], "scan_interval": 3600},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_update_entity_follows_a_transfer_driven_by_the_command(
    hass: HomeAssistant, meter: tuple[SimulatorServer, ImageTransfer], tmp_path: Path
) -> None:
    server, transfer = meter
    host, port = host_port(server)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Meter",
        unique_id="44401234",
        data={
            "connection_type": "udp_poll",
            "host": host,
            "port": port,
            "client_address": 16,
            "server_logical_address": 1,
            "authentication": "none",
        },
        options={"objects": ["0.0.96.1.0.255"], "scan_interval": 3600},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    try:
        # Before: the identifiers the meter lists, nothing to update, nothing running.
        state = await poll(hass, entry)
        assert state.state == STATE_OFF
        assert state.attributes["installed_version"] == "SIM-FW-1.0.0"
        assert state.attributes["latest_version"] == "SIM-FW-1.0.0"
        assert state.attributes[ATTR_IN_PROGRESS] is False
        assert state.attributes["image_transfer_status"] == "not_initiated"
        assert state.attributes["firmware_identifiers"] == {
            "1.0.0.2.0.255": "SIM-FW-1.0.0",
            "1.1.0.2.0.255": "SIM-MOD-2.1",
        }
        assert state.attributes["supported_features"] == 4  # progress only: no install
        with pytest.raises(HomeAssistantError):
            await hass.services.async_call(
                "update", "install", {ATTR_ENTITY_ID: state.entity_id}, blocking=True
            )
        assert transfer.status is ImageTransferStatus.NOT_INITIATED  # Home Assistant started nothing

        # Blocks arriving: a transfer someone started and left at 9 of 27 blocks shows its progress.
        async with DlmsClient(
            UdpTransport(UdpEndpoint(host, port), client_wport=1),
            ClientSettings(client_address=1, authentication=Authentication.LLS, password=PASSWORD.encode()),
        ) as client:
            await client.action(
                IMAGE_TRANSFER,
                18,
                1,
                Data.structure(Data.octet_string(b"FW-1.5"), Data.double_long_unsigned(5000)),
            )
            for number in range(9):
                block = Data.structure(
                    Data.double_long_unsigned(number), Data.octet_string(IMAGE[number * 192 :][:192])
                )
                await client.action(IMAGE_TRANSFER, 18, 2, block)
        state = await poll(hass, entry)
        assert state.attributes[ATTR_IN_PROGRESS] is True
        assert state.attributes[ATTR_UPDATE_PERCENTAGE] == 33
        assert state.attributes["image_transfer_status"] == "initiated"
        assert (state.attributes["blocks_transferred"], state.attributes["blocks_total"]) == (9, 27)

        # The command takes over: a whole new transfer, block 12 lost once, the meter slow to verify.
        image_file = tmp_path / "FW-2.0.bin"
        image_file.write_bytes(IMAGE)
        command = asyncio.ensure_future(image_transfer_command(server, "--file", str(image_file)))
        await until(lambda: transfer.status is ImageTransferStatus.VERIFICATION_INITIATED or command.done())
        assert not command.done()
        state = await poll(hass, entry)
        assert state.attributes[ATTR_IN_PROGRESS] is True
        assert state.attributes[ATTR_UPDATE_PERCENTAGE] is None
        assert state.attributes["image_transfer_status"] == "verification_initiated"
        transfer.faults.hold_verification = False
        code, stdout, stderr = await command
        assert code == 0, stderr
        assert '"blocks_resent": [12]' in stdout
        assert PASSWORD not in stdout + stderr
        state = await poll(hass, entry)
        assert state.state == STATE_OFF
        assert state.attributes[ATTR_IN_PROGRESS] is False
        assert state.attributes["installed_version"] == "FW-2.0.bin"
        assert state.attributes["image_transfer_status"] == "activation_successful"
        assert state.attributes["firmware_identifiers"]["1.0.0.2.0.255"] == "FW-2.0.bin"
        device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "44401234"), entry.entry_id)
        assert device is not None
        assert device.sw_version == "FW-2.0.bin"  # the device shows the activated firmware

        # Verified but not activated: an update waits on the meter.
        code, _, stderr = await image_transfer_command(
            server, "--file", str(image_file), "--identifier", "FW-3.0", "--no-activate"
        )
        assert code == 0, stderr
        state = await poll(hass, entry)
        assert state.state == STATE_ON
        assert state.attributes["installed_version"] == "FW-2.0.bin"
        assert state.attributes["latest_version"] == "FW-3.0"
        assert state.attributes["image_transfer_status"] == "verification_successful"

        # A failed verification is reported by the command and shown, and nothing is activated.
        transfer.faults.fail_verification = True
        code, _, stderr = await image_transfer_command(
            server, "--file", str(image_file), "--identifier", "FW-4.0"
        )
        assert code == 1
        assert "verification_failed" in stderr
        state = await poll(hass, entry)
        assert state.state == STATE_OFF
        assert state.attributes["installed_version"] == "FW-2.0.bin"
        assert state.attributes["latest_version"] == "FW-2.0.bin"
        assert state.attributes["image_transfer_status"] == "verification_failed"
        assert transfer.activated == [b"FW-2.0.bin"]
    finally:
        # Before the meter goes: its entry releases the association while someone still answers.
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_meter_without_firmware_objects_has_no_update_entity(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    simulated = SimulatedMeter(lambda: NOW, serial="55501234")
    async with SimulatorServer(simulated, RunnerSettings(transport=Transport.WRAPPER_UDP)) as server:
        entry = await set_up_udp_entry(hass, server, "55501234")
        assert er.async_get(hass).async_get_entity_id("update", DOMAIN, "55501234_firmware") is None
        assert hass.states.async_entity_ids("update") == []
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_identifiers_without_image_transfer_are_read_once(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    simulated = SimulatedMeter(lambda: NOW, serial="66601234")
    add_image_transfer(simulated)
    del simulated.objects[IMAGE_TRANSFER]  # a meter that lists its firmware but takes no updates
    async with SimulatorServer(simulated, RunnerSettings(transport=Transport.WRAPPER_UDP)) as server:
        entry = await set_up_udp_entry(hass, server, "66601234")
        try:
            state = await poll(hass, entry)
            assert state.state == STATE_OFF
            assert state.attributes["installed_version"] == "SIM-FW-1.0.0"
            assert state.attributes[ATTR_IN_PROGRESS] is False
            assert "image_transfer_status" not in state.attributes
            # Only an image transfer changes them: later polls do not ask again.
            simulated.add(DataObject(ACTIVE_FIRMWARE_IDENTIFIER, Data.octet_string(b"SERVICED")))
            state = await poll(hass, entry)
            assert state.attributes["installed_version"] == "SIM-FW-1.0.0"
        finally:
            assert await hass.config_entries.async_unload(entry.entry_id)
