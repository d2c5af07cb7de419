"""SET service (logical name referencing): Set-Request and Set-Response.

Normal and with-list writes, and the datablock forms a client uses when the encoded value does not fit
one APDU (first datablock carries the descriptor, later ones only ``DataBlock-SA``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..axdr import Data, decode_data, encode_data
from ..errors import DecodeError
from ..reader import ByteReader, encode_length
from .common import (
    CosemAttributeDescriptor,
    InvokeIdAndPriority,
    check_range,
    encode_octet_string,
    expect_type,
    finish,
    open_service_apdu,
    read_boolean,
    read_octet_string,
    service_header,
)
from .get import CosemAttributeDescriptorWithSelection, encode_descriptor_list, read_descriptor_list
from .selective_access import SelectiveAccessDescriptor, encode_optional_access, read_optional_access
from .service_errors import DataAccessResult, read_data_access_result
from .tags import ApduTag, SetRequestType, SetResponseType


@dataclass(frozen=True, slots=True)
class DataBlockSA:
    """``DataBlock-SA``: one slice of an encoded value a client writes in blocks."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF_FFFF, "block number")

    def encode(self) -> bytes:
        """Last-block flag, block number, raw data."""
        return (
            bytes([1 if self.last_block else 0])
            + self.block_number.to_bytes(4, "big")
            + encode_octet_string(self.raw_data)
        )

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read the block from an APDU."""
        last_block = read_boolean(reader, "last-block")
        block_number = reader.u32("block number")
        return cls(last_block, block_number, read_octet_string(reader, "raw-data"))


def _encode_access_results(results: tuple[DataAccessResult, ...]) -> bytes:
    return encode_length(len(results)) + bytes(results)


def _read_access_results(reader: ByteReader) -> tuple[DataAccessResult, ...]:
    return tuple(read_data_access_result(reader) for _ in range(reader.count("result count")))


# --- Set-Request --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetRequestNormal:
    """``Set-Request-Normal``: write one attribute."""

    attribute: CosemAttributeDescriptor
    value: Data
    access_selection: SelectiveAccessDescriptor | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[SetRequestType] = SetRequestType.NORMAL

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + self.attribute.encode()
            + encode_optional_access(self.access_selection)
            + encode_data(self.value)
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_request(raw))


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDatablock:
    """``Set-Request-With-First-Datablock``: the attribute and the first slice of its encoded value."""

    attribute: CosemAttributeDescriptor
    datablock: DataBlockSA
    access_selection: SelectiveAccessDescriptor | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[SetRequestType] = SetRequestType.WITH_FIRST_DATABLOCK

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + self.attribute.encode()
            + encode_optional_access(self.access_selection)
            + self.datablock.encode()
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_request(raw))


@dataclass(frozen=True, slots=True)
class SetRequestWithDatablock:
    """``Set-Request-With-Datablock``: a further slice of the value being written."""

    datablock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[SetRequestType] = SetRequestType.WITH_DATABLOCK

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority) + self.datablock.encode()

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_request(raw))


@dataclass(frozen=True, slots=True)
class SetRequestWithList:
    """``Set-Request-With-List``: write several attributes, one value each, in order."""

    attributes: tuple[CosemAttributeDescriptorWithSelection, ...]
    values: tuple[Data, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[SetRequestType] = SetRequestType.WITH_LIST

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + encode_descriptor_list(self.attributes)
            + encode_length(len(self.values))
            + b"".join(encode_data(value) for value in self.values)
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_request(raw))


@dataclass(frozen=True, slots=True)
class SetRequestWithListAndFirstDatablock:
    """``Set-Request-With-List-And-First-Datablock``: several attributes, values sent in blocks."""

    attributes: tuple[CosemAttributeDescriptorWithSelection, ...]
    datablock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[SetRequestType] = SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + encode_descriptor_list(self.attributes)
            + self.datablock.encode()
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_request(raw))


type SetRequest = (
    SetRequestNormal
    | SetRequestWithFirstDatablock
    | SetRequestWithDatablock
    | SetRequestWithList
    | SetRequestWithListAndFirstDatablock
)


def decode_set_request(raw: bytes) -> SetRequest:
    """Parse a Set-Request (tag 0xC1) of any CHOICE."""
    reader, choice, invoke = open_service_apdu(raw, ApduTag.SET_REQUEST)
    request: SetRequest
    if choice == SetRequestType.NORMAL:
        attribute = CosemAttributeDescriptor.read(reader)
        selection = read_optional_access(reader)
        request = SetRequestNormal(attribute, decode_data(reader), selection, invoke)
    elif choice == SetRequestType.WITH_FIRST_DATABLOCK:
        attribute = CosemAttributeDescriptor.read(reader)
        selection = read_optional_access(reader)
        request = SetRequestWithFirstDatablock(attribute, DataBlockSA.read(reader), selection, invoke)
    elif choice == SetRequestType.WITH_DATABLOCK:
        request = SetRequestWithDatablock(DataBlockSA.read(reader), invoke)
    elif choice == SetRequestType.WITH_LIST:
        attributes = read_descriptor_list(reader)
        values = tuple(decode_data(reader) for _ in range(reader.count("value count")))
        request = SetRequestWithList(attributes, values, invoke)
    elif choice == SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK:
        attributes = read_descriptor_list(reader)
        request = SetRequestWithListAndFirstDatablock(attributes, DataBlockSA.read(reader), invoke)
    else:
        raise DecodeError(f"unknown set-request choice {choice}")
    finish(reader, "set-request")
    return request


# --- Set-Response -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetResponseNormal:
    """``Set-Response-Normal``: the outcome of one write."""

    result: DataAccessResult
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[SetResponseType] = SetResponseType.NORMAL

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority) + bytes([self.result])

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_response(raw))


@dataclass(frozen=True, slots=True)
class SetResponseDatablock:
    """``Set-Response-Datablock``: block ``block_number`` arrived, send the next one."""

    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[SetResponseType] = SetResponseType.DATABLOCK

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF_FFFF, "block number")

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(
            self.TAG, self.CHOICE, self.invoke_id_and_priority
        ) + self.block_number.to_bytes(4, "big")

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_response(raw))


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablock:
    """``Set-Response-Last-Datablock``: the outcome of a write sent in blocks."""

    result: DataAccessResult
    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[SetResponseType] = SetResponseType.LAST_DATABLOCK

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF_FFFF, "block number")

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + bytes([self.result])
            + self.block_number.to_bytes(4, "big")
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_response(raw))


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablockWithList:
    """``Set-Response-Last-Datablock-With-List``: outcomes of a with-list write sent in blocks."""

    results: tuple[DataAccessResult, ...]
    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[SetResponseType] = SetResponseType.LAST_DATABLOCK_WITH_LIST

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF_FFFF, "block number")

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + _encode_access_results(self.results)
            + self.block_number.to_bytes(4, "big")
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_response(raw))


@dataclass(frozen=True, slots=True)
class SetResponseWithList:
    """``Set-Response-With-List``: one outcome per written attribute."""

    results: tuple[DataAccessResult, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[SetResponseType] = SetResponseType.WITH_LIST

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority) + _encode_access_results(
            self.results
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_set_response(raw))


type SetResponse = (
    SetResponseNormal
    | SetResponseDatablock
    | SetResponseLastDatablock
    | SetResponseLastDatablockWithList
    | SetResponseWithList
)


def decode_set_response(raw: bytes) -> SetResponse:
    """Parse a Set-Response (tag 0xC5) of any CHOICE."""
    reader, choice, invoke = open_service_apdu(raw, ApduTag.SET_RESPONSE)
    response: SetResponse
    if choice == SetResponseType.NORMAL:
        response = SetResponseNormal(read_data_access_result(reader), invoke)
    elif choice == SetResponseType.DATABLOCK:
        response = SetResponseDatablock(reader.u32("block number"), invoke)
    elif choice == SetResponseType.LAST_DATABLOCK:
        result = read_data_access_result(reader)
        response = SetResponseLastDatablock(result, reader.u32("block number"), invoke)
    elif choice == SetResponseType.LAST_DATABLOCK_WITH_LIST:
        results = _read_access_results(reader)
        response = SetResponseLastDatablockWithList(results, reader.u32("block number"), invoke)
    elif choice == SetResponseType.WITH_LIST:
        response = SetResponseWithList(_read_access_results(reader), invoke)
    else:
        raise DecodeError(f"unknown set-response choice {choice}")
    finish(reader, "set-response")
    return response
