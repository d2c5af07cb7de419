"""From a config entry's data to a connection with the meter: keys, client settings, transports, streams.

The config flow and the coordinators build their connections here, so both reach a meter the same way.
Meters on one RS-485 bus (or behind one HDLC bridge) answer on one port, which can be opened only
once: every HDLC transport to that port is built on the same :class:`SharedPort`, found in
``hass.data[DOMAIN]``. The port counts the transports that opened it (the stream closes with the
last one), and the registry holds ports weakly, so a port is forgotten once no transport refers to
it: closing the client is all an entry has to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final
from weakref import WeakValueDictionary

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import (
    AUTH_HLS_GMAC,
    AUTH_LLS,
    AUTH_NONE,
    CONF_ADDRESS_SIZE,
    CONF_AUTHENTICATION,
    CONF_AUTHENTICATION_KEY,
    CONF_BAUDRATE,
    CONF_CLIENT_ADDRESS,
    CONF_CONNECTION_TYPE,
    CONF_ENCRYPTION_KEY,
    CONF_HDLC,
    CONF_HOST,
    CONF_NEGOTIATE_HDLC,
    CONF_OPTICAL_MODE_E,
    CONF_PARITY,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SECURITY_SUITE,
    CONF_SERVER_LOGICAL_ADDRESS,
    CONF_SERVER_PHYSICAL_ADDRESS,
    DEFAULT_CLIENT_ADDRESS,
    DEFAULT_POLL_BAUDRATE,
    DEFAULT_PUSH_BAUDRATE,
    DEFAULT_SECURITY_SUITE,
    DEFAULT_SERVER_LOGICAL_ADDRESS,
    DEFAULT_TCP_PORT,
    DOMAIN,
    LOGGER,
    ConnectionType,
)
from .dlms.errors import AssociationRejectedError, DecodeError, ServiceError
from .dlms.security import SecurityKeys, parse_key
from .dlms.transport.streams import Endpoint, SerialEndpoint, TcpEndpoint, open_stream
from .dlms.transport.udp import UdpEndpoint
from .mqtt_source import topic_stream_opener

if TYPE_CHECKING:
    from .dlms.client import ClientSettings, DlmsClient, Referencing
    from .dlms.transport import ApduTransport, SharedPort
    from .dlms.transport.readout import ReadoutSettings

DEFAULT_SERVER_PHYSICAL_ADDRESS: Final = 17
"""The lower HDLC address most meters answer on when nothing else is configured."""

PARITY_NONE: Final = "n"
PARITY_EVEN: Final = "e"

# Security control of glo-ciphered requests: authenticated and encrypted when there is an
# authentication key, encrypted only when the grid operator gave one key; the suite is or-ed in.
_AUTHENTICATED_ENCRYPTED: Final = 0x30
_ENCRYPTED: Final = 0x20

# The client (and the transports it polls through) is imported where a polled meter's connection is
# built, not with this module: a push-only setup never loads it (import time).
_AUTHENTICATIONS: Final = {AUTH_NONE: "NONE", AUTH_LLS: "LLS", AUTH_HLS_GMAC: "HLS_GMAC"}

#: What a polled meter's connection needs beyond the push path (the client loads the APDUs it uses).
_CLIENT_MODULES: Final = (
    ".dlms.client.client",
    ".dlms.transport.hdlc",
    ".dlms.transport.wrapper",
    ".dlms.transport.udp",
)


def load_client() -> None:
    """Import the client and the polled transports, once, before the first polled connection.

    Run it in Home Assistant's import executor (``hass.async_add_import_executor_job``): imports read
    files, which Home Assistant keeps out of the event loop; the imports where the client is used
    then find the modules loaded. A push-only setup never calls it.
    """
    for name in _CLIENT_MODULES:
        import_module(name, __package__)


type StreamOpener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter | None]]]

DATA_PORTS: HassKey[WeakValueDictionary[tuple[Endpoint, bool], SharedPort]] = HassKey(DOMAIN)
"""The ports in use, by endpoint (path or URL with its line settings, or host and port) and whether
they open with the optical mode E opening."""


def normalize_key(text: str) -> str:
    """A key as stored: 32 or 64 upper-case hex digits; InvalidKeyError (never echoing the text) otherwise.

    Whether the length fits the entry's security suite is the caller's check: a pushed telegram
    names its own suite, so push meters use their keys as given.
    """
    return parse_key(text).hex().upper()


def security_suite(data: Mapping[str, Any]) -> int:
    """The entry's security suite; entries made before suites could be chosen use suite 0."""
    return int(data.get(CONF_SECURITY_SUITE, DEFAULT_SECURITY_SUITE))


def security_keys(data: Mapping[str, Any], suite: int | None = None) -> SecurityKeys | None:
    """The entry's keys, or None when it has neither.

    With ``suite`` each key must have that suite's length (KeySuiteMismatchError otherwise); without,
    16- and 32-byte keys are taken, as for push meters, whose telegrams say their suite.
    """
    encryption = data.get(CONF_ENCRYPTION_KEY) or None
    authentication = data.get(CONF_AUTHENTICATION_KEY) or None
    if encryption is None and authentication is None:
        return None
    return SecurityKeys(
        encryption_key=parse_key(encryption, suite) if encryption else None,
        authentication_key=parse_key(authentication, suite) if authentication else None,
    )


