"""IEC 62056-21 mode E opening: the sans-I/O exchange, and end to end on a pty with a scripted meter."""

import asyncio
import termios
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.errors import MeterNotRespondingError, ProtocolError
from custom_components.dlms_cosem.dlms.hdlc import server_address
from custom_components.dlms_cosem.dlms.iec62056_21 import (
    Identification,
    ModeEOpening,
    Send,
    SetLine,
    Wait,
)
from custom_components.dlms_cosem.dlms.transport import HdlcTransport, ModeESettings, SerialEndpoint

from .test_transport_support import Meter, PtyPeer

IDENTIFICATION = b"/ISk5\\2MT382-1000\r\n"


def test_sign_on() -> None:
    opening = ModeEOpening()
    assert opening.start() == [SetLine(300, 7, "E"), Send(b"/?!\r\n")]
    assert not opening.done


def test_sign_on_with_device_address() -> None:
    assert ModeEOpening(device_address="12345678").sign_on == b"/?12345678!\r\n"
    for bad in ("x" * 33, "a!b", "é", "a\rb"):
        with pytest.raises(ValueError, match="device address"):
            ModeEOpening(device_address=bad)


def test_identification_to_hdlc() -> None:
    opening = ModeEOpening(reaction_time=0.25)
    opening.start()
    assert opening.receive(IDENTIFICATION[:7]) == []
    actions = opening.receive(IDENTIFICATION[7:])
    assert actions == [
        Wait(0.25),
        Send(b"\x06252\r\n"),
        Wait(0.2),  # six characters of ten bits at 300 baud
        SetLine(9600, 8, "N"),
        Wait(0.25),
    ]
    assert opening.done
    assert opening.baudrate == 9600
    assert opening.identification == Identification("ISk", "5", "\\2MT382-1000", ("2",))
    assert opening.identification.supports_hdlc
    assert opening.identification.fast_reaction
    assert opening.receive(IDENTIFICATION) == []  # done: nothing more


def test_echo_noise_and_parity_bits_are_skipped() -> None:
    opening = ModeEOpening()
    opening.start()
    # The probe echoes the sign-on; noise; then the identification with the parity bit left in.
    with_parity = bytes(byte | 0x80 if bin(byte).count("1") % 2 else byte for byte in IDENTIFICATION)
    assert opening.receive(b"/?!\r\n\x00\xff/x/\r\n") == []
    actions = opening.receive(with_parity)
    assert Send(b"\x06252\r\n") in actions
    assert opening.identification is not None
    assert opening.identification.manufacturer == "ISk"


def test_baud_rate_capped() -> None:
    opening = ModeEOpening(max_baudrate=4800)
    opening.start()
    actions = opening.receive(b"/ABC6\\2XYZ\r\n")
    assert Send(b"\x06242\r\n") in actions
    assert SetLine(4800, 8, "N") in actions
    assert opening.baudrate == 4800


def test_meter_without_hdlc() -> None:
    opening = ModeEOpening()
    opening.start()
    with pytest.raises(ProtocolError, match="mode E"):
        opening.receive(b"/LGZ5ZMD3104407.B32\r\n")
    lenient = ModeEOpening(require_hdlc=False)
    lenient.start()
    assert Send(b"\x06252\r\n") in lenient.receive(b"/LGZ5ZMD3104407.B32\r\n")
    assert lenient.identification is not None
    assert not lenient.identification.fast_reaction


def test_reserved_baud_rate_character() -> None:
    opening = ModeEOpening()
    opening.start()
    with pytest.raises(ProtocolError, match="reserved"):
        opening.receive(b"/ABC7\\2XYZ\r\n")


def test_no_identification_repeats_the_sign_on_then_gives_up() -> None:
    opening = ModeEOpening(max_retries=2)
    opening.start()
    assert opening.on_timeout() == [Send(b"/?!\r\n")]
    assert opening.on_timeout() == [Send(b"/?!\r\n")]
    with pytest.raises(MeterNotRespondingError):
        opening.on_timeout()


def test_identification_parsing() -> None:
    parsed = Identification.parse(b"/KAM5\\2\\@Meter 1")
    assert parsed.enhanced == ("2", "@")
    assert parsed.baudrate == 9600
    assert Identification.parse(b"/ABCE\\2x").baudrate == 9600  # mode B letter
    for bad in (b"/AB", b"/1BC5x", b"/ABC:x", b"/ABC5\x01x", b"?ABC5x"):
        with pytest.raises(ProtocolError):
            Identification.parse(bad)


