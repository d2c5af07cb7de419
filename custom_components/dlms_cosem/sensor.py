"""Sensors: one per selected OBIS code, plus the link-health diagnostics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast, override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.components.sensor.const import UNIT_CONVERTERS
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .billing import describe_billing
from .channels import ChannelFollower
from .const import CONF_DATA_READOUT, CONF_OBJECTS, DOMAIN
from .control_sensors import control_sensors
from .dlms.errors import DecodeError
from .dlms.obis import ObisCode
from .entity import DlmsCosemEntity, entry_identifier, meter_device_info
from .media import MBUS_CHANNELS, channel_device_info, describe_medium, device_type_obis, mbus_channel
from .meter_state import capture_time
from .meter_values import meter_time, utc_hour_start
from .models import DlmsCosemConfigEntry, LinkStatistics, MeterReading, MeterSnapshot
from .obis_catalog import DlmsSensorEntityDescription, catalog_entry, describe, ha_unit
from .update_limit import TOTALS, update_limit

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0
MAX_IMPORTED_REMEMBERED: Final = 2000
"""Pushed profile rows remembered as imported per sensor (a quarter-hour profile holds 96 a day)."""


@dataclass(frozen=True, kw_only=True)
class DlmsLinkSensorEntityDescription(SensorEntityDescription):
    """Describes a link-health sensor."""

    value_fn: Callable[[LinkStatistics], StateType | datetime]


def _last_update(stats: LinkStatistics) -> datetime | None:
    moment = stats.last_update
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt_util.get_default_time_zone())
    return moment


def _counter(key: str, value_fn: Callable[[LinkStatistics], int]) -> DlmsLinkSensorEntityDescription:
    # Counters restart with Home Assistant; TOTAL_INCREASING reads a drop as a reset.
    return DlmsLinkSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=value_fn,
    )


LINK_SENSORS: Final[tuple[DlmsLinkSensorEntityDescription, ...]] = (
    DlmsLinkSensorEntityDescription(
        key="last_update",
        translation_key="last_update",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_last_update,
    ),
    _counter("frames", lambda stats: stats.frames),
    _counter("frame_errors", lambda stats: stats.frame_errors),
    _counter("decryption_failures", lambda stats: stats.decryption_failures),
    _counter("replays", lambda stats: stats.replays),
    _counter("held_readings", lambda stats: stats.held_readings),
    DlmsLinkSensorEntityDescription(
        key="invocation_counter",
        translation_key="invocation_counter",
        # A sequence number, not a quantity: no statistics.
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda stats: stats.invocation_counter,
    ),
)


CIPHERING_LINK_SENSORS: Final = frozenset({"decryption_failures", "replays", "invocation_counter"})
"""The link sensors only a ciphered link has something to say in."""


def selected_objects(texts: Iterable[object]) -> list[ObisCode]:
    """The OBIS codes of the options, in order, without duplicates; unreadable entries are skipped."""
    codes: list[ObisCode] = []
    for text in texts:
        try:
            if not isinstance(text, str):
                raise DecodeError(f"not text but {type(text).__name__}")
            obis = ObisCode.parse(text)
        except DecodeError as exc:
            _LOGGER.warning("Ignoring the selected object %r: %s", text, exc)
            continue
        if obis not in codes:
            codes.append(obis)
    return codes


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DlmsCosemConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors of the selected objects and the link-health sensors.

    A known object is described at once (its unit is fixed by its OBIS code). An unknown one that is
    not in the latest snapshot yet waits for its first value, because only the meter's unit tells
    whether it is a number.
    """
    coordinator = entry.runtime_data.coordinator
    # The coordinator holds None until its first refresh, whatever its type says.
    first: MeterSnapshot | None = coordinator.data
    readings = first.readings if first is not None else {}
    waiting: list[ObisCode] = []
    entities: list[SensorEntity] = []
    channels = _channel_devices(hass, entry)
    for obis in selected_objects(entry.options.get(CONF_OBJECTS, ())):
        reading = readings.get(obis)
        if reading is None and catalog_entry(obis) is None:
            waiting.append(obis)
            continue
        unit = reading.unit if reading else None
        entities.append(value_sensor(entry, obis, _describe(coordinator, obis, unit), channels(obis)))
    # A data readout is plain text: no ciphering, so no keys to fail, counters or replays to show.
    plain = bool(entry.data.get(CONF_DATA_READOUT))
    entities.extend(
        DlmsLinkSensor(entry, description)
        for description in LINK_SENSORS
        if not (plain and description.key in CIPHERING_LINK_SENSORS)
    )
    entities.extend(control_sensors(entry))
    if entry.runtime_data.history is not None:
        from .history import HistoryProgressSensor  # noqa: PLC0415 - only with the backfill on

        entities.append(HistoryProgressSensor(entry, entry.runtime_data.history))
    async_add_entities(entities)
    shown = {entity.obis for entity in entities if isinstance(entity, DlmsCosemSensor)}

    @callback
    def _add_arrived() -> None:
        snapshot: MeterSnapshot | None = coordinator.data
        if snapshot is None:
            return
        arrived = [obis for obis in waiting if obis in snapshot.readings]
        if not arrived:
            return
        for obis in arrived:
            waiting.remove(obis)
        shown.update(arrived)
        async_add_entities(
            value_sensor(
                entry, obis, _describe(coordinator, obis, snapshot.readings[obis].unit), channels(obis)
            )
            for obis in arrived
        )

    @callback
    def _show(codes: list[ObisCode]) -> None:
        """Objects selected while running (a new M-Bus channel): made once their values arrive.

        One shown before whose entity went with its stale device is made again.
        """
        registry = er.async_get(hass)
        prefix = entry_identifier(entry)
        for obis in codes:
            live = obis in shown and registry.async_get_entity_id("sensor", DOMAIN, f"{prefix}_{obis}")
            if not live and obis not in waiting:
                waiting.append(obis)
        _add_arrived()

    entry.async_on_unload(coordinator.async_add_listener(_add_arrived))
    follower = ChannelFollower(hass, entry, _show)
    entry.async_on_unload(coordinator.async_add_listener(follower))
    follower()  # a polled meter's first values came before the platform: the channels present now


