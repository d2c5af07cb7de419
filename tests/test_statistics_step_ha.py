"""A total that jumped, accepted by the user: the Energy panel's statistics get no spike.

The simulator's meter pushes plain HDLC telegrams on 127.0.0.1 to a Home Assistant with a real recorder.
Its energy register jumps by 50 MWh (a replaced meter that was not new); the guard disputes it, the user
accepts it, the sensor shows the new value, and once the recorder compiled the 5-minute period the new
value appeared in, the step is taken out of the sum: the period's sum grows by what the house drew.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.components.recorder.tasks import StatisticsTask
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.dlms_cosem.coordinator import disputed_issue_id
from custom_components.dlms_cosem.guard import statistics_step

from .pushed_meter import SteppedPushMeter, set_up_energy_entry
from .test_security_ha import line
from .waiting import wait_for

UNIQUE_ID = "5349 jumping meter"
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The telegrams are served on 127.0.0.1."""


@pytest.fixture(autouse=True)
def any_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test runs at whatever minute the clock shows: the last five minutes of an hour too."""
    monkeypatch.setattr(statistics_step, "HOURLY_COMPILE_MINUTE", 60)


async def test_an_accepted_jump_leaves_no_spike(hass: HomeAssistant) -> None:
    pushing = SteppedPushMeter(START)
    meter, push = pushing.meter, pushing.push

    async with line(pushing.chunks) as port:
        entry, coordinator, entity_id = await set_up_energy_entry(hass, port, "Jumping meter", UNIQUE_ID)

        def shows(value: int) -> Callable[[], bool]:
            def check() -> bool:
                state = hass.states.get(entity_id)
                return (
                    state is not None
                    and state.state not in ("unknown", "unavailable")
                    and (round(float(state.state) * 1000) == value)
                )

            return check

        first = await push()
        await wait_for(shows(first))
        last_genuine = first
        for _ in range(2):
            last_genuine = await push()
        await wait_for(shows(last_genuine))

        # 50 MWh in ten seconds: held, confirmed by the meter, disputed; the user accepts it.
        meter.electricity.import_energy_at_reference += 50_000_000
        latest = 0
        for _ in range(3):
            latest = await push()
        await wait_for(lambda: disputed_issue_id(entry) in {issue[1] for issue in _issues(hass)})
        coordinator.async_accept_disputes()
        after = await push()
        await wait_for(shows(after))
        step = latest - last_genuine
        assert step > 49_000_000

        # The recorder compiles the period the new value appeared in; the step comes out of the sum.
        now = dt_util.utcnow()
        start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        await async_wait_recording_done(hass)
        get_instance(hass).queue_task(StatisticsTask(start, True))
        await async_wait_recording_done(hass)
        await wait_for(lambda: not coordinator.statistics_steps.pending)
        await async_wait_recording_done(hass)
        rows = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, start, None, {entity_id}, "5minute", None, {"state", "sum"}
        )
        row = rows[entity_id][0]
        drawn = (after - latest) + (last_genuine - first)  # what the house used, in Wh
        assert row["sum"] == pytest.approx(drawn / 1000, abs=1e-6)  # kWh, the sensor's unit
        assert row["state"] == pytest.approx(after / 1000, abs=1e-6)
        assert await hass.config_entries.async_unload(entry.entry_id)


def _issues(hass: HomeAssistant) -> set[tuple[str, str]]:
    from homeassistant.helpers import issue_registry as ir

    return set(ir.async_get(hass).issues)
