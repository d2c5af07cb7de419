"""Unsolicited APDUs: Data-Notification (push) and Event-Notification-Request.

Push telegrams from P1/HAN ports and push setups are Data-Notifications. Their ``date-time`` is an
octet-string: empty when the meter sends none, 12 bytes of COSEM date-time normally. Some meters put
other lengths or invalid contents there; those are kept as unparsed bytes instead of failing the
whole telegram, since the body (the readings) is what matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..axdr import Data, decode_data, encode_data
from ..cosem_datetime import CosemDateTime
from ..errors import DecodeError, EncodeError
from ..reader import ByteReader
from .common import (
    CosemAttributeDescriptor,
    LongInvokeIdAndPriority,
    encode_octet_string,
    finish,
    read_octet_string,
    read_optional_flag,
)
from .tags import ApduTag

_DATE_TIME_LENGTH = 12


def _parse_date_time(raw: bytes) -> tuple[CosemDateTime | None, bytes | None]:
    """The date-time, or ``(None, raw)`` when the octet-string is not a valid 12-byte date-time."""
    if len(raw) == _DATE_TIME_LENGTH:
        try:
            return CosemDateTime.from_bytes(raw), None
        except DecodeError:
            return None, raw
    return None, raw


def _date_time_bytes(value: CosemDateTime | None, unparsed: bytes | None) -> bytes:
    if value is not None and unparsed is not None:
        raise EncodeError("give either a date-time or its unparsed bytes, not both")
    if value is not None:
        return value.to_bytes()
    return b"" if unparsed is None else unparsed


@dataclass(frozen=True, slots=True)
class DataNotification:
    """``Data-Notification`` (tag 0x0F): a pushed value, usually a structure of readings.

    ``date_time`` is set when the meter sent 12 valid bytes; any other non-empty contents are kept in
    ``unparsed_date_time`` so the APDU still encodes back to what was received.
    """

    body: Data
    date_time: CosemDateTime | None = None
    long_invoke_id_and_priority: LongInvokeIdAndPriority = field(default_factory=LongInvokeIdAndPriority)
    unparsed_date_time: bytes | None = None

    TAG: ClassVar[ApduTag] = ApduTag.DATA_NOTIFICATION

    def __post_init__(self) -> None:
        _date_time_bytes(self.date_time, self.unparsed_date_time)

    @property
    def long_invoke_id(self) -> int:
        """The 24-bit long invoke id (a push counter on many meters)."""
        return self.long_invoke_id_and_priority.invoke_id

    def encode(self) -> bytes:
        """The APDU bytes."""
        date_time = _date_time_bytes(self.date_time, self.unparsed_date_time)
        return (
            bytes([self.TAG])
            + self.long_invoke_id_and_priority.encode()
            + encode_octet_string(date_time)
            + encode_data(self.body)
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole Data-Notification."""
        reader = ByteReader(raw)
        notification = cls.read(reader)
        finish(reader, "data-notification")
        return notification

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read one Data-Notification, leaving what follows it (bare APDUs arrive back to back)."""
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not a data-notification")
        invoke = LongInvokeIdAndPriority.read(reader)
        date_time = read_octet_string(reader, "date-time")
        body = decode_data(reader)
        parsed, unparsed = _parse_date_time(date_time) if date_time else (None, None)
        return cls(body, parsed, invoke, unparsed)


@dataclass(frozen=True, slots=True)
class EventNotificationRequest:
    """``EventNotificationRequest`` (tag 0xC2): the server reports one attribute value unasked.

    ``time`` is optional; contents that are not a valid 12-byte date-time go to ``unparsed_time``.
    """

    attribute: CosemAttributeDescriptor
    value: Data
    time: CosemDateTime | None = None
    unparsed_time: bytes | None = None

    TAG: ClassVar[ApduTag] = ApduTag.EVENT_NOTIFICATION_REQUEST

    def __post_init__(self) -> None:
        _date_time_bytes(self.time, self.unparsed_time)

    def encode(self) -> bytes:
        """The APDU bytes."""
        time = b"\x00"
        if self.time is not None or self.unparsed_time is not None:
            time = b"\x01" + encode_octet_string(_date_time_bytes(self.time, self.unparsed_time))
        return bytes([self.TAG]) + time + self.attribute.encode() + encode_data(self.value)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole Event-Notification-Request."""
        reader = ByteReader(raw)
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not an event-notification-request")
        time: CosemDateTime | None = None
        unparsed: bytes | None = None
        if read_optional_flag(reader, "time"):
            time, unparsed = _parse_date_time(read_octet_string(reader, "time"))
        attribute = CosemAttributeDescriptor.read(reader)
        value = decode_data(reader)
        finish(reader, "event-notification-request")
        return cls(attribute, value, time, unparsed)