def _channel_devices(
    hass: HomeAssistant, entry: DlmsCosemConfigEntry
) -> Callable[[ObisCode], DeviceInfo | None]:
    """The device of an M-Bus channel's object (``None``: the meter's), linked to the meter's device."""
    coordinator = entry.runtime_data.coordinator
    serials: dict[int, str] = getattr(coordinator, "mbus_serials", {})
    meter_device_id: str | None = None

    def device(obis: ObisCode) -> DeviceInfo | None:
        nonlocal meter_device_id
        channel = mbus_channel(obis)
        if channel is None:
            return None
        if meter_device_id is None:
            meter = meter_device_info(entry, entry.runtime_data.identity)
            meter_device_id = (
                dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, **meter).id
            )
        return channel_device_info(
            entry_identifier(entry),
            meter_device_id,
            channel,
            _media(coordinator).get(channel),
            serials.get(channel) or None,
        )

    return device


def _media(coordinator: object) -> dict[int, int]:
    """The M-Bus channels' media: read at setup (polled), or pushed with the readings."""
    media: dict[int, int] = dict(getattr(coordinator, "mbus_media", {}))
    snapshot = getattr(coordinator, "data", None)
    readings = snapshot.readings if isinstance(snapshot, MeterSnapshot) else {}
    for channel in MBUS_CHANNELS:
        reading = readings.get(device_type_obis(channel))
        value = reading.value if reading is not None else None
        if channel not in media and isinstance(value, int) and not isinstance(value, bool):
            media[channel] = value
    return media


def _describe(coordinator: object, obis: ObisCode, unit: str | None) -> DlmsSensorEntityDescription:
    """The catalog's description, as a gas, water or heat total for a medium's reading."""
    billing = describe_billing(obis, unit)
    if billing is not None:
        return billing
    return describe_medium(obis, unit, _media(coordinator).get(obis.b), describe(obis, unit))


