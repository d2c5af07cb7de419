"""Passwords and keys in the flows' forms: asked for, checked, stored, and never sent back.

A form that would show a stored secret shows :data:`SECRET_UNCHANGED` instead; submitting the
placeholder keeps the stored secret, emptying the field removes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import probatio
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType

from .connection import normalize_key
from .const import (
    AUTH_HLS_GMAC,
    AUTH_LLS,
    AUTH_NONE,
    CONF_AUTHENTICATION,
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_PASSWORD,
)
from .dlms.security import InvalidKeyError

SECRET_UNCHANGED: Final = "__**unchanged**__"  # noqa: S105 - a placeholder, not a secret
"""Stands for a stored password or key in a form, so the secret itself never reaches the browser."""

SECRETS: Final = (CONF_PASSWORD, CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY)
KEYS: Final = (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY)

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def secret_fields(data: Mapping[str, Any], *, password: bool) -> dict[Any, Any]:
    """Password (when asked) and keys; a stored one is offered as "unchanged"."""
    fields: dict[Any, Any] = {}
    for key in SECRETS:
        if key == CONF_PASSWORD and not password:
            continue
        marker = probatio.Optional(key)
        if data.get(key):
            marker = probatio.Optional(key, description={"suggested_value": SECRET_UNCHANGED})
        fields[marker] = _PASSWORD
    return fields


def apply_security(
    data: Mapping[str, Any], user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry data with the password and keys from a form, and the fields' errors.

    Keys are stored normalised; an emptied field removes its secret, the "unchanged" placeholder
    keeps it. A password is only kept for LLS, which needs one; HLS-GMAC needs both keys.
    """
    updated = dict(data)
    errors: dict[str, str] = {}
    if CONF_AUTHENTICATION in user_input:
        updated[CONF_AUTHENTICATION] = user_input[CONF_AUTHENTICATION]
    for key in SECRETS:
        text = str(user_input.get(key) or "")
        if text == SECRET_UNCHANGED:
            continue
        updated.pop(key, None)
        if not text.strip():
            continue
        if key == CONF_PASSWORD:
            updated[key] = text
            continue
        try:
            updated[key] = normalize_key(text)
        except InvalidKeyError:
            errors[key] = "invalid_key"
    authentication = updated.get(CONF_AUTHENTICATION, AUTH_NONE)
    if authentication != AUTH_LLS:
        updated.pop(CONF_PASSWORD, None)
    elif not updated.get(CONF_PASSWORD):
        errors[CONF_PASSWORD] = "authentication_failed"
    if authentication == AUTH_HLS_GMAC:
        for key in KEYS:
            if not updated.get(key):
                errors.setdefault(key, "invalid_key")
    return updated, errors
