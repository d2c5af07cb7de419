"""What both HDLC stations share (IEC 62056-46 / Green Book 8.4): sequencing, segmentation, reassembly.

An APDU travels with the LLC header, cut into I-frames of at most the negotiated information field
length; every frame but the last carries the segmentation bit. A station sends at most a window of
unacknowledged frames, the last one with the poll/final bit. When the turn comes back with frames still
unacknowledged (a poll, or the client's response timer) it goes back N: every unacknowledged frame is
sent again, then the window is filled. Incoming I-frames are taken only when N(S) is V(R), so a
resent frame that already arrived is never delivered twice; their information fields are joined until
the last segment, and an APDU past ``max_apdu_size`` is dropped whole rather than held in memory.

The roles (:mod:`.link`) decide when to send and what a frame means for the exchange; this base only
keeps the numbers, the queues and the outbox right.
"""

from __future__ import annotations

from collections import deque

from .address import HdlcAddress
from .control import SEQUENCE_MODULUS, Control, FrameType
from .events import ApduReceived, LinkEvent, LinkState, ProtocolViolation
from .frame import HdlcFrame
from .framer import HdlcFramer
from .llc import LLC_HEADER_SIZE
from .parameters import HdlcParameters


def _next(sequence: int) -> int:
    return (sequence + 1) % SEQUENCE_MODULUS


