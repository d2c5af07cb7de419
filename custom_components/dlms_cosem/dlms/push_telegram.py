"""One push telegram: what a decoded telegram is, and how one whole APDU or text telegram becomes one.

:func:`decode_push_apdu` takes a complete push APDU (a Data-Notification, ciphered or not) or a text
telegram (IEC 62056-21: a P1 telegram or a readout, also as the plaintext of a general-glo- or
general-ded-ciphering APDU, as the Luxembourg Smarty sends it) and gives a :class:`Telegram`, or raises
the DlmsError that says why not. The stream decoder (:mod:`.telegram`) cuts telegrams out of what
arrives on a port and hands each here; it re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from .apdu import DataNotification, GeneralBlockTransfer
from .apdu.tags import XdlmsTag
from .cosem_datetime import CosemDateTime
from .errors import (
    DecodeError,
    DlmsError,
    MissingKeyError,
    UnauthenticatedTelegramError,
    UncheckedTagError,
    WrongEncryptionKeyError,
)
from .list_identifiers import ListProfile
from .push import PushContent, extract_objects
from .reader import ByteReader
from .security import (
    CipheredApdu,
    SecurityKeys,
    decode_ciphered_apdu,
    is_ciphered_tag,
    read_ciphered_apdu,
    unprotect,
)
from .text import decode_text_telegram, is_text_telegram

# APDU tags a meter starts a push with when it sends no link-layer framing.
PUSH_APDU_TAGS = frozenset(
    {
        XdlmsTag.DATA_NOTIFICATION,
        XdlmsTag.GENERAL_GLO_CIPHERING,
        XdlmsTag.GENERAL_DED_CIPHERING,
        XdlmsTag.GENERAL_BLOCK_TRANSFER,
    }
)


class Framing(StrEnum):
    """How telegrams are delimited on the line."""

    HDLC = "hdlc"
    MBUS = "mbus"
    WRAPPER = "wrapper"
    APDU = "apdu"
    TEXT = "text"
    """IEC 62056-21 text: P1 telegrams and data readouts (see :mod:`.text`)."""


class SecurityLevel(StrEnum):
    """The protection a telegram arrived with."""

    NONE = "none"
    AUTHENTICATED = "authenticated"
    ENCRYPTED = "encrypted"
    AUTHENTICATED_ENCRYPTED = "authenticated+encrypted"


@dataclass(frozen=True, slots=True)
class Telegram:
    """A decoded push telegram."""

    framing: Framing
    apdu: bytes
    content: PushContent
    timestamp: CosemDateTime | None
    security: SecurityLevel = SecurityLevel.NONE
    authenticated: bool = False
    system_title: bytes | None = None
    invocation_counter: int | None = None
    long_invoke_id: int | None = None
    identification: str | None = None
    """A text telegram's identification line (``ISK5\\2M550T-1013``); None for binary telegrams."""


@dataclass(frozen=True, slots=True)
class TelegramFailure:
    """A telegram that arrived whole but could not be decoded, and why."""

    framing: Framing
    apdu: bytes
    error: DlmsError
    system_title: bytes | None = None
    invocation_counter: int | None = None


type TelegramEvent = Telegram | TelegramFailure


def _security_level(authenticated: bool, encrypted: bool) -> SecurityLevel:
    if authenticated and encrypted:
        return SecurityLevel.AUTHENTICATED_ENCRYPTED
    if encrypted:
        return SecurityLevel.ENCRYPTED
    if authenticated:
        return SecurityLevel.AUTHENTICATED
    return SecurityLevel.NONE


def decode_push_apdu(
    apdu: bytes,
    keys: SecurityKeys | None = None,
    framing: Framing = Framing.APDU,
    known_profile: ListProfile | None = None,
) -> Telegram:
    """Decode one complete push APDU (ciphered or not) into a telegram; raise a DlmsError if it fails.

    ``known_profile`` is the list profile an earlier telegram of the same meter named (see
    :func:`.push.extract_objects`).
    """
    return decode_push(apdu, keys, framing, known_profile, None)


