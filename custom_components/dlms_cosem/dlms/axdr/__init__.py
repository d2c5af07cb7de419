"""A-XDR ``Data``: every COSEM data type (IEC 62056-5-3, Blue Book 4.1.5), encoded and decoded.

Each value is a tag byte followed by contents: fixed-size big-endian numbers, length-prefixed strings,
count-prefixed arrays and structures, and fixed 12/5/4-byte date-time/date/time. A compact-array sends
one type description followed by the elements without their tags, which is how load profiles keep
their size down.

Hostile input is bounded: every read goes through :class:`ByteReader`, nesting stops at
:data:`MAX_NESTING_DEPTH`, and a compact-array may not expand into far more values than it has bytes.
"""

from .compact import COMPACT_ARRAY_VALUES_PER_BYTE
from .decode import decode_data, decode_data_bytes
from .encode import encode_data
from .model import (
    DATE_TIME_OCTET_STRING_LENGTH,
    FLOAT_TAGS,
    INTEGER_TAGS,
    MAX_NESTING_DEPTH,
    BitString,
    CompactArray,
    Data,
    DataTag,
    DataValue,
    TypeDescription,
    datetime_from_data,
)

__all__ = [
    "COMPACT_ARRAY_VALUES_PER_BYTE",
    "DATE_TIME_OCTET_STRING_LENGTH",
    "FLOAT_TAGS",
    "INTEGER_TAGS",
    "MAX_NESTING_DEPTH",
    "BitString",
    "CompactArray",
    "Data",
    "DataTag",
    "DataValue",
    "TypeDescription",
    "datetime_from_data",
    "decode_data",
    "decode_data_bytes",
    "encode_data",
]
