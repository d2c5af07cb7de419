"""Logical name services of the simulated server: GET (normal, with-list, datablocks), SET, ACTION.

:class:`LogicalNameServices` answers one plaintext request of an accepted association; the
:class:`~.server.ServerConnection` around it handles ACSE and ciphering.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..apdu import (
    ActionRequestNormal,
    ActionRequestType,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    Conformance,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    DataAccessResult,
    GetDataResult,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InvokeIdAndPriority,
    SetRequestNormal,
    SetRequestWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_action_request,
    decode_get_request,
    decode_set_request,
)
from ..axdr import Data, encode_data
from ..errors import DlmsError
from ..security import protect
from .answers import (
    MALFORMED,
    NOT_SUPPORTED,
    PLAIN_REQUESTS,
    SYSTEM_TITLE_LENGTH,
    TAG_LENGTH,
    UNKNOWN,
    Protection,
)
from .association import ServerAssociation
from .model import (
    AccessFailureError,
    AssociationLN,
    AssociationStatus,
    MethodAccess,
    RequestContext,
    SimulatedMeter,
)

_LOGGER = logging.getLogger(__name__)

_DATABLOCK_OVERHEAD = 3 + 1 + 4 + 1 + 3  # header, last-block, block number, choice, longest length


@dataclass(slots=True)
class LongGet:
    """A GET answer being sent in datablocks."""

    raw: bytes
    block_size: int
    sent: int = 0  # last block number sent

    @property
    def blocks(self) -> int:
        """How many datablocks the answer takes."""
        return max(1, -(-len(self.raw) // self.block_size))

    def block(self, number: int, invoke: InvokeIdAndPriority) -> GetResponseWithDatablock:
        """Datablock ``number`` (1-based)."""
        start = (number - 1) * self.block_size
        return GetResponseWithDatablock(
            last_block=number >= self.blocks,
            block_number=number,
            raw_data=self.raw[start : start + self.block_size],
            invoke_id_and_priority=invoke,
        )


class LogicalNameServices:
    """GET/SET/ACTION on the meter's objects for one association (the base of the server connection)."""

    meter: SimulatedMeter
    _association: ServerAssociation | None
    _long_get: LongGet | None

    def _protect(self, apdu: bytes, protection: Protection | None) -> bytes:
        if protection is None:
            return apdu
        security = self.meter.security
        return protect(
            protection.response_tag,
            apdu,
            security.keys,
            system_title=security.system_title,
            invocation_counter=security.next_server_invocation_counter(),
            control=protection.control,
        ).encode()

    @staticmethod
    def _cipher_overhead(protection: Protection | None) -> int:
        if protection is None:
            return 0
        overhead = 1 + 3 + 1 + 4  # tag, longest length, SC, IC
        if protection.control.authenticated:
            overhead += TAG_LENGTH
        if protection.response_tag == ApduTag.GENERAL_GLO_CIPHERING:
            overhead += 1 + SYSTEM_TITLE_LENGTH
        return overhead

    # --- xDLMS services -------------------------------------------------------------------------------

    def _dispatch(self, apdu: bytes, association: ServerAssociation, protection: Protection | None) -> bytes:
        tag = apdu[0]
        if tag == ApduTag.GET_REQUEST:
            return self._on_get(apdu, association, protection)
        self._long_get = None
        answer: bytes
        if tag == ApduTag.SET_REQUEST:
            answer = self._on_set(apdu, association)
        elif tag == ApduTag.ACTION_REQUEST:
            answer = self._on_action(apdu, association)
        elif tag in PLAIN_REQUESTS:
            answer = NOT_SUPPORTED
        else:
            answer = UNKNOWN
        if answer[0] == ApduTag.EXCEPTION_RESPONSE:
            return answer
        return self._protect(answer, protection)

    def _context(self, association: ServerAssociation) -> RequestContext:
        return RequestContext(self.meter.now(), association.level, association)

    def _read(
        self, item: CosemAttributeDescriptorWithSelection, association: ServerAssociation
    ) -> GetDataResult:
        descriptor = item.attribute
        obj = self.meter.find(descriptor.instance_id)
        if obj is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if obj.class_id != descriptor.class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        if not 1 <= descriptor.attribute_id <= obj.attribute_count:
            return DataAccessResult.OBJECT_UNDEFINED
        if association.status is not AssociationStatus.ASSOCIATED:
            return DataAccessResult.READ_WRITE_DENIED
        if not obj.attribute_access(descriptor.attribute_id, association.level).readable:
            return DataAccessResult.READ_WRITE_DENIED
        context = self._context(association)
        try:
            if item.access_selection is not None:
                return obj.get_selective(descriptor.attribute_id, item.access_selection, context)
            return obj.get(descriptor.attribute_id, context)
        except AccessFailureError as failure:
            return failure.result
        except DlmsError as err:
            _LOGGER.debug("Reading %s failed: %s", descriptor.instance_id, err)
            return DataAccessResult.OTHER_REASON

    def _on_get(self, apdu: bytes, association: ServerAssociation, protection: Protection | None) -> bytes:
        request = decode_get_request(apdu)
        conformance = association.conformance
        if not conformance & Conformance.GET:
            return NOT_SUPPORTED
        invoke = request.invoke_id_and_priority
        if isinstance(request, GetRequestNext):
            return self._on_get_next(request, protection)
        self._long_get = None
        if isinstance(request, GetRequestNormal):
            if request.access_selection is not None and not conformance & Conformance.SELECTIVE_ACCESS:
                return NOT_SUPPORTED
            item = CosemAttributeDescriptorWithSelection(request.attribute, request.access_selection)
            result = self._read(item, association)
            answer = GetResponseNormal(result, invoke).encode()
            raw_data = encode_data(result) if isinstance(result, Data) else None
        else:
            assert isinstance(request, GetRequestWithList)
            if not conformance & Conformance.MULTIPLE_REFERENCES:
                return NOT_SUPPORTED
            if any(item.access_selection is not None for item in request.attributes) and not (
                conformance & Conformance.SELECTIVE_ACCESS
            ):
                return NOT_SUPPORTED
            results = tuple(self._read(item, association) for item in request.attributes)
            response = GetResponseWithList(results, invoke)
            answer = response.encode()
            raw_data = answer[3:]  # SEQUENCE OF Get-Data-Result, as the datablocks carry it
        limit = association.client_max_receive_pdu_size - self._cipher_overhead(protection)
        if len(answer) <= limit:
            return self._protect(answer, protection)
        if raw_data is None or not conformance & Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ:
            return self._protect(
                GetResponseNormal(DataAccessResult.OTHER_REASON, invoke).encode(), protection
            )
        self._long_get = LongGet(raw_data, max(1, limit - _DATABLOCK_OVERHEAD))
        return self._send_block(1, invoke, protection)

    def _send_block(self, number: int, invoke: InvokeIdAndPriority, protection: Protection | None) -> bytes:
        assert self._long_get is not None
        block = self._long_get.block(number, invoke)
        self._long_get.sent = number
        return self._protect(block.encode(), protection)

    def _on_get_next(self, request: GetRequestNext, protection: Protection | None) -> bytes:
        long_get = self._long_get
        invoke = request.invoke_id_and_priority
        if long_get is None or (request.block_number == long_get.sent and long_get.sent >= long_get.blocks):
            self._long_get = None
            failure = GetResponseWithDatablock(
                True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS, invoke
            )
            return self._protect(failure.encode(), protection)
        if request.block_number == long_get.sent:
            return self._send_block(long_get.sent + 1, invoke, protection)
        if request.block_number == long_get.sent - 1:
            return self._send_block(long_get.sent, invoke, protection)  # our last block was lost
        self._long_get = None
        failure = GetResponseWithDatablock(
            True, request.block_number, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, invoke
        )
        return self._protect(failure.encode(), protection)

    def _write(
        self, descriptor: CosemAttributeDescriptor, value: Data, association: ServerAssociation
    ) -> DataAccessResult:
        obj = self.meter.find(descriptor.instance_id)
        if obj is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if obj.class_id != descriptor.class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        if not 1 <= descriptor.attribute_id <= obj.attribute_count:
            return DataAccessResult.OBJECT_UNDEFINED
        if (
            association.status is not AssociationStatus.ASSOCIATED
            or not obj.attribute_access(descriptor.attribute_id, association.level).writable
        ):
            return DataAccessResult.READ_WRITE_DENIED
        try:
            obj.set(descriptor.attribute_id, value, self._context(association))
        except AccessFailureError as failure:
            return failure.result
        except DlmsError as err:
            _LOGGER.debug("Writing %s failed: %s", descriptor.instance_id, err)
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS

    def _on_set(self, apdu: bytes, association: ServerAssociation) -> bytes:
        if not association.conformance & Conformance.SET:
            return NOT_SUPPORTED
        if apdu[1:2] not in (b"\x01", b"\x04"):
            return NOT_SUPPORTED  # datablock writes: block transfer with SET is not offered
        request = decode_set_request(apdu)
        if isinstance(request, SetRequestNormal):
            if request.access_selection is not None:
                return SetResponseNormal(
                    DataAccessResult.OTHER_REASON, request.invoke_id_and_priority
                ).encode()
            result = self._write(request.attribute, request.value, association)
            return SetResponseNormal(result, request.invoke_id_and_priority).encode()
        assert isinstance(request, SetRequestWithList)
        if not association.conformance & Conformance.MULTIPLE_REFERENCES:
            return NOT_SUPPORTED
        if len(request.attributes) != len(request.values):
            return MALFORMED
        results = tuple(
            self._write(item.attribute, value, association)
            if item.access_selection is None
            else DataAccessResult.OTHER_REASON
            for item, value in zip(request.attributes, request.values, strict=True)
        )
        return SetResponseWithList(results, request.invoke_id_and_priority).encode()

    def _on_action(self, apdu: bytes, association: ServerAssociation) -> bytes:
        if not association.conformance & Conformance.ACTION:
            return NOT_SUPPORTED
        if len(apdu) > 1 and apdu[1] != ActionRequestType.NORMAL:
            return NOT_SUPPORTED
        request = decode_action_request(apdu)
        assert isinstance(request, ActionRequestNormal)
        result, returned = self._invoke(request, association)
        if association.status is AssociationStatus.NON_ASSOCIATED and self._association is association:
            self._association = None  # HLS failed: the association is gone
        return ActionResponseNormal(result, returned, request.invoke_id_and_priority).encode()

    def _invoke(
        self, request: ActionRequestNormal, association: ServerAssociation
    ) -> tuple[ActionResult, Data | None]:
        descriptor = request.method
        obj = self.meter.find(descriptor.instance_id)
        if obj is None:
            return ActionResult.OBJECT_UNDEFINED, None
        if obj.class_id != descriptor.class_id:
            return ActionResult.OBJECT_CLASS_INCONSISTENT, None
        if not 1 <= descriptor.method_id <= obj.method_count:
            return ActionResult.OBJECT_UNDEFINED, None
        is_hls_reply = isinstance(obj, AssociationLN) and descriptor.method_id == 1
        if association.status is not AssociationStatus.ASSOCIATED and not is_hls_reply:
            return ActionResult.READ_WRITE_DENIED, None
        if obj.method_access(descriptor.method_id, association.level) is MethodAccess.NO_ACCESS:
            return ActionResult.READ_WRITE_DENIED, None
        try:
            returned = obj.invoke(descriptor.method_id, request.parameters, self._context(association))
        except AccessFailureError as failure:
            return _action_result(failure.result), None
        except DlmsError as err:
            _LOGGER.debug("Method %s/%d failed: %s", descriptor.instance_id, descriptor.method_id, err)
            return ActionResult.OTHER_REASON, None
        return ActionResult.SUCCESS, returned


def _action_result(result: DataAccessResult) -> ActionResult:
    try:
        return ActionResult(int(result))
    except ValueError:
        return ActionResult.OTHER_REASON
