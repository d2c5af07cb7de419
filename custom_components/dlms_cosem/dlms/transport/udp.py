"""``UdpTransport``: APDUs to one logical device with the IEC 62056-47 wrapper over UDP (port 4059).

NB-IoT meters (the DLMS water and electricity companion profiles) and PLC data concentrators speak
the wrapper over UDP: one datagram carries exactly one wrapper PDU. UDP loses datagrams, so a
request that gets no answer within ``response_timeout`` is sent again, up to ``max_retries`` times
(as the HDLC link resends); after that it is MeterNotRespondingError, within about
``(max_retries + 1) * response_timeout`` seconds.

A datagram that is not one whole wrapper PDU (garbage, truncated) is counted and ignored, as are
PDUs for other wPorts (other clients or logical devices behind the same gateway). Datagrams still
queued when a request starts are late answers to an earlier, resent request: they are dropped
before sending, so they are never taken for the new answer. An ICMP "port unreachable" ends the
request at once (MeterNotRespondingError): nothing listens there, resending would not help.

Ciphered APDUs are never sent again: the same bytes carry an invocation counter the meter has already
seen, and it refuses them as a replay. A lost answer to one is MeterNotRespondingError after one
``response_timeout``; the client's next request is ciphered afresh.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..apdu.tags import CIPHERED_TAGS
from ..errors import (
    ConnectionLostError,
    EncodeError,
    FrameError,
    MeterNotRespondingError,
    PortUnavailableError,
)
from ..wrapper import (
    WPORT_CLIENT_PUBLIC,
    WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE,
    WrapperPdu,
    decode_wrapper_pdu,
)
from .streams import DEFAULT_OPEN_TIMEOUT

_LOGGER = logging.getLogger(__name__)

DEFAULT_RESPONSE_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 3
MAX_UDP_PAYLOAD = 65507
"""The largest IPv4 UDP payload: the wrapper's 8 header bytes and the APDU must fit it."""
_QUEUE_LIMIT = 64
"""Datagrams held unread at most; more are dropped (a flood, not a meter)."""


@dataclass(frozen=True, slots=True)
class UdpEndpoint:
    """A UDP peer: the meter, or the gateway (data concentrator) in front of it."""

    host: str
    port: int = 4059

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"udp {host}:{self.port}"


class _Datagrams(asyncio.DatagramProtocol):
    """Queues received datagrams for the transport; notes whether the socket closed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(_QUEUE_LIMIT)
        self.closed = False
        self.overflow = 0
        self.refused = False
        """An ICMP port unreachable came back: nothing listens at the meter's address."""

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.overflow += 1

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: no need to wait out the retries. Other errors are lost datagrams.
        _LOGGER.debug("UDP error: %s", exc)
        if isinstance(exc, ConnectionRefusedError):
            self.refused = True
            if not self.queue.full():
                self.queue.put_nowait(b"")  # wakes a request waiting for an answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.queue.full():
            self.queue.put_nowait(b"")  # wakes a request waiting for an answer


