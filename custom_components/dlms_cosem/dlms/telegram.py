"""Pushed telegrams: a byte stream in, decoded telegrams out.

:class:`TelegramDecoder` takes arbitrary chunks of what arrives on a customer port (garbage included),
finds the framing by itself (HDLC, M-Bus long frames, the IEC 62056-47 TCP wrapper, or bare APDUs),
reassembles telegrams split over several frames or General Block Transfer blocks, removes the
ciphering, and turns the Data-Notification into :class:`Telegram` objects. A telegram that cannot be
decoded becomes a :class:`TelegramFailure` that says why (wrong key, missing key, malformed data),
so a caller can show the reason instead of silence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .apdu import DataNotification, GeneralBlockTransfer, GeneralBlockTransferReassembler, decode_apdu
from .apdu.tags import XdlmsTag
from .cosem_datetime import CosemDateTime
from .errors import (
    DecodeError,
    DlmsError,
    MissingKeyError,
    SecurityError,
    UnauthenticatedTelegramError,
    WrongEncryptionKeyError,
)
from .hdlc import HdlcFramer, SegmentReassembler, has_llc, strip_llc
from .hdlc.llc import LLC_COMMAND, LLC_HEADER_SIZE, LLC_RESPONSE
from .list_identifiers import ListProfile
from .mbus import MbusFramer, MbusReassembler
from .push import PushContent, extract_objects
from .reader import ByteReader
from .security import (
    CipheredApdu,
    SecurityKeys,
    decode_ciphered_apdu,
    is_ciphered_tag,
    read_ciphered_apdu,
    unprotect,
)
from .wrapper import WrapperFramer

# Bytes kept while looking for bare APDUs, which carry no outer length (a Data-Notification ends where
# its Data ends); bounded so a stream of noise cannot grow it.
MAX_PENDING_APDU_BYTES = 65_536

# A framer holding at least this many bytes when the line goes quiet holds a frame that was cut short
# (a frame header alone is longer than stray noise that happens to look like a frame start).
_MIN_CUT_FRAME_BYTES = 8

# APDU tags a meter starts a push with when it sends no link-layer framing.
_PUSH_APDU_TAGS = frozenset(
    {
        XdlmsTag.DATA_NOTIFICATION,
        XdlmsTag.GENERAL_GLO_CIPHERING,
        XdlmsTag.GENERAL_DED_CIPHERING,
        XdlmsTag.GENERAL_BLOCK_TRANSFER,
    }
)


class Framing(StrEnum):
    """How telegrams are delimited on the line."""

    HDLC = "hdlc"
    MBUS = "mbus"
    WRAPPER = "wrapper"
    APDU = "apdu"


# Pushes carry the response header; the command header is taken too, as in HDLC information fields.
_LLC_HEADERS = (LLC_RESPONSE, LLC_COMMAND)

# The framings whose frames a framer delimits (bare APDUs have none).
_FRAMED = frozenset({Framing.HDLC, Framing.MBUS, Framing.WRAPPER})


class SecurityLevel(StrEnum):
    """The protection a telegram arrived with."""

    NONE = "none"
    AUTHENTICATED = "authenticated"
    ENCRYPTED = "encrypted"
    AUTHENTICATED_ENCRYPTED = "authenticated+encrypted"


@dataclass(frozen=True, slots=True)
class Telegram:
    """A decoded push telegram."""

    framing: Framing
    apdu: bytes
    content: PushContent
    timestamp: CosemDateTime | None
    security: SecurityLevel = SecurityLevel.NONE
    authenticated: bool = False
    system_title: bytes | None = None
    invocation_counter: int | None = None
    long_invoke_id: int | None = None


@dataclass(frozen=True, slots=True)
class TelegramFailure:
    """A telegram that arrived whole but could not be decoded, and why."""

    framing: Framing
    apdu: bytes
    error: DlmsError
    system_title: bytes | None = None
    invocation_counter: int | None = None


type TelegramEvent = Telegram | TelegramFailure


@dataclass(slots=True)
class DecoderStatistics:
    """Counters a user can read to tell a loose cable from a wrong key."""

    bytes_received: int = 0
    frames: int = 0
    frame_errors: int = 0
    telegrams: int = 0
    failures: int = 0
    decryption_failures: int = 0


def _security_level(authenticated: bool, encrypted: bool) -> SecurityLevel:
    if authenticated and encrypted:
        return SecurityLevel.AUTHENTICATED_ENCRYPTED
    if encrypted:
        return SecurityLevel.ENCRYPTED
    if authenticated:
        return SecurityLevel.AUTHENTICATED
    return SecurityLevel.NONE


def decode_push_apdu(
    apdu: bytes,
    keys: SecurityKeys | None = None,
    framing: Framing = Framing.APDU,
    known_profile: ListProfile | None = None,
) -> Telegram:
    """Decode one complete push APDU (ciphered or not) into a telegram; raise a DlmsError if it fails.

    ``known_profile`` is the list profile an earlier telegram of the same meter named (see
    :func:`.push.extract_objects`).
    """
    return _decode_push(apdu, keys, framing, known_profile, None)


def _decode_push(
    apdu: bytes,
    keys: SecurityKeys | None,
    framing: Framing,
    known_profile: ListProfile | None,
    parsed: _PushApdu | None,
) -> Telegram:
    """:func:`decode_push_apdu`, given the APDU's parse when finding its end already made one."""
    if not apdu:
        raise DecodeError("empty APDU")
    # With an authentication key, only a telegram whose tag verified is believed (no downgrade).
    authenticate = keys is not None and keys.authentication_key is not None
    if not is_ciphered_tag(apdu[0]):
        if authenticate:
            raise UnauthenticatedTelegramError
        notification = parsed if isinstance(parsed, DataNotification) else _as_notification(decode_apdu(apdu))
        return _telegram(framing, apdu, notification, known_profile=known_profile)
    ciphered = parsed if isinstance(parsed, CipheredApdu) else decode_ciphered_apdu(apdu)
    if keys is None or (keys.encryption_key is None and ciphered.control.encrypted):
        raise MissingKeyError("the telegram is encrypted: an encryption key is needed to read it")
    if authenticate and not ciphered.control.authenticated:
        raise UnauthenticatedTelegramError
    clear = unprotect(ciphered, keys)
    try:
        notification = _as_notification(decode_apdu(clear.plaintext))
    except DlmsError as err:
        if not clear.verified and ciphered.control.encrypted:
            raise WrongEncryptionKeyError from err
        raise
    return _telegram(
        framing,
        clear.plaintext,
        notification,
        security=_security_level(ciphered.control.authenticated, ciphered.control.encrypted),
        authenticated=clear.verified,
        system_title=clear.system_title,
        invocation_counter=clear.invocation_counter,
        known_profile=known_profile,
    )