def connection_type(data: Mapping[str, Any]) -> ConnectionType:
    """How the entry reaches its meter."""
    return ConnectionType(data[CONF_CONNECTION_TYPE])


def endpoint(data: Mapping[str, Any]) -> Endpoint | UdpEndpoint:
    """Where the meter is: a serial port (or serialx URL) with its line settings, a TCP or UDP peer."""
    kind = connection_type(data)
    if kind.is_udp:
        return UdpEndpoint(str(data[CONF_HOST]), int(data.get(CONF_PORT, DEFAULT_TCP_PORT)))
    if kind.is_serial:
        default_baudrate = DEFAULT_PUSH_BAUDRATE if kind.is_push else DEFAULT_POLL_BAUDRATE
        default_parity = PARITY_EVEN if kind.is_push else PARITY_NONE
        return SerialEndpoint(
            str(data[CONF_PORT]),
            baudrate=int(data.get(CONF_BAUDRATE, default_baudrate)),
            parity=str(data.get(CONF_PARITY, default_parity)).upper(),
        )
    return TcpEndpoint(str(data[CONF_HOST]), int(data.get(CONF_PORT, DEFAULT_TCP_PORT)))


def shared_port(
    hass: HomeAssistant, where: Endpoint, *, optical_mode_e: bool = False, sign_on_retries: int | None = None
) -> SharedPort:
    """The port every HDLC transport to ``where`` uses, made on first use.

    ``optical_mode_e``: the port opens with the IEC 62056-21 mode E opening (an optical probe on a
    meter that speaks HDLC only after it), signing on again ``sign_on_retries`` times (the stack's
    default when None) when the meter does not identify itself.
    """
    from .dlms.transport.shared import ModeESettings, SharedPort  # noqa: PLC0415 - loaded on first use

    ports = hass.data.setdefault(DATA_PORTS, WeakValueDictionary())
    port = ports.get((where, optical_mode_e))
    if port is None:
        opening: ModeESettings | bool = False
        if optical_mode_e:
            opening = (
                ModeESettings() if sign_on_retries is None else ModeESettings(max_retries=sign_on_retries)
            )
        port = ports[where, optical_mode_e] = SharedPort(where, optical_mode_e=opening)
    return port


def create_transport(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    client_address: int | None = None,
    response_timeout: float | None = None,
    max_retries: int | None = None,
) -> ApduTransport:
    """The transport to a polled meter: HDLC on a shared port, or the wrapper over TCP or UDP.

    Behind a gateway (data concentrator) the server logical address is the meter's wPort.

    ``client_address`` overrides the entry's (the public client reads the frame counter);
    ``response_timeout`` and ``max_retries`` override the link's defaults (the config flow is brief).
    """
    from .dlms.hdlc import HdlcParameters  # noqa: PLC0415 - loaded on first use (import time)
    from .dlms.transport.hdlc import HdlcTransport  # noqa: PLC0415 - loaded on first use (import time)
    from .dlms.transport.udp import UdpTransport  # noqa: PLC0415 - loaded on first use
    from .dlms.transport.wrapper import WrapperTransport  # noqa: PLC0415 - loaded on first use

    kind = connection_type(data)
    where = endpoint(data)
    client = int(data.get(CONF_CLIENT_ADDRESS, DEFAULT_CLIENT_ADDRESS))
    if client_address is not None:
        client = client_address
    logical = int(data.get(CONF_SERVER_LOGICAL_ADDRESS, DEFAULT_SERVER_LOGICAL_ADDRESS))
    options: dict[str, Any] = {}
    if response_timeout is not None:
        options["response_timeout"] = response_timeout
    if isinstance(where, UdpEndpoint):
        if max_retries is not None:
            options["max_retries"] = max_retries
        return UdpTransport(where, client_wport=client, server_wport=logical, **options)
    if kind is ConnectionType.NETWORK_POLL and not data.get(CONF_HDLC, False):
        return WrapperTransport(where, client_wport=client, server_wport=logical, **options)
    if max_retries is not None:
        options["max_retries"] = max_retries
    size = (
        int(data[CONF_ADDRESS_SIZE]) if data.get(CONF_ADDRESS_SIZE) else None
    )  # None: the smallest that fits
    physical: int | None = None  # a one-byte server address has no lower (physical) part
    if size != 1:
        physical = int(data.get(CONF_SERVER_PHYSICAL_ADDRESS, DEFAULT_SERVER_PHYSICAL_ADDRESS))
    return HdlcTransport(
        shared_port(
            hass,
            where,
            optical_mode_e=bool(data.get(CONF_OPTICAL_MODE_E, False)),
            sign_on_retries=max_retries,
        ),
        client_address=client,
        server_logical=logical,
        server_physical=physical,
        address_size=size,
        # None: propose longer frames and windows; the defaults: propose nothing (plain SNRM).
        parameters=None if data.get(CONF_NEGOTIATE_HDLC, True) else HdlcParameters(),
        **options,
    )


