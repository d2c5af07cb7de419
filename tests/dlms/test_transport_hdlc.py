"""HdlcTransport over real ptys and real TCP sockets, the meter played by the server link."""

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.errors import (
    ConnectionLostError,
    MeterNotRespondingError,
    PortUnavailableError,
)
from custom_components.dlms_cosem.dlms.hdlc import Control, FrameType, HdlcParameters, server_address
from custom_components.dlms_cosem.dlms.hdlc.link import ProposalAnswer
from custom_components.dlms_cosem.dlms.transport import HdlcTransport, SerialEndpoint, SharedPort, TcpEndpoint

from .test_transport_support import Meter, PtyPeer, TcpPeer

ADDRESS = server_address(1, 17)
AARQ_APDU = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
AARE_APDU = bytes.fromhex(
    "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007"
)
AARQ_FRAME = "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"


@pytest.fixture
async def meter() -> Meter:
    return Meter([ADDRESS])


@pytest.fixture
async def pty(tmp_path: Path, meter: Meter) -> AsyncIterator[PtyPeer]:
    peer = PtyPeer(tmp_path, meter.handle)
    yield peer
    peer.close()


@pytest.fixture
async def tcp(meter: Meter) -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer(meter.handle).start()
    yield peer
    await peer.close()


def transport_for(pty: PtyPeer, **kwargs: Any) -> HdlcTransport:
    options: dict[str, Any] = {"server_physical": 17, "response_timeout": 0.3, "max_retries": 2, **kwargs}
    return HdlcTransport(SerialEndpoint(pty.url), **options)


async def test_request_response_over_a_pty(pty: PtyPeer, meter: Meter) -> None:
    meter.answer = lambda _address, _apdu: AARE_APDU
    transport = transport_for(pty)
    assert not transport.is_open
    await transport.open()
    try:
        assert transport.is_open
        assert transport.parameters == HdlcParameters()
        assert await transport.request(AARQ_APDU) == AARE_APDU
        # What went over the line is exactly the public capture (same addresses and numbering).
        assert bytes(pty.received).hex().upper().find(AARQ_FRAME.upper()) > 0
    finally:
        await transport.close()
    assert not transport.is_open
    assert [frame.control.frame_type for frame in meter.heard] == [
        FrameType.SNRM,
        FrameType.I,
        FrameType.DISC,
    ]
    assert meter.requests == [(ADDRESS, AARQ_APDU)]
    assert not meter.links[ADDRESS].is_connected


async def test_segmented_request_and_response(pty: PtyPeer, meter: Meter) -> None:
    request = bytes(range(256)) * 4
    transport = transport_for(pty)
    await transport.open()
    try:
        answer = await transport.request(request)
    finally:
        await transport.close()
    assert answer == bytes([17]) + request[::-1]
    kinds = [frame.control.frame_type for frame in meter.heard]
    assert kinds.count(FrameType.I) == 9  # 1027 bytes in 128-byte segments
    assert kinds.count(FrameType.RR) == 8  # one per further segment of the answer
    assert transport.link.frames_resent == 0


async def test_negotiated_parameters(tmp_path: Path) -> None:
    meter = Meter([ADDRESS], parameters=HdlcParameters(64, 256, 1, 1))
    peer = PtyPeer(tmp_path, meter.handle)
    transport = transport_for(peer, parameters=HdlcParameters(512, 512, 1, 1))
    try:
        await transport.open()
        assert transport.parameters == HdlcParameters(256, 64, 1, 1)
        assert await transport.request(bytes(700)) == bytes([17]) + bytes(700)
        sizes = {len(frame.information) for frame in meter.heard if frame.control.frame_type is FrameType.I}
        assert max(sizes) == 256
    finally:
        await transport.close()
        peer.close()


