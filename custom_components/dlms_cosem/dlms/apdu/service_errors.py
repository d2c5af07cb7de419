"""Negative outcomes of xDLMS services: EXCEPTION-Response, Confirmed-ServiceError and result codes.

A meter answers a request it cannot even start with an EXCEPTION-Response (or, for initiate and the
short name services, a Confirmed-ServiceError); a request that ran but failed carries a
``Data-Access-Result`` or ``Action-Result`` inside the normal response. The enumerations are named as in
the Green Book so a user-facing message can quote the standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from ..errors import DecodeError
from ..reader import ByteReader
from .common import check_range, finish
from .tags import ApduTag


class DataAccessResult(IntEnum):
    """``Data-Access-Result``: the outcome of reading or writing one attribute."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(IntEnum):
    """``Action-Result``: the outcome of invoking one method."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


def read_data_access_result(reader: ByteReader) -> DataAccessResult:
    """A ``Data-Access-Result`` byte; values outside the enumeration are malformed."""
    value = reader.u8("data-access-result")
    try:
        return DataAccessResult(value)
    except ValueError:
        raise DecodeError(f"unknown data-access-result {value}") from None


def read_action_result(reader: ByteReader) -> ActionResult:
    """An ``Action-Result`` byte; values outside the enumeration are malformed."""
    value = reader.u8("action-result")
    try:
        return ActionResult(value)
    except ValueError:
        raise DecodeError(f"unknown action-result {value}") from None


# --- EXCEPTION-Response -------------------------------------------------------------------------------


class StateError(IntEnum):
    """``state-error`` of an EXCEPTION-Response."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ExceptionServiceError(IntEnum):
    """``service-error`` of an EXCEPTION-Response."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    """``EXCEPTION-Response`` (tag 0xD8): the server could not process the request at all.

    ``invocation_counter`` is the server's expected counter, sent only with
    ``invocation-counter-error`` (newer editions); older meters omit it, so it is optional on decode.
    """

    state_error: StateError
    service_error: ExceptionServiceError
    invocation_counter: int | None = None

    TAG = ApduTag.EXCEPTION_RESPONSE

    def __post_init__(self) -> None:
        if self.invocation_counter is not None:
            check_range(self.invocation_counter, 0, 0xFFFF_FFFF, "invocation counter")

    def encode(self) -> bytes:
        """The APDU bytes."""
        body = bytes([self.TAG, self.state_error, self.service_error])
        if self.invocation_counter is not None:
            body += self.invocation_counter.to_bytes(4, "big")
        return body

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole EXCEPTION-Response."""
        reader = ByteReader(raw)
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not an exception-response")
        return cls.read_body(reader)

    @classmethod
    def read_body(cls, reader: ByteReader) -> Self:
        """Parse what follows the tag."""
        state = reader.u8("state-error")
        service = reader.u8("service-error")
        try:
            state_error = StateError(state)
            service_error = ExceptionServiceError(service)
        except ValueError:
            raise DecodeError(f"unknown exception-response values {state}/{service}") from None
        counter: int | None = None
        if service_error is ExceptionServiceError.INVOCATION_COUNTER_ERROR and reader.remaining >= 4:
            counter = reader.u32("invocation counter")
        finish(reader, "exception-response")
        return cls(state_error, service_error, counter)


# --- Confirmed-ServiceError ---------------------------------------------------------------------------


class ConfirmedServiceErrorService(IntEnum):
    """Which confirmed service a ``ConfirmedServiceError`` reports on (its CHOICE tag)."""

    INITIATE_ERROR = 1
    GET_STATUS = 2
    GET_NAME_LIST = 3
    GET_VARIABLE_ATTRIBUTE = 4
    READ = 5
    WRITE = 6
    GET_DATA_SET_ATTRIBUTE = 7
    GET_TI_ATTRIBUTE = 8
    CHANGE_SCOPE = 9
    START = 10
    STOP = 11
    RESUME = 12
    MAKE_USABLE = 13
    INITIATE_LOAD = 14
    LOAD_SEGMENT = 15
    TERMINATE_LOAD = 16
    INITIATE_UPLOAD_LOAD = 17
    UPLOAD_SEGMENT = 18
    TERMINATE_UPLOAD = 19


