r"""IEC 62056-21 data readout of an optical port (modes A, B and C), sans-I/O: a meter without HDLC.

The client signs on at 300 baud, 7 data bits, even parity (``/?<device address>!`` CR LF) and the
meter answers with its identification ``/XXXZ<identification>`` (:class:`~..iec62056_21.Identification`).
Its baud rate character Z says which protocol mode follows:

- **mode C** (Z a digit ``0``-``6``): the client acknowledges with ``ACK 0 Z 0`` CR LF (protocol
  control 0 = normal procedure, mode control 0 = data readout), both switch to Z's baud rate, and the
  meter sends its data message;
- **mode B** (Z a letter ``A``-``I``): the meter switches to Z's baud rate by itself and sends;
- **mode A** (any other Z): the meter sends its data message at 300 baud straight away.

The data message is ``STX`` data block ``!`` CR LF ``ETX`` BCC (:mod:`.frames`); it is decoded with the
identification as one text telegram, its BCC checked. :class:`DataReadout` returns what to do as the
actions of :mod:`..iec62056_21` (:class:`Send`, :class:`SetLine`, :class:`Wait`), which the asyncio
adapter (:func:`..transport.readout.read_out`) carries out; it never sleeps or reads a clock.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import DecodeError, MeterNotRespondingError, ProtocolError
from ..iec62056_21 import (
    ACK,
    BAUDRATE_CHARACTERS,
    SIGN_ON_BAUDRATE,
    SIGN_ON_BYTESIZE,
    SIGN_ON_PARITY,
    Identification,
    OpeningAction,
    Send,
    SetLine,
    Wait,
    sign_on_actions,
    sign_on_message,
    without_parity,
)
from . import TextTelegram, decode_text_telegram
from .framer import MAX_TEXT_TELEGRAM_BYTES
from .frames import ETX, MAX_IDENTIFICATION_LENGTH, STX

PROTOCOL_CONTROL_NORMAL = "0"
"""Protocol control character V: 0 = normal protocol procedure (no programming mode)."""
MODE_CONTROL_DATA_READOUT = "0"
"""Mode control character Y: 0 = data readout."""
READOUT_BYTESIZE = SIGN_ON_BYTESIZE
READOUT_PARITY = SIGN_ON_PARITY
"""A readout stays 7E1 after the baud rate switch (only mode E goes to 8N1)."""
_BITS_PER_CHARACTER_7E1 = 10


class ReadoutMode(StrEnum):
    """The IEC 62056-21 protocol mode the meter's identification announced."""

    A = "A"
    B = "B"
    C = "C"


def readout_mode(identification: Identification) -> ReadoutMode:
    """Mode C for a digit baud rate character, mode B for a letter A-I, else mode A."""
    character = identification.baudrate_character
    if character.isdigit():
        return ReadoutMode.C
    if "A" <= character <= "I":
        return ReadoutMode.B
    return ReadoutMode.A


def _identification(line: bytes) -> Identification | None:
    """The identification ``/XXXZ...``, None when the line is none.

    A mode A meter may write any printable Z (a Kamstrup heat meter sends ``/KAM MC``), which the
    mode E parser refuses: such a line is still an identification, of a mode A meter.
    """
    try:
        return Identification.parse(line)
    except (ProtocolError, UnicodeError):
        pass
    text = line.decode("ascii", "replace")
    if len(text) < 5 or not text[1:4].isalpha() or not text[1:].isprintable() or "?" in text:
        return None
    return Identification(text[1:4], text[4], text[5:], ())


