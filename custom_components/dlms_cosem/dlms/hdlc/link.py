"""Sans-I/O HDLC link for DLMS/COSEM (IEC 62056-46 / Green Book 8.4): client and server roles.

The link runs in normal response mode with modulo-8 sequence numbers. The client (primary station)
opens it with SNRM, the server (secondary station) accepts with UA carrying the negotiated parameters.
An APDU travels with the LLC header (E6 E6 00 from the client, E6 E7 00 from the server), cut into
I-frames of at most the negotiated information field length; every frame but the last carries the
segmentation bit. A station sends at most a window of unacknowledged frames, the last one with the
poll/final bit, and then the turn passes to the other side: the server answers a client segment with
RR(N(R)) and the last one with the response, the client asks for each further response segment with
RR(N(R)). DISC closes the link; DM means "not connected", FRMR "frame rejected".

Sans-I/O: bytes and calls in, events out. Every call that makes the station transmit (``receive``,
``connect``, ``send_apdu``, ``on_timeout``, ...) appends the frames to an outbox; the caller drains it
with :meth:`data_to_send` after each call and writes the bytes to the port (as in h11/wsproto).
Nothing here reads a clock: the client's caller runs the response timer and calls
:meth:`HdlcClientLink.on_timeout` when it expires, which retransmits (resending the unacknowledged
I-frames, or polling with RR while a response is coming in or the meter said RNR) until
``max_retries`` consecutive timeouts without progress, then reports :class:`NotResponding`. The
inter-octet and inactivity timeouts of the HDLC setup object (class 23) are the adapter's business.

Frames with a bad HCS/FCS never reach the link (the framer drops them; the timer covers the loss), and
frames between other stations on the same bus are ignored, so several meters can share one line.
Retransmissions are recognised by N(S): a station accepts only the frame numbered V(R), so a resent
frame that already arrived is never delivered twice, and a server that sees the last request again
resends its unacknowledged response.

A server (the simulator's side) is driven like this::

    link = HdlcServerLink(server_address(1, 17), HdlcParameters(max_info_transmit=256))
    for event in link.receive(chunk):          # SNRM/DISC/RR are answered inside
        if isinstance(event, ApduReceived):
            link.send_apdu(answer(event.apdu))  # or link.acknowledge() for an unconfirmed request
    port.write(link.data_to_send())
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from ..errors import FrameError, ProtocolError
from .address import HdlcAddress
from .control import SEQUENCE_MODULUS, Control, FrameType
from .frame import CHECK_SEQUENCE_SIZE, MAX_FRAME_LENGTH, HdlcFrame
from .framer import DEFAULT_MAX_APDU_SIZE, HdlcFramer
from .llc import LLC_COMMAND, LLC_HEADER_SIZE, LLC_RESPONSE, add_llc
from .parameters import HdlcParameters

MAX_WINDOW_SIZE = SEQUENCE_MODULUS - 1
"""Largest window modulo-8 numbering allows."""
DEFAULT_MAX_RETRIES = 3


# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """The link is up; ``parameters`` are the negotiated ones as this station uses them."""

    parameters: HdlcParameters


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A whole APDU arrived (segments reassembled, LLC header removed)."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The server acknowledged every frame of an APDU sent with ``expect_response=False``."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The link was closed as asked (DISC answered with UA or DM, or the client sent DISC)."""

    reason: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The peer dropped or refused the link (DM or FRMR where a link was expected)."""

    reason: str


@dataclass(frozen=True, slots=True)
class NotResponding:
    """The meter did not answer after the retries; the link is considered down."""

    reason: str


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer sent something the link cannot use (an APDU larger than the limit); it was dropped."""

    reason: str


type LinkEvent = (
    Connected | ApduReceived | Acknowledged | Disconnected | LinkLost | NotResponding | ProtocolViolation
)


