"""open_stream over a real pty (serialx), real TCP and serialx's socket:// URL; errors name the port."""

import asyncio
import termios
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.errors import PortUnavailableError
from custom_components.dlms_cosem.dlms.transport import SerialEndpoint, TcpEndpoint, open_stream, set_line
from custom_components.dlms_cosem.dlms.transport.streams import close_stream, is_serial, port_name

from .test_transport_support import PtyPeer, TcpPeer

EVERY_BYTE = bytes(range(256))


@pytest.fixture
async def echo_pty(tmp_path: Path) -> AsyncIterator[PtyPeer]:
    peer = PtyPeer(tmp_path, lambda data: data)
    yield peer
    peer.close()


@pytest.fixture
async def echo_tcp() -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer(lambda data: data).start()
    yield peer
    await peer.close()


async def read_exactly(reader: asyncio.StreamReader, count: int) -> bytes:
    async with asyncio.timeout(2):
        return await reader.readexactly(count)


async def test_serial_port_carries_every_byte_value(echo_pty: PtyPeer) -> None:
    reader, writer = await open_stream(SerialEndpoint(echo_pty.url))
    try:
        assert is_serial(writer)
        writer.write(EVERY_BYTE * 4)
        await writer.drain()
        assert await read_exactly(reader, 1024) == EVERY_BYTE * 4
        assert bytes(echo_pty.received) == EVERY_BYTE * 4
    finally:
        await close_stream(writer)


async def test_line_settings_reach_the_device(echo_pty: PtyPeer) -> None:
    reader, writer = await open_stream(SerialEndpoint(echo_pty.url, baudrate=300, bytesize=7, parity="E"))
    try:
        serial = writer.transport
        assert (serial.baudrate, serial.byte_size, serial.parity) == (300, 7, "E")  # type: ignore[attr-defined]
        # The kernel keeps the speed; a Linux pty forces CS8 without parity, so only serialx can tell 7E1.
        assert termios.tcgetattr(echo_pty.slave)[4] == termios.B300
        await set_line(writer, baudrate=9600, bytesize=8, parity="N")
        assert (serial.baudrate, serial.byte_size, serial.parity) == (9600, 8, "N")  # type: ignore[attr-defined]
        assert termios.tcgetattr(echo_pty.slave)[4] == termios.B9600
        del reader
    finally:
        await close_stream(writer)


async def test_tcp_endpoint(echo_tcp: TcpPeer) -> None:
    reader, writer = await open_stream(TcpEndpoint("127.0.0.1", echo_tcp.port))
    try:
        assert not is_serial(writer)
        writer.write(EVERY_BYTE)
        await writer.drain()
        assert await read_exactly(reader, 256) == EVERY_BYTE
        with pytest.raises(PortUnavailableError, match="cannot be changed"):
            await set_line(writer, baudrate=300, bytesize=7, parity="E")
    finally:
        await close_stream(writer)


async def test_socket_url_through_serialx(echo_tcp: TcpPeer) -> None:
    reader, writer = await open_stream(SerialEndpoint(f"socket://127.0.0.1:{echo_tcp.port}"))
    try:
        assert is_serial(writer)
        writer.write(EVERY_BYTE)
        await writer.drain()
        assert await read_exactly(reader, 256) == EVERY_BYTE
        await set_line(writer, baudrate=300, bytesize=7, parity="E")  # a raw bridge ignores it
    finally:
        await close_stream(writer)


async def test_missing_device(tmp_path: Path) -> None:
    path = tmp_path / "serial" / "by-id" / "usb-Prolific-port0"
    with pytest.raises(PortUnavailableError, match=r"usb-Prolific-port0: No such file or directory"):
        await open_stream(SerialEndpoint(str(path)))


async def test_not_a_serial_port(tmp_path: Path) -> None:
    path = tmp_path / "plain-file"
    path.write_bytes(b"")
    with pytest.raises(PortUnavailableError, match="plain-file"):
        await open_stream(SerialEndpoint(str(path)))


async def test_refused_connections() -> None:
    probe = await TcpPeer(lambda data: data).start()
    port = probe.port
    await probe.close()
    with pytest.raises(PortUnavailableError, match=f"tcp 127.0.0.1:{port}"):
        await open_stream(TcpEndpoint("127.0.0.1", port))
    with pytest.raises(PortUnavailableError, match=f"socket://127.0.0.1:{port}"):
        await open_stream(SerialEndpoint(f"socket://user:secret@127.0.0.1:{port}?token=hidden"))


async def test_error_messages_leave_credentials_out() -> None:
    with pytest.raises(PortUnavailableError) as info:
        await open_stream(SerialEndpoint("nosuchscheme://admin:hunter2@meter.invalid:6053/?key=abcdef"))
    message = str(info.value)
    assert "nosuchscheme://meter.invalid:6053/" in message
    for secret in ("admin", "hunter2", "abcdef"):
        assert secret not in message


def test_port_names() -> None:
    assert port_name("/dev/ttyUSB0") == "/dev/ttyUSB0"
    assert port_name("socket://h:20") == "socket://h:20"
    assert port_name("rfc2217://u:p@[::1]:2217?ign_set_control") == "rfc2217://[::1]:2217"
    assert str(TcpEndpoint("::1", 4059)) == "tcp [::1]:4059"
    assert str(SerialEndpoint("esphome://proxy.local:6053/?noise_psk=xyz")) == "esphome://proxy.local:6053/"


async def test_pty_master_closed_is_seen_by_the_reader(echo_pty: PtyPeer) -> None:
    reader, writer = await open_stream(SerialEndpoint(echo_pty.url))
    try:
        echo_pty.hang_up()
        with pytest.raises(OSError):  # noqa: PT011 - EIO, what an unplugged USB adapter gives too
            await read_exactly(reader, 1)
    finally:
        await close_stream(writer)
