"""xDLMS services with logical name referencing: GET (normal, with-list, block transfer), SET, ACTION.

:class:`XdlmsServices` is the part of a client connection that talks once associated: each service is
a generator of :data:`~.operation.Steps` wrapped in an :class:`~.operation.Operation`. Association
and release live in :mod:`.connection`, security in :mod:`.protection`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ..apdu import (
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    ConfirmedServiceError,
    Conformance,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataAccessResult,
    ExceptionResponse,
    ExceptionServiceError,
    GetDatablockReassembler,
    GetDataResult,
    GetListDatablockReassembler,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
    ServiceErrorType,
    SetRequestNormal,
    SetResponseNormal,
    StateError,
    VdeStateError,
    decode_action_response,
    decode_get_response,
    decode_set_response,
)
from ..axdr import Data
from ..errors import DecryptionError, DlmsError, ProtocolError, SecurityError, ServiceError
from ..reader import encode_length
from .operation import AssociationState, NegotiatedContext, Operation, Steps
from .outcomes import (
    NotAssociatedError,
    ServiceUnsupportedError,
    deciphering_hint,
    describe_attribute,
    describe_method,
    describe_service_error,
    enum_text,
    result_error,
)
from .protection import Protection, wire_size
from .settings import ClientSettings

_LOGGER = logging.getLogger(__name__)

#: Bound on the blocks of one GET, so a meter sending empty blocks forever cannot hold the client.
DEFAULT_MAX_BLOCKS = 100_000

_INVOKE_IDS = 16


def with_selection(
    attributes: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection],
) -> tuple[CosemAttributeDescriptorWithSelection, ...]:
    """Every attribute as a descriptor with (perhaps no) selective access, as the requests carry them."""
    return tuple(
        item
        if isinstance(item, CosemAttributeDescriptorWithSelection)
        else CosemAttributeDescriptorWithSelection(item)
        for item in attributes
    )


class XdlmsServices:
    """The services of one association; :class:`~.connection.ClientConnection` adds associating."""

    def __init__(self, settings: ClientSettings, *, max_blocks: int, max_reassembled_size: int) -> None:
        self._settings = settings
        self._protection = Protection(settings)
        self._max_blocks = max_blocks
        self._max_reassembled_size = max_reassembled_size
        self._state = AssociationState.NOT_ASSOCIATED
        self._context: NegotiatedContext | None = None
        self._invoke_id = 0
        self._with_list_refused = False

    def _next_invoke(self) -> InvokeIdAndPriority:
        self._invoke_id = (self._invoke_id + 1) % _INVOKE_IDS
        return InvokeIdAndPriority(self._invoke_id)

    def _require_associated(self) -> None:
        if self._state is not AssociationState.ASSOCIATED:
            raise NotAssociatedError(f"no association with the meter ({self._state.value})")

    # --- negative answers --------------------------------------------------------------------------

    def _exception_error(self, response: ExceptionResponse, what: str) -> DlmsError:
        service = response.service_error
        text = f"{what}: exception-response {enum_text(response.state_error)}, {enum_text(service)}"
        if service is ExceptionServiceError.DECIPHERING_ERROR:
            hint = deciphering_hint(ciphered=self._settings.ciphered, what="the request")
            return DecryptionError(f"{text} ({hint})")
        if service is ExceptionServiceError.INVOCATION_COUNTER_ERROR:
            if response.invocation_counter is not None:
                self._protection.advance_invocation_counter(response.invocation_counter)
                text += f" (the meter expects at least {response.invocation_counter})"
            return SecurityError(text)
        if service is ExceptionServiceError.SERVICE_NOT_SUPPORTED or (
            response.state_error is StateError.SERVICE_UNKNOWN
        ):
            return ServiceUnsupportedError(text)
        if service is ExceptionServiceError.PDU_TOO_LONG:
            return ServiceError(text)
        return NotAssociatedError(f"{text} (the association may have expired)")

    def _raise_if_negative(self, plaintext: bytes, what: str) -> None:
        tag = plaintext[0]
        if tag == ApduTag.EXCEPTION_RESPONSE:
            raise self._exception_error(ExceptionResponse.decode(plaintext), what)
        if tag == ApduTag.CONFIRMED_SERVICE_ERROR:
            error = ConfirmedServiceError.decode(plaintext)
            text = f"{what}: confirmed-service-error {describe_service_error(error)}"
            if (
                error.error_type is ServiceErrorType.VDE_STATE_ERROR
                and error.value == VdeStateError.NO_DLMS_CONTEXT
            ):
                raise NotAssociatedError(text)
            raise ServiceError(text)

    def _exchange(self, plaintext: bytes, expected: ApduTag, what: str) -> Steps[bytes]:
        """Send one (protected) request; the plaintext answer, which must be an ``expected`` APDU."""
        answer = self._protection.unprotect((yield self._protection.protect(plaintext)))
        self._raise_if_negative(answer, what)
        if answer[0] != expected:
            raise ProtocolError(f"{what}: expected {expected.name.lower()}, got tag 0x{answer[0]:02X}")
        return answer

    @staticmethod
    def _check_invoke(found: InvokeIdAndPriority, sent: InvokeIdAndPriority, what: str) -> None:
        if found.invoke_id != sent.invoke_id:
            raise ProtocolError(f"{what}: answer for invoke id {found.invoke_id}, expected {sent.invoke_id}")

    # --- GET ---------------------------------------------------------------------------------------

    def get(
        self, attribute: CosemAttributeDescriptor, access_selection: SelectiveAccessDescriptor | None = None
    ) -> Operation[Data]:
        """GET one attribute (GET-normal, then GET-next while the meter sends blocks)."""
        self._require_associated()
        return Operation(self._get_steps(CosemAttributeDescriptorWithSelection(attribute, access_selection)))

    def get_many(
        self, attributes: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection]
    ) -> Operation[list[Data | ServiceError]]:
        """GET several attributes: with-list requests when negotiated (split to fit), else one each.

        Each attribute gets its value or the :class:`ServiceError` the meter gave for it; other
        errors (lost connection, decryption) end the whole operation.
        """
        self._require_associated()
        return Operation(self._get_many_steps(with_selection(attributes)))

    def _get_steps(self, item: CosemAttributeDescriptorWithSelection) -> Steps[Data]:
        what = describe_attribute(item.attribute)
        invoke = self._next_invoke()
        request = GetRequestNormal(item.attribute, item.access_selection, invoke)
        response = decode_get_response(
            (yield from self._exchange(request.encode(), ApduTag.GET_RESPONSE, what))
        )
        self._check_invoke(response.invoke_id_and_priority, invoke, what)
        result: GetDataResult
        if isinstance(response, GetResponseNormal):
            result = response.result
            if response.repeated_tail:
                _LOGGER.warning(
                    "%s: the meter sent %d bytes after the value that repeat it; the value is kept",
                    what,
                    response.repeated_tail,
                )
        elif isinstance(response, GetResponseWithDatablock):
            reassembler = GetDatablockReassembler(self._max_reassembled_size)
            blocks: Steps[Data | DataAccessResult] = self._collect_blocks(
                reassembler.add, reassembler.next_request, response, invoke, what
            )
            result = yield from blocks
        else:
            raise ProtocolError(f"{what}: a with-list answer to a normal request")
        if isinstance(result, DataAccessResult):
            raise result_error(result, what)
        return result

    def _collect_blocks[R](
        self,
        add: Callable[[GetResponseWithDatablock], R | None],
        next_request: Callable[[], GetRequestNext],
        first: GetResponseWithDatablock,
        invoke: InvokeIdAndPriority,
        what: str,
    ) -> Steps[R]:
        response = first
        for count in range(1, self._max_blocks + 1):
            result = add(response)
            if result is not None:
                return result
            if count == self._max_blocks:
                break
            raw = yield from self._exchange(next_request().encode(), ApduTag.GET_RESPONSE, what)
            decoded = decode_get_response(raw)
            self._check_invoke(decoded.invoke_id_and_priority, invoke, what)
            if not isinstance(decoded, GetResponseWithDatablock):
                raise ProtocolError(f"{what}: block transfer interrupted by another kind of answer")
            response = decoded
        raise ProtocolError(f"{what}: more than {self._max_blocks} blocks")

    def _single(self, item: CosemAttributeDescriptorWithSelection) -> Steps[Data | ServiceError]:
        try:
            return (yield from self._get_steps(item))
        except ServiceError as exc:
            return exc

    def _uses_with_list(self) -> bool:
        context = self._context
        return (
            context is not None
            and context.allows(Conformance.MULTIPLE_REFERENCES)
            and not self._with_list_refused
        )

    def _request_fits(self, plain_size: int) -> bool:
        context = self._context
        limit = context.server_max_pdu_size if context is not None else 0
        if self._settings.ciphered:
            plain_size = wire_size(plain_size, self._settings.control.authenticated)
        return plain_size <= limit

    def _batches(
        self, items: tuple[CosemAttributeDescriptorWithSelection, ...]
    ) -> list[tuple[CosemAttributeDescriptorWithSelection, ...]]:
        """Split a with-list into requests that each fit the meter's PDU size (and the item cap)."""
        cap = self._settings.max_list_items or len(items)
        batches: list[tuple[CosemAttributeDescriptorWithSelection, ...]] = []
        current: list[CosemAttributeDescriptorWithSelection] = []
        size = 0
        for item in items:
            item_size = len(item.encode())
            count = len(current) + 1
            request_size = 3 + len(encode_length(count)) + size + item_size
            if current and (count > cap or not self._request_fits(request_size)):
                batches.append(tuple(current))
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append(tuple(current))
        return batches

    def _get_many_steps(
        self, items: tuple[CosemAttributeDescriptorWithSelection, ...]
    ) -> Steps[list[Data | ServiceError]]:
        results: list[Data | ServiceError] = []
        batches = self._batches(items) if self._uses_with_list() else [(item,) for item in items]
        for batch in batches:
            if len(batch) > 1 and not self._with_list_refused:
                try:
                    results.extend((yield from self._get_list_steps(batch)))
                    continue
                except ServiceUnsupportedError:
                    self._with_list_refused = True
            for item in batch:
                results.append((yield from self._single(item)))
        return results

    def _get_list_steps(
        self, batch: tuple[CosemAttributeDescriptorWithSelection, ...]
    ) -> Steps[list[Data | ServiceError]]:
        what = f"GET with-list of {len(batch)} attributes"
        invoke = self._next_invoke()
        request = GetRequestWithList(batch, invoke)
        response = decode_get_response(
            (yield from self._exchange(request.encode(), ApduTag.GET_RESPONSE, what))
        )
        self._check_invoke(response.invoke_id_and_priority, invoke, what)
        results: tuple[GetDataResult, ...] | DataAccessResult
        if isinstance(response, GetResponseWithList):
            results = response.results
        elif isinstance(response, GetResponseWithDatablock):
            reassembler = GetListDatablockReassembler(self._max_reassembled_size)
            blocks: Steps[tuple[GetDataResult, ...] | DataAccessResult] = self._collect_blocks(
                reassembler.add, reassembler.next_request, response, invoke, what
            )
            results = yield from blocks
        else:
            raise ProtocolError(f"{what}: a normal answer to a with-list request")
        if isinstance(results, DataAccessResult):
            return [result_error(results, describe_attribute(item.attribute)) for item in batch]
        if len(results) != len(batch):
            raise ProtocolError(f"{what}: {len(results)} results for {len(batch)} attributes")
        return [
            result if isinstance(result, Data) else result_error(result, describe_attribute(item.attribute))
            for result, item in zip(results, batch, strict=True)
        ]

    # --- SET and ACTION ----------------------------------------------------------------------------

    def set(
        self,
        attribute: CosemAttributeDescriptor,
        value: Data,
        access_selection: SelectiveAccessDescriptor | None = None,
    ) -> Operation[None]:
        """SET one attribute (SET-normal)."""
        self._require_associated()
        return Operation(self._set_steps(attribute, value, access_selection))

    def _set_steps(
        self,
        attribute: CosemAttributeDescriptor,
        value: Data,
        access_selection: SelectiveAccessDescriptor | None,
    ) -> Steps[None]:
        what = describe_attribute(attribute)
        invoke = self._next_invoke()
        request = SetRequestNormal(attribute, value, access_selection, invoke)
        response = decode_set_response(
            (yield from self._exchange(request.encode(), ApduTag.SET_RESPONSE, what))
        )
        self._check_invoke(response.invoke_id_and_priority, invoke, what)
        if not isinstance(response, SetResponseNormal):
            raise ProtocolError(f"{what}: a block answer to a normal SET")
        if response.result is not DataAccessResult.SUCCESS:
            raise result_error(response.result, what)

    def action(self, method: CosemMethodDescriptor, parameters: Data | None = None) -> Operation[Data | None]:
        """Invoke one method (ACTION-normal); its return value, if any."""
        self._require_associated()
        return Operation(self._action_steps(method, parameters))

    def _action_steps(self, method: CosemMethodDescriptor, parameters: Data | None) -> Steps[Data | None]:
        what = describe_method(method)
        invoke = self._next_invoke()
        request = ActionRequestNormal(method, parameters, invoke)
        raw = yield from self._exchange(request.encode(), ApduTag.ACTION_RESPONSE, what)
        response = decode_action_response(raw)
        self._check_invoke(response.invoke_id_and_priority, invoke, what)
        if not isinstance(response, ActionResponseNormal):  # pragma: no cover - only normal is decoded
            raise ProtocolError(f"{what}: unexpected action response")
        if response.result is not ActionResult.SUCCESS:
            raise result_error(response.result, what)
        returned = response.return_parameters
        if isinstance(returned, DataAccessResult):
            raise result_error(returned, what)
        return returned
