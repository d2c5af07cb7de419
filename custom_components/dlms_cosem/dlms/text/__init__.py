"""IEC 62056-21 text telegrams: P1 telegrams (DSMR, Smarty, e-MUCS) and optical data readouts.

Sans-I/O like the binary codecs: :class:`TextFramer` cuts telegrams out of a byte stream,
:func:`decode_text_telegram` checks one (CRC16 or BCC) and parses its data sets, and the values
become the same :class:`~..push.PushObject` values binary telegrams give (:mod:`.values`), so a
:class:`~..telegram.Telegram` built from text is used exactly like one built from a Data-Notification.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cosem_datetime import CosemDateTime
from ..push import PushContent, PushLayout, PushObject
from .framer import MAX_TEXT_TELEGRAM_BYTES, TextFramer
from .frames import (
    START_CHARACTER,
    STX,
    TextFrame,
    TextKind,
    block_check,
    crc16,
    decode_text_frame,
    encode_p1_telegram,
    encode_readout,
)
from .lines import DEFAULT_MEDIUM, DataSet, parse_data_block, parse_id_code
from .values import data_set_objects, readout_clock

__all__ = [
    "MAX_TEXT_TELEGRAM_BYTES",
    "DataSet",
    "TextFrame",
    "TextFramer",
    "TextKind",
    "TextTelegram",
    "block_check",
    "crc16",
    "decode_text_frame",
    "decode_text_telegram",
    "encode_p1_telegram",
    "encode_readout",
    "is_text_telegram",
    "parse_data_block",
    "parse_id_code",
]


@dataclass(frozen=True, slots=True)
class TextTelegram:
    """A decoded text telegram: its frame, its data sets as written, and their values as objects."""

    frame: TextFrame
    data_sets: tuple[DataSet, ...]
    objects: tuple[PushObject, ...]

    @property
    def content(self) -> PushContent:
        """The objects as a push telegram's content (layout ``text``)."""
        return PushContent(PushLayout.TEXT, self.objects)

    @property
    def clock(self) -> CosemDateTime | None:
        """The meter's time: the clock object (P1 0-0:1.0.0), else a readout's date and time."""
        return self.content.clock() or readout_clock(self.objects)


def is_text_telegram(data: bytes | bytearray) -> bool:
    """True when ``data`` opens like a text telegram (``/`` or ``STX``).

    This is how a deciphered plaintext that is no APDU (the Luxembourg Smarty's P1 telegram) is told
    apart: no APDU tag is 0x2F or 0x02.
    """
    return bool(data) and data[0] in (START_CHARACTER, STX)


def decode_text_telegram(
    raw: bytes | bytearray | memoryview, default_medium: int = DEFAULT_MEDIUM
) -> TextTelegram:
    """Decode one whole text telegram; a DecodeError (FrameError for a checksum) when it is not one."""
    frame = decode_text_frame(raw)
    data_sets = parse_data_block(frame.data, default_medium)
    return TextTelegram(frame, data_sets, data_set_objects(data_sets))
