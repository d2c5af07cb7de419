"""A meter's pushes published to an MQTT broker, as HAN and P1 readers publish them.

The stack depends on no MQTT library: this is the least of MQTT 3.1.1 (OASIS, 2014) a reader needs, a
CONNECT (clean session, no keep-alive, optional user name and password), QoS 0 PUBLISHes and a
DISCONNECT, over asyncio. Each telegram goes out in one message, or one message per frame
(``per_frame``), as the meter's bytes or as hex text (what some readers publish instead).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ..errors import DlmsError, PortUnavailableError
from .push import PushBuilder

_LOGGER = logging.getLogger(__name__)

CONNECT: Final = 0x10
CONNACK: Final = 0x20
PUBLISH: Final = 0x30
DISCONNECT: Final = 0xE0
PROTOCOL_LEVEL: Final = 4  # MQTT 3.1.1
CLEAN_SESSION: Final = 0x02
USER_NAME_FLAG: Final = 0x80
PASSWORD_FLAG: Final = 0x40
MAX_REMAINING_LENGTH: Final = 268_435_455
CONNECT_TIMEOUT: Final = 10.0

_REFUSALS: Final = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}


class MqttPayload(StrEnum):
    """How the published messages carry the meter's bytes."""

    RAW = "raw"
    HEX = "hex"


def remaining_length(length: int) -> bytes:
    """MQTT's variable-length integer (1 to 4 bytes, 7 bits each, least significant first)."""
    if not 0 <= length <= MAX_REMAINING_LENGTH:
        raise ValueError(f"an MQTT packet cannot carry {length} bytes")
    encoded = bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(encoded)


def _text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 0xFFFF:
        raise ValueError("an MQTT string is at most 65535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + remaining_length(len(body)) + body


def connect_packet(client_id: str, username: str | None = None, password: str | None = None) -> bytes:
    """CONNECT: clean session, keep-alive off (the broker never times the publisher out)."""
    flags = CLEAN_SESSION
    payload = _text(client_id)
    if username is not None:
        flags |= USER_NAME_FLAG
        payload += _text(username)
        if password is not None:
            flags |= PASSWORD_FLAG
            payload += _text(password)
    header = _text("MQTT") + bytes([PROTOCOL_LEVEL, flags]) + (0).to_bytes(2, "big")
    return _packet(CONNECT, header + payload)


def publish_packet(topic: str, payload: bytes, *, retain: bool = False) -> bytes:
    """PUBLISH at QoS 0 (no packet identifier, nothing comes back)."""
    return _packet(PUBLISH | (0x01 if retain else 0), _text(topic) + payload)


class MqttPublisher:
    """A connection to a broker that publishes at QoS 0; the password is never logged."""

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        client_id: str = "dlms-cosem-simulator",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._connect = connect_packet(client_id, username, password)
        self._writer: asyncio.StreamWriter | None = None
        self.published = 0

    async def connect(self) -> None:
        """Connect and wait for the broker's CONNACK; PortUnavailableError when it refuses or is away."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(self._connect)
                await writer.drain()
                answer = await reader.readexactly(4)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
            raise PortUnavailableError(
                f"cannot connect to the MQTT broker {self.host}:{self.port}: {err}"
            ) from None
        if answer[:2] != bytes([CONNACK, 2]) or answer[3] != 0:
            writer.close()
            reason = _REFUSALS.get(answer[3], f"answer {answer.hex()}")
            raise PortUnavailableError(f"the MQTT broker refused the connection: {reason}")
        self._writer = writer

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish one message (connect first)."""
        if self._writer is None:
            raise PortUnavailableError("not connected to the MQTT broker")
        self._writer.write(publish_packet(topic, payload, retain=retain))
        await self._writer.drain()
        self.published += 1

    async def close(self) -> None:
        """Say DISCONNECT (so the broker publishes no will) and close."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.write(_packet(DISCONNECT, b""))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except OSError:
            pass

    async def __aenter__(self) -> MqttPublisher:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@dataclass(frozen=True, slots=True)
class MqttPushSettings:
    """Where and how the pushes are published."""

    topic: str = "dlms_cosem/meter"
    payload: MqttPayload = MqttPayload.RAW
    per_frame: bool = False
    """One message per frame (as readers that publish what each read returned), else per telegram."""
    retain: bool = False


def telegram_messages(frames: list[bytes], settings: MqttPushSettings) -> list[bytes]:
    """The messages one telegram goes out in."""
    parts = frames if settings.per_frame else [b"".join(frames)]
    if settings.payload is MqttPayload.HEX:
        return [part.hex().upper().encode() for part in parts]
    return parts


async def publish_pushes(
    builder: PushBuilder, publisher: MqttPublisher, settings: MqttPushSettings, interval: float
) -> None:
    """Publish the meter's next telegram every ``interval`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            frames = builder.frames()
        except DlmsError as err:
            _LOGGER.warning("Cannot build a push telegram: %s", err)
            continue
        for message in telegram_messages(frames, settings):
            await publisher.publish(settings.topic, message, retain=settings.retain)
