"""Entity registry entries, states and attributes for real push captures (syrupy snapshots).

The captures (Aidon, Kamstrup) are served over a real TCP socket, as ser2net would, and every object in
them is selected. States that carry the current time (the link sensor "last reading") are left out, so
the snapshot depends only on the captures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.amber import AmberSnapshotExtension

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "public_vectors.json").read_text())
PUSH = {vector["id"]: vector for vector in VECTORS["push"]}


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The capture is served on 127.0.0.1."""


@pytest.fixture
async def capture_server(request: pytest.FixtureRequest) -> AsyncIterator[int]:
    frame = bytes.fromhex(PUSH[request.param]["frames"][0])
    serving: set[asyncio.Task[None]] = set()

    async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        serving.add(task)
        try:
            while True:
                writer.write(frame)
                await writer.drain()
                await asyncio.sleep(0.05)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    for task in serving:  # a test that failed may have left its listener connected
        task.cancel()
    await asyncio.gather(*serving, return_exceptions=True)
    await server.wait_closed()


def _objects(vector_id: str) -> list[str]:
    (telegram,) = decode_telegrams([bytes.fromhex(f) for f in PUSH[vector_id]["frames"]])
    assert isinstance(telegram, Telegram)
    return [str(obj.obis) for obj in telegram.content.objects if obj.obis is not None]


def _describe(hass: HomeAssistant, entry: er.RegistryEntry) -> dict[str, Any]:
    described: dict[str, Any] = {
        "unique_id": entry.unique_id,
        "entity_id": entry.entity_id,
        "translation_key": entry.translation_key,
        "original_device_class": entry.original_device_class,
        "unit_of_measurement": entry.unit_of_measurement,
        "entity_category": entry.entity_category,
        "disabled_by": entry.disabled_by,
    }
    state = hass.states.get(entry.entity_id)
    if state is not None and entry.translation_key != "last_update":
        described["state"] = state.state
        described["attributes"] = dict(state.attributes)
    return described


@pytest.mark.parametrize("capture_server", ["aidon-se-ui", "kamstrup-no-list"], indirect=True)
async def test_entities_of_a_capture(
    hass: HomeAssistant, capture_server: int, snapshot: SnapshotAssertion, request: pytest.FixtureRequest
) -> None:
    vector_id = request.node.callspec.params["capture_server"]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=vector_id,
        unique_id=vector_id,
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: capture_server},
        options={CONF_OBJECTS: _objects(vector_id)},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    async with asyncio.timeout(5):
        while not coordinator.data.readings:  # noqa: ASYNC110 - filled by the listener task
            await asyncio.sleep(0.02)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    entries = sorted(er.async_entries_for_config_entry(registry, entry.entry_id), key=lambda e: e.unique_id)
    # syrupy's own serializer: Home Assistant's snapshot extension differs between 2026.10 releases.
    assert [_describe(hass, e) for e in entries] == snapshot.use_extension(AmberSnapshotExtension)
    assert await hass.config_entries.async_unload(entry.entry_id)
