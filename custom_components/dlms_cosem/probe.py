"""Meet a meter before its entry exists: who it is and which objects it offers.

The config flow probes a polled meter (associate, read its identity, object list and current values,
release) or listens to a push port until one telegram decodes. Failures become :class:`ProbeError`
with the flow's error key, so the user sees why (port, baud rate, key, password) instead of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, cast

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.components.sensor.const import UNIT_CONVERTERS
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .connection import (
    client_settings,
    connection_type,
    create_transport,
    endpoint,
    load_client,
    readout_settings,
    security_keys,
    stream_opener,
    sync_invocation_counter,
)
from .const import (
    CONF_DATA_READOUT,
    CONF_OPTICAL_MODE_E,
    CONF_SERVER_LOGICAL_ADDRESS,
    DEFAULT_SERVER_LOGICAL_ADDRESS,
    DOMAIN,
    LOGGER,
    ConnectionType,
)
from .dlms.axdr import Data
from .dlms.errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    AuthenticationTagMismatchError,
    CommunicationError,
    ConnectionLostError,
    DecodeError,
    DlmsError,
    EncodeError,
    FrameError,
    InvalidSettingsError,
    MeterNotRespondingError,
    MissingKeyError,
    PortUnavailableError,
    ProtocolError,
    SecurityError,
    ServiceError,
    UnauthenticatedTelegramError,
    UncheckedTagError,
    WrongEncryptionKeyError,
)
from .dlms.listener import LinkStatus, ListenerEvent, PushListener
from .dlms.obis import ObisCode
from .dlms.push import PushObject, plain_value
from .dlms.security import InvalidKeyError, KeySuiteMismatchError
from .dlms.telegram import Telegram, TelegramFailure
from .dlms.transport.readout import read_out
from .dlms.transport.streams import close_stream
from .dlms.transport.udp import UdpEndpoint
from .meter_identity import IDENTITY_CODES, LOGICAL_DEVICE_NAME, identity_from_readings
from .models import MeterIdentity, MeterReading
from .mqtt_source import topic_place
from .obis_catalog import GENERIC_TRANSLATION_KEY, catalog_entry, describe
from .positions import METER_NUMBER, keyed_objects, position_of

# Interface classes whose attribute 2 is a value: Data, Register, Extended and Demand Register.
VALUE_CLASSES: Final = frozenset({1, 3, 4, 5})
# What most people want on the Energy dashboard and the overview; the rest stays one click away.
PRESELECTED_DEVICE_CLASSES: Final = frozenset(
    {SensorDeviceClass.ENERGY, SensorDeviceClass.POWER, SensorDeviceClass.VOLTAGE, SensorDeviceClass.CURRENT}
)

CODED_TELEGRAM_WAIT: float = 12.0
"""Seconds the probe listens on after a telegram of bare values for one that names its objects.

Norwegian Kaifa meters push list 1 (active power alone, no code, no list identifier) every 2 seconds
and list 2 (with the list identifier that names every value, and the meter number) every 10: the flow
would otherwise offer one unnamed value and name the meter after its port.
"""

# Value group D of what is preselected: instantaneous values (7) and totals (8).
_PRESELECTED_KINDS: Final = frozenset({7, 8})

# Shorter than the coordinator's link timeouts: the user is waiting in front of the form.
PROBE_RESPONSE_TIMEOUT: float = 5.0
PROBE_MAX_RETRIES: int = 1

_MAX_TEXT = 32
_THOUSANDS = "\u202f"  # narrow no-break space: "12 937 Wh" never breaks across lines


class ProbeError(Exception):
    """The probe failed; ``reason`` is the config flow's error key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ObjectChoice:
    """One object the user may turn into a sensor."""

    obis: str
    label: str
    preselected: bool


@dataclass(frozen=True, slots=True)
class MeterProbe:
    """What the probe learned: who the meter is and the objects it offers."""

    identity: MeterIdentity
    unique_id: str
    objects: list[ObjectChoice]
    data_readout: bool = False
    """The meter answered an IEC 62056-21 data readout, not HDLC: it is polled that way."""
    optical_mode_e: bool = False
    """The meter answered HDLC only after the IEC 62056-21 mode E opening: its port opens that way."""


