"""ACTION service (logical name referencing): invoke a method, normal form.

Method parameters and return values are single A-XDR values; the pblock (block transfer) and
with-list variants are not modelled and are reported as unsupported on decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..axdr import Data, decode_data, encode_data
from ..errors import DecodeError
from .common import (
    CosemMethodDescriptor,
    InvokeIdAndPriority,
    expect_type,
    finish,
    open_service_apdu,
    read_optional_flag,
    service_header,
)
from .get import GetDataResult, encode_get_data_result, read_get_data_result
from .service_errors import ActionResult, read_action_result
from .tags import ActionRequestType, ActionResponseType, ApduTag


@dataclass(frozen=True, slots=True)
class ActionRequestNormal:
    """``Action-Request-Normal``: invoke one method, with optional parameters."""

    method: CosemMethodDescriptor
    parameters: Data | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[ActionRequestType] = ActionRequestType.NORMAL

    def encode(self) -> bytes:
        """The APDU bytes."""
        parameters = b"\x00" if self.parameters is None else b"\x01" + encode_data(self.parameters)
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + self.method.encode()
            + parameters
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_action_request(raw))


type ActionRequest = ActionRequestNormal


def decode_action_request(raw: bytes) -> ActionRequest:
    """Parse an Action-Request (tag 0xC3); only the normal CHOICE is supported."""
    reader, choice, invoke = open_service_apdu(raw, ApduTag.ACTION_REQUEST)
    if choice != ActionRequestType.NORMAL:
        raise DecodeError(f"unsupported action-request choice {choice}")
    method = CosemMethodDescriptor.read(reader)
    parameters = decode_data(reader) if read_optional_flag(reader, "method-invocation-parameters") else None
    finish(reader, "action-request")
    return ActionRequestNormal(method, parameters, invoke)


@dataclass(frozen=True, slots=True)
class ActionResponseNormal:
    """``Action-Response-Normal``: the method's result and, optionally, what it returned."""

    result: ActionResult
    return_parameters: GetDataResult | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    TAG: ClassVar[ApduTag] = ApduTag.ACTION_RESPONSE
    CHOICE: ClassVar[ActionResponseType] = ActionResponseType.NORMAL

    def encode(self) -> bytes:
        """The APDU bytes."""
        returned = (
            b"\x00"
            if self.return_parameters is None
            else b"\x01" + encode_get_data_result(self.return_parameters)
        )
        return (
            service_header(self.TAG, self.CHOICE, self.invoke_id_and_priority)
            + bytes([self.result])
            + returned
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole APDU that must be this CHOICE."""
        return expect_type(cls, decode_action_response(raw))


type ActionResponse = ActionResponseNormal


def decode_action_response(raw: bytes) -> ActionResponse:
    """Parse an Action-Response (tag 0xC7); only the normal CHOICE is supported."""
    reader, choice, invoke = open_service_apdu(raw, ApduTag.ACTION_RESPONSE)
    if choice != ActionResponseType.NORMAL:
        raise DecodeError(f"unsupported action-response choice {choice}")
    result = read_action_result(reader)
    returned = read_get_data_result(reader) if read_optional_flag(reader, "return-parameters") else None
    finish(reader, "action-response")
    return ActionResponseNormal(result, returned, invoke)
