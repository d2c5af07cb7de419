"""Byte streams to meters: serial ports and URLs through serialx, plain TCP through asyncio.

``SerialEndpoint`` takes whatever serialx opens: device paths (``/dev/ttyUSB0``,
``/dev/serial/by-id/...``), ``socket://host:port`` and ``tcp://`` (ser2net and other serial-to-TCP
bridges, raw), ``rfc2217://`` (bridges that also carry line settings) and the schemes serialx
registers when their backends are installed (``esphome://`` for ESPHome serial proxies).
``TcpEndpoint`` is a plain TCP connection (the IEC 62056-47 wrapper, HDLC over TCP).

Every failure to open becomes :class:`PortUnavailableError` naming the port (user names, passwords
and query strings of URLs are left out of the name).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from dataclasses import dataclass
from typing import Any

import serialx

from ..errors import PortUnavailableError
from .byte_logging import redact_serialx_byte_dumps

DEFAULT_OPEN_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SerialEndpoint:
    """A serial port or serialx URL and the line settings to open it with."""

    url: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1

    def __str__(self) -> str:
        return port_name(self.url)


@dataclass(frozen=True, slots=True)
class TcpEndpoint:
    """A TCP server (IEC 62056-47 wrapper: port 4059; or HDLC over TCP)."""

    host: str
    port: int = 4059

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp {host}:{self.port}"


type Endpoint = SerialEndpoint | TcpEndpoint


def port_name(url: str) -> str:
    """The URL as it may appear in messages: without user, password, query or fragment."""
    parsed = urllib.parse.urlsplit(url)
    if not parsed.scheme or parsed.netloc == "":
        return url.split("?", 1)[0]
    host = parsed.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parsed.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path, "", ""))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, TimeoutError):
        return "timed out"
    return type(exc).__name__


async def open_stream(
    endpoint: Endpoint, *, open_timeout: float = DEFAULT_OPEN_TIMEOUT
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the endpoint; PortUnavailableError when it cannot be opened within ``open_timeout`` seconds."""
    try:
        async with asyncio.timeout(open_timeout):
            if isinstance(endpoint, TcpEndpoint):
                return await asyncio.open_connection(endpoint.host, endpoint.port)
            redact_serialx_byte_dumps()
            reader, writer = await serialx.open_serial_connection(
                endpoint.url,
                baudrate=endpoint.baudrate,
                parity=endpoint.parity,
                stopbits=endpoint.stopbits,
                byte_size=endpoint.bytesize,
            )
            redact_serialx_byte_dumps()
            return reader, writer
    except (OSError, TimeoutError, ValueError, serialx.SerialException) as exc:
        raise PortUnavailableError(f"cannot open {endpoint}: {_reason(exc)}") from None


def is_serial(writer: asyncio.StreamWriter) -> bool:
    """True when the stream is a serialx port (its line settings can be changed)."""
    return isinstance(writer.transport, serialx.BaseSerialTransport)


async def set_line(
    writer: asyncio.StreamWriter, *, baudrate: int, bytesize: int, parity: str, stopbits: float = 1
) -> None:
    """Change the line settings of an open serialx port (IEC 62056-21 switches after the sign-on).

    ``socket://`` bridges accept and ignore this (the bridge's own settings apply); a plain TCP
    stream cannot do it at all (PortUnavailableError).
    """
    transport: Any = writer.transport
    if not isinstance(transport, serialx.BaseSerialTransport):
        raise PortUnavailableError("the line settings of a TCP connection cannot be changed")
    try:
        await transport.reconfigure_port(
            baudrate=baudrate, byte_size=bytesize, parity=parity, stopbits=stopbits
        )
    except (OSError, ValueError, serialx.SerialException) as exc:
        raise PortUnavailableError(f"cannot change the line settings: {_reason(exc)}") from None


async def close_stream(writer: asyncio.StreamWriter) -> None:
    """Close the stream and wait for it; errors of a stream that already failed are swallowed."""
    try:
        writer.close()
        await writer.wait_closed()
    except (OSError, RuntimeError, serialx.SerialException):
        pass
