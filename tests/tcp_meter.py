"""A meter's bytes served on 127.0.0.1, as a ser2net bridge or an ESPHome serial proxy serves them.

Each connection runs ``send`` (which writes and sleeps for as long as it likes); closing the server
cancels the connections still open, so no task outlives the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any


@contextlib.asynccontextmanager
async def serving(send: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> AsyncIterator[int]:
    """A TCP port on 127.0.0.1 whose connections get ``send(writer)``; yields the port."""
    handlers: set[asyncio.Task[Any]] = set()

    async def connected(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if (task := asyncio.current_task()) is not None:
            handlers.add(task)
        try:
            with contextlib.suppress(ConnectionError):
                await send(writer)
        finally:
            writer.close()

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close_clients()
        await server.wait_closed()
