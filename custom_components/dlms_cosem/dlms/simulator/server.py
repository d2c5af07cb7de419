"""Sans-I/O xDLMS server: one association with a :class:`~.model.SimulatedMeter`, APDU in, APDU out.

API (stable; the link layers and the client's tests use it in memory)::

    meter = SimulatedMeter(clock)                    # the device (objects, credentials, counters)
    connection = ServerConnection(meter)             # one association, e.g. per HDLC link / TCP client
    answer = connection.handle(request_apdu)         # -> bytes, or None when nothing is to be sent
    connection.drop_association()                    # forget the association (link lost, fault)

``handle`` never raises on bad input: a malformed or unexpected APDU gets the answer a meter gives
(EXCEPTION-Response, a data-access-result, a rejecting AARE). It serves:

- AARQ -> AARE: application context (logical name referencing, with or without ciphering),
  authentication (none, LLS with the password, HLS-GMAC pass 1-2 with a server challenge), conformance
  negotiated as proposed & supported, the client's max receive PDU size; rejections carry the
  diagnostics the Green Book names (authentication-failure, application-context-name-not-supported,
  ...). A second AARQ replaces the association.
- HLS-GMAC pass 3-4: ACTION on Association LN 0.0.40.0.0.255 method 1 with f(StoC), answered with
  f(CtoS); until then every other request is denied.
- In a ciphered context every request must be glo-ciphered (or general-glo-ciphering) under the
  global key with an invocation counter above the last one accepted (replays are refused with
  EXCEPTION-Response invocation-counter-error); answers are ciphered the same way (security suite 0).
- GET normal / with-list / next (answers longer than the client's max receive PDU size go out
  with-datablock), SET normal / with-list, ACTION normal, RLRQ -> RLRE.

Nothing here reads a clock: the meter's clock function gives the instant each request is served for.
Randomness (the HLS challenge) comes from ``random_bytes``, injectable for tests.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from ..apdu import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionRequestType,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    ApplicationContextName,
    ApplicationReferenceError,
    AssociationResult,
    AuthenticationMechanism,
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    Conformance,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    DataAccessResult,
    ExceptionResponse,
    ExceptionServiceError,
    GetDataResult,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateError,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    ReleaseResponseReason,
    ResultSourceDiagnostic,
    ServiceErrorType,
    SetRequestNormal,
    SetRequestWithList,
    SetResponseNormal,
    SetResponseWithList,
    StateError,
    decode_action_request,
    decode_get_request,
    decode_set_request,
)
from ..apdu.initiate import DLMS_VERSION
from ..axdr import Data, encode_data
from ..errors import DecodeError, DlmsError, SecurityError
from ..security import SecurityControl, decode_ciphered_apdu, hls_gmac_response, protect, unprotect
from ..security import verify_hls_gmac_response as _verify_hls_gmac_response
from .model import (
    CURRENT_ASSOCIATION,
    AccessFailureError,
    AccessLevel,
    AssociationLN,
    AssociationStatus,
    MethodAccess,
    RequestContext,
    SimulatedMeter,
)

_LOGGER = logging.getLogger(__name__)

#: What the simulated meter supports; the negotiated block is this & the client's proposal.
SERVER_CONFORMANCE = (
    Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.PRIORITY_MGMT_SUPPORTED
)
DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE = 1024
#: Smallest client max receive PDU size accepted: room for a ciphered datablock header and some data.
MIN_CLIENT_MAX_RECEIVE_PDU_SIZE = 64
SYSTEM_TITLE_LENGTH = 8
MIN_CHALLENGE_LENGTH = 8
MAX_CHALLENGE_LENGTH = 64

_SUPPORTED_CONTEXTS = frozenset(
    {
        ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING,
        ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
    }
)
#: application-context-name field up to the last arc (2.16.756.5.8.1.x), to name an unknown context.
_CONTEXT_OID_PREFIX = bytes.fromhex("a1090607608574050801")
# glo- request tag -> (plain request tag inside, glo- response tag)
_GLO_REQUESTS = {
    ApduTag.GLO_GET_REQUEST: (ApduTag.GET_REQUEST, ApduTag.GLO_GET_RESPONSE),
    ApduTag.GLO_SET_REQUEST: (ApduTag.SET_REQUEST, ApduTag.GLO_SET_RESPONSE),
    ApduTag.GLO_ACTION_REQUEST: (ApduTag.ACTION_REQUEST, ApduTag.GLO_ACTION_RESPONSE),
}
_DATABLOCK_OVERHEAD = 3 + 1 + 4 + 1 + 3  # header, last-block, block number, choice, longest length
_TAG_LENGTH = 12


def _exception(
    state: StateError, service: ExceptionServiceError, invocation_counter: int | None = None
) -> bytes:
    return ExceptionResponse(state, service, invocation_counter).encode()


_NOT_ASSOCIATED = _exception(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE)
_NOT_SUPPORTED = _exception(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED)
_UNKNOWN = _exception(StateError.SERVICE_UNKNOWN, ExceptionServiceError.SERVICE_NOT_SUPPORTED)
_MALFORMED = _exception(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OTHER_REASON)
_DECIPHERING = _exception(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.DECIPHERING_ERROR)
_TOO_LONG = _exception(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.PDU_TOO_LONG)


class _RejectedError(Exception):
    """Control flow inside AARQ handling; never escapes."""

    def __init__(
        self,
        diagnostic: ResultSourceDiagnostic,
        user_information: ConfirmedServiceError | None = None,
    ) -> None:
        super().__init__(diagnostic.name)
        self.diagnostic = diagnostic
        self.user_information = user_information


def _initiate_error(error: InitiateError) -> ConfirmedServiceError:
    return ConfirmedServiceError(
        ConfirmedServiceErrorService.INITIATE_ERROR, ServiceErrorType.INITIATE, error
    )


_DECIPHERING_INITIATE = ConfirmedServiceError(
    ConfirmedServiceErrorService.INITIATE_ERROR,
    ServiceErrorType.APPLICATION_REFERENCE,
    ApplicationReferenceError.DECIPHERING_ERROR,
)


@dataclass(slots=True)
class _Protection:
    """How a ciphered request came, so the answer goes back the same way."""

    control: SecurityControl
    response_tag: int


class _Association:
    """The state of one accepted (or HLS-pending) association; Association LN shows it."""

    def __init__(
        self,
        connection: ServerConnection,
        *,
        application_context: ApplicationContextName,
        mechanism: AuthenticationMechanism,
        level: AccessLevel,
        conformance: Conformance,
        client_max_receive_pdu_size: int,
        client_system_title: bytes | None,
        client_challenge: bytes | None,
        server_challenge: bytes | None,
    ) -> None:
        self._connection = connection
        self.application_context = application_context
        self.mechanism = mechanism
        self.level = level
        self.conformance = conformance
        self.client_max_receive_pdu_size = client_max_receive_pdu_size
        self.client_system_title = client_system_title
        self._client_challenge = client_challenge
        self._server_challenge = server_challenge
        self.status = (
            AssociationStatus.ASSOCIATION_PENDING
            if server_challenge is not None
            else AssociationStatus.ASSOCIATED
        )

    def __repr__(self) -> str:
        return (
            f"_Association({self.application_context.name}, {self.mechanism.name}, "
            f"{self.level.name}, {self.status.name})"
        )

    @property
    def client_sap(self) -> int:
        return self._connection.client_sap

    @property
    def server_sap(self) -> int:
        return self._connection.server_sap

    @property
    def server_max_receive_pdu_size(self) -> int:
        return self._connection.max_receive_pdu_size

    @property
    def ciphered(self) -> bool:
        return self.application_context.ciphered

    def reply_to_hls_authentication(self, response: bytes) -> bytes:
        """HLS-GMAC pass 3 and 4: check f(StoC), answer f(CtoS); a wrong answer ends the association."""
        if (
            self.status is not AssociationStatus.ASSOCIATION_PENDING
            or self._server_challenge is None
            or self._client_challenge is None
            or self.client_system_title is None
        ):
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "no HLS authentication pending")
        security = self._connection.meter.security
        try:
            _verify_hls_gmac_response(
                system_title=self.client_system_title,
                encryption_key=security.keys.encryption_key,
                authentication_key=security.keys.authentication_key,
                challenge=self._server_challenge,
                response=response,
            )
        except DlmsError:
            _LOGGER.debug("HLS-GMAC: the client's answer to the server challenge is wrong")
            self.status = AssociationStatus.NON_ASSOCIATED
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "HLS authentication failed") from None
        answer = hls_gmac_response(
            system_title=security.system_title,
            invocation_counter=security.next_server_invocation_counter(),
            encryption_key=security.keys.encryption_key,
            authentication_key=security.keys.authentication_key,
            challenge=self._client_challenge,
        )
        self.status = AssociationStatus.ASSOCIATED
        self._server_challenge = None
        self._client_challenge = None
        return answer


@dataclass(slots=True)
class _LongGet:
    """A GET answer being sent in datablocks."""

    raw: bytes
    block_size: int
    sent: int = 0  # last block number sent

    @property
    def blocks(self) -> int:
        return max(1, -(-len(self.raw) // self.block_size))

    def block(self, number: int, invoke: InvokeIdAndPriority) -> GetResponseWithDatablock:
        start = (number - 1) * self.block_size
        return GetResponseWithDatablock(
            last_block=number >= self.blocks,
            block_number=number,
            raw_data=self.raw[start : start + self.block_size],
            invoke_id_and_priority=invoke,
        )


class ServerConnection:
    """One association with the meter, sans-I/O: :meth:`handle` takes a request APDU, returns the answer.

    ``client_sap`` / ``server_sap`` are what Association LN reports as the associated partners (the
    link layer knows them). ``max_receive_pdu_size`` is the server's own limit, reported in the
    InitiateResponse; longer requests get EXCEPTION-Response pdu-too-long.
    """

    def __init__(
        self,
        meter: SimulatedMeter,
        *,
        client_sap: int = 16,
        server_sap: int = 1,
        max_receive_pdu_size: int = DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE,
        conformance: Conformance = SERVER_CONFORMANCE,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        challenge_length: int = 16,
    ) -> None:
        if not MIN_CHALLENGE_LENGTH <= challenge_length <= MAX_CHALLENGE_LENGTH:
            raise ValueError(f"challenge length must be {MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}")
        self.meter = meter
        self.client_sap = client_sap
        self.server_sap = server_sap
        self.max_receive_pdu_size = max_receive_pdu_size
        self.conformance = conformance
        self._random_bytes = random_bytes
        self._challenge_length = challenge_length
        self._association: _Association | None = None
        self._long_get: _LongGet | None = None
        self.requests = 0
        """APDUs handled so far."""

    # --- public state ---------------------------------------------------------------------------------

    @property
    def status(self) -> AssociationStatus:
        """Non-associated, pending HLS authentication, or associated."""
        if self._association is None:
            return AssociationStatus.NON_ASSOCIATED
        return self._association.status

    @property
    def associated(self) -> bool:
        """Whether requests are served (the association is accepted and, with HLS, authenticated)."""
        return self.status is AssociationStatus.ASSOCIATED

    @property
    def application_context(self) -> ApplicationContextName | None:
        """The accepted application context, or None when not associated."""
        return None if self._association is None else self._association.application_context

    @property
    def negotiated_conformance(self) -> Conformance | None:
        """The negotiated conformance block, or None when not associated."""
        return None if self._association is None else self._association.conformance

    @property
    def client_max_receive_pdu_size(self) -> int | None:
        """The client's max receive PDU size, or None when not associated."""
        return None if self._association is None else self._association.client_max_receive_pdu_size

    def drop_association(self) -> None:
        """Forget the association (the link went down, or a fault): the next request is not associated."""
        self._association = None
        self._long_get = None

    # --- entry point ----------------------------------------------------------------------------------

    def handle(self, apdu: bytes) -> bytes | None:
        """Serve one request APDU; the answer APDU, or None when there is nothing to answer."""
        if not apdu:
            return None
        self.requests += 1
        raw = bytes(apdu)
        tag = raw[0]
        try:
            if tag == ApduTag.AARQ:
                return self._on_aarq(raw)
            if tag == ApduTag.RLRQ:
                return self._on_rlrq(raw)
            association = self._association
            if association is None or association.status is AssociationStatus.NON_ASSOCIATED:
                self._association = None
                return _NOT_ASSOCIATED
            if len(raw) > self.max_receive_pdu_size:
                return _TOO_LONG
            if association.ciphered:
                return self._ciphered(raw, association)
            if tag in _GLO_REQUESTS or tag == ApduTag.GENERAL_GLO_CIPHERING:
                return _NOT_SUPPORTED
            return self._dispatch(raw, association, None)
        except DlmsError as err:
            _LOGGER.debug("Malformed request 0x%02X: %s", tag, err)
            return _MALFORMED

    # --- ACSE -----------------------------------------------------------------------------------------

    def _on_aarq(self, raw: bytes) -> bytes:
        self.drop_association()
        context = ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING
        try:
            aarq = AARQ.decode(raw)
        except DecodeError as err:
            _LOGGER.debug("Undecodable AARQ: %s", err)
            diagnostic: ResultSourceDiagnostic = AcseServiceProviderDiagnostic.NO_REASON_GIVEN
            start = raw.find(_CONTEXT_OID_PREFIX)
            end = start + len(_CONTEXT_OID_PREFIX)
            if start >= 0 and end < len(raw) and raw[end] not in set(ApplicationContextName):
                diagnostic = AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
            return self._reject(context, _RejectedError(diagnostic))
        context = aarq.application_context_name
        try:
            return self._accept(aarq)
        except _RejectedError as rejection:
            _LOGGER.debug("AARQ rejected: %s", rejection.diagnostic.name)
            return self._reject(context, rejection)

    def _reject(self, context: ApplicationContextName, rejection: _RejectedError) -> bytes:
        return AARE(
            result=AssociationResult.REJECTED_PERMANENT,
            result_source_diagnostic=rejection.diagnostic,
            application_context_name=context,
            user_information=rejection.user_information,
        ).encode()

    def _access_level(self, aarq: AARQ) -> tuple[AuthenticationMechanism, AccessLevel]:
        security = self.meter.security
        mechanism = aarq.mechanism_name or AuthenticationMechanism.LOWEST_LEVEL
        if mechanism is security.authentication:
            return mechanism, AccessLevel.MANAGEMENT
        if mechanism is AuthenticationMechanism.LOWEST_LEVEL:
            if security.allow_public_client:
                return mechanism, AccessLevel.PUBLIC
            raise _RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
        raise _RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED)

    def _accept(self, aarq: AARQ) -> bytes:
        security = self.meter.security
        context = aarq.application_context_name
        if context not in _SUPPORTED_CONTEXTS or (context.ciphered and not security.ciphering_available):
            raise _RejectedError(AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        mechanism, level = self._access_level(aarq)
        if level is AccessLevel.MANAGEMENT and security.require_ciphering and not context.ciphered:
            raise _RejectedError(AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        client_title = aarq.calling_ap_title
        needs_title = context.ciphered or mechanism is AuthenticationMechanism.HIGH_LEVEL_GMAC
        if needs_title and (client_title is None or len(client_title) != SYSTEM_TITLE_LENGTH):
            raise _RejectedError(AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
        client_challenge: bytes | None = None
        if mechanism is AuthenticationMechanism.LOW_LEVEL:
            given = aarq.calling_authentication_value
            if (
                given is None
                or security.password is None
                or not hmac.compare_digest(given, security.password)
            ):
                raise _RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
        elif mechanism is AuthenticationMechanism.HIGH_LEVEL_GMAC:
            client_challenge = aarq.calling_authentication_value
            if (
                client_challenge is None
                or not MIN_CHALLENGE_LENGTH <= len(client_challenge) <= MAX_CHALLENGE_LENGTH
            ):
                raise _RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
        request, control = self._initiate_request(aarq, client_title)
        conformance, max_pdu = self._negotiate(request)
        server_challenge = None
        if mechanism is AuthenticationMechanism.HIGH_LEVEL_GMAC:
            server_challenge = self._random_bytes(self._challenge_length)
        self._association = _Association(
            self,
            application_context=context,
            mechanism=mechanism,
            level=level,
            conformance=conformance,
            client_max_receive_pdu_size=max_pdu,
            client_system_title=client_title,
            client_challenge=client_challenge,
            server_challenge=server_challenge,
        )
        response = InitiateResponse(conformance, self.max_receive_pdu_size)
        user_information: InitiateResponse | bytes = response
        if control is not None:
            user_information = protect(
                ApduTag.GLO_INITIATE_RESPONSE,
                response.encode(),
                security.keys,
                system_title=security.system_title,
                invocation_counter=security.next_server_invocation_counter(),
                control=control,
            ).encode()
        authenticated = mechanism is not AuthenticationMechanism.LOWEST_LEVEL
        return AARE(
            result=AssociationResult.ACCEPTED,
            result_source_diagnostic=(
                AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
                if server_challenge is not None
                else AcseServiceUserDiagnostic.NULL
            ),
            application_context_name=context,
            user_information=user_information,
            mechanism_name=mechanism if authenticated else None,
            responding_authentication_value=server_challenge,
            responding_ap_title=security.system_title if needs_title else None,
        ).encode()

    def _initiate_request(
        self, aarq: AARQ, client_title: bytes | None
    ) -> tuple[InitiateRequest, SecurityControl | None]:
        information = aarq.user_information
        if information is None:
            raise _RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
        if not aarq.application_context_name.ciphered:
            if not isinstance(information, InitiateRequest):
                raise _RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
            return information, None
        if not isinstance(information, bytes) or information[0] != ApduTag.GLO_INITIATE_REQUEST:
            raise _RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
        assert client_title is not None
        try:
            plain = self._unprotect(information, client_title)
            request = InitiateRequest.decode(plain.plaintext)
        except DlmsError as err:
            _LOGGER.debug("glo-initiate-request refused: %s", err)
            raise _RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN, _DECIPHERING_INITIATE) from None
        return request, plain.control

    def _negotiate(self, request: InitiateRequest) -> tuple[Conformance, int]:
        if request.proposed_dlms_version_number < DLMS_VERSION:
            raise _RejectedError(
                AcseServiceUserDiagnostic.NO_REASON_GIVEN, _initiate_error(InitiateError.DLMS_VERSION_TOO_LOW)
            )
        conformance = Conformance(request.proposed_conformance & self.conformance)
        if not conformance & (Conformance.GET | Conformance.SET | Conformance.ACTION):
            raise _RejectedError(
                AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                _initiate_error(InitiateError.INCOMPATIBLE_CONFORMANCE),
            )
        max_pdu = request.client_max_receive_pdu_size or 0xFFFF
        if max_pdu < MIN_CLIENT_MAX_RECEIVE_PDU_SIZE:
            raise _RejectedError(
                AcseServiceUserDiagnostic.NO_REASON_GIVEN, _initiate_error(InitiateError.PDU_SIZE_TOO_SHORT)
            )
        return conformance, max_pdu

    def _on_rlrq(self, raw: bytes) -> bytes:
        association = self._association
        self.drop_association()
        try:
            request = RLRQ.decode(raw)
        except DecodeError:
            return RLRE(ReleaseResponseReason.NORMAL).encode()
        user_information: bytes | None = None
        if (
            association is not None
            and association.ciphered
            and association.client_system_title is not None
            and isinstance(request.user_information, bytes)
        ):
            try:
                plain = self._unprotect(request.user_information, association.client_system_title)
                InitiateRequest.decode(plain.plaintext)
                security = self.meter.security
                user_information = protect(
                    ApduTag.GLO_INITIATE_RESPONSE,
                    InitiateResponse(association.conformance, self.max_receive_pdu_size).encode(),
                    security.keys,
                    system_title=security.system_title,
                    invocation_counter=security.next_server_invocation_counter(),
                    control=plain.control,
                ).encode()
            except DlmsError:
                user_information = None
        return RLRE(ReleaseResponseReason.NORMAL, user_information).encode()

    # --- ciphering ------------------------------------------------------------------------------------

    def _unprotect(self, raw: bytes, client_title: bytes) -> _Plain:
        """Decipher a request, enforce the protection the meter requires and refuse replays."""
        security = self.meter.security
        ciphered = decode_ciphered_apdu(raw)
        control = ciphered.control
        if control.security_suite != 0 or control.compressed or control.broadcast_key:
            raise SecurityError("only security suite 0 with the global unicast key is simulated")
        if not control.encrypted or (
            security.keys.authentication_key is not None and not control.authenticated
        ):
            raise SecurityError("the request is not protected as the security policy requires")
        if ciphered.system_title is not None and ciphered.system_title != client_title:
            raise SecurityError("the request comes from another system title than the association's")
        if ciphered.invocation_counter <= security.client_invocation_counter:
            raise _ReplayError(security.client_invocation_counter + 1)
        clear = unprotect(ciphered, security.keys, client_title)
        security.client_invocation_counter = ciphered.invocation_counter
        security.client_system_title = client_title
        return _Plain(clear.plaintext, control)

    def _ciphered(self, raw: bytes, association: _Association) -> bytes:
        tag = raw[0]
        if tag not in _GLO_REQUESTS and tag != ApduTag.GENERAL_GLO_CIPHERING:
            return _NOT_SUPPORTED if tag in _PLAIN_REQUESTS or tag in _CIPHERED_OTHER else _UNKNOWN
        assert association.client_system_title is not None
        try:
            plain = self._unprotect(raw, association.client_system_title)
        except _ReplayError as replay:
            _LOGGER.debug("Replayed or stale invocation counter refused")
            return _exception(
                StateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                replay.expected,
            )
        except DlmsError as err:
            _LOGGER.debug("Request could not be deciphered: %s", err)
            return _DECIPHERING
        if not plain.plaintext:
            return _MALFORMED
        if tag in _GLO_REQUESTS:
            inner, response_tag = _GLO_REQUESTS[ApduTag(tag)]
            if plain.plaintext[0] != inner:
                return _MALFORMED
        else:
            response_tag = ApduTag.GENERAL_GLO_CIPHERING
        return self._dispatch(plain.plaintext, association, _Protection(plain.control, response_tag))

    def _protect(self, apdu: bytes, protection: _Protection | None) -> bytes:
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
    def _cipher_overhead(protection: _Protection | None) -> int:
        if protection is None:
            return 0
        overhead = 1 + 3 + 1 + 4  # tag, longest length, SC, IC
        if protection.control.authenticated:
            overhead += _TAG_LENGTH
        if protection.response_tag == ApduTag.GENERAL_GLO_CIPHERING:
            overhead += 1 + SYSTEM_TITLE_LENGTH
        return overhead

    # --- xDLMS services -------------------------------------------------------------------------------

    def _dispatch(self, apdu: bytes, association: _Association, protection: _Protection | None) -> bytes:
        tag = apdu[0]
        if tag == ApduTag.GET_REQUEST:
            return self._on_get(apdu, association, protection)
        self._long_get = None
        answer: bytes
        if tag == ApduTag.SET_REQUEST:
            answer = self._on_set(apdu, association)
        elif tag == ApduTag.ACTION_REQUEST:
            answer = self._on_action(apdu, association)
        elif tag in _PLAIN_REQUESTS:
            answer = _NOT_SUPPORTED
        else:
            answer = _UNKNOWN
        if answer[0] == ApduTag.EXCEPTION_RESPONSE:
            return answer
        return self._protect(answer, protection)

    def _context(self, association: _Association) -> RequestContext:
        return RequestContext(self.meter.now(), association.level, association)

    def _read(self, item: CosemAttributeDescriptorWithSelection, association: _Association) -> GetDataResult:
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

    def _on_get(self, apdu: bytes, association: _Association, protection: _Protection | None) -> bytes:
        request = decode_get_request(apdu)
        conformance = association.conformance
        if not conformance & Conformance.GET:
            return _NOT_SUPPORTED
        invoke = request.invoke_id_and_priority
        if isinstance(request, GetRequestNext):
            return self._on_get_next(request, protection)
        self._long_get = None
        if isinstance(request, GetRequestNormal):
            if request.access_selection is not None and not conformance & Conformance.SELECTIVE_ACCESS:
                return _NOT_SUPPORTED
            item = CosemAttributeDescriptorWithSelection(request.attribute, request.access_selection)
            result = self._read(item, association)
            answer = GetResponseNormal(result, invoke).encode()
            raw_data = encode_data(result) if isinstance(result, Data) else None
        else:
            assert isinstance(request, GetRequestWithList)
            if not conformance & Conformance.MULTIPLE_REFERENCES:
                return _NOT_SUPPORTED
            if any(item.access_selection is not None for item in request.attributes) and not (
                conformance & Conformance.SELECTIVE_ACCESS
            ):
                return _NOT_SUPPORTED
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
        self._long_get = _LongGet(raw_data, max(1, limit - _DATABLOCK_OVERHEAD))
        return self._send_block(1, invoke, protection)

    def _send_block(self, number: int, invoke: InvokeIdAndPriority, protection: _Protection | None) -> bytes:
        assert self._long_get is not None
        block = self._long_get.block(number, invoke)
        self._long_get.sent = number
        return self._protect(block.encode(), protection)

    def _on_get_next(self, request: GetRequestNext, protection: _Protection | None) -> bytes:
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
        self, descriptor: CosemAttributeDescriptor, value: Data, association: _Association
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

    def _on_set(self, apdu: bytes, association: _Association) -> bytes:
        if not association.conformance & Conformance.SET:
            return _NOT_SUPPORTED
        if apdu[1:2] not in (b"\x01", b"\x04"):
            return _NOT_SUPPORTED  # datablock writes: block transfer with SET is not offered
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
            return _NOT_SUPPORTED
        if len(request.attributes) != len(request.values):
            return _MALFORMED
        results = tuple(
            self._write(item.attribute, value, association)
            if item.access_selection is None
            else DataAccessResult.OTHER_REASON
            for item, value in zip(request.attributes, request.values, strict=True)
        )
        return SetResponseWithList(results, request.invoke_id_and_priority).encode()

    def _on_action(self, apdu: bytes, association: _Association) -> bytes:
        if not association.conformance & Conformance.ACTION:
            return _NOT_SUPPORTED
        if len(apdu) > 1 and apdu[1] != ActionRequestType.NORMAL:
            return _NOT_SUPPORTED
        request = decode_action_request(apdu)
        assert isinstance(request, ActionRequestNormal)
        result, returned = self._invoke(request, association)
        if association.status is AssociationStatus.NON_ASSOCIATED and self._association is association:
            self._association = None  # HLS failed: the association is gone
        return ActionResponseNormal(result, returned, request.invoke_id_and_priority).encode()

    def _invoke(
        self, request: ActionRequestNormal, association: _Association
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


@dataclass(frozen=True, slots=True)
class _Plain:
    plaintext: bytes
    control: SecurityControl


class _ReplayError(SecurityError):
    def __init__(self, expected: int) -> None:
        super().__init__("invocation counter not above the last one accepted")
        self.expected = expected


def _action_result(result: DataAccessResult) -> ActionResult:
    try:
        return ActionResult(int(result))
    except ValueError:
        return ActionResult.OTHER_REASON


_PLAIN_REQUESTS = frozenset({ApduTag.GET_REQUEST, ApduTag.SET_REQUEST, ApduTag.ACTION_REQUEST})
_CIPHERED_OTHER = frozenset(
    tag for tag in ApduTag if tag.name.startswith(("GLO_", "DED_")) or tag.name.startswith("GENERAL_")
)

__all__ = [
    "CURRENT_ASSOCIATION",
    "DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE",
    "MIN_CLIENT_MAX_RECEIVE_PDU_SIZE",
    "SERVER_CONFORMANCE",
    "ServerConnection",
]
