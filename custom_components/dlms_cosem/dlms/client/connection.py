"""Sans-I/O DLMS client: association, GET/SET/ACTION, block transfer and ciphering (IEC 62056-5-3).

:class:`ClientConnection` holds the state of one application association (negotiated context,
invoke ids, invocation counters) and hands out :class:`Operation` objects. An operation is a short
conversation: it gives the APDU to send, takes the meter's answer and either gives the next APDU (a
Get-Request-Next, the next batch of a GET-with-list, HLS pass 3) or finishes with a result or a typed
error. No I/O happens here; the asyncio :class:`~.client.DlmsClient` carries the bytes.

When the association is ciphered every request is wrapped into its glo-ciphered counterpart with the
next invocation counter, and every answer must come back protected at least as strongly, from the
meter's system title, with an invocation counter above the last one seen; only exception-responses
and confirmed-service-errors may come unprotected (they carry no data to trust).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum

from ..apdu import (
    AARE,
    AARQ,
    DEFAULT_MAX_REASSEMBLED_SIZE,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    ApplicationContextName,
    ApplicationReferenceError,
    AssociationResult,
    AuthenticationMechanism,
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
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    ReleaseRequestReason,
    SelectiveAccessDescriptor,
    ServiceErrorType,
    SetRequestNormal,
    SetResponseNormal,
    StateError,
    VdeStateError,
    decode_action_response,
    decode_get_response,
    decode_set_response,
    is_ciphered,
)
from ..axdr import Data, DataTag
from ..errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    ConnectionLostError,
    DecodeError,
    DecryptionError,
    DlmsError,
    EncodeError,
    ObjectUndefinedError,
    ProtocolError,
    SecurityError,
    ServiceError,
)
from ..reader import encode_length
from ..security import (
    TAG_LENGTH,
    SecurityKeys,
    decode_ciphered_apdu,
    hls_gmac_response,
    protect,
    unprotect,
    verify_hls_gmac_response,
)
from .objects import ASSOCIATION_LN_CLASS_ID, CURRENT_ASSOCIATION
from .settings import (
    INVOCATION_COUNTER_MAX,
    SYSTEM_TITLE_LENGTH,
    Authentication,
    ClientSettings,
    InvalidSettingsError,
)

#: A conversation: yields each APDU to send, receives each answer, returns the result.
type Steps[T] = Generator[bytes, bytes, T]

#: Association LN method 1, ``reply_to_HLS_authentication``: HLS pass 3 and 4.
REPLY_TO_HLS_AUTHENTICATION = 1
MIN_CHALLENGE_LENGTH = 8
MAX_CHALLENGE_LENGTH = 64
DEFAULT_CHALLENGE_LENGTH = 16
#: Bound on the blocks of one GET, so a meter sending empty blocks forever cannot hold the client.
DEFAULT_MAX_BLOCKS = 100_000

_INVOKE_IDS = 16
_SECURITY_HEADER = 5  # security control and invocation counter

_GLO_REQUEST_TAGS: dict[int, ApduTag] = {
    ApduTag.INITIATE_REQUEST: ApduTag.GLO_INITIATE_REQUEST,
    ApduTag.GET_REQUEST: ApduTag.GLO_GET_REQUEST,
    ApduTag.SET_REQUEST: ApduTag.GLO_SET_REQUEST,
    ApduTag.ACTION_REQUEST: ApduTag.GLO_ACTION_REQUEST,
}
_GLO_RESPONSE_TAGS = frozenset(
    {
        ApduTag.GLO_INITIATE_RESPONSE,
        ApduTag.GLO_CONFIRMED_SERVICE_ERROR,
        ApduTag.GLO_GET_RESPONSE,
        ApduTag.GLO_SET_RESPONSE,
        ApduTag.GLO_ACTION_RESPONSE,
        ApduTag.GENERAL_GLO_CIPHERING,
    }
)
_DED_RESPONSE_TAGS = frozenset(
    {
        ApduTag.DED_INITIATE_RESPONSE,
        ApduTag.DED_CONFIRMED_SERVICE_ERROR,
        ApduTag.DED_GET_RESPONSE,
        ApduTag.DED_SET_RESPONSE,
        ApduTag.DED_ACTION_RESPONSE,
        ApduTag.GENERAL_DED_CIPHERING,
    }
)
_UNPROTECTED_NEGATIVE_TAGS = frozenset({ApduTag.EXCEPTION_RESPONSE, ApduTag.CONFIRMED_SERVICE_ERROR})


class NotAssociatedError(ConnectionLostError):
    """The meter answered as if there were no association (it expired or the meter dropped it)."""


class ServiceUnsupportedError(ServiceError):
    """The meter does not support the service asked for (exception-response: service not supported)."""


class AssociationState(Enum):
    """Where the association stands."""

    NOT_ASSOCIATED = "not associated"
    ASSOCIATING = "associating"
    AUTHENTICATING = "authenticating"
    ASSOCIATED = "associated"
    RELEASING = "releasing"


@dataclass(frozen=True, slots=True)
class NegotiatedContext:
    """What the meter accepted in its AARE: services, PDU size and who it is."""

    conformance: Conformance
    server_max_pdu_size: int
    dlms_version: int
    vaa_name: int
    application_context_name: ApplicationContextName
    server_system_title: bytes | None = None

    def allows(self, service: Conformance) -> bool:
        """Whether every bit of ``service`` was negotiated."""
        return self.conformance & service == service


class Operation[T]:
    """One conversation with the meter, driven by the caller.

    Send :attr:`request`, pass the answer to :meth:`receive`; repeat while it returns the next
    request, then read :meth:`result`. Errors are raised by :meth:`receive` (or on creation, when the
    operation cannot even start); after one, the operation is over.
    """

    __slots__ = ("_outcome", "_request", "_steps")

    def __init__(self, steps: Steps[T]) -> None:
        self._steps = steps
        self._request: bytes | None = None
        self._outcome: tuple[T] | None = None
        self._advance(None)

    def _advance(self, answer: bytes | None) -> None:
        try:
            self._request = next(self._steps) if answer is None else self._steps.send(answer)
        except StopIteration as stop:
            self._request = None
            self._outcome = (stop.value,)
        except BaseException:
            self._request = None
            raise

    @property
    def done(self) -> bool:
        """True when nothing more is to be sent (finished or failed)."""
        return self._request is None

    @property
    def request(self) -> bytes:
        """The APDU to send now."""
        if self._request is None:
            raise ProtocolError("the operation has no request to send: it is over")
        return self._request

    def receive(self, apdu: bytes) -> bytes | None:
        """Take the meter's answer; returns the next APDU to send, or ``None`` when finished."""
        if self._request is None:
            raise ProtocolError("the operation is over: no answer expected")
        self._advance(bytes(apdu))
        return self._request

    def result(self) -> T:
        """The outcome of a finished operation."""
        if self._outcome is None:
            raise ProtocolError("the operation has not finished successfully")
        return self._outcome[0]