class DataReadout:
    """The client side of a data readout, as actions for the adapter (see the module docstring).

    ``start()`` gives the sign-on; feed what the port delivers to ``receive()``. Once the data message
    is in, ``telegram`` holds it decoded (``done`` is True). When nothing comes within the adapter's
    timeout, ``on_timeout()`` signs on again, up to ``max_retries`` times, then raises
    MeterNotRespondingError. ``max_baudrate`` caps the mode C baud rate asked for; ``reaction_time``
    is the pause before the acknowledgement and after the switch (the standard's minimum is 200 ms).
    """

    def __init__(
        self,
        *,
        device_address: str = "",
        max_baudrate: int | None = None,
        reaction_time: float = 0.2,
        max_retries: int = 2,
        max_size: int = MAX_TEXT_TELEGRAM_BYTES,
    ) -> None:
        self._sign_on = sign_on_message(device_address)
        self._max_baudrate = max_baudrate
        self._reaction_time = reaction_time
        self.max_retries = max_retries
        self._max_size = max_size
        self._retries = 0
        self._buffer = bytearray()
        self._identification_line: bytes | None = None
        self.identification: Identification | None = None
        self.mode: ReadoutMode | None = None
        self.baudrate: int = SIGN_ON_BAUDRATE
        self.telegram: TextTelegram | None = None

    @property
    def done(self) -> bool:
        """True once the data message has been read."""
        return self.telegram is not None

    @property
    def sign_on(self) -> bytes:
        """The request message."""
        return self._sign_on

    def start(self) -> list[OpeningAction]:
        """Switch to 300 baud 7E1 and send the sign-on."""
        self._buffer.clear()
        return sign_on_actions(self._sign_on)

    def on_timeout(self) -> list[OpeningAction]:
        """Nothing (more) came in time: sign on again from 300 baud, or give up."""
        if self.done:
            return []
        if self._retries >= self.max_retries:
            what = "identification" if self.identification is None else "data message"
            raise MeterNotRespondingError(f"no IEC 62056-21 {what} from the optical port")
        self._retries += 1
        self._identification_line = None
        self.identification = None
        self.mode = None
        self.baudrate = SIGN_ON_BAUDRATE
        return self.start()

    def receive(self, data: bytes) -> list[OpeningAction]:
        """Take bytes from the port; what to do next.

        Once the identification is in: the acknowledgement and switch (mode C) or the switch (mode B).
        Nothing more once the data message is (a damaged one raises its DecodeError).
        """
        if self.done:
            return []
        self._buffer += without_parity(data)
        if self._identification_line is None:
            return self._take_identification()
        self._take_data_message()
        return []

    def _take_identification(self) -> list[OpeningAction]:
        buffer = self._buffer
        while True:
            start = buffer.find(b"/")
            if start < 0:
                buffer.clear()
                return []
            del buffer[:start]
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_IDENTIFICATION_LENGTH:
                    del buffer[:1]  # noise that happened to contain '/': look further
                    continue
                return []
            line = bytes(buffer[:end])
            identification = _identification(line)
            if identification is None:
                del buffer[:1]  # an echo of our own sign-on, or noise
                continue
            del buffer[: end + 2]
            self._identification_line = line + b"\r\n"
            self.identification = identification
            return self._after_identification(identification)

    def _after_identification(self, identification: Identification) -> list[OpeningAction]:
        self.mode = readout_mode(identification)
        offered = identification.baudrate
        if self.mode is ReadoutMode.A or offered is None:
            self._take_data_message()  # mode A: the data message may have come with it
            return []
        if self.mode is ReadoutMode.B:
            self.baudrate = offered
            self._buffer.clear()  # what came at 300 baud after the identification is not the message
            return [SetLine(offered, READOUT_BYTESIZE, READOUT_PARITY)]
        character = identification.baudrate_character
        if self._max_baudrate is not None and offered > self._max_baudrate:
            allowed = {rate: char for char, rate in BAUDRATE_CHARACTERS.items() if char.isdigit()}
            offered = max((rate for rate in allowed if rate <= self._max_baudrate), default=SIGN_ON_BAUDRATE)
            character = allowed[offered]
        acknowledgement = bytes([ACK]) + (
            f"{PROTOCOL_CONTROL_NORMAL}{character}{MODE_CONTROL_DATA_READOUT}\r\n".encode("ascii")
        )
        self.baudrate = offered
        self._buffer.clear()
        transmit_time = len(acknowledgement) * _BITS_PER_CHARACTER_7E1 / SIGN_ON_BAUDRATE
        return [
            Wait(self._reaction_time),
            Send(acknowledgement),
            Wait(transmit_time),
            SetLine(offered, READOUT_BYTESIZE, READOUT_PARITY),
        ]

    def _take_data_message(self) -> None:
        """Decode the data message once its ETX and BCC are in; a damaged one is a DecodeError."""
        buffer = self._buffer
        start = buffer.find(bytes((STX,)))
        if start < 0:
            if len(buffer) > self._max_size:
                raise DecodeError("no data message from the meter, only bytes that are none")
            return
        del buffer[:start]
        end = buffer.find(bytes((ETX,)))
        if end < 0 or end + 1 >= len(buffer):
            if len(buffer) > self._max_size:
                raise DecodeError(f"readout larger than {self._max_size} bytes: dropped")
            return
        assert self._identification_line is not None
        message = bytes(buffer[: end + 2])
        del buffer[: end + 2]
        self.telegram = decode_text_telegram(self._identification_line + message)
