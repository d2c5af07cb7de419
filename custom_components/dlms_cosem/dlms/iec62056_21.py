r"""IEC 62056-21 mode E opening for optical probes: from the 300 baud sign-on to HDLC (sans-I/O).

An optical port starts in IEC 62056-21 at 300 baud, 7 data bits, even parity. The client sends the
request message ``/?<device address>!CR LF``; the meter answers with its identification
``/XXXZ<identification>CR LF``: XXX is the manufacturer's flag (a lower-case third letter means it
answers within 20 ms), Z the highest baud rate it offers (``0``-``6`` for 300-19200 baud as in mode C;
``A``-``F`` are the mode B rates), and the identification may carry escape sequences ``\W`` with an
enhanced identification character W; ``\2`` says binary mode (HDLC, mode E) is available. The client
then acknowledges with ``ACK 2 Z 2 CR LF`` (protocol control 2 = HDLC protocol procedure, Z the
baud rate, mode control 2 = binary mode), after which both sides switch to Z's baud rate with 8 data
bits, no parity, and HDLC follows.

:class:`ModeEOpening` returns the things to do as actions (:class:`Send`, :class:`SetLine`,
:class:`Wait`) which the asyncio adapter carries out; it never sleeps or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MeterNotRespondingError, ProtocolError

SIGN_ON_BAUDRATE = 300
SIGN_ON_BYTESIZE = 7
SIGN_ON_PARITY = "E"
HDLC_BYTESIZE = 8
HDLC_PARITY = "N"

ACK = 0x06
PROTOCOL_CONTROL_HDLC = "2"
"""Protocol control character V: 2 = HDLC protocol procedure (mode E)."""
MODE_CONTROL_BINARY = "2"
"""Mode control character Y: 2 = binary mode (HDLC)."""
ENHANCED_ID_HDLC = "2"
"""Enhanced identification character (``\\2``): binary mode (HDLC) is available."""

BAUDRATE_CHARACTERS = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
    "A": 600,
    "B": 1200,
    "C": 2400,
    "D": 4800,
    "E": 9600,
    "F": 19200,
}
"""Baud rate identification: digits as in modes C and E, letters as in mode B (7-9, G-I reserved)."""

_MODE_C_CHARACTERS = {rate: char for char, rate in BAUDRATE_CHARACTERS.items() if char.isdigit()}
_MAX_IDENTIFICATION_LINE = 64
_SEVEN_BITS = bytes(byte & 0x7F for byte in range(256))
_MAX_DEVICE_ADDRESS = 32


def sign_on_message(device_address: str = "") -> bytes:
    """The request message ``/?address!CR LF``; ValueError for an address the standard does not allow."""
    if (
        not (device_address.isascii() and device_address.isprintable())
        or len(device_address) > _MAX_DEVICE_ADDRESS
    ):
        raise ValueError("the IEC 62056-21 device address is up to 32 printable ASCII characters")
    if any(char in device_address for char in "/!?"):
        raise ValueError("the IEC 62056-21 device address cannot contain '/', '!' or '?'")
    return f"/?{device_address}!\r\n".encode("ascii")


def sign_on_actions(sign_on: bytes) -> list[OpeningAction]:
    """Switch to 300 baud 7E1 and send the sign-on: how every session with an optical port begins."""
    return [SetLine(SIGN_ON_BAUDRATE, SIGN_ON_BYTESIZE, SIGN_ON_PARITY), Send(sign_on)]


def without_parity(data: bytes) -> bytes:
    """The 7-bit characters, should a bridge leave the parity bit in (8N1 bridges of a 7E1 line)."""
    return bytes(data).translate(_SEVEN_BITS)


"""Bytes between '/' and CR LF beyond which a candidate line is noise (the standard allows ~20)."""
_BITS_PER_CHARACTER_7E1 = 10
"""Start bit, 7 data bits, parity, stop bit."""


@dataclass(frozen=True, slots=True)
class Send:
    """Write these bytes to the port."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SetLine:
    """Change the port's line settings (baud rate, data bits, parity ``N``/``E``, stop bits)."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: int = 1


@dataclass(frozen=True, slots=True)
class Wait:
    """Pause before the next action (the reaction time, or until the port sent what is queued)."""

    seconds: float


type OpeningAction = Send | SetLine | Wait


@dataclass(frozen=True, slots=True)
class Identification:
    """The meter's identification message."""

    manufacturer: str
    baudrate_character: str
    identification: str
    """Everything after Z, escape sequences included."""
    enhanced: tuple[str, ...]
    """The enhanced identification characters (the W of each ``\\W``)."""

    @property
    def baudrate(self) -> int | None:
        """The highest baud rate the meter offers, None for a reserved character."""
        return BAUDRATE_CHARACTERS.get(self.baudrate_character)

    @property
    def supports_hdlc(self) -> bool:
        r"""True when the meter announces binary mode (``\2``): mode E."""
        return ENHANCED_ID_HDLC in self.enhanced

    @property
    def fast_reaction(self) -> bool:
        """True when the manufacturer's third letter is lower case: the meter reacts within 20 ms."""
        return self.manufacturer[2].islower()

    @classmethod
    def parse(cls, line: bytes) -> Identification:
        """Parse ``/XXXZ<identification>`` (CR LF already removed); ProtocolError when it is not one."""
        text = bytes(byte & 0x7F for byte in line).decode("ascii")
        if not text.startswith("/") or len(text) < 6:
            raise ProtocolError("IEC 62056-21 identification too short")
        manufacturer, character, rest = text[1:4], text[4], text[5:]
        if not (manufacturer.isascii() and manufacturer.isalpha()):
            raise ProtocolError("IEC 62056-21 identification without a manufacturer's flag")
        if not (character.isascii() and character.isalnum()):
            raise ProtocolError("IEC 62056-21 identification without a baud rate character")
        if not rest.isprintable():
            raise ProtocolError("IEC 62056-21 identification with control characters")
        enhanced = []
        index = rest.find("\\")
        while 0 <= index < len(rest) - 1:
            enhanced.append(rest[index + 1])
            index = rest.find("\\", index + 2)
        return cls(manufacturer, character, rest, tuple(enhanced))


