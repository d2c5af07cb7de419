"""One fuzz target per parser: a function taking bytes that feeds them to one parser of the stack.

A target returns normally or raises; the engine classifies a :class:`DlmsError` as the stack doing
its job and anything else as a defect. Targets go a step past the bare parse where the integration
does (push values are turned into what a sensor shows, ciphered APDUs are deciphered with the
capture's key), so a value that only breaks later is found too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    RLRE,
    ConfirmedServiceError,
    ExceptionResponse,
    GeneralBlockTransfer,
    GeneralBlockTransferReassembler,
    InitiateResponse,
    decode_action_response,
    decode_apdu,
    decode_get_response,
    decode_set_response,
)
from custom_components.dlms_cosem.dlms.apdu.tags import XdlmsTag
from custom_components.dlms_cosem.dlms.axdr.decode import decode_data_bytes
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import DlmsError
from custom_components.dlms_cosem.dlms.hdlc import (
    HdlcFramer,
    HdlcParameters,
    SegmentReassembler,
    decode_frame,
    fcs_bytes,
    has_llc,
    strip_llc,
)
from custom_components.dlms_cosem.dlms.iec62056_21 import Identification, ModeEOpening
from custom_components.dlms_cosem.dlms.mbus import MbusFramer, MbusReassembler, checksum, decode_mbus_frame
from custom_components.dlms_cosem.dlms.push import extract_objects
from custom_components.dlms_cosem.dlms.push.values import plain_value
from custom_components.dlms_cosem.dlms.security import (
    SecurityKeys,
    decode_ciphered_apdu,
    is_ciphered_tag,
    unprotect,
)
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramDecoder
from custom_components.dlms_cosem.dlms.text import TextFramer, decode_text_telegram
from custom_components.dlms_cosem.dlms.wrapper import WrapperFramer, decode_wrapper_pdu
from custom_components.dlms_cosem.positions import keyed_objects

from .seeds import FIXTURES, load_seeds

# Client-side responses by tag, dispatched as the client does after reading a frame.
_RESPONSE_DECODERS: dict[int, Callable[[bytes], object]] = {
    0x61: AARE.decode,
    0x63: RLRE.decode,
    0x08: InitiateResponse.decode,
    0x0E: ConfirmedServiceError.decode,
    0xD8: ExceptionResponse.decode,
    0xC4: decode_get_response,
    0xC5: decode_set_response,
    0xC7: decode_action_response,
    XdlmsTag.GENERAL_BLOCK_TRANSFER: GeneralBlockTransfer.decode,
}

# HDLC: the frame format field (2 bytes) then addresses that end at a byte with the low bit set.
_HDLC_FORMAT_SIZE = 2
_HDLC_LENGTH_MASK = 0x07FF
_HDLC_MAX_ADDRESS_BYTES = 4
_HDLC_FLAG = b"\x7e"


@dataclass(frozen=True, slots=True)
class Target:
    """A parser under fuzzing: its entry, its seeds and the largest input it is given."""

    name: str
    run: Callable[[bytes], object]
    seeds: tuple[bytes, ...]
    max_size: int = 4096
    description: str = ""


def _show(value: object) -> None:
    """What the integration does with a decoded value: a date-time becomes a Python datetime."""
    if isinstance(value, CosemDateTime):
        value.to_datetime()


def _push_values(telegram: Telegram) -> None:
    content = telegram.content
    for obj in content.objects:
        _show(obj.value)
        _show(plain_value(obj.data))
        obj.unit  # noqa: B018 - the unit is worked out on first use
    keyed_objects(content.objects)
    if telegram.timestamp is not None:
        telegram.timestamp.to_datetime()


def fuzz_hdlc(data: bytes) -> None:
    """The stream framer, segment reassembly, LLC removal and UA parameters, on raw line bytes."""
    segments = SegmentReassembler()
    for frame in HdlcFramer().feed(data):
        whole = segments.add(frame)
        if whole is not None and has_llc(whole):
            strip_llc(whole)
        if frame.information and frame.information[0] == 0x81:
            HdlcParameters.decode(frame.information)
    decode_frame(data)


def _hdlc_wrap(body: bytes) -> bytes:
    """A frame around ``body`` (format, addresses, control, information) with right HCS, FCS and length."""
    end = _HDLC_FORMAT_SIZE
    for _ in range(2):  # destination, then source address
        stop = end + _HDLC_MAX_ADDRESS_BYTES
        while end < len(body) and end < stop and not body[end] & 1:
            end += 1
        end += 1
    end += 1  # control
    header, information = bytearray(body[:end]), body[end:]
    length = len(header) + 2 + (len(information) + 2 if information else 0)
    if len(header) >= _HDLC_FORMAT_SIZE:
        frame_format = int.from_bytes(header[:2], "big") & ~_HDLC_LENGTH_MASK | length & _HDLC_LENGTH_MASK
        header[:2] = frame_format.to_bytes(2)  # the type and S bit stay as mutated
    inner = bytes(header) + (fcs_bytes(header) + information if information else b"")
    return _HDLC_FLAG + inner + fcs_bytes(inner) + _HDLC_FLAG


def fuzz_hdlc_checked(data: bytes) -> None:
    """HDLC frames whose length, HCS and FCS are made right, so the fields behind them are reached."""
    fuzz_hdlc(_hdlc_wrap(data))


def fuzz_mbus(data: bytes) -> None:
    """The M-Bus framer and segment reassembly on raw line bytes, and the single-frame decoder."""
    reassembler = MbusReassembler()
    for frame in MbusFramer().feed(data):
        reassembler.add(frame)
    decode_mbus_frame(data)


def fuzz_mbus_checked(data: bytes) -> None:
    """M-Bus long frames whose lengths and checksum are made right (``data`` is the frame body)."""
    body = data[:255]
    frame = bytes([0x68, len(body), len(body), 0x68]) + body + bytes([checksum(body), 0x16])
    reassembler = MbusReassembler()
    for parsed in MbusFramer().feed(frame + frame):
        reassembler.add(parsed)
    decode_mbus_frame(frame)


def fuzz_wrapper(data: bytes) -> None:
    """The IEC 62056-47 TCP wrapper framer and PDU decoder."""
    WrapperFramer().feed(data)
    decode_wrapper_pdu(data)


def fuzz_axdr(data: bytes) -> None:
    """A-XDR Data, and the plain value a sensor would show of it."""
    _show(plain_value(decode_data_bytes(data)))


def fuzz_apdu(data: bytes) -> None:
    """Any xDLMS or ACSE APDU through the tag dispatcher."""
    decode_apdu(data)


def fuzz_client_responses(data: bytes) -> None:
    """What a meter answers a polling client, through the decoder the client uses for that tag."""
    decoder = _RESPONSE_DECODERS.get(data[0]) if data else None
    if decoder is None:
        decode_apdu(data)
        return
    response = decoder(data)
    if isinstance(response, GeneralBlockTransfer):
        GeneralBlockTransferReassembler().add(response)


@cache
def _keys() -> tuple[dict[bytes, SecurityKeys], SecurityKeys]:
    seeds = load_seeds()
    authenticated = next(k for k in seeds.keys if k.authentication_key is not None)
    return seeds.keys_by_title, authenticated


def fuzz_ciphered(data: bytes) -> None:
    """A ciphered APDU deciphered with the key of its system title (the capture's), then decoded."""
    ciphered = decode_ciphered_apdu(data)
    by_title, fallback = _keys()
    keys = by_title.get(ciphered.system_title or b"", fallback)
    clear = unprotect(ciphered, keys, system_title=b"\x00" * 8)
    if clear.plaintext and not is_ciphered_tag(clear.plaintext[0]):
        decode_apdu(clear.plaintext)


def fuzz_push(data: bytes) -> None:
    """Push object extraction (layouts, list identifiers, scaler-units) from a notification body."""
    content = extract_objects(decode_data_bytes(data))
    for obj in content.objects:
        _show(obj.value)
        obj.unit  # noqa: B018 - the unit is worked out on first use
    keyed_objects(content.objects)
    clock = content.clock()
    if clock is not None:
        clock.to_datetime()


def fuzz_telegram(data: bytes) -> None:
    """The whole push decoder (framing detection, reassembly, deciphering, values), in two chunks."""
    seeds = load_seeds()
    keys = seeds.keys[len(data) % len(seeds.keys)] if data and data[0] & 1 else None
    decoder = TelegramDecoder(keys)
    cut = len(data) // 3
    failure: DlmsError | None = None
    decoded = False
    for event in (*decoder.feed(data[:cut]), *decoder.feed(data[cut:]), *decoder.flush()):
        if isinstance(event, Telegram):
            _push_values(event)
            decoded = True
        else:
            failure = failure or event.error
    if failure is not None and not decoded:
        raise failure  # counted with the stack's errors (the decoder reports, never raises)


# What one long-lived decoder may hold between telegrams: a bare APDU being collected plus a partial
# frame in each framer (the wrapper's is the largest, a 64 KiB APDU), with room for the last chunk.
_STREAM_HELD_BOUND = 4 * (65_536 + 16_384)
_STREAM_FLUSH_EVERY = 8  # inputs between two quiet gaps on the simulated line


class _Stream:
    """One decoder for the whole run, as a listener keeps one for years: what it holds stays bounded."""

    def __init__(self) -> None:
        self._decoder: TelegramDecoder | None = None
        self._fed = 0

    def __call__(self, data: bytes) -> None:
        if self._decoder is None:
            seeds = load_seeds()
            self._decoder = TelegramDecoder(seeds.keys[0])
        decoder = self._decoder
        self._fed += 1
        events = decoder.feed(data)
        if self._fed % _STREAM_FLUSH_EVERY == 0:
            events += decoder.flush()
        failure: DlmsError | None = None
        for event in events:
            if isinstance(event, Telegram):
                _push_values(event)
            else:
                failure = failure or event.error
        # The bound is on the decoder's own buffers, which it does not expose.
        framers = decoder._candidates
        held = (
            len(decoder._pending)
            + framers.hdlc.pending
            + framers.mbus.pending
            + framers.wrapper.pending
            + framers.text.pending
        )
        if held > _STREAM_HELD_BOUND:
            raise AssertionError(f"a long-lived decoder holds {held} bytes")
        if failure is not None:
            raise failure  # counted with the stack's errors


def fuzz_text(data: bytes) -> None:
    """Text telegrams: the framer over the bytes in two chunks, then every frame it cuts to values.

    The input itself is decoded as one telegram too, so a mutation inside a telegram (which the
    framer may refuse) still reaches the line and value codecs.
    """
    framer = TextFramer()
    cut = len(data) // 2
    failure: DlmsError | None = None
    for frame in (*framer.feed(data[:cut]), *framer.feed(data[cut:]), *framer.flush()):
        if isinstance(frame, DlmsError):
            failure = failure or frame
            continue
        try:
            _text_values(frame)
        except DlmsError as err:
            failure = failure or err
    _text_values(data)
    if failure is not None:
        raise failure


def _text_values(frame: bytes) -> None:
    telegram = decode_text_telegram(frame)
    for obj in telegram.objects:
        _show(obj.value)
        _show(plain_value(obj.data))
        obj.unit  # noqa: B018 - the unit is worked out on first use
    keyed_objects(telegram.objects)
    clock = telegram.content.clock()
    if clock is not None:
        clock.to_datetime()


@cache
def _text_seeds() -> tuple[bytes, ...]:
    """The plain text telegrams of the text fixture, and a stream of all of them back to back."""
    vectors = json.loads((FIXTURES / "text_vectors.json").read_text())["vectors"]
    frames = tuple(
        bytes.fromhex(frame) for vector in vectors if vector.get("keys") is None for frame in vector["frames"]
    )
    return (*frames, b"".join(frames))


def fuzz_iec62056_21(data: bytes) -> None:
    """The IEC 62056-21 mode E opening: the identification line a meter answers the sign-on with."""
    opening = ModeEOpening()
    opening.start()
    opening.receive(data)
    line = data.split(b"\r\n", 1)[0]
    if line:
        Identification.parse(line)


def _hdlc_bodies(frames: list[bytes]) -> list[bytes]:
    """Frame bodies without flags and check sequences: what :func:`fuzz_hdlc_checked` wraps."""
    bodies: list[bytes] = []
    for frame in frames:
        try:
            parsed = decode_frame(frame)
        except DlmsError:
            continue
        header = frame[1 : 1 + parsed.header_length]
        bodies.append(header + parsed.information)
    return bodies


_IEC_SEEDS = (
    b"/ISK5\\2MT382-1000\r\n",
    b"/LGZ5\\2ZMD3104107.B32\r\n",
    b"/KFM5KAIFA-METER\r\n",
    b"/ABC4\\@XYZ\r\n",
    b"/EMH5\\2eHZ-IW8E2AWL0EK2P\r\n",
)

_RESPONSE_SEEDS = tuple(
    bytes.fromhex(h)
    for h in (
        "d80101",
        "c501c100",
        "c501c1fa",
        "c701c10000",
        "6303800100",
        "0e010600",
        "0c01000600000001",
        "0d0100",
    )
)


@cache
def targets() -> dict[str, Target]:
    """Every target by name, seeds loaded from the fixtures."""
    s = load_seeds()
    stream_size = 16_384
    found = [
        Target("hdlc", fuzz_hdlc, (*s.hdlc_frames, *s.streams), stream_size, "HDLC framer and frame decode"),
        Target(
            "hdlc-checked",
            fuzz_hdlc_checked,
            tuple(_hdlc_bodies(s.hdlc_frames)),
            description="HDLC frames with valid HCS/FCS",
        ),
        Target("mbus", fuzz_mbus, (*s.mbus_frames, *s.streams), stream_size, "M-Bus framer and frame decode"),
        Target(
            "mbus-checked",
            fuzz_mbus_checked,
            tuple(f[4:-2] for f in s.mbus_frames),
            description="M-Bus frames with valid lengths/checksum",
        ),
        Target("wrapper", fuzz_wrapper, tuple(s.wrapper_pdus), stream_size, "TCP wrapper framer and decode"),
        Target("axdr", fuzz_axdr, tuple(s.axdr), description="A-XDR Data decode"),
        Target("apdu", fuzz_apdu, (*s.plain_apdus, *s.wire_apdus), description="APDU decode (tag dispatch)"),
        Target(
            "client-responses",
            fuzz_client_responses,
            (*s.client_responses, *_RESPONSE_SEEDS),
            description="AARE/RLRE/GET/SET/ACTION/exception responses",
        ),
        Target("ciphered", fuzz_ciphered, tuple(s.ciphered_apdus), description="ciphered APDU + decipher"),
        Target("push", fuzz_push, tuple(s.axdr), description="push object extraction and values"),
        Target("telegram", fuzz_telegram, tuple(s.streams), stream_size, "push decoder, bytes to values"),
        Target(
            "telegram-stream",
            _Stream(),
            tuple(s.streams),
            stream_size,
            "one long-lived push decoder fed every input (memory bound)",
        ),
        Target("iec62056-21", fuzz_iec62056_21, _IEC_SEEDS, 512, "IEC 62056-21 mode E identification"),
        Target("text", fuzz_text, _text_seeds(), stream_size, "IEC 62056-21 text telegrams (P1, readouts)"),
    ]
    return {target.name: target for target in found}
