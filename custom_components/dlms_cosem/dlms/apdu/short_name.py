"""Short name referencing services (IEC 62056-5-3, Green Book): ReadRequest/Response, WriteRequest/Response.

A short name meter addresses every attribute by one 16-bit ``ObjectName`` (the object's base name plus
eight per attribute), so these APDUs carry no invoke id and no COSEM descriptor: a request is a list of
``Variable-Access-Specification`` and the response has one entry per element, in order. Listing several
names in one request is the short name form of multiple references.

A ReadResponse too long for the client comes as one ``data-block-result``; the client acknowledges each
block with a ReadRequest holding ``block-number-access`` (the number of the block received) and joins
the ``raw-data`` (see :func:`decode_read_results`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Final, Self

from ..axdr import Data, decode_data, encode_data
from ..errors import DecodeError, EncodeError
from ..reader import ByteReader, encode_length
from .common import check_range, encode_octet_string, finish, read_boolean, read_octet_string
from .service_errors import DataAccessResult, read_data_access_result
from .tags import ApduTag, ReadResponseType, VariableAccessSpecificationType, WriteResponseType

#: ``ObjectName`` is an Integer16 on the wire; names are kept unsigned (0xFA00, not -1536).
OBJECT_NAME_MAX = 0xFFFF
#: Variable names between the attributes of one object: attribute n is at base name + 8 (n - 1).
ATTRIBUTE_NAME_STEP = 8

#: Where each class's methods start, from the object's base name (IEC 62056-6-2, the Blue Book's "short
#: name" column of every interface class): method m is at base name + offset + 8 (m - 1). The offsets are
#: fixed per class and do not follow from the attribute count (Register: 3 attributes, reset at 0x28).
#: Classes not listed here have no methods reachable by short name in this stack.
FIRST_METHOD_OFFSETS: Final[Mapping[int, int]] = MappingProxyType(
    {
        3: 0x28,  # Register: reset
        4: 0x38,  # Extended register: reset
        5: 0x48,  # Demand register: reset, next_period
        7: 0x58,  # Profile generic: reset, capture, ...
        8: 0x60,  # Clock: adjust_to_quarter ... shift_time
        9: 0x20,  # Script table: execute
        12: 0x20,  # Association SN: ... method 8, reply_to_HLS_authentication, at 0x58
        18: 0x40,  # Image transfer: image_transfer_initiate ... image_activate
        40: 0x38,  # Push setup: push
        70: 0x20,  # Disconnect control: remote_disconnect, remote_reconnect
    }
)

_VAS = VariableAccessSpecificationType


def _check_name(name: int) -> None:
    check_range(name, 0, OBJECT_NAME_MAX, "variable name")


@dataclass(frozen=True, slots=True)
class VariableName:
    """``variable-name``: read or write the attribute at this short name."""

    name: int

    CHOICE: ClassVar[_VAS] = _VAS.VARIABLE_NAME

    def __post_init__(self) -> None:
        _check_name(self.name)

    def encode(self) -> bytes:
        """CHOICE byte and the two-byte name."""
        return bytes([self.CHOICE]) + self.name.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class ParameterizedAccess:
    """``parameterized-access``: read with a selector and its parameter (short name selective access)."""

    name: int
    selector: int
    parameter: Data

    CHOICE: ClassVar[_VAS] = _VAS.PARAMETERIZED_ACCESS

    def __post_init__(self) -> None:
        _check_name(self.name)
        check_range(self.selector, 0, 0xFF, "selector")

    def encode(self) -> bytes:
        """CHOICE byte, name, selector and the parameter as A-XDR Data."""
        return (
            bytes([self.CHOICE])
            + self.name.to_bytes(2, "big")
            + bytes([self.selector])
            + encode_data(self.parameter)
        )


@dataclass(frozen=True, slots=True)
class BlockNumberAccess:
    """``block-number-access``: acknowledge block ``block_number`` of a long ReadResponse; send the next."""

    block_number: int

    CHOICE: ClassVar[_VAS] = _VAS.BLOCK_NUMBER_ACCESS

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF, "block number")

    def encode(self) -> bytes:
        """CHOICE byte and the two-byte block number."""
        return bytes([self.CHOICE]) + self.block_number.to_bytes(2, "big")


type VariableAccessSpecification = VariableName | ParameterizedAccess | BlockNumberAccess


def read_variable_access(reader: ByteReader) -> VariableAccessSpecification:
    """One ``Variable-Access-Specification``; detailed access and client datablocks are refused."""
    choice = reader.u8("variable-access-specification choice")
    if choice == _VAS.VARIABLE_NAME:
        return VariableName(reader.u16("variable name"))
    if choice == _VAS.PARAMETERIZED_ACCESS:
        name = reader.u16("variable name")
        selector = reader.u8("selector")
        return ParameterizedAccess(name, selector, decode_data(reader))
    if choice == _VAS.BLOCK_NUMBER_ACCESS:
        return BlockNumberAccess(reader.u16("block number"))
    try:
        known = _VAS(choice).name.lower().replace("_", "-")
    except ValueError:
        raise DecodeError(f"unknown variable-access-specification choice {choice}") from None
    raise DecodeError(f"unsupported variable-access-specification {known}")


def _encode_list(items: tuple[VariableAccessSpecification, ...]) -> bytes:
    return encode_length(len(items)) + b"".join(item.encode() for item in items)


def _read_list(reader: ByteReader) -> tuple[VariableAccessSpecification, ...]:
    return tuple(read_variable_access(reader) for _ in range(reader.count("variable-access count")))


def _open(raw: bytes, tag: ApduTag) -> ByteReader:
    reader = ByteReader(raw)
    found = reader.u8("tag")
    if found != tag:
        raise DecodeError(f"expected {tag.name.lower()} tag 0x{int(tag):02X}, got 0x{found:02X}")
    return reader


# --- ReadRequest ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """``ReadRequest`` (0x05): ``SEQUENCE OF Variable-Access-Specification``."""

    specifications: tuple[VariableAccessSpecification, ...]

    TAG: ClassVar[ApduTag] = ApduTag.READ_REQUEST

    def __post_init__(self) -> None:
        if not self.specifications:
            raise EncodeError("a ReadRequest names at least one variable")

    def encode(self) -> bytes:
        """The APDU bytes."""
        return bytes([self.TAG]) + _encode_list(self.specifications)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole ReadRequest."""
        reader = _open(raw, cls.TAG)
        specifications = _read_list(reader)
        finish(reader, "read-request")
        if not specifications:
            raise DecodeError("empty read-request")
        return cls(specifications)


