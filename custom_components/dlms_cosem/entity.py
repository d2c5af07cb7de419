"""Base entity: one device per meter, entities named by translation key."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN
from .models import DlmsCosemConfigEntry, MeterIdentity, MeterSnapshot


def entry_identifier(entry: DlmsCosemConfigEntry) -> str:
    """The stable prefix of the entry's unique IDs (the entry ID when the flow set no unique ID)."""
    return entry.unique_id or entry.entry_id


def meter_device_info(entry: DlmsCosemConfigEntry, identity: MeterIdentity) -> DeviceInfo:
    """The meter's registry entry; without a name it takes the config entry's title.

    Only what is known: the registry keeps what an earlier telegram or poll told (a pushing meter
    names itself in its telegrams, after the entities are made), and None would blank it.
    """
    info = DeviceInfo(identifiers={(DOMAIN, entry_identifier(entry))})
    if identity.manufacturer is not None:
        info["manufacturer"] = identity.manufacturer
    if identity.model is not None:
        info["model"] = identity.model
    if identity.serial_number is not None:
        info["serial_number"] = identity.serial_number
    if identity.firmware is not None:
        info["sw_version"] = identity.firmware
    return info


class DlmsCosemEntity(CoordinatorEntity[DataUpdateCoordinator[MeterSnapshot]]):
    """An entity of a meter; ``key`` makes its unique ID (an OBIS code or a link-health name)."""

    _attr_has_entity_name = True

    def __init__(self, entry: DlmsCosemConfigEntry, key: str) -> None:
        runtime = entry.runtime_data
        super().__init__(runtime.coordinator)
        self._attr_unique_id = f"{entry_identifier(entry)}_{key}"
        self._attr_device_info = meter_device_info(entry, runtime.identity)
