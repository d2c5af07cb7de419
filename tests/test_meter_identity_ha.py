"""A pushing meter set up through the flow names itself: its device has maker, model and meter number.

Real captures served over TCP on 127.0.0.1 as a ser2net bridge would: a Norwegian Kaifa meter that
sends list 1 (power alone, no code) more often than list 2 (the list identifier KFM_001, the meter
number and type, and every value by position), and Netz NÖ's encrypted M-Bus telegram whose meter clock
and meter number come without codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem import config_flow
from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.dlms.security import SecurityKeys, parse_key
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramDecoder
from custom_components.dlms_cosem.meter_identity import identity_from_readings
from custom_components.dlms_cosem.models import MeterReading
from custom_components.dlms_cosem.positions import METER_CLOCK, METER_NUMBER, keyed_objects
from scripts.norwegian_meter import KaifaMeter, frames
from tests.tcp_meter import serving

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = {capture["id"]: capture for capture in json.loads((FIXTURES / "corpus.json").read_text())["push"]}
PUBLIC = {
    vector["id"]: vector for vector in json.loads((FIXTURES / "public_vectors.json").read_text())["push"]
}
KAIFA_LIST_1 = "hassams-kaifa-ma304h4-short"  # 1415 W, nothing else
KAIFA_LIST_2 = "hassams-kaifa-ma304h4d-short"  # KFM_001, 7340157011274532, MA304H4D, values
NETZ_NOE = "netz-noe-mbus-encrypted"


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The captures are served on 127.0.0.1."""


def _frames(capture: dict[str, Any]) -> bytes:
    frames = capture["frames"]
    return bytes.fromhex("".join(frames) if isinstance(frames, list) else frames)


@contextlib.asynccontextmanager
async def kaifa_meter(
    list_1_every: float = 0.2, list_2_after: int = 4, lists: tuple[bytes, bytes] | None = None
) -> AsyncIterator[int]:
    """A TCP port that sends list 1 ``list_2_after`` times, then list 2, and so on (list 1 comes first)."""
    list_1, list_2 = lists or (_frames(CORPUS[KAIFA_LIST_1]), _frames(CORPUS[KAIFA_LIST_2]))

    async def pushing(writer: asyncio.StreamWriter) -> None:
        sent = 0
        while True:
            sent += 1
            writer.write(list_2 if sent % (list_2_after + 1) == 0 else list_1)
            await writer.drain()
            await asyncio.sleep(list_1_every)

    async with serving(pushing) as port:
        yield port


async def _flow_to_objects(hass: HomeAssistant, port: int) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "network_push"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    return dict(result)


def _options(result: dict[str, Any]) -> dict[str, str]:
    for marker, selector in result["data_schema"].schema.items():
        if str(marker) == "objects":
            return {option["value"]: option["label"] for option in selector.config["options"]}
    raise AssertionError("no objects field")


def _default(result: dict[str, Any], name: str) -> Any:
    for marker in result["data_schema"].schema:
        if str(marker) == name:
            return marker.default()
    raise AssertionError(name)


