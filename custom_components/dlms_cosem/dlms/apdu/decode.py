"""Decode any plain xDLMS or ACSE APDU by its tag.

Ciphered APDUs (glo-*, ded-*, general-glo/ded-ciphering, general-ciphering) are not decoded here:
:func:`decode_apdu` raises :class:`DecodeError` naming them, and the caller is expected to check
:func:`is_ciphered` first and hand those bytes to ``dlms.security``, which returns the plaintext APDU
to decode with this function. Information report, ACCESS and general-signing are reported as
unsupported the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, cast

from ..errors import DecodeError
from .block_transfer import GeneralBlockTransfer
from .data_notification import DataNotification, EventNotificationRequest
from .tags import CIPHERED_TAGS, ApduTag

if TYPE_CHECKING:
    from .acse import AARE, AARQ, RLRE, RLRQ
    from .action import ActionRequest, ActionResponse
    from .get import GetRequest, GetResponse
    from .initiate import InitiateRequest, InitiateResponse
    from .service_errors import ConfirmedServiceError, ExceptionResponse
    from .set import SetRequest, SetResponse
    from .short_name import ReadRequest, ReadResponse, WriteRequest, WriteResponse

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

# What a pushed telegram holds is decoded by modules imported above; the client's APDUs (ACSE, GET,
# SET, ACTION, short names) are imported on their first decode, so the push path never loads them.
_DECODERS: dict[int, Callable[[bytes], Apdu]] = {
    ApduTag.DATA_NOTIFICATION: DataNotification.decode,
    ApduTag.EVENT_NOTIFICATION_REQUEST: EventNotificationRequest.decode,
    ApduTag.GENERAL_BLOCK_TRANSFER: GeneralBlockTransfer.decode,
}

#: Tag -> (module, decoder: a function, or "Class.decode"), for the decoders loaded on first use.
_LAZY_DECODERS: dict[int, tuple[str, str]] = {
    ApduTag.AARQ: ("acse", "AARQ.decode"),
    ApduTag.AARE: ("acse", "AARE.decode"),
    ApduTag.RLRQ: ("acse", "RLRQ.decode"),
    ApduTag.RLRE: ("acse", "RLRE.decode"),
    ApduTag.INITIATE_REQUEST: ("initiate", "InitiateRequest.decode"),
    ApduTag.INITIATE_RESPONSE: ("initiate", "InitiateResponse.decode"),
    ApduTag.CONFIRMED_SERVICE_ERROR: ("service_errors", "ConfirmedServiceError.decode"),
    ApduTag.EXCEPTION_RESPONSE: ("service_errors", "ExceptionResponse.decode"),
    ApduTag.GET_REQUEST: ("get", "decode_get_request"),
    ApduTag.GET_RESPONSE: ("get", "decode_get_response"),
    ApduTag.SET_REQUEST: ("set", "decode_set_request"),
    ApduTag.SET_RESPONSE: ("set", "decode_set_response"),
    ApduTag.ACTION_REQUEST: ("action", "decode_action_request"),
    ApduTag.ACTION_RESPONSE: ("action", "decode_action_response"),
    ApduTag.READ_REQUEST: ("short_name", "ReadRequest.decode"),
    ApduTag.READ_RESPONSE: ("short_name", "ReadResponse.decode"),
    ApduTag.WRITE_REQUEST: ("short_name", "WriteRequest.decode"),
    ApduTag.WRITE_RESPONSE: ("short_name", "WriteResponse.decode"),
}


def _load_decoder(tag: int) -> Callable[[bytes], Apdu] | None:
    """The decoder of ``tag`` from its module, imported now and remembered; None for other tags."""
    where = _LAZY_DECODERS.get(tag)
    if where is None:
        return None
    module, path = where
    found: object = import_module(f".{module}", __package__)
    for name in path.split("."):
        found = getattr(found, name)
    decoder = cast("Callable[[bytes], Apdu]", found)
    _DECODERS[tag] = decoder
    return decoder


def is_ciphered(raw: bytes) -> bool:
    """Whether ``raw`` starts with the tag of a ciphered APDU (to be removed by ``dlms.security``)."""
    return bool(raw) and raw[0] in CIPHERED_TAGS


def decode_apdu(raw: bytes) -> Apdu:
    """The APDU in ``raw``, which must hold exactly one; every failure is a :class:`DecodeError`."""
    if not raw:
        raise DecodeError("empty APDU")
    tag = raw[0]
    decoder = _DECODERS.get(tag) or _load_decoder(tag)
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
