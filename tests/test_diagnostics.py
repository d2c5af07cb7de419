"""Diagnostics download in every entry state, the failing ones first: that is when a user needs them."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem.const import CONF_PASSWORD
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.hdlc import HdlcParameters
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport

from .test_coordinator import PASSWORD, clock, polled_entry

pytestmark = pytest.mark.usefixtures("socket_enabled")


def closed_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def meter_with_another_password() -> AsyncIterator[int]:
    meter = SimulatedMeter(
        clock,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"0therPw1"),
    )
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    yield int(str(address).rsplit(":", 1)[1])
    await server.close()


async def test_entry_retrying_setup(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    entry = polled_entry(closed_tcp_port())
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["state"] == "setup_retry"
    assert "127.0.0.1" in diagnostics["setup_error"]  # the port it could not open
    assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert "identity" not in diagnostics  # nothing learnt from the meter yet
    assert PASSWORD not in json.dumps(diagnostics)
    assert "12345678" not in json.dumps(diagnostics)  # the serial number (unique ID)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_entry_waiting_for_new_credentials(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, meter_with_another_password: int
) -> None:
    entry = polled_entry(meter_with_another_password)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = entry.async_get_active_flows(hass, {"reauth"})
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["state"] == "setup_error"
    assert diagnostics["setup_error"]
    assert PASSWORD not in json.dumps(diagnostics)


async def test_entry_unloaded_after_running(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, meter_with_another_password: int
) -> None:
    entry = polled_entry(meter_with_another_password, password="0therPw1")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    loaded = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert loaded["state"] == "loaded"
    assert loaded["last_update_success"] is True
    assert loaded["last_error"] is None
    assert await hass.config_entries.async_unload(entry.entry_id)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["state"] == "not_loaded"
    assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert "0therPw1" not in json.dumps(diagnostics)


async def test_polled_hdlc_entry_shows_the_negotiated_link(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    meter = SimulatedMeter(
        clock,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD.encode()),
    )
    settings = RunnerSettings(transport=Transport.HDLC_TCP, hdlc_parameters=HdlcParameters(256, 256, 7, 7))
    server = SimulatorServer(meter, settings)
    address = await server.start()
    try:
        wrapper = polled_entry(int(str(address).rsplit(":", 1)[1]))
        entry = MockConfigEntry(
            domain=wrapper.domain,
            title=wrapper.title,
            unique_id=wrapper.unique_id,
            data={**wrapper.data, "hdlc": True, "server_physical_address": 17},
            options=wrapper.options,
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        hdlc = diagnostics["hdlc"]
        assert hdlc["negotiated"] == {
            "max_info_transmit": 256,
            "max_info_receive": 256,
            "window_transmit": 7,
            "window_receive": 7,
        }
        assert hdlc["proposal_refused"] is False
        assert hdlc["frames_sent"] > 0
        assert hdlc["frames_accepted"] > 0
        assert hdlc["frames_resent"] == 0
        assert PASSWORD not in json.dumps(diagnostics)
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()
