"""Meters of every push layout become sensors in Home Assistant.

Each test serves the bytes of a real capture from the corpus (tests/fixtures/corpus.json) over a real
TCP socket on 127.0.0.1, as a ser2net bridge or an ESPHome serial proxy would, repeated like a meter
that pushes every few seconds, and checks the sensors Home Assistant shows for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.models import MeterReading
from custom_components.dlms_cosem.positions import position_of, positional_code
from custom_components.dlms_cosem.probe import object_choices
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

CORPUS: dict[str, Any] = json.loads((Path(__file__).parent / "fixtures" / "corpus.json").read_text())
CAPTURES = {capture["id"]: capture for capture in CORPUS["push"]}


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The captures are served on 127.0.0.1."""


@contextlib.asynccontextmanager
async def serve(stream: bytes, period: float = 0.2) -> AsyncIterator[int]:
    """A TCP port that sends ``stream`` to whoever connects, again every ``period`` seconds."""

    async def pushing(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                writer.write(stream)
                await writer.drain()
                await asyncio.sleep(period)

    server = await asyncio.start_server(pushing, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await server.wait_closed()


def _stream(capture_id: str) -> bytes:
    return b"".join(bytes.fromhex(frame) for frame in CAPTURES[capture_id]["frames"])


async def _sensors(
    hass: HomeAssistant, capture_id: str, objects: list[str], *, stream: bytes | None = None
) -> tuple[MockConfigEntry, dict[str, str]]:
    """Set up a push entry for the capture; the states of ``objects`` once all of them have a value."""
    capture = CAPTURES[capture_id]
    async with serve(stream if stream is not None else _stream(capture_id)) as port:
        data: dict[str, Any] = {CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port}
        if capture["keys"]:
            data[CONF_ENCRYPTION_KEY] = capture["keys"]["encryption"]
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=capture_id,
            unique_id=capture_id,
            data=data,
            options={CONF_OBJECTS: objects, CONF_PUSH_TIMEOUT: 30},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        registry = er.async_get(hass)
        async with asyncio.timeout(10):
            while True:
                await hass.async_block_till_done()
                ids = {
                    obis: registry.async_get_entity_id("sensor", DOMAIN, f"{capture_id}_{obis}")
                    for obis in objects
                }
                states = {obis: hass.states.get(eid) if eid else None for obis, eid in ids.items()}
                if all(
                    state is not None and state.state not in ("unavailable", "unknown")
                    for state in states.values()
                ):
                    break
                await asyncio.sleep(0.05)
        result = {obis: state.state for obis, state in states.items() if state is not None}
        names = {obis: str(state.attributes.get("friendly_name")) for obis, state in states.items() if state}
        assert await hass.config_entries.async_unload(entry.entry_id)
    return entry, result | {f"name:{obis}": name for obis, name in names.items()}


async def test_bare_values_with_a_list_identifier_get_their_codes(hass: HomeAssistant) -> None:
    # Kaifa MA304H3E, Norwegian list 2: values without codes; KFM_001 fixes codes, scalers and units.
    _entry, states = await _sensors(
        hass, "kaifa-ma304h3e-no-list2-dlmsparser", ["1.0.1.7.0.255", "1.0.32.7.0.255", "1.0.31.7.0.255"]
    )
    assert float(states["1.0.1.7.0.255"]) == 948
    assert float(states["1.0.32.7.0.255"]) == 238.5
    assert float(states["1.0.31.7.0.255"]) == 1.416


async def test_untagged_attribute_descriptors(hass: HomeAssistant) -> None:
    # Sagemcom XT211: (class id, OBIS, attribute) without tags before each value.
    _entry, states = await _sensors(hass, "sagemcom-xt211-cz-raw", ["1.0.1.8.0.255", "1.0.21.7.0.255"])
    # No unit in the telegram: the catalog's Wh, shown in its suggested kWh.
    assert float(states["1.0.1.8.0.255"]) == pytest.approx(4913.794)
    assert float(states["1.0.21.7.0.255"]) == 198


async def test_general_block_transfer_of_a_ciphered_telegram(hass: HomeAssistant) -> None:
    # Landis+Gyr E450: general-glo-ciphering spread over three general-block-transfer HDLC frames.
    _entry, states = await _sensors(hass, "landisgyr-e450-gbt-gcm-1", ["1.0.1.8.0.255", "1.0.3.7.0.255"])
    assert float(states["1.0.1.8.0.255"]) == pytest.approx(4408.736)
    assert float(states["1.0.3.7.0.255"]) == 1735


async def test_values_without_any_code_become_sensors_named_by_position(hass: HomeAssistant) -> None:
    # A Kaifa list 1 alone: one bare value and no list identifier to name it.
    _entry, states = await _sensors(hass, "amshan-kaifa-no-list-1", ["0.254.1.1.0.255"])
    assert float(states["0.254.1.1.0.255"]) == 5852
    assert states["name:0.254.1.1.0.255"].endswith("Value 1 of 1")


async def test_structured_values_with_their_own_scaler_units(hass: HomeAssistant) -> None:
    # Iskraemeco over HDLC in three segments: (OBIS, value, scaler_unit) structures.
    _entry, states = await _sensors(
        hass, "iskraemeco-mt371-si-hdlc-segmented", ["1.0.1.8.0.255", "1.0.32.7.0.255", "1.0.31.7.0.255"]
    )
    assert float(states["1.0.1.8.0.255"]) == pytest.approx(261.927)  # kWh: the catalog's suggested unit
    assert float(states["1.0.32.7.0.255"]) == 236.4
    assert float(states["1.0.31.7.0.255"]) == 0.63


def test_positional_values_are_offered_by_name_and_value() -> None:
    key = positional_code(2, 3)
    assert key is not None
    assert position_of(key) == (2, 3)
    assert positional_code(4, 3) is None
    readings = {key: MeterReading(15, None, 15)}
    names = {f"component.{DOMAIN}.entity.sensor.push_value.name": "Value {position} of {count}"}
    (choice,) = object_choices(readings, names)
    assert choice.obis == "0.254.3.2.0.255"
    assert choice.label == "Value 2 of 3 - 15"
