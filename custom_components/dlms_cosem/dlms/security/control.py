"""The security control byte (SC) that heads every ciphered xDLMS APDU (IEC 62056-5-3, Green Book).

Bits 0..3 name the security suite, bit 4 (A) says a GCM tag is present, bit 5 (E) says the
information is encrypted, bit 6 selects the broadcast key and bit 7 flags V.44 compression.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DecodeError, EncodeError

SECURITY_SUITE_MASK = 0x0F
AUTHENTICATED_BIT = 0x10
ENCRYPTED_BIT = 0x20
BROADCAST_KEY_BIT = 0x40
COMPRESSED_BIT = 0x80


@dataclass(frozen=True, slots=True)
class SecurityControl:
    """The decoded security control byte; kept as flags so callers never fiddle with bit masks."""

    security_suite: int = 0
    authenticated: bool = False
    encrypted: bool = False
    broadcast_key: bool = False
    compressed: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.security_suite <= SECURITY_SUITE_MASK:
            raise EncodeError(f"security suite {self.security_suite} outside 0..15")

    @classmethod
    def from_byte(cls, value: int) -> SecurityControl:
        """Decode the byte as found on the wire."""
        if not 0 <= value <= 0xFF:
            raise DecodeError(f"security control {value} is not a byte")
        return cls(
            security_suite=value & SECURITY_SUITE_MASK,
            authenticated=bool(value & AUTHENTICATED_BIT),
            encrypted=bool(value & ENCRYPTED_BIT),
            broadcast_key=bool(value & BROADCAST_KEY_BIT),
            compressed=bool(value & COMPRESSED_BIT),
        )

    def to_byte(self) -> int:
        """Encode the flags back into the wire byte."""
        return (
            self.security_suite
            | (AUTHENTICATED_BIT if self.authenticated else 0)
            | (ENCRYPTED_BIT if self.encrypted else 0)
            | (BROADCAST_KEY_BIT if self.broadcast_key else 0)
            | (COMPRESSED_BIT if self.compressed else 0)
        )


def as_security_control(control: SecurityControl | int) -> SecurityControl:
    """Accept either the dataclass or the raw byte, so callers can write ``0x30``."""
    if isinstance(control, SecurityControl):
        return control
    return SecurityControl.from_byte(control)
