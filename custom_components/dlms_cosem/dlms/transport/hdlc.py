"""``HdlcTransport``: APDUs to one meter over HDLC (IEC 62056-46) on a serial port, bridge or TCP.

A thin asyncio driver around the sans-I/O :class:`~..hdlc.link.HdlcClientLink`: it writes what the
link wants to send, reads with ``asyncio.timeout``, and calls ``on_timeout`` when the meter stays
quiet for ``response_timeout`` seconds. No task runs in the background; whoever holds the port's
lock reads. A silent meter gives MeterNotRespondingError after ``max_retries`` resends, that is
within about ``(max_retries + 1) * response_timeout`` seconds.

``inter_octet_timeout`` drops a frame that stopped arriving half way (the framer resynchronises by
itself too); ``inactivity_timeout`` is the meter's (HDLC setup, class 23): after that long without a
frame from us the meter has dropped the link, so the next request fails with ConnectionLostError
at once instead of after a round trip. After any ConnectionLostError or MeterNotRespondingError
the transport is no longer open; ``close()`` then ``open()`` starts afresh.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import ConnectionLostError, DlmsError, MeterNotRespondingError, ProtocolError
from ..hdlc import HdlcParameters, server_address
from ..hdlc import client_address as hdlc_client_address
from ..hdlc.link import (
    Acknowledged,
    ApduReceived,
    Connected,
    Disconnected,
    HdlcClientLink,
    LinkEvent,
    LinkLost,
    NotResponding,
    ProtocolViolation,
)
from ..hdlc.negotiation import client_proposal
from .shared import ModeESettings, SharedPort
from .streams import DEFAULT_OPEN_TIMEOUT, Endpoint, SerialEndpoint

_LOGGER = logging.getLogger(__name__)

DEFAULT_RESPONSE_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 3
DISCONNECT_RETRIES = 1
"""Resends of DISC when closing: a meter that does not answer it is left to its inactivity timeout."""


class HdlcTransport:
    """Carries APDUs to one logical device of one meter over an HDLC link (implements ApduTransport).

    ``endpoint`` is a serial port/URL or TCP endpoint (the transport then owns the port), or a
    :class:`SharedPort` used with other meters on the same bus (the port's own settings, mode E
    included, then apply; ``optical_mode_e`` here is for a private port).

    ``parameters`` are proposed in SNRM; by default 2030-byte frames and window 7 each way
    (:func:`~..hdlc.negotiation.client_proposal`), which a meter answers with what it can do. A meter
    that refuses a proposal, or does not answer it, gets a plain SNRM (the link falls back by
    itself), and so does every later link to it on the same port. ``HdlcParameters()`` proposes
    nothing.
    """

    def __init__(
        self,
        endpoint: Endpoint | SharedPort,
        *,
        client_address: int = 16,
        server_logical: int = 1,
        server_physical: int | None = None,
        address_size: int | None = None,
        parameters: HdlcParameters | None = None,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        inter_octet_timeout: float | None = None,
        inactivity_timeout: float | None = None,
        optical_mode_e: bool | ModeESettings = False,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
    ) -> None:
        if isinstance(endpoint, SharedPort):
            self._port = endpoint
        else:
            self._port = SharedPort(endpoint, optical_mode_e=optical_mode_e, open_timeout=open_timeout)
        client = hdlc_client_address(client_address)
        server = server_address(server_logical, server_physical, address_size)
        self._link = HdlcClientLink(
            client,
            server,
            client_proposal(server, client) if parameters is None else parameters,
            max_retries=max_retries,
        )
        self._max_retries = max_retries
        self._response_timeout = response_timeout
        self._inter_octet_timeout = inter_octet_timeout
        self._inactivity_timeout = inactivity_timeout
        self._attached = False
        self._generation = -1
        self._last_sent = 0.0

    def __repr__(self) -> str:
        return (
            f"HdlcTransport({self._port.endpoint}, server {self._link.server_address}, open={self.is_open})"
        )

    @property
    def port(self) -> SharedPort:
        """The port under this transport."""
        return self._port

    @property
    def link(self) -> HdlcClientLink:
        """The HDLC link (negotiated parameters, counters)."""
        return self._link

    @property
    def parameters(self) -> HdlcParameters:
        """The negotiated HDLC parameters."""
        return self._link.parameters

    @property
    def is_open(self) -> bool:
        """True while the port is open and the link is up."""
        return (
            self._attached
            and self._link.is_connected
            and self._port.is_open
            and self._port.generation == self._generation
        )

    async def open(self) -> None:
        """Open the port (first user) and connect the link (SNRM/UA)."""
        if self.is_open:
            return
        if self._attached:
            await self._release()
        await self._port.attach()
        self._attached = True
        try:
            async with self._port.lock:
                self._generation = self._port.generation
                self._link.reset()
                await self._port.discard_input()
                plain = self._port.hdlc_without_proposal
                server = self._link.server_address
                self._link.proposal_refused |= server in plain  # learnt by another link to it
                self._link.connect()
                event = await self._exchange(Connected)
                if self._link.proposal_refused:
                    plain.add(server)
        except BaseException:
            await self._release()
            raise
        _LOGGER.debug("%r connected: %s", self, event.parameters)

    async def request(self, apdu: bytes) -> bytes:
        """Send one APDU and return the answer (segments reassembled)."""
        async with self._port.lock:
            self._check_usable()
            self._link.send_apdu(apdu)
            event = await self._guarded(ApduReceived)
            return event.apdu

    async def send(self, apdu: bytes) -> None:
        """Send one APDU that gets no answer; returns once the meter acknowledged the frames (RR)."""
        async with self._port.lock:
            self._check_usable()
            self._link.send_apdu(apdu, expect_response=False)
            await self._guarded(Acknowledged)

    async def close(self) -> None:
        """Disconnect the link (DISC) and release the port; never raises."""
        if not self._attached:
            return
        try:
            if self.is_open:
                async with self._port.lock:
                    self._link.max_retries = min(self._max_retries, DISCONNECT_RETRIES)
                    self._link.disconnect()
                    await self._exchange(Disconnected)
        except (DlmsError, OSError):
            pass
        finally:
            await self._release()

    # -- internals --

    async def _release(self) -> None:
        self._link.reset()
        self._link.max_retries = self._max_retries
        if self._attached:
            self._attached = False
            await self._port.detach()

    def _check_usable(self) -> None:
        if not self.is_open:
            raise ConnectionLostError("the HDLC link to the meter is not open")
        if self._inactivity_timeout is not None:
            idle = asyncio.get_running_loop().time() - self._last_sent
            if idle > self._inactivity_timeout:
                self._link.reset()
                raise ConnectionLostError(
                    f"idle for {idle:.0f} s, longer than the meter's inactivity timeout: the link is gone"
                )

    async def _guarded[E: LinkEvent](self, wanted: type[E]) -> E:
        """Run an exchange; anything but a clean answer or a meter's protocol slip leaves the link down."""
        try:
            return await self._exchange(wanted)
        except ProtocolError:
            raise
        except BaseException:
            self._link.reset()  # cancelled half way, or lost: the link state is unknown
            raise

    async def _exchange[E: LinkEvent](self, wanted: type[E]) -> E:
        loop = asyncio.get_running_loop()
        link = self._link
        port = self._port
        deadline = loop.time() + self._response_timeout
        seconds_per_byte = _seconds_per_byte(port.endpoint)
        while True:
            out = link.data_to_send()
            if out:
                await port.write(out)
                self._last_sent = loop.time()
                # Written is not sent: on a serial line the bytes still have to cross it.
                deadline = self._last_sent + self._response_timeout + len(out) * seconds_per_byte
            remaining = deadline - loop.time()
            events: list[LinkEvent]
            if remaining <= 0:
                _LOGGER.debug("%r: no answer within %s s", self, self._response_timeout)
                events = link.on_timeout()
                deadline = loop.time() + self._response_timeout
            else:
                inter_octet = self._inter_octet_timeout
                partial = inter_octet is not None and link.framer.pending > 1
                data = await port.read(min(remaining, inter_octet) if inter_octet and partial else remaining)
                if not data:
                    if partial and loop.time() < deadline:
                        link.framer.reset()  # the rest of the frame never came
                    continue
                accepted = link.frames_accepted
                events = link.receive(data)
                if link.frames_accepted != accepted:
                    # The meter is sending a window of frames: the timer runs from its last one.
                    deadline = max(deadline, loop.time() + self._response_timeout)
            for event in events:
                if isinstance(event, wanted):
                    return event
                _raise_for(event)


def _seconds_per_byte(endpoint: Endpoint) -> float:
    """Line time of one byte (10 bits: start, 8 data, stop) on a serial port; none on TCP."""
    return 10 / endpoint.baudrate if isinstance(endpoint, SerialEndpoint) else 0.0


def _raise_for(event: LinkEvent) -> None:
    if isinstance(event, NotResponding):
        raise MeterNotRespondingError(f"the meter does not answer: {event.reason}")
    if isinstance(event, LinkLost):
        raise ConnectionLostError(f"the meter dropped the HDLC link: {event.reason}")
    if isinstance(event, ProtocolViolation):
        raise ProtocolError(event.reason)
    if isinstance(event, Disconnected):
        raise ConnectionLostError(f"the HDLC link was closed: {event.reason}")