class LinkState(Enum):
    """Where the link stands."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTING = "disconnecting"


# --- helpers ------------------------------------------------------------------------------------------


def same_station(first: HdlcAddress, second: HdlcAddress) -> bool:
    """True when two addresses name the same station, whatever size they were written in."""
    return first.logical == second.logical and first.physical == second.physical


def max_information_length(destination: HdlcAddress, source: HdlcAddress) -> int:
    """Largest information field a frame between these addresses can carry (11-bit frame length)."""
    overhead = 2 + destination.size + source.size + 1 + 2 * CHECK_SEQUENCE_SIZE
    return MAX_FRAME_LENGTH - overhead


def negotiate_parameters(own: HdlcParameters, peer: HdlcParameters, max_information: int) -> HdlcParameters:
    """The parameters this station uses: the smaller of its own and the peer's, each way.

    ``peer`` is as the peer stated it (its transmit is our receive). Lengths are kept between 1 and
    ``max_information`` (what the frame length field allows), windows between 1 and 7.
    """

    def length(value: int) -> int:
        return max(1, min(value, max_information))

    def window(value: int) -> int:
        return max(1, min(value, MAX_WINDOW_SIZE))

    return HdlcParameters(
        max_info_transmit=length(min(own.max_info_transmit, peer.max_info_receive)),
        max_info_receive=length(min(own.max_info_receive, peer.max_info_transmit)),
        window_transmit=window(min(own.window_transmit, peer.window_receive)),
        window_receive=window(min(own.window_receive, peer.window_transmit)),
    )


def _next(sequence: int) -> int:
    return (sequence + 1) % SEQUENCE_MODULUS


# --- the common station -------------------------------------------------------------------------------


class _Station:
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


# --- client (primary station) -------------------------------------------------------------------------


class HdlcClientLink(_Station):
    """The client side of one HDLC link to one server (logical device) on the line.

    ``parameters`` are the values proposed in SNRM. When they are all the defaults (128 bytes, window
    1) the SNRM carries no information field, which the standard defines to mean exactly that (and is
    what meters see from most clients).
    """

    def __init__(
        self,
        client_address: HdlcAddress,
        server_address: HdlcAddress,
        parameters: HdlcParameters | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_apdu_size: int = DEFAULT_MAX_APDU_SIZE,
    ) -> None:
        super().__init__(client_address, parameters or HdlcParameters(), max_apdu_size)
        self._server = server_address
        self.max_retries = max(0, max_retries)
        self._retries = 0
        self._busy = False
        self._expect_response = True
        self._receiving = False

    @property
    def client_address(self) -> HdlcAddress:
        """The address of this station."""
        return self._own

    @property
    def server_address(self) -> HdlcAddress:
        """The server this link talks to."""
        return self._server

    @property
    def busy(self) -> bool:
        """True while an APDU exchange is unfinished."""
        return self._busy

    @property
    def retries(self) -> int:
        """Consecutive timeouts without progress in the current exchange."""
        return self._retries

    def _peer_address(self) -> HdlcAddress:
        return self._server

    def reset(self) -> None:
        """Forget the link (e.g. the port was reopened): disconnected, nothing pending."""
        self._state = LinkState.DISCONNECTED
        self._framer.reset()
        self._outbox.clear()
        self._end_exchange()
        self._reset_sequence()

    def connect(self) -> None:
        """Send SNRM; :class:`Connected` follows when the server's UA arrives."""
        self._end_exchange()
        self._reset_sequence()
        self._state = LinkState.CONNECTING
        self._retries = 0
        self._emit_snrm()

    def disconnect(self) -> None:
        """Send DISC; :class:`Disconnected` follows on UA or DM (or after the retries)."""
        if self._state is LinkState.DISCONNECTED:
            return
        self._end_exchange()
        self._state = LinkState.DISCONNECTING
        self._retries = 0
        self._emit(self._server, Control.disc())

    def send_apdu(self, apdu: bytes, *, expect_response: bool = True) -> None:
        """Start an exchange: the APDU goes out in I-frames, the response comes as :class:`ApduReceived`.

        With ``expect_response=False`` (unconfirmed services) the exchange ends with
        :class:`Acknowledged` once the server has acknowledged every frame.
        """
        if self._state is not LinkState.CONNECTED:
            raise ProtocolError("the HDLC link is not connected")
        if self._busy:
            raise ProtocolError("the previous HDLC exchange is unfinished")
        self._busy = True
        self._expect_response = expect_response
        self._receiving = False
        self._peer_busy = False
        self._retries = 0
        self._reset_reassembly()
        self._queue_apdu(add_llc(apdu))
        self._send_window()

    def on_timeout(self) -> list[LinkEvent]:
        """The response timer expired: retransmit, or report the meter silent after the retries."""
        state = self._state
        if state is LinkState.CONNECTING:
            if self._retries >= self.max_retries:
                self._state = LinkState.DISCONNECTED
                return [NotResponding("no answer to SNRM")]
            self._retries += 1
            self._emit_snrm()
            return []
        if state is LinkState.DISCONNECTING:
            if self._retries >= self.max_retries:
                self._state = LinkState.DISCONNECTED
                return [Disconnected("no answer to DISC")]
            self._retries += 1
            self._emit(self._server, Control.disc())
            return []
        if state is not LinkState.CONNECTED or not self._busy:
            return []
        if self._retries >= self.max_retries:
            return [self._give_up("no answer after the retries")]
        self._retries += 1
        if (self._unacked or self._segments) and not self._receiving and not self._peer_busy:
            self._resume()
        else:
            self._emit_supervisory(FrameType.RR)
        return []

    def receive_frame(self, frame: HdlcFrame) -> list[LinkEvent]:
        """Handle one checked frame; frames that are not from our server to us are ignored."""
        if not same_station(frame.destination, self._own) or not same_station(frame.source, self._server):
            self.frames_ignored += 1
            return []
        frame_type = frame.control.frame_type
        state = self._state
        if state is LinkState.CONNECTING:
            if frame_type is FrameType.UA:
                return [self._on_connected(frame)]
            if frame_type in (FrameType.DM, FrameType.FRMR):
                self._state = LinkState.DISCONNECTED
                return [LinkLost(f"the meter answered SNRM with {frame_type.name}")]
            return []
        if state is LinkState.DISCONNECTING:
            if frame_type in (FrameType.UA, FrameType.DM):
                self._state = LinkState.DISCONNECTED
                self._reset_sequence()
                return [Disconnected(f"the meter answered DISC with {frame_type.name}")]
            return []
        if state is not LinkState.CONNECTED:
            return []
        if frame_type in (FrameType.DM, FrameType.FRMR):
            self._state = LinkState.DISCONNECTED
            self._end_exchange()
            self._reset_sequence()
            meaning = "not connected" if frame_type is FrameType.DM else "frame rejected"
            return [LinkLost(f"the meter sent {frame_type.name} ({meaning})")]
        if frame_type is FrameType.I:
            return self._on_information(frame)
        if frame_type in (FrameType.RR, FrameType.RNR):
            return self._on_supervisory(frame)
        return []  # UA, UI, ...: nothing to do with the exchange

    # -- internals --

    def _emit_snrm(self) -> None:
        information = b"" if self._proposed == HdlcParameters() else self._proposed.encode()
        self._emit(self._server, Control.snrm(), information)

    def _on_connected(self, frame: HdlcFrame) -> LinkEvent:
        try:
            offered = HdlcParameters.decode(frame.information)
        except FrameError:
            offered = HdlcParameters()  # unreadable: the defaults every station must support
        limit = max_information_length(self._server, self._own)
        self._parameters = negotiate_parameters(self._proposed, offered, limit)
        self._reset_sequence()
        self._state = LinkState.CONNECTED
        self._retries = 0
        return Connected(self._parameters)

    def _end_exchange(self) -> None:
        self._busy = False
        self._receiving = False
        self._peer_busy = False

    def _give_up(self, reason: str) -> LinkEvent:
        self._state = LinkState.DISCONNECTED
        self._end_exchange()
        self._reset_sequence()
        return NotResponding(reason)

    def _no_progress(self) -> list[LinkEvent]:
        """The meter took its turn without moving the exchange on; bounded like timeouts.

        Returns the :class:`NotResponding` event when this was one time too many, else nothing.
        """
        if self._retries >= self.max_retries:
            return [self._give_up("the meter keeps answering without progress")]
        self._retries += 1
        return []

    def _on_information(self, frame: HdlcFrame) -> list[LinkEvent]:
        if not self._busy:
            return []  # nothing asked for: a late duplicate
        progress = self._acknowledge(frame.control.nr)
        if self._accept_information(frame):
            progress = True
            self._receiving = True
            self._peer_busy = False
            self._segments.clear()  # the meter answers only after the whole request
            self._unacked = []
            if not frame.segmented:
                self._end_exchange()
                self._retries = 0
                return [self._take_apdu(LLC_RESPONSE)]
        events: list[LinkEvent] = []
        if progress:
            self._retries = 0
        if frame.control.poll_final or self._rx_in_window >= self._parameters.window_receive:
            if not progress:
                events = self._no_progress()
                if events:
                    return events  # gave up
            self._emit_supervisory(FrameType.RR)
        return events

    def _on_supervisory(self, frame: HdlcFrame) -> list[LinkEvent]:
        if not self._busy:
            return []
        progress = self._acknowledge(frame.control.nr)
        if progress:
            self._retries = 0
        if frame.control.frame_type is FrameType.RNR:
            self._peer_busy = True
            return []  # the timer polls again later
        self._peer_busy = False
        if not frame.control.poll_final or self._receiving:
            return []
        if self._unacked and not progress:
            events = self._no_progress()
            if events:
                return events  # gave up
        if self._unacked or self._segments:
            self._resume()
            return []
        if not self._expect_response:
            self._end_exchange()
            return [Acknowledged()]
        return []  # request acknowledged, answer not ready yet: the timer polls