class ModeEOpening:
    r"""The client side of the mode E opening, as actions for the adapter.

    ``start()`` gives the sign-on; feed what the port delivers to ``receive()``, which returns the
    acknowledgement and the switch to HDLC once the identification is in (``done`` is then True).
    When no identification comes within the adapter's timeout, ``on_timeout()`` repeats the sign-on,
    up to ``max_retries`` times, then raises MeterNotRespondingError. ``max_baudrate`` caps the rate
    asked for; ``require_hdlc`` refuses meters that do not announce ``\2`` (some do mode E
    anyway: set it False for them). ``reaction_time`` is the pause before the acknowledgement and
    after the switch (the standard's minimum reaction time is 200 ms).
    """

    def __init__(
        self,
        *,
        device_address: str = "",
        max_baudrate: int | None = None,
        require_hdlc: bool = True,
        reaction_time: float = 0.2,
        max_retries: int = 2,
    ) -> None:
        self._sign_on = sign_on_message(device_address)
        self._max_baudrate = max_baudrate
        self._require_hdlc = require_hdlc
        self._reaction_time = reaction_time
        self.max_retries = max_retries
        self._retries = 0
        self._buffer = bytearray()
        self._identification: Identification | None = None
        self._baudrate: int | None = None

    @property
    def done(self) -> bool:
        """True once the switch to HDLC has been returned."""
        return self._baudrate is not None

    @property
    def identification(self) -> Identification | None:
        """The meter's identification, once received."""
        return self._identification

    @property
    def baudrate(self) -> int | None:
        """The baud rate HDLC runs at, once chosen."""
        return self._baudrate

    @property
    def sign_on(self) -> bytes:
        """The request message."""
        return self._sign_on

    def start(self) -> list[OpeningAction]:
        """Switch to 300 baud 7E1 and send the sign-on."""
        self._buffer.clear()
        return sign_on_actions(self._sign_on)

    def on_timeout(self) -> list[OpeningAction]:
        """No identification in time: sign on again, or give up."""
        if self.done:
            return []
        if self._retries >= self.max_retries:
            raise MeterNotRespondingError("no IEC 62056-21 identification from the optical port")
        self._retries += 1
        self._buffer.clear()
        return [Send(self.sign_on)]

    def receive(self, data: bytes) -> list[OpeningAction]:
        """Take bytes from the port; once the identification is complete, return the switch to HDLC."""
        if self.done:
            return []
        self._buffer += without_parity(data)
        while True:
            start = self._buffer.find(b"/")
            if start < 0:
                self._buffer.clear()
                return []
            del self._buffer[:start]
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_IDENTIFICATION_LINE:
                    del self._buffer[:1]  # noise that happened to contain '/': look further
                    continue
                return []
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            try:
                identification = Identification.parse(line)
            except ProtocolError:
                continue  # an echo of our own sign-on, or noise
            return self._acknowledge(identification)

    def _acknowledge(self, identification: Identification) -> list[OpeningAction]:
        self._identification = identification
        offered = identification.baudrate
        if offered is None:
            raise ProtocolError(
                f"meter offers reserved baud rate character {identification.baudrate_character!r}"
            )
        if self._require_hdlc and not identification.supports_hdlc:
            raise ProtocolError("the meter does not announce HDLC mode E (no \\2 in its identification)")
        character = identification.baudrate_character
        baudrate = offered
        if self._max_baudrate is not None and offered > self._max_baudrate:
            allowed = [rate for rate in _MODE_C_CHARACTERS if rate <= self._max_baudrate]
            baudrate = max(allowed, default=SIGN_ON_BAUDRATE)
            character = _MODE_C_CHARACTERS[baudrate]
        acknowledgement = bytes(
            [ACK]
        ) + f"{PROTOCOL_CONTROL_HDLC}{character}{MODE_CONTROL_BINARY}\r\n".encode("ascii")
        self._baudrate = baudrate
        transmit_time = len(acknowledgement) * _BITS_PER_CHARACTER_7E1 / SIGN_ON_BAUDRATE
        return [
            Wait(self._reaction_time),
            Send(acknowledgement),
            Wait(transmit_time),
            SetLine(baudrate, HDLC_BYTESIZE, HDLC_PARITY),
            Wait(self._reaction_time),
        ]
