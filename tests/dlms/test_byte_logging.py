"""serialx's DEBUG byte dumps reach the log as lengths, never as the bytes (they carry the LLS password)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty

import pytest

from custom_components.dlms_cosem.dlms.transport.byte_logging import ByteDumpRedactor
from custom_components.dlms_cosem.dlms.transport.streams import SerialEndpoint, open_stream

SECRET = b"Pa55word-on-the-wire"


async def test_serial_port_dumps_only_lengths(caplog: pytest.LogCaptureFixture) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    caplog.set_level(logging.DEBUG)
    reader, writer = await open_stream(SerialEndpoint(url=os.ttyname(slave), baudrate=9600))
    try:
        writer.write(b"AARQ " + SECRET)
        await writer.drain()
        sent = b""
        async with asyncio.timeout(5):
            while SECRET not in sent:
                await asyncio.sleep(0.01)
                with contextlib.suppress(BlockingIOError):
                    sent += os.read(master, 1024)
        os.write(master, b"reply " + SECRET)
        assert await reader.readexactly(len(SECRET) + 6) == b"reply " + SECRET
    finally:
        writer.close()
        os.close(master)
        os.close(slave)
    serialx_lines = [r.getMessage() for r in caplog.records if r.name.startswith("serialx")]
    assert any("<25 bytes>" in line for line in serialx_lines), serialx_lines
    assert any("<26 bytes>" in line for line in serialx_lines), serialx_lines
    assert not [line for line in serialx_lines if "Pa55word" in line]


def test_redactor_keeps_other_arguments() -> None:
    record = logging.LogRecord(
        "serialx.x", logging.DEBUG, __file__, 1, "%s wrote %r (%d)", ("port", b"abc", 3), None
    )
    assert ByteDumpRedactor().filter(record)
    assert record.getMessage() == "port wrote <3 bytes> (3)"
    untouched = logging.LogRecord("serialx.x", logging.DEBUG, __file__, 1, "plain %s", ("text",), None)
    ByteDumpRedactor().filter(untouched)
    assert untouched.getMessage() == "plain text"


def test_hex_dumps_and_memoryviews_become_lengths() -> None:
    record = logging.LogRecord(
        "serialx.platforms.serial_rfc2217",
        logging.DEBUG,
        __file__,
        1,
        "RX raw: %d bytes  [%s] %s %r %s %s",
        (5, "7e a0 08 02 23", "left alone", memoryview(b"\x00\x01\x02\x03").cast("H"), "9600", "00" * 8),
        None,
    )
    ByteDumpRedactor().filter(record)
    assert record.getMessage() == "RX raw: 5 bytes  [<5 bytes>] left alone <4 bytes> 9600 <8 bytes>"
