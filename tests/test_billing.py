"""Billing values (the previous periods' totals, F = VZ) become energy sensors that keep no statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.billing import describe_billing
from custom_components.dlms_cosem.const import (
    CONF_AUTHENTICATION,
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.model import WH, Register, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport

LAST_MONTH = ObisCode(1, 0, 1, 8, 0, 101)
PERIOD_3 = ObisCode(1, 0, 1, 8, 0, 3)


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The simulator listens on 127.0.0.1."""


@pytest.fixture
async def port() -> AsyncIterator[int]:
    meter = SimulatedMeter(dt_util.utcnow)
    meter.add(Register(LAST_MONTH, lambda _now: Data.double_long_unsigned(1_234_567), WH))
    meter.add(Register(PERIOD_3, lambda _now: Data.double_long_unsigned(1_000_000), WH))
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    yield int(str(address).rsplit(":", 1)[1])
    await server.close()


async def test_billing_values_the_meter_lists_are_energy_sensors_without_statistics(
    hass: HomeAssistant, port: int
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Simulated meter",
        unique_id="12345678",
        data={
            CONF_CONNECTION_TYPE: "network_poll",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_AUTHENTICATION: "none",
        },
        options={CONF_OBJECTS: [str(LAST_MONTH), str(PERIOD_3)]},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    last_month = registry.async_get_entity_id("sensor", DOMAIN, f"12345678_{LAST_MONTH}")
    assert last_month is not None
    state = hass.states.get(last_month)
    assert state is not None
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert "state_class" not in state.attributes  # a snapshot: kept out of statistics and the Energy panel
    assert float(state.state) == pytest.approx(1234.567)
    assert state.attributes["friendly_name"] == "Simulated meter Billing period 101 of 1.0.1.8.0.255"
    period = hass.states.get(registry.async_get_entity_id("sensor", DOMAIN, f"12345678_{PERIOD_3}") or "")
    assert period is not None
    assert float(period.state) == pytest.approx(1000.0)
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_only_billing_values_of_known_totals_are_described_so() -> None:
    assert describe_billing(ObisCode(1, 0, 1, 8, 0, 255), "Wh") is None  # the running value
    assert describe_billing(ObisCode(1, 0, 32, 7, 0, 3), "V") is None  # not a total
    assert describe_billing(ObisCode(1, 0, 99, 99, 0, 3), "Wh") is None  # not a known code
    described = describe_billing(ObisCode(1, 0, 2, 8, 0, 12), "Wh")
    assert described is not None
    assert described.translation_placeholders == {"obis": "1.0.2.8.0.255", "period": "12"}
    assert described.state_class is None
