"""ACSE APDUs for DLMS: AARQ, AARE, RLRQ, RLRE (IEC 62056-5-3 clause 9, Green Book "COSEM AA").

Unlike xDLMS APDUs these are BER encoded: every field is tag, length, content. Fields the standard
defines but DLMS does not use (AE/AP invocation ids, implementation information) and fields this
decoder does not know are skipped, so a meter that sends extras still associates. The xDLMS
InitiateRequest/InitiateResponse travels inside ``user-information`` as an octet string; ciphered
variants (glo-/ded-initiate, general-glo-ciphering) are kept as bytes for ``dlms.security``.

Passwords (LLS) and the client's challenge (HLS) go in ``calling_authentication_value``; it is kept out
of ``repr`` and never put into an exception message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Self

from ..errors import DecodeError, EncodeError
from ..reader import ByteReader, encode_length
from .initiate import InitiateRequest, InitiateResponse
from .service_errors import ConfirmedServiceError
from .tags import CIPHERED_TAGS, ApduTag

#: joint-iso-itu-t(2) country(16) country-name(756) identified-organization(5) DLMS-UA(8).
_DLMS_UA_OID = bytes.fromhex("6085740508")
_OID_APPLICATION_CONTEXT = 1
_OID_AUTHENTICATION_MECHANISM = 2

# Universal BER tags used inside the context-specific fields.
_BER_INTEGER = 0x02
_BER_OCTET_STRING = 0x04
_BER_OID = 0x06
_AUTH_VALUE_CHARSTRING = 0x80

#: ``BIT STRING`` with 7 unused bits and bit 0 set: the ``authentication`` functional unit and the
#: ``version1`` protocol version share this encoding.
_SINGLE_BIT_SET = b"\x07\x80"

_MAX_TAG_BYTES = 4


class ApplicationContextName(IntEnum):
    """Last arc of the application context OID 2.16.756.5.8.1.x: referencing and ciphering."""

    LOGICAL_NAME_REFERENCING_NO_CIPHERING = 1
    SHORT_NAME_REFERENCING_NO_CIPHERING = 2
    LOGICAL_NAME_REFERENCING_WITH_CIPHERING = 3
    SHORT_NAME_REFERENCING_WITH_CIPHERING = 4

    @property
    def ciphered(self) -> bool:
        """Whether xDLMS APDUs in this context are protected (and the calling AP title is needed)."""
        return self in {
            ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
            ApplicationContextName.SHORT_NAME_REFERENCING_WITH_CIPHERING,
        }

    @property
    def oid(self) -> str:
        """Dotted OID text."""
        return f"2.16.756.5.8.1.{int(self)}"


class AuthenticationMechanism(IntEnum):
    """Last arc of the mechanism name OID 2.16.756.5.8.2.x (Green Book security mechanisms)."""

    LOWEST_LEVEL = 0
    LOW_LEVEL = 1
    HIGH_LEVEL = 2
    HIGH_LEVEL_MD5 = 3
    HIGH_LEVEL_SHA1 = 4
    HIGH_LEVEL_GMAC = 5
    HIGH_LEVEL_SHA256 = 6
    HIGH_LEVEL_ECDSA = 7

    @property
    def oid(self) -> str:
        """Dotted OID text."""
        return f"2.16.756.5.8.2.{int(self)}"


class AssociationResult(IntEnum):
    """``Association-result`` of an AARE."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class AcseServiceUserDiagnostic(IntEnum):
    """``acse-service-user`` result-source-diagnostic: why the server's application refused."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


class AcseServiceProviderDiagnostic(IntEnum):
    """``acse-service-provider`` result-source-diagnostic: why the ACSE layer itself refused."""

    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_ACSE_VERSION = 2


type ResultSourceDiagnostic = AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic

_DIAGNOSTIC_SERVICE_USER = 0xA1
_DIAGNOSTIC_SERVICE_PROVIDER = 0xA2


class ReleaseRequestReason(IntEnum):
    """``Release-request-reason`` of an RLRQ."""

    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


class ReleaseResponseReason(IntEnum):
    """``Release-response-reason`` of an RLRE."""

    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


# --- BER helpers --------------------------------------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(content)) + content


def _read_tag(reader: ByteReader) -> int:
    """A BER identifier; multi-byte (high tag number) forms are folded into one int for skipping."""
    first = reader.u8("BER tag")
    if first & 0x1F != 0x1F:
        return first
    tag = first
    for _ in range(_MAX_TAG_BYTES):
        following = reader.u8("BER tag")
        tag = (tag << 8) | following
        if not following & 0x80:
            return tag
    raise DecodeError("BER tag longer than supported")


def _read_fields(reader: ByteReader, what: str) -> dict[int, bytes]:
    """Every TLV until the end, by tag; a tag given twice is malformed."""
    fields: dict[int, bytes] = {}
    while not reader.at_end:
        tag = _read_tag(reader)
        content = reader.take(reader.length(f"{what} field length"), f"{what} field")
        if tag in fields:
            raise DecodeError(f"{what} field 0x{tag:02X} given twice")
        fields[tag] = content
    return fields


def _unwrap(content: bytes, expected_tag: int, what: str) -> bytes:
    """The content of a single TLV that must fill ``content`` exactly."""
    reader = ByteReader(content)
    tag = reader.u8(f"{what} tag")
    if tag != expected_tag:
        raise DecodeError(f"{what}: expected tag 0x{expected_tag:02X}, got 0x{tag:02X}")
    inner = reader.take(reader.length(f"{what} length"), what)
    reader.expect_end(what)
    return inner


def _ber_integer(content: bytes, what: str) -> int:
    if not 1 <= len(content) <= 4:
        raise DecodeError(f"{what}: integer of {len(content)} bytes")
    return int.from_bytes(content, "big", signed=True)


def _ber_integer_content(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)


def _encode_ber_integer(value: int) -> bytes:
    return _tlv(_BER_INTEGER, _ber_integer_content(value))


def _dlms_oid(kind: int, value: int) -> bytes:
    return _DLMS_UA_OID + bytes([kind, value])


def _parse_dlms_oid(oid: bytes, kind: int, what: str) -> int:
    if len(oid) != len(_DLMS_UA_OID) + 2 or not oid.startswith(_DLMS_UA_OID) or oid[-2] != kind:
        raise DecodeError(f"{what}: OID {oid.hex().upper()} is not a DLMS UA {what}")
    return oid[-1]


def _decode_application_context(content: bytes) -> ApplicationContextName:
    oid = _unwrap(content, _BER_OID, "application-context-name")
    value = _parse_dlms_oid(oid, _OID_APPLICATION_CONTEXT, "application context")
    try:
        return ApplicationContextName(value)
    except ValueError:
        raise DecodeError(f"unknown application context name 2.16.756.5.8.1.{value}") from None


def _encode_application_context(name: ApplicationContextName) -> bytes:
    return _tlv(0xA1, _tlv(_BER_OID, _dlms_oid(_OID_APPLICATION_CONTEXT, name)))


def _decode_mechanism(oid: bytes) -> AuthenticationMechanism:
    value = _parse_dlms_oid(oid, _OID_AUTHENTICATION_MECHANISM, "mechanism name")
    try:
        return AuthenticationMechanism(value)
    except ValueError:
        raise DecodeError(f"unknown authentication mechanism 2.16.756.5.8.2.{value}") from None


def _decode_authentication_value(content: bytes) -> bytes:
    reader = ByteReader(content)
    choice = reader.u8("authentication-value choice")
    if choice != _AUTH_VALUE_CHARSTRING:
        raise DecodeError(f"unsupported authentication-value choice 0x{choice:02X}")
    value = reader.take(reader.length("authentication-value length"), "authentication-value")
    reader.expect_end("authentication-value")
    return value


def _encode_authentication_value(tag: int, value: bytes) -> bytes:
    return _tlv(tag, _tlv(_AUTH_VALUE_CHARSTRING, value))


def _user_information(content: bytes) -> bytes:
    """The xDLMS APDU inside ``user-information``: an explicit octet string."""
    inner = _unwrap(content, _BER_OCTET_STRING, "user-information")
    if not inner:
        raise DecodeError("empty user-information")
    return inner


def _keep_ciphered(inner: bytes, what: str) -> bytes:
    if inner[0] not in CIPHERED_TAGS:
        raise DecodeError(f"unexpected APDU tag 0x{inner[0]:02X} in {what} user-information")
    return inner


def _decode_request_information(content: bytes) -> InitiateRequest | bytes:
    inner = _user_information(content)
    if inner[0] == ApduTag.INITIATE_REQUEST:
        return InitiateRequest.decode(inner)
    return _keep_ciphered(inner, "request")


def _decode_response_information(content: bytes) -> InitiateResponse | ConfirmedServiceError | bytes:
    inner = _user_information(content)
    if inner[0] == ApduTag.INITIATE_RESPONSE:
        return InitiateResponse.decode(inner)
    if inner[0] == ApduTag.CONFIRMED_SERVICE_ERROR:
        return ConfirmedServiceError.decode(inner)
    return _keep_ciphered(inner, "response")


def _encode_user_information(
    value: InitiateRequest | InitiateResponse | ConfirmedServiceError | bytes,
) -> bytes:
    inner = value if isinstance(value, bytes) else value.encode()
    return _tlv(0xBE, _tlv(_BER_OCTET_STRING, inner))


def _optional[T](content: bytes | None, decode: Callable[[bytes], T]) -> T | None:
    return None if content is None else decode(content)


def _open(raw: bytes, tag: ApduTag) -> dict[int, bytes]:
    reader = ByteReader(raw)
    found = reader.u8("tag")
    if found != tag:
        raise DecodeError(f"expected {tag.name} tag 0x{int(tag):02X}, got 0x{found:02X}")
    return _read_body_fields(reader, tag)


def _read_body_fields(reader: ByteReader, tag: ApduTag) -> dict[int, bytes]:
    body = reader.take(reader.length(f"{tag.name} length"), tag.name)
    reader.expect_end(tag.name)
    return _read_fields(ByteReader(body), tag.name)


def _octet_string_field(fields: dict[int, bytes], tag: int, what: str) -> bytes | None:
    content = fields.get(tag)
    return None if content is None else _unwrap(content, _BER_OCTET_STRING, what)


def _check_single_bit(content: bytes | None, what: str) -> None:
    if content is not None and (len(content) < 2 or content[0] > 7):
        raise DecodeError(f"malformed {what} bit string")


_LN_NO_CIPHERING = ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING


# --- AARQ ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AARQ:
    """``AARQ`` (A-ASSOCIATE request, tag 0x60): the client asks for an application association.

    ``sender-acse-requirements`` (the authentication functional unit) is sent exactly when a
    ``mechanism_name`` is given. ``calling_ap_title`` is the client system title, required by ciphered
    contexts and HLS. ``user_information`` is a plain InitiateRequest or, when ciphered, the protected
    APDU bytes.
    """

    application_context_name: ApplicationContextName = _LN_NO_CIPHERING
    user_information: InitiateRequest | bytes | None = field(default_factory=InitiateRequest)
    mechanism_name: AuthenticationMechanism | None = None
    calling_authentication_value: bytes | None = field(default=None, repr=False)
    calling_ap_title: bytes | None = None
    called_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    protocol_version: bool = False

    TAG = ApduTag.AARQ

    def __post_init__(self) -> None:
        if self.calling_authentication_value is not None and self.mechanism_name is None:
            raise EncodeError("an authentication value needs a mechanism name")

    def encode(self) -> bytes:
        """The APDU bytes."""
        body = b""
        if self.protocol_version:
            body += _tlv(0x80, _SINGLE_BIT_SET)
        body += _encode_application_context(self.application_context_name)
        if self.called_ap_title is not None:
            body += _tlv(0xA2, _tlv(_BER_OCTET_STRING, self.called_ap_title))
        if self.calling_ap_title is not None:
            body += _tlv(0xA6, _tlv(_BER_OCTET_STRING, self.calling_ap_title))
        if self.calling_ae_qualifier is not None:
            body += _tlv(0xA7, _tlv(_BER_OCTET_STRING, self.calling_ae_qualifier))
        if self.mechanism_name is not None:
            body += _tlv(0x8A, _SINGLE_BIT_SET)
            body += _tlv(0x8B, _dlms_oid(_OID_AUTHENTICATION_MECHANISM, self.mechanism_name))
        if self.calling_authentication_value is not None:
            body += _encode_authentication_value(0xAC, self.calling_authentication_value)
        if self.user_information is not None:
            body += _encode_user_information(self.user_information)
        return _tlv(self.TAG, body)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole AARQ."""
        return cls._from_fields(_open(raw, ApduTag.AARQ))

    @classmethod
    def _from_fields(cls, fields: dict[int, bytes]) -> Self:
        context = fields.get(0xA1)
        if context is None:
            raise DecodeError("AARQ without application-context-name")
        _check_single_bit(fields.get(0x80), "protocol-version")
        _check_single_bit(fields.get(0x8A), "sender-acse-requirements")
        mechanism_oid = fields.get(0x8B)
        auth_value = fields.get(0xAC)
        mechanism = None if mechanism_oid is None else _decode_mechanism(mechanism_oid)
        if auth_value is not None and mechanism is None:
            raise DecodeError("AARQ authentication value without mechanism name")
        user_information = fields.get(0xBE)
        return cls(
            application_context_name=_decode_application_context(context),
            user_information=_optional(user_information, _decode_request_information),
            mechanism_name=mechanism,
            calling_authentication_value=_optional(auth_value, _decode_authentication_value),
            calling_ap_title=_octet_string_field(fields, 0xA6, "calling-AP-title"),
            called_ap_title=_octet_string_field(fields, 0xA2, "called-AP-title"),
            calling_ae_qualifier=_octet_string_field(fields, 0xA7, "calling-AE-qualifier"),
            protocol_version=0x80 in fields,
        )


