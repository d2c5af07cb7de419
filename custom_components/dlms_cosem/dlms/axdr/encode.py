"""A-XDR encoding: :class:`~.model.Data` to bytes, every value checked against its type."""

from __future__ import annotations

import struct

from ..errors import EncodeError
from ..reader import encode_length
from .compact import (
    COMPACT_ARRAY_VALUE_ALLOWANCE,
    COMPACT_ARRAY_VALUES_PER_BYTE,
    encode_description,
    takes_no_bytes,
)
from .model import (
    CALENDAR_TYPES,
    FLOAT_FORMATS,
    INTEGER_FORMATS,
    MAX_NESTING_DEPTH,
    TAGS,
    VISIBLE_STRING_CODEC,
    BitString,
    CompactArray,
    Data,
    DataTag,
    TypeDescription,
)


def _expect_int(tag: DataTag, value: object) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise EncodeError(f"{tag.name} needs an int, got {type(value).__name__}")
    return value


def _encode_value(tag: DataTag, value: object, out: bytearray, depth: int) -> None:
    """Append the contents (no tag) of a value of type ``tag``."""
    integer = INTEGER_FORMATS.get(tag)
    if integer is not None:
        size, signed = integer
        number = _expect_int(tag, value)
        try:
            out += number.to_bytes(size, "big", signed=signed)
        except OverflowError:
            raise EncodeError(f"{number} does not fit {tag.name}") from None
        return
    match tag:
        case DataTag.NULL_DATA | DataTag.DONT_CARE:
            if value is not None:
                raise EncodeError(f"{tag.name} has no value, got {type(value).__name__}")
        case DataTag.BOOLEAN:
            if not isinstance(value, bool):
                raise EncodeError(f"boolean needs a bool, got {type(value).__name__}")
            out.append(1 if value else 0)
        case DataTag.FLOAT32 | DataTag.FLOAT64:
            if type(value) is bool or not isinstance(value, int | float):
                raise EncodeError(f"{tag.name} needs a float, got {type(value).__name__}")
            try:
                out += FLOAT_FORMATS[tag].pack(value)
            except (OverflowError, struct.error):
                raise EncodeError(f"{value!r} does not fit {tag.name}") from None
        case DataTag.OCTET_STRING:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise EncodeError(f"octet-string needs bytes, got {type(value).__name__}")
            raw = bytes(value)
            out += encode_length(len(raw)) + raw
        case DataTag.VISIBLE_STRING | DataTag.UTF8_STRING:
            if not isinstance(value, str):
                raise EncodeError(f"{tag.name} needs a str, got {type(value).__name__}")
            codec = VISIBLE_STRING_CODEC if tag is DataTag.VISIBLE_STRING else "utf-8"
            try:
                raw = value.encode(codec)
            except UnicodeEncodeError:
                raise EncodeError(f"text cannot be encoded as {tag.name}") from None
            out += encode_length(len(raw)) + raw
        case DataTag.BIT_STRING:
            if not isinstance(value, BitString):
                raise EncodeError(f"bit-string needs a BitString, got {type(value).__name__}")
            out += encode_length(value.length) + value.data
        case DataTag.DATE_TIME | DataTag.DATE | DataTag.TIME:
            kind = CALENDAR_TYPES[tag][1]
            if not isinstance(value, kind):
                raise EncodeError(f"{tag.name} needs a {kind.__name__}, got {type(value).__name__}")
            out += value.to_bytes()
        case DataTag.ARRAY | DataTag.STRUCTURE:
            if not isinstance(value, tuple | list):
                raise EncodeError(f"{tag.name} needs a tuple of Data, got {type(value).__name__}")
            out += encode_length(len(value))
            for item in value:
                _encode(item, out, depth + 1)
        case DataTag.COMPACT_ARRAY:
            if not isinstance(value, CompactArray):
                raise EncodeError(f"compact-array needs a CompactArray, got {type(value).__name__}")
            _encode_compact_array(value, out, depth)


def _encode(data: object, out: bytearray, depth: int) -> None:
    if depth > MAX_NESTING_DEPTH:
        raise EncodeError(f"data nests deeper than {MAX_NESTING_DEPTH} levels")
    if not isinstance(data, Data):
        raise EncodeError(f"expected Data, got {type(data).__name__}")
    tag = TAGS.get(data.tag) if isinstance(data.tag, int) else None
    if tag is None:
        raise EncodeError(f"unknown data tag {data.tag!r}")
    out.append(tag)
    _encode_value(tag, data.value, out, depth)


def encode_data(data: Data) -> bytes:
    """The A-XDR encoding of a value (tag and contents)."""
    out = bytearray()
    _encode(data, out, 0)
    return bytes(out)


def _encode_compact_element(data: object, description: TypeDescription, out: bytearray) -> int:
    """Append one element's untagged contents; returns how many values it holds (as the decoder counts)."""
    if not isinstance(data, Data):
        raise EncodeError(f"expected Data, got {type(data).__name__}")
    if data.tag != description.tag:
        raise EncodeError(
            f"compact-array element is {data.tag!r}, the description says {description.tag.name}"
        )
    if description.tag is DataTag.ARRAY or description.tag is DataTag.STRUCTURE:
        items = data.value
        if not isinstance(items, tuple | list):
            raise EncodeError(f"{description.tag.name} needs a tuple of Data, got {type(items).__name__}")
        members = (
            (description.elements[0],) * description.count
            if description.tag is DataTag.ARRAY
            else description.elements
        )
        if len(items) != len(members):
            raise EncodeError(
                f"compact-array element has {len(items)} members, the description says {len(members)}"
            )
        return 1 + sum(
            _encode_compact_element(item, member, out) for item, member in zip(items, members, strict=True)
        )
    _encode_value(description.tag, data.value, out, MAX_NESTING_DEPTH)
    return 1


def _encode_compact_array(value: CompactArray, out: bytearray, depth: int) -> None:
    encode_description(value.description, out, depth + 1)
    if not isinstance(value.elements, tuple | list):
        raise EncodeError(f"compact-array elements must be a tuple, got {type(value.elements).__name__}")
    if value.elements and takes_no_bytes(value.description):
        raise EncodeError("compact-array elements of this type take no bytes, so their number cannot be sent")
    contents = bytearray()
    values = sum(_encode_compact_element(element, value.description, contents) for element in value.elements)
    if values > COMPACT_ARRAY_VALUES_PER_BYTE * len(contents) + COMPACT_ARRAY_VALUE_ALLOWANCE:
        raise EncodeError("compact-array holds far more values than bytes; the decoder would refuse it")
    out += encode_length(len(contents)) + contents
