"""Hostile telegrams through the real push coordinator: replays across restarts, tampering, broken data.

A TCP server on 127.0.0.1 sends what the test scripts (genuine telegrams of the simulator, replays,
tampered and downgraded copies with valid HDLC check sequences, noise); Home Assistant listens to it
as it would to a meter's push port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_OBJECTS,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.coordinator import repair_issue_id
from custom_components.dlms_cosem.dlms.hdlc import HdlcFrame, decode_frame
from custom_components.dlms_cosem.dlms.hdlc.llc import LLC_RESPONSE
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import CipheredApdu, SecurityKeys, decode_ciphered_apdu
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.push import (
    PushBuilder,
    PushFraming,
    PushSettings,
    frame_push,
)
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_push_apdu
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

from .waiting import wait_for

EK_HEX = "000102030405060708090A0B0C0D0E0F"
AK_HEX = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
WRONG_AK_HEX = "0F0E0D0C0B0A09080706050403020100"
TITLE_HEX = "53494D0000000001"
ENERGY = ObisCode.parse("1.0.1.8.0.255")
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SETTINGS = PushSettings(framing=PushFraming.HDLC, security=0x30)


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The telegrams are served on 127.0.0.1."""


class Meter:
    """The simulator's meter on a clock the test moves by an hour per telegram (so values change)."""

    def __init__(self) -> None:
        self.now = START
        keys = SecurityKeys(bytes.fromhex(EK_HEX), bytes.fromhex(AK_HEX))
        meter = SimulatedMeter(
            lambda: self.now, security=MeterSecurity(keys=keys, system_title=bytes.fromhex(TITLE_HEX))
        )
        self.keys = keys
        self.builder = PushBuilder(meter, SETTINGS)

    def next_apdu(self) -> bytes:
        self.now += timedelta(hours=1)
        return self.builder.apdu()

    def energy(self, apdu: bytes) -> object:
        telegram = decode_push_apdu(apdu, self.keys)
        return next(obj.value for obj in telegram.content.objects if obj.obis == ENERGY)


def framed(apdu: bytes) -> bytes:
    return b"".join(frame_push(apdu, SETTINGS))


def tampered(apdu: bytes, position: int) -> bytes:
    """``apdu`` with one byte flipped, re-framed with a valid FCS (what an attacker on the line sends)."""
    changed = bytearray(apdu)
    changed[position] ^= 0x01
    return framed(bytes(changed))


def downgraded(apdu: bytes) -> bytes:
    """The telegram with its tag dropped and its security control saying "encrypted only"."""
    ciphered = decode_ciphered_apdu(apdu)
    control = type(ciphered.control).from_byte(0x20)
    changed = CipheredApdu(
        ciphered.tag, ciphered.system_title, control, ciphered.invocation_counter, ciphered.protected[:-12]
    )
    return framed(changed.encode())


