"""The IEC 62056-47 TCP/UDP wrapper (DLMS/COSEM over IP).

Every APDU is preceded by an 8-byte header of big-endian 16-bit fields::

    version (0x0001) | source wPort | destination wPort | length of the APDU

The wPorts play the role of the HDLC addresses: the client SAP (16 for the public client) and the
server's logical device (1 for the management logical device). TCP delivers a byte stream, so
:class:`WrapperFramer` cuts it at the header's length; after bytes that do not start with the version
it resynchronises by dropping one byte at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import EncodeError, FrameError

WRAPPER_VERSION = 0x0001
WRAPPER_HEADER_SIZE = 8
MAX_APDU_LENGTH = 0xFFFF
"""The length field's limit; a framer may be given a smaller one."""

WPORT_CLIENT_MANAGEMENT = 0x0001
WPORT_CLIENT_PUBLIC = 0x0010
WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE = 0x0001

_VERSION_BYTES = WRAPPER_VERSION.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class WrapperPdu:
    """One wrapper PDU: the APDU with its source and destination wPorts."""

    source: int
    destination: int
    apdu: bytes

    def __post_init__(self) -> None:
        for name, value in (("source", self.source), ("destination", self.destination)):
            if not 0 <= value <= 0xFFFF:
                raise EncodeError(f"wrapper {name} wPort {value} does not fit 16 bits")

    def encode(self) -> bytes:
        """Header and APDU."""
        if not 1 <= len(self.apdu) <= MAX_APDU_LENGTH:
            raise EncodeError(f"wrapper APDU must be 1 to {MAX_APDU_LENGTH} bytes, not {len(self.apdu)}")
        return (
            _VERSION_BYTES
            + self.source.to_bytes(2, "big")
            + self.destination.to_bytes(2, "big")
            + len(self.apdu).to_bytes(2, "big")
            + self.apdu
        )


def decode_wrapper_pdu(raw: bytes | bytearray | memoryview) -> WrapperPdu:
    """Decode exactly one wrapper PDU; a wrong version or length is a FrameError."""
    data = bytes(raw)
    if len(data) < WRAPPER_HEADER_SIZE:
        raise FrameError(f"wrapper PDU of {len(data)} bytes is shorter than its header")
    version = int.from_bytes(data[0:2], "big")
    if version != WRAPPER_VERSION:
        raise FrameError(f"wrapper version 0x{version:04X} is not 0x0001")
    length = int.from_bytes(data[6:8], "big")
    if length == 0:
        raise FrameError("wrapper PDU carries no APDU")
    if length != len(data) - WRAPPER_HEADER_SIZE:
        raise FrameError(f"wrapper length {length} does not match the {len(data) - 8} bytes that follow")
    return WrapperPdu(
        source=int.from_bytes(data[2:4], "big"),
        destination=int.from_bytes(data[4:6], "big"),
        apdu=data[WRAPPER_HEADER_SIZE:],
    )


class WrapperFramer:
    """Sans-I/O wrapper framer: ``feed`` bytes from the connection, get back whole PDUs.

    ``max_length`` bounds the APDU length accepted (and so the buffer): a header claiming more, or no
    APDU at all, is treated as garbage.
    """

    def __init__(self, max_length: int = MAX_APDU_LENGTH) -> None:
        self.max_length = max(1, min(max_length, MAX_APDU_LENGTH))
        self._buffer = bytearray()
        self.frames = 0
        """PDUs returned so far."""
        self.errors = 0
        """Times the stream lost sync: a header with a wrong version, or a length of 0 or above
        ``max_length``, where a PDU should have started."""
        self.bytes_discarded = 0
        """Bytes dropped while looking for the next header."""
        self._discarding = False

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a PDU."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget any partial PDU (e.g. after reconnecting)."""
        self._buffer.clear()
        self._discarding = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[WrapperPdu]:
        """Add bytes from the stream; return the PDUs they complete, in order."""
        buf = self._buffer
        buf += data
        pdus: list[WrapperPdu] = []
        available = len(buf)
        position = 0
        while available - position >= WRAPPER_HEADER_SIZE:
            version = (buf[position] << 8) | buf[position + 1]
            length = (buf[position + 6] << 8) | buf[position + 7]
            if version != WRAPPER_VERSION or not 1 <= length <= self.max_length:
                if not self._discarding:
                    self.errors += 1
                    self._discarding = True
                candidate = buf.find(_VERSION_BYTES, position + 1)
                # Keep a last 0x00: it may be the start of a version field cut by the chunk boundary.
                skip_to = candidate if candidate >= 0 else max(position + 1, available - 1)
                self.bytes_discarded += skip_to - position
                position = skip_to
                continue
            end = position + WRAPPER_HEADER_SIZE + length
            if end > available:
                break
            pdus.append(decode_wrapper_pdu(buf[position:end]))
            self.frames += 1
            self._discarding = False
            position = end
        del buf[:position]
        return pdus
