"""Fields shared by several xDLMS APDUs: invoke ids, COSEM descriptors and small A-XDR helpers.

Kept apart from the service modules so GET, SET, ACTION and event notification describe an attribute
or a method the same way, and so every A-XDR ``OPTIONAL``/``BOOLEAN``/``OCTET STRING`` field is read with
the same bounds checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from ..errors import DecodeError, EncodeError
from ..obis import ObisCode
from ..reader import ByteReader, encode_length

_INVOKE_ID_MASK = 0x0F
_SERVICE_CLASS_CONFIRMED = 0x40
_PRIORITY_HIGH = 0x80

_LONG_INVOKE_ID_MASK = 0x00FF_FFFF
_LONG_SELF_DESCRIPTIVE = 1 << 28
_LONG_BREAK_ON_ERROR = 1 << 29
_LONG_CONFIRMED = 1 << 30
_LONG_PRIORITY_HIGH = 1 << 31


def check_range(value: int, low: int, high: int, what: str) -> None:
    """Raise :class:`EncodeError` when ``value`` does not fit the field it is encoded into."""
    if not low <= value <= high:
        raise EncodeError(f"{what} {value} outside {low}..{high}")


def read_optional_flag(reader: ByteReader, what: str) -> bool:
    """An A-XDR ``OPTIONAL``/``DEFAULT`` presence byte: 0x00 absent, 0x01 present."""
    flag = reader.u8(f"{what} presence flag")
    if flag > 1:
        raise DecodeError(f"{what} presence flag must be 0 or 1, got 0x{flag:02X}")
    return flag == 1


def read_boolean(reader: ByteReader, what: str) -> bool:
    """An A-XDR ``BOOLEAN``: zero is false, anything else true (X.690 leniency)."""
    return reader.u8(what) != 0


def read_octet_string(reader: ByteReader, what: str) -> bytes:
    """An A-XDR ``OCTET STRING`` with a BER-style length."""
    return reader.take(reader.length(f"{what} length"), what)


def encode_octet_string(value: bytes) -> bytes:
    """An A-XDR ``OCTET STRING``: BER-style length and the bytes."""
    return encode_length(len(value)) + value


def finish(reader: ByteReader, what: str) -> None:
    """Raise when an APDU has bytes after its last field."""
    reader.expect_end(what)


@dataclass(frozen=True, slots=True)
class InvokeIdAndPriority:
    """``Invoke-Id-And-Priority``: the byte that pairs a confirmed request with its response.

    Bits 0-3 invoke id, bit 6 service class (1 = confirmed), bit 7 priority (1 = high). The default,
    ``C1``, is what meters are usually asked with.
    """

    invoke_id: int = 1
    confirmed: bool = True
    high_priority: bool = True

    def __post_init__(self) -> None:
        check_range(self.invoke_id, 0, _INVOKE_ID_MASK, "invoke id")

    def to_byte(self) -> int:
        """The encoded byte."""
        return (
            self.invoke_id
            | (_SERVICE_CLASS_CONFIRMED if self.confirmed else 0)
            | (_PRIORITY_HIGH if self.high_priority else 0)
        )

    @classmethod
    def from_byte(cls, value: int) -> Self:
        """The fields of an encoded byte; the reserved bits 4-5 are ignored."""
        return cls(
            invoke_id=value & _INVOKE_ID_MASK,
            confirmed=bool(value & _SERVICE_CLASS_CONFIRMED),
            high_priority=bool(value & _PRIORITY_HIGH),
        )

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read the byte from an APDU."""
        return cls.from_byte(reader.u8("invoke-id-and-priority"))


