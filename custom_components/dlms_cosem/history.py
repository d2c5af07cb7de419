"""The meter's own history in long-term statistics: a load profile backfilled hour by hour.

While Home Assistant is off or the meter unreachable, the meter keeps capturing its load profile. After
each poll this reads the profile from the last hour imported (the first time from ``history_days``
ago) in blocks of :data:`BLOCK` hours, each block one request on the polling association (the client
serialises requests, so a poll waits at most one block), and imports one hourly row per cumulative
column into the statistics of that column's sensor, with Home Assistant's statistics import API.

The row starting at ``h`` holds the value captured at ``h + 1 h`` (the end of the hour), like the
rows the recorder compiles from the sensor's states. Sums continue the sensor's own statistics: the
offset ``sum - state`` of the sensor's latest statistic (short-term first, the one the recorder's
next compile continues from) is added to each value, so the imported hours and the recorder's join
without a jump, and importing a period twice writes the same rows again. A sensor without statistics
yet is left for a later poll. Rows the meter's status flags as untrusted are not imported; the next
trusted hour carries their energy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.recorder.models import StatisticData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.components.sensor.const import SensorDeviceClass
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    CONF_HISTORY_DAYS,
    CONF_HISTORY_PROFILE,
    DEFAULT_HISTORY_DAYS,
    DOMAIN,
    LOGGER,
    history_storage_key,
)
from .dlms.errors import DlmsError
from .dlms.obis import ObisCode
from .entity import DlmsCosemEntity, entry_identifier
from .models import MeterReading
from .obis_catalog import ha_unit
from .statistics_import import (
    HOUR,
    TOTALS,
    converted,
    device_class_of,
    hourly_row,
    statistic_metadata,
    statistic_offset,
)

if TYPE_CHECKING:
    from .dlms.client.profiles import ProfileEntry, ProfileInfo
    from .models import DlmsCosemConfigEntry
    from .poll_coordinator import DlmsPollCoordinator

STORAGE_VERSION: Final = 1
PROGRESS_KEY: Final = "history_progress"  # the progress sensor's key and translation key
#: Hours of profile read per request: the longest a poll waits behind the backfill.
BLOCK: Final = timedelta(hours=6)
#: Profiles tried, in order, when the options name none (Blue Book / IDIS load profiles 1 and 2).
PREFERRED_PROFILES: Final = (ObisCode(1, 0, 99, 1, 0, 255), ObisCode(1, 0, 99, 2, 0, 255))


@dataclass(slots=True)
class BackfillProgress:
    """What the diagnostic sensor shows: the state and how far the current run has come."""

    state: str = "waiting"
    hours_total: int = 0
    hours_done: int = 0
    last_imported: datetime | None = None
    rows_imported: int = 0
    error: str | None = None

    @property
    def percent(self) -> int | None:
        """Share of the current run's hours read (100 when caught up)."""
        if self.hours_total <= 0:
            return 100 if self.state == "done" else None
        return min(100, round(100 * self.hours_done / self.hours_total))


@dataclass(slots=True)
class _Target:
    """A profile column and the sensor whose statistics it fills."""

    index: int
    obis: ObisCode
    statistic_id: str
    unit: str
    from_unit: str | None
    device_class: SensorDeviceClass | None
    offset: float = 0.0
    rows: list[StatisticData] = field(default_factory=list)
    meter_unit: str | None = None  # the column's unit as the meter gives it (the guard's terms)


def hour_floor(moment: datetime) -> datetime:
    """The top of the hour at or before ``moment`` (UTC)."""
    return dt_util.as_utc(moment).replace(minute=0, second=0, microsecond=0)


def choose_profile(listed: list[ObisCode], wanted: str | None) -> ObisCode | None:
    """The profile named in the options when the meter lists it, else the first preferred one listed."""
    if wanted:
        try:
            obis = ObisCode.parse(wanted)
        except DlmsError:
            obis = None
        if obis is not None and obis in listed:
            return obis
    return next((obis for obis in PREFERRED_PROFILES if obis in listed), None)