def _name(value: IntEnum) -> str:
    return value.name.lower().replace("_", "-")


def describe_attribute(attribute: CosemAttributeDescriptor) -> str:
    """``OBIS attribute n (class c)``, as messages name an attribute."""
    return f"{attribute.instance_id} attribute {attribute.attribute_id} (class {attribute.class_id})"


def describe_method(method: CosemMethodDescriptor) -> str:
    """``OBIS method n (class c)``, as messages name a method."""
    return f"{method.instance_id} method {method.method_id} (class {method.class_id})"


_ACCESS_DENIED = frozenset({"READ_WRITE_DENIED", "SCOPE_OF_ACCESS_VIOLATED"})
_UNDEFINED = frozenset({"OBJECT_UNDEFINED", "OBJECT_UNAVAILABLE", "OBJECT_CLASS_INCONSISTENT"})


def result_error(result: DataAccessResult | ActionResult, what: str) -> ServiceError:
    """The error for a negative Data-Access-Result or Action-Result about ``what``."""
    message = f"{what}: {_name(result)}"
    if result.name in _ACCESS_DENIED:
        return AccessDeniedError(message)
    if result.name in _UNDEFINED:
        return ObjectUndefinedError(message)
    return ServiceError(message)


def _describe_service_error(error: ConfirmedServiceError) -> str:
    detail = error.detail
    text = _name(detail) if isinstance(detail, IntEnum) else f"{_name(error.error_type)} {detail}"
    return f"{_name(error.service)}: {text}"


