"""Replay protection for pushed telegrams.

A ciphered telegram carries the meter's invocation counter, which must grow with every telegram it
sends under the same key. A telegram whose counter is not greater than the last one accepted from
that system title is a replay (or a meter reset that needs a new key) and is dropped. The caller
persists the counters (Home Assistant storage) and hands them back after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .errors import SecurityError


class ReplayedTelegramError(SecurityError):
    """The telegram's invocation counter is not greater than the last accepted one."""

    def __init__(self, counter: int, last: int) -> None:
        super().__init__(f"replayed telegram: invocation counter {counter} is not greater than {last}")
        self.counter = counter
        self.last = last


class ReplayGuard:
    """Remembers the last accepted invocation counter per system title."""

    def __init__(
        self,
        counters: Mapping[bytes, int] | None = None,
        on_accept: Callable[[bytes, int], None] | None = None,
    ) -> None:
        self._last: dict[bytes, int] = dict(counters or {})
        self._on_accept = on_accept

    @property
    def counters(self) -> dict[bytes, int]:
        """The last accepted counter per system title (a copy, for persisting)."""
        return dict(self._last)

    def accept_from(self, system_title: bytes, counter: int) -> None:
        """Accept telegrams from ``counter`` on: the user confirmed the meter restarted its counter.

        After a meter reset or a firmware update a meter may count again from a lower value; every
        telegram is then a replay to this guard until someone who can tell (the user) says otherwise.
        """
        self._last[system_title] = counter - 1
        if self._on_accept is not None:
            self._on_accept(system_title, counter - 1)

    def check(self, system_title: bytes | None, counter: int | None) -> None:
        """Accept a telegram's counter, or raise :class:`ReplayedTelegramError`.

        Telegrams without a counter (unciphered) are not protected and always pass.
        """
        if system_title is None or counter is None:
            return
        last = self._last.get(system_title)
        if last is not None and counter <= last:
            raise ReplayedTelegramError(counter, last)
        self._last[system_title] = counter
        if self._on_accept is not None:
            self._on_accept(system_title, counter)
