"""Repairs: what the user must decide, asked where Home Assistant shows it.

- A key that stopped working leads the user to enter the new one (the reauth flow).
- Telegrams that are all rejected as replays: the user may accept the meter's new invocation counter
  (after a meter reset or a firmware update the meter counts again from a lower value).
- A total that restarted or jumped, as the meter confirmed: the user accepts its new value, which is
  shown from then on (the plausibility guard holds it back until then).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant

from .coordinator import DlmsCoordinator


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


class _CoordinatorRepairFlow(RepairsFlow):
    """A repair the entry's running coordinator settles once the user confirms."""

    def __init__(self, entry_id: str, placeholders: dict[str, str]) -> None:
        super().__init__()
        self._entry_id = entry_id
        self._placeholders = placeholders

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """The repair starts with the explanation and a confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Explain, and settle it when the user submits."""
        if user_input is None:
            return self.async_show_form(step_id="confirm", description_placeholders=self._placeholders)
        coordinator = self._coordinator()
        if coordinator is None:
            return self.async_abort(reason="not_loaded")
        if not self._settle(coordinator):
            return self.async_abort(reason="nothing_to_accept")
        return self.async_create_entry(data={})

    def _coordinator(self) -> DlmsCoordinator | None:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        runtime = getattr(entry, "runtime_data", None) if entry is not None else None
        coordinator = getattr(runtime, "coordinator", None)
        return coordinator if isinstance(coordinator, DlmsCoordinator) else None

    def _settle(self, coordinator: DlmsCoordinator) -> bool:
        """Do what the user confirmed; False when there was nothing left to do (a stale issue)."""
        raise NotImplementedError


class ReplayRepairFlow(_CoordinatorRepairFlow):
    """Accept the meter's new invocation counter: its telegrams are used again."""

    def _settle(self, coordinator: DlmsCoordinator) -> bool:
        accept = getattr(coordinator, "async_accept_meter_counter", None)
        return bool(accept()) if callable(accept) else False


class DisputedValuesRepairFlow(_CoordinatorRepairFlow):
    """Accept the totals' new values: the sensors show them again."""

    def _settle(self, coordinator: DlmsCoordinator) -> bool:
        return coordinator.async_accept_disputes()


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The fix flow of a repair issue this integration raised."""
    entry_id = str((data or {}).get("entry_id", ""))
    placeholders = {key: str(value) for key, value in (data or {}).items() if key != "entry_id"}
    if issue_id.startswith("replayed_telegrams_"):
        return ReplayRepairFlow(entry_id, placeholders)
    if issue_id.startswith("values_disputed_"):
        return DisputedValuesRepairFlow(entry_id, placeholders)
    return DecryptionFailedRepairFlow(entry_id)