def decode_push(
    apdu: bytes,
    keys: SecurityKeys | None,
    framing: Framing,
    known_profile: ListProfile | None,
    parsed: PushApdu | None,
) -> Telegram:
    """:func:`decode_push_apdu`, given the APDU's parse when finding its end already made one."""
    if not apdu:
        raise DecodeError("empty APDU")
    # With an authentication key, only a telegram whose tag verified is believed (no downgrade).
    authenticate = keys is not None and keys.authentication_key is not None
    if not is_ciphered_tag(apdu[0]):
        if authenticate:
            raise UnauthenticatedTelegramError
        if is_text_telegram(apdu):
            return _text_telegram(framing, apdu)
        notification = parsed if isinstance(parsed, DataNotification) else _decode_notification(apdu)
        return _telegram(framing, apdu, notification, known_profile=known_profile)
    ciphered = parsed if isinstance(parsed, CipheredApdu) else decode_ciphered_apdu(apdu)
    if keys is None or (keys.encryption_key is None and ciphered.control.encrypted):
        raise MissingKeyError("the telegram is encrypted: an encryption key is needed to read it")
    if authenticate and not ciphered.control.authenticated:
        raise UnauthenticatedTelegramError
    clear = unprotect(ciphered, keys)
    security = _security_level(ciphered.control.authenticated, ciphered.control.encrypted)
    try:
        if is_text_telegram(clear.plaintext):
            # The Luxembourg Smarty ciphers its P1 text telegram instead of a Data-Notification.
            text = _text_telegram(framing, clear.plaintext)
            return replace(
                text,
                security=security,
                authenticated=clear.verified,
                system_title=clear.system_title,
                invocation_counter=clear.invocation_counter,
            )
        notification = _decode_notification(clear.plaintext)
    except DlmsError as err:
        if not clear.verified and ciphered.control.encrypted:
            if ciphered.control.authenticated:
                raise UncheckedTagError from err  # a tag was there, no key to check it with
            raise WrongEncryptionKeyError from err
        raise
    return _telegram(
        framing,
        clear.plaintext,
        notification,
        security=security,
        authenticated=clear.verified,
        system_title=clear.system_title,
        invocation_counter=clear.invocation_counter,
        known_profile=known_profile,
    )


def _text_telegram(framing: Framing, raw: bytes) -> Telegram:
    """A text telegram (P1 or readout) as a telegram: its data sets are the content's objects."""
    text = decode_text_telegram(raw)
    content = text.content
    return Telegram(
        framing=framing,
        apdu=raw,
        content=content,
        timestamp=text.clock,
        identification=text.frame.identification,
    )


def _decode_notification(raw: bytes) -> DataNotification:
    """The Data-Notification ``raw`` holds whole; any other APDU is a DecodeError.

    A push is a Data-Notification, so no other decoder is looked up: the client's (GET, ACSE, short
    names) are imported on their first use, and a plaintext deciphered with a wrong key may start with
    their tags; importing a module there would block Home Assistant's event loop.
    """
    if not raw or raw[0] != XdlmsTag.DATA_NOTIFICATION:
        tag = f"tag 0x{raw[0]:02X}" if raw else "nothing"
        raise DecodeError(f"expected a Data-Notification, got APDU {tag}")
    return DataNotification.decode(raw)


def _telegram(
    framing: Framing,
    apdu: bytes,
    notification: DataNotification,
    *,
    security: SecurityLevel = SecurityLevel.NONE,
    authenticated: bool = False,
    system_title: bytes | None = None,
    invocation_counter: int | None = None,
    known_profile: ListProfile | None = None,
) -> Telegram:
    content = extract_objects(notification.body, known_profile)
    timestamp = notification.date_time if notification.date_time is not None else content.clock()
    return Telegram(
        framing=framing,
        apdu=apdu,
        content=content,
        timestamp=timestamp,
        security=security,
        authenticated=authenticated,
        system_title=system_title,
        invocation_counter=invocation_counter,
        long_invoke_id=notification.long_invoke_id,
    )


type PushApdu = DataNotification | CipheredApdu | GeneralBlockTransfer


def read_push_apdu(data: bytes | bytearray, offset: int = 0) -> tuple[int, PushApdu] | None:
    """The push APDU at ``data[offset]`` and where it ends; None when not (yet) whole.

    A wrong key still means it is a push APDU: ciphered ones are parsed, not deciphered. ``data`` is
    best ``bytes``: a reader over it shares it instead of copying it.
    """
    if len(data) <= offset or data[offset] not in PUSH_APDU_TAGS:
        return None
    reader = ByteReader(data, offset)
    parsed: PushApdu
    try:
        if is_ciphered_tag(data[offset]):
            parsed = read_ciphered_apdu(reader)
        elif data[offset] == XdlmsTag.GENERAL_BLOCK_TRANSFER:
            parsed = GeneralBlockTransfer.read(reader)
        else:
            parsed = DataNotification.read(reader)
    except DlmsError:
        return None
    return reader.position, parsed


def security_header(apdu: bytes) -> tuple[bytes | None, int | None]:
    """System title and invocation counter of a ciphered APDU, for reporting a failure."""
    if not apdu or not is_ciphered_tag(apdu[0]):
        return None, None
    try:
        ciphered = decode_ciphered_apdu(apdu)
    except DlmsError:
        return None, None
    return ciphered.system_title, ciphered.invocation_counter
