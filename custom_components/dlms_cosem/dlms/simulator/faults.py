"""Fault injection: what a flaky line or a misbehaving meter does to a conversation.

:class:`FaultInjector` is sans-I/O: the runner asks it, request by request and write by write, what
goes wrong, and applies the answer (with asyncio timing for the line speed and latency). Faults are
either probabilities (every frame rolls the dice of a seeded :class:`random.Random`, so a test run is
reproducible) or one-shot counts ("the next N frames"):

- corrupt: one byte of an outgoing frame is flipped, so its check sequence fails at the client;
- drop: an outgoing frame loses bytes (its tail, or all of it), as when the line drops out;
- stop answering: requests are swallowed until :meth:`FaultInjector.resume`;
- drop association: the next request finds the association forgotten (answered as not associated);
- reboot: link and association are lost, the meter is deaf for ``reboot_downtime`` seconds, and with
  ``reset_frame_counters`` its invocation counters start again from zero;
- line speed (bytes per second, 10 bits per byte as on a UART) and reply latency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestFaults:
    """What happens to one incoming request (decided before it is handled)."""

    ignore: bool = False
    """Swallow the request: no answer at all (stop answering, or the meter is rebooting)."""
    drop_association: bool = False
    """Forget the association before handling the request."""
    reboot: bool = False
    """Lose link and association now; the request itself is lost."""


class FaultInjector:
    """Decides which faults hit the next request or frame; the runner applies them.

    ``baud`` (None: as fast as the transport goes) and ``latency`` (seconds before a reply) emulate
    the line. Probabilities are per frame; the ``*_next`` counters take precedence and count down.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        corrupt_probability: float = 0.0,
        drop_probability: float = 0.0,
        baud: int | None = None,
        latency: float = 0.0,
        reboot_downtime: float = 0.0,
        reset_frame_counters: bool = False,
    ) -> None:
        self._random = random.Random(seed)  # noqa: S311 - fault dice, not cryptography
        self.corrupt_probability = corrupt_probability
        self.drop_probability = drop_probability
        self.baud = baud
        self.latency = latency
        self.reboot_downtime = reboot_downtime
        self.reset_frame_counters = reset_frame_counters
        self._corrupt_next = 0
        self._drop_next = 0
        self._silent = False
        self._drop_association = False
        self._reboot = False
        self.frames_corrupted = 0
        """Outgoing frames that had a byte flipped."""
        self.frames_dropped = 0
        """Outgoing frames cut short or not sent."""
        self.requests_ignored = 0
        """Requests swallowed (stopped, rebooting)."""

    def __repr__(self) -> str:
        return (
            f"FaultInjector(corrupt={self.corrupt_probability}, drop={self.drop_probability}, "
            f"baud={self.baud}, latency={self.latency}, silent={self._silent})"
        )

    # --- arming -------------------------------------------------------------------------------------

    def corrupt_next(self, frames: int = 1) -> None:
        """Flip a byte in each of the next ``frames`` outgoing frames."""
        self._corrupt_next += frames

    def drop_next(self, frames: int = 1) -> None:
        """Cut each of the next ``frames`` outgoing frames short (or drop them whole)."""
        self._drop_next += frames

    def stop_answering(self) -> None:
        """Swallow every request until :meth:`resume`."""
        self._silent = True

    def resume(self) -> None:
        """Answer again."""
        self._silent = False

    @property
    def silent(self) -> bool:
        """Whether requests are being swallowed."""
        return self._silent

    def drop_association(self) -> None:
        """Make the next request find the association forgotten."""
        self._drop_association = True

    def reboot(self) -> None:
        """Reboot the meter when the next request arrives (or now, for a runner that applies it)."""
        self._reboot = True

    def take_reboot(self) -> bool:
        """Consume a pending reboot (for runners that apply it without waiting for a request)."""
        pending, self._reboot = self._reboot, False
        return pending

    # --- deciding -----------------------------------------------------------------------------------

    def on_request(self) -> RequestFaults:
        """The faults for the request that just arrived (one-shot ones are consumed)."""
        if self._reboot:
            self._reboot = False
            self.requests_ignored += 1
            return RequestFaults(ignore=True, reboot=True)
        if self._silent:
            self.requests_ignored += 1
            return RequestFaults(ignore=True)
        if self._drop_association:
            self._drop_association = False
            return RequestFaults(drop_association=True)
        return RequestFaults()

    def mangle(self, frame: bytes) -> bytes:
        """An outgoing frame as the line delivers it: intact, with a flipped byte, cut short or gone."""
        if not frame:
            return frame
        if self._drop_next or (self.drop_probability and self._random.random() < self.drop_probability):
            self._drop_next = max(0, self._drop_next - 1)
            self.frames_dropped += 1
            return frame[: self._random.randrange(len(frame))]
        if self._corrupt_next or (
            self.corrupt_probability and self._random.random() < self.corrupt_probability
        ):
            self._corrupt_next = max(0, self._corrupt_next - 1)
            self.frames_corrupted += 1
            position = self._random.randrange(len(frame))
            mangled = bytearray(frame)
            mangled[position] ^= 1 << self._random.randrange(8)
            return bytes(mangled)
        return frame

    def transmission_time(self, size: int) -> float:
        """Seconds the line needs for ``size`` bytes (start, 8 data and stop bits each)."""
        if not self.baud:
            return 0.0
        return size * 10 / self.baud