class ProfileBackfill:
    """Imports a meter's load profile into its energy sensors' long-term statistics."""

    def __init__(
        self, hass: HomeAssistant, entry: DlmsCosemConfigEntry, coordinator: DlmsPollCoordinator
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.progress = BackfillProgress()
        self.profile: ObisCode | None = None
        self._info: ProfileInfo | None = None
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, history_storage_key(entry.entry_id))
        self._imported: dict[str, str] = {}
        self._loaded = False
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []

    # --- running -----------------------------------------------------------------------------------

    @callback
    def async_poll_done(self) -> None:
        """A poll succeeded: look for hours the meter has captured since, unless a pass is running.

        Each pass is a background task of the entry, so unloading the entry cancels it.
        """
        if self._task is not None and not self._task.done():
            return
        last = self._last_imported()
        if self._loaded and last is not None and last >= hour_floor(dt_util.utcnow()):
            return
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_pass(), f"{DOMAIN} history {self.entry.title}"
        )

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> Callable[[], None]:
        """Call ``update`` when the progress changes; the returned callable removes it."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    def _changed(self) -> None:
        for update in list(self._listeners):
            update()

    async def _async_pass(self) -> None:
        if not self._loaded:
            self._imported = dict(await self._store.async_load() or {})
            self._loaded = True
        try:
            await self.async_catch_up(dt_util.utcnow())
        except DlmsError as err:
            LOGGER.debug("Reading the profile of %s failed: %s", self.entry.title, err)
            self.progress.state = "failed"
            self.progress.error = str(err)
            self._changed()

    def _last_imported(self) -> datetime | None:
        text = self._imported.get(str(self.profile)) if self.profile is not None else None
        return dt_util.parse_datetime(text) if text else None

    async def async_catch_up(self, now: datetime) -> int:
        """Read and import every complete hour up to ``now``; the number of rows imported."""
        from .dlms.client.profiles import read_profile_info  # noqa: PLC0415 - with the client, on first use

        client = self.coordinator.client
        if client is None:
            return 0
        if self._info is None:
            self.profile = choose_profile(
                self.coordinator.profiles, self.entry.options.get(CONF_HISTORY_PROFILE)
            )
            if self.profile is None:
                self._set_state("unsupported")
                return 0
            info = await read_profile_info(client, self.profile)
            if not 0 < info.capture_period <= 3600 or 3600 % info.capture_period or info.clock_column is None:
                self._set_state("unsupported")  # daily or billing profiles have no hourly values
                return 0
            self._info = info
        info = self._info
        targets = await self._targets(info)
        if not targets:
            self._set_state("waiting")
            return 0
        end = hour_floor(now)
        days = int(self.entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        start = self._last_imported() or end - timedelta(days=days)
        start = max(start, end - timedelta(days=days))
        self.progress = BackfillProgress(
            "reading", hours_total=max(0, int((end - start) / HOUR)), last_imported=self._last_imported()
        )
        self._changed()
        imported = 0
        block_start = start
        while block_start < end:
            block_end = min(block_start + BLOCK, end)
            rows = await self._import_block(
                info, targets, block_start, block_end, now, first=block_start == start
            )
            imported += rows
            self.progress.rows_imported += rows
            self.progress.hours_done = int((block_end - start) / HOUR)
            self.progress.last_imported = block_end
            self._imported[str(self.profile)] = block_end.isoformat()
            self._store.async_delay_save(lambda: self._imported, 1)
            self._changed()
            block_start = block_end
        self._set_state("done")
        return imported

    def _set_state(self, state: str) -> None:
        self.progress.state = state
        self.progress.error = None
        self._changed()

    async def async_flush(self) -> None:
        """Write the last imported hour now (the entry unloads)."""
        await self._store.async_save(self._imported)

    # --- import ------------------------------------------------------------------------------------

    async def _import_block(
        self,
        info: ProfileInfo,
        targets: list[_Target],
        start: datetime,
        end: datetime,
        now: datetime,
        *,
        first: bool,
    ) -> int:
        """Import one block; its first hour is the previous block's last unless ``first``."""
        from .dlms.client.profiles import read_profile_range  # noqa: PLC0415 - with the client

        client = self.coordinator.client
        if client is None:
            return 0
        entries, _ = await read_profile_range(
            client, info, start, end, now=now, zone=dt_util.get_default_time_zone()
        )
        if not first:
            entries = [entry for entry in entries if entry.timestamp > start]
        count = 0
        for target in targets:
            target.rows = self._rows(entries, target)
            if target.rows:
                async_import_statistics(
                    self.hass,
                    statistic_metadata(target.statistic_id, target.unit, target.device_class),
                    target.rows,
                )
                count += len(target.rows)
        return count

    def _rows(self, entries: list[ProfileEntry], target: _Target) -> list[StatisticData]:
        """The hourly rows of a column: trusted, and plausible (the guard holds back the others)."""
        readings = [
            MeterReading(value, target.meter_unit, value, captured=entry.timestamp)
            for entry in entries
            if entry.trusted
            and not isinstance(value := entry.values[target.index], bool)
            and isinstance(value, int | float)
        ]
        rows: list[StatisticData] = []
        for reading in self.coordinator.guard.plausible_rows(target.obis, readings):
            assert isinstance(reading.value, int | float)
            assert reading.captured is not None
            state = converted(float(reading.value), target.from_unit, target.unit, target.device_class)
            row = hourly_row(reading.captured, state, target.offset)
            if row is not None:
                rows.append(row)
        return rows

    async def _targets(self, info: ProfileInfo) -> list[_Target]:
        """The profile's columns that have a sensor with statistics to continue."""
        registry = er.async_get(self.hass)
        prefix = entry_identifier(self.entry)
        targets: list[_Target] = []
        for index in info.value_columns:
            obis = info.columns[index].logical_name
            entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{prefix}_{obis}")
            state = self.hass.states.get(entity_id) if entity_id else None
            if entity_id is None or state is None:
                continue
            if state.attributes.get("state_class") not in TOTALS:
                continue
            unit = state.attributes.get("unit_of_measurement")
            if not isinstance(unit, str):
                continue
            offset = await statistic_offset(self.hass, entity_id)
            if offset is None:
                continue
            scaler = info.scaler_units[index]
            targets.append(
                _Target(
                    index,
                    obis,
                    entity_id,
                    unit,
                    ha_unit(scaler.symbol) if scaler is not None else None,
                    device_class_of(state.attributes.get("device_class")),
                    offset,
                    meter_unit=scaler.symbol if scaler is not None else None,
                )
            )
        return targets