# Most specific first: the authentication and key errors derive from the general ones.
_REASONS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (PortUnavailableError, "cannot_open_port"),
    (MeterNotRespondingError, "timeout"),
    (AuthenticationTagMismatchError, "wrong_key"),
    (UncheckedTagError, "wrong_key_tag_unchecked"),
    (WrongEncryptionKeyError, "wrong_encryption_key"),
    (MissingKeyError, "missing_key"),
    (UnauthenticatedTelegramError, "not_authenticated"),
    # A pushed telegram of another suite than the key's length fits (a 16-byte key, suite 2 telegrams).
    (KeySuiteMismatchError, "key_length_suite"),
    (InvalidKeyError, "invalid_key"),
    (AuthenticationFailedError, "authentication_failed"),
    (AssociationRejectedError, "association_rejected"),
    (ConnectionLostError, "connection_closed"),
    (ProtocolError, "protocol_error"),
    (CommunicationError, "communication_failed"),
    (FrameError, "no_valid_frame"),
    (DecodeError, "invalid_response"),
    (AccessDeniedError, "access_denied"),
    (ServiceError, "meter_refused"),
    (SecurityError, "security_failed"),
    (EncodeError, "cannot_encode"),  # a setting the request cannot carry (an address too large for its size)
    (InvalidSettingsError, "cannot_encode"),  # settings that contradict each other
    # Every error of the stack has its own key above; this is for the ones added later.
    (DlmsError, "meter_error"),
)


def probe_error(err: Exception) -> ProbeError:
    """The flow's error for a failure; anything unforeseen is logged (messages never carry keys)."""
    if isinstance(err, ProbeError):
        return err
    for kind, reason in _REASONS:
        if isinstance(err, kind):
            LOGGER.debug("Probing the meter failed: %s", err)
            return ProbeError(reason)
    LOGGER.exception("Unexpected error while probing the meter")
    return ProbeError("unknown")


# --- labels -------------------------------------------------------------------------------------------


async def async_object_names(hass: HomeAssistant) -> dict[str, str]:
    """The sensor names in Home Assistant's language, to label objects as their sensors will be named."""
    return await async_get_translations(hass, hass.config.language, "entity", {DOMAIN})


def _name(obis: ObisCode, unit: str | None, names: Mapping[str, str]) -> str | None:
    description = describe(obis, unit)
    key = description.translation_key
    if key is None or key == GENERIC_TRANSLATION_KEY:
        return None
    template = names.get(f"component.{DOMAIN}.entity.sensor.{key}.name")
    if template is None:
        return None
    # The translations' placeholders are checked against the English ones by the tests.
    return template.format(**(description.translation_placeholders or {}))


def _number(value: float, decimals: int | None = None) -> str:
    if decimals is not None:
        text = f"{value:,.{decimals}f}"
    else:
        text = f"{round(value, 3) if isinstance(value, float) else value:,}"
    return text.replace(",", _THOUSANDS)


def _value_text(obis: ObisCode, reading: MeterReading) -> str | None:
    """The value as its sensor will show it: scaled, in the unit and with the decimals it is shown in.

    A register pushed without its scaler and unit reads in the unit its code is defined in (an energy
    register in Wh), shown in kWh as the sensor shows it: "4 408.736 kWh", not "4 408 736".
    """
    description = describe(obis, reading.unit)
    value = description.value_fn(reading)
    if isinstance(value, datetime):
        return dt_util.as_local(value).strftime("%Y-%m-%d %H:%M:%S")  # no microseconds
    if isinstance(value, int | float) and not isinstance(value, bool):
        unit = description.native_unit_of_measurement
        shown = description.suggested_unit_of_measurement or unit
        converter = UNIT_CONVERTERS.get(description.device_class)
        if shown != unit and converter is not None and {unit, shown} <= converter.VALID_UNITS:
            value = converter.convert(value, unit, shown)
        else:
            shown = unit
        text = _number(value, description.suggested_display_precision)
        return f"{text} {shown}" if shown else text
    if not isinstance(value, str):
        return None
    return value if len(value) <= _MAX_TEXT else f"{value[: _MAX_TEXT - 1]}…"


