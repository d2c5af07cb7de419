"""What the coordinators share: one per meter, polling it or listening to what it pushes.

The two kinds live in :mod:`.poll_coordinator` and :mod:`.push_coordinator`. Both hand the entities
a :class:`MeterSnapshot` and keep :class:`LinkStatistics`. Every reading passes the plausibility guard
(:mod:`.guard`) before an entity or a statistic sees it. Repeated decryption or authentication
failures raise a repair issue that clears itself once telegrams decode again; invocation counters and
the guard's baselines persist in Home Assistant's storage so replays and implausible values stay
detectable across restarts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_OBJECTS,
    CONF_PLAUSIBILITY,
    DECRYPTION_FAILURES_FOR_REPAIR,
    DEFAULT_PLAUSIBILITY,
    DOMAIN,
    LOGGER,
)
from .dlms.axdr import Data
from .dlms.cosem_datetime import CosemDateTime
from .dlms.errors import (
    DlmsError,
)
from .dlms.obis import ObisCode
from .dlms.push import plain_value
from .dlms.security import KeySuiteMismatchError
from .dlms.telegram import Telegram
from .entity import entry_identifier
from .entry_store import CounterStore
from .guard import Dispute, PlausibilityGuard
from .guard.statistics_step import StatisticsStepRemover
from .media import mbus_channel
from .meter_identity import merged
from .meter_values import is_cumulative, local_instant
from .models import LinkStatistics, MeterIdentity, MeterReading, MeterSnapshot
from .positions import keyed_objects

if TYPE_CHECKING:
    # The client is imported by the polled coordinator when it runs: push-only setups never load it.
    pass


RAW_FRAMES_KEPT = 8


def repair_issue_id(entry: ConfigEntry[Any]) -> str:
    """The repair issue raised for an entry whose keys stopped working."""
    return f"decryption_failed_{entry.entry_id}"


def replay_issue_id(entry: ConfigEntry[Any]) -> str:
    """The repair issue raised when every telegram of a meter is rejected as a replay."""
    return f"replayed_telegrams_{entry.entry_id}"


def disputed_issue_id(entry: ConfigEntry[Any]) -> str:
    """The repair issue raised when a total restarted or jumped and the meter confirmed it."""
    return f"values_disputed_{entry.entry_id}"


def _disputed(dispute: Dispute) -> str:
    """A disputed total as the repair names it: ``1.0.1.8.0.255: 38027045 -> 8027046 Wh``."""
    unit = f" {dispute.unit}" if dispute.unit else ""
    return f"{dispute.key}: {_plain(dispute.last_accepted)} -> {_plain(dispute.latest)}{unit}"


def _plain(value: float) -> str:
    """A number as a person reads it: no exponent, no trailing zeros (33748800, 1234.567)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def reading_from_data(data: Data, unit: str | None = None, value: object = None) -> MeterReading:
    """A reading whose raw value is shown as a person reads it (text, date-time)."""
    raw = plain_value(data)
    if isinstance(raw, CosemDateTime):
        raw = raw.to_datetime()
    return MeterReading(value=raw if value is None else value, unit=unit, raw=raw)


def telegram_readings(telegram: Telegram, zone: tzinfo) -> dict[ObisCode, MeterReading]:
    """A telegram's values as readings, each with the time the meter measured it where it says so.

    The pushing meter's telegrams and the optical readouts give their values this way; the trust
    campaign (``fuzz.trust``) screens corrupted telegrams with it as the coordinators do.
    """
    captured = local_instant(telegram.timestamp, zone) if telegram.timestamp else None
    arrived: dict[ObisCode, MeterReading] = {}
    for key, obj in keyed_objects(telegram.content.objects):
        reading = reading_from_data(obj.data, obj.unit, obj.value)
        if obj.captured is not None and (own := local_instant(obj.captured, zone)) is not None:
            # An M-Bus channel's reading sent with its capture time: that is the reading's hour.
            reading = replace(reading, captured=own)
        elif captured is not None and is_cumulative(key):
            # A register pushed with the meter's clock (the hourly list of Norwegian meters) was
            # captured then: its statistic goes to that hour, not to the hour it arrived in.
            reading = replace(reading, captured=captured)
        arrived[key] = reading
    return arrived