async def test_transport_proposes_longer_frames_and_the_meter_decides(tmp_path: Path) -> None:
    meter = Meter([ADDRESS], parameters=HdlcParameters(256, 256, 7, 7))
    peer = PtyPeer(tmp_path, meter.handle)
    transport = transport_for(peer)
    try:
        await transport.open()
        assert transport.parameters == HdlcParameters(256, 256, 7, 7)
        assert await transport.request(bytes(700)) == bytes([17]) + bytes(700)
        # The 703-byte request in 3 frames sent back to back, the 704-byte answer likewise: the meter
        # heard no RR, and neither side waited for an acknowledgement between frames.
        assert [frame.control.frame_type for frame in meter.heard] == [FrameType.SNRM] + [FrameType.I] * 3
        assert [frame.control.poll_final for frame in meter.heard[1:]] == [False, False, True]
        assert max(len(frame.information) for frame in meter.heard) == 256
    finally:
        await transport.close()
        peer.close()


@pytest.mark.parametrize("refusal", [ProposalAnswer.DM, ProposalAnswer.FRMR, ProposalAnswer.SILENCE])
async def test_meter_that_cannot_take_a_proposal_is_still_reached(
    tmp_path: Path, refusal: ProposalAnswer
) -> None:
    meter = Meter([ADDRESS], parameters=HdlcParameters(256, 256, 1, 1), proposal_answer=refusal)
    peer = PtyPeer(tmp_path, meter.handle)
    silent = refusal is ProposalAnswer.SILENCE
    timeout = 0.3 if silent else 5.0
    transport = transport_for(peer, response_timeout=timeout)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        await transport.open()
        elapsed = loop.time() - started
        assert transport.parameters == HdlcParameters()
        assert await transport.request(bytes(300)) == bytes([17]) + bytes(300)
        snrms = [frame.information for frame in meter.heard if frame.control == Control.snrm()]
        assert len(snrms) == 2
        assert snrms[0]  # the proposal,
        assert not snrms[1]  # then the plain SNRM
        if silent:
            assert elapsed >= timeout  # silence costs one response timeout,
        else:
            assert elapsed < timeout  # a refusal one more frame only
        await transport.close()
        await transport.open()  # a refusal is remembered: no proposal again
        snrms = [frame.information for frame in meter.heard if frame.control == Control.snrm()]
        assert bool(snrms[2]) is silent
    finally:
        await transport.close()
        peer.close()


async def test_a_refusal_learnt_on_a_port_spares_the_next_link_the_proposal(tmp_path: Path) -> None:
    meter = Meter([ADDRESS], parameters=HdlcParameters(256, 256, 1, 1), proposal_answer=ProposalAnswer.DM)
    peer = PtyPeer(tmp_path, meter.handle)
    port = SharedPort(SerialEndpoint(peer.url))
    first = HdlcTransport(port, server_physical=17, response_timeout=5.0)
    try:
        await first.open()
        await first.close()
        second = HdlcTransport(port, server_physical=17, response_timeout=5.0)  # e.g. the public client
        await second.open()
        await second.close()
    finally:
        peer.close()
    snrms = [frame.information for frame in meter.heard if frame.control == Control.snrm()]
    assert [bool(information) for information in snrms] == [True, False, False]
    assert port.hdlc_without_proposal == {ADDRESS}


