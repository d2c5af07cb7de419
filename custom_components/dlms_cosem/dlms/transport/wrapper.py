"""``WrapperTransport``: APDUs to one logical device over TCP with the IEC 62056-47 wrapper.

TCP is reliable, so there are no link retries: a request that gets no answer within
``response_timeout`` is MeterNotRespondingError, and the connection is closed then, because an
answer arriving later would otherwise be taken for the answer to the next request. PDUs for other
wPorts (other clients or logical devices behind the same gateway) are ignored.
"""

from __future__ import annotations

import asyncio

from ..errors import ConnectionLostError, MeterNotRespondingError
from ..wrapper import (
    MAX_APDU_LENGTH,
    WPORT_CLIENT_PUBLIC,
    WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE,
    WrapperFramer,
    WrapperPdu,
)
from .shared import SharedPort
from .streams import DEFAULT_OPEN_TIMEOUT, Endpoint

DEFAULT_RESPONSE_TIMEOUT = 10.0


class WrapperTransport:
    """Carries APDUs between a client wPort and a server wPort over one TCP connection."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        client_wport: int = WPORT_CLIENT_PUBLIC,
        server_wport: int = WPORT_SERVER_MANAGEMENT_LOGICAL_DEVICE,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        max_apdu_length: int = MAX_APDU_LENGTH,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
    ) -> None:
        self._port = SharedPort(endpoint, open_timeout=open_timeout)
        self._client_wport = client_wport
        self._server_wport = server_wport
        self._response_timeout = response_timeout
        self._framer = WrapperFramer(max_apdu_length)
        self._attached = False
        self.pdus_ignored = 0
        """PDUs that were for other wPorts."""

    def __repr__(self) -> str:
        return f"WrapperTransport({self._port.endpoint}, wPorts {self._client_wport}->{self._server_wport})"

    @property
    def is_open(self) -> bool:
        """True while the connection is open."""
        return self._attached and self._port.is_open

    async def open(self) -> None:
        """Connect (PortUnavailableError when refused or unreachable)."""
        if self.is_open:
            return
        await self._release()
        await self._port.attach()
        self._attached = True
        self._framer.reset()

    async def request(self, apdu: bytes) -> bytes:
        """Send one APDU and return the answer from the server wPort."""
        async with self._port.lock:
            self._check_open()
            pdu = self._pdu(apdu)
            try:
                await self._port.write(pdu)
                return await self._answer()
            except BaseException:
                # Lost, silent or cancelled half way: a late answer must not be taken for the next one.
                await self._release()
                raise

    async def send(self, apdu: bytes) -> None:
        """Send one APDU that gets no answer."""
        async with self._port.lock:
            self._check_open()
            try:
                await self._port.write(self._pdu(apdu))
            except ConnectionLostError:
                await self._release()
                raise

    async def close(self) -> None:
        """Close the connection; never raises."""
        await self._release()

    # -- internals --

    def _pdu(self, apdu: bytes) -> bytes:
        return WrapperPdu(self._client_wport, self._server_wport, apdu).encode()

    def _check_open(self) -> None:
        if not self.is_open:
            raise ConnectionLostError(f"the connection to {self._port.endpoint} is not open")

    async def _answer(self) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._response_timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise MeterNotRespondingError(
                    f"no answer from {self._port.endpoint} in {self._response_timeout} s"
                )
            data = await self._port.read(remaining)
            for pdu in self._framer.feed(data):
                if pdu.source == self._server_wport and pdu.destination == self._client_wport:
                    return pdu.apdu
                self.pdus_ignored += 1

    async def _release(self) -> None:
        self._framer.reset()
        if self._attached:
            self._attached = False
            await self._port.detach()
