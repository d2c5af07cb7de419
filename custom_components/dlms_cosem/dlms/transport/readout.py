"""asyncio adapter of the IEC 62056-21 data readout (:class:`~..text.readout.DataReadout`).

:func:`read_out` opens the port, carries out the session's actions (send, wait, change the line) and
feeds it what the meter sends until the data message is in, then closes the port. The result is a
:class:`~..telegram.Telegram` like a pushed one (framing ``text``), so a poll of a meter without HDLC
gives the values a push would. A line change on a stream that cannot change it (a TCP connection to a
bridge) is skipped: the bridge's own settings apply.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..errors import ConnectionLostError
from ..iec62056_21 import Identification, OpeningAction, Send, SetLine, Wait
from ..telegram import Framing, Telegram
from ..text.readout import DataReadout, ReadoutMode
from .streams import DEFAULT_OPEN_TIMEOUT, Endpoint, close_stream, is_serial, open_stream, set_line

READ_SIZE = 1024


@dataclass(frozen=True, slots=True)
class ReadoutSettings:
    """How to read a meter out.

    ``answer_timeout`` bounds each wait for the meter (identification or data message); the meter's
    reaction time is at most 1.5 s and a readout of 2 KiB takes 2 s at 9600 baud, 70 s at 300 (mode
    A), so slow meters need more.
    """

    device_address: str = ""
    max_baudrate: int | None = None
    reaction_time: float = 0.2
    answer_timeout: float = 5.0
    max_retries: int = 2


@dataclass(frozen=True, slots=True)
class ReadoutResult:
    """A finished readout: the meter's identification, the mode and speed it was read at, the values."""

    identification: Identification
    mode: ReadoutMode
    baudrate: int
    telegram: Telegram


async def read_out(
    endpoint: Endpoint, settings: ReadoutSettings | None = None, *, open_timeout: float = DEFAULT_OPEN_TIMEOUT
) -> ReadoutResult:
    """Read the meter at ``endpoint`` out once; a DlmsError (typed) when it cannot be."""
    settings = settings or ReadoutSettings()
    session = DataReadout(
        device_address=settings.device_address,
        max_baudrate=settings.max_baudrate,
        reaction_time=settings.reaction_time,
        max_retries=settings.max_retries,
    )
    reader, writer = await open_stream(endpoint, open_timeout=open_timeout)
    try:
        loop = asyncio.get_running_loop()
        await _run(writer, session.start())
        deadline = loop.time() + settings.answer_timeout
        while session.telegram is None:
            data = b""
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                pass
            if data:
                actions = session.receive(data)
                if actions:
                    deadline = loop.time() + settings.answer_timeout
            elif reader.at_eof():
                raise ConnectionLostError("the port closed during the IEC 62056-21 readout")
            elif loop.time() >= deadline:
                actions = session.on_timeout()  # raises MeterNotRespondingError after the retries
                deadline = loop.time() + settings.answer_timeout
            else:
                continue
            await _run(writer, actions)
    finally:
        await close_stream(writer)
    text = session.telegram
    assert session.identification is not None
    assert session.mode is not None
    telegram = Telegram(
        framing=Framing.TEXT,
        apdu=b"",
        content=text.content,
        timestamp=text.clock,
        identification=text.frame.identification,
    )
    return ReadoutResult(session.identification, session.mode, session.baudrate, telegram)


async def _run(writer: asyncio.StreamWriter, actions: list[OpeningAction]) -> None:
    for action in actions:
        if isinstance(action, Send):
            writer.write(action.data)
            await writer.drain()
        elif isinstance(action, Wait):
            await asyncio.sleep(action.seconds)
        elif isinstance(action, SetLine) and is_serial(writer):
            await set_line(
                writer,
                baudrate=action.baudrate,
                bytesize=action.bytesize,
                parity=action.parity,
                stopbits=action.stopbits,
            )
