"""The LLC sub-layer header of the DLMS HDLC profile (IEC 62056-46 / Green Book).

The first information field of an APDU starts with three bytes: the destination LSAP 0xE6, the source
LSAP (0xE6 for a command from the client, 0xE7 for a response from the server; the low bit is the
command/response bit) and the LLC quality 0x00. Pushed telegrams go from server to client, so they
carry E6 E7 00 too. Later segments of a segmented APDU carry no LLC header.
"""

from __future__ import annotations

from ..errors import FrameError

LLC_DESTINATION_LSAP = 0xE6
LLC_SOURCE_LSAP_COMMAND = 0xE6
LLC_SOURCE_LSAP_RESPONSE = 0xE7
LLC_QUALITY = 0x00
LLC_HEADER_SIZE = 3

LLC_COMMAND = bytes([LLC_DESTINATION_LSAP, LLC_SOURCE_LSAP_COMMAND, LLC_QUALITY])
"""LLC header of a client-to-server information field."""
LLC_RESPONSE = bytes([LLC_DESTINATION_LSAP, LLC_SOURCE_LSAP_RESPONSE, LLC_QUALITY])
"""LLC header of a server-to-client information field (responses and pushes)."""


def add_llc(apdu: bytes, *, response: bool = False) -> bytes:
    """Prefix an APDU with the command (client) or response (server) LLC header."""
    return (LLC_RESPONSE if response else LLC_COMMAND) + apdu


def has_llc(information: bytes) -> bool:
    """True when the information field starts with either LLC header."""
    return information[:LLC_HEADER_SIZE] in (LLC_COMMAND, LLC_RESPONSE)


def strip_llc(information: bytes) -> tuple[bool, bytes]:
    """Split an information field into (is_response, APDU); a missing LLC header is a FrameError."""
    header = information[:LLC_HEADER_SIZE]
    if header == LLC_RESPONSE:
        return True, information[LLC_HEADER_SIZE:]
    if header == LLC_COMMAND:
        return False, information[LLC_HEADER_SIZE:]
    raise FrameError(f"information field does not start with an LLC header (got {header.hex()})")