class UdpTransport:
    """Carries APDUs between a client wPort and a server wPort in UDP datagrams (implements ApduTransport)."""

    def __init__(
        self,
        endpoint: UdpEndpoint,
        *,
        client_wport: int = WPORT_CLIENT_PUBLIC,
        server_wport: int = WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        self._client_wport = client_wport
        self._server_wport = server_wport
        self._response_timeout = response_timeout
        self._max_retries = max(0, max_retries)
        self._open_timeout = open_timeout
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Datagrams | None = None
        self._lock = asyncio.Lock()
        self.pdus_ignored = 0
        """PDUs that were for other wPorts, or late answers to an earlier request."""
        self.datagrams_invalid = 0
        """Datagrams that were not one whole wrapper PDU."""
        self.retries = 0
        """Requests sent again because no answer came in time."""

    def __repr__(self) -> str:
        return f"UdpTransport({self.endpoint}, wPorts {self._client_wport}->{self._server_wport})"

    @property
    def is_open(self) -> bool:
        """True while the socket is open."""
        return self._transport is not None and self._protocol is not None and not self._protocol.closed

    async def open(self) -> None:
        """Open a socket bound to the meter's address (PortUnavailableError when it cannot resolve)."""
        if self.is_open:
            return
        await self.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._open_timeout):
                transport, protocol = await loop.create_datagram_endpoint(
                    _Datagrams, remote_addr=(self.endpoint.host, self.endpoint.port)
                )
        except (OSError, TimeoutError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise PortUnavailableError(f"cannot open {self.endpoint}: {reason}") from None
        self._transport, self._protocol = transport, protocol

    async def request(self, apdu: bytes) -> bytes:
        """Send one APDU and return the answer from the server wPort, resending when none comes."""
        async with self._lock:
            transport, protocol = self._check_open()
            datagram = self._datagram(apdu)
            self._drop_stale(protocol)
            protocol.refused = False
            # A ciphered APDU sent again carries an invocation counter the meter has seen: a replay.
            ciphered = apdu[0] in CIPHERED_TAGS
            for attempt in range(1 if ciphered else self._max_retries + 1):
                if attempt:
                    self.retries += 1
                    _LOGGER.debug("No answer from %s: sending the request again", self.endpoint)
                transport.sendto(datagram)
                answer = await self._answer(protocol)
                if answer is not None:
                    return answer
            if ciphered:
                raise MeterNotRespondingError(
                    f"no answer from {self.endpoint} in {self._response_timeout} s"
                    " (a ciphered request is not sent again: the meter would refuse it as a replay)"
                )
            raise MeterNotRespondingError(
                f"no answer from {self.endpoint} in {self._max_retries + 1} tries"
                f" of {self._response_timeout} s"
            )

    async def send(self, apdu: bytes) -> None:
        """Send one APDU that gets no answer."""
        async with self._lock:
            transport, _ = self._check_open()
            transport.sendto(self._datagram(apdu))

    async def close(self) -> None:
        """Close the socket; never raises."""
        transport, self._transport, self._protocol = self._transport, None, None
        if transport is not None:
            transport.close()

    # -- internals --

    def _datagram(self, apdu: bytes) -> bytes:
        datagram = WrapperPdu(self._client_wport, self._server_wport, apdu).encode()
        if len(datagram) > MAX_UDP_PAYLOAD:
            raise EncodeError(f"a wrapper PDU of {len(datagram)} bytes does not fit one UDP datagram")
        return datagram

    def _check_open(self) -> tuple[asyncio.DatagramTransport, _Datagrams]:
        if self._transport is None or self._protocol is None or self._protocol.closed:
            raise ConnectionLostError(f"the socket to {self.endpoint} is not open")
        return self._transport, self._protocol

    def _drop_stale(self, protocol: _Datagrams) -> None:
        while not protocol.queue.empty():
            if protocol.queue.get_nowait():
                self.pdus_ignored += 1

    async def _answer(self, protocol: _Datagrams) -> bytes | None:
        """The APDU of the first datagram from the server wPort within the timeout; None without one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._response_timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(remaining):
                    datagram = await protocol.queue.get()
            except TimeoutError:
                return None
            if protocol.closed:
                raise ConnectionLostError(f"the socket to {self.endpoint} closed")
            if protocol.refused and not datagram:
                protocol.refused = False
                raise MeterNotRespondingError(f"nothing listens at {self.endpoint} (port unreachable)")
            try:
                pdu = decode_wrapper_pdu(datagram)
            except FrameError as err:
                self.datagrams_invalid += 1
                _LOGGER.debug("Ignoring a datagram from %s: %s", self.endpoint, err)
                continue
            if pdu.source == self._server_wport and pdu.destination == self._client_wport:
                return pdu.apdu
            self.pdus_ignored += 1
        return None