# --- server (secondary station) -----------------------------------------------------------------------


class HdlcServerLink(_Station):
    """The server side of an HDLC link: one logical device at ``server_address``, one client at a time.

    Frames for other server addresses are ignored. After :class:`ApduReceived` the application
    answers with :meth:`send_apdu` (or :meth:`acknowledge` for an unconfirmed request); until then a
    poll from the client gets RNR. ``parameters`` are the server's limits; the UA carries the
    negotiated values (the smaller of these and the client's proposal), or with
    ``report_own_limits`` the server's own limits, as many meters do (the link still uses the
    negotiated ones).
    """

    def __init__(
        self,
        server_address: HdlcAddress,
        parameters: HdlcParameters | None = None,
        *,
        report_own_limits: bool = False,
        max_apdu_size: int = DEFAULT_MAX_APDU_SIZE,
    ) -> None:
        super().__init__(server_address, parameters or HdlcParameters(), max_apdu_size)
        self.report_own_limits = report_own_limits
        self._client: HdlcAddress | None = None
        self._awaiting_answer = False

    @property
    def server_address(self) -> HdlcAddress:
        """The address of this station."""
        return self._own

    @property
    def client_address(self) -> HdlcAddress | None:
        """The connected client, None while disconnected."""
        return self._client if self._state is LinkState.CONNECTED else None

    @property
    def awaiting_answer(self) -> bool:
        """True after :class:`ApduReceived` until the application answers."""
        return self._awaiting_answer

    def _peer_address(self) -> HdlcAddress:
        assert self._client is not None
        return self._client

    def reset(self) -> None:
        """Drop the link without a frame (e.g. the inactivity timeout expired, or the port reopened)."""
        self._state = LinkState.DISCONNECTED
        self._client = None
        self._awaiting_answer = False
        self._framer.reset()
        self._outbox.clear()
        self._reset_sequence()

    def send_apdu(self, apdu: bytes) -> None:
        """Answer the request: the APDU goes out segmented, further segments as the client asks (RR)."""
        if self._state is not LinkState.CONNECTED:
            raise ProtocolError("the HDLC link is not connected")
        self._awaiting_answer = False
        self._queue_apdu(add_llc(apdu, response=True))
        self._send_window()

    def acknowledge(self) -> None:
        """Answer a request that gets no APDU back (unconfirmed service) with RR."""
        if self._state is not LinkState.CONNECTED:
            raise ProtocolError("the HDLC link is not connected")
        self._awaiting_answer = False
        self._emit_supervisory(FrameType.RR)

    def receive_frame(self, frame: HdlcFrame) -> list[LinkEvent]:
        """Handle one checked frame addressed to this server; others are ignored."""
        if not same_station(frame.destination, self._own):
            self.frames_ignored += 1
            return []
        frame_type = frame.control.frame_type
        if frame_type is FrameType.SNRM:
            return self._on_snrm(frame)
        connected = self._state is LinkState.CONNECTED
        if not connected or self._client is None or not same_station(frame.source, self._client):
            if frame_type is FrameType.DISC or (
                frame.control.poll_final and frame_type in (FrameType.I, FrameType.RR, FrameType.RNR)
            ):
                self._reply_dm(frame)
            return []
        if frame_type is FrameType.DISC:
            self._own_on_wire = frame.destination
            self._emit(self._client, Control.ua())
            self._drop_link()
            return [Disconnected("the client sent DISC")]
        if frame_type is FrameType.I:
            return self._on_information(frame)
        if frame_type in (FrameType.RR, FrameType.RNR):
            self._on_supervisory(frame)
        return []  # UI, UA, DM, FRMR from a client: nothing to answer

    def _drop_link(self) -> None:
        self._state = LinkState.DISCONNECTED
        self._client = None
        self._awaiting_answer = False
        self._reset_sequence()

    # -- internals --

    def _reply_dm(self, frame: HdlcFrame) -> None:
        reply = HdlcFrame(frame.source, frame.destination, Control.dm())
        self._outbox += reply.encode()
        self.frames_sent += 1

    def _on_snrm(self, frame: HdlcFrame) -> list[LinkEvent]:
        try:
            proposed = HdlcParameters.decode(frame.information)
        except FrameError:
            self._reply_dm(frame)
            return []
        limit = max_information_length(frame.source, frame.destination)
        self._parameters = negotiate_parameters(self._proposed, proposed, limit)
        self._client = frame.source
        self._own_on_wire = frame.destination
        self._reset_sequence()
        self._awaiting_answer = False
        self._state = LinkState.CONNECTED
        reported = self._proposed if self.report_own_limits else self._parameters
        self._emit(self._client, Control.ua(), reported.encode())
        return [Connected(self._parameters)]

    def _on_information(self, frame: HdlcFrame) -> list[LinkEvent]:
        self._acknowledge(frame.control.nr)
        if self._accept_information(frame):
            # A new request: whatever remained of the previous answer is no longer wanted.
            self._segments.clear()
            self._unacked = []
            self._awaiting_answer = False
            if frame.segmented:
                if frame.control.poll_final:
                    self._emit_supervisory(FrameType.RR)
                return []
            event = self._take_apdu(LLC_COMMAND)
            if isinstance(event, ProtocolViolation):
                self._emit(self._peer_address(), Control.frmr())
                self._drop_link()
                return [event]
            self._awaiting_answer = True
            return [event]
        if frame.control.poll_final:
            self._answer_poll()
        return []

    def _on_supervisory(self, frame: HdlcFrame) -> None:
        self._acknowledge(frame.control.nr)
        self._peer_busy = frame.control.frame_type is FrameType.RNR
        if frame.control.poll_final:
            if self._peer_busy:
                self._emit_supervisory(FrameType.RR)
            else:
                self._answer_poll()

    def _answer_poll(self) -> None:
        """The client gave us the turn: resend what it lacks, go on with the answer, or say where we are."""
        if self._unacked or self._segments:
            self._resume()
        elif self._awaiting_answer:
            self._emit_supervisory(FrameType.RNR)
        else:
            self._emit_supervisory(FrameType.RR)
