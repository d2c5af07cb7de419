"""General Block Transfer in pushed telegrams: blocks that follow on, or nothing.

A meter that pushes a telegram in General-Block-Transfer blocks (Landis+Gyr E450) numbers them from 1
and sends them back to back. On a push port nobody acknowledges or asks again, so a block that is
lost cannot come back: the blocks after it belong to a telegram that will never be whole, and joining
them to anything else would stitch two telegrams into one. :class:`PushBlockReassembler` therefore

- starts afresh on every block 1 (a meter that restarts a telegram, or the next telegram after one
  whose last block was lost): the unfinished one is dropped, counted in ``dropped``;
- drops the unfinished telegram on a gap in the numbering, raising
  :class:`~.errors.IncompleteTelegramError` once, and ignores the rest of that telegram's blocks up to
  its last one (or the next block 1);
- refuses to grow past ``max_size`` with :class:`~.errors.TelegramTooLargeError`, and ignores the rest
  of that telegram's blocks the same way, so an oversized transfer costs one failure, not one per block.
"""

from __future__ import annotations

from .apdu.block_transfer import GeneralBlockTransfer
from .errors import IncompleteTelegramError, TelegramTooLargeError

FIRST_BLOCK_NUMBER = 1
"""The block number a General Block Transfer starts with (IEC 62056-5-3, 9.4.6.13)."""


class PushBlockReassembler:
    """Joins the blocks of one pushed telegram; see the module docstring for what it refuses."""

    __slots__ = ("_expected", "_parts", "_size", "_skipping", "dropped", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._parts: list[bytes] = []
        self._size = 0
        self._expected = FIRST_BLOCK_NUMBER
        self._skipping = False
        self.dropped = 0
        """Unfinished telegrams dropped (a restart, a gap, :meth:`reset`); growth past ``max_size`` is
        the caller's to count, from the error."""

    @property
    def in_progress(self) -> bool:
        """True while the blocks of an unfinished telegram are held."""
        return bool(self._parts)

    def reset(self) -> bool:
        """Forget an unfinished telegram (a long silence, the port closed); True if one was held."""
        held = self.in_progress
        if held:
            self.dropped += 1
        self._clear()
        self._skipping = False
        return held

    def add(self, block: GeneralBlockTransfer) -> bytes | None:
        """Take the next block; the telegram's APDU when it was the last one, else None."""
        number = block.block_number
        if number == FIRST_BLOCK_NUMBER:
            self.reset()
        elif self._skipping:
            self._skipping = not block.last_block
            return None
        elif number != self._expected:
            held = self.in_progress
            expected = self._expected
            self._drop(block)
            if not held:
                return None  # the middle of a telegram whose start never came: nothing was held
            raise IncompleteTelegramError(
                f"general-block-transfer block {number} arrived where block {expected} was due: "
                "the partial telegram was dropped"
            )
        size = self._size + len(block.block_data)
        if size > self.max_size:
            self._clear()  # counted by the caller as oversized, not as dropped
            self._skipping = not block.last_block
            raise TelegramTooLargeError(
                f"general-block-transfer telegram grew past {self.max_size} bytes: dropped"
            )
        self._parts.append(block.block_data)
        self._size = size
        self._expected = number + 1
        if not block.last_block:
            return None
        joined = b"".join(self._parts)
        self._clear()
        return joined

    def _drop(self, block: GeneralBlockTransfer) -> None:
        if self.in_progress:
            self.dropped += 1
        self._clear()
        self._skipping = not block.last_block

    def _clear(self) -> None:
        self._parts = []
        self._size = 0
        self._expected = FIRST_BLOCK_NUMBER
