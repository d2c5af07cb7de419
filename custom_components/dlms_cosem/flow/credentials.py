"""Passwords, keys and their security suite in the flows' forms: asked for, checked, stored, never sent back.

A form that would show a stored secret shows :data:`SECRET_UNCHANGED` instead; submitting the
placeholder keeps the stored secret, emptying the field removes it. A key's length must fit the
chosen security suite (32 hex digits for suites 0 and 1, 64 for suite 2); a kept key is checked too,
since the suite may have changed under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import probatio
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType

from ..connection import normalize_key, security_suite
from ..const import (
    AUTH_HLS_GMAC,
    AUTH_LLS,
    AUTH_NONE,
    CONF_AUTHENTICATION,
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_PASSWORD,
    CONF_SECURITY_SUITE,
    SECURITY_SUITES,
)
from ..dlms.security import InvalidKeyError, suite_key_length
from .forms import select_selector

SECRET_UNCHANGED: Final = "__**unchanged**__"  # noqa: S105 - a placeholder, not a secret
"""Stands for a stored password or key in a form, so the secret itself never reaches the browser."""

SECRETS: Final = (CONF_PASSWORD, CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY)
KEYS: Final = (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY)

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def secret_fields(
    data: Mapping[str, Any], *, password: bool, user_input: Mapping[str, Any] | None = None
) -> dict[Any, Any]:
    """Password (when asked), the keys' security suite and the keys; stored secrets show as "unchanged".

    The suite comes first: it says how long the keys below it are. A refused form keeps the suite
    the user chose (``user_input``), so the error on a key reads against that choice; keys the user
    typed are never shown again.
    """
    suite = security_suite(data)
    if user_input is not None and CONF_SECURITY_SUITE in user_input:
        suite = int(user_input[CONF_SECURITY_SUITE])
    fields: dict[Any, Any] = {}
    if password:
        fields[_secret_marker(data, CONF_PASSWORD)] = _PASSWORD
    fields[probatio.Required(CONF_SECURITY_SUITE, default=str(suite))] = select_selector(
        [str(choice) for choice in SECURITY_SUITES], CONF_SECURITY_SUITE
    )
    for key in KEYS:
        fields[_secret_marker(data, key)] = _PASSWORD
    return fields


def _secret_marker(data: Mapping[str, Any], key: str) -> probatio.Optional:
    if data.get(key):
        return probatio.Optional(key, description={"suggested_value": SECRET_UNCHANGED})
    return probatio.Optional(key)


def apply_security(
    data: Mapping[str, Any], user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry data with the password, suite and keys from a form, and the fields' errors.

    Keys are stored normalised, with their suite (which is dropped with the last key); an emptied
    field removes its secret, the "unchanged" placeholder keeps it. A key that is no key at all is
    ``invalid_key``, one of the other suite's length ``key_length_suite``. A password is only kept
    for LLS, which needs one; HLS-GMAC needs both keys.
    """
    updated = dict(data)
    errors: dict[str, str] = {}
    if CONF_AUTHENTICATION in user_input:
        updated[CONF_AUTHENTICATION] = user_input[CONF_AUTHENTICATION]
    suite = int(user_input.get(CONF_SECURITY_SUITE, security_suite(data)))
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
    for key in KEYS:  # typed now or kept: both must fit the suite chosen now
        stored = updated.get(key)
        if stored and key not in errors and len(stored) != 2 * suite_key_length(suite):
            errors[key] = "key_length_suite"
    updated.pop(CONF_SECURITY_SUITE, None)
    if any(updated.get(key) for key in KEYS):
        updated[CONF_SECURITY_SUITE] = suite
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