class HistoryProgressSensor(DlmsCosemEntity, SensorEntity):
    """How far the profile backfill has come (percent of the hours of the current run)."""

    _attr_translation_key = PROGRESS_KEY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, entry: DlmsCosemConfigEntry, backfill: ProfileBackfill) -> None:
        super().__init__(entry, "history_progress")
        self._backfill = backfill

    @property
    def available(self) -> bool:
        """Shown while the meter is unreachable too: that is when the backfill waits."""
        return True

    @property
    def native_value(self) -> int | None:
        """Percent of the current run's hours read."""
        return self._backfill.progress.percent

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The state of the backfill and the last hour imported."""
        progress = self._backfill.progress
        last = progress.last_imported
        return {
            "state": progress.state,
            "profile": str(self._backfill.profile) if self._backfill.profile else None,
            "last_imported": last.isoformat() if last else None,
            "rows_imported": progress.rows_imported,
        }

    async def async_added_to_hass(self) -> None:
        """Follow the backfill's progress."""
        await super().async_added_to_hass()
        self.async_on_remove(self._backfill.async_add_listener(self.async_write_ha_state))


def async_start_history(
    hass: HomeAssistant, entry: DlmsCosemConfigEntry, coordinator: DlmsPollCoordinator
) -> ProfileBackfill:
    """Run the backfill in the background for as long as the entry is loaded."""
    backfill = ProfileBackfill(hass, entry, coordinator)
    entry.async_on_unload(coordinator.async_add_listener(_on_poll(coordinator, backfill)))
    entry.async_on_unload(backfill.async_flush)
    backfill.async_poll_done()  # the first refresh is done: start at once
    return backfill


def _on_poll(coordinator: DlmsPollCoordinator, backfill: ProfileBackfill) -> Callable[[], None]:
    @callback
    def _polled() -> None:
        if coordinator.last_update_success:
            backfill.async_poll_done()

    return _polled
