"""Short name services of the simulated server: ReadRequest and WriteRequest on base names.

Each variable of a request is answered on its own (data or data-access-error), in request order.
A ReadResponse longer than the client's max receive PDU size goes out as data-block-results when
block transfer with READ was negotiated: the raw data is the Data encoding of a single variable or the
``SEQUENCE OF`` CHOICE of several, and each block-number-access acknowledging block n gets block n + 1.

Methods (short name referencing has no ACTION service): reading a method's name invokes it, with the
parameter of a parameterized-access (its selector carries no meaning for a method and is ignored) or
none, and answers its return value (null-data when it returns nothing); writing a method's name
invokes it with the written value and answers only the result. That is how gurux's short name clients
call methods: the C library reads with parameterized-access, the Python one writes. Association SN's
reply_to_HLS_authentication (0xFA58) is the one method open before the association is authenticated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..apdu import (
    ApduTag,
    BlockNumberAccess,
    Conformance,
    DataAccessResult,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    SelectiveAccessDescriptor,
    VariableAccessSpecification,
    WriteRequest,
    WriteResponse,
)
from ..apdu.short_name import encode_read_results
from ..axdr import Data, encode_data
from ..errors import DlmsError
from .access import MethodAccess
from .answers import NOT_SUPPORTED, Protection
from .association import ServerAssociation
from .ln_services import LogicalNameServices
from .model import AccessFailureError, AssociationStatus, CosemObject
from .short_names import REPLY_TO_HLS_AUTHENTICATION, AssociationSN, BaseNames

_LOGGER = logging.getLogger(__name__)

#: ReadResponse tag, count, CHOICE, last-block, block number (2) and the longest raw-data length (3).
_BLOCK_OVERHEAD = 1 + 1 + 1 + 1 + 2 + 3


@dataclass(slots=True)
class LongRead:
    """A ReadResponse being sent in data blocks."""

    raw: bytes
    block_size: int
    sent: int = 0

    @property
    def blocks(self) -> int:
        """How many blocks the answer takes."""
        return max(1, -(-len(self.raw) // self.block_size))

    def block(self, number: int) -> ReadResponse:
        """Block ``number`` (1-based) as a whole ReadResponse."""
        start = (number - 1) * self.block_size
        chunk = self.raw[start : start + self.block_size]
        return ReadResponse((DataBlockResult(number >= self.blocks, number, chunk),))


class ShortNameServices(LogicalNameServices):
    """READ and WRITE by short name, next to the logical name services of the server connection."""

    _base_names: BaseNames | None = None
    _long_read: LongRead | None = None

    def _dispatch(self, apdu: bytes, association: ServerAssociation, protection: Protection | None) -> bytes:
        tag = apdu[0]
        if self._base_names is None or tag not in {ApduTag.READ_REQUEST, ApduTag.WRITE_REQUEST}:
            self._long_read = None
            return super()._dispatch(apdu, association, protection)
        if tag == ApduTag.READ_REQUEST:
            return self._on_read(apdu, association, protection)
        self._long_read = None
        request = WriteRequest.decode(apdu)
        conformance = association.conformance
        if not conformance & Conformance.WRITE or (
            len(request.specifications) > 1 and not conformance & Conformance.MULTIPLE_REFERENCES
        ):
            return NOT_SUPPORTED
        return self._protect(self._on_write(request, association).encode(), protection)

    # --- READ --------------------------------------------------------------------------------------

    def _read_variable(self, spec: VariableAccessSpecification, association: ServerAssociation) -> ReadResult:
        assert self._base_names is not None
        if isinstance(spec, BlockNumberAccess):
            return DataAccessResult.OTHER_REASON  # only alone, to continue a long read
        method = self._base_names.resolve_method(spec.name)
        if method is not None:
            parameter = spec.parameter if isinstance(spec, ParameterizedAccess) else None
            result = self._invoke_by_name(*method, parameter, association)
            return Data.null_data() if result is None else result
        found = self._base_names.resolve(spec.name)
        if found is None:
            return DataAccessResult.OBJECT_UNDEFINED
        obj, attribute = found
        if association.status is not AssociationStatus.ASSOCIATED:
            return DataAccessResult.READ_WRITE_DENIED
        if not obj.attribute_access(attribute, association.level).readable:
            return DataAccessResult.READ_WRITE_DENIED
        context = self._context(association)
        try:
            if isinstance(spec, ParameterizedAccess):
                selection = SelectiveAccessDescriptor(spec.selector, spec.parameter)
                return obj.get_selective(attribute, selection, context)
            return obj.get(attribute, context)
        except AccessFailureError as failure:
            return failure.result
        except DlmsError as err:
            _LOGGER.debug("Reading variable 0x%04X failed: %s", spec.name, err)
            return DataAccessResult.OTHER_REASON

    def _on_read(self, apdu: bytes, association: ServerAssociation, protection: Protection | None) -> bytes:
        conformance = association.conformance
        if not conformance & Conformance.READ:
            return NOT_SUPPORTED
        request = ReadRequest.decode(apdu)
        specifications = request.specifications
        if len(specifications) == 1 and isinstance(specifications[0], BlockNumberAccess):
            return self._protect(self._next_block(specifications[0]).encode(), protection)
        self._long_read = None
        if len(specifications) > 1 and not conformance & Conformance.MULTIPLE_REFERENCES:
            return NOT_SUPPORTED
        parameterized = any(isinstance(spec, ParameterizedAccess) for spec in specifications)
        if parameterized and not conformance & Conformance.PARAMETERIZED_ACCESS:
            return NOT_SUPPORTED
        results = tuple(self._read_variable(spec, association) for spec in specifications)
        answer = ReadResponse(results).encode()
        limit = association.client_max_receive_pdu_size - self._cipher_overhead(protection)
        if len(answer) <= limit:
            return self._protect(answer, protection)
        if not conformance & Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ:
            too_long = ReadResponse(tuple(DataAccessResult.OTHER_REASON for _ in results))
            return self._protect(too_long.encode(), protection)
        single = results[0]
        raw = (
            encode_data(single)
            if len(results) == 1 and isinstance(single, Data)
            else encode_read_results(results)
        )
        self._long_read = LongRead(raw, max(1, limit - _BLOCK_OVERHEAD))
        return self._protect(self._send_read_block(1).encode(), protection)

    def _send_read_block(self, number: int) -> ReadResponse:
        assert self._long_read is not None
        self._long_read.sent = number
        return self._long_read.block(number)

    def _next_block(self, request: BlockNumberAccess) -> ReadResponse:
        long_read = self._long_read
        number = request.block_number
        if long_read is None or (number == long_read.sent and long_read.sent >= long_read.blocks):
            self._long_read = None
            return ReadResponse((DataAccessResult.NO_LONG_GET_IN_PROGRESS,))
        if number == long_read.sent:
            return self._send_read_block(number + 1)
        if number == long_read.sent - 1:
            return self._send_read_block(long_read.sent)  # our last block was lost
        self._long_read = None
        return ReadResponse((DataAccessResult.DATA_BLOCK_NUMBER_INVALID,))

    # --- WRITE -------------------------------------------------------------------------------------

    def _write_variable(
        self, spec: VariableAccessSpecification, value: Data, association: ServerAssociation
    ) -> DataAccessResult:
        assert self._base_names is not None
        if isinstance(spec, ParameterizedAccess | BlockNumberAccess):
            return DataAccessResult.OTHER_REASON  # writes go by variable name only
        method = self._base_names.resolve_method(spec.name)
        if method is not None:
            result = self._invoke_by_name(*method, value, association)
            return result if isinstance(result, DataAccessResult) else DataAccessResult.SUCCESS
        found = self._base_names.resolve(spec.name)
        if found is None:
            return DataAccessResult.OBJECT_UNDEFINED
        obj, attribute = found
        if (
            association.status is not AssociationStatus.ASSOCIATED
            or not obj.attribute_access(attribute, association.level).writable
        ):
            return DataAccessResult.READ_WRITE_DENIED
        try:
            obj.set(attribute, value, self._context(association))
        except AccessFailureError as failure:
            return failure.result
        except DlmsError as err:
            _LOGGER.debug("Writing variable 0x%04X failed: %s", spec.name, err)
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS

    # --- methods -----------------------------------------------------------------------------------

    def _invoke_by_name(
        self, obj: CosemObject, method: int, parameter: Data | None, association: ServerAssociation
    ) -> Data | DataAccessResult | None:
        """Run ``method`` of ``obj``: its return value (None: nothing), or why it was refused."""
        is_hls_reply = isinstance(obj, AssociationSN) and method == REPLY_TO_HLS_AUTHENTICATION
        if association.status is not AssociationStatus.ASSOCIATED and not is_hls_reply:
            return DataAccessResult.READ_WRITE_DENIED
        if obj.method_access(method, association.level) is MethodAccess.NO_ACCESS:
            return DataAccessResult.READ_WRITE_DENIED
        try:
            return obj.invoke(method, parameter, self._context(association))
        except AccessFailureError as failure:
            return failure.result
        except DlmsError as err:
            _LOGGER.debug("Method %s/%d by short name failed: %s", obj.logical_name, method, err)
            return DataAccessResult.OTHER_REASON
        finally:
            if association.status is AssociationStatus.NON_ASSOCIATED and self._association is association:
                self._association = None  # HLS failed: the association is gone

    def _on_write(self, request: WriteRequest, association: ServerAssociation) -> WriteResponse:
        return WriteResponse(
            tuple(
                self._write_variable(spec, value, association)
                for spec, value in zip(request.specifications, request.values, strict=True)
            )
        )
