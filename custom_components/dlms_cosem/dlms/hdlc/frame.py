"""HDLC frame format type 3 (IEC 62056-46 / Green Book).

On the wire::

    7E | frame format (2) | destination | source | control | [HCS (2) | information] | FCS (2) | 7E

The frame format field holds the type (0xA) in its top 4 bits, the segmentation bit S and an 11-bit
length that counts every byte between the flags. The HCS covers frame format to control and is only
present when there is an information field; the FCS covers everything between the flags before it.
There is no byte stuffing: the length, not a search for 0x7E, says where a frame ends, so 0x7E may
appear in the information field or in a check sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DecodeError, EncodeError, FrameError
from ..reader import ByteReader
from .address import HdlcAddress, decode_address
from .control import Control
from .fcs import fcs_bytes, fcs_is_valid

FLAG = 0x7E
FRAME_FORMAT_TYPE_3 = 0xA
"""Value of the top 4 bits of the frame format field."""
SEGMENTATION_BIT = 0x0800
"""The S bit of the 16-bit frame format field (0x08 of its first byte): more segments follow."""
LENGTH_MASK = 0x07FF
MAX_FRAME_LENGTH = LENGTH_MASK
"""Largest frame length (bytes between the flags) the 11-bit field can state."""
MIN_FRAME_LENGTH = 7
"""Frame format, two 1-byte addresses, control and FCS."""
CHECK_SEQUENCE_SIZE = 2


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One HDLC frame; ``segmented`` is the S bit (more segments of the same APDU follow)."""

    destination: HdlcAddress
    source: HdlcAddress
    control: Control
    information: bytes = b""
    segmented: bool = False

    @property
    def header_length(self) -> int:
        """Bytes from the frame format field up to and including the control field."""
        return 2 + self.destination.size + self.source.size + 1

    @property
    def length(self) -> int:
        """The frame length stated in the frame format field (bytes between the flags)."""
        information = CHECK_SEQUENCE_SIZE + len(self.information) if self.information else 0
        return self.header_length + information + CHECK_SEQUENCE_SIZE

    def encode(self) -> bytes:
        """The frame with flags, HCS (when there is information) and FCS."""
        length = self.length
        if length > MAX_FRAME_LENGTH:
            raise EncodeError(f"HDLC frame of {length} bytes exceeds {MAX_FRAME_LENGTH}")
        frame_format = (FRAME_FORMAT_TYPE_3 << 12) | length
        if self.segmented:
            frame_format |= SEGMENTATION_BIT
        header = (
            frame_format.to_bytes(2, "big")
            + self.destination.encode()
            + self.source.encode()
            + bytes([self.control.to_byte()])
        )
        body = header + fcs_bytes(header) + self.information if self.information else header
        return bytes([FLAG]) + body + fcs_bytes(body) + bytes([FLAG])


def decode_frame(raw: bytes | bytearray | memoryview) -> HdlcFrame:
    """Decode exactly one frame, flags included; a bad length, HCS, FCS or field is a FrameError.

    A frame whose HCS is followed by an empty information field is accepted (with no information).
    """
    return _decode(bytes(raw), check_sequences=True)


def decode_checked_frame(raw: bytes | bytearray | memoryview) -> HdlcFrame:
    """As :func:`decode_frame`, for a frame whose HCS and FCS the caller has just verified.

    The stream framer checks both before it cuts a frame out; checking them again cost a second pass.
    """
    return _decode(bytes(raw), check_sequences=False)


def _decode(data: bytes, *, check_sequences: bool) -> HdlcFrame:
    if len(data) < MIN_FRAME_LENGTH + 2:
        raise FrameError(f"HDLC frame of {len(data)} bytes is too short")
    if data[0] != FLAG or data[-1] != FLAG:
        raise FrameError("HDLC frame does not start and end with the 0x7E flag")
    body = data[1:-1]
    frame_format = int.from_bytes(body[:2], "big")
    if frame_format >> 12 != FRAME_FORMAT_TYPE_3:
        raise FrameError(f"HDLC frame format 0x{frame_format:04X} is not type 3")
    length = frame_format & LENGTH_MASK
    if length != len(body):
        raise FrameError(f"HDLC frame length {length} does not match the {len(body)} bytes between flags")
    if check_sequences and not fcs_is_valid(body):
        raise FrameError("HDLC frame check sequence (FCS) mismatch")
    try:
        reader = ByteReader(body, 2)
        destination = decode_address(reader)
        source = decode_address(reader)
        control_byte = reader.u8("HDLC control field")
    except FrameError:
        raise
    except DecodeError as exc:
        raise FrameError(str(exc)) from exc
    header_end = reader.position
    fcs_start = len(body) - CHECK_SEQUENCE_SIZE
    if header_end > fcs_start:
        raise FrameError("HDLC header runs into the frame check sequence")
    information = b""
    if header_end < fcs_start:
        if fcs_start - header_end < CHECK_SEQUENCE_SIZE:
            raise FrameError("HDLC frame has a partial header check sequence")
        if check_sequences and not fcs_is_valid(body[: header_end + CHECK_SEQUENCE_SIZE]):
            raise FrameError("HDLC header check sequence (HCS) mismatch")
        information = body[header_end + CHECK_SEQUENCE_SIZE : fcs_start]
    return HdlcFrame(
        destination=destination,
        source=source,
        control=Control.from_byte(control_byte),
        information=information,
        segmented=bool(frame_format & SEGMENTATION_BIT),
    )