class HdlcStation:
    """What both roles share: outbox, sequence numbers, segmentation, acknowledgement, reassembly."""

    def __init__(self, own: HdlcAddress, parameters: HdlcParameters, max_apdu_size: int) -> None:
        self._own = own
        self._own_on_wire = own
        self._proposed = parameters
        self._max_apdu_size = max_apdu_size
        self._framer = HdlcFramer()
        self._outbox = bytearray()
        self._state = LinkState.DISCONNECTED
        self._parameters = HdlcParameters()
        self._vs = 0
        self._vr = 0
        self._segments: deque[tuple[bytes, bool]] = deque()
        self._unacked: list[tuple[int, bytes, bool]] = []
        self._rx_parts: list[bytes] = []
        self._rx_size = 0
        self._rx_overflow = False
        self._rx_in_window = 0
        self._peer_busy = False
        self.frames_sent = 0
        """Frames put in the outbox, retransmissions included."""
        self.frames_resent = 0
        """I-frames sent again (after a timeout or because the peer asked for them)."""
        self.frames_ignored = 0
        """Checked frames addressed to or from other stations."""
        self.frames_out_of_sequence = 0
        """I-frames dropped because N(S) was not the one expected (duplicates, gaps)."""
        self.frames_accepted = 0
        """I-frames taken in sequence: progress, even in the middle of a window."""

    # -- public, both roles --

    @property
    def state(self) -> LinkState:
        """Where the link stands."""
        return self._state

    @property
    def is_connected(self) -> bool:
        """True while the link is up."""
        return self._state is LinkState.CONNECTED

    @property
    def parameters(self) -> HdlcParameters:
        """The negotiated parameters as this station uses them (defaults until connected)."""
        return self._parameters

    @property
    def framer(self) -> HdlcFramer:
        """The framer ``receive`` feeds (its counters tell how many frames were bad)."""
        return self._framer

    def data_to_send(self) -> bytes:
        """Take the bytes waiting to be written to the port (empty when there are none)."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    def receive(self, data: bytes | bytearray | memoryview) -> list[LinkEvent]:
        """Feed bytes from the port (any chunking); return what happened."""
        events: list[LinkEvent] = []
        for frame in self._framer.feed(data):
            events.extend(self.receive_frame(frame))
        return events

    def receive_frame(self, frame: HdlcFrame) -> list[LinkEvent]:
        """Handle one checked frame (for callers that run their own framer, e.g. a shared bus)."""
        raise NotImplementedError

    # -- transmitting --

    def _emit(
        self, destination: HdlcAddress, control: Control, information: bytes = b"", *, segmented: bool = False
    ) -> None:
        frame = HdlcFrame(destination, self._own_on_wire, control, information, segmented)
        self._outbox += frame.encode()
        self.frames_sent += 1

    def _peer_address(self) -> HdlcAddress:
        raise NotImplementedError

    def _emit_supervisory(self, frame_type: FrameType) -> None:
        if frame_type is FrameType.RNR:
            control = Control.receive_not_ready(self._vr, poll_final=True)
        else:
            control = Control.receive_ready(self._vr, poll_final=True)
        self._rx_in_window = 0
        self._emit(self._peer_address(), control)

    def _emit_information(self, ns: int, information: bytes, segmented: bool, poll_final: bool) -> None:
        self._rx_in_window = 0
        control = Control.information(ns, self._vr, poll_final=poll_final)
        self._emit(self._peer_address(), control, information, segmented=segmented)

    def _queue_apdu(self, information: bytes) -> None:
        size = self._parameters.max_info_transmit
        chunks = [information[start : start + size] for start in range(0, len(information), size)]
        self._segments = deque((chunk, index < len(chunks) - 1) for index, chunk in enumerate(chunks))
        self._unacked = []

    def _send_window(self) -> None:
        window = self._parameters.window_transmit
        while self._segments and len(self._unacked) < window:
            information, segmented = self._segments.popleft()
            ns = self._vs
            self._vs = _next(self._vs)
            self._unacked.append((ns, information, segmented))
            last = not self._segments or len(self._unacked) == window
            self._emit_information(ns, information, segmented, poll_final=last)

    def _resume(self) -> None:
        """Go-back-N: resend every unacknowledged frame, then fill the window; P/F on the last frame."""
        more = bool(self._segments) and len(self._unacked) < self._parameters.window_transmit
        last = len(self._unacked) - 1
        for index, (ns, information, segmented) in enumerate(self._unacked):
            self._emit_information(ns, information, segmented, poll_final=index == last and not more)
            self.frames_resent += 1
        self._send_window()

    def _acknowledge(self, nr: int) -> bool:
        """Drop the frames N(R) acknowledges; True when it acknowledged at least one."""
        if not self._unacked:
            return False
        count = (nr - self._unacked[0][0]) % SEQUENCE_MODULUS
        if count > len(self._unacked):
            return False  # outside the outstanding window: stale or bogus, acknowledges nothing
        del self._unacked[:count]
        return count > 0

    # -- receiving --

    def _reset_sequence(self) -> None:
        self._vs = 0
        self._vr = 0
        self._segments.clear()
        self._unacked = []
        self._peer_busy = False
        self._reset_reassembly()

    def _reset_reassembly(self) -> None:
        self._rx_parts = []
        self._rx_size = 0
        self._rx_overflow = False
        self._rx_in_window = 0

    def _accept_information(self, frame: HdlcFrame) -> bool:
        """Take an I-frame if it is the one expected (N(S) = V(R)); False for duplicates and gaps."""
        if frame.control.ns != self._vr:
            self.frames_out_of_sequence += 1
            return False
        self._vr = _next(self._vr)
        self._rx_in_window += 1
        self.frames_accepted += 1
        if not self._rx_overflow:
            size = self._rx_size + len(frame.information)
            if size > self._max_apdu_size + LLC_HEADER_SIZE:
                self._rx_overflow = True
                self._rx_parts = []
            else:
                self._rx_parts.append(frame.information)
                self._rx_size = size
        return True

    def _take_apdu(self, llc: bytes) -> LinkEvent:
        """The reassembled APDU of the sequence that just ended (LLC header removed when present)."""
        overflow = self._rx_overflow
        information = b"".join(self._rx_parts)
        self._reset_reassembly()
        if overflow:
            return ProtocolViolation(f"APDU larger than {self._max_apdu_size} bytes dropped")
        if information[:LLC_HEADER_SIZE] == llc:
            information = information[LLC_HEADER_SIZE:]
        return ApduReceived(information)
