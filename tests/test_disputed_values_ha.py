"""A meter whose energy total restarts: held back, then a repair the user accepts, in Home Assistant.

The simulator's meter pushes plain HDLC telegrams on 127.0.0.1; its energy register restarts from a low
value (a counter reset). The sensor keeps its last value for the first readings, goes unavailable when
the meter confirms the restart (no negative step reaches the Energy panel), a repair issue names the
register, and accepting it shows the new value from the next telegram.
"""

from __future__ import annotations

from datetime import UTC, datetime

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem.const import (
    DOMAIN,
)
from custom_components.dlms_cosem.coordinator import disputed_issue_id
from custom_components.dlms_cosem.diagnostics import async_get_config_entry_diagnostics
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT

from .pushed_meter import SteppedPushMeter, set_up_energy_entry
from .test_security_ha import allow_loopback, line
from .waiting import wait_for

__all__ = ["allow_loopback"]  # the fixture, used by every test here (autouse)

UNIQUE_ID = "5349 reset meter"
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_a_restarted_total_is_disputed_and_shown_once_accepted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    pushing = SteppedPushMeter(START)
    meter, push = pushing.meter, pushing.push

    async with line(pushing.chunks) as port:
        entry, coordinator, entity_id = await set_up_energy_entry(hass, port, "Reset meter", UNIQUE_ID)

        def shown() -> str | None:
            state = hass.states.get(entity_id)
            return None if state is None else state.state

        for _ in range(3):
            await push()
        await wait_for(lambda: coordinator.link_statistics.frames >= 3)
        await hass.async_block_till_done()
        before = shown()
        assert before not in (None, STATE_UNAVAILABLE)

        # The register restarts from a few kWh: the first readings are held, the sensor keeps its value.
        meter.electricity.import_energy_at_reference -= 30_000_000.0
        await push()
        await wait_for(lambda: coordinator.link_statistics.frames >= 4)
        await hass.async_block_till_done()
        assert shown() == before
        issues = ir.async_get(hass)
        assert issues.async_get_issue(DOMAIN, disputed_issue_id(entry)) is None
        # Confirmed by the next telegrams: disputed, unavailable, and the repair names the register.
        for _ in range(2):
            latest = await push()
        await wait_for(lambda: issues.async_get_issue(DOMAIN, disputed_issue_id(entry)) is not None)
        await hass.async_block_till_done()
        assert shown() == STATE_UNAVAILABLE
        issue = issues.async_get_issue(DOMAIN, disputed_issue_id(entry))
        assert issue is not None
        assert issue.translation_key == "values_disputed"
        assert issue.translation_placeholders is not None
        registers = issue.translation_placeholders["registers"]
        assert registers.startswith(f"{ACTIVE_ENERGY_IMPORT}: ")
        assert registers.endswith(f" -> {latest} Wh")
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)  # type: ignore[arg-type]
        disputed = diagnostics["plausibility_guard"]["disputed"]
        assert [(item["obis"], item["kind"], item["latest"]) for item in disputed] == [
            (str(ACTIVE_ENERGY_IMPORT), "restarted", latest)
        ]

        # The user accepts: the issue closes and the next telegram's value is shown.
        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": disputed_issue_id(entry)}
        )
        assert response.status == 200
        flow = await response.json()
        assert flow["step_id"] == "confirm"
        assert flow["description_placeholders"]["registers"] == registers
        response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
        assert (await response.json())["type"] == "create_entry"
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, disputed_issue_id(entry)) is None
        assert coordinator.async_accept_disputes() is False, "nothing left to accept: a stale repair aborts"
        after = await push()
        await wait_for(lambda: shown() not in (None, STATE_UNAVAILABLE))
        assert float(shown() or "nan") * 1000 == after  # the sensor shows kWh, the meter counts Wh
        assert await hass.config_entries.async_unload(entry.entry_id)
