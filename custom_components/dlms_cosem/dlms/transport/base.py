"""What the client needs from a transport: one confirmed APDU exchange at a time."""

from __future__ import annotations

from typing import Protocol


class ApduTransport(Protocol):
    """Carries xDLMS APDUs to one meter (one server address) and back.

    Implementations hide the link layer (HDLC or the TCP wrapper), its timeouts and retries. Errors are
    the stack's: ``PortUnavailableError`` when the port cannot be opened, ``MeterNotRespondingError``
    when no answer comes in time, ``ConnectionLostError`` when the port closes or the link drops.
    """

    @property
    def is_open(self) -> bool:
        """True between a successful ``open`` and ``close`` (or a lost connection)."""
        ...

    async def open(self) -> None:
        """Open the port and establish the link (SNRM/UA for HDLC)."""
        ...

    async def request(self, apdu: bytes) -> bytes:
        """Send one APDU and return the meter's answer (segments reassembled)."""
        ...

    async def send(self, apdu: bytes) -> None:
        """Send one APDU that gets no answer (unconfirmed services)."""
        ...

    async def close(self) -> None:
        """Release the link (DISC for HDLC) and close the port; never raises."""
        ...