async def test_silent_meter_at_open(pty: PtyPeer, meter: Meter) -> None:
    meter.silent.add(ADDRESS)
    transport = transport_for(pty, response_timeout=0.2, max_retries=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(MeterNotRespondingError):
        await transport.open()
    elapsed = loop.time() - started
    assert 0.6 <= elapsed < 1.2
    assert [frame.control for frame in meter.heard] == [Control.snrm()] * 3
    assert not transport.is_open
    assert transport.port.users == 0
    assert not transport.port.is_open


async def test_meter_falls_silent_during_a_request(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty, response_timeout=0.2, max_retries=3)
    await transport.open()
    try:
        meter.silent.add(ADDRESS)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(MeterNotRespondingError):
            await transport.request(b"\xc0\x01\xc1")
        assert 0.8 <= loop.time() - started < 1.4
        assert not transport.is_open
        with pytest.raises(ConnectionLostError):
            await transport.request(b"\xc0\x01\xc1")
        # The same I-frame went out four times; the meter delivered it once.
        sent = [frame for frame in meter.heard if frame.control.frame_type is FrameType.I]
        assert len(sent) == 4
        assert len({frame.encode() for frame in sent}) == 1
        assert meter.requests == [(ADDRESS, b"\xc0\x01\xc1")]
        # The meter talks again: close and open start afresh.
        meter.silent.clear()
        await transport.close()
        await transport.open()
        assert await transport.request(b"\x01") == b"\x11\x01"
    finally:
        await transport.close()


async def test_garbage_and_corrupted_frames_never_give_a_wrong_answer(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty, response_timeout=0.15, max_retries=4)
    rng = random.Random(5)
    await transport.open()
    try:
        for index in range(8):
            meter.garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))) + b"\x7e\xa0"
            meter.corrupt_frames = rng.choice([0, 0, 1, 2])
            meter.drop_frames = rng.choice([0, 0, 1])
            request = bytes([index]) * rng.randrange(1, 400)
            assert await transport.request(request) == bytes([17]) + request[::-1]
    finally:
        await transport.close()
    assert [apdu for _address, apdu in meter.requests] == [
        bytes([index]) * len(apdu) for index, (_address, apdu) in enumerate(meter.requests)
    ]
    assert len(meter.requests) == 8
    assert transport.link.framer.fcs_errors > 0
    assert transport.link.frames_resent > 0


async def test_late_answer_is_not_taken_for_the_next_one(pty: PtyPeer, meter: Meter) -> None:
    """The first answer comes after the response timeout: the transport resends, the meter resends
    its answer, and each request still gets its own answer exactly once."""
    transport = transport_for(pty, response_timeout=0.2, max_retries=3)
    await transport.open()
    delayed: list[bytes] = []
    feed = meter.feed

    def slow_once(data: bytes) -> bytes:
        meter.record(data)
        reply = feed(data)
        if reply and not delayed and meter.requests:
            delayed.append(reply)
            pty.write_later(0.3, reply)
            return b""
        return reply

    pty.handler = slow_once
    try:
        assert await transport.request(b"\x01\x02") == b"\x11\x02\x01"
        await asyncio.sleep(0.15)  # let the delayed copy land (it is a duplicate by now)
        assert await transport.request(b"\x03\x04") == b"\x11\x04\x03"
        assert await transport.request(b"\x05") == b"\x11\x05"
    finally:
        await transport.close()
    assert [apdu for _address, apdu in meter.requests] == [b"\x01\x02", b"\x03\x04", b"\x05"]
    assert delayed
    assert transport.link.frames_resent >= 1


async def test_peer_closes_the_pty_then_reopen(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty)
    await transport.open()
    try:
        assert await transport.request(b"\x01") == b"\x11\x01"
        pty.hang_up()
        with pytest.raises(ConnectionLostError):
            await transport.request(b"\x02")
        assert not transport.is_open
        await transport.close()
        pty.replug()  # same path, new device
        meter.links[ADDRESS].reset()
        await transport.open()
        assert await transport.request(b"\x03") == b"\x11\x03"
    finally:
        await transport.close()


async def test_port_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "serial" / "by-id" / "usb-FTDI_FT232R-if00-port0"
    transport = HdlcTransport(SerialEndpoint(str(missing)), server_physical=17, response_timeout=0.3)
    with pytest.raises(PortUnavailableError, match="usb-FTDI_FT232R-if00-port0"):
        await transport.open()
    assert not transport.is_open
    await transport.close()  # never raises


async def test_hdlc_over_tcp(tcp: TcpPeer, meter: Meter) -> None:
    transport = HdlcTransport(TcpEndpoint("127.0.0.1", tcp.port), server_physical=17, response_timeout=0.3)
    await transport.open()
    try:
        assert await transport.request(bytes(500)) == bytes([17]) + bytes(500)
        tcp.hang_up()
        with pytest.raises(ConnectionLostError):
            await transport.request(b"\x01")
        await transport.close()
        meter.links[ADDRESS].reset()
        await transport.open()
        assert await transport.request(b"\x02") == b"\x11\x02"
    finally:
        await transport.close()


