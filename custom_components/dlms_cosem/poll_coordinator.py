"""The polled meter's coordinator: the association is kept, values read with GET-with-list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .connection import create_client, load_client, security_keys, sync_invocation_counter
from .const import (
    CONF_SCAN_INTERVAL,
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
from .dlms.obis import ObisCode
from .dlms.push import plain_value
from .dlms.units import ScalerUnit
from .firmware import FirmwareObjects, FirmwareState, read_firmware
from .media import MBUS_CHANNELS, MBUS_DEVICE_TYPE_C, is_channel_reading, mbus_channel, mbus_identity_objects
from .meter_identity import FIRMWARE, LOGICAL_DEVICE_NAME, METER_TYPE_CODES
from .meter_state import CLOCK, AttributeKey, WatchedAttribute, limiter_scalers, watched_attributes
from .meter_state import capture_time as captured_data
from .meter_values import clock_drift, meter_time
from .models import MeterIdentity, MeterReading, MeterSnapshot
from .positions import METER_NUMBER

if TYPE_CHECKING:
    # The client is imported by the polled coordinator when it runs: push-only setups never load it.
    from .dlms.client import DlmsClient
    from .dlms.client.client import ItemError
    from .dlms.client.objects import ObjectListEntry

from .coordinator import DlmsCoordinator, reading_from_data

# Interface classes whose attribute 2 is a value worth a sensor.
VALUE_CLASSES = frozenset({1, 3, 4, 5})
PROFILE_GENERIC_CLASS_ID = 7


def capture_time(item: Data | DlmsError | None) -> datetime | None:
    """An extended register's capture time as an aware instant (``None`` when unusable)."""
    value = plain_value(item) if isinstance(item, Data) else None
    moment = value.to_datetime() if isinstance(value, CosemDateTime) else None
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt_util.get_default_time_zone())


def _serial_text(value: object) -> str:
    """An M-Bus device's serial as text; "" when the channel has no device (empty, zero)."""
    if isinstance(value, bytes):
        value = value.rstrip(b"\x00").hex().upper()
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value) if value else ""
    return value.strip() if isinstance(value, str) else ""


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
        self.mbus_serials: dict[int, str] = {}  # M-Bus channel -> its device's serial ("" for none)
        self._channel_objects: list[ObisCode] = []  # the channels' device types and serials listed
        self._listed_channels: frozenset[int] = frozenset()  # channels with any object listed
        self._channels_answered: set[int] = set()  # channels whose device type or serial the last poll read

    @override
    async def _async_setup(self) -> None:
        """Associate, learn the meter's identity and its objects."""
        assert self.config_entry is not None
        await self.counters.async_load()
        self._load_guard()
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
            wanted = [
                obis
                for obis in (LOGICAL_DEVICE_NAME, METER_NUMBER, FIRMWARE, *METER_TYPE_CODES)
                if obis in listed
            ]
            channels = [obis for obis in mbus_identity_objects() if obis in listed]
            identity = await self.client.get_many([(obis, 1, 2) for obis in [*wanted, *channels]])
            self._learn_objects(entries)
            self.limiter_units = await limiter_scalers(self.client, self.object_classes)
        except DlmsError as err:
            raise self._update_failed(err) from err
        self.firmware_objects = FirmwareObjects.from_object_list(entries)
        self._channel_objects = channels
        self._listed_channels = frozenset(
            channel for entry in entries if (channel := mbus_channel(entry.obis)) is not None
        )
        self._learn_channels(channels, identity[len(wanted) :])
        texts: dict[ObisCode, str] = {}
        for obis, item in zip(wanted, identity[: len(wanted)], strict=True):
            value = plain_value(item) if isinstance(item, Data) else None
            if isinstance(value, str):
                texts[obis] = value
        self.identity = MeterIdentity(
            logical_device_name=texts.get(LOGICAL_DEVICE_NAME),
            serial_number=texts.get(METER_NUMBER),
            firmware=texts.get(FIRMWARE),
            model=next((texts[obis] for obis in METER_TYPE_CODES if obis in texts), None),
        )
        self.guard.observe_meter(self.identity.serial_number, checked=True)

    def _learn_channels(self, objects: list[ObisCode], values: Sequence[Data | DlmsError | None]) -> None:
        """The medium and serial of each M-Bus channel the meter lists; an unanswered one keeps its last."""
        self._channels_answered = set()
        for obis, item in zip(objects, values, strict=True):
            if not isinstance(item, Data):
                continue
            self._channels_answered.add(obis.b)
            value = plain_value(item)
            if obis.c == MBUS_DEVICE_TYPE_C:
                if isinstance(value, int) and not isinstance(value, bool):
                    self.mbus_media[obis.b] = value
            else:
                self.mbus_serials[obis.b] = _serial_text(value)

    @property
    @override
    def present_channels(self) -> frozenset[int]:
        """Channels whose device type or serial names a device, or whose values were read."""
        named = {channel for channel, medium in self.mbus_media.items() if medium}
        named |= {channel for channel, serial in self.mbus_serials.items() if serial}
        return frozenset(named) | super().present_channels

    @property
    @override
    def absent_channels(self) -> frozenset[int]:
        """Channels the meter does not list, and listed ones whose device type and serial name none.

        Only what the meter answered counts: a channel whose device type and serial were not read
        (refused, not listed) is absent only when none of its objects are listed, so a value that
        failed once does not make a device stale.
        """
        unnamed = {
            channel
            for channel in self._channels_answered
            if not self.mbus_media.get(channel) and not self.mbus_serials.get(channel)
        }
        return frozenset(set(MBUS_CHANNELS) - self._listed_channels) | (unnamed - self.present_channels)

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
        # The clock, disconnectors and capture times go in the same request as the values; so do the
        # M-Bus channels' device types and serials, so a gas or water meter connected later is seen.
        watched = watched_attributes(self.object_classes, wanted)
        watched += [(obis, self.object_classes.get(obis, 1), 2) for obis in self._channel_objects]
        before = dt_util.utcnow()
        try:
            results, extras = (
                await self.client.read_registers_and(refs, watched) if refs or watched else ([], [])
            )
        except DlmsError as err:
            raise self._update_failed(err) from err
        middle = before + (dt_util.utcnow() - before) / 2
        attributes, drift = self._watched(watched, extras, middle)
        self._learn_channels(
            self._channel_objects, [attributes.get((obis, 2)) for obis in self._channel_objects]
        )
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
        measured = middle + timedelta(seconds=drift) if drift is not None else None
        readings = self._screened_poll(readings, middle, measured)
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

    def _screened_poll(
        self, readings: dict[ObisCode, MeterReading], now: datetime, measured: datetime | None
    ) -> dict[ObisCode, MeterReading]:
        """The poll's readings as shown: a held-back one keeps the last accepted value."""
        passed = self._screen(readings, now, measured)
        previous: MeterSnapshot | None = self.data
        for obis in readings.keys() - passed.keys():
            kept = previous.readings.get(obis) if previous is not None else None
            if kept is not None and obis not in self.guard.disputes:
                passed[obis] = kept
        return passed

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
