"""Decode any plain xDLMS or ACSE APDU by its tag.

Ciphered APDUs (glo-*, ded-*, general-glo/ded-ciphering, general-ciphering) are not decoded here:
:func:`decode_apdu` raises :class:`DecodeError` naming them, and the caller is expected to check
:func:`is_ciphered` first and hand those bytes to ``dlms.security``, which returns the plaintext APDU
to decode with this function. Information report, ACCESS and general-signing are reported as
unsupported the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import DecodeError
from .acse import AARE, AARQ, RLRE, RLRQ
from .action import ActionRequest, ActionResponse, decode_action_request, decode_action_response
from .block_transfer import GeneralBlockTransfer
from .data_notification import DataNotification, EventNotificationRequest
from .get import GetRequest, GetResponse, decode_get_request, decode_get_response
from .initiate import InitiateRequest, InitiateResponse
from .service_errors import ConfirmedServiceError, ExceptionResponse
from .set import SetRequest, SetResponse, decode_set_request, decode_set_response
from .short_name import ReadRequest, ReadResponse, WriteRequest, WriteResponse
from .tags import CIPHERED_TAGS, ApduTag

#: Every APDU :func:`decode_apdu` can return.
type Apdu = (
    AARQ
    | AARE
    | RLRQ
    | RLRE
    | InitiateRequest
    | InitiateResponse
    | ConfirmedServiceError
    | ExceptionResponse
    | GetRequest
    | GetResponse
    | SetRequest
    | SetResponse
    | ActionRequest
    | ActionResponse
    | DataNotification
    | EventNotificationRequest
    | GeneralBlockTransfer
    | ReadRequest
    | ReadResponse
    | WriteRequest
    | WriteResponse
)

_DECODERS: dict[int, Callable[[bytes], Apdu]] = {
    ApduTag.AARQ: AARQ.decode,
    ApduTag.AARE: AARE.decode,
    ApduTag.RLRQ: RLRQ.decode,
    ApduTag.RLRE: RLRE.decode,
    ApduTag.INITIATE_REQUEST: InitiateRequest.decode,
    ApduTag.INITIATE_RESPONSE: InitiateResponse.decode,
    ApduTag.CONFIRMED_SERVICE_ERROR: ConfirmedServiceError.decode,
    ApduTag.EXCEPTION_RESPONSE: ExceptionResponse.decode,
    ApduTag.GET_REQUEST: decode_get_request,
    ApduTag.GET_RESPONSE: decode_get_response,
    ApduTag.SET_REQUEST: decode_set_request,
    ApduTag.SET_RESPONSE: decode_set_response,
    ApduTag.ACTION_REQUEST: decode_action_request,
    ApduTag.ACTION_RESPONSE: decode_action_response,
    ApduTag.DATA_NOTIFICATION: DataNotification.decode,
    ApduTag.EVENT_NOTIFICATION_REQUEST: EventNotificationRequest.decode,
    ApduTag.GENERAL_BLOCK_TRANSFER: GeneralBlockTransfer.decode,
    ApduTag.READ_REQUEST: ReadRequest.decode,
    ApduTag.READ_RESPONSE: ReadResponse.decode,
    ApduTag.WRITE_REQUEST: WriteRequest.decode,
    ApduTag.WRITE_RESPONSE: WriteResponse.decode,
}


def is_ciphered(raw: bytes) -> bool:
    """Whether ``raw`` starts with the tag of a ciphered APDU (to be removed by ``dlms.security``)."""
    return bool(raw) and raw[0] in CIPHERED_TAGS


def decode_apdu(raw: bytes) -> Apdu:
    """The APDU in ``raw``, which must hold exactly one; every failure is a :class:`DecodeError`."""
    if not raw:
        raise DecodeError("empty APDU")
    tag = raw[0]
    decoder = _DECODERS.get(tag)
    if decoder is not None:
        return decoder(bytes(raw))
    if tag in CIPHERED_TAGS:
        raise DecodeError(
            f"ciphered APDU {ApduTag(tag).name.lower()} (0x{tag:02X}): decrypt it with dlms.security"
        )
    try:
        name = ApduTag(tag).name.lower()
    except ValueError:
        raise DecodeError(f"unknown APDU tag 0x{tag:02X}") from None
    raise DecodeError(f"unsupported APDU {name} (0x{tag:02X})")
