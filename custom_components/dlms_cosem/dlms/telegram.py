"""Pushed telegrams: a byte stream in, decoded telegrams out.

:class:`TelegramDecoder` takes arbitrary chunks of what arrives on a customer port (garbage included),
finds the framing by itself (HDLC, M-Bus long frames, the IEC 62056-47 TCP wrapper, or bare APDUs),
reassembles telegrams split over several frames or General Block Transfer blocks, removes the
ciphering, and turns the Data-Notification into :class:`Telegram` objects. A telegram that cannot be
decoded becomes a :class:`TelegramFailure` that says why (wrong key, missing key, malformed data),
so a caller can show the reason instead of silence.

Values a user can trust (issue 19): a telegram comes out only when it arrived whole, from one telegram.

- **Segments and blocks must follow on.** HDLC I frames' N(S), M-Bus CI sequence numbers and General
  Block Transfer block numbers go up by one from one piece of a telegram to the next; a gap drops what
  was collected. A frame that fails its check sequence between two pieces drops them too (a piece may
  be lost with it).
- **A partial telegram does not outlive a silence.** :meth:`TelegramDecoder.flush` with ``cut=True``
  (the caller's signal that the line stayed silent longer than a meter ever pauses inside a telegram,
  see :mod:`.listener`) and :meth:`TelegramDecoder.drop_partial` (the port closed or reopened) drop the
  pieces held, counted in ``DecoderStatistics.partial_dropped``. UI frames (which real meters push
  segmented telegrams in) carry no numbers at all, so for them this is what keeps the first frame of
  one telegram from being joined to the rest of the next.
- **Bare APDUs start at a burst start.** Without link-layer framing, a telegram is taken only where a
  push APDU tag is the first byte after a silence, or the byte right after a whole APDU; bytes in the
  middle of a burst (the rest of a telegram cut by a silence) are never searched for a tag, since a
  ``0F`` inside a value would start a telegram nobody sent.
- **The whole APDU and nothing else.** A reassembled APDU is decoded only when it parses to exactly its
  length (a Data-Notification that leaves bytes over, or needs more, is a failure).
- **Bounded.** No telegram is larger than :data:`MAX_TELEGRAM_BYTES`: reassembly refuses to grow past
  it (a :class:`TelegramFailure` with :class:`~.errors.TelegramTooLargeError`, counted in
  ``oversized``), so the work and memory one telegram costs are bounded; the framers' work is linear in
  the bytes fed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .apdu import GeneralBlockTransfer
from .apdu.tags import XdlmsTag
from .errors import (
    DecodeError,
    DlmsError,
    FrameError,
    IncompleteTelegramError,
    SecurityError,
    TelegramTooLargeError,
)
from .hdlc import HdlcFramer, SegmentReassembler, has_llc, strip_llc
from .hdlc.llc import LLC_COMMAND, LLC_HEADER_SIZE, LLC_RESPONSE
from .list_identifiers import ListProfile
from .mbus import MbusFramer, MbusReassembler
from .push_blocks import PushBlockReassembler
from .push_telegram import (
    PUSH_APDU_TAGS,
    Framing,
    PushApdu,
    SecurityLevel,
    Telegram,
    TelegramEvent,
    TelegramFailure,
    decode_push,
    decode_push_apdu,
    read_push_apdu,
    security_header,
)
from .security import (
    SecurityKeys,
)
from .text import TextFramer, decode_text_telegram
from .wrapper import WrapperFramer

__all__ = [
    "MAX_TELEGRAM_BYTES",
    "DecoderStatistics",
    "Framing",
    "SecurityLevel",
    "Telegram",
    "TelegramDecoder",
    "TelegramEvent",
    "TelegramFailure",
    "decode_push_apdu",
    "decode_telegrams",
]

MAX_TELEGRAM_BYTES = 8192
"""The largest push APDU (after reassembly, before deciphering) the decoder takes.

