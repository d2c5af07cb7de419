"""Where the config flow shows a failed probe, and in whose words: the form whose fields can cure it.

A port, a line setting or an address is cured on the connection form, a password or key on the
security form; a network form has no serial port, baud rate or parity to blame, and the MQTT form has
a topic, so some failures read differently there.
"""

from __future__ import annotations

from typing import Final

from ..const import ConnectionType

# Failures whose cure is on the connection form (port, line settings, addresses); the others are shown on
# the security form.
CONNECTION_ERRORS: Final = frozenset(
    {
        "cannot_open_port",
        "no_data",
        "no_valid_frame",
        "timeout",
        "connection_closed",
        "protocol_error",
        "communication_failed",
        "invalid_response",
        "access_denied",
        "cannot_encode",
    }
)
NETWORK_ERRORS: Final = {"cannot_open_port": "cannot_connect", "no_valid_frame": "no_valid_frame_network"}
"""The errors that read differently on a network form (host and port, no line settings)."""
MQTT_ERRORS: Final = {
    "cannot_open_port": "mqtt_not_set_up",  # the subscription failed: Home Assistant's MQTT is not there
    "no_data": "no_data_mqtt",
    "no_valid_frame": "no_valid_frame_mqtt",
}
"""The errors that read differently on the MQTT form (a topic)."""


def shown_error(kind: ConnectionType, reason: str) -> str:
    """The error key the form of ``kind`` shows for the probe's ``reason``."""
    if kind is ConnectionType.MQTT_PUSH:
        return MQTT_ERRORS.get(reason, reason)
    return reason if kind.is_serial else NETWORK_ERRORS.get(reason, reason)


def connection_form(kind: ConnectionType, reason: str) -> str | None:
    """The connection form that cures ``reason`` (its step id); None when the security form does."""
    if reason not in CONNECTION_ERRORS and reason != "mqtt_not_set_up":
        return None
    if kind is ConnectionType.MQTT_PUSH:
        return "mqtt_topic"
    if kind.is_udp:
        return "udp"
    return "serial" if kind.is_serial else "network"