def _as_notification(apdu: object) -> DataNotification:
    if not isinstance(apdu, DataNotification):
        raise DecodeError(f"expected a Data-Notification, got {type(apdu).__name__}")
    return apdu


def _telegram(
    framing: Framing,
    apdu: bytes,
    notification: DataNotification,
    *,
    security: SecurityLevel = SecurityLevel.NONE,
    authenticated: bool = False,
    system_title: bytes | None = None,
    invocation_counter: int | None = None,
    known_profile: ListProfile | None = None,
) -> Telegram:
    content = extract_objects(notification.body, known_profile)
    timestamp = notification.date_time if notification.date_time is not None else content.clock()
    return Telegram(
        framing=framing,
        apdu=apdu,
        content=content,
        timestamp=timestamp,
        security=security,
        authenticated=authenticated,
        system_title=system_title,
        invocation_counter=invocation_counter,
        long_invoke_id=notification.long_invoke_id,
    )


@dataclass(slots=True)
class _Candidates:
    """The framers tried on the stream until one of them finds a frame."""

    hdlc: HdlcFramer = field(default_factory=HdlcFramer)
    mbus: MbusFramer = field(default_factory=MbusFramer)
    wrapper: WrapperFramer = field(default_factory=WrapperFramer)


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
        self._hdlc_segments = SegmentReassembler()
        self._mbus_segments = MbusReassembler()
        self._gbt = GeneralBlockTransferReassembler()
        self._pending = bytearray()
        self._burst_start = True  # no byte of the current burst has been seen yet
        # The list profile the meter's last identified list named: its shorter lists carry no
        # identifier but follow the same published layout.
        self._list_profile: ListProfile | None = None
        # APDUs whose parse was needed to find where they end, by their bytes, until they are decoded.
        self._parsed: dict[bytes, _PushApdu] = {}

    def feed(self, data: bytes) -> list[TelegramEvent]:
        """Decode what ``data`` completes; keep the rest for the next call."""
        self.statistics.bytes_received += len(data)
        apdus: list[tuple[Framing, bytes]] = []
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
        cut_frame = self._cut_frame()
        if cut_frame is not None:
            self._pending.clear()
            self.statistics.failures += 1
            return [cut_frame]
        if self.framing not in (None, Framing.APDU) or not self._pending:
            self._pending.clear()
            return []
        return self._decode_all(self._from_bare(b"", final=True))

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

    def _detect(self, data: bytes) -> list[tuple[Framing, bytes]]:
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
        wrapper = [apdu for apdu in self._from_wrapper(data) if self._is_push_apdu(apdu)]
        if wrapper:
            return self._settle(Framing.WRAPPER, wrapper)
        return self._from_bare(data, final=False)

    def _settle(self, framing: Framing, apdus: list[bytes]) -> list[tuple[Framing, bytes]]:
        self.framing = framing
        self._pending.clear()
        return [(framing, apdu) for apdu in apdus]

    def _is_push_apdu(self, apdu: bytes) -> bool:
        """True when ``apdu`` is a whole push APDU; its parse is kept for decoding it."""
        probe = _read_push_apdu(apdu)
        if probe is None or probe[0] != len(apdu):
            return False
        self._parsed[apdu] = probe[1]
        return True

    def _framer_holds_partial_frame(self) -> bool:
        # The wrapper framer is left out: bare APDUs often contain 00 01, which it takes for a header.
        return max(self._candidates.hdlc.pending, self._candidates.mbus.pending) > 0

    def _from_hdlc(self, data: bytes) -> list[bytes]:
        apdus = []
        for frame in self._candidates.hdlc.feed(data):
            self.statistics.frames += 1
            joined = self._hdlc_segments.add(frame)
            if joined is not None:
                # Most meters put an LLC header before the APDU; some push without one.
                apdus.append(strip_llc(joined)[1] if has_llc(joined) else joined)
        return apdus

    def _from_mbus(self, data: bytes) -> list[bytes]:
        apdus = []
        for frame in self._candidates.mbus.feed(data):
            self.statistics.frames += 1
            joined = self._mbus_segments.add(frame)
            if joined is not None:
                apdus.append(joined)
        return apdus

    def _from_wrapper(self, data: bytes) -> list[bytes]:
        apdus = []
        for pdu in self._candidates.wrapper.feed(data):
            self.statistics.frames += 1
            apdus.append(pdu.apdu)
        return apdus

    def _from_bare(self, data: bytes, *, final: bool) -> list[tuple[Framing, bytes]]:
        if self.framing is None:
            # Until bare APDUs are known to be the framing, a burst counts only when it starts with a
            # push APDU: searching into the middle of bytes would find the APDU inside a frame that
            # failed its check sequence, and decode values nothing vouches for.
            if not self._pending and not (self._burst_start and _opens_push_apdu(data, 0)):
                self._burst_start = self._burst_start and not data
                return []
            self._burst_start = False
        pending = self._pending
        pending.extend(data)
        # Skip noise up to the first byte that can start a push APDU (or the LLC header before one);
        # usually the burst starts with the APDU's tag, which needs no search.
        if not pending or pending[0] not in _PUSH_APDU_TAGS:
            start = next((i for i in range(len(pending)) if _opens_push_apdu(pending, i)), None)
            if start is None:
                pending.clear()
                return []
            del pending[:start]
        if not final and self.framing is None and self._framer_holds_partial_frame():
            # Framed data cut just before its check sequence can look like a whole bare APDU;
            # let the framers finish first, and try bare APDUs when the line goes quiet.
            return []
        apdus: list[tuple[Framing, bytes]] = []
        # Bare APDUs carry no outer length but each one's encoding says where it ends, so APDUs sent
        # back to back without a quiet gap between them are split here. Each is parsed once: the parse
        # that finds its end is kept for decoding it.
        probe: tuple[int, _PushApdu] | None = None
        while self._pending:
            if self._pending[:LLC_HEADER_SIZE] in _LLC_HEADERS and len(self._pending) > LLC_HEADER_SIZE:
                del self._pending[:LLC_HEADER_SIZE]
            probe = _read_push_apdu(self._pending)
            if probe is None or probe[0] == len(self._pending):
                break
            if self.framing is None and not _opens_push_apdu(self._pending, probe[0]):
                # Until bare APDUs are known to be the framing, one that leaves bytes behind which do
                # not start another is a piece of something else (a frame whose start was lost, cut
                # at a byte that happens to be a push tag): nothing vouches for its values.
                self._pending.clear()
                return apdus
            apdu = bytes(self._pending[: probe[0]])
            self._parsed[apdu] = probe[1]
            apdus.append((Framing.APDU, apdu))
            del self._pending[: probe[0]]
            probe = None
        candidate = bytes(self._pending)
        if final or len(candidate) > MAX_PENDING_APDU_BYTES or probe is not None:
            self._pending.clear()
            if candidate:
                if probe is not None:
                    self._parsed[candidate] = probe[1]
                apdus.append((Framing.APDU, candidate))
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
            case _:
                self.statistics.frame_errors = 0

    def _decode_all(self, apdus: Iterable[tuple[Framing, bytes]]) -> list[TelegramEvent]:
        events: list[TelegramEvent] = []
        for framing, apdu in apdus:
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
            events.append(event)
        self._parsed.clear()
        return events

    def _decode_one(self, framing: Framing, apdu: bytes, parsed: _PushApdu | None) -> TelegramEvent | None:
        try:
            if apdu and apdu[0] == XdlmsTag.GENERAL_BLOCK_TRANSFER:
                block = parsed
                if not isinstance(block, GeneralBlockTransfer):
                    block = GeneralBlockTransfer.decode(apdu)
                whole = self._gbt.add(block)
                if whole is None:
                    return None
                apdu, parsed = whole, None
            return _decode_push(apdu, self._keys, framing, self._list_profile, parsed)
        except DlmsError as err:
            return TelegramFailure(framing, apdu, err, *_security_header(apdu))


