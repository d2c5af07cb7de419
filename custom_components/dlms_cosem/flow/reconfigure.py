"""The reconfigure form: every connection setting of an entry on one form, and what the user changed.

The user flow asks for the connection, the addresses and the secrets on separate forms; reconfigure
shows them together for the entry's kind (a serial port, a host, a topic), and the meter is probed with
the result before it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.helpers.selector import BooleanSelector, TextSelector

from ..const import (
    AUTH_HLS_GMAC,
    AUTH_LLS,
    AUTH_NONE,
    CONF_ADVANCED,
    CONF_AUTHENTICATION,
    CONF_BAUDRATE,
    CONF_CONNECTION_TYPE,
    CONF_HDLC,
    CONF_HOST,
    CONF_PARITY,
    CONF_PORT,
    CONF_TOPIC,
    ConnectionType,
)
from ..mqtt_source import valid_topic
from .credentials import apply_security, secret_fields
from .forms import (
    ADVANCED,
    advanced_from,
    advanced_section,
    line_fields,
    number_selector,
    port_selector,
    select_selector,
    topic_fields,
    topic_from,
    wrapper_section,
)


def reconfigured(
    data: Mapping[str, Any], user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry's data with the form's settings, and the form's errors (none: probe the meter)."""
    kind = ConnectionType(data[CONF_CONNECTION_TYPE])
    changed = dict(data)
    errors: dict[str, str] = {}
    if kind is ConnectionType.MQTT_PUSH:
        changed.update(topic_from(user_input))
        if not valid_topic(changed[CONF_TOPIC]):
            errors[CONF_TOPIC] = "invalid_topic"
    elif kind.is_serial:
        changed.update(
            {
                CONF_PORT: str(user_input[CONF_PORT]).strip(),
                CONF_BAUDRATE: int(user_input[CONF_BAUDRATE]),
                CONF_PARITY: user_input[CONF_PARITY],
            }
        )
    else:
        changed.update({CONF_HOST: user_input[CONF_HOST].strip(), CONF_PORT: int(user_input[CONF_PORT])})
    if not kind.is_push:
        if not kind.is_serial and not kind.is_udp:
            changed[CONF_HDLC] = bool(user_input.get(CONF_HDLC, False))
        for key in ADVANCED:
            changed.pop(key, None)
        changed.update(advanced_from(user_input))
    changed, security_errors = apply_security(changed, user_input)
    return changed, errors | security_errors


def reconfigure_fields(
    data: Mapping[str, Any], ports: Mapping[str, str], user_input: Mapping[str, Any] | None
) -> dict[Any, Any]:
    """The form's fields for the entry's kind, filled in with its settings (secrets as placeholders)."""
    kind = ConnectionType(data[CONF_CONNECTION_TYPE])
    fields: dict[Any, Any] = {}
    if kind is ConnectionType.MQTT_PUSH:
        fields.update(topic_fields(data))
    elif kind.is_serial:
        fields[probatio.Required(CONF_PORT, default=data[CONF_PORT])] = port_selector(
            ports, data[CONF_PORT], manual=False
        )
        fields.update(line_fields(data, push=kind.is_push))
    else:
        fields[probatio.Required(CONF_HOST, default=data[CONF_HOST])] = TextSelector()
        fields[probatio.Required(CONF_PORT, default=int(data[CONF_PORT]))] = number_selector(1, 65535)
        if not kind.is_push and not kind.is_udp:
            fields[probatio.Required(CONF_HDLC, default=bool(data.get(CONF_HDLC, False)))] = BooleanSelector()
    if not kind.is_push:
        fields[probatio.Required(CONF_AUTHENTICATION, default=data.get(CONF_AUTHENTICATION, AUTH_NONE))] = (
            select_selector([AUTH_NONE, AUTH_LLS, AUTH_HLS_GMAC], "authentication")
        )
    fields.update(secret_fields(data, password=not kind.is_push, user_input=user_input))
    if not kind.is_push:
        form_section = wrapper_section(data) if kind.is_udp else advanced_section(data)
        fields[probatio.Required(CONF_ADVANCED)] = form_section
    return fields
