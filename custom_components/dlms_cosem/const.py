"""Constants shared by the integration's modules: the config entry's keys and their defaults."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Final

DOMAIN: Final = "dlms_cosem"
LOGGER = logging.getLogger(__package__)


class ConnectionType(StrEnum):
    """How the meter is reached, chosen in the first step of the config flow."""

    SERIAL_POLL = "serial_poll"
    NETWORK_POLL = "network_poll"
    UDP_POLL = "udp_poll"  # the IEC 62056-47 wrapper over UDP: NB-IoT meters, PLC data concentrators
    SERIAL_PUSH = "serial_push"
    NETWORK_PUSH = "network_push"
    MQTT_PUSH = "mqtt_push"  # a reader (HAN/P1 bridge) publishes the meter's bytes to an MQTT topic

    @property
    def is_push(self) -> bool:
        """True when the meter pushes telegrams instead of answering polls."""
        return self in (ConnectionType.SERIAL_PUSH, ConnectionType.NETWORK_PUSH, ConnectionType.MQTT_PUSH)

    @property
    def is_serial(self) -> bool:
        """True when the meter is on a serial port (device path or serialx URL)."""
        return self in (ConnectionType.SERIAL_POLL, ConnectionType.SERIAL_PUSH)

    @property
    def is_udp(self) -> bool:
        """True when the meter (or its gateway) speaks the wrapper over UDP."""
        return self is ConnectionType.UDP_POLL


# entry.data
CONF_CONNECTION_TYPE: Final = "connection_type"
CONF_PORT: Final = "port"  # serial: device path or URL; network: TCP or UDP port number
CONF_HOST: Final = "host"
CONF_BAUDRATE: Final = "baudrate"
CONF_PARITY: Final = "parity"  # "n" (8N1) or "e" (8E1)
CONF_HDLC: Final = "hdlc"  # network polled: HDLC over TCP instead of the TCP wrapper
CONF_OPTICAL_MODE_E: Final = "optical_mode_e"
"""Serial polled: the port opens with the IEC 62056-21 mode E opening before HDLC (found by the probe)."""
CONF_DATA_READOUT: Final = "data_readout"
"""Serial polled: the meter answers no HDLC and is read by IEC 62056-21 data readout (modes A, B, C).

Found by the config flow's probe, not asked: an optical port whose meter offers no binary mode."""
CONF_ADVANCED: Final = "advanced"  # the config flow's section holding the addresses
CONF_CLIENT_ADDRESS: Final = "client_address"
CONF_SERVER_LOGICAL_ADDRESS: Final = "server_logical_address"
CONF_SERVER_PHYSICAL_ADDRESS: Final = "server_physical_address"
CONF_ADDRESS_SIZE: Final = "address_size"
CONF_NEGOTIATE_HDLC: Final = "negotiate_hdlc"  # propose longer HDLC frames and windows (default on)
CONF_AUTHENTICATION: Final = "authentication"  # "none", "lls" or "hls_gmac"
CONF_PASSWORD: Final = "password"  # noqa: S105 - the key name, not a secret
CONF_ENCRYPTION_KEY: Final = "encryption_key"
CONF_AUTHENTICATION_KEY: Final = "authentication_key"
CONF_SECURITY_SUITE: Final = "security_suite"  # 0, 1 or 2; stored with the keys, absent means 0
CONF_SYSTEM_TITLE: Final = "system_title"  # of a push meter, learned from its telegrams
CONF_TOPIC: Final = "topic"  # MQTT: the topic a reader publishes the meter's bytes to
CONF_PAYLOAD: Final = "payload"  # MQTT: "auto" (default), "raw" or "hex" (see mqtt_source)


def history_storage_key(entry_id: str) -> str:
    """Where the load profile backfill keeps the last hour it imported, per entry."""
    return f"{DOMAIN}.history.{entry_id}"


# entry.options
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_OBJECTS: Final = "objects"
CONF_MBUS_CHANNELS: Final = "mbus_channels"  # M-Bus channels met: a new one is shown by itself
CONF_PUSH_TIMEOUT: Final = "push_timeout"
# Off unless the user turns it on: the write and execute actions and the disconnector switch need it.
CONF_ALLOW_CHANGES: Final = "allow_changes"
CONF_HISTORY: Final = "history"  # backfill the load profile into long-term statistics
CONF_HISTORY_DAYS: Final = "history_days"  # how far back the first backfill reads
CONF_HISTORY_PROFILE: Final = "history_profile"  # the profile's OBIS code when the meter has several

AUTH_NONE: Final = "none"
AUTH_LLS: Final = "lls"
AUTH_HLS_GMAC: Final = "hls_gmac"

# Security suites with symmetric keys: 0 and 1 use AES-GCM-128 (16-byte keys), 2 AES-GCM-256 (32 bytes).
SECURITY_SUITES: Final = (0, 1, 2)
DEFAULT_SECURITY_SUITE: Final = 0

DEFAULT_SCAN_INTERVAL: Final = 30  # seconds
DEFAULT_HISTORY_DAYS: Final = 7
DEFAULT_PUSH_TIMEOUT: Final = 120  # seconds without telegrams before sensors become unavailable
DEFAULT_WAIT_TELEGRAM: Final = 30  # seconds the config flow waits for a pushed telegram
DEFAULT_TCP_PORT: Final = 4059  # IEC 62056-47
DEFAULT_CLIENT_ADDRESS: Final = 16  # public client
DEFAULT_SERVER_LOGICAL_ADDRESS: Final = 1  # management logical device
DEFAULT_POLL_BAUDRATE: Final = 9600
DEFAULT_PUSH_BAUDRATE: Final = 2400  # M-Bus customer ports (Austria, Luxembourg, ...)

# Repeated decryption or authentication failures before a repair issue is raised.
DECRYPTION_FAILURES_FOR_REPAIR: Final = 3

# Telegrams in a row rejected as replays (none accepted between them) before a repair issue is raised.
REPLAYS_FOR_REPAIR: Final = 3
# Hold back values that cannot be true (guard/plausibility.py); on unless the user turns it off.
CONF_UPDATE_INTERVAL: Final = "update_interval"
"""Seconds between the states a pushing meter's sensor writes (see update_limit; 0: every telegram)."""
CONF_PLAUSIBILITY: Final = "plausibility_guard"
DEFAULT_PLAUSIBILITY: Final = True
