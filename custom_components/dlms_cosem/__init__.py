"""The DLMS/COSEM smart meter integration."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .channels import async_remove_channel_device, async_remove_stale_channels
from .const import (
    CONF_CONNECTION_TYPE,
    CONF_DATA_READOUT,
    CONF_HISTORY,
    DOMAIN,
    ConnectionType,
    history_storage_key,
)
from .coordinator import DlmsCoordinator, disputed_issue_id, repair_issue_id, replay_issue_id
from .entry_store import CounterStore
from .models import DlmsCosemConfigEntry, DlmsCosemRuntimeData
from .poll_coordinator import DlmsPollCoordinator
from .push_coordinator import DlmsPushCoordinator
from .readout_coordinator import DlmsReadoutCoordinator
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, which serve every meter (each call names its config entry)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> bool:
    """Set up a meter: poll it, or listen to what it pushes."""
    connection = ConnectionType(entry.data[CONF_CONNECTION_TYPE])
    coordinator: DlmsCoordinator
    if connection.is_push:
        coordinator = DlmsPushCoordinator(hass, entry)
    elif entry.data.get(CONF_DATA_READOUT):
        coordinator = DlmsReadoutCoordinator(hass, entry)
    else:
        coordinator = DlmsPollCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    # What the meter said of itself so far; a pushing meter completes it with its telegrams.
    entry.runtime_data = DlmsCosemRuntimeData(coordinator=coordinator, identity=coordinator.identity)
    history = entry.options.get(CONF_HISTORY) and "recorder" in hass.config.components
    if isinstance(coordinator, DlmsPollCoordinator) and history:
        from .history import async_start_history  # noqa: PLC0415 - loads the recorder: only when used

        entry.runtime_data.history = async_start_history(hass, entry, coordinator)
    async_remove_stale_channels(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if isinstance(coordinator, DlmsPushCoordinator):
        entry.async_create_background_task(
            hass, coordinator.async_listen(), f"{DOMAIN} listener {entry.title}"
        )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> bool:
    """Unload a meter's config entry; the coordinator shuts down (closing the port) on unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: DlmsCosemConfigEntry, device: dr.DeviceEntry
) -> bool:
    """The delete button of a device page: an M-Bus channel's device that is not live, nothing else."""
    return await async_remove_channel_device(hass, entry, device)


async def async_remove_entry(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> None:
    """Forget the entry's stored counters and baselines, its repair issues, and its history's last hour."""
    await CounterStore(hass, entry).async_remove()
    for issue_id in (repair_issue_id(entry), replay_issue_id(entry), disputed_issue_id(entry)):
        ir.async_delete_issue(hass, DOMAIN, issue_id)
    await Store[dict[str, str]](hass, 1, history_storage_key(entry.entry_id)).async_remove()
