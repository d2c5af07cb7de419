"""Sans-I/O HDLC link for DLMS/COSEM (IEC 62056-46 / Green Book 8.4): client and server roles.

The link runs in normal response mode with modulo-8 sequence numbers. The client (primary station)
opens it with SNRM, the server (secondary station) accepts with UA carrying the negotiated parameters
(:mod:`.negotiation`). An APDU travels with the LLC header (E6 E6 00 from the client, E6 E7 00 from
the server), segmented into windows of I-frames (:mod:`.station`); after the last frame of a window the
turn passes to the other side: the server answers a client segment with RR(N(R)) and the last one with
the response, the client asks for each further response segment with RR(N(R)). DISC closes the link;
DM means "not connected", FRMR "frame rejected". What the link reports is in :mod:`.events`.

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
A server that sees the last request again resends its unacknowledged response.

A server (the simulator's side) is driven like this::

    link = HdlcServerLink(server_address(1, 17), HdlcParameters(max_info_transmit=256))
    for event in link.receive(chunk):          # SNRM/DISC/RR are answered inside
        if isinstance(event, ApduReceived):
            link.send_apdu(answer(event.apdu))  # or link.acknowledge() for an unconfirmed request
    port.write(link.data_to_send())

The events, :func:`negotiate_parameters`, :func:`max_information_length` and :func:`same_station` are
re-exported here, so callers import the whole link from one place.
"""

from __future__ import annotations

from ..errors import FrameError, ProtocolError
from .address import HdlcAddress, same_station
from .control import Control, FrameType
from .events import (
    Acknowledged,
    ApduReceived,
    Connected,
    Disconnected,
    LinkEvent,
    LinkLost,
    LinkState,
    NotResponding,
    ProposalAnswer,
    ProtocolViolation,
)
from .frame import HdlcFrame
from .framer import DEFAULT_MAX_APDU_SIZE
from .llc import LLC_COMMAND, LLC_RESPONSE, add_llc
from .negotiation import MAX_WINDOW_SIZE, max_information_length, negotiate_parameters
from .parameters import HdlcParameters
from .station import HdlcStation

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "MAX_WINDOW_SIZE",
    "Acknowledged",
    "ApduReceived",
    "Connected",
    "Disconnected",
    "HdlcClientLink",
    "HdlcServerLink",
    "LinkEvent",
    "LinkLost",
    "LinkState",
    "NotResponding",
    "ProposalAnswer",
    "ProtocolViolation",
    "max_information_length",
    "negotiate_parameters",
    "same_station",
]

DEFAULT_MAX_RETRIES = 3
"""Consecutive response timeouts (or turns without progress) before the client gives up."""
UNANSWERED_PROPOSALS_LIMIT = 2
"""Connects in a row whose proposal went unanswered (the plain SNRM after it answered) before the
client stops proposing: one may be a frame lost on the line, two are a meter that ignores proposals."""


# --- client (primary station) -------------------------------------------------------------------------


class HdlcClientLink(HdlcStation):
    """The client side of one HDLC link to one server (logical device) on the line.

    ``parameters`` are the values proposed in SNRM. When they are all the defaults (128 bytes, window
    1) the SNRM carries no information field, which the standard defines to mean exactly that (and is
    what meters see from most clients).

    A meter that cannot take a proposal may answer it with DM or FRMR, or not at all: the client then
    sends the SNRM again without one (at once after DM/FRMR, on the next timeout otherwise), so the
    link comes up with the defaults. A UA whose parameters cannot be read gets a plain SNRM too: the
    meter may be using what it agreed to, and only a plain SNRM brings both sides to the defaults. A
    meter that refused a proposal, or left it unanswered on two connects in a row while answering the
    plain SNRM after it, gets none on later connects (:attr:`proposal_refused`).
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
        self._plain_snrm = False  # this connect's SNRM goes without the proposal
        self._falling_back = False  # the proposal was refused; the plain SNRM is out
        self._proposal_timed_out = False  # this connect's proposal went unanswered
        self._unanswered_proposals = 0  # connects in a row that went so
        self.proposal_refused = False
        """The meter refused the proposal (DM or FRMR), or ignored it on two connects in a row, and
        answered the plain SNRM after it: later connects go plain."""

    @property
    def proposes(self) -> bool:
        """Whether SNRM carries a proposal (the parameters are not all the defaults)."""
        return self._proposed != HdlcParameters()

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
        self._plain_snrm = self.proposal_refused
        self._falling_back = False
        self._proposal_timed_out = False
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
            self._proposal_timed_out |= self.proposes and not self._plain_snrm
            self._plain_snrm = True  # the meter may not answer a proposal: retries go without one
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
                try:
                    offered = HdlcParameters.decode(frame.information)
                except FrameError:
                    if self.proposes and not self._plain_snrm:
                        # The meter took a proposal we cannot read back: start again from the defaults.
                        self._plain_snrm = True
                        self._emit_snrm()
                        return []
                    offered = HdlcParameters()  # unreadable: the defaults every station must support
                return [self._on_connected(offered)]
            if frame_type in (FrameType.DM, FrameType.FRMR):
                if self.proposes and not self._plain_snrm:
                    self._plain_snrm = self._falling_back = True
                    self._emit_snrm()
                    return []
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
        information = b"" if self._plain_snrm or not self.proposes else self._proposed.encode()
        self._emit(self._server, Control.snrm(), information)

    def _on_connected(self, offered: HdlcParameters) -> LinkEvent:
        limit = max_information_length(self._server, self._own)
        own = HdlcParameters() if self._plain_snrm else self._proposed  # a plain SNRM proposes the defaults
        self._parameters = negotiate_parameters(own, offered, limit)
        if self._falling_back:
            self.proposal_refused = True
            self._falling_back = False
        if self._proposal_timed_out:
            self._unanswered_proposals += 1
            self.proposal_refused |= self._unanswered_proposals >= UNANSWERED_PROPOSALS_LIMIT
        elif not self._plain_snrm:
            self._unanswered_proposals = 0  # it answered the proposal
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


class HdlcServerLink(HdlcStation):
    """The server side of an HDLC link: one logical device at ``server_address``, one client at a time.

    Frames for other server addresses are ignored. After :class:`ApduReceived` the application
    answers with :meth:`send_apdu` (or :meth:`acknowledge` for an unconfirmed request); until then a
    poll from the client gets RNR. ``parameters`` are the server's limits; the UA carries the
    negotiated values (the smaller of these and the client's proposal), or with
    ``report_own_limits`` the server's own limits, as many meters do (the link still uses the
    negotiated ones). ``proposal_answer`` plays a meter that cannot take a proposal: an SNRM with
    parameters is then refused (DM, FRMR) or left unanswered; a plain SNRM is accepted as ever.
    """

    def __init__(
        self,
        server_address: HdlcAddress,
        parameters: HdlcParameters | None = None,
        *,
        report_own_limits: bool = False,
        proposal_answer: ProposalAnswer = ProposalAnswer.NEGOTIATE,
        max_apdu_size: int = DEFAULT_MAX_APDU_SIZE,
    ) -> None:
        super().__init__(server_address, parameters or HdlcParameters(), max_apdu_size)
        self.report_own_limits = report_own_limits
        self.proposal_answer = proposal_answer
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
        answer = self.proposal_answer
        if frame.information and answer is not ProposalAnswer.NEGOTIATE:
            if answer is ProposalAnswer.DM:
                self._reply_dm(frame)
            elif answer is ProposalAnswer.FRMR:
                self._outbox += HdlcFrame(frame.source, frame.destination, Control.frmr()).encode()
                self.frames_sent += 1
            return []
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