class ServiceErrorType(IntEnum):
    """The CHOICE of a ``ServiceError``: what kind of trouble the enumerated value describes."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    CHANGE_SCOPE = 8
    TASK = 9
    OTHER = 10


class ApplicationReferenceError(IntEnum):
    """``ServiceError.application-reference``."""

    OTHER = 0
    TIME_ELAPSED = 1
    APPLICATION_UNREACHABLE = 2
    APPLICATION_REFERENCE_INVALID = 3
    APPLICATION_CONTEXT_UNSUPPORTED = 4
    PROVIDER_COMMUNICATION_ERROR = 5
    DECIPHERING_ERROR = 6


class HardwareResourceError(IntEnum):
    """``ServiceError.hardware-resource``."""

    OTHER = 0
    MEMORY_UNAVAILABLE = 1
    PROCESSOR_RESOURCE_UNAVAILABLE = 2
    MASS_STORAGE_UNAVAILABLE = 3
    OTHER_RESOURCE_UNAVAILABLE = 4


class VdeStateError(IntEnum):
    """``ServiceError.vde-state-error``."""

    OTHER = 0
    NO_DLMS_CONTEXT = 1
    LOADING_DATA_SET = 2
    STATUS_NOCHANGE = 3
    STATUS_INOPERABLE = 4


class ServiceHandlingError(IntEnum):
    """``ServiceError.service``."""

    OTHER = 0
    PDU_SIZE = 1
    SERVICE_UNSUPPORTED = 2


class DefinitionError(IntEnum):
    """``ServiceError.definition``."""

    OTHER = 0
    OBJECT_UNDEFINED = 1
    OBJECT_CLASS_INCONSISTENT = 2
    OBJECT_ATTRIBUTE_INCONSISTENT = 3


class AccessError(IntEnum):
    """``ServiceError.access``."""

    OTHER = 0
    SCOPE_OF_ACCESS_VIOLATED = 1
    OBJECT_ACCESS_VIOLATED = 2
    HARDWARE_FAULT = 3
    OBJECT_UNAVAILABLE = 4


class InitiateError(IntEnum):
    """``ServiceError.initiate``: why the server refused the xDLMS context."""

    OTHER = 0
    DLMS_VERSION_TOO_LOW = 1
    INCOMPATIBLE_CONFORMANCE = 2
    PDU_SIZE_TOO_SHORT = 3
    REFUSED_BY_THE_VDE_HANDLER = 4


class LoadDataSetError(IntEnum):
    """``ServiceError.load-data-set``."""

    OTHER = 0
    PRIMITIVE_OUT_OF_SEQUENCE = 1
    NOT_LOADABLE = 2
    DATASET_SIZE_TOO_LARGE = 3
    NOT_AWAITED_SEGMENT = 4
    INTERPRETATION_FAILURE = 5
    STORAGE_FAILURE = 6
    DATA_SET_NOT_READY = 7


class TaskError(IntEnum):
    """``ServiceError.task``."""

    OTHER = 0
    NO_REMOTE_CONTROL = 1
    TI_STOPPED = 2
    TI_RUNNING = 3
    TI_UNUSABLE = 4


_DETAIL_ENUMS: dict[ServiceErrorType, type[IntEnum]] = {
    ServiceErrorType.APPLICATION_REFERENCE: ApplicationReferenceError,
    ServiceErrorType.HARDWARE_RESOURCE: HardwareResourceError,
    ServiceErrorType.VDE_STATE_ERROR: VdeStateError,
    ServiceErrorType.SERVICE: ServiceHandlingError,
    ServiceErrorType.DEFINITION: DefinitionError,
    ServiceErrorType.ACCESS: AccessError,
    ServiceErrorType.INITIATE: InitiateError,
    ServiceErrorType.LOAD_DATA_SET: LoadDataSetError,
    ServiceErrorType.TASK: TaskError,
}


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError:
    """``ConfirmedServiceError`` (tag 0x0E), e.g. the initiate error inside a rejecting AARE.

    ``value`` is kept as the raw enumerated number so vendor values survive; :attr:`detail` names it.
    """

    service: ConfirmedServiceErrorService
    error_type: ServiceErrorType
    value: int

    TAG = ApduTag.CONFIRMED_SERVICE_ERROR

    def __post_init__(self) -> None:
        check_range(self.value, 0, 0xFF, "service error value")

    @property
    def detail(self) -> IntEnum | int:
        """The value as the enumeration its ``error_type`` selects, or the number if it is not listed."""
        enum = _DETAIL_ENUMS.get(self.error_type)
        if enum is None:
            return self.value
        try:
            return enum(self.value)
        except ValueError:
            return self.value

    def encode(self) -> bytes:
        """The APDU bytes."""
        return bytes([self.TAG, self.service, self.error_type, self.value])

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole Confirmed-ServiceError."""
        reader = ByteReader(raw)
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not a confirmed-service-error")
        return cls.read_body(reader)

    @classmethod
    def read_body(cls, reader: ByteReader) -> Self:
        """Parse what follows the tag."""
        service = reader.u8("confirmed-service-error choice")
        error_type = reader.u8("service-error choice")
        value = reader.u8("service-error value")
        finish(reader, "confirmed-service-error")
        try:
            return cls(ConfirmedServiceErrorService(service), ServiceErrorType(error_type), value)
        except ValueError:
            raise DecodeError(f"unknown confirmed-service-error choice {service}/{error_type}") from None
