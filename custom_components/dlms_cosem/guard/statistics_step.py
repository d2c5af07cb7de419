"""Taking an accepted jump out of a total's long-term statistics, so the Energy panel shows no spike.

When the user accepts a total that jumped up (a replaced meter that was not new, a register the meter
moved), the sensor shows the meter's new value from then on; the recorder would count the whole step
as consumption in the 5-minute period (and the hour) the new value first appears in. Home Assistant
offers the fix a user would make by hand in Developer tools → Statistics: adjust the sum from a period
on. This does it for them:

1. the new value is published, but not in the last 5 minutes of an hour (the recorder compiles the
   hour together with its last 5-minute period; before that, adjusting the 5-minute rows is enough,
   because the hour is summed from them): in minutes 55-59 it waits for the next hour;
2. after each 5-minute compile, once the period the new value appeared in has its row, the sum from
   that period on is adjusted by minus the step, in the meter's unit (the recorder converts it).

A drop (a restart from a low value) needs none of this: Home Assistant takes a ``total_increasing``
sensor that falls below 90 % of its last value as a new cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from homeassistant.const import EVENT_RECORDER_5MIN_STATISTICS_GENERATED
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback

from ..const import LOGGER
from ..dlms.obis import ObisCode
from ..obis_catalog import ha_unit

#: The minute from which the recorder's next compile also sums up the hour.
HOURLY_COMPILE_MINUTE: Final = 55
PERIOD: Final = timedelta(minutes=5)


@dataclass(slots=True)
class _Step:
    """An accepted jump of one total, until it is taken out of the statistics."""

    entity_id: str
    step: float
    unit: str | None
    published: datetime | None = None


def period_start(moment: datetime) -> datetime:
    """The start of the recorder's 5-minute period holding ``moment``."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


class StatisticsStepRemover:
    """Waits for an accepted jump to reach the statistics, then takes it out of the sum."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._steps: dict[ObisCode, _Step] = {}
        self._unsubscribe: CALLBACK_TYPE | None = None

    @property
    def pending(self) -> dict[ObisCode, float]:
        """The steps waiting to be taken out, by register (for the diagnostics)."""
        return {key: step.step for key, step in self._steps.items()}

    @callback
    def add(self, key: ObisCode, entity_id: str, step: float, unit: str | None) -> None:
        """The user accepted ``key``'s new value, ``step`` above its last one."""
        if "recorder" not in self.hass.config.components:
            return
        self._steps[key] = _Step(entity_id, step, unit)
        if self._unsubscribe is None:
            self._unsubscribe = self.hass.bus.async_listen(
                EVENT_RECORDER_5MIN_STATISTICS_GENERATED, self._compiled
            )

    @callback
    def may_publish(self, key: ObisCode, now: datetime) -> bool:
        """Whether the accepted value of ``key`` may be shown now (not in an hour's last 5 minutes)."""
        step = self._steps.get(key)
        if step is None or step.published is not None:
            return True
        if now.minute >= HOURLY_COMPILE_MINUTE:
            return False
        step.published = now
        return True

    @callback
    def _compiled(self, _event: Event) -> None:
        for key, step in list(self._steps.items()):
            if step.published is not None:
                self.hass.async_create_task(self._async_adjust(key, step), eager_start=True)

    async def _async_adjust(self, key: ObisCode, step: _Step) -> None:
        """Adjust the sum once the period the new value appeared in has its row."""
        from homeassistant.components.recorder.statistics import (  # noqa: PLC0415 - with the recorder
            get_last_short_term_statistics,
        )
        from homeassistant.helpers.recorder import get_instance  # noqa: PLC0415 - with the recorder

        assert step.published is not None
        start = period_start(step.published)
        recorder = get_instance(self.hass)
        found = await recorder.async_add_executor_job(
            get_last_short_term_statistics, self.hass, 1, step.entity_id, True, {"sum"}
        )
        rows = found.get(step.entity_id, [])
        if not rows or rows[0]["start"] < start.timestamp() or self._steps.get(key) is not step:
            return  # not compiled yet (the next compile tries again), or done already
        del self._steps[key]
        unit = ha_unit(step.unit) or step.unit or ""
        LOGGER.info(
            "Taking the accepted step of %s (%s %s) out of its statistics", step.entity_id, step.step, unit
        )
        recorder.async_adjust_statistics(step.entity_id, start, -step.step, unit)
        if not self._steps:
            self.shutdown()

    @callback
    def shutdown(self) -> None:
        """Stop listening (the entry unloads; steps not yet taken out are left as they are)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
