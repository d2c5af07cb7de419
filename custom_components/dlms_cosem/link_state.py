"""What a push port did since its last usable telegram, so a silent meter and a refused one differ.

"No telegram for 120 seconds" is the wrong thing to tell a user whose meter sent 43 telegrams that were
all rejected as replays, or whose port delivers bytes at the wrong baud rate. The push coordinator
counts here what arrived since the last telegram it accepted; when the sensors go unavailable, the
reason (in the log, the unavailable message and the diagnostics) names the case:

- ``port_unavailable``: the port or the connection is closed;
- ``no_data``: the port is open and nothing arrives;
- ``no_telegram``: bytes arrive, but no telegram is found in them (baud rate, parity, another device);
- ``undecodable``: telegrams arrive but do not decode (damaged, or a format the meter should not send);
- ``replayed``: telegrams arrive and decode, but every one is rejected as a replay (the meter's
  invocation counter is not above the last one accepted: a meter reset, or a replay);
- ``wrong_key``: telegrams arrive but cannot be decrypted or authenticated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .dlms.errors import DlmsError, SecurityError
from .dlms.replay import ReplayedTelegramError


class LinkState(StrEnum):
    """The state of a push port, as the diagnostics and the unavailable reason name it."""

    OK = "ok"
    PORT_UNAVAILABLE = "port_unavailable"
    NO_DATA = "no_data"
    NO_TELEGRAM = "no_telegram"
    UNDECODABLE = "undecodable"
    REPLAYED = "replayed"
    WRONG_KEY = "wrong_key"


@dataclass(slots=True)
class SinceLastTelegram:
    """Counts of what arrived since the last accepted telegram (reset by each accepted one)."""

    bytes_received: int = 0
    replays: int = 0
    undecodable: int = 0
    security_failures: int = 0
    last_error: str | None = None
    stored_counter: int | None = None
    """The last invocation counter accepted, as the latest replay named it."""
    received_counter: int | None = None
    """The invocation counter the latest replayed telegram carried."""
    replay_title: bytes | None = None

    def failure(self, error: DlmsError, system_title: bytes | None) -> None:
        """Count a telegram that arrived and was not used."""
        if isinstance(error, ReplayedTelegramError):
            self.replays += 1
            self.stored_counter, self.received_counter = error.last, error.counter
            self.replay_title = system_title
        elif isinstance(error, SecurityError):
            self.security_failures += 1
        else:
            self.undecodable += 1
        self.last_error = str(error)

    def state(self, connected: bool | None) -> LinkState:
        """What the port did: the most telling thing that happened, or nothing at all."""
        if connected is False:
            return LinkState.PORT_UNAVAILABLE
        if self.security_failures:
            return LinkState.WRONG_KEY
        if self.replays:
            return LinkState.REPLAYED
        if self.undecodable:
            return LinkState.UNDECODABLE
        if self.bytes_received:
            return LinkState.NO_TELEGRAM
        return LinkState.NO_DATA
