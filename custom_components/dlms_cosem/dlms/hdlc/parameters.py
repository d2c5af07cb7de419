"""HDLC parameter negotiation carried in SNRM and UA information fields (IEC 62056-46 / Green Book).

Layout::

    81 (format identifier) | 80 (group identifier) | group length |
        05 len max-info-field-length-transmit | 06 len max-info-field-length-receive |
        07 len window-size-transmit | 08 len window-size-receive

Each value is an unsigned big-endian integer of 1, 2 or 4 bytes. A parameter that is absent keeps its
default (128-byte information fields, window size 1), and so does an empty information field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..errors import DecodeError, EncodeError, FrameError
from ..reader import ByteReader

FORMAT_IDENTIFIER = 0x81
GROUP_IDENTIFIER = 0x80
DEFAULT_MAX_INFO_LENGTH = 128
DEFAULT_WINDOW_SIZE = 1
MAX_PARAMETER_VALUE = 0xFFFFFFFF


class HdlcParameterId(IntEnum):
    """Parameter identifiers of the HDLC parameter negotiation group."""

    MAX_INFO_FIELD_LENGTH_TRANSMIT = 0x05
    MAX_INFO_FIELD_LENGTH_RECEIVE = 0x06
    WINDOW_SIZE_TRANSMIT = 0x07
    WINDOW_SIZE_RECEIVE = 0x08


_MAX_INFO_TX = HdlcParameterId.MAX_INFO_FIELD_LENGTH_TRANSMIT
_MAX_INFO_RX = HdlcParameterId.MAX_INFO_FIELD_LENGTH_RECEIVE


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """Negotiated link parameters, each as seen by the station that sends them."""

    max_info_transmit: int = DEFAULT_MAX_INFO_LENGTH
    max_info_receive: int = DEFAULT_MAX_INFO_LENGTH
    window_transmit: int = DEFAULT_WINDOW_SIZE
    window_receive: int = DEFAULT_WINDOW_SIZE

    def __post_init__(self) -> None:
        values = (self.max_info_transmit, self.max_info_receive, self.window_transmit, self.window_receive)
        for value in values:
            if not 0 <= value <= MAX_PARAMETER_VALUE:
                raise EncodeError(f"HDLC parameter {value} does not fit 4 bytes")

    def encode(self) -> bytes:
        """The information field: all four parameters, lengths in 1 or 2 bytes, windows in 4.

        The window sizes go in 4 bytes as in the Green Book examples and common clients; meters read
        any of the allowed widths.
        """
        group = (
            _parameter(_MAX_INFO_TX, self.max_info_transmit)
            + _parameter(_MAX_INFO_RX, self.max_info_receive)
            + _parameter(HdlcParameterId.WINDOW_SIZE_TRANSMIT, self.window_transmit, width=4)
            + _parameter(HdlcParameterId.WINDOW_SIZE_RECEIVE, self.window_receive, width=4)
        )
        return bytes([FORMAT_IDENTIFIER, GROUP_IDENTIFIER, len(group)]) + group

    @classmethod
    def decode(cls, information: bytes) -> HdlcParameters:
        """Read the parameters of an SNRM or UA information field; unknown parameters are skipped."""
        if not information:
            return cls()
        values: dict[HdlcParameterId, int] = {}
        try:
            reader = ByteReader(information)
            if reader.u8("format identifier") != FORMAT_IDENTIFIER:
                raise FrameError("HDLC parameters do not start with format identifier 0x81")
            if reader.u8("group identifier") != GROUP_IDENTIFIER:
                raise FrameError("HDLC parameters do not carry group identifier 0x80")
            group_length = reader.u8("group length")
            group = ByteReader(reader.take(group_length, "HDLC parameter group"))
            if not reader.at_end:
                raise FrameError(f"{reader.remaining} bytes after the HDLC parameter group")
            while not group.at_end:
                identifier = group.u8("parameter identifier")
                size = group.u8("parameter length")
                if not 1 <= size <= 4:
                    raise FrameError(f"HDLC parameter 0x{identifier:02X} has length {size}")
                value = group.uint(size, "parameter value")
                if identifier in HdlcParameterId:
                    values[HdlcParameterId(identifier)] = value
        except FrameError:
            raise
        except DecodeError as exc:
            raise FrameError(f"malformed HDLC parameters: {exc}") from exc
        return cls(
            max_info_transmit=values.get(_MAX_INFO_TX, DEFAULT_MAX_INFO_LENGTH),
            max_info_receive=values.get(_MAX_INFO_RX, DEFAULT_MAX_INFO_LENGTH),
            window_transmit=values.get(HdlcParameterId.WINDOW_SIZE_TRANSMIT, DEFAULT_WINDOW_SIZE),
            window_receive=values.get(HdlcParameterId.WINDOW_SIZE_RECEIVE, DEFAULT_WINDOW_SIZE),
        )


def _parameter(identifier: HdlcParameterId, value: int, width: int | None = None) -> bytes:
    if width is None:
        width = 1 if value <= 0xFF else 2 if value <= 0xFFFF else 4
    return bytes([identifier, width]) + value.to_bytes(width, "big")