def client_settings(
    data: Mapping[str, Any],
    *,
    invocation_counter: int = 1,
    on_invocation_counter: Callable[[int], None] | None = None,
) -> ClientSettings:
    """How the client associates: authentication from the entry, ciphered when it has an encryption key.

    The keys must fit the entry's security suite, which the requests' security control names.
    Raises InvalidSettingsError when the entry contradicts itself (LLS without a password, HLS-GMAC
    without both keys) and KeySuiteMismatchError when a key does not fit the suite; the config flow
    checks for these before it stores anything.
    """
    from .dlms.client import Authentication, ClientSettings  # noqa: PLC0415 - loaded on first use

    suite = security_suite(data)
    keys = security_keys(data, suite)
    authentication = Authentication[_AUTHENTICATIONS[data.get(CONF_AUTHENTICATION, AUTH_NONE)]]
    password = data.get(CONF_PASSWORD) or None
    ciphered = keys is not None and keys.encryption_key is not None
    authenticated = keys is not None and keys.authentication_key is not None
    return ClientSettings(
        client_address=int(data.get(CONF_CLIENT_ADDRESS, DEFAULT_CLIENT_ADDRESS)),
        authentication=authentication,
        password=password.encode() if authentication is Authentication.LLS and password else None,
        keys=keys,
        ciphered=ciphered,
        security_control=(_AUTHENTICATED_ENCRYPTED if authenticated else _ENCRYPTED) | suite,
        invocation_counter=invocation_counter,
        on_invocation_counter=on_invocation_counter,
        referencing=_referencing(data),
    )


#: Entry data key: "auto" (default: logical names, short names when the meter refuses them), "ln", "sn".
CONF_REFERENCING: Final = "referencing"


def _referencing(data: Mapping[str, Any]) -> Referencing:
    from .dlms.client import InvalidSettingsError, Referencing  # noqa: PLC0415 - loaded on first use

    try:
        return Referencing(data.get(CONF_REFERENCING, Referencing.AUTO.value))
    except ValueError:
        raise InvalidSettingsError("referencing must be auto, ln or sn") from None


def create_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    invocation_counter: int = 1,
    on_invocation_counter: Callable[[int], None] | None = None,
) -> DlmsClient:
    """A client for the entry's polled meter (not yet connected)."""
    from .dlms.client import DlmsClient  # noqa: PLC0415 - loaded on first use (import time)

    return DlmsClient(
        create_transport(hass, data),
        client_settings(
            data, invocation_counter=invocation_counter, on_invocation_counter=on_invocation_counter
        ),
    )


async def sync_invocation_counter(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    client: DlmsClient,
    *,
    response_timeout: float | None = None,
    max_retries: int | None = None,
) -> int | None:
    """Continue the client's invocation counter above the one the meter last accepted.

    A meter refuses a ciphered association whose counter it has seen, and its counter outlives our
    storage (another client, the config flow's probe, a restored backup). The public client reads it
    (security setup's frame counter); meters that do not let it are left alone (None). Call this
    before ``connect``: on a shared port the two associations must not overlap.
    """
    from .dlms.client import PUBLIC_CLIENT_ADDRESS  # noqa: PLC0415 - loaded on first use

    public = create_transport(
        hass,
        data,
        client_address=PUBLIC_CLIENT_ADDRESS,
        response_timeout=response_timeout,
        max_retries=max_retries,
    )
    try:
        return await client.read_frame_counter(public)
    except (AssociationRejectedError, ServiceError, DecodeError) as err:
        LOGGER.debug("The meter does not give its frame counter to the public client: %s", err)
        return None


def readout_settings(answer_timeout: float | None = None, max_retries: int | None = None) -> ReadoutSettings:
    """How an IEC 62056-21 data readout is run: the stack's defaults unless the caller is in a hurry.

    The config flow's probe waits less than the coordinator (the user is in front of the form).
    """
    from .dlms.transport.readout import ReadoutSettings  # noqa: PLC0415 - loaded on first use

    settings = ReadoutSettings()
    if answer_timeout is not None:
        settings = replace(settings, answer_timeout=answer_timeout)
    if max_retries is not None:
        settings = replace(settings, max_retries=max_retries)
    return settings


def stream_opener(data: Mapping[str, Any], hass: HomeAssistant | None = None) -> StreamOpener:
    """Opens the push port for a :class:`~.dlms.listener.PushListener` (each call a new stream).

    An MQTT topic (``hass`` needed) is read through Home Assistant's MQTT integration (mqtt_source).
    """
    if connection_type(data) is ConnectionType.MQTT_PUSH:
        if hass is None:
            raise ValueError("an MQTT topic is read through Home Assistant: pass hass")
        return topic_stream_opener(hass, data)
    where = endpoint(data)
    assert not isinstance(where, UdpEndpoint)  # push meters are on serial ports or TCP bridges

    async def open_push_stream() -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        return await open_stream(where)

    return open_push_stream
