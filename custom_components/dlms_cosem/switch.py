"""The disconnector switch: reconnects and disconnects the supply (Disconnect control, class 70).

It exists only when the entry may change the meter (management association and the option "allow
changes to the meter"); its name asks for confirmation because turning it off cuts the power. When
the meter refuses, a repair issue says so, and it clears at the next switching the meter accepts.
"""

from __future__ import annotations

from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, LOGGER
from .dlms.axdr import Data
from .dlms.errors import DlmsError
from .dlms.obis import ObisCode
from .entity import DlmsCosemEntity
from .meter_state import (
    DISCONNECT_CONTROL_CLASS_ID,
    REMOTE_DISCONNECT,
    REMOTE_RECONNECT,
    disconnect_controls,
    output_state,
)
from .models import DlmsCosemConfigEntry, MeterSnapshot
from .poll_coordinator import DlmsPollCoordinator
from .services import changes_refused

PARALLEL_UPDATES = 1  # one switching at a time: the meter has one association

DISCONNECTOR = SwitchEntityDescription(key="disconnector", translation_key="disconnector")


def refused_issue_id(entry: DlmsCosemConfigEntry, obis: ObisCode) -> str:
    """The repair issue raised when the meter refuses to switch ``obis``."""
    return f"disconnector_refused_{entry.entry_id}_{obis}"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DlmsCosemConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A switch per disconnect control, only when the entry may change the meter."""
    coordinator = entry.runtime_data.coordinator
    if not isinstance(coordinator, DlmsPollCoordinator) or changes_refused(entry) is not None:
        return
    async_add_entities(
        DisconnectorSwitch(entry, obis) for obis in disconnect_controls(coordinator.object_classes)
    )


class DisconnectorSwitch(DlmsCosemEntity, SwitchEntity):
    """On: the supply is connected. Turning it on reconnects, turning it off disconnects."""

    entity_description = DISCONNECTOR

    def __init__(self, entry: DlmsCosemConfigEntry, obis: ObisCode) -> None:
        super().__init__(entry, f"{obis}_{DISCONNECTOR.key}")
        self._entry = entry
        self._obis = obis

    def _connected(self) -> bool | None:
        snapshot: MeterSnapshot | None = self.coordinator.data
        return None if snapshot is None else output_state(snapshot.attributes, self._obis)

    @property
    @override
    def available(self) -> bool:
        return super().available and self._connected() is not None

    @property
    @override
    def is_on(self) -> bool | None:
        return self._connected()

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._switch(REMOTE_RECONNECT, "reconnect")

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._switch(REMOTE_DISCONNECT, "disconnect")

    async def _switch(self, method: int, what: str) -> None:
        coordinator = self.coordinator
        assert isinstance(coordinator, DlmsPollCoordinator)
        client = coordinator.client
        if client is None:  # pragma: no cover - a polled entry's client exists once set up
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_polled",
                translation_placeholders={"meter": self._entry.title},
            )
        LOGGER.info("Remote %s of %s (%s) asked from Home Assistant", what, self._entry.title, self._obis)
        try:
            await client.action(self._obis, DISCONNECT_CONTROL_CLASS_ID, method, Data.integer(0))
        except DlmsError as err:
            LOGGER.info("The meter %s refused the remote %s: %s", self._entry.title, what, err)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                refused_issue_id(self._entry, self._obis),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="disconnector_refused",
                translation_placeholders={"meter": self._entry.title, "action": what, "error": str(err)},
            )
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="disconnector_refused",
                translation_placeholders={"meter": self._entry.title, "error": str(err)},
            ) from err
        ir.async_delete_issue(self.hass, DOMAIN, refused_issue_id(self._entry, self._obis))
        LOGGER.info("Remote %s of %s done", what, self._entry.title)
        await coordinator.async_refresh()  # read the state back now, not at the next poll