def object_label(obis: ObisCode, reading: MeterReading | None, names: Mapping[str, str]) -> str:
    """The sensor's name, the code and what it reads now: "Energy import (1.0.1.8.0.255) - 12.937 kWh"."""
    name = _name(obis, reading.unit if reading else None, names)
    # A positional key is no code a user could look up: the name says all there is.
    label = name if name and position_of(obis) else f"{name} ({obis})" if name else str(obis)
    value = _value_text(obis, reading) if reading is not None else None
    return f"{label} - {value}" if value else label


def is_preselected(obis: ObisCode, unit: str | None) -> bool:
    """Energy, power, voltage and current registers the catalog knows: the totals and instantaneous values.

    Demand averages (value group D 4 and 5) are offered, not preselected: they repeat the power.
    """
    return (
        obis.d in _PRESELECTED_KINDS
        and catalog_entry(obis) is not None
        and describe(obis, unit).device_class in PRESELECTED_DEVICE_CLASSES
    )


def object_choices(
    readings: Mapping[ObisCode, MeterReading | None],
    names: Mapping[str, str],
    selected: Collection[ObisCode] = (),
) -> list[ObjectChoice]:
    """The objects as the flows offer them: preselected first, then known ones, then by code.

    Who the meter is (meter number, type, firmware, list identifier) is the device's maker, model,
    serial number and firmware, not a sensor: offered only where an earlier choice made it one.
    """
    choices = []
    for obis, reading in readings.items():
        if obis in IDENTITY_CODES and obis not in selected:
            continue
        preselected = is_preselected(obis, reading.unit if reading else None)
        label = object_label(obis, reading, names)
        choices.append((not preselected, catalog_entry(obis) is None, obis, label, preselected))
    return [
        ObjectChoice(obis=str(obis), label=label, preselected=preselected)
        for _, _, obis, label, preselected in sorted(choices, key=lambda choice: choice[:3])
    ]


# --- identity -----------------------------------------------------------------------------------------


def _text(value: Data | Exception) -> str | None:
    """An identifier as text: printable as it is, binary in hex, numbers in decimal."""
    if not isinstance(value, Data):
        return None  # the meter has no such object
    raw = plain_value(value)
    if isinstance(raw, bytes):
        raw = raw.rstrip(b"\x00").hex().upper()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, str) and (raw := raw.strip("\x00 ")):
        return raw
    return None


def _fallback_id(data: Mapping[str, Any]) -> str:
    """A meter that names itself nowhere is the meter on its port, and behind a gateway at its wPort."""
    where = topic_place(data) if connection_type(data) is ConnectionType.MQTT_PUSH else str(endpoint(data))
    logical = int(data.get(CONF_SERVER_LOGICAL_ADDRESS, DEFAULT_SERVER_LOGICAL_ADDRESS))
    return where if logical == DEFAULT_SERVER_LOGICAL_ADDRESS else f"{where} logical device {logical}"


# --- polled meters ------------------------------------------------------------------------------------


#: A polled meter that gave these answers to HDLC may be an optical port that wants an opening first.
_NO_HDLC_ANSWER: Final = frozenset({"timeout", "no_valid_frame", "protocol_error"})


async def probe_polled_meter(hass: HomeAssistant, data: Mapping[str, Any]) -> MeterProbe:
    """Associate, read the meter's identity, objects and their values, then release the association.

    A meter on a serial port that does not answer HDLC may be behind an optical port: see
    :func:`_probe_optical_port`. An entry read out before tries the readout first.
    """
    if data.get(CONF_DATA_READOUT):
        with contextlib.suppress(ProbeError):
            return await probe_readout_meter(hass, data)
    try:
        return await _associate(hass, data)
    except ProbeError as failure:
        if connection_type(data) is not ConnectionType.SERIAL_POLL or failure.reason not in _NO_HDLC_ANSWER:
            raise
        return await _probe_optical_port(hass, data, failure)