# --- ReadResponse --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataBlockResult:
    """``data-block-result``: one block (``Data-Block-Result``) of a ReadResponse too long for one APDU."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF, "block number")

    def encode(self) -> bytes:
        """Last-block flag, two-byte block number and the raw data as an OCTET STRING."""
        return (
            bytes([1 if self.last_block else 0])
            + self.block_number.to_bytes(2, "big")
            + encode_octet_string(self.raw_data)
        )


#: One ReadResponse entry: the value, why it could not be read, or a block of a long answer.
type ReadResult = Data | DataAccessResult | DataBlockResult


def encode_read_result(result: ReadResult) -> bytes:
    """One ReadResponse CHOICE."""
    if isinstance(result, DataAccessResult):
        return bytes([ReadResponseType.DATA_ACCESS_ERROR, result])
    if isinstance(result, DataBlockResult):
        return bytes([ReadResponseType.DATA_BLOCK_RESULT]) + result.encode()
    return bytes([ReadResponseType.DATA]) + encode_data(result)


def read_read_result(reader: ByteReader) -> ReadResult:
    """One ReadResponse CHOICE: data [0], data-access-error [1] or data-block-result [2]."""
    choice = reader.u8("read-response choice")
    if choice == ReadResponseType.DATA:
        return decode_data(reader)
    if choice == ReadResponseType.DATA_ACCESS_ERROR:
        return read_data_access_result(reader)
    if choice == ReadResponseType.DATA_BLOCK_RESULT:
        last_block = read_boolean(reader, "last-block")
        number = reader.u16("block number")
        return DataBlockResult(last_block, number, read_octet_string(reader, "raw-data"))
    if choice == ReadResponseType.BLOCK_NUMBER:
        raise DecodeError("unsupported read-response block-number (the client sends no request in blocks)")
    raise DecodeError(f"unknown read-response choice {choice}")


@dataclass(frozen=True, slots=True)
class ReadResponse:
    """``ReadResponse`` (0x0C): one result per variable of the request, in order."""

    results: tuple[ReadResult, ...]

    TAG: ClassVar[ApduTag] = ApduTag.READ_RESPONSE

    def encode(self) -> bytes:
        """The APDU bytes."""
        return bytes([self.TAG]) + encode_read_results(self.results)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole ReadResponse."""
        reader = _open(raw, cls.TAG)
        results = tuple(read_read_result(reader) for _ in range(reader.count("read-response count")))
        finish(reader, "read-response")
        return cls(results)

    @property
    def block(self) -> DataBlockResult | None:
        """The data block, when this response is one block of a long answer (it is then alone)."""
        if len(self.results) == 1 and isinstance(self.results[0], DataBlockResult):
            return self.results[0]
        return None


def encode_read_results(results: tuple[ReadResult, ...]) -> bytes:
    """``SEQUENCE OF`` ReadResponse CHOICE: what follows the tag."""
    return encode_length(len(results)) + b"".join(encode_read_result(result) for result in results)


