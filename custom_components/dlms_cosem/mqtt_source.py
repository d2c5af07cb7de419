"""MQTT as a pushing meter's line: the bytes a reader publishes to a topic, as a stream.

A reader publishes the meter's bytes to a topic, Home Assistant's MQTT integration delivers them, and
they become a byte stream like a serial port's. Readers (ESP-based HAN and P1 readers, amshan-style
bridges, serial-to-MQTT bridges) publish what the meter sends: HDLC or M-Bus frames, wrapper PDUs, bare
APDUs, P1 / DSMR or Smarty text telegrams, one telegram or one frame per message, or any piece of one.
Some publish the same bytes as hex text. Each message's bytes are fed to an
:class:`asyncio.StreamReader`, so the push listener, its framing detection, the replay guard, the
plausibility guard and the update limit work on them exactly as on a serial port or a TCP bridge.

**Payload encoding.** ``raw`` takes a payload as it is; ``hex`` reads it as hex digits (whitespace
ignored); ``auto`` (the default) decides per message, by structure: a payload of only hex digits and
whitespace, with an even count of digits, is hex text. No telegram's first byte is a hex digit (HDLC
starts with ``~``, M-Bus with ``h``, the wrapper with a zero byte, P1 with ``/``), so a whole raw
telegram is never taken for hex. A short piece of a raw telegram could be (``ABCD`` and a line end,
the check sum of a P1 telegram split after its ``!``): after a raw message, a hex-looking one shorter
than :data:`SHORT_HEX_DIGITS` digits is taken as raw too.

Home Assistant's MQTT integration keeps the subscription across broker reconnects, so the stream stays
open while the broker is away; the telegram timeout makes the sensors unavailable if nothing comes.
The integration is imported only once it is set up (it is an after-dependency: it is then loaded
before this integration), so a setup without MQTT never loads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .const import CONF_PAYLOAD, CONF_TOPIC, LOGGER
from .dlms.errors import PortUnavailableError

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

    from .connection import StreamOpener

MQTT_DOMAIN: Final = "mqtt"

MAX_TOPIC_BYTES: Final = 65535
SHORT_HEX_DIGITS: Final = 16
"""Below this many hex digits, a hex-looking message that follows a raw one is a piece of a raw one."""

_HEX_DIGITS: Final = b"0123456789abcdefABCDEF"
_WHITESPACE: Final = b" \t\r\n\v\f"


class PayloadEncoding(StrEnum):
    """How a reader encodes the meter's bytes in its messages."""

    AUTO = "auto"
    RAW = "raw"
    HEX = "hex"


def payload_encoding(data: Mapping[str, Any]) -> PayloadEncoding:
    """The entry's payload encoding; auto when it has none."""
    try:
        return PayloadEncoding(data.get(CONF_PAYLOAD, PayloadEncoding.AUTO))
    except ValueError:
        return PayloadEncoding.AUTO


def topic_place(data: Mapping[str, Any]) -> str:
    """Where the meter is listened to, as messages and unique IDs name it: ``mqtt <topic>``."""
    return f"mqtt {data[CONF_TOPIC]}"


def valid_topic(topic: str) -> bool:
    """Whether a subscription can be made to ``topic`` (MQTT 3.1.1, 4.7: wildcards fill whole levels)."""
    if not topic or "\0" in topic or len(topic.encode()) > MAX_TOPIC_BYTES:
        return False
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def hex_digits(payload: bytes) -> bytes | None:
    """The payload's hex digits without whitespace when it is hex text (an even count), else None."""
    if payload.translate(None, _HEX_DIGITS + _WHITESPACE):
        return None  # another byte than a hex digit or whitespace
    digits = payload.translate(None, _WHITESPACE)
    return digits if digits and len(digits) % 2 == 0 else None