async def _probe_optical_port(
    hass: HomeAssistant, data: Mapping[str, Any], failure: ProbeError
) -> MeterProbe:
    r"""HDLC got no answer: the IEC 62056-21 sign-on finds out whether an optical port is there, and how.

    A meter whose identification announces binary mode (``\2``) speaks HDLC after the mode E opening;
    one that does not is read out (modes A, B, C). When nothing answers the sign-on, or neither works,
    the HDLC failure is the one reported: the settings on the form are HDLC's.
    """
    if not data.get(CONF_OPTICAL_MODE_E):
        try:
            probe = await _associate(hass, {**data, CONF_OPTICAL_MODE_E: True})
        except ProbeError as opening_failure:
            if opening_failure.reason != "protocol_error":  # no identification: nobody on an optical port
                LOGGER.debug("No answer to the mode E opening either: %s", opening_failure.reason)
                raise failure from None
        else:
            return replace(probe, optical_mode_e=True)
    try:
        return await probe_readout_meter(hass, data)
    except ProbeError as readout_failure:
        LOGGER.debug("Nor does the meter answer a data readout: %s", readout_failure.reason)
        raise failure from None


async def _associate(hass: HomeAssistant, data: Mapping[str, Any]) -> MeterProbe:
    try:
        return await _probe_polled_meter(hass, data)
    except Exception as err:
        raise probe_error(err) from err


async def probe_readout_meter(hass: HomeAssistant, data: Mapping[str, Any]) -> MeterProbe:
    """Read the meter out by IEC 62056-21 (sign-on at 300 baud, mode A, B or C): its identity and values."""
    try:
        names = await async_object_names(hass)
        where = endpoint(data)
        assert not isinstance(where, UdpEndpoint)  # only serial polled entries are read out
        result = await read_out(where, readout_settings(PROBE_RESPONSE_TIMEOUT, PROBE_MAX_RETRIES))
    except Exception as err:
        raise probe_error(err) from err
    telegram = result.telegram
    readings = _push_readings(telegram.content.objects)
    identity = identity_from_readings(readings, None, telegram.identification)
    unique_id = identity.serial_number or _fallback_id(data)
    return MeterProbe(identity, unique_id, object_choices(readings, names), data_readout=True)


async def _probe_polled_meter(hass: HomeAssistant, data: Mapping[str, Any]) -> MeterProbe:
    # The client is loaded when a polled meter is probed, not with the config flow (import time),
    # and in the import executor, out of the event loop.
    await hass.async_add_import_executor_job(load_client)
    from .dlms.client import DlmsClient, RegisterReference, RegisterValue  # noqa: PLC0415

    names = await async_object_names(hass)
    timeouts: dict[str, Any] = {"response_timeout": PROBE_RESPONSE_TIMEOUT, "max_retries": PROBE_MAX_RETRIES}
    settings = client_settings(data)
    client = DlmsClient(create_transport(hass, data, **timeouts), settings)
    try:
        if settings.ciphered:
            await sync_invocation_counter(hass, data, client, **timeouts)
        context = await client.connect()
        logical_device_name, serial_number = await client.get_many(
            [(LOGICAL_DEVICE_NAME, 1, 2), (METER_NUMBER, 1, 2)]
        )
        entries = await client.read_object_list()
        # Meters that list no access rights get the benefit of the doubt.
        wanted = [
            RegisterReference(entry.obis, entry.class_id)
            for entry in entries
            if entry.class_id in VALUE_CLASSES and (not entry.attribute_access or entry.readable(2))
        ]
        readings: dict[ObisCode, MeterReading | None] = dict.fromkeys((ref.obis for ref in wanted), None)
        for value in await client.read_registers(wanted) if wanted else []:
            if isinstance(value, RegisterValue):
                readings[value.obis] = MeterReading(
                    value=value.value, unit=value.unit, raw=value.raw.to_python()
                )
    finally:
        await client.close()
    identity = MeterIdentity(
        serial_number=_text(serial_number),
        logical_device_name=_text(logical_device_name),
        system_title=context.server_system_title,
    )
    unique_id = (
        identity.serial_number
        or identity.logical_device_name
        or (identity.system_title.hex().upper() if identity.system_title else None)
        or _fallback_id(data)
    )
    return MeterProbe(identity, unique_id, object_choices(readings, names))


# --- push meters --------------------------------------------------------------------------------------


