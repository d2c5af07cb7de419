"""Key material: parsing user-typed keys and holding them so they never leak into logs.

DLMS keys (the global unicast encryption key and the authentication key) are 16 bytes for security
suites 0 and 1 (AES-GCM-128) and 32 bytes for suite 2 (AES-GCM-256). A key's length alone does not
say its suite, so keys of either length are accepted here and :func:`check_suite_keys` says clearly
when a key does not fit the suite a telegram or a meter uses. Nothing here puts key bytes or the
text they came from into a message or ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SecurityError

KEY_LENGTH = 16
"""Bytes of a key of security suites 0 and 1 (AES-128)."""
KEY_LENGTH_SUITE_2 = 32
"""Bytes of a key of security suite 2 (AES-256)."""
KEY_LENGTHS: dict[int, int] = {0: KEY_LENGTH, 1: KEY_LENGTH, 2: KEY_LENGTH_SUITE_2}
"""The key length of each security suite with symmetric keys."""
_ACCEPTED_LENGTHS = frozenset(KEY_LENGTHS.values())
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_IGNORED = frozenset(" :\t")


class InvalidKeyError(SecurityError):
    """A key that is not 16 or 32 bytes (32 or 64 hex digits); the message never repeats the input."""


class KeySuiteMismatchError(InvalidKeyError):
    """A key whose length does not fit the security suite in use (16 bytes for suites 0 and 1, 32 for 2)."""


def _describe_lengths(suite: int | None) -> str:
    if suite is None:
        return "32 hexadecimal digits (security suites 0 and 1) or 64 (suite 2)"
    return f"{2 * suite_key_length(suite)} hexadecimal digits for security suite {suite}"


def suite_key_length(suite: int) -> int:
    """The key length of a security suite; suites without symmetric keys here are refused."""
    if suite not in KEY_LENGTHS:
        raise SecurityError(f"security suite {suite} is not supported (only 0, 1 and 2)")
    return KEY_LENGTHS[suite]


def parse_key(text: str, suite: int | None = None) -> bytes:
    """Parse a key as users paste it (hex, optionally grouped with spaces or colons).

    With ``suite`` the key must have that suite's length; without, either length is taken.
    """
    if not isinstance(text, str):
        raise InvalidKeyError(f"a key must be given as text of {_describe_lengths(suite)}")
    digits = [char for char in text if char not in _IGNORED]
    if any(char not in _HEX_DIGITS for char in digits):
        raise InvalidKeyError("a key may contain only hexadecimal digits (spaces and colons are ignored)")
    wanted = {suite_key_length(suite)} if suite is not None else _ACCEPTED_LENGTHS
    if len(digits) % 2 or len(digits) // 2 not in wanted:
        error = KeySuiteMismatchError if len(digits) // 2 in _ACCEPTED_LENGTHS else InvalidKeyError
        raise error(f"a key must be {_describe_lengths(suite)}, got {len(digits)}")
    return bytes.fromhex("".join(digits))


def check_key(key: bytes | bytearray | memoryview | None, what: str) -> bytes | None:
    """Normalise a key to ``bytes`` and insist on 16 or 32 bytes, naming only its role in errors."""
    if key is None:
        return None
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"the {what} must be bytes")
    raw = bytes(key)
    if len(raw) not in _ACCEPTED_LENGTHS:
        raise InvalidKeyError(f"the {what} must be 16 or 32 bytes, got {len(raw)}")
    return raw


def check_suite_key(key: bytes | None, what: str, suite: int) -> bytes | None:
    """``key`` when it fits ``suite``; a :class:`KeySuiteMismatchError` that says so otherwise."""
    expected = suite_key_length(suite)
    if key is not None and len(key) != expected:
        cipher = "AES-GCM-256" if expected == KEY_LENGTH_SUITE_2 else "AES-GCM-128"
        raise KeySuiteMismatchError(
            f"security suite {suite} ({cipher}) needs {expected}-byte keys "
            f"({2 * expected} hexadecimal digits); the {what} has {len(key)} bytes"
        )
    return key


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
