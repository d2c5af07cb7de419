"""Key material: parsing user-typed keys and holding them so they never leak into logs.

DLMS keys (the global unicast encryption key and the authentication key) are 16 bytes for security
suites 0 and 1. Nothing here puts key bytes or the text they came from into a message or ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SecurityError

KEY_LENGTH = 16
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_IGNORED = frozenset(" :\t")


class InvalidKeyError(SecurityError):
    """A key that is not 16 bytes (32 hex digits); the message never repeats the input."""


def parse_key(text: str) -> bytes:
    """Parse a key as users paste it (hex, optionally grouped with spaces or colons)."""
    if not isinstance(text, str):
        raise InvalidKeyError("a key must be given as text of 32 hexadecimal digits")
    digits = [char for char in text if char not in _IGNORED]
    if any(char not in _HEX_DIGITS for char in digits):
        raise InvalidKeyError("a key may contain only hexadecimal digits (spaces and colons are ignored)")
    if len(digits) != 2 * KEY_LENGTH:
        raise InvalidKeyError(f"a key must be {2 * KEY_LENGTH} hexadecimal digits, got {len(digits)}")
    return bytes.fromhex("".join(digits))


def check_key(key: bytes | bytearray | memoryview | None, what: str) -> bytes | None:
    """Normalise a key to ``bytes`` and insist on 16 bytes, naming only its role in errors."""
    if key is None:
        return None
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"the {what} must be bytes")
    raw = bytes(key)
    if len(raw) != KEY_LENGTH:
        raise InvalidKeyError(f"the {what} must be {KEY_LENGTH} bytes, got {len(raw)}")
    return raw


def _describe(key: bytes | None) -> str:
    return "None" if key is None else f"<{len(key)} bytes>"


@dataclass(frozen=True, slots=True, repr=False)
class SecurityKeys:
    """The keys of one association; ``repr`` shows only whether each key is set."""

    encryption_key: bytes | None = None
    authentication_key: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "encryption_key", check_key(self.encryption_key, "encryption key"))
        object.__setattr__(
            self, "authentication_key", check_key(self.authentication_key, "authentication key")
        )

    @classmethod
    def from_text(
        cls, encryption_key: str | None = None, authentication_key: str | None = None
    ) -> SecurityKeys:
        """Build from the hex text a user typed; empty text means no key."""
        return cls(
            encryption_key=parse_key(encryption_key) if encryption_key else None,
            authentication_key=parse_key(authentication_key) if authentication_key else None,
        )

    def __repr__(self) -> str:
        return (
            f"SecurityKeys(encryption_key={_describe(self.encryption_key)}, "
            f"authentication_key={_describe(self.authentication_key)})"
        )

    __str__ = __repr__