def _wire_size(plain_size: int, control_authenticated: bool) -> int:
    """Size of a glo-ciphered APDU carrying ``plain_size`` bytes."""
    content = _SECURITY_HEADER + plain_size + (TAG_LENGTH if control_authenticated else 0)
    return 1 + len(encode_length(content)) + content


class ClientConnection:
    """One client's application association with one meter, without I/O.

    ``random_bytes`` supplies the HLS challenge (``secrets.token_bytes`` unless a test injects one);
    ``challenge_length`` is its size (8..64). The invocation counter goes up by one for every APDU
    the client protects (and for its HLS-GMAC answer) and is reported to
    ``settings.on_invocation_counter`` as the next value to use.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        challenge_length: int = DEFAULT_CHALLENGE_LENGTH,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
        max_reassembled_size: int = DEFAULT_MAX_REASSEMBLED_SIZE,
    ) -> None:
        if not MIN_CHALLENGE_LENGTH <= challenge_length <= MAX_CHALLENGE_LENGTH:
            raise InvalidSettingsError(
                f"challenge length {challenge_length} outside {MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}"
            )
        if max_blocks < 1 or max_reassembled_size < 0:
            raise InvalidSettingsError("max_blocks must be at least 1 and max_reassembled_size not negative")
        self._settings = settings
        self._random_bytes = random_bytes
        self._challenge_length = challenge_length
        self._max_blocks = max_blocks
        self._max_reassembled_size = max_reassembled_size
        self._state = AssociationState.NOT_ASSOCIATED
        self._context: NegotiatedContext | None = None
        self._server_system_title: bytes | None = settings.server_system_title
        self._invocation_counter = settings.invocation_counter
        self._last_server_invocation_counter: int | None = None
        self._invoke_id = 0
        self._with_list_refused = False

    # --- state -------------------------------------------------------------------------------------

    @property
    def settings(self) -> ClientSettings:
        """The settings the connection was made with."""
        return self._settings

    @property
    def state(self) -> AssociationState:
        """Where the association stands."""
        return self._state

    @property
    def associated(self) -> bool:
        """Whether requests can be sent."""
        return self._state is AssociationState.ASSOCIATED

    @property
    def context(self) -> NegotiatedContext | None:
        """What the meter accepted, while associated."""
        return self._context

    @property
    def invocation_counter(self) -> int:
        """The invocation counter the next protected APDU will carry."""
        return self._invocation_counter

    def advance_invocation_counter(self, at_least: int) -> None:
        """Move the counter forward (never back), e.g. past the meter's frame counter."""
        if not 0 <= at_least <= INVOCATION_COUNTER_MAX + 1:
            raise EncodeError(f"invocation counter {at_least} outside 0..0xFFFFFFFF")
        if at_least > self._invocation_counter:
            self._invocation_counter = at_least
            self._report_invocation_counter()

    def reset(self) -> None:
        """Forget the association (the link dropped or was closed); counters are kept."""
        self._state = AssociationState.NOT_ASSOCIATED
        self._context = None

    def _report_invocation_counter(self) -> None:
        callback = self._settings.on_invocation_counter
        if callback is not None:
            callback(self._invocation_counter)

    def _take_invocation_counter(self) -> int:
        counter = self._invocation_counter
        if counter > INVOCATION_COUNTER_MAX:
            raise SecurityError("the invocation counter is exhausted: the meter needs new keys")
        self._invocation_counter = counter + 1
        self._report_invocation_counter()
        return counter

    def _next_invoke(self) -> InvokeIdAndPriority:
        self._invoke_id = (self._invoke_id + 1) % _INVOKE_IDS
        return InvokeIdAndPriority(self._invoke_id)

    def _require_associated(self) -> None:
        if self._state is not AssociationState.ASSOCIATED:
            raise NotAssociatedError(f"no association with the meter ({self._state.value})")

    # --- protection --------------------------------------------------------------------------------

    def _keys(self) -> SecurityKeys:
        keys = self._settings.keys
        if keys is None:  # pragma: no cover - ClientSettings insists on keys where they are used
            raise InvalidSettingsError("no keys configured")
        return keys

    def _cipher(self, tag: int, plaintext: bytes) -> bytes:
        return protect(
            tag,
            plaintext,
            self._keys(),
            system_title=self._settings.client_system_title,
            invocation_counter=self._take_invocation_counter(),
            control=self._settings.security_control,
        ).encode()

    def _protect(self, plaintext: bytes) -> bytes:
        if not self._settings.ciphered:
            return plaintext
        return self._cipher(_GLO_REQUEST_TAGS[plaintext[0]], plaintext)

    def _unprotect(self, raw: bytes) -> bytes:
        if not raw:
            raise DecodeError("empty APDU")
        tag = raw[0]
        if not self._settings.ciphered:
            if is_ciphered(raw):
                raise ProtocolError(f"ciphered answer (tag 0x{tag:02X}) in an association without ciphering")
            return raw
        if tag in _UNPROTECTED_NEGATIVE_TAGS:
            return raw
        keys = self._keys()
        if tag in _DED_RESPONSE_TAGS:
            if self._settings.dedicated_key is None:
                raise DecryptionError("answer ciphered with a dedicated key, but none was proposed")
            keys = SecurityKeys(self._settings.dedicated_key, keys.authentication_key)
        elif tag not in _GLO_RESPONSE_TAGS:
            raise DecryptionError(f"unprotected answer (tag 0x{tag:02X}) in a ciphered association")
        apdu = decode_ciphered_apdu(raw)
        title = self._server_system_title
        if apdu.system_title is not None:
            if title is not None and apdu.system_title != title:
                raise DecryptionError("the answer carries another system title than the meter's")
            title = apdu.system_title
        if title is None:
            raise DecryptionError("the meter's system title is unknown (no responding-AP-title in the AARE)")
        required = self._settings.control
        if (required.authenticated and not apdu.control.authenticated) or (
            required.encrypted and not apdu.control.encrypted
        ):
            raise DecryptionError(
                f"the answer (security control 0x{apdu.control.to_byte():02X}) is less protected than the "
                f"association (0x{required.to_byte():02X})"
            )
        last = self._last_server_invocation_counter
        if last is not None and apdu.invocation_counter <= last:
            raise DecryptionError("the answer's invocation counter did not increase (replayed answer?)")
        plaintext = unprotect(apdu, keys, title).plaintext
        self._last_server_invocation_counter = apdu.invocation_counter
        if not plaintext or is_ciphered(plaintext):
            raise DecodeError("the deciphered answer is empty or ciphered again")
        return plaintext

    # --- negative answers --------------------------------------------------------------------------

    def _exception_error(self, response: ExceptionResponse, what: str) -> DlmsError:
        service = response.service_error
        text = f"{what}: exception-response {_name(response.state_error)}, {_name(service)}"
        if service is ExceptionServiceError.DECIPHERING_ERROR:
            return DecryptionError(f"{text} (the meter could not decipher the request: wrong keys?)")
        if service is ExceptionServiceError.INVOCATION_COUNTER_ERROR:
            if response.invocation_counter is not None:
                self.advance_invocation_counter(response.invocation_counter)
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
            text = f"{what}: confirmed-service-error {_describe_service_error(error)}"
            if (
                error.error_type is ServiceErrorType.VDE_STATE_ERROR
                and error.value == VdeStateError.NO_DLMS_CONTEXT
            ):
                raise NotAssociatedError(text)
            raise ServiceError(text)

    def _exchange(self, plaintext: bytes, expected: ApduTag, what: str) -> Steps[bytes]:
        """Send one (protected) request; the plaintext answer, which must be an ``expected`` APDU."""
        answer = self._unprotect((yield self._protect(plaintext)))
        self._raise_if_negative(answer, what)
        if answer[0] != expected:
            raise ProtocolError(f"{what}: expected {expected.name.lower()}, got tag 0x{answer[0]:02X}")
        return answer

    @staticmethod
    def _check_invoke(found: InvokeIdAndPriority, sent: InvokeIdAndPriority, what: str) -> None:
        if found.invoke_id != sent.invoke_id:
            raise ProtocolError(f"{what}: answer for invoke id {found.invoke_id}, expected {sent.invoke_id}")

    # --- association -------------------------------------------------------------------------------

    def associate(self) -> Operation[NegotiatedContext]:
        """AARQ/AARE and, for HLS-GMAC, passes 3 and 4."""
        return Operation(self._associate_steps())

    def _application_context(self) -> ApplicationContextName:
        if self._settings.ciphered:
            return ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
        return ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING

    def build_aarq(self, challenge: bytes | None = None) -> AARQ:
        """The AARQ for these settings (``challenge``: the HLS CtoS challenge)."""
        settings = self._settings
        initiate = InitiateRequest(
            proposed_conformance=settings.proposed_conformance,
            client_max_receive_pdu_size=settings.max_pdu_size,
            dedicated_key=settings.dedicated_key,
        )
        user_information: InitiateRequest | bytes = initiate
        if settings.ciphered:
            user_information = self._cipher(ApduTag.GLO_INITIATE_REQUEST, initiate.encode())
        mechanism: AuthenticationMechanism | None = None
        value: bytes | None = None
        if settings.authentication is Authentication.LLS:
            mechanism, value = AuthenticationMechanism.LOW_LEVEL, settings.password
        elif settings.authentication is Authentication.HLS_GMAC:
            if challenge is None:
                raise EncodeError("HLS-GMAC needs a client challenge")
            mechanism, value = AuthenticationMechanism.HIGH_LEVEL_GMAC, challenge
        return AARQ(
            application_context_name=self._application_context(),
            user_information=user_information,
            mechanism_name=mechanism,
            calling_authentication_value=value,
            calling_ap_title=settings.client_system_title if settings.sends_system_title else None,
        )

    def _new_challenge(self) -> bytes:
        challenge = bytes(self._random_bytes(self._challenge_length))
        if len(challenge) != self._challenge_length:
            raise EncodeError(f"the random source gave {len(challenge)} bytes, not {self._challenge_length}")
        return challenge

    def _associate_steps(self) -> Steps[NegotiatedContext]:
        self._state = AssociationState.ASSOCIATING
        self._context = None
        try:
            challenge = None
            if self._settings.authentication is Authentication.HLS_GMAC:
                challenge = self._new_challenge()
            answer = yield self.build_aarq(challenge).encode()
            aare, context = self._accept_aare(answer)
            self._context = context
            if challenge is not None:
                self._state = AssociationState.AUTHENTICATING
                yield from self._hls_steps(aare, challenge)
        except Exception:
            self.reset()
            raise
        self._state = AssociationState.ASSOCIATED
        return context

    def _aare_user_information(self, aare: AARE) -> InitiateResponse | ConfirmedServiceError | None:
        information = aare.user_information
        if not isinstance(information, bytes):
            if self._settings.ciphered and isinstance(information, InitiateResponse):
                raise DecryptionError("the meter accepted a ciphered association with an unprotected answer")
            return information
        if not self._settings.ciphered:
            raise ProtocolError("ciphered AARE user-information in an association without ciphering")
        try:
            plaintext = self._unprotect(information)
        except DlmsError:
            if aare.accepted:
                raise
            return None  # a rejection we cannot read further; the diagnostic still says why
        if plaintext[0] == ApduTag.INITIATE_RESPONSE:
            return InitiateResponse.decode(plaintext)
        if plaintext[0] == ApduTag.CONFIRMED_SERVICE_ERROR:
            return ConfirmedServiceError.decode(plaintext)
        raise ProtocolError(f"unexpected APDU 0x{plaintext[0]:02X} in the AARE user-information")

    def _accept_aare(self, raw: bytes) -> tuple[AARE, NegotiatedContext]:
        if not raw:
            raise DecodeError("empty answer to the AARQ")
        if raw[0] != ApduTag.AARE:
            self._raise_if_negative(raw, "association")
            raise ProtocolError(f"expected an AARE, got tag 0x{raw[0]:02X}")
        aare = AARE.decode(raw)
        title = aare.responding_ap_title
        if title is not None:
            if len(title) != SYSTEM_TITLE_LENGTH:
                raise ProtocolError(
                    f"the meter's system title has {len(title)} bytes, not {SYSTEM_TITLE_LENGTH}"
                )
            self._server_system_title = title
        information = self._aare_user_information(aare)
        if not aare.accepted or isinstance(information, ConfirmedServiceError):
            raise _rejection(aare, information)
        if information is None:
            raise ProtocolError("the AARE accepts the association but carries no InitiateResponse")
        if aare.application_context_name is not self._application_context():
            accepted = aare.application_context_name.name.lower()
            raise ProtocolError(f"the meter accepted another application context ({accepted})")
        return aare, NegotiatedContext(
            conformance=information.negotiated_conformance,
            server_max_pdu_size=information.server_max_receive_pdu_size,
            dlms_version=information.negotiated_dlms_version_number,
            vaa_name=information.vaa_name,
            application_context_name=aare.application_context_name,
            server_system_title=self._server_system_title,
        )

    def _hls_steps(self, aare: AARE, challenge: bytes) -> Steps[None]:
        server_challenge = aare.responding_authentication_value
        if server_challenge is None:
            raise AuthenticationFailedError("the meter sent no challenge (StoC) for HLS-GMAC")
        if not MIN_CHALLENGE_LENGTH <= len(server_challenge) <= MAX_CHALLENGE_LENGTH:
            raise AuthenticationFailedError(
                f"the meter's challenge has {len(server_challenge)} bytes, not 8..64"
            )
        keys = self._keys()
        answer = hls_gmac_response(
            system_title=self._settings.client_system_title,
            invocation_counter=self._take_invocation_counter(),
            encryption_key=keys.encryption_key,
            authentication_key=keys.authentication_key,
            challenge=server_challenge,
        )
        method = CosemMethodDescriptor(
            ASSOCIATION_LN_CLASS_ID, CURRENT_ASSOCIATION, REPLY_TO_HLS_AUTHENTICATION
        )
        try:
            returned = yield from self._action_steps(method, Data.octet_string(answer))
        except (ServiceError, NotAssociatedError) as exc:
            raise AuthenticationFailedError(
                f"the meter did not accept our answer to its challenge ({exc})"
            ) from None
        if (
            returned is None
            or returned.tag is not DataTag.OCTET_STRING
            or not isinstance(returned.value, bytes)
        ):
            raise AuthenticationFailedError("the meter returned no answer to our challenge")
        title = self._server_system_title
        if title is None:
            raise AuthenticationFailedError(
                "the meter sent no system title to check its answer to our challenge"
            )
        try:
            verify_hls_gmac_response(
                system_title=title,
                encryption_key=keys.encryption_key,
                authentication_key=keys.authentication_key,
                challenge=challenge,
                response=returned.value,
            )
        except DecodeError, DecryptionError:
            raise AuthenticationFailedError(
                "the meter's answer to our challenge does not verify (wrong keys?)"
            ) from None

    # --- release -----------------------------------------------------------------------------------

    def release(self) -> Operation[None]:
        """RLRQ; the association is over whatever the meter answers."""
        return Operation(self._release_steps())

    def _release_steps(self) -> Steps[None]:
        self._state = AssociationState.RELEASING
        answer = yield RLRQ(reason=ReleaseRequestReason.NORMAL).encode()
        self.reset()
        if not answer or answer[0] != ApduTag.RLRE:
            raise ProtocolError("expected an RLRE in answer to the RLRQ")
        RLRE.decode(answer)

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
        items = tuple(
            item
            if isinstance(item, CosemAttributeDescriptorWithSelection)
            else CosemAttributeDescriptorWithSelection(item)
            for item in attributes
        )
        return Operation(self._get_many_steps(items))

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
            plain_size = _wire_size(plain_size, self._settings.control.authenticated)
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


def _rejection(
    aare: AARE, information: InitiateResponse | ConfirmedServiceError | None
) -> AssociationRejectedError:
    diagnostic = aare.result_source_diagnostic
    reason = diagnostic.name.lower().replace("_", " ")
    if isinstance(diagnostic, AcseServiceProviderDiagnostic):
        reason += " (ACSE service provider)"
    if isinstance(information, ConfirmedServiceError):
        reason += f"; {_describe_service_error(information)}"
    if aare.result is AssociationResult.REJECTED_TRANSIENT:
        reason += " (transient)"
    if diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE:
        return AuthenticationFailedError(reason)
    if (
        isinstance(information, ConfirmedServiceError)
        and information.error_type is ServiceErrorType.APPLICATION_REFERENCE
        and information.value == ApplicationReferenceError.DECIPHERING_ERROR
    ):
        return AuthenticationFailedError(f"{reason} (the meter could not decipher the AARQ: wrong keys?)")
    return AssociationRejectedError(reason)