class DlmsCosemSensor(DlmsCosemEntity, SensorEntity):
    """The value of one COSEM object; unavailable while the latest snapshot lacks it."""

    entity_description: DlmsSensorEntityDescription

    def __init__(
        self,
        entry: DlmsCosemConfigEntry,
        obis: ObisCode,
        description: DlmsSensorEntityDescription,
        device_info: DeviceInfo | None = None,
    ) -> None:
        super().__init__(entry, str(obis))
        self.entity_description = description
        self._obis = obis
        self._limit = update_limit(entry, description)
        self._limited: StateType | datetime = None  # the value the limit last let through
        self._written_available: bool | None = None
        self._rewrite = False  # the attributes changed: the next update writes, whatever the limit says
        self._captured: datetime | None = None
        self._imported: set[datetime] = set()  # pushed profile rows already in the statistics
        self._importing: set[datetime] = set()  # rows whose import is under way
        if device_info is not None:
            self._attr_device_info = device_info  # an M-Bus channel's own device

    @property
    def obis(self) -> ObisCode:
        """The object this sensor shows."""
        return self._obis

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state; values the meter timestamped on the hour also go to those hours' statistics.

        That is the value itself when it carries its capture time, and the rows of a profile the
        meter pushed: each until it has been imported (the first compile of the recorder starts the
        sums), older rows that arrive late included, hours that have not ended yet never. A pushing
        meter's entry writes states within its update limit (see :mod:`.update_limit`).
        """
        if self._let_through():
            super()._handle_coordinator_update()
        snapshot: MeterSnapshot | None = self.coordinator.data
        if snapshot is None:
            return
        now = dt_util.utcnow()
        rows = [
            row
            for row in snapshot.history.get(self._obis, ())
            if row.captured is not None and row.captured <= now and row.captured not in self._imported
        ]
        rows = [row for row in rows if row.captured not in self._importing]
        reading = snapshot.readings.get(self._obis)
        if reading is not None and reading.captured is not None and reading.captured != self._captured:
            self._captured = reading.captured
            rows.append(reading)
        values = [
            (float(row.value), ha_unit(row.unit), row.captured)
            for row in rows
            if row.captured is not None
            # Only a value that ends a UTC hour gives a row: a meter that dates every telegram (a P1
            # port's clock dates its totals) would otherwise start an import task per total and
            # telegram, which the event loop pays for and which then finds nothing to import.
            and utc_hour_start(row.captured) is not None
            and isinstance(row.value, int | float)
            and not isinstance(row.value, bool)
        ]
        if values and "recorder" in self.hass.config.components:
            self._importing.update(captured for _, _, captured in values)
            self.hass.async_create_task(self._async_import(values))

    async def _async_import(self, values: list[tuple[float, str | None, datetime]]) -> None:
        from .statistics_import import async_import_readings  # noqa: PLC0415 - loads the recorder

        instants = {captured for _, _, captured in values}
        try:
            if await async_import_readings(self.hass, self.entity_id, values):
                self._imported |= instants
                while len(self._imported) > MAX_IMPORTED_REMEMBERED:
                    self._imported.remove(min(self._imported))
        finally:
            self._importing -= instants  # not imported (no sums to continue yet): the next telegram retries

    def _reading(self) -> MeterReading | None:
        snapshot: MeterSnapshot | None = self.coordinator.data
        return None if snapshot is None else snapshot.readings.get(self._obis)

    def _let_through(self) -> bool:
        """Whether this update writes the state: always without a limit, and when availability changes."""
        if self._limit is None:
            return True
        available = self.available
        value = self._current_value() if available else None
        now = dt_util.utcnow().timestamp()
        if available != self._written_available or self._rewrite:
            self._rewrite = False
            self._written_available = available
            self._limited = value
            self._limit.restart(now, value)
            return True
        if not available:
            return False
        write, chosen = self._limit.offer(now, value)
        if write:
            self._limited = cast("StateType | datetime", chosen)
        return write

    @property
    @override
    def available(self) -> bool:
        return super().available and self._reading() is not None

    @property
    @override
    def native_value(self) -> StateType | datetime:
        if self._limit is not None and self._written_available:
            return self._limited  # what the update limit let through last
        return self._current_value()

    def _current_value(self) -> StateType | datetime:
        reading = self._reading()
        if reading is None:
            return None
        value = self.entity_description.value_fn(reading)
        return self._in_native_unit(value, reading.unit)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """An extended or demand register's capture time: when the meter took the value."""
        snapshot: MeterSnapshot | None = self.coordinator.data
        classes = getattr(self.coordinator, "object_classes", None)
        if snapshot is None or not isinstance(classes, dict):
            return None
        captured = capture_time(snapshot.attributes, classes, self._obis)
        if captured is None:
            return None
        try:
            return {"capture_time": meter_time(captured, dt_util.get_default_time_zone())}
        except DecodeError:
            return None  # not set yet (all fields unspecified) or no date-time

    def _in_native_unit(self, value: StateType | datetime, symbol: str | None) -> StateType | datetime:
        """The value in the unit the entity was set up with.

        The unit is fixed when the entity is created; should the meter later report another one, the
        value is converted when Home Assistant knows how, and shown as unknown otherwise.
        """
        native = self.entity_description.native_unit_of_measurement
        unit = ha_unit(symbol)
        if symbol is None or unit == native or not isinstance(value, int | float):
            return value
        converter = UNIT_CONVERTERS.get(self.entity_description.device_class)
        if converter is not None and {unit, native} <= converter.VALID_UNITS:
            return converter.convert(value, unit, native)
        return None