@dataclass(slots=True)
class PayloadDecoder:
    """A topic's messages to the meter's bytes (see the module docstring); counts what it saw."""

    encoding: PayloadEncoding = PayloadEncoding.AUTO
    messages: int = 0
    hex_messages: int = 0
    dropped: int = 0
    """Messages that were not hex text although the encoding is hex."""
    _last_raw: bool = False

    def decode(self, message: bytes | bytearray | str) -> bytes:
        """The bytes a message carries (empty when it carries none the meter sent)."""
        # A subscription without an encoding delivers bytes; text comes from one with an encoding.
        payload = message.encode() if isinstance(message, str) else bytes(message)
        self.messages += 1
        if self.encoding is PayloadEncoding.RAW:
            return payload
        digits = hex_digits(payload)
        if self.encoding is PayloadEncoding.HEX:
            if digits is None:
                self.dropped += 1
                return b""
        elif digits is None or (self._last_raw and len(digits) < SHORT_HEX_DIGITS):
            if payload.strip():  # whitespace alone says nothing of the encoding
                self._last_raw = True
            return payload
        self._last_raw = False
        self.hex_messages += 1
        return bytes.fromhex(digits.decode("ascii"))


class TopicTransport(asyncio.Transport):
    """The read end of a topic subscription: closing it unsubscribes and ends the stream."""

    def __init__(self, protocol: asyncio.StreamReaderProtocol, topic: str, decoder: PayloadDecoder) -> None:
        super().__init__({"topic": topic})
        self._protocol = protocol
        self._unsubscribe: Callable[[], None] | None = None
        self._closing = False
        self.decoder = decoder

    def subscribed(self, unsubscribe: Callable[[], None]) -> None:
        """The subscription is made: closing the transport ends it."""
        if self._closing:
            unsubscribe()
        else:
            self._unsubscribe = unsubscribe

    @callback
    def message_received(self, message: ReceiveMessage) -> None:
        """A message on the topic: its bytes go to the stream."""
        if self._closing:
            return
        data = self.decoder.decode(message.payload)
        if data:
            self._protocol.data_received(data)

    @override
    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    @override
    def is_closing(self) -> bool:
        return self._closing

    @override
    def abort(self) -> None:
        self.close()

    @override
    def pause_reading(self) -> None:
        """A topic cannot be paused: the stream buffers (the listener reads it at once anyway)."""

    @override
    def resume_reading(self) -> None:
        """See :meth:`pause_reading`."""

    @override
    def is_reading(self) -> bool:
        return not self._closing

    @override
    def write(self, data: bytes | bytearray | memoryview[Any]) -> None:
        raise OSError("an MQTT topic is only read")

    @override
    def can_write_eof(self) -> bool:
        return False


def mqtt_configured(hass: HomeAssistant) -> bool:
    """Whether Home Assistant's MQTT integration has an entry that is turned on."""
    return hass.config_entries.async_has_entries(MQTT_DOMAIN, include_disabled=False, include_ignore=False)


async def async_mqtt_ready(hass: HomeAssistant) -> bool:
    """Whether the MQTT integration is set up (waiting while it sets up); False when it is not there."""
    if not mqtt_configured(hass):
        return False
    from homeassistant.components import mqtt  # noqa: PLC0415 - loaded with its entry (after-dependency)

    return await mqtt.async_wait_for_mqtt_client(hass)


def topic_stream_opener(hass: HomeAssistant, data: Mapping[str, Any]) -> StreamOpener:
    """Opens a stream of the bytes a reader publishes to the entry's topic (each call a new one)."""
    topic = str(data[CONF_TOPIC])
    encoding = payload_encoding(data)

    async def open_topic() -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        if not await async_mqtt_ready(hass):
            raise PortUnavailableError(f"cannot subscribe to {topic}: the MQTT integration is not set up")
        from homeassistant.components import mqtt  # noqa: PLC0415 - loaded with its entry

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport = TopicTransport(protocol, topic, PayloadDecoder(encoding))
        protocol.connection_made(transport)
        try:
            unsubscribe = await mqtt.async_subscribe(hass, topic, transport.message_received, encoding=None)
        except HomeAssistantError as err:
            transport.close()
            raise PortUnavailableError(f"cannot subscribe to {topic}: {err}") from None
        transport.subscribed(unsubscribe)
        LOGGER.debug("Subscribed to %s (payload %s)", topic, encoding.value)
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    return open_topic
