"""Repairs: a key that stopped working leads the user to enter the new one."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant


class DecryptionFailedRepairFlow(RepairsFlow):
    """After the user confirms, ask for the new keys (the reauth flow) and close the repair."""

    def __init__(self, entry_id: str) -> None:
        super().__init__()
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """The repair starts with the explanation and a confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start the reauth flow, which asks for the keys and checks them against the meter."""
        if user_input is not None:
            entry = self.hass.config_entries.async_get_entry(self._entry_id)
            if entry is not None:
                entry.async_start_reauth(self.hass)
            return self.async_create_entry(data={})
        return self.async_show_form(step_id="confirm")


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The fix flow of a repair issue this integration raised."""
    entry_id = str((data or {}).get("entry_id", ""))
    return DecryptionFailedRepairFlow(entry_id)
