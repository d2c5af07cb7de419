"""HDLC addresses (IEC 62056-46 / Green Book, HDLC frame format type 3).

An address takes 1, 2 or 4 bytes. Each byte carries seven address bits above an extension bit that is
1 only in the last byte, so a decoder finds the size from the bytes themselves. A client address is
one byte. A server address holds an upper HDLC address (the logical device) and, in its 2- or 4-byte
forms, a lower HDLC address (the physical device): 7 bits each in 2 bytes, 14 bits each in 4 bytes.
A 1-byte server address is only the upper address.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EncodeError, FrameError
from ..reader import ByteReader

ADDRESS_SIZES = (1, 2, 4)
EXTENSION_BIT = 0x01

NO_STATION = 0x00
"""Upper or lower address that reaches no station."""
ALL_STATION_1_BYTE = 0x7F
"""Broadcast address in the 1- and 2-byte forms."""
ALL_STATION_4_BYTE = 0x3FFF
"""Broadcast address in the 4-byte form."""
CALLING_PHYSICAL_4_BYTE = 0x3FFE
"""Lower address a server uses to identify itself when it calls (4-byte form)."""

CLIENT_MANAGEMENT = 0x01
"""Client SAP of the management client."""
CLIENT_PUBLIC = 0x10
"""Client SAP of the public client (lowest security, always allowed to associate)."""
SERVER_MANAGEMENT_LOGICAL_DEVICE = 0x01
"""Upper address of the management logical device, present in every server."""

_MAX_VALUE = {1: 0x7F, 2: 0x7F, 4: 0x3FFF}


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """One HDLC address: ``logical`` is the upper address, ``physical`` the lower (None in 1 byte)."""

    logical: int
    physical: int | None
    size: int

    def __post_init__(self) -> None:
        if self.size not in ADDRESS_SIZES:
            raise EncodeError(f"HDLC address size must be 1, 2 or 4 bytes, not {self.size}")
        limit = _MAX_VALUE[self.size]
        if not 0 <= self.logical <= limit:
            raise EncodeError(f"upper HDLC address {self.logical} does not fit {self.size} bytes")
        if self.size == 1:
            if self.physical is not None:
                raise EncodeError("a 1-byte HDLC address has no lower (physical) address")
        elif self.physical is None or not 0 <= self.physical <= limit:
            raise EncodeError(f"lower HDLC address {self.physical} does not fit {self.size} bytes")

    def encode(self) -> bytes:
        """The address bytes, extension bit set in the last one."""
        if self.size == 1:
            return bytes([(self.logical << 1) | EXTENSION_BIT])
        physical = self.physical if self.physical is not None else 0
        if self.size == 2:
            return bytes([self.logical << 1, (physical << 1) | EXTENSION_BIT])
        return bytes(
            [
                (self.logical >> 7) << 1,
                (self.logical & 0x7F) << 1,
                (physical >> 7) << 1,
                ((physical & 0x7F) << 1) | EXTENSION_BIT,
            ]
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> HdlcAddress:
        """Decode exactly one address from ``raw``."""
        reader = ByteReader(raw)
        address = decode_address(reader)
        if not reader.at_end:
            raise FrameError(f"{reader.remaining} bytes after the HDLC address")
        return address

    def __str__(self) -> str:
        if self.physical is None:
            return f"{self.logical}"
        return f"{self.logical}/{self.physical}"


def address_length(data: bytes | bytearray, start: int, end: int) -> int | None:
    """Size of the address starting at ``data[start]``, None when ``end`` comes first.

    Raises FrameError for a size the standard does not allow (3 bytes, or no extension bit within 4).
    """
    for index in range(4):
        position = start + index
        if position >= end:
            return None
        if data[position] & EXTENSION_BIT:
            size = index + 1
            if size == 3:
                raise FrameError("HDLC address of 3 bytes")
            return size
    raise FrameError("HDLC address longer than 4 bytes")


def decode_address(reader: ByteReader) -> HdlcAddress:
    """Read one address; its size follows from the extension bits."""
    raw = bytearray()
    while True:
        if len(raw) == 4:
            raise FrameError("HDLC address longer than 4 bytes")
        if reader.at_end:
            raise FrameError("truncated HDLC address")
        byte = reader.u8("HDLC address")
        raw.append(byte)
        if byte & EXTENSION_BIT:
            break
    values = [byte >> 1 for byte in raw]
    size = len(raw)
    if size == 1:
        return HdlcAddress(values[0], None, 1)
    if size == 2:
        return HdlcAddress(values[0], values[1], 2)
    if size == 4:
        return HdlcAddress((values[0] << 7) | values[1], (values[2] << 7) | values[3], 4)
    raise FrameError("HDLC address of 3 bytes")


def client_address(logical: int) -> HdlcAddress:
    """A client address (always 1 byte): the client SAP, e.g. 16 for the public client."""
    return HdlcAddress(logical, None, 1)


def server_address(logical: int = 1, physical: int | None = None, size: int | None = None) -> HdlcAddress:
    """A server address; without ``size`` the smallest form that holds both parts is chosen."""
    if size is None:
        if physical is None:
            size = 1
        elif logical <= 0x7F and physical <= 0x7F:
            size = 2
        else:
            size = 4
    return HdlcAddress(logical, physical, size)


def same_station(first: HdlcAddress, second: HdlcAddress) -> bool:
    """True when two addresses name the same station, whatever size they were written in."""
    return first.logical == second.logical and first.physical == second.physical
