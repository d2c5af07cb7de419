"""What the sans-I/O HDLC link reports (IEC 62056-46 / Green Book 8.4), and where it stands.

Kept apart from the stations so the transport and the simulator can match on events without caring
which role produced them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .parameters import HdlcParameters


@dataclass(frozen=True, slots=True)
class Connected:
    """The link is up; ``parameters`` are the negotiated ones as this station uses them."""

    parameters: HdlcParameters


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A whole APDU arrived (segments reassembled, LLC header removed)."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The server acknowledged every frame of an APDU sent with ``expect_response=False``."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The link was closed as asked (DISC answered with UA or DM, or the client sent DISC)."""

    reason: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The peer dropped or refused the link (DM or FRMR where a link was expected)."""

    reason: str


@dataclass(frozen=True, slots=True)
class NotResponding:
    """The meter did not answer after the retries; the link is considered down."""

    reason: str


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer sent something the link cannot use (an APDU larger than the limit); it was dropped."""

    reason: str


type LinkEvent = (
    Connected | ApduReceived | Acknowledged | Disconnected | LinkLost | NotResponding | ProtocolViolation
)


class LinkState(Enum):
    """Where the link stands."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTING = "disconnecting"


class ProposalAnswer(Enum):
    """How a server answers an SNRM that proposes parameters (meters differ; the simulator plays each)."""

    NEGOTIATE = "negotiate"
    """UA with the negotiated values, as the standard has it."""
    DM = "dm"
    """Refused with DM."""
    FRMR = "frmr"
    """Rejected with FRMR."""
    SILENCE = "silence"
    """No answer at all."""
