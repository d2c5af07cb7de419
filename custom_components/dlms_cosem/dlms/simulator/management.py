"""Association LN (class 15), Security setup (class 64) and the credentials that outlive associations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..apdu import (
    AuthenticationMechanism,
    DataAccessResult,
)
from ..axdr import Data, DataTag
from ..errors import EncodeError
from ..obis import ObisCode
from ..security import SecurityKeys
from .access import (
    AccessFailureError,
    AccessLevel,
    AssociationView,
    MethodAccess,
    RequestContext,
)
from .interface_classes import (
    _WO,
    CosemObject,
)
from .logical_names import SECURITY_SETUP

if TYPE_CHECKING:
    from .model import SimulatedMeter


def _context_name(kind: int, value: int) -> Data:
    """``context_name_type`` / ``mechanism_name_type`` as the structure of the OID arcs 2.16.756.5.8.x.y."""
    return Data.structure(
        Data.unsigned(2),
        Data.unsigned(16),
        Data.long_unsigned(756),
        Data.unsigned(5),
        Data.unsigned(8),
        Data.unsigned(kind),
        Data.unsigned(value),
    )


class AssociationLN(CosemObject):
    """Association LN (class 15, version 1): shows the association the request arrives in.

    The object list lists what that association may see, with its access rights. Attribute 7 (the LLS
    secret) is write-only; method 1 (reply_to_HLS_authentication) completes HLS-GMAC.
    """

    class_id = 15
    version = 1
    attribute_count = 9
    method_count = 4

    def __init__(self, logical_name: ObisCode, meter: SimulatedMeter) -> None:
        super().__init__(
            logical_name,
            access={7: _WO},
            methods={1: MethodAccess.ACCESS},
            public=True,
        )
        self._meter = meter

    def method_access(self, method: int, level: AccessLevel) -> MethodAccess:
        """reply_to_HLS_authentication is open to whoever is associating; the rest is not granted."""
        return MethodAccess.ACCESS if method == 1 else MethodAccess.NO_ACCESS

    def _association(self, context: RequestContext) -> AssociationView:
        if context.association is None:
            raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "no association")
        return context.association

    def object_list(self, level: AccessLevel) -> Data:
        """``object_list``: every object this association can see, with its access rights."""
        entries = []
        for obj in self._meter.objects.values():
            if not obj.visible_to(level):
                continue
            selectors = obj.selectable_attributes()
            attributes = []
            for attribute in range(1, obj.attribute_count + 1):
                access = obj.attribute_access(attribute, level)
                chosen = selectors.get(attribute)
                attributes.append(
                    Data.structure(
                        Data.integer(attribute),
                        Data.enum(access),
                        Data.array(*(Data.integer(s) for s in chosen)) if chosen else Data.null_data(),
                    )
                )
            methods = [
                Data.structure(Data.integer(method), Data.enum(obj.method_access(method, level)))
                for method in range(1, obj.method_count + 1)
            ]
            entries.append(
                Data.structure(
                    Data.long_unsigned(obj.class_id),
                    Data.unsigned(obj.version),
                    Data.octet_string(obj.logical_name.to_bytes()),
                    Data.structure(Data.array(*attributes), Data.array(*methods)),
                )
            )
        return Data.array(*entries)

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 2:
            return self.object_list(context.level)
        association = self._association(context)
        match attribute:
            case 3:
                return Data.structure(
                    Data.integer(association.client_sap), Data.long_unsigned(association.server_sap)
                )
            case 4:
                return _context_name(1, association.application_context)
            case 5:
                return Data.structure(
                    Data.bit_string(bit == "1" for bit in format(int(association.conformance), "024b")),
                    Data.long_unsigned(association.server_max_receive_pdu_size),
                    Data.long_unsigned(association.client_max_receive_pdu_size),
                    Data.unsigned(6),
                    Data.integer(0),
                    Data.octet_string(b""),
                )
            case 6:
                return _context_name(2, association.mechanism)
            case 8:
                return Data.enum(association.status)
            case 9:
                return Data.octet_string(SECURITY_SETUP.to_bytes())
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Change the LLS secret (attribute 7)."""
        if attribute != 7:
            raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)
        if value.tag != DataTag.OCTET_STRING or not isinstance(value.value, bytes) or not value.value:
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED)
        self._meter.security.password = value.value

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """reply_to_HLS_authentication (method 1): octet-string in, octet-string out."""
        if method != 1:
            return super().invoke(method, parameters, context)
        if (
            parameters is None
            or parameters.tag != DataTag.OCTET_STRING
            or not isinstance(parameters.value, bytes)
        ):
            raise AccessFailureError(
                DataAccessResult.TYPE_UNMATCHED, "reply_to_HLS_authentication takes an octet-string"
            )
        return Data.octet_string(self._association(context).reply_to_hls_authentication(parameters.value))