@dataclass(frozen=True, slots=True)
class LongInvokeIdAndPriority:
    """``Long-Invoke-Id-And-Priority`` (Data-Notification, ACCESS): a 24-bit id and four flags."""

    invoke_id: int = 0
    self_descriptive: bool = False
    break_on_error: bool = False
    confirmed: bool = False
    high_priority: bool = False

    def __post_init__(self) -> None:
        check_range(self.invoke_id, 0, _LONG_INVOKE_ID_MASK, "long invoke id")

    def to_int(self) -> int:
        """The encoded 32-bit value."""
        return (
            self.invoke_id
            | (_LONG_SELF_DESCRIPTIVE if self.self_descriptive else 0)
            | (_LONG_BREAK_ON_ERROR if self.break_on_error else 0)
            | (_LONG_CONFIRMED if self.confirmed else 0)
            | (_LONG_PRIORITY_HIGH if self.high_priority else 0)
        )

    @classmethod
    def from_int(cls, value: int) -> Self:
        """The fields of an encoded value; the reserved bits 24-27 are ignored."""
        return cls(
            invoke_id=value & _LONG_INVOKE_ID_MASK,
            self_descriptive=bool(value & _LONG_SELF_DESCRIPTIVE),
            break_on_error=bool(value & _LONG_BREAK_ON_ERROR),
            confirmed=bool(value & _LONG_CONFIRMED),
            high_priority=bool(value & _LONG_PRIORITY_HIGH),
        )

    def encode(self) -> bytes:
        """The four bytes on the wire."""
        return self.to_int().to_bytes(4, "big")

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read the four bytes from an APDU."""
        return cls.from_int(reader.u32("long-invoke-id-and-priority"))


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptor:
    """``Cosem-Attribute-Descriptor``: which attribute of which object (logical name referencing)."""

    class_id: int
    instance_id: ObisCode
    attribute_id: int

    def __post_init__(self) -> None:
        check_range(self.class_id, 0, 0xFFFF, "class id")
        check_range(self.attribute_id, -128, 127, "attribute id")

    def encode(self) -> bytes:
        """Class id (2 bytes), logical name (6 bytes), attribute id (signed byte)."""
        return (
            self.class_id.to_bytes(2, "big")
            + self.instance_id.to_bytes()
            + self.attribute_id.to_bytes(1, "big", signed=True)
        )

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read the nine bytes from an APDU."""
        class_id = reader.u16("class id")
        instance_id = ObisCode.from_bytes(reader.take(6, "instance id"))
        return cls(class_id, instance_id, reader.sint(1, "attribute id"))


@dataclass(frozen=True, slots=True)
class CosemMethodDescriptor:
    """``Cosem-Method-Descriptor``: which method of which object ACTION invokes."""

    class_id: int
    instance_id: ObisCode
    method_id: int

    def __post_init__(self) -> None:
        check_range(self.class_id, 0, 0xFFFF, "class id")
        check_range(self.method_id, -128, 127, "method id")

    def encode(self) -> bytes:
        """Class id (2 bytes), logical name (6 bytes), method id (signed byte)."""
        return (
            self.class_id.to_bytes(2, "big")
            + self.instance_id.to_bytes()
            + self.method_id.to_bytes(1, "big", signed=True)
        )

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read the nine bytes from an APDU."""
        class_id = reader.u16("class id")
        instance_id = ObisCode.from_bytes(reader.take(6, "instance id"))
        return cls(class_id, instance_id, reader.sint(1, "method id"))


def service_header(tag: IntEnum, choice: int, invoke: InvokeIdAndPriority) -> bytes:
    """The three bytes that open a GET/SET/ACTION APDU: tag, CHOICE, invoke-id-and-priority."""
    return bytes([tag, choice, invoke.to_byte()])


def open_service_apdu(raw: bytes, tag: IntEnum) -> tuple[ByteReader, int, InvokeIdAndPriority]:
    """Check the tag of a GET/SET/ACTION APDU and read its CHOICE and invoke-id-and-priority."""
    reader = ByteReader(raw)
    found = reader.u8("tag")
    if found != tag:
        raise DecodeError(f"expected {tag.name} tag 0x{int(tag):02X}, got 0x{found:02X}")
    choice = reader.u8(f"{tag.name} choice")
    return reader, choice, InvokeIdAndPriority.read(reader)


def expect_type[T](cls: type[T], value: object) -> T:
    """``value`` if it is a ``cls``: a whole APDU decoded as one CHOICE must be that CHOICE."""
    if not isinstance(value, cls):
        raise DecodeError(f"expected {cls.__name__}, got {type(value).__name__}")
    return value
