"""DLMS over wired M-Bus: EN 13757-2 long frames as sent on customer ports (e.g. Kaifa, Austria).

A long frame::

    68 | L | L | 68 | C | A | CI | STSAP | DTSAP | APDU segment | checksum | 16

L counts the bytes from C to the end of the APDU segment and the checksum is their sum modulo 256.
CI values 0x00-0x1F are reserved for DLMS (EN 13757-1); there the CI field is the transport
sub-layer's segmentation byte: the low nibble is the segment's sequence number (modulo 16), bit 0x10
(FIN) marks the last segment. An APDU in one frame has CI 0x10; in two, 0x00 then 0x11. Every segment
carries the source and destination transport SAPs (STSAP, DTSAP) after CI, and the APDU segments
joined in order give the APDU.

The line also carries frames that hold no DLMS data: the single-character acknowledgement 0xE5,
short frames (10 C A checksum 16), control frames (long frames with L = 3) and long frames whose CI is
outside the DLMS range. :class:`MbusFramer` checks and skips them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import EncodeError, FrameError

LONG_FRAME_START = 0x68
SHORT_FRAME_START = 0x10
FRAME_STOP = 0x16
SINGLE_CHARACTER_ACK = 0xE5
CONTROL_FRAME_LENGTH = 3
"""L of a control frame: C, A and CI only."""
DLMS_HEADER_LENGTH = 5
"""C, A, CI, STSAP and DTSAP: the smallest L of a frame that carries DLMS data."""
MAX_L = 0xFF
MAX_SEGMENT_LENGTH = MAX_L - DLMS_HEADER_LENGTH
CI_DLMS_MAX = 0x1F
"""Highest CI value reserved for DLMS-based applications."""
CI_LAST_SEGMENT = 0x10
"""FIN bit of the CI field: this is the APDU's last segment."""
CI_SEQUENCE_MASK = 0x0F
SEQUENCE_MODULUS = 16
SHORT_FRAME_SIZE = 5
FRAME_OVERHEAD = 6
"""Bytes of a long frame outside the L counted ones: 68 L L 68 ... checksum 16."""

C_SND_NKE = 0x40
"""Link reset from the primary station."""
C_SND_UD = 0x53
"""Send user data (FCB 0); with FCB 1 it is 0x73. Customer ports push with it."""
C_RSP_UD = 0x08
"""Response with user data (ACD 0, DFC 0)."""
A_BROADCAST = 0xFF
"""Broadcast address, used by pushing meters that address no one in particular."""


def checksum(data: bytes | bytearray | memoryview) -> int:
    """The M-Bus checksum: arithmetic sum of the bytes modulo 256."""
    return sum(bytes(data)) & 0xFF


@dataclass(frozen=True, slots=True)
class MbusFrame:
    """One M-Bus long frame carrying a segment of a DLMS APDU."""

    control: int
    address: int
    ci: int
    stsap: int
    dtsap: int
    payload: bytes

    def __post_init__(self) -> None:
        for name, value in (
            ("control", self.control),
            ("address", self.address),
            ("stsap", self.stsap),
            ("dtsap", self.dtsap),
        ):
            if not 0 <= value <= 0xFF:
                raise EncodeError(f"M-Bus {name} field {value} is not a byte")
        if not 0 <= self.ci <= CI_DLMS_MAX:
            raise EncodeError(f"CI 0x{self.ci:02X} is outside the DLMS range 0x00-0x1F")

    @property
    def sequence(self) -> int:
        """The segment's sequence number (low nibble of CI)."""
        return self.ci & CI_SEQUENCE_MASK

    @property
    def last_segment(self) -> bool:
        """True when the FIN bit says no segment of this APDU follows."""
        return bool(self.ci & CI_LAST_SEGMENT)

    def encode(self) -> bytes:
        """The long frame with start characters, lengths, checksum and stop character."""
        if len(self.payload) > MAX_SEGMENT_LENGTH:
            raise EncodeError(f"M-Bus segment of {len(self.payload)} bytes exceeds {MAX_SEGMENT_LENGTH}")
        body = bytes([self.control, self.address, self.ci, self.stsap, self.dtsap]) + self.payload
        length = len(body)
        return (
            bytes([LONG_FRAME_START, length, length, LONG_FRAME_START])
            + body
            + bytes([checksum(body), FRAME_STOP])
        )