class SecuritySetup(CosemObject):
    """Security setup (class 64, version 0), read-only: policy, suite and the two system titles."""

    class_id = 64
    attribute_count = 5
    method_count = 2

    def __init__(self, logical_name: ObisCode, meter: SimulatedMeter) -> None:
        super().__init__(logical_name)
        self._meter = meter

    def _get(self, attribute: int, context: RequestContext) -> Data:
        security = self._meter.security
        match attribute:
            case 2:
                return Data.enum(3 if security.require_ciphering else 0)
            case 3:
                return Data.enum(0)
            case 4:
                return Data.octet_string(security.client_system_title or b"")
            case 5:
                return Data.octet_string(security.system_title)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)


def _describe_secret(value: object) -> str:
    return "None" if value is None else "<set>"


@dataclass(repr=False, slots=True)
class MeterSecurity:
    """Credentials and frame counters: the part of the device that outlives associations.

    ``authentication`` is the mechanism the management client must use (lowest level means no
    authentication: every association is management). ``client_invocation_counter`` is the last one
    accepted from the client (the frame counter object shows it; the next request must exceed it),
    ``server_invocation_counter`` the last one the server used. The repr never shows a secret.
    """

    authentication: AuthenticationMechanism = AuthenticationMechanism.LOWEST_LEVEL
    password: bytes | None = None
    keys: SecurityKeys = field(default_factory=SecurityKeys)
    system_title: bytes = b"SIM\x00\x00\x00\x00\x01"
    require_ciphering: bool = False
    allow_public_client: bool = True
    client_system_title: bytes | None = None
    client_invocation_counter: int = 0
    server_invocation_counter: int = 0

    def __post_init__(self) -> None:
        if len(self.system_title) != 8:
            raise EncodeError("a system title must be 8 bytes")
        if self.authentication is AuthenticationMechanism.LOW_LEVEL and not self.password:
            raise EncodeError("low level security needs a password")
        if self.authentication is AuthenticationMechanism.HIGH_LEVEL_GMAC and (
            self.keys.encryption_key is None or self.keys.authentication_key is None
        ):
            raise EncodeError("HLS-GMAC needs the encryption key and the authentication key")
        if self.authentication not in SUPPORTED_MECHANISMS:
            raise EncodeError(f"authentication mechanism {self.authentication.name} is not simulated")
        if self.require_ciphering and self.keys.encryption_key is None:
            raise EncodeError("ciphering needs an encryption key")

    @property
    def ciphering_available(self) -> bool:
        """Whether a ciphered application context can be accepted."""
        return self.keys.encryption_key is not None

    def next_server_invocation_counter(self) -> int:
        """Advance and return the server's invocation counter."""
        self.server_invocation_counter = (self.server_invocation_counter + 1) & 0xFFFF_FFFF
        return self.server_invocation_counter

    def __repr__(self) -> str:
        return (
            f"MeterSecurity(authentication={self.authentication.name}, "
            f"password={_describe_secret(self.password)}, keys={self.keys!r}, "
            f"system_title={self.system_title.hex().upper()}, require_ciphering={self.require_ciphering})"
        )

    __str__ = __repr__


SUPPORTED_MECHANISMS = frozenset(
    {
        AuthenticationMechanism.LOWEST_LEVEL,
        AuthenticationMechanism.LOW_LEVEL,
        AuthenticationMechanism.HIGH_LEVEL_GMAC,
    }
)
