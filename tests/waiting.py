"""Waiting for a condition that has no event to wait on (the simulator or a coordinator makes it true)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_for(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Poll ``condition`` every 20 ms until it is true; TimeoutError after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the condition has no event to wait on
            await asyncio.sleep(0.02)
