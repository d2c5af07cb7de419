"""M-Bus channels: the gas and water meters an electricity meter reads over its M-Bus (DSMR/IDIS).

Each channel ``b`` (1..4) has its device type (Data ``0.b.24.1.0.255``, the EN 13757-3 medium: 3 gas,
7 water), its serial (Data ``0.b.96.1.0.255``) and its last hourly reading (Extended Register
``0.b.24.2.1.255``: volume in m³ with scaler -3, captured at the top of every hour, the capture time
in attribute 5), as electricity meters relay what the M-Bus device sent them once an hour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..apdu import DataAccessResult
from ..axdr import Data
from ..obis import ObisCode
from ..units import ScalerUnit, Unit
from .access import AccessFailureError
from .electricity import REFERENCE_INSTANT, seconds_since_reference
from .interface_classes import DataObject, ExtendedRegister

if TYPE_CHECKING:
    from .model import SimulatedMeter

#: EN 13757-3 medium codes of the channels' device type.
MEDIUM_GAS = 0x03
MEDIUM_WATER = 0x07
LITRES = ScalerUnit(-3, Unit.CUBIC_METRE)
_HOUR = timedelta(hours=1)


def device_type(channel: int) -> ObisCode:
    """The channel's device type (medium)."""
    return ObisCode(0, channel, 24, 1, 0, 255)


def channel_serial(channel: int) -> ObisCode:
    """The channel's device serial number."""
    return ObisCode(0, channel, 96, 1, 0, 255)


def channel_value(channel: int) -> ObisCode:
    """The channel's last reading, an extended register with its capture time."""
    return ObisCode(0, channel, 24, 2, 1, 255)


@dataclass(frozen=True, slots=True)
class MbusChannel:
    """One simulated M-Bus device: channel, medium, serial and its mean flow in m³ per day."""

    channel: int
    medium: int
    serial: str
    daily_volume: float

    def litres(self, instant: datetime) -> int:
        """The total volume in litres at ``instant``: a daily curve (more by day than by night)."""
        seconds = seconds_since_reference(instant)
        days = seconds / 86_400
        wobble = math.sin(2 * math.pi * days - math.pi / 2) / (2 * math.pi)  # zero mean over a day
        return round(1000 * self.daily_volume * (days + 0.5 * wobble)) + 1_000_000

    def captured(self, instant: datetime) -> datetime:
        """The top of the hour the M-Bus device last reported at."""
        return REFERENCE_INSTANT + ((instant - REFERENCE_INSTANT) // _HOUR) * _HOUR


GAS_CHANNEL = MbusChannel(1, MEDIUM_GAS, "G0012345", 4.0)
WATER_CHANNEL = MbusChannel(2, MEDIUM_WATER, "W0067890", 0.35)


def add_mbus_channels(
    meter: SimulatedMeter, channels: tuple[MbusChannel, ...] = (GAS_CHANNEL, WATER_CHANNEL)
) -> None:
    """Give the meter its M-Bus channels' objects."""
    for mbus in channels:
        meter.add(DataObject(device_type(mbus.channel), Data.unsigned(mbus.medium)))
        meter.add(DataObject(channel_serial(mbus.channel), Data.octet_string(mbus.serial.encode())))
        meter.add(
            ExtendedRegister(
                channel_value(mbus.channel),
                _reading(meter, mbus),
                LITRES,
                _capture_time(meter, mbus),
            )
        )


def add_empty_mbus_channel(meter: SimulatedMeter, channel: int) -> None:
    """A channel with no M-Bus device, as IDIS meters list one: device type 0, no serial, no reading.

    :func:`add_mbus_channels` on the same channel later connects a device (the objects are replaced),
    and this disconnects it again.
    """
    meter.add(DataObject(device_type(channel), Data.unsigned(0)))
    meter.add(DataObject(channel_serial(channel), Data.octet_string(b"")))
    meter.add(ExtendedRegister(channel_value(channel), _unavailable, LITRES, _unavailable))


def _unavailable(_instant: datetime) -> Data:
    raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE)


def _reading(meter: SimulatedMeter, mbus: MbusChannel) -> Callable[[datetime], Data]:
    return lambda instant: Data.double_long_unsigned(mbus.litres(mbus.captured(instant)))


def _capture_time(meter: SimulatedMeter, mbus: MbusChannel) -> Callable[[datetime], Data]:
    return lambda instant: Data.octet_string(meter.clock.date_time(mbus.captured(instant)).to_bytes())


#: What a meter with both channels adds to its push object list: each channel's medium and reading.
MBUS_PUSH_OBJECTS: tuple[ObisCode, ...] = tuple(
    obis
    for mbus in (GAS_CHANNEL, WATER_CHANNEL)
    for obis in (device_type(mbus.channel), channel_value(mbus.channel))
)
