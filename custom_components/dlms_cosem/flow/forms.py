"""The config and options flows' form pieces: selectors, line settings, addresses, ports, objects.

Kept apart from the flows so each flow step reads as what it asks, not how its fields are built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import probatio
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from serialx import SerialPortInfo

from ..connection import DEFAULT_SERVER_PHYSICAL_ADDRESS, PARITY_EVEN, PARITY_NONE
from ..const import (
    CONF_ADDRESS_SIZE,
    CONF_ADVANCED,
    CONF_BAUDRATE,
    CONF_CLIENT_ADDRESS,
    CONF_HISTORY,
    CONF_HISTORY_DAYS,
    CONF_HISTORY_PROFILE,
    CONF_NEGOTIATE_HDLC,
    CONF_PARITY,
    CONF_PAYLOAD,
    CONF_SERVER_LOGICAL_ADDRESS,
    CONF_SERVER_PHYSICAL_ADDRESS,
    CONF_TOPIC,
    DEFAULT_CLIENT_ADDRESS,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_POLL_BAUDRATE,
    DEFAULT_PUSH_BAUDRATE,
    DEFAULT_SERVER_LOGICAL_ADDRESS,
)
from ..mqtt_source import PayloadEncoding, payload_encoding
from ..probe import ObjectChoice

MANUAL_PORT: Final = "manual"
BAUDRATES: Final = ["300", "600", "1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200"]
ADDRESS_SIZES: Final = ("1", "2", "4")
ADDRESSES: Final = (
    CONF_CLIENT_ADDRESS,
    CONF_SERVER_LOGICAL_ADDRESS,
    CONF_SERVER_PHYSICAL_ADDRESS,
    CONF_ADDRESS_SIZE,
)
ADVANCED: Final = (*ADDRESSES, CONF_NEGOTIATE_HDLC)
"""What the advanced section sets: the addresses, and whether HDLC limits are negotiated."""


def required(key: str, default: Any = None) -> probatio.Required:
    """A required field, with a default only when there is one (None would be offered as a value)."""
    return probatio.Required(key) if default is None else probatio.Required(key, default=default)


def number_selector(minimum: int, maximum: int, unit: str | None = None) -> NumberSelector:
    """A box for whole numbers: addresses and ports are typed, not slid to."""
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def select_selector(options: list[str], translation_key: str | None = None) -> SelectSelector:
    """A drop-down, its options translated when ``translation_key`` names them in strings.json."""
    config = SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
    if translation_key is not None:
        config["translation_key"] = translation_key
    return SelectSelector(config)


def line_fields(data: Mapping[str, Any], *, push: bool) -> dict[Any, Any]:
    """Baud rate and parity: as before, else 2400 8E1 for a customer port, 9600 8N1 for polling."""
    baudrate = data.get(CONF_BAUDRATE, DEFAULT_PUSH_BAUDRATE if push else DEFAULT_POLL_BAUDRATE)
    parity = data.get(CONF_PARITY, PARITY_EVEN if push else PARITY_NONE)
    return {
        probatio.Required(CONF_BAUDRATE, default=str(baudrate)): select_selector(BAUDRATES),
        probatio.Required(CONF_PARITY, default=parity): select_selector([PARITY_NONE, PARITY_EVEN], "parity"),
    }


def topic_fields(data: Mapping[str, Any]) -> dict[Any, Any]:
    """The MQTT topic a reader publishes to, and how its messages carry the bytes (auto-detected)."""
    return {
        required(CONF_TOPIC, data.get(CONF_TOPIC)): TextSelector(),
        probatio.Required(CONF_PAYLOAD, default=payload_encoding(data).value): select_selector(
            [encoding.value for encoding in PayloadEncoding], CONF_PAYLOAD
        ),
    }


def topic_from(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The topic and payload encoding as stored (the topic without surrounding blanks)."""
    return {CONF_TOPIC: str(user_input[CONF_TOPIC]).strip(), CONF_PAYLOAD: str(user_input[CONF_PAYLOAD])}


def advanced_section(data: Mapping[str, Any]) -> section:
    """Addresses and HDLC negotiation of a polled meter, folded away: the defaults suit most meters."""
    fields: dict[Any, Any] = {
        probatio.Required(
            CONF_CLIENT_ADDRESS, default=int(data.get(CONF_CLIENT_ADDRESS, DEFAULT_CLIENT_ADDRESS))
        ): number_selector(0, 0x7F),
        probatio.Required(
            CONF_SERVER_LOGICAL_ADDRESS,
            default=int(data.get(CONF_SERVER_LOGICAL_ADDRESS, DEFAULT_SERVER_LOGICAL_ADDRESS)),
        ): number_selector(0, 0x3FFF),
        probatio.Required(
            CONF_SERVER_PHYSICAL_ADDRESS,
            default=int(data.get(CONF_SERVER_PHYSICAL_ADDRESS, DEFAULT_SERVER_PHYSICAL_ADDRESS)),
        ): number_selector(0, 0x3FFF),
    }
    size = data.get(CONF_ADDRESS_SIZE)
    size_key = (
        probatio.Optional(CONF_ADDRESS_SIZE, default=str(size))
        if size
        else probatio.Optional(CONF_ADDRESS_SIZE)
    )
    fields[size_key] = select_selector(list(ADDRESS_SIZES))
    fields[probatio.Required(CONF_NEGOTIATE_HDLC, default=bool(data.get(CONF_NEGOTIATE_HDLC, True)))] = (
        BooleanSelector()
    )
    return section(probatio.Schema(fields), {"collapsed": True})


