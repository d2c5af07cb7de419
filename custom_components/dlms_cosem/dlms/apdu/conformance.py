"""The xDLMS conformance block: which services client and server propose and agree on.

The block is a 24-bit ``BIT STRING`` where bit 0 is the most significant bit of the first byte, so the
flag for bit ``n`` has the value ``1 << (23 - n)`` and ``int(conformance).to_bytes(3, "big")`` is exactly
what goes on the wire after the ``[APPLICATION 31]`` header ``5F 1F 04 00``.
"""

from __future__ import annotations

from enum import IntFlag

from ..errors import DecodeError, EncodeError
from ..reader import ByteReader

_BITS = 24
#: ``[APPLICATION 31]`` IMPLICIT BIT STRING: two-byte tag, length 4, then zero unused bits.
CONFORMANCE_TAG = b"\x5f\x1f"


def _bit(number: int) -> int:
    return 1 << (_BITS - 1 - number)


class Conformance(IntFlag):
    """Conformance block bits (Green Book, xDLMS conformance), named as in the standard."""

    RESERVED_ZERO = _bit(0)
    GENERAL_PROTECTION = _bit(1)
    GENERAL_BLOCK_TRANSFER = _bit(2)
    READ = _bit(3)
    WRITE = _bit(4)
    UNCONFIRMED_WRITE = _bit(5)
    DELTA_VALUE_ENCODING = _bit(6)
    RESERVED_SEVEN = _bit(7)
    ATTRIBUTE0_SUPPORTED_WITH_SET = _bit(8)
    PRIORITY_MGMT_SUPPORTED = _bit(9)
    ATTRIBUTE0_SUPPORTED_WITH_GET = _bit(10)
    BLOCK_TRANSFER_WITH_GET_OR_READ = _bit(11)
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = _bit(12)
    BLOCK_TRANSFER_WITH_ACTION = _bit(13)
    MULTIPLE_REFERENCES = _bit(14)
    INFORMATION_REPORT = _bit(15)
    DATA_NOTIFICATION = _bit(16)
    ACCESS = _bit(17)
    PARAMETERIZED_ACCESS = _bit(18)
    GET = _bit(19)
    SET = _bit(20)
    SELECTIVE_ACCESS = _bit(21)
    EVENT_NOTIFICATION = _bit(22)
    ACTION = _bit(23)

    @classmethod
    def from_bit_numbers(cls, *numbers: int) -> Conformance:
        """The block with the given standard bit numbers (0..23) set, as tables in the standard list them."""
        value = cls(0)
        for number in numbers:
            if not 0 <= number < _BITS:
                raise EncodeError(f"conformance bit {number} outside 0..23")
            value |= cls(_bit(number))
        return value

    def bit_numbers(self) -> tuple[int, ...]:
        """The standard bit numbers that are set, lowest first."""
        return tuple(n for n in range(_BITS) if int(self) & _bit(n))

    def block_bytes(self) -> bytes:
        """The three bytes of the bit string (without the BER header)."""
        return int(self).to_bytes(3, "big")

    @classmethod
    def from_block_bytes(cls, raw: bytes) -> Conformance:
        """The block from its three bit-string bytes."""
        if len(raw) != 3:
            raise DecodeError(f"conformance block must be 3 bytes, got {len(raw)}")
        return cls(int.from_bytes(raw, "big"))


#: What a client reading a meter with logical name referencing usually proposes (Green Book examples:
#: ``00 7E 1F``): priority management, attribute 0 with GET, block transfer with GET/SET/ACTION, multiple
#: references, GET, SET, selective access, event notification, ACTION.
DEFAULT_CLIENT_CONFORMANCE = Conformance.from_block_bytes(bytes.fromhex("007e1f"))


def encode_conformance(conformance: Conformance) -> bytes:
    """The BER encoding of the block: ``5F 1F 04 00`` and three bytes."""
    return CONFORMANCE_TAG + b"\x04\x00" + conformance.block_bytes()


def decode_conformance(reader: ByteReader) -> Conformance:
    """Read a BER-encoded conformance block (tag, length 4, unused-bits byte, three bytes)."""
    tag = reader.take(2, "conformance tag")
    if tag != CONFORMANCE_TAG:
        raise DecodeError(f"expected conformance tag 5F1F, got {tag.hex().upper()}")
    length = reader.length("conformance length")
    if length != 4:
        raise DecodeError(f"conformance block length must be 4, got {length}")
    unused = reader.u8("conformance unused bits")
    if unused > 7:
        raise DecodeError(f"conformance unused-bits count {unused} is not below 8")
    return Conformance.from_block_bytes(reader.take(3, "conformance block"))


#: What a client reading a meter with short name referencing proposes: read, write, unconfirmed-write,
#: block transfer with read and write, multiple references, information report and parameterized access.
DEFAULT_SN_CLIENT_CONFORMANCE = (
    Conformance.READ
    | Conformance.WRITE
    | Conformance.UNCONFIRMED_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.INFORMATION_REPORT
    | Conformance.PARAMETERIZED_ACCESS
)
