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


class TruncatedError(DecodeError):
    """The bytes end before the encoding does: as far as they go they are well formed, more may follow."""


class NestingTooDeepError(DecodeError):
    """A structure or array nests deeper than the stack accepts (bounded to stop stack exhaustion)."""


class TelegramTooLargeError(DecodeError):
    """A pushed telegram grew past the size the decoder accepts (``telegram.MAX_TELEGRAM_BYTES``).

    No meter sends one that large: refusing it bounds the work and memory one telegram can cost.
    """


class IncompleteTelegramError(DecodeError):
    """Part of a telegram arrived and the rest never will: the partial telegram was dropped.

    Its segments or blocks stopped following on (a gap in the numbering, a framing error between them,
    a silence longer than a meter pauses inside a telegram, the port closing); joining what arrives
    next to them could stitch two telegrams into one.
    """


class EncodeError(DlmsError):
    """A value that cannot be represented in the requested encoding."""


class FrameError(DecodeError):
    """A link-layer frame (HDLC, M-Bus, TCP wrapper) that is malformed or fails its check sequence."""


class InvalidSettingsError(DlmsError):
    """The client settings contradict each other or are out of range; the message never shows secrets."""


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


class UncheckedTagError(WrongEncryptionKeyError):
    """Authenticated ciphertext decrypted to garbage, and no authentication key was given to check its tag.

    The meter does authenticate: the tag would tell a wrong encryption key from damaged data, but it
    cannot be checked without the authentication key. Saying "this meter does not authenticate" here
    would send the user after the wrong setting.
    """

    def __init__(
        self,
        message: str = (
            "wrong encryption key (the telegram is authenticated, but its tag could not be checked "
            "because no authentication key was given)"
        ),
    ) -> None:
        super().__init__(message)


class UnauthenticatedTelegramError(SecurityError):
    """An authentication key is configured but the telegram is not authenticated (a downgrade).

    Without this check, anyone on the line could drop the tag and flip ciphertext bits (GCM's counter
    mode is malleable) and the values would be shown unverified.
    """

    def __init__(
        self,
        message: str = (
            "the telegram is not authenticated although an authentication key is configured "
            "(tampered, or this meter does not authenticate: then leave the authentication key out)"
        ),
    ) -> None:
        super().__init__(message)


class CommunicationError(DlmsError):
    """Talking to a meter failed; the association may be re-established and the request retried."""


class PortUnavailableError(CommunicationError):
    """The serial port or TCP endpoint cannot be opened (unplugged adapter, wrong path, refused)."""


class MeterNotRespondingError(CommunicationError):
    """The meter did not answer within the timeout (after the link layer's retries)."""


class ConnectionLostError(CommunicationError):
    """The port closed or the meter dropped the link or the association."""


class ProtocolError(CommunicationError):
    """The meter answered with something the conversation does not allow (wrong invoke id, state)."""


class AssociationRejectedError(DlmsError):
    """The meter refused the association (AARE result not accepted); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"association rejected: {reason}")
        self.reason = reason


class AuthenticationFailedError(AssociationRejectedError):
    """The password (LLS) or the HLS-GMAC exchange was not accepted."""


class ServiceError(DlmsError):
    """The meter answered a GET/SET/ACTION with an error result."""


class AccessDeniedError(ServiceError):
    """The attribute or method is not accessible to this client (read-write-denied, scope)."""


class ObjectUndefinedError(ServiceError):
    """The meter does not have the object or attribute asked for."""