# --- AARE ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AARE:
    """``AARE`` (A-ASSOCIATE response, tag 0x61): the server's verdict on an AARQ.

    With HLS the association is accepted pending authentication: ``result`` is accepted, the
    diagnostic is ``AUTHENTICATION_REQUIRED`` and ``responding_authentication_value`` holds the server
    challenge (StoC). ``user_information`` is an InitiateResponse, a Confirmed-ServiceError when the
    xDLMS context was refused, or the ciphered bytes.
    """

    result: AssociationResult = AssociationResult.ACCEPTED
    result_source_diagnostic: ResultSourceDiagnostic = AcseServiceUserDiagnostic.NULL
    application_context_name: ApplicationContextName = _LN_NO_CIPHERING
    user_information: InitiateResponse | ConfirmedServiceError | bytes | None = None
    mechanism_name: AuthenticationMechanism | None = None
    responding_authentication_value: bytes | None = None
    responding_ap_title: bytes | None = None
    responding_ae_qualifier: bytes | None = None
    protocol_version: bool = False

    TAG = ApduTag.AARE

    @property
    def accepted(self) -> bool:
        """Whether the association was accepted (possibly still pending HLS authentication)."""
        return self.result is AssociationResult.ACCEPTED

    def encode(self) -> bytes:
        """The APDU bytes."""
        body = b""
        if self.protocol_version:
            body += _tlv(0x80, _SINGLE_BIT_SET)
        body += _encode_application_context(self.application_context_name)
        body += _tlv(0xA2, _encode_ber_integer(self.result))
        source = (
            _DIAGNOSTIC_SERVICE_USER
            if isinstance(self.result_source_diagnostic, AcseServiceUserDiagnostic)
            else _DIAGNOSTIC_SERVICE_PROVIDER
        )
        body += _tlv(0xA3, _tlv(source, _encode_ber_integer(self.result_source_diagnostic)))
        if self.responding_ap_title is not None:
            body += _tlv(0xA4, _tlv(_BER_OCTET_STRING, self.responding_ap_title))
        if self.responding_ae_qualifier is not None:
            body += _tlv(0xA5, _tlv(_BER_OCTET_STRING, self.responding_ae_qualifier))
        if self.mechanism_name is not None:
            body += _tlv(0x88, _SINGLE_BIT_SET)
            body += _tlv(0x89, _dlms_oid(_OID_AUTHENTICATION_MECHANISM, self.mechanism_name))
        if self.responding_authentication_value is not None:
            body += _encode_authentication_value(0xAA, self.responding_authentication_value)
        if self.user_information is not None:
            body += _encode_user_information(self.user_information)
        return _tlv(self.TAG, body)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole AARE."""
        return cls._from_fields(_open(raw, ApduTag.AARE))

    @classmethod
    def _from_fields(cls, fields: dict[int, bytes]) -> Self:
        context = fields.get(0xA1)
        result = fields.get(0xA2)
        diagnostic = fields.get(0xA3)
        if context is None or result is None or diagnostic is None:
            raise DecodeError("AARE without application-context-name, result or result-source-diagnostic")
        _check_single_bit(fields.get(0x80), "protocol-version")
        _check_single_bit(fields.get(0x88), "responder-acse-requirements")
        result_value = _ber_integer(_unwrap(result, _BER_INTEGER, "result"), "result")
        try:
            association_result = AssociationResult(result_value)
        except ValueError:
            raise DecodeError(f"unknown association result {result_value}") from None
        mechanism_oid = fields.get(0x89)
        auth_value = fields.get(0xAA)
        user_information = fields.get(0xBE)
        return cls(
            result=association_result,
            result_source_diagnostic=_decode_diagnostic(diagnostic),
            application_context_name=_decode_application_context(context),
            user_information=_optional(user_information, _decode_response_information),
            mechanism_name=None if mechanism_oid is None else _decode_mechanism(mechanism_oid),
            responding_authentication_value=_optional(auth_value, _decode_authentication_value),
            responding_ap_title=_octet_string_field(fields, 0xA4, "responding-AP-title"),
            responding_ae_qualifier=_octet_string_field(fields, 0xA5, "responding-AE-qualifier"),
            protocol_version=0x80 in fields,
        )


def _decode_diagnostic(content: bytes) -> ResultSourceDiagnostic:
    reader = ByteReader(content)
    source = reader.u8("result-source-diagnostic choice")
    inner = reader.take(reader.length("result-source-diagnostic length"), "result-source-diagnostic")
    reader.expect_end("result-source-diagnostic")
    value = _ber_integer(_unwrap(inner, _BER_INTEGER, "result-source-diagnostic"), "result-source-diagnostic")
    try:
        if source == _DIAGNOSTIC_SERVICE_USER:
            return AcseServiceUserDiagnostic(value)
        if source == _DIAGNOSTIC_SERVICE_PROVIDER:
            return AcseServiceProviderDiagnostic(value)
    except ValueError:
        raise DecodeError(f"unknown result-source-diagnostic {value}") from None
    raise DecodeError(f"unknown result-source-diagnostic choice 0x{source:02X}")


# --- RLRQ / RLRE --------------------------------------------------------------------------------------


def _decode_reason(fields: dict[int, bytes], what: str) -> int | None:
    content = fields.get(0x80)
    return None if content is None else _ber_integer(content, what)


def _encode_reason(reason: int | None) -> bytes:
    if reason is None:
        return b""
    return _tlv(0x80, _ber_integer_content(reason))


@dataclass(frozen=True, slots=True)
class RLRQ:
    """``RLRQ`` (A-RELEASE request, tag 0x62): the client ends the association.

    In a ciphered context the user-information carries a protected InitiateRequest (kept as bytes).
    """

    reason: ReleaseRequestReason | None = ReleaseRequestReason.NORMAL
    user_information: InitiateRequest | bytes | None = None

    TAG = ApduTag.RLRQ

    def encode(self) -> bytes:
        """The APDU bytes."""
        body = _encode_reason(self.reason)
        if self.user_information is not None:
            body += _encode_user_information(self.user_information)
        return _tlv(self.TAG, body)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole RLRQ."""
        return cls._from_fields(_open(raw, ApduTag.RLRQ))

    @classmethod
    def _from_fields(cls, fields: dict[int, bytes]) -> Self:
        value = _decode_reason(fields, "release-request-reason")
        try:
            reason = None if value is None else ReleaseRequestReason(value)
        except ValueError:
            raise DecodeError(f"unknown release-request-reason {value}") from None
        user_information = fields.get(0xBE)
        return cls(
            reason=reason,
            user_information=_optional(user_information, _decode_request_information),
        )


@dataclass(frozen=True, slots=True)
class RLRE:
    """``RLRE`` (A-RELEASE response, tag 0x63): the server confirms the release."""

    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: InitiateResponse | ConfirmedServiceError | bytes | None = None

    TAG = ApduTag.RLRE

    def encode(self) -> bytes:
        """The APDU bytes."""
        body = _encode_reason(self.reason)
        if self.user_information is not None:
            body += _encode_user_information(self.user_information)
        return _tlv(self.TAG, body)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole RLRE."""
        return cls._from_fields(_open(raw, ApduTag.RLRE))

    @classmethod
    def _from_fields(cls, fields: dict[int, bytes]) -> Self:
        value = _decode_reason(fields, "release-response-reason")
        try:
            reason = None if value is None else ReleaseResponseReason(value)
        except ValueError:
            raise DecodeError(f"unknown release-response-reason {value}") from None
        user_information = fields.get(0xBE)
        return cls(
            reason=reason,
            user_information=_optional(user_information, _decode_response_information),
        )
