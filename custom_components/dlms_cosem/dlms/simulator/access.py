"""Access rights and the request context: what a COSEM server checks before it answers (Green Book 9.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from ..apdu import (
    ApplicationContextName,
    AuthenticationMechanism,
    Conformance,
    DataAccessResult,
)
from ..errors import DlmsError

# --- access rights and request context ----------------------------------------------------------------


class AttributeAccess(IntEnum):
    """``attribute_access_mode`` of an object list entry (Association LN)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3

    @property
    def readable(self) -> bool:
        """Whether GET is allowed."""
        return self in (AttributeAccess.READ_ONLY, AttributeAccess.READ_AND_WRITE)

    @property
    def writable(self) -> bool:
        """Whether SET is allowed."""
        return self in (AttributeAccess.WRITE_ONLY, AttributeAccess.READ_AND_WRITE)


class MethodAccess(IntEnum):
    """``method_access_mode`` of an object list entry (Association LN version 1)."""

    NO_ACCESS = 0
    ACCESS = 1


class AccessLevel(IntEnum):
    """Who an association serves: the public client sees a read-only subset, management sees all."""

    PUBLIC = 0
    MANAGEMENT = 1


class AssociationStatus(IntEnum):
    """``association_status`` of Association LN (attribute 8)."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


class AccessFailureError(DlmsError):
    """An attribute or method cannot be served; ``result`` is the Data-Access-Result the server sends."""

    def __init__(self, result: DataAccessResult, message: str = "") -> None:
        super().__init__(message or result.name.lower().replace("_", "-"))
        self.result = result


class AssociationView(Protocol):
    """What the Association LN object shows about the association a request arrives in."""

    @property
    def client_sap(self) -> int:
        """The client's SAP (HDLC address or wPort); 16 for the public client."""
        ...

    @property
    def server_sap(self) -> int:
        """The logical device's SAP."""
        ...

    @property
    def application_context(self) -> ApplicationContextName:
        """The accepted application context."""
        ...

    @property
    def mechanism(self) -> AuthenticationMechanism:
        """The accepted authentication mechanism."""
        ...

    @property
    def conformance(self) -> Conformance:
        """The negotiated conformance block."""
        ...

    @property
    def client_max_receive_pdu_size(self) -> int:
        """The client's max receive PDU size (the server's max send size)."""
        ...

    @property
    def server_max_receive_pdu_size(self) -> int:
        """The server's max receive PDU size."""
        ...

    @property
    def status(self) -> AssociationStatus:
        """Non-associated, pending (HLS under way) or associated."""
        ...

    def reply_to_hls_authentication(self, response: bytes) -> bytes:
        """Check the client's answer to our challenge and return ours to its challenge (pass 3 and 4)."""
        ...


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The instant a request is served for, who is asking, and in which association.

    ``now`` is the true instant (from the meter's clock function); objects show it in meter time.
    """

    now: datetime
    level: AccessLevel = AccessLevel.MANAGEMENT
    association: AssociationView | None = None
