"""The options flow: polling interval or telegram timeout, the objects shown, and the guard's switch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.config_entries import (
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.helpers.selector import BooleanSelector

from ..const import (
    CONF_ALLOW_CHANGES,
    CONF_CONNECTION_TYPE,
    CONF_DATA_READOUT,
    CONF_HISTORY_PROFILE,
    CONF_OBJECTS,
    CONF_PLAUSIBILITY,
    CONF_PUSH_TIMEOUT,
    CONF_SCAN_INTERVAL,
    CONF_UPDATE_INTERVAL,
    DEFAULT_PLAUSIBILITY,
    DEFAULT_PUSH_TIMEOUT,
    DEFAULT_SCAN_INTERVAL,
    ConnectionType,
)
from ..dlms.errors import DlmsError
from ..dlms.obis import ObisCode
from ..models import MeterReading
from ..probe import (
    async_object_names,
    object_choices,
)
from ..update_limit import DEFAULT_UPDATE_INTERVAL
from .forms import (
    history_fields,
    history_options,
    number_selector,
    objects_selector,
)


class DlmsCosemOptionsFlow(OptionsFlowWithReload):
    """Polling interval or telegram timeout, and the objects shown; the entry reloads with them."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form: what the meter offers (as the coordinator last saw it) and what is selected."""
        entry = self.config_entry
        push = ConnectionType(entry.data[CONF_CONNECTION_TYPE]).is_push
        # A meter read out by IEC 62056-21 has no association: nothing to change, no profile to read.
        associated = not push and not entry.data.get(CONF_DATA_READOUT)
        if user_input is not None:
            options: dict[str, Any] = {
                **entry.options,
                CONF_OBJECTS: list(user_input.get(CONF_OBJECTS, [])),
                CONF_PLAUSIBILITY: bool(user_input.get(CONF_PLAUSIBILITY, DEFAULT_PLAUSIBILITY)),
            }
            if push:
                options[CONF_PUSH_TIMEOUT] = int(user_input[CONF_PUSH_TIMEOUT])
                options[CONF_UPDATE_INTERVAL] = int(
                    user_input.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL)
                )
            else:
                options[CONF_SCAN_INTERVAL] = int(user_input[CONF_SCAN_INTERVAL])
            if associated:
                options[CONF_ALLOW_CHANGES] = bool(user_input.get(CONF_ALLOW_CHANGES, False))
                options.pop(CONF_HISTORY_PROFILE, None)
                options.update(history_options(user_input))
            return self.async_create_entry(data=options)

        readings: dict[ObisCode, MeterReading | None] = {}
        coordinator = getattr(getattr(entry, "runtime_data", None), "coordinator", None)
        available = getattr(coordinator, "available_objects", None)
        if isinstance(available, Mapping):
            readings.update(available)
        selected: list[ObisCode] = []
        for text in entry.options.get(CONF_OBJECTS, []):
            try:
                obis = ObisCode.parse(text)
            except DlmsError:
                continue  # the coordinator ignores it too
            readings.setdefault(obis, None)
            selected.append(obis)
        choices = object_choices(readings, await async_object_names(self.hass), selected)
        fields: dict[Any, Any] = {}
        if push:
            fields[
                probatio.Required(
                    CONF_PUSH_TIMEOUT, default=int(entry.options.get(CONF_PUSH_TIMEOUT, DEFAULT_PUSH_TIMEOUT))
                )
            ] = number_selector(10, 3600, "s")
            fields[
                probatio.Required(
                    CONF_UPDATE_INTERVAL,
                    default=int(entry.options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL)),
                )
            ] = number_selector(0, 3600, "s")
        else:
            fields[
                probatio.Required(
                    CONF_SCAN_INTERVAL,
                    default=int(entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)),
                )
            ] = number_selector(1, 3600, "s")
        fields[probatio.Optional(CONF_OBJECTS, default=[str(obis) for obis in selected])] = objects_selector(
            choices
        )
        guarded = bool(entry.options.get(CONF_PLAUSIBILITY, DEFAULT_PLAUSIBILITY))
        fields[probatio.Optional(CONF_PLAUSIBILITY, default=guarded)] = BooleanSelector()
        if associated:
            allowed = bool(entry.options.get(CONF_ALLOW_CHANGES, False))
            fields[probatio.Optional(CONF_ALLOW_CHANGES, default=allowed)] = BooleanSelector()
            profiles = getattr(coordinator, "profiles", None)
            listed = [str(obis) for obis in profiles] if isinstance(profiles, list) else []
            fields.update(history_fields(entry.options, listed))
        return self.async_show_form(step_id="init", data_schema=probatio.Schema(fields))
