"""GET service (logical name referencing): Get-Request and Get-Response with all three CHOICEs.

A GET-normal answer too long for one APDU comes back as Get-Response-With-Datablock; the client asks
for each further block with Get-Request-Next and joins the raw data (see
:mod:`.block_transfer`, :class:`~.block_transfer.GetDatablockReassembler`).
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
from .selective_access import SelectiveAccessDescriptor, encode_optional_access, read_optional_access
from .service_errors import DataAccessResult, read_data_access_result
from .tags import ApduTag, GetRequestType, GetResponseType

#: ``Get-Data-Result``: the value, or why it could not be read.
type GetDataResult = Data | DataAccessResult

_RESULT_DATA = 0
_RESULT_DATA_ACCESS_RESULT = 1
#: A repeated value must be at least this long to count as one: a shorter encoding (``11 05``, an
#: unsigned 5) turns up in unrelated bytes by chance.
_MIN_REPEATED_VALUE = 5


def read_get_data_result(reader: ByteReader) -> GetDataResult:
    """A ``Get-Data-Result`` CHOICE: data [0] or data-access-result [1]."""
    choice = reader.u8("get-data-result choice")
    if choice == _RESULT_DATA:
        return decode_data(reader)
    if choice == _RESULT_DATA_ACCESS_RESULT:
        return read_data_access_result(reader)
    raise DecodeError(f"unknown get-data-result choice {choice}")


def encode_get_data_result(result: GetDataResult) -> bytes:
    """The encoding of a ``Get-Data-Result``."""
    if isinstance(result, DataAccessResult):
        return bytes([_RESULT_DATA_ACCESS_RESULT, result])
    return bytes([_RESULT_DATA]) + encode_data(result)


def decode_get_data_results(raw: bytes) -> tuple[GetDataResult, ...]:
    """A whole ``SEQUENCE OF Get-Data-Result`` (the reassembled raw data of a with-list answer)."""
    reader = ByteReader(raw)
    results = _read_results(reader)
    finish(reader, "get-data-result list")
    return results


def _read_results(reader: ByteReader) -> tuple[GetDataResult, ...]:
    return tuple(read_get_data_result(reader) for _ in range(reader.count("result count")))


def _encode_results(results: tuple[GetDataResult, ...]) -> bytes:
    return encode_length(len(results)) + b"".join(encode_get_data_result(result) for result in results)


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptorWithSelection:
    """One entry of a with-list request: an attribute and, optionally, selective access."""

    attribute: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None

    def encode(self) -> bytes:
        """Descriptor and optional selective access."""
        return self.attribute.encode() + encode_optional_access(self.access_selection)

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read one entry from an APDU."""
        attribute = CosemAttributeDescriptor.read(reader)
        selection = read_optional_access(reader)
        return cls(attribute, selection)


def read_descriptor_list(reader: ByteReader) -> tuple[CosemAttributeDescriptorWithSelection, ...]:
    """A ``SEQUENCE OF Cosem-Attribute-Descriptor-With-Selection``."""
    return tuple(
        CosemAttributeDescriptorWithSelection.read(reader) for _ in range(reader.count("descriptor count"))
    )


def encode_descriptor_list(items: tuple[CosemAttributeDescriptorWithSelection, ...]) -> bytes:
    """Encode a ``SEQUENCE OF Cosem-Attribute-Descriptor-With-Selection``."""
    return encode_length(len(items)) + b"".join(item.encode() for item in items)


# --- Get-Request --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetRequestNormal:
    """``Get-Request-Normal``: read one attribute, optionally with selective access."""

    attribute: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.GET_REQUEST
    CHOICE: ClassVar[GetRequestType] = GetRequestType.NORMAL

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + self.attribute.encode()
            + encode_optional_access(self.access_selection)
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_get_request(raw))


@dataclass(frozen=True, slots=True)
class GetRequestNext:
    """``Get-Request-Next``: acknowledge block ``block_number`` and ask for the one after it."""

    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.GET_REQUEST
    CHOICE: ClassVar[GetRequestType] = GetRequestType.NEXT

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
        return expect_type(cls, decode_get_request(raw))


@dataclass(frozen=True, slots=True)
class GetRequestWithList:
    """``Get-Request-With-List``: read several attributes in one request (multiple references)."""

    attributes: tuple[CosemAttributeDescriptorWithSelection, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.GET_REQUEST
    CHOICE: ClassVar[GetRequestType] = GetRequestType.WITH_LIST

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority) + encode_descriptor_list(
            self.attributes
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_get_request(raw))


type GetRequest = GetRequestNormal | GetRequestNext | GetRequestWithList


def decode_get_request(raw: bytes) -> GetRequest:
    """Parse a Get-Request (tag 0xC0) of any CHOICE."""
    reader, choice, invoke = open_service_apdu(raw, ApduTag.GET_REQUEST)
    request: GetRequest
    if choice == GetRequestType.NORMAL:
        attribute = CosemAttributeDescriptor.read(reader)
        selection = read_optional_access(reader)
        request = GetRequestNormal(attribute, selection, invoke)
    elif choice == GetRequestType.NEXT:
        request = GetRequestNext(reader.u32("block number"), invoke)
    elif choice == GetRequestType.WITH_LIST:
        request = GetRequestWithList(read_descriptor_list(reader), invoke)
    else:
        raise DecodeError(f"unknown get-request choice {choice}")
    finish(reader, "get-request")
    return request


