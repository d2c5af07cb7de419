"""Config flow for the DLMS/COSEM smart meter integration."""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME

from .const import DOMAIN

STEP_USER_SCHEMA = probatio.Schema({probatio.Required(CONF_NAME): str})


class DlmsCosemConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a meter; connection, security and object steps come with the stack."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the meter's name."""
        if user_input is not None:
            return self.async_create_entry(title=user_input[CONF_NAME], data={})
        return self.async_show_form(step_id="user", data_schema=STEP_USER_SCHEMA)
