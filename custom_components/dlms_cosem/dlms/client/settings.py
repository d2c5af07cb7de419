"""What a client needs to know to associate with one meter: addressing, authentication and security.

The settings are a frozen value so one object can be shared between a configuration flow, the asyncio
client and its tests; the evolving invocation counter lives in the connection, which reports every
new value through ``on_invocation_counter`` so the caller can persist it (a meter refuses a counter it
has already seen, even after a restart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from ..apdu import DEFAULT_CLIENT_CONFORMANCE, Conformance
from ..errors import DlmsError, InvalidSettingsError
from ..security import SecurityControl, SecurityKeys
from ..security.keys import KEY_LENGTHS

#: The public client (IEC 62056-46 / Green Book): no authentication, reads a few objects.
PUBLIC_CLIENT_ADDRESS = 16
#: Size of a system title (the AP title of a ciphered association).
SYSTEM_TITLE_LENGTH = 8
#: Default client system title: "DLM" (three-letter manufacturer id) and five bytes of serial.
DEFAULT_CLIENT_SYSTEM_TITLE = b"DLM\x00\x00\x00\x00\x01"
#: Largest invocation counter; a client that reaches it must get new keys.
INVOCATION_COUNTER_MAX = 0xFFFF_FFFF
#: Smallest PDU size a client can usefully announce (the Green Book minimum for xDLMS).
MIN_PDU_SIZE = 12


class Referencing(Enum):
    """How the client names attributes: logical names (LN), short names (SN), or whichever the meter takes.

    ``AUTO`` proposes logical name referencing and, when the meter rejects that application context
    (application-context-name-not-supported), associates again with short name referencing.
    """

    AUTO = "auto"
    LN = "ln"
    SN = "sn"


class Authentication(Enum):
    """How the client proves who it is when associating (Green Book authentication mechanisms)."""

    NONE = "none"
    LLS = "lls"
    HLS_GMAC = "hls-gmac"


def _check_title(title: bytes | None, what: str) -> None:
    if title is not None and (not isinstance(title, bytes) or len(title) != SYSTEM_TITLE_LENGTH):
        raise InvalidSettingsError(f"the {what} must be {SYSTEM_TITLE_LENGTH} bytes")


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """One client's view of one meter.

    ``client_address`` is the client SAP the transport was opened with (16 public, 1 management, ...);
    the transport carries it, this copy names the association in messages. ``ciphered`` selects the
    application context "logical name referencing with ciphering": every xDLMS APDU is glo-ciphered
    with ``security_control`` (suite 0) and ``keys``. ``invocation_counter`` is the counter of the
    first APDU this client protects. ``server_system_title`` is only a fallback for meters whose AARE
    omits the responding-AP-title. ``dedicated_key`` is proposed in the InitiateRequest when given.
    ``max_list_items`` caps the attributes of one GET-with-list (``None``: only the PDU size limits).
    ``send_system_title`` puts the client system title in the AARQ's calling-AP-title; by default
    (``None``) it is sent when ciphered or with HLS-GMAC, where the meter needs it to check f(StoC).
    ``referencing`` chooses logical or short name referencing (see :class:`Referencing`).
    """

    client_address: int = PUBLIC_CLIENT_ADDRESS
    authentication: Authentication = Authentication.NONE
    password: bytes | None = field(default=None, repr=False)
    keys: SecurityKeys | None = field(default=None, repr=False)
    client_system_title: bytes = DEFAULT_CLIENT_SYSTEM_TITLE
    ciphered: bool = False
    security_control: int = 0x30
    max_pdu_size: int = 0xFFFF
    proposed_conformance: Conformance = DEFAULT_CLIENT_CONFORMANCE
    invocation_counter: int = 0
    on_invocation_counter: Callable[[int], None] | None = field(default=None, repr=False, compare=False)
    server_system_title: bytes | None = None
    dedicated_key: bytes | None = field(default=None, repr=False)
    max_list_items: int | None = None
    send_system_title: bool | None = None
    referencing: Referencing = Referencing.AUTO

    def __post_init__(self) -> None:
        if not isinstance(self.authentication, Authentication):
            raise InvalidSettingsError("authentication must be an Authentication value")
        if not isinstance(self.referencing, Referencing):
            raise InvalidSettingsError("referencing must be a Referencing value")
        if not 0 <= self.client_address <= 0xFFFF:
            raise InvalidSettingsError(f"client address {self.client_address} outside 0..65535")
        _check_title(self.client_system_title, "client system title")
        _check_title(self.server_system_title, "server system title")
        if not MIN_PDU_SIZE <= self.max_pdu_size <= 0xFFFF:
            raise InvalidSettingsError(f"max PDU size {self.max_pdu_size} outside {MIN_PDU_SIZE}..65535")
        if not 0 <= self.invocation_counter <= INVOCATION_COUNTER_MAX:
            raise InvalidSettingsError("invocation counter outside 0..0xFFFFFFFF")
        if self.max_list_items is not None and self.max_list_items < 1:
            raise InvalidSettingsError("max_list_items must be at least 1")
        self._check_authentication()
        if self.ciphered:
            self._check_ciphering()
            if self.send_system_title is False:
                raise InvalidSettingsError("a ciphered association must send the client system title")
        elif self.dedicated_key is not None:
            raise InvalidSettingsError("a dedicated key is only used in a ciphered association")

    def _check_authentication(self) -> None:
        if self.authentication is Authentication.LLS:
            if not self.password:
                raise InvalidSettingsError("low level security (LLS) needs a password")
        elif self.password is not None:
            raise InvalidSettingsError("a password is only used with low level security (LLS)")
        if self.authentication is Authentication.HLS_GMAC and (
            self.keys is None or self.keys.encryption_key is None or self.keys.authentication_key is None
        ):
            raise InvalidSettingsError("HLS-GMAC needs both the encryption key and the authentication key")

    def _check_ciphering(self) -> None:
        try:
            control = SecurityControl.from_byte(self.security_control)
        except DlmsError:
            raise InvalidSettingsError("security control must be a byte") from None
        if control.security_suite not in KEY_LENGTHS or control.compressed or control.broadcast_key:
            raise InvalidSettingsError("only security suites 0, 1 and 2 with the unicast key are supported")
        if not (control.authenticated or control.encrypted):
            raise InvalidSettingsError("a ciphered association needs authentication and/or encryption")
        if self.keys is None or self.keys.encryption_key is None:
            raise InvalidSettingsError("a ciphered association needs the encryption key")
        if control.authenticated and self.keys.authentication_key is None:
            raise InvalidSettingsError("authenticated ciphering needs the authentication key")
        key_length = KEY_LENGTHS[control.security_suite]
        for what, key in (
            ("encryption key", self.keys.encryption_key),
            ("authentication key", self.keys.authentication_key),
        ):
            if key is not None and len(key) != key_length:
                raise InvalidSettingsError(
                    f"security suite {control.security_suite} needs {key_length}-byte keys; "
                    f"the {what} has {len(key)} bytes"
                )
        if self.dedicated_key is not None and len(self.dedicated_key) != key_length:
            raise InvalidSettingsError(f"the dedicated key must be {key_length} bytes")

    @property
    def sends_system_title(self) -> bool:
        """Whether the AARQ carries the calling-AP-title."""
        if self.send_system_title is not None:
            return self.send_system_title
        return self.ciphered or self.authentication is Authentication.HLS_GMAC

    @property
    def control(self) -> SecurityControl:
        """The security control byte as flags."""
        try:
            return SecurityControl.from_byte(self.security_control)
        except DlmsError:
            raise InvalidSettingsError("security control must be a byte") from None
