"""Coordinators: one per meter, polling it or listening to what it pushes.

Both hand the entities a :class:`MeterSnapshot` and keep :class:`LinkStatistics`. Repeated decryption
or authentication failures raise a repair issue that clears itself once telegrams decode again;
invocation counters persist in Home Assistant's storage so replays stay detectable across restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .connection import create_client, load_client, security_keys, stream_opener, sync_invocation_counter
from .const import (
    CONF_OBJECTS,
    CONF_PUSH_TIMEOUT,
    CONF_SCAN_INTERVAL,
    DECRYPTION_FAILURES_FOR_REPAIR,
    DEFAULT_PUSH_TIMEOUT,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .dlms.axdr import Data
from .dlms.cosem_datetime import CosemDateTime
from .dlms.errors import (
    AssociationRejectedError,
    AuthenticationFailedError,
    DecodeError,
    DecryptionError,
    DlmsError,
    SecurityError,
    ServiceError,
)
from .dlms.listener import LinkStatus, ListenerEvent, PushListener
from .dlms.obis import ObisCode
from .dlms.push import plain_value
from .dlms.replay import ReplayedTelegramError, ReplayGuard
from .dlms.security import KeySuiteMismatchError
from .dlms.telegram import Telegram, TelegramFailure
from .dlms.units import ScalerUnit
from .firmware import FirmwareObjects, FirmwareState, read_firmware
from .media import MBUS_DEVICE_TYPE_C, is_channel_reading, mbus_identity_objects
from .meter_state import CLOCK, AttributeKey, WatchedAttribute, limiter_scalers, watched_attributes
from .meter_state import capture_time as captured_data
from .meter_values import clock_drift, is_cumulative, local_instant, meter_time
from .models import LinkStatistics, MeterIdentity, MeterReading, MeterSnapshot
from .positions import keyed_objects
from .pushed_history import profile_history

if TYPE_CHECKING:
    # The client is imported by the polled coordinator when it runs: push-only setups never load it.
    from .dlms.client import DlmsClient
    from .dlms.client.client import ItemError
    from .dlms.client.objects import ObjectListEntry

STORAGE_VERSION = 1
SAVE_DELAY = 10  # seconds: counters change with every request; write them in batches
RAW_FRAMES_KEPT = 8

# Interface classes whose attribute 2 is a value worth a sensor.
VALUE_CLASSES = frozenset({1, 3, 4, 5})
PROFILE_GENERIC_CLASS_ID = 7
LOGICAL_DEVICE_NAME = ObisCode(0, 0, 42, 0, 0, 255)
SERIAL_NUMBER = ObisCode(0, 0, 96, 1, 0, 255)
FIRMWARE = ObisCode(1, 0, 0, 2, 0, 255)  # active firmware identifier


def capture_time(item: Data | DlmsError | None) -> datetime | None:
    """An extended register's capture time as an aware instant (``None`` when unusable)."""
    value = plain_value(item) if isinstance(item, Data) else None
    moment = value.to_datetime() if isinstance(value, CosemDateTime) else None
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt_util.get_default_time_zone())


def repair_issue_id(entry: ConfigEntry[Any]) -> str:
    """The repair issue raised for an entry whose keys stopped working."""
    return f"decryption_failed_{entry.entry_id}"


def reading_from_data(data: Data, unit: str | None = None, value: object = None) -> MeterReading:
    """A reading whose raw value is shown as a person reads it (text, date-time)."""
    raw = plain_value(data)
    if isinstance(raw, CosemDateTime):
        raw = raw.to_datetime()
    return MeterReading(value=raw if value is None else value, unit=unit, raw=raw)


class CounterStore:
    """Invocation counters of one entry in Home Assistant's storage, written with a delay."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}")
        self._data: dict[str, Any] = {}
        self._dirty = False

    async def async_load(self) -> None:
        """Read the stored counters (nothing stored yet is fine)."""
        self._data = await self._store.async_load() or {}

    async def async_flush(self) -> None:
        """Write now what waits for the delayed save (the entry is unloading)."""
        if self._dirty:
            self._dirty = False
            await self._store.async_save(self._data)

    async def async_remove(self) -> None:
        """Delete the stored counters (the entry is being removed)."""
        await self._store.async_remove()

    @property
    def client_counter(self) -> int:
        """The next invocation counter this client uses when ciphering."""
        return int(self._data.get("client", 1))

    @property
    def meter_counters(self) -> dict[bytes, int]:
        """The last accepted counter per pushing system title."""
        return {bytes.fromhex(title): int(counter) for title, counter in self._data.get("meters", {}).items()}

    @callback
    def save_client_counter(self, counter: int) -> None:
        """Remember the client's next counter."""
        self._data["client"] = counter
        self._dirty = True
        self._store.async_delay_save(lambda: self._data, SAVE_DELAY)

    @callback
    def save_meter_counter(self, system_title: bytes, counter: int) -> None:
        """Remember the last counter accepted from a meter."""
        self._data.setdefault("meters", {})[system_title.hex().upper()] = counter
        self._dirty = True
        self._store.async_delay_save(lambda: self._data, SAVE_DELAY)


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
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                repair_issue_id(self.config_entry),
                is_fixable=True,
                severity=ir.IssueSeverity.ERROR,
                translation_key="key_suite_mismatch" if mismatch else "decryption_failed",
                translation_placeholders={"meter": self.config_entry.title},
                data={"entry_id": self.config_entry.entry_id},
            )

    @callback
    def _security_succeeded(self) -> None:
        # The first success after setup clears an issue raised before a reload (new keys) too.
        if (self._security_failures or not self._succeeded_once) and self.config_entry is not None:
            ir.async_delete_issue(self.hass, DOMAIN, repair_issue_id(self.config_entry))
        self._security_failures = 0
        self._succeeded_once = True


