"""Data the coordinator hands to the entities, and what the integration keeps per config entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Self

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .dlms.axdr import Data
from .dlms.obis import ObisCode
from .dlms.push import PushObject
from .manufacturers import flag_id, flag_manufacturer

if TYPE_CHECKING:
    from .history import ProfileBackfill


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One object's value as the meter gave it: scaled value, unit symbol and the unscaled value."""

    value: object
    unit: str | None
    raw: object
    captured: datetime | None = None  # when the meter measured it (an M-Bus reading, an hourly list)

    @classmethod
    def from_push_object(cls, obj: PushObject) -> Self:
        """The reading a pushed object carries (value scaled, unit as a DLMS symbol)."""
        return cls(value=obj.value, unit=obj.unit, raw=obj.raw)


@dataclass(frozen=True, slots=True)
class MeterSnapshot:
    """The latest value of every object the meter gave, and the meter's time for them (if it sent one).

    Sensors are unavailable while their object is missing here, so in push mode the coordinator should
    carry each object's latest value across telegrams (Norwegian meters push the energy registers only
    once an hour, in a different list than the power values).
    """

    readings: dict[ObisCode, MeterReading]
    timestamp: datetime | None = None
    attributes: dict[tuple[ObisCode, int], Data] = field(default_factory=dict)
    """Other attributes a poll read (clock, disconnector, capture times), by logical name and attribute."""
    clock_drift: float | None = None
    """Seconds the meter's clock was ahead of Home Assistant's at this poll (negative: behind)."""
    history: dict[ObisCode, tuple[MeterReading, ...]] = field(default_factory=dict)
    """Readings of earlier hours a telegram carried (a pushed profile buffer), oldest first."""


@dataclass(slots=True)
class LinkStatistics:
    """Health of the link to the meter, shown by the diagnostic sensors; the coordinator updates it."""

    last_update: datetime | None = None
    """When the last telegram arrived or the last poll succeeded (timezone-aware)."""
    frames: int = 0
    frame_errors: int = 0
    decryption_failures: int = 0
    invocation_counter: int | None = None
    replays: int = 0
    """Telegrams rejected as replays (their invocation counter was not above the last accepted)."""
    held_readings: int = 0
    """Readings the plausibility guard held back since the entry loaded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterIdentity:
    """What identifies the meter, for the device registry."""

    serial_number: str | None = None
    system_title: bytes | None = None
    logical_device_name: str | None = None
    model: str | None = None
    firmware: str | None = None
    list_maker: str | None = None
    """The maker the meter's list identifier names (Norwegian lists carry no FLAG ID)."""
    identification: str | None = None
    """The IEC 62056-21 identification of a text telegram or readout (``ISK5\\2M550T-1013``)."""

    @property
    def flag_id(self) -> str | None:
        """The manufacturer's three-letter FLAG ID, from the system title or the logical device name."""
        return flag_id(self.system_title) or flag_id(self.logical_device_name) or flag_id(self.identification)

    @property
    def manufacturer(self) -> str | None:
        """The manufacturer's name when its FLAG ID (or its list identifier) is a known one."""
        return (
            flag_manufacturer(self.system_title)
            or flag_manufacturer(self.logical_device_name)
            or self.list_maker
            or flag_manufacturer(self.identification)
        )


@dataclass(slots=True)
class DlmsCosemRuntimeData:
    """What a loaded config entry keeps in ``entry.runtime_data``.

    ``coordinator`` may be any ``DataUpdateCoordinator[MeterSnapshot]``; when it has a
    ``link_statistics`` attribute holding a :class:`LinkStatistics`, the link-health sensors show it.
    """

    coordinator: DataUpdateCoordinator[MeterSnapshot]
    identity: MeterIdentity
    history: ProfileBackfill | None = None  # the load profile backfill, when turned on


type DlmsCosemConfigEntry = ConfigEntry[DlmsCosemRuntimeData]