def _opens_push_apdu(data: bytes | bytearray, index: int) -> bool:
    """True when a push APDU may start at ``data[index]``, bare or behind an LLC header.

    P1 adapters that strip the HDLC frame leave the LLC header (E6 E7 00) in front of the APDU; a
    header cut off by the end of ``data`` counts while what arrived of it matches.
    """
    head = bytes(data[index : index + LLC_HEADER_SIZE + 1])
    if not head:
        return False
    if head[0] in _PUSH_APDU_TAGS:
        return True
    header = head[:LLC_HEADER_SIZE]
    if not any(llc.startswith(header) for llc in _LLC_HEADERS):
        return False
    return len(head) <= LLC_HEADER_SIZE or head[LLC_HEADER_SIZE] in _PUSH_APDU_TAGS


type _PushApdu = DataNotification | CipheredApdu | GeneralBlockTransfer


def _read_push_apdu(data: bytes | bytearray) -> tuple[int, _PushApdu] | None:
    """The push APDU at the start of ``data`` and how many bytes it takes; None when not (yet) whole.

    A wrong key still means it is a push APDU: ciphered ones are parsed, not deciphered.
    """
    if not data or data[0] not in _PUSH_APDU_TAGS:
        return None
    reader = ByteReader(data)
    parsed: _PushApdu
    try:
        if is_ciphered_tag(data[0]):
            parsed = read_ciphered_apdu(reader)
        elif data[0] == XdlmsTag.GENERAL_BLOCK_TRANSFER:
            parsed = GeneralBlockTransfer.read(reader)
        else:
            parsed = DataNotification.read(reader)
    except DlmsError:
        return None
    return reader.position, parsed


def _security_header(apdu: bytes) -> tuple[bytes | None, int | None]:
    """System title and invocation counter of a ciphered APDU, for reporting a failure."""
    if not apdu or not is_ciphered_tag(apdu[0]):
        return None, None
    try:
        ciphered = decode_ciphered_apdu(apdu)
    except DlmsError:
        return None, None
    return ciphered.system_title, ciphered.invocation_counter


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
