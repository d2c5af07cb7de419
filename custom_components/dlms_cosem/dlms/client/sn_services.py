"""Short name referencing services: the same GET/SET API carried by ReadRequest and WriteRequest.

Callers name attributes by logical name and class whatever the meter speaks; when the association
uses a short name application context, :class:`ShortNameServices` looks the object's base name up in
the Association SN object list (read once, at 0xFA08, and kept: a meter's base names do not change
between associations) and reads or writes ``base name + 8 (attribute - 1)``. Several attributes go
in one ReadRequest when multiple references were negotiated (split to fit the meter's PDU size), and a
ReadResponse sent in data blocks is acknowledged block by block and joined.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..apdu import (
    ApduTag,
    ApplicationContextName,
    BlockNumberAccess,
    Conformance,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataAccessResult,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    SelectiveAccessDescriptor,
    VariableAccessSpecification,
    VariableName,
    WriteRequest,
    WriteResponse,
    decode_read_results,
    method_name,
)
from ..axdr import Data, DataTag
from ..errors import ProtocolError, ServiceError
from ..reader import encode_length
from .objects import CURRENT_ASSOCIATION, ObjectListEntry, parse_object_list
from .operation import Operation, Steps
from .outcomes import ServiceUnsupportedError, describe_attribute, describe_method, result_error
from .services import XdlmsServices, with_selection
from .short_names import (
    ASSOCIATION_SN_BASE_NAME,
    ASSOCIATION_SN_CLASS_ID,
    OBJECT_LIST_NAME,
    REPLY_TO_HLS_AUTHENTICATION_SN,
    ShortNames,
    parse_short_name_object_list,
)

SHORT_NAME_CONTEXTS = frozenset(
    {
        ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING,
        ApplicationContextName.SHORT_NAME_REFERENCING_WITH_CIPHERING,
    }
)

_ASSOCIATION_LN_CLASS_ID = 15
_OBJECT_LIST_ATTRIBUTE = 2

type _Planned = VariableAccessSpecification | ServiceError


class ShortNameServices(XdlmsServices):
    """GET/SET/object list that pick logical or short name services by the negotiated context."""

    _short_names: ShortNames | None = None
    _multiple_references_refused = False

    @property
    def short_name_referencing(self) -> bool:
        """Whether the association uses short name referencing."""
        context = self._context
        return context is not None and context.application_context_name in SHORT_NAME_CONTEXTS

    @property
    def short_names(self) -> ShortNames | None:
        """The base names read from the meter, once read."""
        return self._short_names

    def forget_short_names(self) -> None:
        """Read the object list again before the next short name request (the meter was reconfigured)."""
        self._short_names = None

    # --- the public services, dispatched -----------------------------------------------------------

    def get(
        self, attribute: CosemAttributeDescriptor, access_selection: SelectiveAccessDescriptor | None = None
    ) -> Operation[Data]:
        """GET one attribute (a ReadRequest of one variable with short name referencing)."""
        if not self.short_name_referencing:
            return super().get(attribute, access_selection)
        self._require_associated()
        return Operation(
            self._read_one_steps(CosemAttributeDescriptorWithSelection(attribute, access_selection))
        )

    def get_many(
        self, attributes: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection]
    ) -> Operation[list[Data | ServiceError]]:
        """GET several attributes; per attribute its value or the :class:`ServiceError` for it."""
        if not self.short_name_referencing:
            return super().get_many(attributes)
        self._require_associated()
        return Operation(self._read_many_steps(with_selection(attributes)))

    def set(
        self,
        attribute: CosemAttributeDescriptor,
        value: Data,
        access_selection: SelectiveAccessDescriptor | None = None,
    ) -> Operation[None]:
        """SET one attribute (a WriteRequest of one variable with short name referencing)."""
        if not self.short_name_referencing:
            return super().set(attribute, value, access_selection)
        self._require_associated()
        if access_selection is not None:
            raise ServiceUnsupportedError(
                f"{describe_attribute(attribute)}: no selective write by short name"
            )
        return Operation(self._write_steps(attribute, value))

    def action(self, method: CosemMethodDescriptor, parameters: Data | None = None) -> Operation[Data | None]:
        """Invoke a method; its return value, if any.

        Short name referencing has no ACTION service: the method's own variable name (base name + the
        class's first method offset + 8 (m - 1), Blue Book) is read, with the parameter in a
        parameterized-access, and the ReadResponse carries the return value. A meter that did not
        negotiate parameterized-access gets the parameter written instead (no return value then).
        """
        if not self.short_name_referencing:
            return super().action(method, parameters)
        self._require_associated()
        return Operation(self._sn_action_steps(method, parameters))

    def object_list(self) -> Operation[list[ObjectListEntry]]:
        """The objects of the current association: Association LN or Association SN ``object_list``."""
        self._require_associated()
        if self.short_name_referencing:
            return Operation(self._object_list_entries_steps())
        descriptor = CosemAttributeDescriptor(
            _ASSOCIATION_LN_CLASS_ID, CURRENT_ASSOCIATION, _OBJECT_LIST_ATTRIBUTE
        )
        return Operation(self._parsed_ln_object_list(descriptor))

    def _parsed_ln_object_list(self, descriptor: CosemAttributeDescriptor) -> Steps[list[ObjectListEntry]]:
        data = yield from self._get_steps(CosemAttributeDescriptorWithSelection(descriptor))
        return parse_object_list(data)

    # --- object list -------------------------------------------------------------------------------

    def _short_names_steps(self) -> Steps[ShortNames]:
        if self._short_names is None:
            what = f"object list (variable 0x{OBJECT_LIST_NAME:04X})"
            (result,) = yield from self._read_steps((VariableName(OBJECT_LIST_NAME),), what)
            if isinstance(result, DataAccessResult):
                raise result_error(result, what)
            self._short_names = ShortNames(parse_short_name_object_list(result))
        return self._short_names

    def _object_list_entries_steps(self) -> Steps[list[ObjectListEntry]]:
        names = yield from self._short_names_steps()
        return [obj.entry() for obj in names.objects]

    # --- READ --------------------------------------------------------------------------------------

    def _plan(self, names: ShortNames, item: CosemAttributeDescriptorWithSelection) -> _Planned:
        attribute = item.attribute
        name = names.variable_name(
            attribute.class_id, attribute.instance_id, attribute.attribute_id, describe_attribute(attribute)
        )
        if isinstance(name, ServiceError):
            return name
        selection = item.access_selection
        if selection is None:
            return VariableName(name)
        if self._context is None or not self._context.allows(Conformance.PARAMETERIZED_ACCESS):
            return ServiceUnsupportedError(
                f"{describe_attribute(attribute)}: selective access needs parameterized-access"
            )
        return ParameterizedAccess(name, selection.access_selector, selection.access_parameters)

    def _read_one_steps(self, item: CosemAttributeDescriptorWithSelection) -> Steps[Data]:
        names = yield from self._short_names_steps()
        planned = self._plan(names, item)
        if isinstance(planned, ServiceError):
            raise planned
        what = describe_attribute(item.attribute)
        (result,) = yield from self._read_steps((planned,), what)
        if isinstance(result, DataAccessResult):
            raise result_error(result, what)
        return result

    def _read_many_steps(
        self, items: tuple[CosemAttributeDescriptorWithSelection, ...]
    ) -> Steps[list[Data | ServiceError]]:
        names = yield from self._short_names_steps()
        planned = [self._plan(names, item) for item in items]
        results: list[Data | ServiceError] = [
            p if isinstance(p, ServiceError) else ServiceError("not read") for p in planned
        ]
        pending = {index: p for index, p in enumerate(planned) if not isinstance(p, ServiceError)}
        batches = self._read_batches(pending)
        while batches:
            batch = batches.pop(0)
            specifications = tuple(pending[index] for index in batch)
            if len(batch) == 1:
                what = describe_attribute(items[batch[0]].attribute)
                try:
                    values = yield from self._read_steps(specifications, what)
                except ServiceError as exc:
                    results[batch[0]] = exc
                    continue
            else:
                try:
                    values = yield from self._read_steps(specifications, f"READ of {len(batch)} variables")
                except ServiceUnsupportedError:
                    self._multiple_references_refused = True  # the meter only takes one at a time
                    batches[:0] = [[index] for index in batch]
                    continue
            for index, value in zip(batch, values, strict=True):
                describe = describe_attribute(items[index].attribute)
                results[index] = (
                    result_error(value, describe) if isinstance(value, DataAccessResult) else value
                )
        return results

    def _read_batches(self, pending: dict[int, VariableAccessSpecification]) -> list[list[int]]:
        """Split the variables into ReadRequests that fit the meter's PDU size (and the item cap)."""
        context = self._context
        if (
            context is None
            or not context.allows(Conformance.MULTIPLE_REFERENCES)
            or self._multiple_references_refused
        ):
            return [[index] for index in pending]
        cap = self._settings.max_list_items or len(pending) or 1
        batches: list[list[int]] = []
        current: list[int] = []
        size = 0
        for index, spec in pending.items():
            item_size = len(spec.encode())
            count = len(current) + 1
            request_size = 1 + len(encode_length(count)) + size + item_size
            if current and (count > cap or not self._request_fits(request_size)):
                batches.append(current)
                current, size = [], 0
            current.append(index)
            size += item_size
        if current:
            batches.append(current)
        return batches

    def _read_steps(
        self, specifications: tuple[VariableAccessSpecification, ...], what: str
    ) -> Steps[tuple[Data | DataAccessResult, ...]]:
        """One ReadRequest; the results in request order, data blocks acknowledged and joined."""
        raw = yield from self._exchange(ReadRequest(specifications).encode(), ApduTag.READ_RESPONSE, what)
        response = ReadResponse.decode(raw)
        block = response.block
        if block is not None:
            joined = yield from self._read_blocks(block, what)
            return decode_read_results(joined, len(specifications))
        if len(response.results) != len(specifications):
            raise ProtocolError(
                f"{what}: {len(response.results)} results for {len(specifications)} variables"
            )
        results: list[Data | DataAccessResult] = []
        for result in response.results:
            if isinstance(result, DataBlockResult):
                raise ProtocolError(f"{what}: a data block among other results")
            results.append(result)
        return tuple(results)

    def _read_blocks(self, first: DataBlockResult, what: str) -> Steps[bytes]:
        if first.block_number != 1:
            raise ProtocolError(f"{what}: the first data block is number {first.block_number}")
        joined = bytearray()
        block = first
        for count in range(1, self._max_blocks + 1):
            if block.block_number != count:
                raise ProtocolError(f"{what}: data block {block.block_number} where {count} was due")
            joined += block.raw_data
            if len(joined) > self._max_reassembled_size:
                raise ProtocolError(f"{what}: the data blocks exceed {self._max_reassembled_size} bytes")
            if block.last_block:
                return bytes(joined)
            if count == self._max_blocks:
                break
            request = ReadRequest((BlockNumberAccess(block.block_number),)).encode()
            response = ReadResponse.decode((yield from self._exchange(request, ApduTag.READ_RESPONSE, what)))
            if response.block is None:
                if len(response.results) == 1 and isinstance(response.results[0], DataAccessResult):
                    raise result_error(response.results[0], f"{what} (block transfer)")
                raise ProtocolError(f"{what}: block transfer interrupted by another kind of answer")
            block = response.block
        raise ProtocolError(f"{what}: more than {self._max_blocks} blocks")

    # --- methods -----------------------------------------------------------------------------------

    def _sn_action_steps(self, method: CosemMethodDescriptor, parameters: Data | None) -> Steps[Data | None]:
        names = yield from self._short_names_steps()
        what = describe_method(method)
        name = names.method_name(method.class_id, method.instance_id, method.method_id, what)
        if isinstance(name, ServiceError):
            raise name
        if parameters is not None and not (
            self._context is not None and self._context.allows(Conformance.PARAMETERIZED_ACCESS)
        ):
            yield from self._write_specification_steps(VariableName(name), parameters, what)
            return None
        return (yield from self._invoke_by_reading(name, parameters, what))

    def _invoke_by_reading(self, name: int, parameters: Data | None, what: str) -> Steps[Data | None]:
        """Read a method's name: the return value (None for null-data) or the meter's refusal.

        The selector of the parameterized-access means nothing for a method; 0 is sent (the gurux C
        server and this stack's simulator ignore it).
        """
        spec: VariableAccessSpecification = (
            VariableName(name) if parameters is None else ParameterizedAccess(name, 0, parameters)
        )
        (result,) = yield from self._read_steps((spec,), what)
        if isinstance(result, DataAccessResult):
            raise result_error(result, what)
        return None if result.tag is DataTag.NULL_DATA else result

    def _sn_hls_reply_steps(self, answer: Data) -> Steps[Data | None]:
        """HLS pass 3 and 4 by short name: Association SN's reply_to_HLS_authentication (method 8).

        Its base name is the vaa-name of the InitiateResponse (0xFA00 when the meter gave none): the
        object list cannot be read before the association is authenticated.
        """
        context = self._context
        base = context.vaa_name if context is not None and context.vaa_name is not None else None
        name = method_name(
            ASSOCIATION_SN_BASE_NAME if base is None else base,
            ASSOCIATION_SN_CLASS_ID,
            REPLY_TO_HLS_AUTHENTICATION_SN,
        )
        return (yield from self._invoke_by_reading(name, answer, "reply_to_HLS_authentication"))

    # --- WRITE -------------------------------------------------------------------------------------

    def _write_steps(self, attribute: CosemAttributeDescriptor, value: Data) -> Steps[None]:
        names = yield from self._short_names_steps()
        planned = self._plan(names, CosemAttributeDescriptorWithSelection(attribute))
        if isinstance(planned, ServiceError):
            raise planned
        yield from self._write_specification_steps(planned, value, describe_attribute(attribute))

    def _write_specification_steps(
        self, specification: VariableAccessSpecification, value: Data, what: str
    ) -> Steps[None]:
        request = WriteRequest((specification,), (value,))
        response = WriteResponse.decode(
            (yield from self._exchange(request.encode(), ApduTag.WRITE_RESPONSE, what))
        )
        if len(response.results) != 1:
            raise ProtocolError(f"{what}: {len(response.results)} results for one variable")
        if response.results[0] is not DataAccessResult.SUCCESS:
            raise result_error(response.results[0], what)
