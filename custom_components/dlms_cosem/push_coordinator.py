"""The pushing meter's coordinator: telegrams arrive by themselves; values persist until they go stale.

What arrived since the last accepted telegram (:mod:`.link_state`) names the reason when the sensors
go unavailable; telegrams rejected as replays are counted and, when they keep coming, raise a repair
issue that lets the user accept the meter's new invocation counter.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .connection import security_keys, stream_opener
from .const import (
    CONF_BAUDRATE,
    CONF_PUSH_TIMEOUT,
    DEFAULT_PUSH_TIMEOUT,
    DOMAIN,
    LOGGER,
    REPLAYS_FOR_REPAIR,
)
from .dlms.errors import (
    DlmsError,
    SecurityError,
)
from .dlms.listener import LinkStatus, ListenerEvent, PushListener
from .dlms.obis import ObisCode
from .dlms.replay import ReplayedTelegramError, ReplayGuard
from .dlms.telegram import Telegram, TelegramFailure
from .link_state import LinkState, SinceLastTelegram
from .meter_identity import identity_from_readings
from .models import MeterReading, MeterSnapshot
from .pushed_history import profile_history

if TYPE_CHECKING:
    # The client is imported by the polled coordinator when it runs: push-only setups never load it.
    pass

from .coordinator import DlmsCoordinator, replay_issue_id, telegram_readings

#: Objects whose value identifies the meter (COSEM meter serial number, device ID 1 and 2).
METER_NUMBERS = (ObisCode(0, 0, 96, 1, 0, 255), ObisCode(0, 0, 96, 1, 1, 255), ObisCode(0, 0, 96, 1, 2, 255))


def telegram_identity(telegram: Telegram, readings: dict[ObisCode, MeterReading]) -> str | None:
    """Which meter sent the telegram: its system title, else the meter number it carries."""
    if telegram.system_title is not None:
        return telegram.system_title.hex().upper()
    for obis in METER_NUMBERS:
        reading = readings.get(obis)
        if reading is not None and isinstance(reading.value, str) and reading.value.strip():
            return reading.value.strip()
    return None


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
        self.since_last_telegram = SinceLastTelegram()
        """What arrived since the last accepted telegram (the link state and the unavailable reason)."""

    @override
    async def _async_setup(self) -> None:
        assert self.config_entry is not None
        await self.counters.async_load()
        self._load_guard()
        # Telegrams taken as replays before the reload are not known now: the issue comes back if they go on.
        ir.async_delete_issue(self.hass, DOMAIN, replay_issue_id(self.config_entry))
        guard = ReplayGuard(self.counters.meter_counters, on_accept=self.counters.save_meter_counter)
        baudrate = self.config_entry.data.get(CONF_BAUDRATE)
        self.listener = PushListener(
            stream_opener(self.config_entry.data, self.hass),
            security_keys(self.config_entry.data),
            replay_guard=guard,
            on_data=self._data_arrived,
            # A serial line's speed bounds how long a meter can pause inside one telegram.
            baudrate=int(baudrate) if isinstance(baudrate, int | str) and str(baudrate).isdigit() else None,
        )

    @callback
    def _data_arrived(self, data: bytes) -> None:
        self._keep_raw(data)
        self.since_last_telegram.bytes_received += len(data)

    @property
    def link_state(self) -> LinkState:
        """What the port is doing: telegrams accepted (ok) or, since the last one, what went wrong."""
        if self._connected is not False and self.last_update_success and self._readings:
            return LinkState.OK
        return self.since_last_telegram.state(self._connected)

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
            case TelegramFailure(error=error, system_title=title):
                self._failure(error, title)
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
        self._replay_ended()
        self.since_last_telegram = SinceLastTelegram()
        now = dt_util.utcnow()
        timestamp: datetime | None = telegram.timestamp.to_datetime() if telegram.timestamp else None
        zone = dt_util.get_default_time_zone()
        arrived = telegram_readings(telegram, zone)
        self.guard.observe_meter(telegram_identity(telegram, arrived))
        passed = self._screen(arrived, now)
        # What the options offer: objects held back (a damaged logical name) are not among them.
        self.available_objects.update(passed)
        self._readings.update(passed)
        for key in self.guard.disputes:
            self._readings.pop(key, None)  # unavailable until the user accepts the new value
        self.link_statistics.last_update = now
        self.link_statistics.invocation_counter = telegram.invocation_counter
        self._learned_identity(
            identity_from_readings(arrived, telegram.system_title, telegram.identification)
        )
        self._arm_stale_timer()
        history = self.guard.screen_history(profile_history(telegram.content, zone))
        self.async_set_updated_data(MeterSnapshot(dict(self._readings), timestamp, history=history))

    @callback
    def _failure(self, error: DlmsError, system_title: bytes | None) -> None:
        self.since_last_telegram.failure(error, system_title)
        if isinstance(error, ReplayedTelegramError):
            self._replayed(error)
        elif isinstance(error, SecurityError):
            self._security_failed(error)
        LOGGER.debug("Telegram not decoded: %s", error)
        self.async_update_listeners()

    @callback
    def _replayed(self, error: ReplayedTelegramError) -> None:
        """Count a telegram rejected as a replay; when they keep coming, ask the user (a repair)."""
        self.link_statistics.replays += 1
        in_a_row = self.since_last_telegram.replays  # counted already: none was accepted between them
        if in_a_row == 1:
            LOGGER.warning(
                "Telegrams of %s are rejected as replays: invocation counter %s is not above %s, the last "
                "one accepted (a meter reset or firmware update restarts it; a replay attack repeats it)",
                self._entry_title,
                error.counter,
                error.last,
            )
        if in_a_row < REPLAYS_FOR_REPAIR or self.config_entry is None:
            return
        self._raise_repair(
            replay_issue_id(self.config_entry),
            "replayed_telegrams",
            stored=str(error.last),
            received=str(error.counter),
            count=str(in_a_row),
        )

    @callback
    def _replay_ended(self) -> None:
        if self.since_last_telegram.replays and self.config_entry is not None:
            LOGGER.info("Telegrams of %s are accepted again", self._entry_title)
            ir.async_delete_issue(self.hass, DOMAIN, replay_issue_id(self.config_entry))
        self.since_last_telegram.replays = 0  # a new streak: the repair comes again after as many

    @callback
    def async_accept_meter_counter(self) -> bool:
        """The user confirmed the meter restarted its invocation counter: accept it from the latest one.

        False when no replay is known to accept (the issue was stale).
        """
        since = self.since_last_telegram
        if self.listener is None or since.replay_title is None or since.received_counter is None:
            return False
        LOGGER.info(
            "Invocation counter of %s accepted from %s on (was %s)",
            self._entry_title,
            since.received_counter,
            since.stored_counter,
        )
        self.listener.replay_guard.accept_from(since.replay_title, since.received_counter)
        self._replay_ended()
        return True

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
        since = self.since_last_telegram
        state = since.state(self._connected)
        placeholders = {"seconds": str(int(self._push_timeout))}
        match state:
            case LinkState.REPLAYED:
                placeholders |= {
                    "count": str(since.replays),
                    "received": str(since.received_counter),
                    "stored": str(since.stored_counter),
                }
            case LinkState.UNDECODABLE:
                placeholders |= {"count": str(since.undecodable), "error": since.last_error or ""}
            case LinkState.WRONG_KEY:
                placeholders |= {"count": str(since.security_failures)}
            case LinkState.NO_TELEGRAM:
                placeholders |= {"bytes": str(since.bytes_received)}
        self.async_set_update_error(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=_STALE_KEYS[state],
                translation_placeholders=placeholders,
            )
        )


#: The unavailable reason of a push entry, by what its port did since the last accepted telegram.
_STALE_KEYS: dict[LinkState, str] = {
    LinkState.OK: "no_telegram",
    LinkState.PORT_UNAVAILABLE: "no_telegram",
    LinkState.NO_DATA: "no_telegram",
    LinkState.NO_TELEGRAM: "no_telegram_in_data",
    LinkState.UNDECODABLE: "undecodable_telegrams",
    LinkState.REPLAYED: "replayed_telegrams",
    LinkState.WRONG_KEY: "telegrams_not_decrypted",
}