def segment_apdu(
    apdu: bytes,
    *,
    control: int = C_SND_UD,
    address: int = A_BROADCAST,
    stsap: int = 0x01,
    dtsap: int = 0x67,
    segment_size: int = MAX_SEGMENT_LENGTH,
) -> list[MbusFrame]:
    """Split an APDU into long frames numbered from 0, the last with FIN set (e.g. for simulators)."""
    if not 1 <= segment_size <= MAX_SEGMENT_LENGTH:
        raise EncodeError(f"M-Bus segment size must be 1 to {MAX_SEGMENT_LENGTH}")
    chunks = [apdu[start : start + segment_size] for start in range(0, len(apdu), segment_size)] or [b""]
    frames = []
    for index, chunk in enumerate(chunks):
        ci = index % SEQUENCE_MODULUS
        if index == len(chunks) - 1:
            ci |= CI_LAST_SEGMENT
        frames.append(MbusFrame(control, address, ci, stsap, dtsap, chunk))
    return frames


def decode_mbus_frame(raw: bytes | bytearray | memoryview) -> MbusFrame:
    """Decode exactly one long frame carrying DLMS; anything else (or a bad checksum) is a FrameError."""
    data = bytes(raw)
    if len(data) < FRAME_OVERHEAD + DLMS_HEADER_LENGTH:
        raise FrameError(f"M-Bus frame of {len(data)} bytes is too short for DLMS")
    if data[0] != LONG_FRAME_START or data[3] != LONG_FRAME_START:
        raise FrameError("M-Bus long frame does not start with 68 L L 68")
    length = data[1]
    if data[2] != length:
        raise FrameError(f"M-Bus length fields differ ({data[1]} and {data[2]})")
    if len(data) != length + FRAME_OVERHEAD:
        raise FrameError(f"M-Bus length {length} does not match a frame of {len(data)} bytes")
    if data[-1] != FRAME_STOP:
        raise FrameError("M-Bus frame does not end with the stop character 0x16")
    body = data[4:-2]
    if checksum(body) != data[-2]:
        raise FrameError("M-Bus checksum mismatch")
    ci = body[2]
    if ci > CI_DLMS_MAX:
        raise FrameError(f"M-Bus CI 0x{ci:02X} is not a DLMS segment")
    return MbusFrame(body[0], body[1], ci, body[3], body[4], body[DLMS_HEADER_LENGTH:])


def _next_frame_start(buf: bytearray, start: int, end: int, long_start: int) -> tuple[int, int]:
    """The next frame start byte (short or long) at or after ``start``, and the next long one.

    Either is ``end`` when there is none. ``long_start`` is the last answer's second value: while it
    lies ahead it is still the next long start, so it is not searched for again. Without that, a flood
    of short frame starts (0x10) and no 0x68 searched the whole buffer for a long start at every one
    of them (quadratic in the buffer).
    """
    if long_start < start:
        found = buf.find(LONG_FRAME_START, start, end)
        long_start = end if found < 0 else found
    short_start = buf.find(SHORT_FRAME_START, start, long_start)
    return (long_start if short_start < 0 else short_start), long_start