# --- Get-Response -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetResponseNormal:
    """``Get-Response-Normal``: the value of one attribute or the reason it could not be read.

    ``repeated_tail`` counts bytes a meter sent after the value that only repeat it (see
    :func:`decode_get_response`); 0 for a well-formed answer.
    """

    result: GetDataResult
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)
    repeated_tail: int = 0

    TAG: ClassVar[ApduTag] = ApduTag.GET_RESPONSE
    CHOICE: ClassVar[GetResponseType] = GetResponseType.NORMAL

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority) + encode_get_data_result(
            self.result
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_get_response(raw))


@dataclass(frozen=True, slots=True)
class GetResponseWithDatablock:
    """``Get-Response-With-Datablock``: one block (``DataBlock-G``) of a long answer.

    ``raw_data`` is a slice of the encoded answer, or a data-access-result when the server gives up.
    """

    last_block: bool
    block_number: int
    raw_data: bytes | DataAccessResult
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.GET_RESPONSE
    CHOICE: ClassVar[GetResponseType] = GetResponseType.WITH_DATABLOCK

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF_FFFF, "block number")

    def encode(self) -> bytes:
        """The APDU bytes."""
        if isinstance(self.raw_data, DataAccessResult):
            result = bytes([_RESULT_DATA_ACCESS_RESULT, self.raw_data])
        else:
            result = bytes([_RESULT_DATA]) + encode_octet_string(self.raw_data)
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + bytes([1 if self.last_block else 0])
            + self.block_number.to_bytes(4, "big")
            + result
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_get_response(raw))


@dataclass(frozen=True, slots=True)
class GetResponseWithList:
    """``Get-Response-With-List``: one result per requested attribute, in request order."""

    results: tuple[GetDataResult, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.GET_RESPONSE
    CHOICE: ClassVar[GetResponseType] = GetResponseType.WITH_LIST

    def encode(self) -> bytes:
        """The APDU bytes."""
        return service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority) + _encode_results(
            self.results
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_get_response(raw))


type GetResponse = GetResponseNormal | GetResponseWithDatablock | GetResponseWithList


def _repeated_tail(reader: ByteReader, value_start: int) -> int:
    """Bytes after a complete value that carry that same value again: taken, and their count; else 0.

    A Get-Response-Normal holds exactly one Get-Data-Result (IEC 62056-5-3), so bytes after it make
    the APDU malformed, and in general nothing tells which part is right: a container whose count was
    cut short parses as a complete but wrong value with the rest left over. The one tolerated case is a
    tail that contains the value's own encoding again: the gurux C example server (GuruxDLMS.c, its clock
    read handler) answers the clock as ``09 0C <date-time> 09 0F 09 0C <same date-time> 09 0F``. Two
    identical copies of the value corroborate it, so it is kept (the client logs a warning). Other
    clients accept any tail silently (gurux's parser stops after the first value) or not at all
    (dlms-cosem 25.1.0's A-XDR parser did not return on that answer); see docs/INTEROP.md.
    """
    value = reader.buffer[value_start : reader.position]
    tail = reader.buffer[reader.position :]
    if not tail or len(value) < _MIN_REPEATED_VALUE or value not in tail:
        return 0
    reader.take(len(tail), "repeated value")
    return len(tail)


def decode_get_response(raw: bytes) -> GetResponse:
    """Parse a Get-Response (tag 0xC4) of any CHOICE.

    Bytes after the result are an error, except after a normal response's value when they repeat it
    (:func:`_repeated_tail`).
    """
    reader, choice, invoke = open_service_apdu(raw, ApduTag.GET_RESPONSE)
    response: GetResponse
    if choice == GetResponseType.NORMAL:
        value_start = reader.position + 1  # after the get-data-result choice
        result = read_get_data_result(reader)
        repeated = _repeated_tail(reader, value_start) if isinstance(result, Data) else 0
        response = GetResponseNormal(result, invoke, repeated)
    elif choice == GetResponseType.WITH_DATABLOCK:
        last_block = read_boolean(reader, "last-block")
        block_number = reader.u32("block number")
        result_choice = reader.u8("datablock result choice")
        raw_data: bytes | DataAccessResult
        if result_choice == _RESULT_DATA:
            raw_data = read_octet_string(reader, "raw-data")
        elif result_choice == _RESULT_DATA_ACCESS_RESULT:
            raw_data = read_data_access_result(reader)
        else:
            raise DecodeError(f"unknown datablock result choice {result_choice}")
        response = GetResponseWithDatablock(last_block, block_number, raw_data, invoke)
    elif choice == GetResponseType.WITH_LIST:
        response = GetResponseWithList(_read_results(reader), invoke)
    else:
        raise DecodeError(f"unknown get-response choice {choice}")
    finish(reader, "get-response")
    return response
