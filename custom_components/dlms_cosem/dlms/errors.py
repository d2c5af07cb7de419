"""The stack's error types.

Every error the stack raises on bad input derives from :class:`DlmsError`, so a caller (the Home
Assistant layer, the command line) can catch one class and still tell the cases apart. Messages never
contain keys or passwords.
"""

from __future__ import annotations


class DlmsError(Exception):
    """Base of every error raised by the DLMS/COSEM stack."""


class DecodeError(DlmsError):
    """Bytes that do not follow the encoding they claim (truncated, malformed, out of range)."""


class NestingTooDeepError(DecodeError):
    """A structure or array nests deeper than the stack accepts (bounded to stop stack exhaustion)."""


class EncodeError(DlmsError):
    """A value that cannot be represented in the requested encoding."""


class FrameError(DecodeError):
    """A link-layer frame (HDLC, M-Bus, TCP wrapper) that is malformed or fails its check sequence."""


class SecurityError(DlmsError):
    """A problem applying or removing DLMS security (ciphering, authentication)."""


class MissingKeyError(SecurityError):
    """The telegram is protected but the key needed for it was not given."""


class DecryptionError(SecurityError):
    """A ciphered APDU could not be turned back into plaintext that can be trusted."""


class AuthenticationTagMismatchError(DecryptionError):
    """The GCM tag does not match: with a key at hand this means a wrong key or tampered data."""

    def __init__(self, message: str = "wrong key or tampered data (authentication tag mismatch)") -> None:
        super().__init__(message)


class WrongEncryptionKeyError(DecryptionError):
    """Unauthenticated ciphertext decrypted to garbage: the encryption key is wrong."""

    def __init__(
        self,
        message: str = (
            "wrong encryption key (this meter does not authenticate, so only the structure can be checked)"
        ),
    ) -> None:
        super().__init__(message)
