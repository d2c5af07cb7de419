"""Unsolicited APDUs: Data-Notification (push) and Event-Notification-Request.

Push telegrams from P1/HAN ports and push setups are Data-Notifications. Their ``date-time`` is an
A-XDR octet-string: ``00`` when the meter sends none, ``0C`` and 12 bytes of COSEM date-time normally.
Some meters (Kaifa in Norway) send it as a tagged ``Data`` value instead: ``09 0C`` and 12 bytes (or
``09 00``), or a ``date-time`` (``19`` and 12 bytes). Read as a plain octet-string, that tag would be
taken for a length of 9 or 25 and the whole body would be misread, so the tagged forms are recognised
by their structure and re-encoded as they came. Other lengths or invalid contents are kept as unparsed
bytes instead of failing the whole telegram, since the body (the readings) is what matters. A weekday
outside 1..7 does not discard the timestamp (see :func:`~..cosem_datetime.parse_meter_date_time`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..axdr import Data, DataTag, decode_data, encode_data
from ..cosem_datetime import DATE_TIME_LENGTH, CosemDateTime, parse_meter_date_time
from ..errors import DecodeError, EncodeError, TruncatedError
from ..reader import ByteReader
from .common import (
    CosemAttributeDescriptor,
    LongInvokeIdAndPriority,
    encode_octet_string,
    finish,
    read_octet_string,
    read_optional_flag,
)
from .notification_body import read_notification_body
from .tags import ApduTag


def _parse_date_time(raw: bytes) -> tuple[CosemDateTime | None, bytes | None]:
    """The date-time, or ``(None, raw)`` when the octet-string is not a valid 12-byte date-time."""
    parsed = parse_meter_date_time(raw)
    return (parsed, None) if parsed is not None else (None, raw)


_EMPTY_OCTET_STRING = bytes([DataTag.OCTET_STRING, 0])
_DATE_TIME_OCTET_STRING = bytes([DataTag.OCTET_STRING, DATE_TIME_LENGTH])
_DATE_TIME_TAG = bytes([DataTag.DATE_TIME])


def _read_tagged_date_time(reader: ByteReader) -> tuple[DataTag, bytes, CosemDateTime | None] | None:
    """The tag, bytes and value of a date-time sent as a tagged Data value; None (nothing read) otherwise.

    Only the forms whose contents are empty or parse as a date-time count: a 9-byte octet-string
    that happens to start with ``0C`` and a valid date-time is not a thing meters send. The value
    parsed to tell is returned, so it is not parsed again.
    """
    head = reader.peek(min(reader.remaining, 2 + DATE_TIME_LENGTH), "date-time")
    if head[:2] == _EMPTY_OCTET_STRING:
        reader.take(2)
        return DataTag.OCTET_STRING, b"", None
    if head[:2] == _DATE_TIME_OCTET_STRING:
        raw = head[2:]
    elif head[:1] == _DATE_TIME_TAG:
        raw = head[1 : 1 + DATE_TIME_LENGTH]
    else:
        return None
    if len(raw) < DATE_TIME_LENGTH:
        # Too few bytes to tell the forms apart: read as the A-XDR form, a cut tagged header could
        # pass for a whole APDU (and a bare APDU has no outer length to say it is not).
        raise TruncatedError("truncated date-time")
    parsed = parse_meter_date_time(raw)
    if parsed is None:
        return None
    tag = DataTag(head[0])
    reader.take(len(raw) + (2 if tag == DataTag.OCTET_STRING else 1))
    return tag, raw, parsed


def _date_time_bytes(value: CosemDateTime | None, unparsed: bytes | None) -> bytes:
    if value is not None and unparsed is not None:
        raise EncodeError("give either a date-time or its unparsed bytes, not both")
    if value is not None:
        return value.to_bytes()
    return b"" if unparsed is None else unparsed


def _encode_date_time(raw: bytes, tag: DataTag | None) -> bytes:
    if tag is None:
        return encode_octet_string(raw)
    if tag == DataTag.DATE_TIME:
        return bytes([tag]) + raw
    return bytes([tag]) + encode_octet_string(raw)


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
    date_time_tag: DataTag | None = None
    """The Data tag the date-time came with (``09 0C ...`` or ``19 ...``); None for the A-XDR form."""

    TAG: ClassVar[ApduTag] = ApduTag.DATA_NOTIFICATION

    def __post_init__(self) -> None:
        if type(self.date_time) is CosemDateTime and self.unparsed_date_time is None:
            pass  # encodes to 12 bytes: nothing to check, and no need to encode it to find out
        else:
            raw = _date_time_bytes(self.date_time, self.unparsed_date_time)
            if self.date_time_tag == DataTag.DATE_TIME and len(raw) != DATE_TIME_LENGTH:
                raise EncodeError("a date-time sent with the date-time tag must be 12 bytes")
        if self.date_time_tag not in (None, DataTag.DATE_TIME, DataTag.OCTET_STRING):
            raise EncodeError("the date-time can only be tagged as an octet-string or a date-time")

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
            + _encode_date_time(date_time, self.date_time_tag)
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
        tagged = _read_tagged_date_time(reader)
        if tagged is None:
            tag, date_time = None, read_octet_string(reader, "date-time")
            parsed, unparsed = _parse_date_time(date_time) if date_time else (None, None)
        else:
            tag, date_time, parsed = tagged
            unparsed = None if parsed is not None or not date_time else date_time
        body = read_notification_body(reader)
        return cls(body, parsed, invoke, unparsed, tag)


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
