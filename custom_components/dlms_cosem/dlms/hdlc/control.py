"""The HDLC control field (IEC 62056-46 / Green Book).

Three kinds of frame share the control byte, told apart by its low bits:

- I (information): bit 0 is 0; N(S) in bits 1-3, P/F in bit 4, N(R) in bits 5-7.
- S (supervisory): bits 0-1 are 01; RR or RNR in bits 2-3, P/F in bit 4, N(R) in bits 5-7.
- U (unnumbered): bits 0-1 are 11; the command or response in the other bits, P/F in bit 4.

DLMS uses RR, RNR and the U frames SNRM, DISC, UA, DM, FRMR and UI; any other control byte is a
FrameError.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..errors import EncodeError, FrameError

POLL_FINAL_BIT = 0x10
SEQUENCE_MODULUS = 8


class FrameType(IntEnum):
    """The frame types of the DLMS HDLC profile; the value is the control byte with P/F and N(S/R) 0."""

    I = 0x00  # noqa: E741 - the standard's name for an information frame
    RR = 0x01
    RNR = 0x05
    SNRM = 0x83
    DISC = 0x43
    UA = 0x63
    DM = 0x0F
    FRMR = 0x87
    UI = 0x03


_SUPERVISORY = frozenset({FrameType.RR, FrameType.RNR})
_UNNUMBERED = frozenset(
    {FrameType.SNRM, FrameType.DISC, FrameType.UA, FrameType.DM, FrameType.FRMR, FrameType.UI}
)
_UNNUMBERED_BY_BYTE = {int(frame_type): frame_type for frame_type in _UNNUMBERED}


@dataclass(frozen=True, slots=True)
class Control:
    """A decoded control byte: ``ns`` is N(S) (I frames only), ``nr`` is N(R) (I and S frames)."""

    frame_type: FrameType
    poll_final: bool = False
    ns: int = 0
    nr: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.ns < SEQUENCE_MODULUS or not 0 <= self.nr < SEQUENCE_MODULUS:
            raise EncodeError("HDLC sequence numbers run from 0 to 7")
        if self.frame_type is not FrameType.I and self.ns:
            raise EncodeError(f"{self.frame_type.name} frames carry no N(S)")
        if self.frame_type in _UNNUMBERED and self.nr:
            raise EncodeError(f"{self.frame_type.name} frames carry no N(R)")

    @property
    def is_information(self) -> bool:
        """True for an I frame (numbered, carries an APDU)."""
        return self.frame_type is FrameType.I

    @property
    def is_supervisory(self) -> bool:
        """True for RR and RNR (flow control, no information field)."""
        return self.frame_type in _SUPERVISORY

    @property
    def is_unnumbered(self) -> bool:
        """True for SNRM, DISC, UA, DM, FRMR and UI."""
        return self.frame_type in _UNNUMBERED

    def to_byte(self) -> int:
        """The control byte on the wire."""
        value = int(self.frame_type) | (POLL_FINAL_BIT if self.poll_final else 0)
        if self.frame_type is FrameType.I:
            value |= self.ns << 1
        if not self.is_unnumbered:
            value |= self.nr << 5
        return value

    @classmethod
    def from_byte(cls, value: int) -> Control:
        """Decode a control byte; one outside the DLMS profile is a FrameError."""
        if not 0 <= value <= 0xFF:
            raise FrameError(f"control field {value} is not a byte")
        poll_final = bool(value & POLL_FINAL_BIT)
        if not value & 0x01:
            return cls(FrameType.I, poll_final, (value >> 1) & 0x07, value >> 5)
        if value & 0x03 == 0x01:
            kind = value & 0x0F
            if kind == FrameType.RR:
                return cls(FrameType.RR, poll_final, 0, value >> 5)
            if kind == FrameType.RNR:
                return cls(FrameType.RNR, poll_final, 0, value >> 5)
            raise FrameError(f"unsupported HDLC supervisory frame 0x{value:02X}")
        frame_type = _UNNUMBERED_BY_BYTE.get(value & ~POLL_FINAL_BIT)
        if frame_type is None:
            raise FrameError(f"unsupported HDLC unnumbered frame 0x{value:02X}")
        return cls(frame_type, poll_final)

    @classmethod
    def information(cls, ns: int, nr: int, poll_final: bool = True) -> Control:
        """An I frame carrying send sequence ``ns`` and acknowledging up to ``nr``."""
        return cls(FrameType.I, poll_final, ns, nr)

    @classmethod
    def receive_ready(cls, nr: int, poll_final: bool = True) -> Control:
        """RR: ready for the frame numbered ``nr`` (also how a client asks for the next segment)."""
        return cls(FrameType.RR, poll_final, 0, nr)

    @classmethod
    def receive_not_ready(cls, nr: int, poll_final: bool = True) -> Control:
        """RNR: busy, frames up to ``nr`` acknowledged."""
        return cls(FrameType.RNR, poll_final, 0, nr)

    @classmethod
    def snrm(cls, poll_final: bool = True) -> Control:
        """Set normal response mode: the client opens the link."""
        return cls(FrameType.SNRM, poll_final)

    @classmethod
    def disc(cls, poll_final: bool = True) -> Control:
        """Disconnect: the client closes the link."""
        return cls(FrameType.DISC, poll_final)

    @classmethod
    def ua(cls, poll_final: bool = True) -> Control:
        """Unnumbered acknowledge: the server accepts SNRM or DISC."""
        return cls(FrameType.UA, poll_final)

    @classmethod
    def dm(cls, poll_final: bool = True) -> Control:
        """Disconnected mode: the server is not connected."""
        return cls(FrameType.DM, poll_final)

    @classmethod
    def frmr(cls, poll_final: bool = True) -> Control:
        """Frame reject: the server could not accept a frame."""
        return cls(FrameType.FRMR, poll_final)

    @classmethod
    def ui(cls, poll_final: bool = False) -> Control:
        """Unnumbered information: data outside the link's sequence numbering (pushes)."""
        return cls(FrameType.UI, poll_final)

    def __str__(self) -> str:
        flag = " P/F" if self.poll_final else ""
        if self.frame_type is FrameType.I:
            return f"I N(S)={self.ns} N(R)={self.nr}{flag}"
        if self.is_supervisory:
            return f"{self.frame_type.name} N(R)={self.nr}{flag}"
        return f"{self.frame_type.name}{flag}"
