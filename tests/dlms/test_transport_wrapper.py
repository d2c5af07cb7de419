"""WrapperTransport (IEC 62056-47) against a real TCP server on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.dlms_cosem.dlms.errors import (
    ConnectionLostError,
    EncodeError,
    MeterNotRespondingError,
    PortUnavailableError,
)
from custom_components.dlms_cosem.dlms.transport import TcpEndpoint, WrapperTransport
from custom_components.dlms_cosem.dlms.wrapper import WrapperFramer, WrapperPdu

from .test_transport_support import TcpPeer


class WrapperMeter:
    """Answers each PDU from its wPort with the APDU reversed; faults on demand."""

    def __init__(self) -> None:
        self.framer = WrapperFramer()
        self.requests: list[WrapperPdu] = []
        self.got_request = asyncio.Event()
        self.silent = False
        self.stray_before = b""
        """Bytes sent ahead of each answer (PDUs for other wPorts, say)."""

    def handle(self, data: bytes) -> bytes:
        out = bytearray()
        for pdu in self.framer.feed(data):
            self.requests.append(pdu)
            self.got_request.set()
            if self.silent:
                continue
            out += self.stray_before
            out += WrapperPdu(pdu.destination, pdu.source, pdu.apdu[::-1]).encode()
        return bytes(out)


@pytest.fixture
async def meter() -> WrapperMeter:
    return WrapperMeter()


@pytest.fixture
async def tcp(meter: WrapperMeter) -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer(meter.handle).start()
    yield peer
    await peer.close()


async def test_request_response(tcp: TcpPeer, meter: WrapperMeter) -> None:
    transport = WrapperTransport(TcpEndpoint("127.0.0.1", tcp.port), response_timeout=0.5)
    await transport.open()
    try:
        assert transport.is_open
        assert await transport.request(b"\xc0\x01\xc1") == b"\xc1\x01\xc0"
        big = bytes(range(256)) * 200
        assert await transport.request(big) == big[::-1]
    finally:
        await transport.close()
    assert not transport.is_open
    assert [(pdu.source, pdu.destination) for pdu in meter.requests] == [(16, 1), (16, 1)]
    assert bytes(tcp.received[:8]) == bytes.fromhex("0001001000010003")


async def test_pdus_for_other_wports_are_ignored(tcp: TcpPeer, meter: WrapperMeter) -> None:
    # Another logical device to us, and our logical device to another client.
    meter.stray_before = WrapperPdu(5, 2, b"\xde\xad").encode() + WrapperPdu(1, 3, b"\xbe\xef").encode()
    transport = WrapperTransport(
        TcpEndpoint("127.0.0.1", tcp.port), client_wport=2, server_wport=1, response_timeout=0.5
    )
    await transport.open()
    try:
        assert await transport.request(b"\x01\x02") == b"\x02\x01"
        assert transport.pdus_ignored == 2
    finally:
        await transport.close()


async def test_silent_server_then_the_connection_is_dropped(tcp: TcpPeer, meter: WrapperMeter) -> None:
    transport = WrapperTransport(TcpEndpoint("127.0.0.1", tcp.port), response_timeout=0.2)
    await transport.open()
    try:
        meter.silent = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(MeterNotRespondingError):
            await transport.request(b"\x01")
        assert 0.2 <= loop.time() - started < 0.6
        assert not transport.is_open  # a late answer cannot be taken for the next request's
        with pytest.raises(ConnectionLostError):
            await transport.request(b"\x02")
        meter.silent = False
        await transport.open()
        assert await transport.request(b"\x03\x04") == b"\x04\x03"
    finally:
        await transport.close()


async def test_server_closes_the_connection_then_reopen(tcp: TcpPeer) -> None:
    transport = WrapperTransport(TcpEndpoint("127.0.0.1", tcp.port), response_timeout=0.5)
    await transport.open()
    try:
        assert await transport.request(b"\x01") == b"\x01"
        tcp.hang_up()
        with pytest.raises(ConnectionLostError):
            await transport.request(b"\x02")
        assert not transport.is_open
        await transport.open()
        assert await transport.request(b"\x03\x05") == b"\x05\x03"
    finally:
        await transport.close()


async def test_refused() -> None:
    probe = await TcpPeer(lambda data: data).start()
    port = probe.port
    await probe.close()
    transport = WrapperTransport(TcpEndpoint("127.0.0.1", port))
    with pytest.raises(PortUnavailableError, match=str(port)):
        await transport.open()
    await transport.close()


async def test_apdu_too_long_keeps_the_connection(tcp: TcpPeer) -> None:
    transport = WrapperTransport(TcpEndpoint("127.0.0.1", tcp.port), response_timeout=0.5)
    await transport.open()
    try:
        with pytest.raises(EncodeError):
            await transport.request(bytes(70000))
        assert transport.is_open
        assert await transport.request(b"\x07") == b"\x07"
    finally:
        await transport.close()


async def test_unconfirmed_send(tcp: TcpPeer, meter: WrapperMeter) -> None:
    meter.silent = True
    transport = WrapperTransport(TcpEndpoint("127.0.0.1", tcp.port))
    await transport.open()
    try:
        await transport.send(b"\x0f\x00")
        async with asyncio.timeout(1):
            await meter.got_request.wait()
    finally:
        await transport.close()
    assert meter.requests == [WrapperPdu(16, 1, b"\x0f\x00")]
