"""Notification bodies that are almost A-XDR Data: the forms real meters send, read by structure.

A Data-Notification's body is one Data value. Some meters send something close to it that is not
Data, and the whole telegram would be lost over it:

- **Untagged attribute descriptors** (Sagemcom XT211 in the Czech Republic): each value is paired
  with the A-XDR encoding of its ``Cosem-Attribute-Descriptor`` — class id (2 bytes), logical name
  (6) and attribute id (1), without Data tags, as in a GET request — as the first member of a
  two-member structure. Each becomes the ``(class_id, logical_name, attribute_index)`` structure of a
  capture object definition, so the push layer reads it like any other.
- **An OBIS octet-string with tag and length swapped** (``06 09`` instead of ``09 06``; a Landis+Gyr
  ZMF100 firmware): as the first member of a structure, followed by six bytes that are a plausible
  logical name and then a Data tag, it is read as the octet-string it means.

The body is always read as Data first; only a body that breaks the Data encoding (not one cut
short: more bytes may be on their way) is read again with these forms allowed, and if that fails
too, the first error is what is reported. Bytes that end before a form can be told apart, but fit
it as far as they go, are truncated, so a cut body never passes for a whole one read the other way.
"""

from __future__ import annotations

from ..axdr import MAX_NESTING_DEPTH, Data, DataTag, decode_data
from ..errors import DecodeError, NestingTooDeepError, TruncatedError
from ..reader import ByteReader
from .common import CosemAttributeDescriptor

_ATTRIBUTE_DESCRIPTOR_LENGTH = 9
"""class-id (2 bytes), instance-id (6), attribute-id (1)."""
_OBIS_LENGTH = 6
_DATA_TAGS = frozenset(int(tag) for tag in DataTag)
_MAX_ATTRIBUTE_ID = 0x7F
_MAX_MEDIUM = 0x0F
"""OBIS value group A (the medium) runs 0..15."""
_MAX_CLASS_ID = 0xFF
"""Interface classes are numbered below 256."""


def read_notification_body(reader: ByteReader) -> Data:
    """The body: Data, or else Data with the near-Data forms above."""
    start = reader.position
    try:
        return decode_data(reader)
    except TruncatedError:
        raise
    except DecodeError as err:
        reader.seek(start)
        try:
            return _read_lenient(reader)
        except DecodeError:
            raise err from None


def _fits(head: bytes, length: int, checks: tuple[tuple[int, bool], ...]) -> bool:
    """Whether ``head`` fits a form of ``length`` bytes; raises TruncatedError when it is cut inside.

    ``checks`` are (index, whether the byte there fits); indexes past the bytes that arrived pass.
    """
    fits = all(ok for index, ok in checks if index < len(head))
    if fits and len(head) < length:
        raise TruncatedError("truncated notification body")
    return fits


def _at_attribute_descriptor(reader: ByteReader) -> bool:
    """The next bytes are an untagged attribute descriptor followed by a tagged value."""
    head = reader.peek(min(reader.remaining, _ATTRIBUTE_DESCRIPTOR_LENGTH + 1), "attribute descriptor")
    padded = head + bytes(_ATTRIBUTE_DESCRIPTOR_LENGTH + 1 - len(head))
    class_id = int.from_bytes(padded[0:2], "big")
    return _fits(
        head,
        _ATTRIBUTE_DESCRIPTOR_LENGTH + 1,
        (
            (0, padded[0] == 0 and (len(head) < 2 or 0 < class_id <= _MAX_CLASS_ID)),
            (2, padded[2] <= _MAX_MEDIUM),
            (8, 0 < padded[8] <= _MAX_ATTRIBUTE_ID),
            (9, padded[9] in _DATA_TAGS),
        ),
    )


def _at_swapped_obis_header(reader: ByteReader) -> bool:
    """The next bytes are ``06 09``, a logical name and a Data tag: an OBIS octet-string's header swapped."""
    length = 2 + _OBIS_LENGTH + 1
    head = reader.peek(min(reader.remaining, length), "octet-string")
    padded = head + bytes(length - len(head))
    return _fits(
        head,
        length,
        (
            (0, padded[0] == _OBIS_LENGTH),
            (1, padded[1] == DataTag.OCTET_STRING),
            (2, padded[2] <= _MAX_MEDIUM),
            (length - 1, padded[length - 1] in _DATA_TAGS),
        ),
    )


def _read_lenient(reader: ByteReader, depth: int = 0) -> Data:
    if depth > MAX_NESTING_DEPTH:
        raise NestingTooDeepError(f"data nests deeper than {MAX_NESTING_DEPTH} levels")
    tag = reader.peek_u8("data tag")
    if tag not in (DataTag.ARRAY, DataTag.STRUCTURE):
        return decode_data(reader, depth)
    reader.u8("data tag")
    count = reader.count()
    items: list[Data] = []
    for index in range(count):
        opens_structure = tag == DataTag.STRUCTURE and index == 0
        if opens_structure and count == 2 and _at_attribute_descriptor(reader):
            descriptor = CosemAttributeDescriptor.read(reader)
            items.append(
                Data.structure(
                    Data.long_unsigned(descriptor.class_id),
                    Data.octet_string(descriptor.instance_id.to_bytes()),
                    Data.integer(descriptor.attribute_id),
                )
            )
        elif opens_structure and count in (2, 3) and _at_swapped_obis_header(reader):
            reader.take(2, "octet-string header")
            items.append(Data.octet_string(reader.take(_OBIS_LENGTH, "logical name")))
        else:
            items.append(_read_lenient(reader, depth + 1))
    return Data.array(*items) if tag == DataTag.ARRAY else Data.structure(*items)