def wrapper_section(data: Mapping[str, Any]) -> section:
    """Client and logical device (wPort) for the wrapper on UDP, shown open.

    Behind a data concentrator the logical device is how the user picks the meter; there are no HDLC
    addresses to set.
    """
    fields: dict[Any, Any] = {
        probatio.Required(
            CONF_CLIENT_ADDRESS, default=int(data.get(CONF_CLIENT_ADDRESS, DEFAULT_CLIENT_ADDRESS))
        ): number_selector(0, 0xFFFF),
        probatio.Required(
            CONF_SERVER_LOGICAL_ADDRESS,
            default=int(data.get(CONF_SERVER_LOGICAL_ADDRESS, DEFAULT_SERVER_LOGICAL_ADDRESS)),
        ): number_selector(0, 0xFFFF),
    }
    return section(probatio.Schema(fields), {"collapsed": False})


def advanced_from(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The section as entry data: addresses as integers (no size: the smallest that fits), the switch."""
    advanced = user_input.get(CONF_ADVANCED, {})
    data: dict[str, Any] = {
        key: int(advanced[key]) for key in ADDRESSES if advanced.get(key) not in (None, "")
    }
    if CONF_NEGOTIATE_HDLC in advanced:
        data[CONF_NEGOTIATE_HDLC] = bool(advanced[CONF_NEGOTIATE_HDLC])
    return data


def port_label(port: SerialPortInfo) -> str:
    """The device path with what tells adapters apart: product, manufacturer, serial number."""
    details = [detail for detail in (port.product, port.manufacturer) if detail]
    if port.serial_number:
        details.append(f"s/n {port.serial_number}")
    return f"{port.device} ({', '.join(details)})" if details else str(port.device)


def port_selector(ports: Mapping[str, str], current: str | None, *, manual: bool) -> SelectSelector:
    """The serial ports found, the current one, and "enter manually" (or typing a path right in)."""
    options = [SelectOptionDict(value=device, label=label) for device, label in ports.items()]
    if current and current not in ports:
        options.insert(0, SelectOptionDict(value=current, label=current))
    if manual:
        options.append(SelectOptionDict(value=MANUAL_PORT, label="Enter manually"))
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            mode=SelectSelectorMode.DROPDOWN,
            translation_key="serial_port",
            custom_value=not manual,
        )
    )


def objects_selector(choices: list[ObjectChoice]) -> SelectSelector:
    """All objects as a list of checkboxes: labels carry the current values, which help choose."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=choice.obis, label=choice.label) for choice in choices],
            multiple=True,
            mode=SelectSelectorMode.LIST,
        )
    )


#: The most days the first backfill may read (a 15-minute profile holds about 10 to 40 days).
MAX_HISTORY_DAYS: Final = 90


def history_fields(options: Mapping[str, Any], profiles: list[str]) -> dict[Any, Any]:
    """The load profile backfill's options: on/off, days back, and the profile when the meter lists one."""
    fields: dict[Any, Any] = {
        probatio.Required(CONF_HISTORY, default=bool(options.get(CONF_HISTORY, False))): BooleanSelector(),
        probatio.Required(
            CONF_HISTORY_DAYS, default=int(options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        ): number_selector(1, MAX_HISTORY_DAYS, "d"),
    }
    current = options.get(CONF_HISTORY_PROFILE)
    choices = sorted({*profiles, *([current] if isinstance(current, str) and current else [])})
    if choices:
        key = (
            probatio.Optional(CONF_HISTORY_PROFILE, default=current)
            if current
            else probatio.Optional(CONF_HISTORY_PROFILE)
        )
        fields[key] = select_selector(choices)
    return fields


def history_options(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The backfill's options from the submitted form."""
    options: dict[str, Any] = {
        CONF_HISTORY: bool(user_input.get(CONF_HISTORY, False)),
        CONF_HISTORY_DAYS: int(user_input.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)),
    }
    if user_input.get(CONF_HISTORY_PROFILE):
        options[CONF_HISTORY_PROFILE] = str(user_input[CONF_HISTORY_PROFILE])
    return options