class DlmsPollCoordinator(DlmsCoordinator):
    """Polls a meter: the association is kept, values read with GET-with-list, scalers cached."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        interval = entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
        super().__init__(hass, entry, timedelta(seconds=interval))
        self.client: DlmsClient | None = None
        self._classes: dict[ObisCode, int] = {}
        #: Every object the association lists, with its class (the actions and control entities use it).
        self.object_classes: dict[ObisCode, int] = {}
        #: The scaler_unit of the value each limiter monitors (its thresholds' unit), read at setup.
        self.limiter_units: dict[ObisCode, ScalerUnit | None] = {}
        # Objects the meter did not serve at the last poll: their sensors are unavailable, not all.
        self._refused: set[ObisCode] = set()
        self.firmware_objects = FirmwareObjects()
        self.firmware: FirmwareState | None = None
        """Firmware identifiers and image transfer status of the last poll (the update entity's)."""
        self.profiles: list[ObisCode] = []  # Profile Generic objects listed, for the history backfill
        self.mbus_media: dict[int, int] = {}  # M-Bus channel -> EN 13757-3 medium (device type)
        self.mbus_serials: dict[int, str] = {}

    @override
    async def _async_setup(self) -> None:
        """Associate, learn the meter's identity and its objects."""
        assert self.config_entry is not None
        await self.counters.async_load()
        await self.hass.async_add_import_executor_job(load_client)
        self.client = create_client(
            self.hass,
            self.config_entry.data,
            invocation_counter=self.counters.client_counter,
            on_invocation_counter=self.counters.save_client_counter,
        )
        try:
            if security_keys(self.config_entry.data) is not None:
                # The meter's counter outlives our storage (the config flow's probe, other clients).
                await sync_invocation_counter(self.hass, self.config_entry.data, self.client)
            await self.client.connect()
            entries = await self.client.read_object_list()
            listed = {entry.obis for entry in entries}
            wanted = [obis for obis in (LOGICAL_DEVICE_NAME, SERIAL_NUMBER, FIRMWARE) if obis in listed]
            channels = [obis for obis in mbus_identity_objects() if obis in listed]
            identity = await self.client.get_many([(obis, 1, 2) for obis in [*wanted, *channels]])
            self._learn_objects(entries)
            self.limiter_units = await limiter_scalers(self.client, self.object_classes)
        except DlmsError as err:
            raise self._update_failed(err) from err
        self.firmware_objects = FirmwareObjects.from_object_list(entries)
        self._learn_channels(channels, identity[len(wanted) :])
        texts: dict[ObisCode, str] = {}
        for obis, item in zip(wanted, identity[: len(wanted)], strict=True):
            value = plain_value(item) if isinstance(item, Data) else None
            if isinstance(value, str):
                texts[obis] = value
        self.identity = MeterIdentity(
            logical_device_name=texts.get(LOGICAL_DEVICE_NAME),
            serial_number=texts.get(SERIAL_NUMBER),
            firmware=texts.get(FIRMWARE),
        )

    def _learn_channels(self, objects: list[ObisCode], values: Sequence[Data | DlmsError]) -> None:
        """The medium and serial of each M-Bus channel the meter lists."""
        for obis, item in zip(objects, values, strict=True):
            value = plain_value(item) if isinstance(item, Data) else None
            if obis.c == MBUS_DEVICE_TYPE_C and isinstance(value, int) and not isinstance(value, bool):
                self.mbus_media[obis.b] = value
            elif isinstance(value, str):
                self.mbus_serials[obis.b] = value

    def _learn_objects(self, entries: list[ObjectListEntry]) -> None:
        for entry in entries:
            self.object_classes[entry.obis] = entry.class_id
            if entry.class_id == PROFILE_GENERIC_CLASS_ID and entry.obis not in self.profiles:
                self.profiles.append(entry.obis)
            if entry.class_id in VALUE_CLASSES:
                self._classes[entry.obis] = entry.class_id
                self.available_objects.setdefault(entry.obis, None)

    @override
    async def _async_update_data(self) -> MeterSnapshot:
        assert self.client is not None
        from .dlms.client import RegisterReference  # noqa: PLC0415 - loaded on first use (import time)

        wanted = [obis for obis in self.selected_objects if obis in self._classes]
        refs = [RegisterReference(obis, self._classes[obis]) for obis in wanted]
        # The clock, disconnectors and capture times go in the same request as the values.
        watched = watched_attributes(self.object_classes, wanted)
        before = dt_util.utcnow()
        try:
            results, extras = (
                await self.client.read_registers_and(refs, watched) if refs or watched else ([], [])
            )
        except DlmsError as err:
            raise self._update_failed(err) from err
        middle = before + (dt_util.utcnow() - before) / 2
        attributes, drift = self._watched(watched, extras, middle)
        # An M-Bus channel's value is as old as its capture time (read with the value, in the clock's watch).
        captured = {
            obis: moment
            for obis in wanted
            if is_channel_reading(obis)
            and (moment := capture_time(captured_data(attributes, self.object_classes, obis))) is not None
        }
        self._security_succeeded()
        readings: dict[ObisCode, MeterReading] = {}
        for obis, result in zip(wanted, results, strict=True):
            if isinstance(result, DlmsError):
                self._object_refused(obis, result)
                continue
            self._object_served(obis)
            # Numbers come scaled (a power factor of 1000 with scaler -3 and no unit is 1.0); other
            # values are shown as a person reads them (text, date-times).
            numeric = isinstance(result.value, int | float) and not isinstance(result.value, bool)
            reading = reading_from_data(result.raw, result.unit, result.value if numeric else None)
            if obis in captured:
                reading = replace(reading, captured=captured[obis])
            readings[obis] = reading
            self.available_objects[obis] = reading
        # Identifiers change only through an image transfer: without one they are read once.
        if self.firmware_objects.image_transfer is not None or (
            self.firmware_objects and self.firmware is None
        ):
            await self._read_firmware()
        self.link_statistics.last_update = dt_util.utcnow()
        self.link_statistics.frames += 1
        self.link_statistics.invocation_counter = self.counters.client_counter
        return MeterSnapshot(
            readings, timestamp=self.link_statistics.last_update, attributes=attributes, clock_drift=drift
        )

    def _watched(
        self, watched: list[WatchedAttribute], results: list[Data | ItemError], middle: datetime
    ) -> tuple[dict[AttributeKey, Data], float | None]:
        """The watched attributes the meter gave, and the clock's drift.

        The drift compares the meter's time with the middle of the exchange, so the round trip
        does not count as drift.
        """
        attributes = {
            (obis, attribute): result
            for (obis, _, attribute), result in zip(watched, results, strict=True)
            if isinstance(result, Data)
        }
        drift: float | None = None
        clock = attributes.get((CLOCK, 2))
        if clock is not None:
            try:
                drift = clock_drift(meter_time(clock, dt_util.get_default_time_zone()), middle)
            except DlmsError as err:
                LOGGER.debug("The clock of %s shows no usable time: %s", self._entry_title, err)
        return attributes, drift

    async def _read_firmware(self) -> None:
        """Firmware identifiers and image transfer status; a refusal keeps the last ones."""
        assert self.client is not None
        try:
            self.firmware = await read_firmware(self.client, self.firmware_objects)
        except (ServiceError, DecodeError) as err:
            LOGGER.debug("Firmware status of %s not read: %s", self._entry_title, err)
        except DlmsError as err:
            raise self._update_failed(err) from err

    def _object_refused(self, obis: ObisCode, error: DlmsError) -> None:
        # Logged once when the meter stops serving an object, not at every poll.
        if obis not in self._refused:
            self._refused.add(obis)
            LOGGER.info("%s of %s is unavailable: %s", obis, self._entry_title, error)
        else:
            LOGGER.debug("Reading %s failed again: %s", obis, error)

    def _object_served(self, obis: ObisCode) -> None:
        if obis in self._refused:
            self._refused.discard(obis)
            LOGGER.info("%s of %s is back", obis, self._entry_title)

    def _update_failed(self, err: DlmsError) -> Exception:
        """The error Home Assistant should see: reauth for rejected credentials, else a retry."""
        if isinstance(err, AuthenticationFailedError | AssociationRejectedError):
            return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="association_rejected")
        if isinstance(err, DecryptionError | SecurityError):
            self._security_failed(err)
            return UpdateFailed(translation_domain=DOMAIN, translation_key="decryption_failed")
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders={"error": str(err)},
        )

    @override
    async def async_shutdown(self) -> None:
        await super().async_shutdown()
        if self.client is not None:
            await self.client.close()