class MbusFramer:
    """Sans-I/O M-Bus framer: ``feed`` bytes, get back the checked long frames that carry DLMS."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        """DLMS frames returned so far."""
        self.checksum_errors = 0
        """Candidate frames dropped for a bad checksum."""
        self.frames_skipped = 0
        """Valid frames that carry no DLMS data (short frames, control frames, other CI values)."""
        self.bytes_discarded = 0
        """Bytes that belonged to no valid frame (acknowledgement characters included)."""
        self.errors_before: list[int] = []
        """For each frame the last :meth:`feed` returned: the checksum errors counted between it and
        the frame before it (in this feed or an earlier one). A damaged frame between two segments of
        one APDU may be a lost segment, so the caller drops the sequence."""
        self._errors_since_frame = 0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget any partial frame."""
        self._buffer.clear()
        self._errors_since_frame = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[MbusFrame]:
        """Add bytes from the stream; return the DLMS frames they complete, in order."""
        buf = self._buffer
        buf += data
        frames: list[MbusFrame] = []
        errors_before: list[int] = []
        self.errors_before = errors_before
        errors_at_start = self.checksum_errors
        available = len(buf)
        position = 0
        long_start = -1
        while position < available:
            start = buf[position]
            if start == SHORT_FRAME_START:
                if position + SHORT_FRAME_SIZE > available:
                    break
                if (
                    buf[position + 4] == FRAME_STOP
                    and checksum(buf[position + 1 : position + 3]) == buf[position + 3]
                ):
                    self.frames_skipped += 1
                    position += SHORT_FRAME_SIZE
                else:
                    self.bytes_discarded += 1
                    position += 1
                continue
            if start != LONG_FRAME_START:
                # Skip to the next byte that may start a frame in one search, not one byte per turn.
                stop, long_start = _next_frame_start(buf, position + 1, available, long_start)
                self.bytes_discarded += stop - position
                position = stop
                continue
            if position + 4 > available:
                break
            length = buf[position + 1]
            if (
                buf[position + 2] != length
                or buf[position + 3] != LONG_FRAME_START
                or length < CONTROL_FRAME_LENGTH
            ):
                self.bytes_discarded += 1
                position += 1
                continue
            end = position + length + FRAME_OVERHEAD
            if end > available:
                break
            if buf[end - 1] != FRAME_STOP:
                self.bytes_discarded += 1
                position += 1
                continue
            if checksum(buf[position + 4 : end - 2]) != buf[end - 2]:
                self.checksum_errors += 1
                self.bytes_discarded += 1
                position += 1
                continue
            if length < DLMS_HEADER_LENGTH or buf[position + 6] > CI_DLMS_MAX:
                self.frames_skipped += 1
                position = end
                continue
            frames.append(decode_mbus_frame(buf[position:end]))
            errors_before.append(self._errors_since_frame + self.checksum_errors - errors_at_start)
            self._errors_since_frame = 0
            errors_at_start = self.checksum_errors
            self.frames += 1
            position = end
        self._errors_since_frame += self.checksum_errors - errors_at_start
        del buf[:position]
        return frames


class MbusReassembler:
    """Joins the APDU segments of consecutive DLMS frames; ``add`` returns the APDU on its last one.

    A segment numbered 0 starts an APDU; each next one must carry the next sequence number (modulo 16).
    A gap, a segment with no start, or growth past ``max_size`` drops what was collected (counted),
    so only whole APDUs come out.
    """

    def __init__(self, max_size: int = 65535 + 16) -> None:
        self.max_size = max_size
        self._parts: list[bytes] = []
        self._size = 0
        self._expected: int | None = None
        self.completed = 0
        """APDUs returned."""
        self.sequence_errors = 0
        """Segments that broke the numbering (collected segments were dropped)."""
        self.overflows = 0
        """APDUs dropped because they grew past ``max_size``."""

    @property
    def in_progress(self) -> bool:
        """True while segments of an unfinished APDU are held."""
        return self._expected is not None

    def reset(self) -> bool:
        """Forget an unfinished APDU; True when segments of one were held."""
        held = self._expected is not None
        self._parts = []
        self._size = 0
        self._expected = None
        return held

    def add(self, frame: MbusFrame) -> bytes | None:
        """Take the next DLMS frame; return the whole APDU when it completes one."""
        sequence = frame.sequence
        if self._expected is None:
            if sequence != 0:
                self.sequence_errors += 1
                return None
        elif sequence != self._expected:
            self.sequence_errors += 1
            self.reset()
            if sequence != 0:
                return None
        size = self._size + len(frame.payload)
        if size > self.max_size:
            self.overflows += 1
            self.reset()
            return None
        self._parts.append(frame.payload)
        self._size = size
        if frame.last_segment:
            apdu = b"".join(self._parts)
            self.reset()
            self.completed += 1
            return apdu
        self._expected = (sequence + 1) % SEQUENCE_MODULUS
        return None