async def test_a_kaifa_meter_that_sends_list_1_first_is_named_and_offers_its_values(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    async with kaifa_meter() as port:
        result = await _flow_to_objects(hass, port)
        assert result["step_id"] == "objects"
        labels = _options(result)
        preselected = _default(result, "objects")
        # List 2 named every value: power, currents and voltages by name with their units.
        assert labels["1.0.1.7.0.255"].startswith("Power import (1.0.1.7.0.255) - ")
        assert labels["1.0.1.7.0.255"].endswith(" W")
        assert labels["1.0.32.7.0.255"].endswith(" V")
        assert {"1.0.1.7.0.255", "1.0.31.7.0.255", "1.0.32.7.0.255"} <= set(preselected)
        assert not any(key.startswith("0.254.") for key in labels)  # no "Value 1 of 1"
        # Who the meter is names the device, not a sensor.
        assert "0.0.96.1.0.255" not in labels
        assert "0.0.96.1.7.255" not in labels
        result = dict(
            await hass.config_entries.flow.async_configure(result["flow_id"], {"objects": preselected})
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == "Kaifa 7340157011274532"
        assert result["result"].unique_id == "7340157011274532"
        entry = result["result"]
        await hass.async_block_till_done()
        registry = dr.async_get(hass)
        device = registry.async_get_device_by_identifier((DOMAIN, "7340157011274532"), entry.entry_id)
        async with asyncio.timeout(10):  # list 2 comes every fifth telegram
            while device is None or device.model is None:
                await asyncio.sleep(0.1)
                device = registry.async_get_device_by_identifier((DOMAIN, "7340157011274532"), entry.entry_id)
        assert (device.manufacturer, device.model, device.serial_number) == (
            "Kaifa",
            "MA304H4D",
            "7340157011274532",
        )
        assert device.name == "Kaifa 7340157011274532"
        # Diagnostics say the same (the meter number, an identifier, redacted).
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert diagnostics["identity"]["manufacturer"] == "Kaifa"
        assert diagnostics["identity"]["model"] == "MA304H4D"
        assert diagnostics["identity"]["serial_number"] == "**REDACTED**"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_norwegian_list_offers_the_hourly_totals_before_they_come(hass: HomeAssistant) -> None:
    # List 2 (no energy: that comes in list 3, on the hour) after list 1, as a Kaifa sends them.
    meter = KaifaMeter()
    async with kaifa_meter(lists=(frames(meter.list_1()), frames(meter.list_2()))) as port:
        result = await _flow_to_objects(hass, port)
    labels = _options(result)
    energies = ["1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.3.8.0.255", "1.0.4.8.0.255"]
    # Offered by name with no value yet; the active ones preselected for the Energy panel.
    assert labels["1.0.1.8.0.255"] == "Energy import (1.0.1.8.0.255)"
    assert labels["1.0.4.8.0.255"] == "Reactive energy export (1.0.4.8.0.255)"
    assert set(energies) <= set(labels)
    assert {"1.0.1.8.0.255", "1.0.2.8.0.255"} <= set(_default(result, "objects"))
    assert labels["1.0.1.7.0.255"].endswith(" W")


async def test_a_meter_that_only_sends_bare_values_is_offered_them_after_a_bounded_wait(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_flow, "PROGRESS_GRACE", 0.1)
    monkeypatch.setattr("custom_components.dlms_cosem.probe.CODED_TELEGRAM_WAIT", 0.8)
    async with kaifa_meter(list_2_after=1000) as port:
        result = await _flow_to_objects(hass, port)
    assert result["step_id"] == "objects"
    # The one value, by its position (list 1 says no more; its unit is unknown).
    assert _options(result) == {"0.254.1.1.0.255": "Value 1 of 1 - 1\u202f415"}


def _netz_noe_telegram() -> Telegram:
    vector = PUBLIC[NETZ_NOE]
    decoder = TelegramDecoder(SecurityKeys(encryption_key=parse_key(vector["keys"]["encryption"])))
    events = [*decoder.feed(_frames(vector)), *decoder.flush()]
    telegrams = [event for event in events if isinstance(event, Telegram)]
    assert len(telegrams) == 1
    return telegrams[0]


def test_a_bare_clock_and_meter_number_are_known_by_their_structure() -> None:
    telegram = _netz_noe_telegram()
    keyed = dict(keyed_objects(telegram.content.objects))
    # The first value is a date-time, the last a string of digits: the clock and the meter number.
    assert keyed[METER_CLOCK].obis is None
    assert keyed[METER_NUMBER].value == "181220000009"
    assert not any(key.b == 254 for key in keyed)  # nothing left by position
    readings = {key: MeterReading.from_push_object(obj) for key, obj in keyed.items()}
    identity = identity_from_readings(readings, telegram.system_title)
    assert identity.serial_number == "181220000009"
    assert identity.manufacturer == "Kaifa"  # the system title's FLAG ID, KFM