async def test_hdlc_through_a_serial_to_tcp_bridge_url(tcp: TcpPeer) -> None:
    bridge = SerialEndpoint(f"socket://127.0.0.1:{tcp.port}")
    transport = HdlcTransport(bridge, server_physical=17, response_timeout=0.3)
    await transport.open()
    try:
        assert await transport.request(b"\xc0\x01") == b"\x11\x01\xc0"
    finally:
        await transport.close()


async def test_refused_tcp_is_port_unavailable() -> None:
    probe = await TcpPeer(lambda _data: b"").start()
    port = probe.port
    await probe.close()
    transport = HdlcTransport(TcpEndpoint("127.0.0.1", port), response_timeout=0.3)
    with pytest.raises(PortUnavailableError, match=f"127.0.0.1:{port}"):
        await transport.open()


async def test_meter_that_dropped_the_link_answers_dm(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty)
    await transport.open()
    try:
        meter.links[ADDRESS].reset()  # e.g. its inactivity timeout expired
        with pytest.raises(ConnectionLostError, match="DM"):
            await transport.request(b"\x01")
        assert not transport.is_open
    finally:
        await transport.close()


async def test_inactivity_timeout(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty, inactivity_timeout=0.2)
    await transport.open()
    try:
        assert await transport.request(b"\x01") == b"\x11\x01"
        await asyncio.sleep(0.3)
        heard = len(meter.heard)
        with pytest.raises(ConnectionLostError, match="inactivity"):
            await transport.request(b"\x02")
        assert len(meter.heard) == heard  # failed at once, nothing sent
    finally:
        await transport.close()


async def test_cancelled_request_leaves_the_transport_closed(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty, response_timeout=5.0)
    await transport.open()
    try:
        meter.silent.add(ADDRESS)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await transport.request(b"\x01")
        assert not transport.is_open
        meter.silent.clear()
        await transport.close()
        await transport.open()
        assert await transport.request(b"\x02") == b"\x11\x02"
    finally:
        await transport.close()


async def test_unconfirmed_send(pty: PtyPeer, meter: Meter) -> None:
    meter.answer = lambda _address, _apdu: None
    transport = transport_for(pty)
    await transport.open()
    try:
        await transport.send(b"\x0f\x01")
    finally:
        await transport.close()
    assert meter.requests == [(ADDRESS, b"\x0f\x01")]


async def test_close_when_the_meter_ignores_disc(pty: PtyPeer, meter: Meter) -> None:
    transport = transport_for(pty, response_timeout=0.1)
    await transport.open()
    meter.silent.add(ADDRESS)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await transport.close()
    assert loop.time() - started < 0.5  # one resend of DISC at most
    assert [frame.control.frame_type for frame in meter.heard].count(FrameType.DISC) == 2
    assert not transport.port.is_open


@pytest.mark.parametrize("inter_octet_timeout", [0.05, None])
async def test_frame_cut_short_then_sent_whole(
    pty: PtyPeer, meter: Meter, inter_octet_timeout: float | None
) -> None:
    """The meter starts an answer, stops, and later sends it whole. With the inter-octet timeout the
    stub is dropped unseen; without it the framer skips it when the whole frame arrives."""
    transport = transport_for(pty, response_timeout=1.0, inter_octet_timeout=inter_octet_timeout)
    await transport.open()
    feed = meter.feed

    def stutter(data: bytes) -> bytes:
        meter.record(data)
        reply = feed(data)
        if meter.requests and reply:
            pty.write_later(0.15, reply)
            return reply[:10]
        return reply

    pty.handler = stutter
    try:
        assert await transport.request(b"\x01\x02") == b"\x11\x02\x01"
        assert transport.link.frames_resent == 0
        discarded = transport.link.framer.bytes_discarded
        assert discarded == (0 if inter_octet_timeout else 10)
    finally:
        pty.handler = meter.handle
        await transport.close()