def decode_read_results(raw: bytes, requested: int) -> tuple[Data | DataAccessResult, ...]:
    """The results carried by the joined ``raw-data`` of a block transfer.

    For a single variable the blocks carry its Data encoding (as meters and gurux-dlms send it); for
    several, the ``SEQUENCE OF`` CHOICE that would have followed the ReadResponse tag.
    """
    reader = ByteReader(raw)
    results: tuple[Data | DataAccessResult, ...]
    if requested == 1:
        results = (decode_data(reader),)
    else:
        count = reader.count("read-response count")
        if count != requested:
            raise DecodeError(f"{count} results in the data blocks for {requested} variables")
        decoded = []
        for _ in range(count):
            result = read_read_result(reader)
            if isinstance(result, DataBlockResult):
                raise DecodeError("a data block inside the data blocks")
            decoded.append(result)
        results = tuple(decoded)
    finish(reader, "read-response data blocks")
    return results


# --- WriteRequest / WriteResponse ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """``WriteRequest`` (0x06): the variables and, in the same order, the values to write."""

    specifications: tuple[VariableAccessSpecification, ...]
    values: tuple[Data, ...]

    TAG: ClassVar[ApduTag] = ApduTag.WRITE_REQUEST

    def __post_init__(self) -> None:
        if not self.specifications or len(self.specifications) != len(self.values):
            raise EncodeError(
                f"a WriteRequest needs one value per variable ({len(self.specifications)} variables, "
                f"{len(self.values)} values)"
            )

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            bytes([self.TAG])
            + _encode_list(self.specifications)
            + encode_length(len(self.values))
            + b"".join(encode_data(value) for value in self.values)
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole WriteRequest."""
        reader = _open(raw, cls.TAG)
        specifications = _read_list(reader)
        values = tuple(decode_data(reader) for _ in range(reader.count("list-of-data count")))
        finish(reader, "write-request")
        try:
            return cls(specifications, values)
        except EncodeError as err:
            raise DecodeError(str(err)) from None


@dataclass(frozen=True, slots=True)
class WriteResponse:
    """``WriteResponse`` (0x0D): one result per written variable (``SUCCESS`` is the success CHOICE)."""

    results: tuple[DataAccessResult, ...]

    TAG: ClassVar[ApduTag] = ApduTag.WRITE_RESPONSE

    def encode(self) -> bytes:
        """The APDU bytes."""
        body = b"".join(
            bytes([WriteResponseType.SUCCESS])
            if result is DataAccessResult.SUCCESS
            else bytes([WriteResponseType.DATA_ACCESS_ERROR, result])
            for result in self.results
        )
        return bytes([self.TAG]) + encode_length(len(self.results)) + body

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole WriteResponse."""
        reader = _open(raw, cls.TAG)
        results: list[DataAccessResult] = []
        for _ in range(reader.count("write-response count")):
            choice = reader.u8("write-response choice")
            if choice == WriteResponseType.SUCCESS:
                results.append(DataAccessResult.SUCCESS)
            elif choice == WriteResponseType.DATA_ACCESS_ERROR:
                results.append(read_data_access_result(reader))
            elif choice == WriteResponseType.BLOCK_NUMBER:
                raise DecodeError("unsupported write-response block-number (no write is sent in blocks)")
            else:
                raise DecodeError(f"unknown write-response choice {choice}")
        finish(reader, "write-response")
        return cls(tuple(results))


def method_name(base_name: int, class_id: int, method: int) -> int:
    """The variable name of method ``method`` (1-based) of a ``class_id`` object at ``base_name``.

    Short name meters have no ACTION service: a method is invoked by reading (or writing) this name.
    """
    first = FIRST_METHOD_OFFSETS.get(class_id)
    if first is None:
        raise EncodeError(f"class {class_id} has no methods by short name here")
    if method < 1:
        raise EncodeError(f"method {method} has no short name (methods start at 1)")
    name = base_name + first + ATTRIBUTE_NAME_STEP * (method - 1)
    if name > OBJECT_NAME_MAX:
        raise EncodeError(f"method {method} of base name 0x{base_name:04X} is past 0xFFFF")
    return name


def method_of_name(class_id: int, offset: int) -> int | None:
    """Which method of a ``class_id`` object sits ``offset`` past its base name (None: no method)."""
    first = FIRST_METHOD_OFFSETS.get(class_id)
    if first is None or offset < first or (offset - first) % ATTRIBUTE_NAME_STEP:
        return None
    return (offset - first) // ATTRIBUTE_NAME_STEP + 1


def attribute_name(base_name: int, attribute: int) -> int:
    """The variable name of attribute ``attribute`` (1-based) of the object at ``base_name``."""
    if attribute < 1:
        raise EncodeError(f"attribute {attribute} has no short name (attributes start at 1)")
    name = base_name + ATTRIBUTE_NAME_STEP * (attribute - 1)
    if name > OBJECT_NAME_MAX:
        raise EncodeError(f"attribute {attribute} of base name 0x{base_name:04X} is past 0xFFFF")
    return name
