"""The client's unit of work: an :class:`Operation` is one conversation driven by the caller.

An operation gives the APDU to send, takes the meter's answer and either gives the next APDU (a
Get-Request-Next, the next batch of a GET-with-list, HLS pass 3) or finishes with a result or a typed
error. Kept apart from the services so every service (GET, READ, association) is a plain generator.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from enum import Enum

from ..apdu import ApplicationContextName, Conformance
from ..errors import ProtocolError

#: A conversation: yields each APDU to send, receives each answer, returns the result.
type Steps[T] = Generator[bytes, bytes, T]


class AssociationState(Enum):
    """Where the association stands."""

    NOT_ASSOCIATED = "not associated"
    ASSOCIATING = "associating"
    AUTHENTICATING = "authenticating"
    ASSOCIATED = "associated"
    RELEASING = "releasing"


@dataclass(frozen=True, slots=True)
class NegotiatedContext:
    """What the meter accepted in its AARE: services, PDU size and who it is."""

    conformance: Conformance
    server_max_pdu_size: int
    dlms_version: int
    vaa_name: int
    application_context_name: ApplicationContextName
    server_system_title: bytes | None = None

    def allows(self, service: Conformance) -> bool:
        """Whether every bit of ``service`` was negotiated."""
        return self.conformance & service == service


class Operation[T]:
    """One conversation with the meter, driven by the caller.

    Send :attr:`request`, pass the answer to :meth:`receive`; repeat while it returns the next
    request, then read :meth:`result`. Errors are raised by :meth:`receive` (or on creation, when the
    operation cannot even start); after one, the operation is over.
    """

    __slots__ = ("_outcome", "_request", "_steps")

    def __init__(self, steps: Steps[T]) -> None:
        self._steps = steps
        self._request: bytes | None = None
        self._outcome: tuple[T] | None = None
        self._advance(None)

    def _advance(self, answer: bytes | None) -> None:
        try:
            self._request = next(self._steps) if answer is None else self._steps.send(answer)
        except StopIteration as stop:
            self._request = None
            self._outcome = (stop.value,)
        except BaseException:
            self._request = None
            raise

    @property
    def done(self) -> bool:
        """True when nothing more is to be sent (finished or failed)."""
        return self._request is None

    @property
    def request(self) -> bytes:
        """The APDU to send now."""
        if self._request is None:
            raise ProtocolError("the operation has no request to send: it is over")
        return self._request

    def receive(self, apdu: bytes) -> bytes | None:
        """Take the meter's answer; returns the next APDU to send, or ``None`` when finished."""
        if self._request is None:
            raise ProtocolError("the operation is over: no answer expected")
        self._advance(bytes(apdu))
        return self._request

    def result(self) -> T:
        """The outcome of a finished operation."""
        if self._outcome is None:
            raise ProtocolError("the operation has not finished successfully")
        return self._outcome[0]
