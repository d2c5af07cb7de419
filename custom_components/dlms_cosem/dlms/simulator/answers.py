"""The answers a meter gives outside its services: EXCEPTION-Responses, and how a ciphered request came.

Shared by the association (ACSE) and the services of the simulated server, so each refusal is spelled
once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..apdu import ApduTag, ExceptionResponse, ExceptionServiceError, StateError
from ..errors import SecurityError
from ..security import SecurityControl

SYSTEM_TITLE_LENGTH = 8
TAG_LENGTH = 12


def exception_response(
    state: StateError, service: ExceptionServiceError, invocation_counter: int | None = None
) -> bytes:
    """An EXCEPTION-Response, as a meter answers a request it will not serve."""
    return ExceptionResponse(state, service, invocation_counter).encode()


NOT_ASSOCIATED = exception_response(
    StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
)
NOT_SUPPORTED = exception_response(
    StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
)
UNKNOWN = exception_response(StateError.SERVICE_UNKNOWN, ExceptionServiceError.SERVICE_NOT_SUPPORTED)
MALFORMED = exception_response(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OTHER_REASON)
DECIPHERING = exception_response(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.DECIPHERING_ERROR)
TOO_LONG = exception_response(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.PDU_TOO_LONG)


@dataclass(slots=True)
class Protection:
    """How a ciphered request came, so the answer goes back the same way."""

    control: SecurityControl
    response_tag: int


@dataclass(frozen=True, slots=True)
class Plain:
    """A deciphered request and the security control it came with."""

    plaintext: bytes
    control: SecurityControl


class ReplayError(SecurityError):
    """A request whose invocation counter is not above the last one accepted."""

    def __init__(self, expected: int) -> None:
        super().__init__("invocation counter not above the last one accepted")
        self.expected = expected


PLAIN_REQUESTS = frozenset({ApduTag.GET_REQUEST, ApduTag.SET_REQUEST, ApduTag.ACTION_REQUEST})
CIPHERED_OTHER = frozenset(
    tag for tag in ApduTag if tag.name.startswith(("GLO_", "DED_")) or tag.name.startswith("GENERAL_")
)
