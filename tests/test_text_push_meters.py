"""Text telegrams in Home Assistant, with no change to the integration: a P1 port and a Luxembourg
Smarty served over TCP to a network push entry become the same sensors as binary telegrams."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.coordinator import telegram_readings
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams
from custom_components.dlms_cosem.push_coordinator import telegram_identity
from tests.test_push_meters import serve
from tests.waiting import wait_for

VECTORS = {
    vector["id"]: vector
    for vector in json.loads((Path(__file__).parent / "fixtures" / "text_vectors.json").read_text())[
        "vectors"
    ]
}


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The telegrams are served on 127.0.0.1."""


def test_readings_of_a_p1_telegram_are_those_of_a_binary_one() -> None:
    vector = VECTORS["dsmr5-p1-plain-synthetic"]
    (telegram,) = decode_telegrams([bytes.fromhex(vector["frames"][0])])
    assert isinstance(telegram, Telegram)
    readings = telegram_readings(telegram, ZoneInfo("Europe/Amsterdam"))
    assert readings[ObisCode(1, 0, 1, 8, 1, 255)].value == 4201123
    assert readings[ObisCode(1, 0, 1, 8, 1, 255)].unit == "Wh"
    # The clock (0-0:1.0.0, winter time) dates the totals; the gas reading has its own capture time.
    assert readings[ObisCode(1, 0, 1, 8, 1, 255)].captured == datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
    gas = readings[ObisCode(0, 1, 24, 2, 1, 255)]
    assert (gas.value, gas.unit) == (1234.567, "m³")
    assert gas.captured == datetime(2026, 12, 7, 9, 10, tzinfo=UTC)
    assert telegram_identity(telegram, readings) == "4530303434303037313331363530363137"


async def _states(hass: HomeAssistant, vector_id: str, objects: list[str]) -> dict[str, tuple[str, Any]]:
    vector = VECTORS[vector_id]
    async with serve(b"".join(bytes.fromhex(frame) for frame in vector["frames"])) as port:
        data: dict[str, Any] = {CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port}
        if vector.get("keys"):
            data[CONF_ENCRYPTION_KEY] = vector["keys"]["encryption"]
            data[CONF_AUTHENTICATION_KEY] = vector["keys"]["authentication"]
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=vector_id,
            unique_id=vector_id,
            data=data,
            options={CONF_OBJECTS: objects, CONF_PUSH_TIMEOUT: 30},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        registry = er.async_get(hass)

        def states() -> dict[str, tuple[str, Any]] | None:
            found = {}
            for obis in objects:
                entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{vector_id}_{obis}")
                state = hass.states.get(entity_id) if entity_id else None
                if state is None or state.state in ("unavailable", "unknown"):
                    return None
                found[obis] = (state.state, state.attributes.get("unit_of_measurement"))
            return found

        found: dict[str, tuple[str, Any]] = {}

        def arrived() -> bool:
            current = states()
            if current is not None:
                found.update(current)
            return current is not None

        await wait_for(arrived, 10)
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)
    return found


async def test_a_p1_port_becomes_sensors(hass: HomeAssistant) -> None:
    states = await _states(
        hass, "dsmr5-p1-plain-synthetic", ["1.0.1.8.1.255", "1.0.32.7.0.255", "0.1.24.2.1.255"]
    )
    assert float(states["1.0.32.7.0.255"][0]) == 231.0
    assert states["1.0.32.7.0.255"][1] == "V"
    energy, unit = states["1.0.1.8.1.255"]
    assert float(energy) * {"Wh": 1, "kWh": 1000}[unit] == 4201123
    assert float(states["0.1.24.2.1.255"][0]) == 1234.567


async def test_a_luxembourg_smarty_becomes_sensors(hass: HomeAssistant) -> None:
    states = await _states(hass, "nexxtlab-smarty-lu-encrypted", ["1.0.1.8.0.255", "1.0.2.8.0.255"])
    energy, unit = states["1.0.1.8.0.255"]
    assert float(energy) * {"Wh": 1, "kWh": 1000}[unit] == 6695
