"""Two meters on one pty: a SharedPort under two HdlcTransports."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.errors import ConnectionLostError, MeterNotRespondingError
from custom_components.dlms_cosem.dlms.hdlc import FrameType, server_address
from custom_components.dlms_cosem.dlms.transport import HdlcTransport, SerialEndpoint, SharedPort

from .test_transport_support import Meter, PtyPeer

FIRST = server_address(1, 17)
SECOND = server_address(1, 18)


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[tuple[Meter, PtyPeer]]:
    meter = Meter([FIRST, SECOND])
    peer = PtyPeer(tmp_path, meter.handle)
    yield meter, peer
    peer.close()


def transports(peer: PtyPeer, **kwargs: Any) -> tuple[SharedPort, HdlcTransport, HdlcTransport]:
    port = SharedPort(SerialEndpoint(peer.url))
    options: dict[str, Any] = {"response_timeout": 0.3, "max_retries": 2, **kwargs}
    return (
        port,
        HdlcTransport(port, server_physical=17, **options),
        HdlcTransport(port, server_physical=18, **options),
    )


async def test_two_meters_share_one_port(bus: tuple[Meter, PtyPeer]) -> None:
    meter, peer = bus
    port, first, second = transports(peer)
    await first.open()
    await second.open()
    try:
        assert port.users == 2
        answers = await asyncio.gather(
            *(transport.request(bytes([n]) * 300) for n in range(4) for transport in (first, second))
        )
        assert answers == [bytes([physical]) + bytes([n]) * 300 for n in range(4) for physical in (17, 18)]
    finally:
        await first.close()
        assert port.users == 1
        assert port.is_open
        assert second.is_open
        assert await second.request(b"\x09") == b"\x12\x09"
        await second.close()
    assert port.users == 0
    assert not port.is_open
    expected = [(address, bytes([n]) * 300) for n in range(4) for address in (FIRST, SECOND)]
    expected.append((SECOND, b"\x09"))
    assert sorted(meter.requests, key=str) == sorted(expected, key=str)


async def test_transactions_do_not_interleave_on_the_line(bus: tuple[Meter, PtyPeer]) -> None:
    meter, peer = bus
    _port, first, second = transports(peer)
    await first.open()
    await second.open()
    try:
        await asyncio.gather(*(t.request(bytes(500)) for _ in range(3) for t in (first, second)))
    finally:
        await first.close()
        await second.close()
    # From a request's first I-frame to the RR for its last answer segment, only that meter is polled.
    owners = [
        frame.destination for frame in meter.heard if frame.control.frame_type in (FrameType.I, FrameType.RR)
    ]
    runs = []
    for owner in owners:
        if not runs or runs[-1][0] != owner:
            runs.append([owner, 0])
        runs[-1][1] += 1
    # 503 bytes each way with 128-byte segments: 4 I-frames and 3 RRs per transaction, never split.
    assert all(count % 7 == 0 for _owner, count in runs)
    assert sum(count for _owner, count in runs) == 6 * 7


async def test_a_silent_meter_does_not_disturb_the_other(bus: tuple[Meter, PtyPeer]) -> None:
    meter, peer = bus
    _port, first, second = transports(peer, response_timeout=0.15)
    await first.open()
    await second.open()
    try:
        meter.silent.add(FIRST)
        results = await asyncio.gather(
            first.request(b"\x01"), second.request(b"\x02"), return_exceptions=True
        )
        assert isinstance(results[0], MeterNotRespondingError)
        assert results[1] == b"\x12\x02"
        assert not first.is_open
        assert second.is_open
        assert await second.request(b"\x03") == b"\x12\x03"
    finally:
        await first.close()
        await second.close()


async def test_reopen_after_everyone_closed(bus: tuple[Meter, PtyPeer]) -> None:
    _meter, peer = bus
    port, first, _second = transports(peer)
    await first.open()
    generation = port.generation
    await first.close()
    assert not port.is_open
    await first.open()
    try:
        assert port.generation == generation + 1
        assert await first.request(b"\x01") == b"\x11\x01"
    finally:
        await first.close()


async def test_lost_port_is_reopened_for_everyone(bus: tuple[Meter, PtyPeer]) -> None:
    meter, peer = bus
    port, first, second = transports(peer)
    await first.open()
    await second.open()
    try:
        peer.hang_up()
        with pytest.raises(ConnectionLostError):
            await first.request(b"\x01")
        assert not second.is_open  # same port: its stream is gone too
        peer.replug()
        for link in meter.links.values():
            link.reset()
        await first.open()  # reopens the shared stream while the second is still attached
        assert port.users == 2
        assert not second.is_open  # its link predates the new stream
        await second.open()
        assert await second.request(b"\x02") == b"\x12\x02"
        assert await first.request(b"\x03") == b"\x11\x03"
    finally:
        await first.close()
        await second.close()
    assert port.users == 0
