"""The push listener over real TCP sockets on 127.0.0.1: telegrams, quiet gaps, reconnects, replays."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.errors import PortUnavailableError
from custom_components.dlms_cosem.dlms.listener import LinkStatus, ListenerEvent, PushListener
from custom_components.dlms_cosem.dlms.replay import ReplayedTelegramError, ReplayGuard
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramFailure

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "public_vectors.json").read_text())
PUSH: dict[str, dict[str, Any]] = {vector["id"]: vector for vector in VECTORS["push"]}
AIDON = bytes.fromhex(PUSH["aidon-se-ui"]["frames"][0])
KAMSTRUP = bytes.fromhex(PUSH["kamstrup-no-list"]["frames"][0])
GLO = PUSH["dlms-cosem-general-glo-ciphering"]
GLO_APDU = bytes.fromhex(GLO["frames"][0])
GLO_KEYS = SecurityKeys(
    encryption_key=bytes.fromhex(GLO["keys"]["encryption"]),
    authentication_key=bytes.fromhex(GLO["keys"]["authentication"]),
)


class Meter:
    """A TCP server that plays a push port: each connection gets the next script of writes."""

    def __init__(self, scripts: list[list[bytes | float]]) -> None:
        self._scripts = scripts
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = self._scripts[min(self.connections, len(self._scripts) - 1)]
        self.connections += 1
        try:
            for step in script:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                else:
                    writer.write(step)
                    await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def opener(port: int) -> Any:
    async def open_stream() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError as err:
            raise PortUnavailableError(f"cannot connect to 127.0.0.1:{port}: {err.strerror}") from err

    return open_stream


async def collect(events: AsyncIterator[ListenerEvent], count: int) -> list[ListenerEvent]:
    seen: list[ListenerEvent] = []
    async with asyncio.timeout(5):
        async for event in events:
            seen.append(event)
            if len(seen) == count:
                break
    return seen


async def test_telegrams_in_chunks_then_reconnect_after_the_port_closes() -> None:
    meter = Meter([[AIDON[:100], 0.02, AIDON[100:], KAMSTRUP[:7], 0.02, KAMSTRUP[7:], 0.05], [AIDON, 0.2]])
    port = await meter.start()
    listener = PushListener(opener(port), quiet_gap=0.05, reconnect_delay=0.01)
    events = listener.events()
    try:
        seen = await collect(events, 6)
    finally:
        await events.aclose()
        await meter.stop()
    assert [type(event).__name__ for event in seen] == [
        "LinkStatus",
        "Telegram",
        "Telegram",
        "LinkStatus",
        "LinkStatus",
        "Telegram",
    ]
    assert seen[0] == LinkStatus(True)
    assert seen[3] == LinkStatus(False, "the port closed")
    telegram = seen[2]
    assert isinstance(telegram, Telegram)
    assert telegram.content.list_identifier == "Kamstrup_V0001"
    assert listener.decoder.statistics.telegrams == 3


async def test_bare_apdus_are_settled_by_the_quiet_gap_and_replays_are_dropped() -> None:
    accepted: list[tuple[bytes, int]] = []
    guard = ReplayGuard(on_accept=lambda title, counter: accepted.append((title, counter)))
    meter = Meter([[GLO_APDU, 0.15, GLO_APDU, 0.15]])
    port = await meter.start()
    listener = PushListener(opener(port), GLO_KEYS, replay_guard=guard, quiet_gap=0.05)
    events = listener.events()
    try:
        seen = await collect(events, 3)
    finally:
        await events.aclose()
        await meter.stop()
    assert isinstance(seen[1], Telegram)
    assert seen[1].invocation_counter == 0x1E5
    failure = seen[2]
    assert isinstance(failure, TelegramFailure)
    assert isinstance(failure.error, ReplayedTelegramError)
    assert accepted == [(bytes.fromhex("2F19229199164103"), 0x1E5)]


async def test_counters_persisted_before_a_restart_reject_old_telegrams() -> None:
    guard = ReplayGuard({bytes.fromhex("2F19229199164103"): 0x1E5})
    meter = Meter([[GLO_APDU, 0.2]])
    port = await meter.start()
    listener = PushListener(opener(port), GLO_KEYS, replay_guard=guard, quiet_gap=0.05)
    events = listener.events()
    try:
        seen = await collect(events, 2)
    finally:
        await events.aclose()
        await meter.stop()
    assert isinstance(seen[1], TelegramFailure)
    assert "replayed telegram" in str(seen[1].error)


async def test_port_that_cannot_be_opened_is_reported_and_retried() -> None:
    meter = Meter([[AIDON, 0.2]])
    port = await meter.start()
    await meter.stop()  # nothing listens there any more
    listener = PushListener(opener(port), reconnect_delay=0.01, max_reconnect_delay=0.02)
    events = listener.events()
    try:
        seen = await collect(events, 3)
    finally:
        await events.aclose()
    assert all(isinstance(event, LinkStatus) and not event.connected for event in seen)
    first = seen[0]
    assert isinstance(first, LinkStatus)
    assert first.reason is not None
    assert f"127.0.0.1:{port}" in first.reason


@pytest.mark.parametrize("gap", [0.01, 0.05])
async def test_wrong_key_is_reported_per_telegram(gap: float) -> None:
    meter = Meter([[GLO_APDU, 0.1]])
    port = await meter.start()
    wrong = SecurityKeys(encryption_key=bytes(16), authentication_key=bytes(16))
    listener = PushListener(opener(port), wrong, quiet_gap=gap)
    events = listener.events()
    try:
        seen = await collect(events, 2)
    finally:
        await events.aclose()
        await meter.stop()
    failure = seen[1]
    assert isinstance(failure, TelegramFailure)
    assert "wrong key or tampered data" in str(failure.error)
    assert listener.decoder.statistics.decryption_failures == 1
