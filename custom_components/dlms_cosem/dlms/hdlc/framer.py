"""Stream framing and segment reassembly for HDLC frame format type 3.

:class:`HdlcFramer` turns arbitrary chunks of a serial byte stream (cut anywhere, with line noise or
a half frame from before the port opened) into checked frames. It never raises on bad bytes: it
counts them and resynchronises by dropping one byte at a time, so a frame hidden behind a false start
is still found. A closing flag may double as the next frame's opening flag, and runs of flags are
idle fill. The length field, not the flags, delimits a frame, and the HCS is checked as soon as the
header is in, so a false start that claims a long length does not hold back the real frames behind
it. The buffer never holds more than one unfinished frame.

:class:`SegmentReassembler` joins the information fields of a segmented APDU (frames with the S bit
set, then one without it) per direction. The segments of one APDU must follow on: I frames carry a
send sequence number N(S) that goes up by one (modulo 8) from one segment to the next, so a lost
segment, or the segments of two APDUs joined, shows as a gap and drops the sequence. UI frames carry no
number; real meters push segmented telegrams in UI frames (the Iskraemeco MT371 capture), so for them
the caller must drop a sequence when the line was silent too long or a frame failed its check sequence
between two segments (:attr:`HdlcFramer.errors_before`).
"""

from __future__ import annotations

from enum import Enum, auto

from ..errors import FrameError
from .address import HdlcAddress, address_length
from .control import SEQUENCE_MODULUS, FrameType
from .fcs import fcs_is_valid
from .frame import (
    CHECK_SEQUENCE_SIZE,
    FLAG,
    FRAME_FORMAT_TYPE_3,
    LENGTH_MASK,
    MIN_FRAME_LENGTH,
    HdlcFrame,
    decode_checked_frame,
)

_CARRIES_APDU = frozenset({FrameType.I, FrameType.UI})

DEFAULT_MAX_APDU_SIZE = 65535 + 16
"""Largest reassembled information field kept by default: the largest xDLMS APDU plus LLC header."""


class _Header(Enum):
    OK = auto()
    NEED_MORE = auto()
    MALFORMED = auto()
    BAD_HCS = auto()


def _check_header(buf: bytearray, start: int, available: int, length: int) -> _Header:
    """Check the header of the candidate frame whose opening flag is at ``buf[start]``."""
    fcs_start = start + 1 + length - CHECK_SEQUENCE_SIZE
    end = min(available, fcs_start)
    position = start + 3
    for _ in range(2):
        try:
            size = address_length(buf, position, end)
        except FrameError:
            return _Header.MALFORMED
        if size is None:
            return _Header.NEED_MORE if end < fcs_start else _Header.MALFORMED
        position += size
    if position >= end:
        return _Header.NEED_MORE if end < fcs_start else _Header.MALFORMED
    header_end = position + 1
    if header_end == fcs_start:
        return _Header.OK
    if fcs_start - header_end < CHECK_SEQUENCE_SIZE:
        return _Header.MALFORMED
    if header_end + CHECK_SEQUENCE_SIZE > available:
        return _Header.NEED_MORE
    if not fcs_is_valid(buf[start + 1 : header_end + CHECK_SEQUENCE_SIZE]):
        return _Header.BAD_HCS
    return _Header.OK


class HdlcFramer:
    """Sans-I/O HDLC framer: ``feed`` bytes as they arrive, get back the complete, checked frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        """Frames returned so far."""
        self.fcs_errors = 0
        """Candidate frames dropped for a bad HCS or FCS."""
        self.invalid_frames = 0
        """Frames whose check sequences were right but whose content is not valid (e.g. control)."""
        self.bytes_discarded = 0
        """Bytes that belonged to no valid frame (idle flags between frames are not counted)."""
        self.errors_before: list[int] = []
        """For each frame the last :meth:`feed` returned: the check sequence errors counted between it
        and the frame before it (in this feed or an earlier one). A frame damaged between two segments
        of one APDU means a segment may be lost, so the caller drops the sequence."""
        self._errors_since_frame = 0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget any partial frame (e.g. after the port was reopened)."""
        self._buffer.clear()
        self._errors_since_frame = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[HdlcFrame]:
        """Add bytes from the stream; return the frames they complete, in order."""
        buf = self._buffer
        buf += data
        frames: list[HdlcFrame] = []
        errors_before: list[int] = []
        self.errors_before = errors_before
        errors_at_start = self.fcs_errors
        available = len(buf)
        position = 0
        while position < available:
            if buf[position] != FLAG:
                flag = buf.find(FLAG, position)
                stop = available if flag < 0 else flag
                self.bytes_discarded += stop - position
                position = stop
                continue
            if position + 1 >= available:
                break
            if buf[position + 1] == FLAG:
                position += 1  # idle fill, or the closing flag of the previous frame
                continue
            if position + 3 > available:
                break
            frame_format = (buf[position + 1] << 8) | buf[position + 2]
            length = frame_format & LENGTH_MASK
            if frame_format >> 12 != FRAME_FORMAT_TYPE_3 or length < MIN_FRAME_LENGTH:
                self.bytes_discarded += 1
                position += 1
                continue
            header = _check_header(buf, position, available, length)
            if header is _Header.NEED_MORE:
                break
            if header is not _Header.OK:
                if header is _Header.BAD_HCS:
                    self.fcs_errors += 1
                self.bytes_discarded += 1
                position += 1
                continue
            closing = position + 1 + length
            if closing >= available:
                break
            if buf[closing] != FLAG:
                self.bytes_discarded += 1
                position += 1
                continue
            if not fcs_is_valid(buf[position + 1 : closing]):
                self.fcs_errors += 1
                self.bytes_discarded += 1
                position += 1
                continue
            try:
                frame = decode_checked_frame(buf[position : closing + 1])
            except FrameError:
                self.invalid_frames += 1
                self.bytes_discarded += 1
                position += 1
                continue
            frames.append(frame)
            errors_before.append(self._errors_since_frame + self.fcs_errors - errors_at_start)
            self._errors_since_frame = 0
            errors_at_start = self.fcs_errors
            self.frames += 1
            position = closing  # the closing flag may open the next frame
        self._errors_since_frame += self.fcs_errors - errors_at_start
        del buf[:position]
        return frames


