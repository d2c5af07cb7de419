"""Update entity: the meter's firmware and the progress of an image transfer (class 18), watched only.

The installed version is the active (core) firmware identifier; the latest version is the identifier
of a verified image waiting for activation, else the installed one. While a transfer, verification
or activation runs the entity is in progress (with the blocks transferred in percent while they are
sent); the device's software version follows the installed identifier. It has no install feature:
Home Assistant never starts a transfer on its own; the ``image-transfer`` command does.
"""

from __future__ import annotations

from typing import Any, override

from homeassistant.components.update import UpdateDeviceClass, UpdateEntity, UpdateEntityFeature
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DlmsCosemEntity
from .firmware import FirmwareObjects, FirmwareState
from .models import DlmsCosemConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DlmsCosemConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One firmware entity for a polled meter that lists firmware identifiers or image transfer."""
    objects = getattr(entry.runtime_data.coordinator, "firmware_objects", None)
    if isinstance(objects, FirmwareObjects) and objects:
        async_add_entities([DlmsFirmwareUpdate(entry)])


class DlmsFirmwareUpdate(DlmsCosemEntity, UpdateEntity):
    """The meter's firmware: identifiers, and the image transfer status when the meter reports one."""

    _attr_translation_key = "firmware"
    _attr_device_class = UpdateDeviceClass.FIRMWARE
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_supported_features = UpdateEntityFeature.PROGRESS

    def __init__(self, entry: DlmsCosemConfigEntry) -> None:
        super().__init__(entry, "firmware")

    @property
    def _firmware(self) -> FirmwareState | None:
        state = getattr(self.coordinator, "firmware", None)
        return state if isinstance(state, FirmwareState) else None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """After an activation the device shows the new firmware too."""
        firmware = self._firmware
        device = self.device_entry
        installed = firmware.installed if firmware is not None else None
        if installed and isinstance(device, dr.DeviceEntry) and device.sw_version != installed:
            dr.async_get(self.hass).async_update_device(device.id, sw_version=installed)
        super()._handle_coordinator_update()

    @property
    @override
    def available(self) -> bool:
        return super().available and self._firmware is not None

    @property
    @override
    def installed_version(self) -> str | None:
        firmware = self._firmware
        return firmware.installed if firmware else None

    @property
    @override
    def latest_version(self) -> str | None:
        firmware = self._firmware
        if firmware is None:
            return None
        return firmware.image_to_activate or firmware.installed

    @property
    @override
    def in_progress(self) -> bool:
        firmware = self._firmware
        return firmware is not None and firmware.in_progress

    @property
    @override
    def update_percentage(self) -> int | None:
        firmware = self._firmware
        return firmware.percentage if firmware else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        firmware = self._firmware
        if firmware is None:
            return None
        attributes: dict[str, Any] = {"firmware_identifiers": dict(firmware.identifiers)}
        if firmware.status is not None:
            attributes["image_transfer_status"] = firmware.status.text
        if firmware.blocks_total is not None:
            attributes["blocks_transferred"] = firmware.blocks_transferred
            attributes["blocks_total"] = firmware.blocks_total
        return attributes