class ScriptedOpticalMeter:
    """Answers the sign-on with an identification, takes the acknowledgement, then speaks HDLC."""

    def __init__(self, identification: bytes, *, ignore_sign_ons: int = 0) -> None:
        self.identification = identification
        self.ignore_sign_ons = ignore_sign_ons
        self.hdlc = Meter([server_address(1, 17)])
        self.buffer = bytearray()
        self.stage = "sign-on"
        self.sign_ons = 0
        self.acknowledgement = b""
        self.speed_at_sign_on = -1
        self.speed_at_acknowledgement = -1
        self.peer: PtyPeer | None = None

    def speed(self) -> int:
        assert self.peer is not None
        return termios.tcgetattr(self.peer.slave)[4]

    def handle(self, data: bytes) -> bytes:
        if self.stage == "hdlc":
            return self.hdlc.handle(data)
        self.buffer += data
        if self.stage == "sign-on" and self.buffer.endswith(b"!\r\n"):
            self.buffer.clear()
            self.sign_ons += 1
            self.speed_at_sign_on = self.speed()
            if self.sign_ons <= self.ignore_sign_ons:
                return b""
            self.stage = "acknowledgement"
            return self.identification
        if self.stage == "acknowledgement" and self.buffer.endswith(b"\r\n"):
            self.acknowledgement = bytes(self.buffer)
            self.speed_at_acknowledgement = self.speed()
            self.buffer.clear()
            self.stage = "hdlc"
        return b""


def optical_transport(peer: PtyPeer, **settings: Any) -> HdlcTransport:
    mode_e = ModeESettings(**{"reaction_time": 0.01, "identification_timeout": 0.4, **settings})
    return HdlcTransport(
        SerialEndpoint(peer.url), server_physical=17, response_timeout=0.3, optical_mode_e=mode_e
    )


async def test_mode_e_opening_on_a_pty(tmp_path: Path) -> None:
    meter = ScriptedOpticalMeter(IDENTIFICATION)
    peer = PtyPeer(tmp_path, meter.handle)
    meter.peer = peer
    transport = optical_transport(peer)
    try:
        await transport.open()
        assert meter.speed_at_sign_on == termios.B300
        assert meter.acknowledgement == b"\x06252\r\n"
        assert meter.speed_at_acknowledgement == termios.B300
        assert termios.tcgetattr(peer.slave)[4] == termios.B9600
        assert transport.port.identification is not None
        assert transport.port.identification.manufacturer == "ISk"
        assert await transport.request(b"\xc0\x01") == b"\x11\x01\xc0"
    finally:
        await transport.close()
        peer.close()


async def test_mode_e_signs_on_again_when_the_first_goes_unanswered(tmp_path: Path) -> None:
    meter = ScriptedOpticalMeter(IDENTIFICATION, ignore_sign_ons=1)
    peer = PtyPeer(tmp_path, meter.handle)
    meter.peer = peer
    transport = optical_transport(peer)
    try:
        await transport.open()
        assert meter.sign_ons == 2
        assert await transport.request(b"\x01") == b"\x11\x01"
    finally:
        await transport.close()
        peer.close()


async def test_mode_e_silent_probe(tmp_path: Path) -> None:
    peer = PtyPeer(tmp_path, lambda _data: b"")
    transport = optical_transport(peer, identification_timeout=0.15, max_retries=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(MeterNotRespondingError, match="identification"):
            await transport.open()
        assert 0.3 <= loop.time() - started < 0.8
        assert bytes(peer.received) == b"/?!\r\n" * 2
        assert not transport.port.is_open
    finally:
        await transport.close()
        peer.close()


async def test_mode_e_meter_without_hdlc(tmp_path: Path) -> None:
    meter = ScriptedOpticalMeter(b"/LGZ5ZMD3104407.B32\r\n")
    peer = PtyPeer(tmp_path, meter.handle)
    meter.peer = peer
    transport = optical_transport(peer)
    try:
        with pytest.raises(ProtocolError):
            await transport.open()
        assert not transport.port.is_open
    finally:
        await transport.close()
        peer.close()
