"""The coordinator of a meter read out by IEC 62056-21 (an optical port without HDLC), at each interval.

Each update is one data readout (:func:`~.dlms.transport.readout.read_out`: sign-on at 300 baud, the
mode the meter announces, the data message with its BCC checked), and its values become readings the
way a pushed text telegram's do, through the same plausibility guard. Nothing is kept open between
readouts: the optical head is free for another reader (a hand-held terminal) in between.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .connection import endpoint, readout_settings
from .const import CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL, DOMAIN
from .coordinator import DlmsCoordinator, telegram_readings
from .dlms.errors import DlmsError
from .dlms.transport.readout import ReadoutResult, read_out
from .dlms.transport.udp import UdpEndpoint
from .meter_identity import identity_from_readings
from .meter_values import local_instant
from .models import MeterSnapshot


class DlmsReadoutCoordinator(DlmsCoordinator):
    """Reads the meter out at every scan interval; values pass the guard like any other."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        interval = entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
        super().__init__(hass, entry, timedelta(seconds=interval))
        self.last_readout: ReadoutResult | None = None
        """The latest readout: the mode and baud rate the meter was read at (diagnostics)."""

    @override
    async def _async_setup(self) -> None:
        await self.counters.async_load()
        self._load_guard()

    @override
    async def _async_update_data(self) -> MeterSnapshot:
        assert self.config_entry is not None
        where = endpoint(self.config_entry.data)
        assert not isinstance(where, UdpEndpoint)  # the config flow reads out serial ports only
        try:
            result = await read_out(where, readout_settings())
        except DlmsError as err:
            self.link_statistics.frame_errors += 1
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="communication_error",
                translation_placeholders={"error": str(err)},
            ) from err
        self.last_readout = result
        telegram = result.telegram
        now = dt_util.utcnow()
        zone = dt_util.get_default_time_zone()
        arrived = telegram_readings(telegram, zone)
        measured = local_instant(telegram.timestamp, zone) if telegram.timestamp else None
        passed = self._screen(arrived, now, measured)
        self.available_objects.update(passed)
        for key in self.guard.disputes:
            passed.pop(key, None)  # unavailable until the user accepts the new value
        self.link_statistics.frames += 1
        self.link_statistics.last_update = now
        self._learned_identity(identity_from_readings(arrived, None, telegram.identification))
        return MeterSnapshot(passed, measured)