@contextlib.asynccontextmanager
async def line(chunks: asyncio.Queue[bytes]) -> AsyncIterator[int]:
    """A push port on 127.0.0.1 that sends whatever the test puts in ``chunks``."""

    handlers: set[asyncio.Task[None]] = set()

    async def pushing(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        with contextlib.suppress(ConnectionError):
            while True:
                writer.write(await chunks.get())
                await writer.drain()

    server = await asyncio.start_server(pushing, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await server.wait_closed()


def entry_for(port: int, authentication_key: str = AK_HEX) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Authenticating meter",
        unique_id=TITLE_HEX,
        data={
            CONF_CONNECTION_TYPE: "network_push",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_ENCRYPTION_KEY: EK_HEX,
            CONF_AUTHENTICATION_KEY: authentication_key,
        },
        options={CONF_OBJECTS: [str(ENERGY)], CONF_PUSH_TIMEOUT: 60},
    )


def energy_shown(coordinator: DlmsPushCoordinator) -> object:
    reading = coordinator.data.readings.get(ENERGY)
    return None if reading is None else reading.value


async def send(chunks: asyncio.Queue[bytes], hass: HomeAssistant, *data: bytes) -> None:
    for chunk in data:
        await chunks.put(chunk)
        await asyncio.sleep(0.1)  # the quiet gap between telegrams
    await hass.async_block_till_done()


async def set_up_showing(
    hass: HomeAssistant, chunks: asyncio.Queue[bytes], port: int, meter: Meter, apdu: bytes
) -> tuple[MockConfigEntry, DlmsPushCoordinator]:
    """Set up an entry listening on ``port`` and wait until it shows the genuine ``apdu`` sent there."""
    entry = entry_for(port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPushCoordinator)
    await send(chunks, hass, framed(apdu))
    await wait_for(lambda: energy_shown(coordinator) == meter.energy(apdu))
    return entry, coordinator


async def test_tampered_and_downgraded_telegrams_never_change_a_value(hass: HomeAssistant) -> None:
    meter = Meter()
    first, second, third = meter.next_apdu(), meter.next_apdu(), meter.next_apdu()
    assert meter.energy(first) != meter.energy(second) != meter.energy(third)
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry, coordinator = await set_up_showing(hass, chunks, port, meter, first)
        # The second telegram, flipped at every 7th byte, then stripped of its tag: all refused.
        forged = [tampered(second, position) for position in range(0, len(second), 7)]
        await send(chunks, hass, *forged, downgraded(second))
        await wait_for(lambda: coordinator.link_statistics.decryption_failures >= len(forged) + 1)
        assert energy_shown(coordinator) == meter.energy(first)
        assert (
            coordinator.link_statistics.invocation_counter == decode_ciphered_apdu(first).invocation_counter
        )
        # The genuine third telegram is taken.
        await send(chunks, hass, framed(third))
        await wait_for(lambda: energy_shown(coordinator) == meter.energy(third))
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_replays_are_refused_across_a_restart(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.dlms_cosem")
    meter = Meter()
    first, second = meter.next_apdu(), meter.next_apdu()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry, coordinator = await set_up_showing(hass, chunks, port, meter, second)
        # The same telegram again, and an older one: dropped as replays, not counted as key trouble.
        await send(chunks, hass, framed(second), framed(first))
        await wait_for(lambda: caplog.text.count("Dropped a replayed telegram") >= 2)
        assert energy_shown(coordinator) == meter.energy(second)
        assert coordinator.link_statistics.decryption_failures == 0
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    counter = decode_ciphered_apdu(second).invocation_counter
    assert hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["meters"] == {TITLE_HEX: counter}

    # Home Assistant restarts: the entry sets up afresh and loads the stored counter.
    caplog.clear()
    chunks = asyncio.Queue()
    async with line(chunks) as port:
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: port})
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        await send(chunks, hass, framed(second), framed(first))
        await wait_for(lambda: caplog.text.count("Dropped a replayed telegram") >= 2)
        assert energy_shown(coordinator) is None
        third = meter.next_apdu()
        await send(chunks, hass, framed(third))
        await wait_for(lambda: energy_shown(coordinator) == meter.energy(third))
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["meters"]
    assert stored == {TITLE_HEX: decode_ciphered_apdu(third).invocation_counter}


async def test_a_wrong_key_raises_the_repair_and_broken_data_does_not(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.dlms_cosem")
    meter = Meter()
    apdus = [meter.next_apdu() for _ in range(5)]
    issues = ir.async_get(hass)

    # Broken data: the first telegram is whole, the next ones are cut up by line noise (bad FCS).
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry, coordinator = await set_up_showing(hass, chunks, port, meter, apdus[0])
        noisy = []
        for apdu in apdus[1:]:
            frame = bytearray(framed(apdu))
            frame[len(frame) // 2] ^= 0x10
            noisy.append(bytes(frame))
        await send(chunks, hass, *noisy)
        assert coordinator.listener is not None
        await wait_for(lambda: coordinator.listener.decoder.statistics.frame_errors >= len(noisy))
        assert energy_shown(coordinator) == meter.energy(apdus[0])
        # The line recovers: the next whole telegram is taken and the sensors show the frame errors.
        recovered = meter.next_apdu()
        await send(chunks, hass, framed(recovered))
        await wait_for(lambda: energy_shown(coordinator) == meter.energy(recovered))
        assert coordinator.link_statistics.frame_errors == len(noisy)
        assert coordinator.link_statistics.decryption_failures == 0
        assert issues.async_get_issue(DOMAIN, repair_issue_id(entry)) is None
        assert "wrong key" not in caplog.text
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)

    # A wrong authentication key: whole frames whose tags fail, the repair is raised.
    caplog.clear()
    chunks = asyncio.Queue()
    async with line(chunks) as port:
        entry = entry_for(port, WRONG_AK_HEX)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        await send(chunks, hass, *(framed(apdu) for apdu in apdus[1:]))
        await wait_for(lambda: issues.async_get_issue(DOMAIN, repair_issue_id(entry)) is not None)
        issue = issues.async_get_issue(DOMAIN, repair_issue_id(entry))
        assert issue is not None
        assert issue.translation_key == "decryption_failed"
        assert coordinator.link_statistics.frame_errors == 0
        assert coordinator.link_statistics.decryption_failures >= 3
        assert "wrong key or tampered data" in caplog.text
        assert energy_shown(coordinator) is None
        assert await hass.config_entries.async_unload(entry.entry_id)


def test_frames_built_here_are_valid_hdlc() -> None:
    """The helpers above re-frame with a right FCS, so the tests reach the security checks."""
    meter = Meter()
    apdu = meter.next_apdu()
    frame = decode_frame(tampered(apdu, 30))
    assert frame.information.startswith(LLC_RESPONSE)
    assert isinstance(frame, HdlcFrame)
    assert isinstance(decode_push_apdu(apdu, meter.keys), Telegram)