def value_sensor(
    entry: DlmsCosemConfigEntry,
    obis: ObisCode,
    description: DlmsSensorEntityDescription,
    device_info: DeviceInfo | None = None,
) -> DlmsCosemSensor:
    """The sensor of one object: a total keeps its last value across restarts and reloads."""
    if description.state_class in TOTALS:
        return DlmsCosemTotalSensor(entry, obis, description, device_info)
    return DlmsCosemSensor(entry, obis, description, device_info)


@dataclass
class TotalStoredData(SensorExtraStoredData):
    """A total's last value, and when the meter gave it."""

    read_at: datetime | None = None

    @override
    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {"read_at": self.read_at.isoformat() if self.read_at else None}


class DlmsCosemTotalSensor(DlmsCosemSensor, RestoreSensor):
    """A total (energy, volume) that shows its last value after a restart until the meter sends it again.

    Meters send their totals less often than the rest (Norwegian lists once an hour, M-Bus gas meters
    every 15 minutes to a day): without this, the Energy panel's sensors would be blank for up to an
    hour after every restart or reload (saving the options reloads). A restored value never passes for
    a fresh one: it carries ``value_restored: true`` and ``read_at`` (when the meter gave it; not
    ``restored``, which Home Assistant gives the placeholder of an entity not set up), it is not a
    reading for the statistics or the plausibility guard, and it goes unavailable with the link.
    """

    _restored: MeterReading | None = None
    _read_at: datetime | None = None
    _last: MeterReading | None = None

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if super()._reading() is not None:
            return  # the meter's value is there already
        stored = await self.async_get_last_extra_data()
        if stored is None:
            return
        data = stored.as_dict()
        last = SensorExtraStoredData.from_dict(data)
        if (
            last is None
            or not isinstance(last.native_value, int | float)
            or isinstance(last.native_value, bool)
            or last.native_unit_of_measurement != self.native_unit_of_measurement
        ):
            return  # nothing to show, or in a unit this entity no longer has
        self._restored = MeterReading(value=last.native_value, unit=None, raw=None)
        read_at = data.get("read_at")
        self._read_at = dt_util.parse_datetime(read_at) if isinstance(read_at, str) else None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        reading = super()._reading()
        if reading is not None and reading is not self._last:
            self._last = reading
            self._read_at = reading.captured or dt_util.utcnow()
            if self._restored is not None:
                self._restored = None  # the meter sent it: the restored value is done with
                self._rewrite = True  # and the state no longer says it is restored
        super()._handle_coordinator_update()

    @override
    def _reading(self) -> MeterReading | None:
        return super()._reading() or self._restored

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        attributes = super().extra_state_attributes
        if self._restored is None or super()._reading() is not None:
            return attributes
        return {**(attributes or {}), "value_restored": True, "read_at": self._read_at}

    @property
    @override
    def extra_restore_state_data(self) -> TotalStoredData:
        return TotalStoredData(self.native_value, self.native_unit_of_measurement, self._read_at)


class DlmsLinkSensor(DlmsCosemEntity, SensorEntity):
    """A figure about the link to the meter.

    It stays available while the meter does not answer, since that is when it is wanted.
    """

    entity_description: DlmsLinkSensorEntityDescription

    def __init__(self, entry: DlmsCosemConfigEntry, description: DlmsLinkSensorEntityDescription) -> None:
        super().__init__(entry, description.key)
        self.entity_description = description

    def _statistics(self) -> LinkStatistics | None:
        stats = getattr(self.coordinator, "link_statistics", None)
        return stats if isinstance(stats, LinkStatistics) else None

    @property
    @override
    def available(self) -> bool:
        return self._statistics() is not None

    @property
    @override
    def native_value(self) -> StateType | datetime:
        stats = self._statistics()
        return None if stats is None else self.entity_description.value_fn(stats)