class DlmsPushCoordinator(DlmsCoordinator):
    """Listens to a meter's push port; values persist across telegrams until they go stale."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        super().__init__(hass, entry, None)
        self._push_timeout = float(entry.options.get(CONF_PUSH_TIMEOUT, DEFAULT_PUSH_TIMEOUT))
        self._readings: dict[ObisCode, MeterReading] = {}
        self._stale_timer: CALLBACK_TYPE | None = None
        self._connected: bool | None = None
        self.listener: PushListener | None = None
        self.data = MeterSnapshot({})

    @override
    async def _async_setup(self) -> None:
        assert self.config_entry is not None
        await self.counters.async_load()
        guard = ReplayGuard(self.counters.meter_counters, on_accept=self.counters.save_meter_counter)
        self.listener = PushListener(
            stream_opener(self.config_entry.data),
            security_keys(self.config_entry.data),
            replay_guard=guard,
            on_data=self._keep_raw,
        )

    @override
    async def _async_update_data(self) -> MeterSnapshot:
        """Nothing to fetch: telegrams arrive by themselves."""
        return self.data

    async def async_listen(self) -> None:
        """Run the listener until the entry unloads."""
        assert self.listener is not None
        self._arm_stale_timer()
        try:
            async for event in self.listener.events():
                self._handle(event)
        finally:
            self._cancel_stale_timer()

    @callback
    def _handle(self, event: ListenerEvent) -> None:
        match event:
            case LinkStatus(connected=connected, reason=reason):
                self._link_changed(connected, reason)
            case Telegram():
                self._telegram(event)
            case TelegramFailure(error=error):
                self._failure(error)
        assert self.listener is not None
        statistics = self.listener.decoder.statistics
        self.link_statistics.frames = statistics.frames
        self.link_statistics.frame_errors = statistics.frame_errors

    @callback
    def _link_changed(self, connected: bool, reason: str | None) -> None:
        # Logged once per change, not once per retry.
        if connected and self._connected is False:
            LOGGER.info("The push port of %s is back", self._entry_title)
        elif not connected and self._connected is not False:
            LOGGER.warning("The push port of %s is unavailable: %s", self._entry_title, reason)
        self._connected = connected
        self.async_update_listeners()

    @callback
    def _telegram(self, telegram: Telegram) -> None:
        self._security_succeeded()
        timestamp: datetime | None = telegram.timestamp.to_datetime() if telegram.timestamp else None
        zone = dt_util.get_default_time_zone()
        captured = local_instant(telegram.timestamp, zone) if telegram.timestamp else None
        for key, obj in keyed_objects(telegram.content.objects):
            reading = reading_from_data(obj.data, obj.unit, obj.value)
            if obj.captured is not None and (own := local_instant(obj.captured, zone)) is not None:
                # An M-Bus channel's reading sent with its capture time: that is the reading's hour.
                reading = replace(reading, captured=own)
            elif captured is not None and is_cumulative(key):
                # A register pushed with the meter's clock (the hourly list of Norwegian meters) was
                # captured then: its statistic goes to that hour, not to the hour it arrived in.
                reading = replace(reading, captured=captured)
            self._readings[key] = reading
            self.available_objects[key] = reading
        self.link_statistics.last_update = dt_util.utcnow()
        self.link_statistics.invocation_counter = telegram.invocation_counter
        if telegram.system_title is not None and self.identity.system_title is None:
            self.identity = MeterIdentity(system_title=telegram.system_title)
        self._arm_stale_timer()
        history = profile_history(telegram.content, zone)
        self.async_set_updated_data(MeterSnapshot(dict(self._readings), timestamp, history=history))

    @callback
    def _failure(self, error: DlmsError) -> None:
        if isinstance(error, SecurityError) and not isinstance(error, ReplayedTelegramError):
            self._security_failed(error)
        LOGGER.debug("Telegram not decoded: %s", error)
        self.async_update_listeners()

    @callback
    def _arm_stale_timer(self) -> None:
        self._cancel_stale_timer()
        self._stale_timer = async_call_later(self.hass, self._push_timeout, self._went_stale)

    @callback
    def _cancel_stale_timer(self) -> None:
        if self._stale_timer is not None:
            self._stale_timer()
            self._stale_timer = None

    @callback
    def _went_stale(self, _now: datetime) -> None:
        self._stale_timer = None
        self.async_set_update_error(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_telegram",
                translation_placeholders={"seconds": str(int(self._push_timeout))},
            )
        )