def _push_readings(objects: tuple[PushObject, ...]) -> dict[ObisCode, MeterReading | None]:
    return {key: MeterReading.from_push_object(obj) for key, obj in keyed_objects(objects)}


async def probe_push_meter(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    timeout: float,  # noqa: ASYNC109 - the wait ends in an answer (no_data), not in a cancellation
) -> MeterProbe:
    """Listen to the push port until a telegram decodes, or fail once ``timeout`` seconds have passed."""
    try:
        return await _probe_push_meter(hass, data, timeout)
    except Exception as err:
        raise probe_error(err) from err


async def _probe_push_meter(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    timeout: float,  # noqa: ASYNC109
) -> MeterProbe:
    names = await async_object_names(hass)
    if connection_type(data).is_udp:  # no push over UDP: the flow offers none
        raise ProbeError("cannot_open_port")
    open_push_stream = stream_opener(data, hass)
    streams: list[asyncio.StreamWriter] = []

    async def open_tracked() -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        reader, writer = await open_push_stream()
        if writer is not None:
            streams.append(writer)
        return reader, writer

    listener = PushListener(open_tracked, security_keys(data))
    # An async generator: closing it closes the stream (the port is exclusive while open).
    events = cast("AsyncGenerator[ListenerEvent]", listener.events())
    telegram: Telegram | None = None
    bare: Telegram | None = (
        None  # a telegram whose values are all unnamed, while one that names them is awaited
    )
    opened = False
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout) as waiting:
            async for event in events:
                if isinstance(event, LinkStatus):
                    # The listener retries for ever; the flow reports a port that never opened.
                    if not event.connected and not opened:
                        raise PortUnavailableError(event.reason or "the port cannot be opened")
                    opened = True
                elif isinstance(event, TelegramFailure):
                    # A key problem repeats with every telegram (and nothing is a replay before the
                    # first one decodes); a cut or garbled telegram may be followed by a whole one.
                    if isinstance(event.error, SecurityError):
                        raise event.error
                    LOGGER.debug("Telegram not decoded: %s", event.error)
                elif _names_its_values(event):
                    telegram = event
                    break
                elif bare is None:
                    bare = event
                    deadline = waiting.when()
                    until = loop.time() + CODED_TELEGRAM_WAIT
                    waiting.reschedule(until if deadline is None else min(deadline, until))
    except TimeoutError:
        pass
    finally:
        await events.aclose()
        # The listener only starts closing its stream; the entry opens the port right after the probe.
        for writer in streams:
            await close_stream(writer)
    telegram = telegram or bare
    if telegram is None:
        raise ProbeError("no_valid_frame" if listener.decoder.statistics.bytes_received else "no_data")
    readings = _push_readings(telegram.content.objects)
    if telegram.content.list_profile is not None:
        _expect_hourly_totals(readings)
    identity = identity_from_readings(readings, telegram.system_title, telegram.identification)
    unique_id = (
        identity.serial_number
        or (identity.system_title.hex().upper() if identity.system_title else None)
        or identity.logical_device_name
        or _fallback_id(data)
    )
    return MeterProbe(identity, unique_id, object_choices(readings, names))


_ENERGY_TOTALS: Final = (1, 2, 3, 4)  # value group C of active and reactive energy, import and export


def _expect_hourly_totals(readings: dict[ObisCode, MeterReading | None]) -> None:
    """Offer the four energy totals a Norwegian list meter sends only once an hour (in list 3).

    A meter with a known list identifier (KFM_001, Kamstrup_V0001, AIDON_V0001) sends its totals on the
    hour, so the flow rarely hears them: without this, the Energy panel's sensor would be missing until
    the user found it in the options an hour later. They come in the channel of its active power.
    """
    for key in list(readings):
        if (key.a, key.c, key.d, key.e, key.f) == (1, 1, 7, 0, 255):
            for c in _ENERGY_TOTALS:
                readings.setdefault(ObisCode(1, key.b, c, 8, 0, 255), None)


def _names_its_values(telegram: Telegram) -> bool:
    """Whether any value came with its OBIS code (its own, or one its list identifier gives)."""
    return any(obj.obis is not None for obj in telegram.content.objects)