class DlmsCoordinator(DataUpdateCoordinator[MeterSnapshot]):
    """What both kinds of coordinator give the entities, the diagnostics and the repairs."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        update_interval: timedelta | None,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=update_interval,
        )
        self.counters = CounterStore(hass, entry)
        self.link_statistics = LinkStatistics()
        self.available_objects: dict[ObisCode, MeterReading | None] = {}
        self.identity = MeterIdentity()
        self.raw_frames: list[bytes] = []
        self._security_failures = 0
        self._succeeded_once = False
        self.guard = PlausibilityGuard(enabled=False)
        """Holds back values that cannot be true; made with the stored baselines at setup."""
        self.statistics_steps = StatisticsStepRemover(hass)
        """Takes accepted jumps of totals out of the long-term statistics."""

    @callback
    def _learned_identity(self, seen: MeterIdentity) -> None:
        """Complete the meter's identity with what a telegram or poll showed, and its device with it.

        A pushing meter names itself only in its telegrams (and Norwegian meters only in some of
        them), so the device gets its maker, model, serial number and firmware when they arrive.
        Nothing known is blanked: a telegram that does not carry the meter number keeps it.
        """
        identity = merged(self.identity, seen)
        if identity == self.identity or self.config_entry is None:
            return
        self.identity = identity
        entry = self.config_entry
        runtime = getattr(entry, "runtime_data", None)
        if runtime is not None:
            runtime.identity = identity
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier((DOMAIN, entry_identifier(entry)), entry.entry_id)
        if device is None:
            return  # the entities make it with this identity
        if (
            (identity.manufacturer or device.manufacturer) != device.manufacturer
            or (identity.model or device.model) != device.model
            or (identity.serial_number or device.serial_number) != device.serial_number
            or (identity.firmware or device.sw_version) != device.sw_version
        ):
            registry.async_update_device(
                device.id,
                manufacturer=identity.manufacturer or device.manufacturer,
                model=identity.model or device.model,
                serial_number=identity.serial_number or device.serial_number,
                sw_version=identity.firmware or device.sw_version,
            )

    @callback
    def _load_guard(self) -> None:
        """The plausibility guard, with the baselines stored (call after the counters are loaded).

        A repair issue about disputed totals is raised again for the disputes stored, and deleted when
        there are none (they were settled, or the guard was switched off).
        """
        assert self.config_entry is not None
        self.guard = PlausibilityGuard(
            self.counters.guard_baselines,
            enabled=bool(self.config_entry.options.get(CONF_PLAUSIBILITY, DEFAULT_PLAUSIBILITY)),
            meter=self._entry_title,
        )
        self._disputes_changed()

    @callback
    def _screen(
        self, readings: dict[ObisCode, MeterReading], now: datetime, measured: datetime | None = None
    ) -> dict[ObisCode, MeterReading]:
        """The readings that may be shown; a confirmed restart or jump raises the repair issue.

        ``measured`` is the meter's time for the readings, when it gave one (a poll's clock).
        """
        disputed = set(self.guard.disputes)
        passed = self.guard.screen(readings, now, measured)
        for key in [key for key in passed if not self.statistics_steps.may_publish(key, now)]:
            del passed[key]  # an accepted jump waits for the next hour (see guard.statistics_step)
        self.link_statistics.held_readings = self.guard.held_total
        if self.guard.enabled:
            self.counters.save_guard_baselines(self.guard.baselines)
        if set(self.guard.disputes) != disputed:
            self._disputes_changed()
        return passed

    @callback
    def _disputes_changed(self) -> None:
        assert self.config_entry is not None
        issue_id = disputed_issue_id(self.config_entry)
        if not self.guard.disputes:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        registers = ", ".join(_disputed(dispute) for dispute in self.guard.disputes.values())
        self._raise_repair(issue_id, "values_disputed", ir.IssueSeverity.WARNING, registers=registers)

    @callback
    def _raise_repair(
        self,
        issue_id: str,
        translation_key: str,
        severity: ir.IssueSeverity = ir.IssueSeverity.ERROR,
        **placeholders: str,
    ) -> None:
        """Raise (or update) a fixable repair issue of this entry.

        The placeholders go into the issue's data too: its fix flow shows them in its own step.
        """
        assert self.config_entry is not None
        placeholders = {"meter": self.config_entry.title, **placeholders}
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            severity=severity,
            translation_key=translation_key,
            translation_placeholders=placeholders,
            data={"entry_id": self.config_entry.entry_id, **placeholders},
        )

    @callback
    def async_accept_disputes(self) -> bool:
        """The user accepted the meter's new totals (the repair): they are shown from the next reading.

        A total that jumped up is taken out of the statistics once it reaches them: the user accepted
        the meter's value, not a month's consumption in five minutes.
        """
        assert self.config_entry is not None
        if not self.guard.disputes:
            self._disputes_changed()
            return False  # settled already (the meter came back in line, or a second click)
        registry = er.async_get(self.hass)
        for key, dispute in self.guard.disputes.items():
            entity_id = registry.async_get_entity_id(
                "sensor", DOMAIN, f"{entry_identifier(self.config_entry)}_{key}"
            )
            if entity_id is not None and dispute.latest > dispute.last_accepted:
                self.statistics_steps.add(
                    key, entity_id, dispute.latest - dispute.last_accepted, dispute.unit
                )
        accepted = self.guard.accept_disputes(dt_util.utcnow())
        LOGGER.info("New values of %s accepted for %s", ", ".join(map(str, accepted)), self._entry_title)
        self.counters.save_guard_baselines(self.guard.baselines)
        self._disputes_changed()
        return True

    @property
    def present_channels(self) -> frozenset[int]:
        """M-Bus channels with a device now: those with an object among the latest readings."""
        snapshot: MeterSnapshot | None = self.data
        if snapshot is None:
            return frozenset()
        return frozenset(channel for obis in snapshot.readings if (channel := mbus_channel(obis)) is not None)

    @property
    def absent_channels(self) -> frozenset[int]:
        """M-Bus channels known to have no device (their devices are stale).

        None here: a telegram without a channel proves nothing, since meters push their M-Bus values
        in another list than the power values, some only once an hour. The polled meter says it.
        """
        return frozenset()

    @property
    def selected_objects(self) -> list[ObisCode]:
        """The OBIS codes the user chose to see."""
        codes = []
        for text in self.config_entry.options.get(CONF_OBJECTS, []) if self.config_entry else []:
            try:
                codes.append(ObisCode.parse(text))
            except DlmsError:
                LOGGER.warning("Ignoring an invalid OBIS code in the options: %s", text)
        return codes

    @override
    async def async_shutdown(self) -> None:
        await super().async_shutdown()
        self.statistics_steps.shutdown()
        await self.counters.async_flush()

    @property
    def _entry_title(self) -> str:
        return self.config_entry.title if self.config_entry else DOMAIN

    def _keep_raw(self, data: bytes) -> None:
        self.raw_frames.append(data)
        del self.raw_frames[:-RAW_FRAMES_KEPT]

    @callback
    def _security_failed(self, error: DlmsError) -> None:
        """Count a failure to decrypt or authenticate; raise the repair issue when they repeat."""
        self.link_statistics.decryption_failures += 1
        self._security_failures += 1
        if self._security_failures >= DECRYPTION_FAILURES_FOR_REPAIR and self.config_entry is not None:
            LOGGER.debug("Repeated security failures: %s", error)
            # A key of the wrong length for the telegrams' suite is no changed key: say which it is.
            mismatch = isinstance(error, KeySuiteMismatchError)
            self._raise_repair(
                repair_issue_id(self.config_entry), "key_suite_mismatch" if mismatch else "decryption_failed"
            )

    @callback
    def _security_succeeded(self) -> None:
        # The first success after setup clears an issue raised before a reload (new keys) too.
        if (self._security_failures or not self._succeeded_once) and self.config_entry is not None:
            ir.async_delete_issue(self.hass, DOMAIN, repair_issue_id(self.config_entry))
        self._security_failures = 0
        self._succeeded_once = True