The largest telegram of the real captures in ``tests/fixtures`` and ``../shared/vectors`` is 569 bytes
(an Aidon 3-phase list in one HDLC frame; the segmented and block-transfer ones are 343-531 bytes), so
this is 14 times that. xDLMS would allow 65,535 bytes and General Block Transfer more, but decoding
costs about 1.5 us of CPU per byte for the worst content (a list of one-byte values, each a sensor),
and a telegram is decoded in one step of the event loop: 8 KiB keeps that step near 12 ms, where a
64 KiB one took 0.1-0.8 s. Anything larger is refused with :class:`~.errors.TelegramTooLargeError`.
"""

# Bytes kept while looking for bare APDUs, which carry no outer length (a Data-Notification ends where
# its Data ends): one telegram at most.
MAX_PENDING_APDU_BYTES = MAX_TELEGRAM_BYTES

# A framer holding at least this many bytes when the line goes quiet holds a frame that was cut short
# (a frame header alone is longer than stray noise that happens to look like a frame start).
_MIN_CUT_FRAME_BYTES = 8

# Pushes carry the response header; the command header is taken too, as in HDLC information fields.
_LLC_HEADERS = (LLC_RESPONSE, LLC_COMMAND)

# The framings whose frames a framer delimits (bare APDUs have none).
_FRAMED = frozenset({Framing.HDLC, Framing.MBUS, Framing.WRAPPER})


@dataclass(slots=True)
class DecoderStatistics:
    """Counters a user can read to tell a loose cable from a wrong key."""

    bytes_received: int = 0
    frames: int = 0
    frame_errors: int = 0
    telegrams: int = 0
    failures: int = 0
    decryption_failures: int = 0
    partial_dropped: int = 0
    """Partial telegrams dropped: their segments or blocks stopped following on (a gap, a damaged frame
    between them, a restart), or the line went silent or the port closed before their last one."""
    oversized: int = 0
    """Telegrams refused for growing past :data:`MAX_TELEGRAM_BYTES`."""


@dataclass(slots=True)
class _Candidates:
    """The framers tried on the stream until one of them finds a frame."""

    hdlc: HdlcFramer = field(default_factory=HdlcFramer)
    mbus: MbusFramer = field(default_factory=MbusFramer)
    wrapper: WrapperFramer = field(default_factory=WrapperFramer)
    text: TextFramer = field(default_factory=lambda: TextFramer(MAX_TELEGRAM_BYTES))


class TelegramDecoder:
    """Sans-I/O push telegram decoder: ``feed`` bytes as they arrive, get telegrams back.

    The framing is detected from the first complete frame unless given. ``flush`` tells the decoder
    that the line went quiet (or the input ended), so bytes held as a possible bare APDU are decoded
    or reported.
    """

    def __init__(self, keys: SecurityKeys | None = None, framing: Framing | None = None) -> None:
        self._keys = keys
        self.framing = framing
        self.statistics = DecoderStatistics()
        self._candidates = _Candidates()
        self._hdlc_segments = SegmentReassembler(max_size=MAX_TELEGRAM_BYTES + LLC_HEADER_SIZE)
        self._mbus_segments = MbusReassembler(max_size=MAX_TELEGRAM_BYTES)
        self._gbt = PushBlockReassembler(MAX_TELEGRAM_BYTES)
        self._pending = bytearray()
        # A bare APDU may start at the next byte: the first of a burst (after a silence), or the one
        # right after a whole APDU. Anywhere else bytes are not searched for a tag.
        self._burst_start = True
        # The list profile the meter's last identified list named: its shorter lists carry no
        # identifier but follow the same published layout.
        self._list_profile: ListProfile | None = None
        # APDUs whose parse was needed to find where they end, by their bytes, until they are decoded.
        self._parsed: dict[bytes, PushApdu] = {}

    def feed(self, data: bytes) -> list[TelegramEvent]:
        """Decode what ``data`` completes; keep the rest for the next call."""
        self.statistics.bytes_received += len(data)
        apdus: list[tuple[Framing, bytes | DlmsError]] = []
        match self.framing:
            case None:
                apdus.extend(self._detect(data))
            case Framing.HDLC:
                apdus.extend((Framing.HDLC, apdu) for apdu in self._from_hdlc(data))
            case Framing.MBUS:
                apdus.extend((Framing.MBUS, apdu) for apdu in self._from_mbus(data))
            case Framing.WRAPPER:
                apdus.extend((Framing.WRAPPER, apdu) for apdu in self._from_wrapper(data))
            case Framing.APDU:
                apdus.extend(self._from_bare(data, final=False))
            case Framing.TEXT:
                apdus.extend((Framing.TEXT, frame) for frame in self._from_text(data))
        self._sync_frame_errors()
        return self._decode_all(apdus)

    def flush(self, *, cut: bool = True) -> list[TelegramEvent]:
        """The line is quiet: report a frame cut short, or decode the bytes held as a bare APDU.

        ``cut=False`` is a pause, not an end: a frame whose header arrived is kept for its rest (meters
        pause inside telegrams); the caller flushes with ``cut=True`` when the pause lasts or the port
        closes.
        """
        if not cut and self._held_frame() is not None:
            return []
        self._burst_start = True
        if self.framing is Framing.TEXT:
            # A pause inside a text telegram is kept; a silence ends it (whole if its last line was '!').
            return (
                self._decode_all((Framing.TEXT, frame) for frame in self._candidates.text.flush())
                if cut
                else []
            )
        if self.framing is None and cut:
            text = [
                frame
                for frame in self._candidates.text.flush()
                if isinstance(frame, bytes) and _is_text(frame)
            ]
            if text:
                return self._decode_all(self._settle(Framing.TEXT, text))
        cut_frame = self._cut_frame()
        dropped = self._drop_reassembly() if cut else False
        if cut_frame is not None:
            self._pending.clear()
            self.statistics.failures += 1
            return [cut_frame]
        if dropped:
            self._pending.clear()
            framing = self.framing or Framing.HDLC
            error = IncompleteTelegramError(
                "part of a telegram arrived, then the line went quiet: the partial telegram was dropped"
            )
            self.statistics.failures += 1
            return [TelegramFailure(framing, b"", error)]
        if self.framing not in (None, Framing.APDU) or not self._pending:
            self._pending.clear()
            return []
        return self._decode_all(self._from_bare(b"", final=True))

    def drop_partial(self) -> None:
        """Forget everything held of an unfinished telegram: the port closed, or is opened again.

        Bytes of a frame, segments, blocks and a bare APDU's start would otherwise be joined to what
        the next connection brings. The framing, the statistics and the meter's list profile stay.
        """
        for framer in (
            self._candidates.hdlc,
            self._candidates.mbus,
            self._candidates.wrapper,
            self._candidates.text,
        ):
            framer.reset()
        self._drop_reassembly()
        self._pending.clear()
        self._burst_start = True

    def _drop_reassembly(self) -> bool:
        """Drop the segments and blocks of an unfinished telegram; True (and counted) if any were held."""
        held = self._hdlc_segments.reset() | self._mbus_segments.reset() | self._gbt.reset()
        if held:
            self.statistics.partial_dropped += 1
        return held

    def _held_frame(self) -> Framing | None:
        """The framing of a frame whose header arrived but whose end has not (None: nothing held)."""
        # Before the framing is known, only HDLC (whose header check sequence the framer has already
        # verified) and M-Bus (68 L L 68) headers are evidence of a frame; the wrapper's 00 01 is not.
        if self.framing in _FRAMED:
            assert self.framing is not None
            candidates: tuple[Framing, ...] = (self.framing,)
        elif not self._candidates.hdlc.pending and not self._candidates.mbus.pending:
            return None  # the usual case (nothing held), decided without a loop
        else:
            candidates = (Framing.HDLC, Framing.MBUS)
        for framing in candidates:
            if self._framer(framing).pending >= _MIN_CUT_FRAME_BYTES:
                return framing
        return None

    def _cut_frame(self) -> TelegramFailure | None:
        """A frame whose header arrived but whose rest never did (a cable pull, a cut capture)."""
        framing = self._held_frame()
        if framing is None:
            return None
        framer = self._framer(framing)
        held = framer.pending
        framer.reset()
        error = DecodeError(f"incomplete {framing} frame: {held} bytes arrived, the rest never did")
        return TelegramFailure(framing, b"", error)

    def _framer(self, framing: Framing) -> HdlcFramer | MbusFramer | WrapperFramer:
        match framing:
            case Framing.HDLC:
                return self._candidates.hdlc
            case Framing.MBUS:
                return self._candidates.mbus
            case _:
                return self._candidates.wrapper

    def _detect(self, data: bytes) -> list[tuple[Framing, bytes | DlmsError]]:
        # HDLC and M-Bus frames pass a check sequence, so one valid frame settles the framing. The
        # wrapper header has none (00 01 occurs inside bare APDUs too), so its frames count only when
        # they carry a well-formed push APDU. The framings are tried in that order and the first that
        # finds a frame settles it: the framers after it are never needed again, so they are not fed.
        candidates = self._candidates
        hdlc = self._from_hdlc(data)
        if hdlc or candidates.hdlc.frames:
            return self._settle(Framing.HDLC, hdlc)
        mbus = self._from_mbus(data)
        if mbus or candidates.mbus.frames:
            return self._settle(Framing.MBUS, mbus)
        wrapper = [
            apdu for apdu in self._from_wrapper(data) if isinstance(apdu, bytes) and self._is_push_apdu(apdu)
        ]
        if wrapper:
            return self._settle(Framing.WRAPPER, wrapper)
        # Text telegrams settle the framing by a whole frame; a text telegram cut short before the
        # framing is known is no evidence of anything (a listener that started in the middle).
        text = [frame for frame in self._from_text(data) if isinstance(frame, bytes) and _is_text(frame)]
        if text:
            return self._settle(Framing.TEXT, text)
        return self._from_bare(data, final=False)

    def _from_text(self, data: bytes) -> list[bytes | DlmsError]:
        frames = self._candidates.text.feed(data)
        self.statistics.frames += sum(isinstance(frame, bytes) for frame in frames)
        return frames

    def _settle(
        self, framing: Framing, apdus: Sequence[bytes | DlmsError]
    ) -> list[tuple[Framing, bytes | DlmsError]]:
        self.framing = framing
        self._pending.clear()
        return [(framing, apdu) for apdu in apdus]

    def _is_push_apdu(self, apdu: bytes) -> bool:
        """True when ``apdu`` is a whole push APDU; its parse is kept for decoding it."""
        probe = read_push_apdu(apdu)
        if probe is None or probe[0] != len(apdu):
            return False
        self._parsed[apdu] = probe[1]
        return True

    def _framer_holds_partial_frame(self) -> bool:
        # The wrapper framer is left out: bare APDUs often contain 00 01, which it takes for a header.
        return max(self._candidates.hdlc.pending, self._candidates.mbus.pending) > 0

    def _from_hdlc(self, data: bytes) -> list[bytes | DlmsError]:
        framer = self._candidates.hdlc
        frames = framer.feed(data)
        if not frames:
            return []
        segments = self._hdlc_segments
        apdus: list[bytes | DlmsError] = []
        for frame, errors_before in zip(frames, framer.errors_before, strict=True):
            self.statistics.frames += 1
            if errors_before and segments.in_progress and segments.reset():
                self.statistics.partial_dropped += 1  # a damaged frame between segments: one may be lost
            held, overflows, gaps = segments.in_progress, segments.overflows, segments.sequence_errors
            joined = segments.add(frame)
            if segments.overflows != overflows:
                apdus.append(_too_large("segmented HDLC"))
            elif held and segments.sequence_errors != gaps:
                self.statistics.partial_dropped += 1
            if joined is not None:
                # Most meters put an LLC header before the APDU; some push without one.
                apdus.append(strip_llc(joined)[1] if has_llc(joined) else joined)
        return apdus

    def _from_mbus(self, data: bytes) -> list[bytes | DlmsError]:
        framer = self._candidates.mbus
        frames = framer.feed(data)
        if not frames:
            return []
        segments = self._mbus_segments
        apdus: list[bytes | DlmsError] = []
        for frame, errors_before in zip(frames, framer.errors_before, strict=True):
            self.statistics.frames += 1
            if errors_before and segments.reset():
                self.statistics.partial_dropped += 1  # a damaged frame between segments: one may be lost
            held, overflows, gaps = segments.in_progress, segments.overflows, segments.sequence_errors
            joined = segments.add(frame)
            if segments.overflows != overflows:
                apdus.append(_too_large("segmented M-Bus"))
            elif held and segments.sequence_errors != gaps:
                self.statistics.partial_dropped += 1
            if joined is not None:
                apdus.append(joined)
        return apdus

    def _from_wrapper(self, data: bytes) -> list[bytes | DlmsError]:
        apdus: list[bytes | DlmsError] = []
        for pdu in self._candidates.wrapper.feed(data):
            self.statistics.frames += 1
            apdus.append(pdu.apdu)
        return apdus

    def _from_bare(self, data: bytes, *, final: bool) -> list[tuple[Framing, bytes | DlmsError]]:
        pending = self._pending
        if not pending:
            if not data:
                return []
            if not (self._burst_start and _opens_push_apdu(data, 0)):
                # Not where a telegram can start (the middle of a burst, or a burst that does not open
                # with a push APDU): the rest of something whose start was lost, or of a frame that
                # failed its check sequence. Searching it for a tag would find one inside a value and
                # decode a telegram nobody sent, so the burst is skipped up to the next silence.
                self._burst_start = False
                return []
            self._burst_start = False
        pending.extend(data)
        if not final and self.framing is None and self._framer_holds_partial_frame():
            # Framed data cut just before its check sequence can look like a whole bare APDU;
            # let the framers finish first, and try bare APDUs when the line goes quiet.
            return []
        # Bare APDUs carry no outer length but each one's encoding says where it ends, so APDUs sent
        # back to back without a quiet gap between them are split here. Each is parsed once: the parse
        # that finds its end is kept for decoding it. The bytes are copied once per call and parsed
        # in place, so the work is linear in what arrived.
        buffer = bytes(pending)
        size = len(buffer)
        offset = 0
        apdus: list[tuple[Framing, bytes | DlmsError]] = []
        probe: tuple[int, PushApdu] | None = None
        while offset < size:
            if buffer[offset : offset + LLC_HEADER_SIZE] in _LLC_HEADERS and size - offset > LLC_HEADER_SIZE:
                offset += LLC_HEADER_SIZE
            probe = read_push_apdu(buffer, offset)
            if probe is None or probe[0] == size:
                break
            end = probe[0]
            if not _opens_push_apdu(buffer, end):
                # An APDU followed by bytes that start no other is a piece of something else (a
                # telegram's rest after a silence, cut at a byte that happens to be a push tag):
                # nothing vouches for its values, so it and the rest of the burst are skipped.
                pending.clear()
                self._burst_start = False
                return apdus
            apdu = buffer[offset:end]
            self._parsed[apdu] = probe[1]
            apdus.append((Framing.APDU, apdu))
            offset = end
            probe = None
        candidate = buffer[offset:]
        if probe is not None or final:
            pending.clear()
            if candidate:
                if probe is not None:
                    self._parsed[candidate] = probe[1]
                    self._burst_start = True  # it ended where the bytes end: the next may start another
                apdus.append((Framing.APDU, candidate))
        elif len(candidate) > MAX_PENDING_APDU_BYTES:
            pending.clear()
            apdus.append((Framing.APDU, _too_large("bare APDU")))
        elif offset:
            del pending[:offset]
        return apdus

    def _sync_frame_errors(self) -> None:
        framers = self._candidates
        match self.framing:
            case Framing.HDLC:
                self.statistics.frame_errors = framers.hdlc.fcs_errors
            case Framing.MBUS:
                self.statistics.frame_errors = framers.mbus.checksum_errors
            case Framing.WRAPPER:
                self.statistics.frame_errors = framers.wrapper.errors
            case Framing.TEXT:
                self.statistics.frame_errors = framers.text.errors
            case _:
                self.statistics.frame_errors = 0

    def _decode_all(self, apdus: Iterable[tuple[Framing, bytes | DlmsError]]) -> list[TelegramEvent]:
        events: list[TelegramEvent] = []
        for framing, apdu in apdus:
            if isinstance(apdu, DlmsError):
                event: TelegramEvent | None = TelegramFailure(framing, b"", apdu)
            else:
                event = self._decode_one(framing, apdu, self._parsed.pop(apdu, None))
            if event is None:
                continue
            if isinstance(event, Telegram):
                self.statistics.telegrams += 1
                if event.content.list_identifier is not None:
                    self._list_profile = event.content.list_profile
                if self.framing is None:
                    self.framing = framing
            else:
                self.statistics.failures += 1
                if isinstance(event.error, SecurityError):
                    self.statistics.decryption_failures += 1
                elif isinstance(event.error, TelegramTooLargeError):
                    self.statistics.oversized += 1
            events.append(event)
        self._parsed.clear()
        return events

    def _decode_one(self, framing: Framing, apdu: bytes, parsed: PushApdu | None) -> TelegramEvent | None:
        try:
            if len(apdu) > MAX_TELEGRAM_BYTES:
                raise _too_large(str(framing))
            if apdu and apdu[0] == XdlmsTag.GENERAL_BLOCK_TRANSFER:
                block = parsed
                if not isinstance(block, GeneralBlockTransfer):
                    block = GeneralBlockTransfer.decode(apdu)
                dropped = self._gbt.dropped
                try:
                    whole = self._gbt.add(block)
                finally:
                    self.statistics.partial_dropped += self._gbt.dropped - dropped
                if whole is None:
                    return None
                apdu, parsed = whole, None
            return decode_push(apdu, self._keys, framing, self._list_profile, parsed)
        except DlmsError as err:
            return TelegramFailure(framing, apdu, err, *security_header(apdu))


def _is_text(frame: bytes) -> bool:
    """True when a text frame is a text telegram: it decodes, or only its checksum does not match.

    The framer's cut alone is not enough to settle the framing (noise between binary frames can hold
    ``/``, a line feed and ``!``); a frame whose lines all parse is.
    """
    try:
        decode_text_telegram(frame)
    except FrameError:
        return True
    except DlmsError:
        return False
    return True


def _too_large(what: str) -> TelegramTooLargeError:
    return TelegramTooLargeError(f"{what} telegram larger than {MAX_TELEGRAM_BYTES} bytes: dropped")


def _opens_push_apdu(data: bytes | bytearray, index: int) -> bool:
    """True when a push APDU may start at ``data[index]``, bare or behind an LLC header.

    P1 adapters that strip the HDLC frame leave the LLC header (E6 E7 00) in front of the APDU; a
    header cut off by the end of ``data`` counts while what arrived of it matches.
    """
    head = bytes(data[index : index + LLC_HEADER_SIZE + 1])
    if not head:
        return False
    if head[0] in PUSH_APDU_TAGS:
        return True
    header = head[:LLC_HEADER_SIZE]
    if not any(llc.startswith(header) for llc in _LLC_HEADERS):
        return False
    return len(head) <= LLC_HEADER_SIZE or head[LLC_HEADER_SIZE] in PUSH_APDU_TAGS


def decode_telegrams(
    chunks: Iterable[bytes], keys: SecurityKeys | None = None, framing: Framing | None = None
) -> list[TelegramEvent]:
    """Decode captured chunks, fed in order as if they arrived on the port, then flushed."""
    decoder = TelegramDecoder(keys, framing)
    events: list[TelegramEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events