class SegmentReassembler:
    """Joins segmented information fields into one, separately for each direction.

    ``add`` returns the whole information field of an APDU (LLC header included, as in the first
    segment) once its last frame is in; a frame with the S bit clear and nothing pending is whole by
    itself. It returns None while segments are outstanding, for frames that carry no APDU (RR, RNR,
    SNRM, UA, ...), and for the rest of a sequence that grew past ``max_size``, so that no truncated
    APDU comes out. An I frame whose N(S) does not follow the previous segment's drops the sequence
    (counted in ``sequence_errors``) and the rest of it up to its last segment. At most
    ``max_directions`` sequences are open at once; the oldest is dropped for a new one (its later
    segments then come out without their start, which the LLC check rejects).
    """

    def __init__(self, max_size: int = DEFAULT_MAX_APDU_SIZE, max_directions: int = 4) -> None:
        self.max_size = max_size
        self.max_directions = max(1, max_directions)
        # Per direction: the segments so far, or None while skipping the rest of a dropped sequence.
        self._pending: dict[tuple[HdlcAddress, HdlcAddress], list[bytes] | None] = {}
        self._sizes: dict[tuple[HdlcAddress, HdlcAddress], int] = {}
        # Per direction: the N(S) of the last I-frame segment (None for UI frames, which carry none).
        self._last_ns: dict[tuple[HdlcAddress, HdlcAddress], int | None] = {}
        self.completed = 0
        """Segmented APDUs returned whole."""
        self.overflows = 0
        """Sequences dropped because they grew past ``max_size``."""
        self.dropped = 0
        """Unfinished sequences dropped to make room for another direction."""
        self.sequence_errors = 0
        """Sequences dropped because an I frame's N(S) did not follow the previous segment's."""

    @property
    def in_progress(self) -> bool:
        """True while the segments of an unfinished APDU are held (or the rest of one is skipped)."""
        return bool(self._pending)

    def reset(self) -> bool:
        """Forget every unfinished sequence; True when segments of one were held."""
        held = any(parts for parts in self._pending.values())
        self._pending.clear()
        self._sizes.clear()
        self._last_ns.clear()
        return held

    def add(self, frame: HdlcFrame) -> bytes | None:
        """Take the next frame of the stream (any direction); return a whole information field."""
        if frame.control.frame_type not in _CARRIES_APDU:
            return None  # RR, RNR, SNRM, UA, ...: never part of an APDU
        key = (frame.source, frame.destination)
        control = frame.control
        ns = control.ns if control.frame_type is FrameType.I else None
        if key not in self._pending:
            if not frame.segmented:
                return frame.information
            self._make_room()
            self._pending[key] = []
            self._sizes[key] = 0
        elif (
            ns is not None
            and (last := self._last_ns.get(key)) is not None
            and ns != (last + 1) % SEQUENCE_MODULUS
        ):
            # A segment is missing, or this one belongs to another APDU: nothing vouches for the join.
            if self._pending[key] is not None:
                self.sequence_errors += 1
            self._skip_or_forget(key, frame.segmented)
            if frame.segmented:
                self._last_ns[key] = ns
            return None
        self._last_ns[key] = ns
        parts = self._pending[key]
        if parts is None:
            if not frame.segmented:
                self._forget(key)
            return None
        size = self._sizes[key] + len(frame.information)
        if size > self.max_size:
            self.overflows += 1
            self._skip_or_forget(key, frame.segmented)
            return None
        parts.append(frame.information)
        self._sizes[key] = size
        if frame.segmented:
            return None
        self._forget(key)
        self.completed += 1
        return b"".join(parts)

    def _make_room(self) -> None:
        while len(self._pending) >= self.max_directions:
            oldest = next(iter(self._pending))
            if self._pending[oldest] is not None:
                self.dropped += 1
            self._forget(oldest)

    def _skip_or_forget(self, key: tuple[HdlcAddress, HdlcAddress], more: bool) -> None:
        if more:
            self._pending[key] = None
            self._sizes[key] = 0
        else:
            self._forget(key)

    def _forget(self, key: tuple[HdlcAddress, HdlcAddress]) -> None:
        self._pending.pop(key, None)
        self._sizes.pop(key, None)
        self._last_ns.pop(key, None)
