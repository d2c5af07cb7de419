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
- HLS-GMAC pass 3-4: ACTION on Association LN 0.0.40.0.0.255 method 1 (with short names: a read of
  Association SN's reply_to_HLS_authentication, 0xFA58) with f(StoC), answered with
  f(CtoS); until then every other request is denied.
- In a ciphered context every request must be glo-ciphered (or general-glo-ciphering) under the
  global key with an invocation counter above the last one accepted (replays are refused with
  EXCEPTION-Response invocation-counter-error); answers are ciphered the same way (security suite 0).
- GET normal / with-list / next (answers longer than the client's max receive PDU size go out
  with-datablock), SET normal / with-list, ACTION normal, RLRQ -> RLRE.
- With ``short_names=True`` the meter speaks short name referencing only: logical name AARQs are
  refused (application-context-name-not-supported), the InitiateResponse carries vaa-name 0xFA00 and
  ReadRequest/WriteRequest are served on base names (:mod:`.short_names`, :mod:`.sn_services`).

Nothing here reads a clock: the meter's clock function gives the instant each request is served for.
Randomness (the HLS challenge) comes from ``random_bytes``, injectable for tests.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable

from ..apdu import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApduTag,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    ExceptionServiceError,
    InitiateError,
    InitiateRequest,
    InitiateResponse,
    ReleaseResponseReason,
    ResultSourceDiagnostic,
    StateError,
)
from ..apdu.initiate import DLMS_VERSION, VAA_NAME_LN, VAA_NAME_SN
from ..errors import DecodeError, DlmsError, SecurityError
from ..security import SecurityControl, decode_ciphered_apdu, protect, unprotect
from .answers import (
    CIPHERED_OTHER,
    DECIPHERING,
    MALFORMED,
    NOT_ASSOCIATED,
    NOT_SUPPORTED,
    PLAIN_REQUESTS,
    SYSTEM_TITLE_LENGTH,
    TOO_LONG,
    UNKNOWN,
    Plain,
    Protection,
    ReplayError,
    exception_response,
)
from .association import DECIPHERING_INITIATE, RejectedError, ServerAssociation, initiate_error
from .ln_services import LongGet
from .model import (
    CURRENT_ASSOCIATION,
    AccessLevel,
    AssociationStatus,
    SimulatedMeter,
)
from .short_names import BaseNames
from .sn_services import ShortNameServices

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
MIN_CHALLENGE_LENGTH = 8
MAX_CHALLENGE_LENGTH = 64

#: What the simulated meter supports in short name mode (``short_names=True``).
SERVER_SN_CONFORMANCE = (
    Conformance.READ
    | Conformance.WRITE
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.PARAMETERIZED_ACCESS
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
)
_LN_CONTEXTS = frozenset(
    {
        ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING,
        ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING,
    }
)
_SN_CONTEXTS = frozenset(
    {
        ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING,
        ApplicationContextName.SHORT_NAME_REFERENCING_WITH_CIPHERING,
    }
)
#: application-context-name field up to the last arc (2.16.756.5.8.1.x), to name an unknown context.
_CONTEXT_OID_PREFIX = bytes.fromhex("a1090607608574050801")
# glo- request tag -> (plain request tag inside, glo- response tag)
_GLO_REQUESTS = {
    ApduTag.GLO_GET_REQUEST: (ApduTag.GET_REQUEST, ApduTag.GLO_GET_RESPONSE),
    ApduTag.GLO_SET_REQUEST: (ApduTag.SET_REQUEST, ApduTag.GLO_SET_RESPONSE),
    ApduTag.GLO_ACTION_REQUEST: (ApduTag.ACTION_REQUEST, ApduTag.GLO_ACTION_RESPONSE),
    ApduTag.GLO_READ_REQUEST: (ApduTag.READ_REQUEST, ApduTag.GLO_READ_RESPONSE),
    ApduTag.GLO_WRITE_REQUEST: (ApduTag.WRITE_REQUEST, ApduTag.GLO_WRITE_RESPONSE),
}


class ServerConnection(ShortNameServices):
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
        conformance: Conformance | None = None,
        short_names: bool = False,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        challenge_length: int = 16,
    ) -> None:
        if not MIN_CHALLENGE_LENGTH <= challenge_length <= MAX_CHALLENGE_LENGTH:
            raise ValueError(f"challenge length must be {MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}")
        self.meter = meter
        self.client_sap = client_sap
        self.server_sap = server_sap
        self.max_receive_pdu_size = max_receive_pdu_size
        self.conformance = conformance or (SERVER_SN_CONFORMANCE if short_names else SERVER_CONFORMANCE)
        self._base_names = BaseNames(meter) if short_names else None
        self._random_bytes = random_bytes
        self._challenge_length = challenge_length
        self._association: ServerAssociation | None = None
        self._long_get: LongGet | None = None
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
        self._long_read = None

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
                return NOT_ASSOCIATED
            if len(raw) > self.max_receive_pdu_size:
                return TOO_LONG
            if association.ciphered:
                return self._ciphered(raw, association)
            if tag in _GLO_REQUESTS or tag == ApduTag.GENERAL_GLO_CIPHERING:
                return NOT_SUPPORTED
            return self._dispatch(raw, association, None)
        except DlmsError as err:
            _LOGGER.debug("Malformed request 0x%02X: %s", tag, err)
            return MALFORMED

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
            return self._reject(context, RejectedError(diagnostic))
        context = aarq.application_context_name
        try:
            return self._accept(aarq)
        except RejectedError as rejection:
            _LOGGER.debug("AARQ rejected: %s", rejection.diagnostic.name)
            return self._reject(context, rejection)

    def _reject(self, context: ApplicationContextName, rejection: RejectedError) -> bytes:
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
            raise RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
        raise RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED)

    def _accept(self, aarq: AARQ) -> bytes:
        security = self.meter.security
        context = aarq.application_context_name
        supported = _LN_CONTEXTS if self._base_names is None else _SN_CONTEXTS
        if context not in supported or (context.ciphered and not security.ciphering_available):
            raise RejectedError(AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        mechanism, level = self._access_level(aarq)
        if level is AccessLevel.MANAGEMENT and security.require_ciphering and not context.ciphered:
            raise RejectedError(AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        client_title = aarq.calling_ap_title
        needs_title = context.ciphered or mechanism is AuthenticationMechanism.HIGH_LEVEL_GMAC
        if needs_title and (client_title is None or len(client_title) != SYSTEM_TITLE_LENGTH):
            raise RejectedError(AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
        client_challenge: bytes | None = None
        if mechanism is AuthenticationMechanism.LOW_LEVEL:
            given = aarq.calling_authentication_value
            if (
                given is None
                or security.password is None
                or not hmac.compare_digest(given, security.password)
            ):
                raise RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
        elif mechanism is AuthenticationMechanism.HIGH_LEVEL_GMAC:
            client_challenge = aarq.calling_authentication_value
            if (
                client_challenge is None
                or not MIN_CHALLENGE_LENGTH <= len(client_challenge) <= MAX_CHALLENGE_LENGTH
            ):
                raise RejectedError(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
        request, control = self._initiate_request(aarq, client_title)
        conformance, max_pdu = self._negotiate(request)
        server_challenge = None
        if mechanism is AuthenticationMechanism.HIGH_LEVEL_GMAC:
            server_challenge = self._random_bytes(self._challenge_length)
        self._association = ServerAssociation(
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
        vaa_name = VAA_NAME_LN if self._base_names is None else VAA_NAME_SN
        response = InitiateResponse(conformance, self.max_receive_pdu_size, vaa_name=vaa_name)
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
            raise RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
        if not aarq.application_context_name.ciphered:
            if not isinstance(information, InitiateRequest):
                raise RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
            return information, None
        if not isinstance(information, bytes) or information[0] != ApduTag.GLO_INITIATE_REQUEST:
            raise RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN)
        assert client_title is not None
        try:
            plain = self._unprotect(information, client_title)
            request = InitiateRequest.decode(plain.plaintext)
        except DlmsError as err:
            _LOGGER.debug("glo-initiate-request refused: %s", err)
            raise RejectedError(AcseServiceUserDiagnostic.NO_REASON_GIVEN, DECIPHERING_INITIATE) from None
        return request, plain.control

    def _negotiate(self, request: InitiateRequest) -> tuple[Conformance, int]:
        if request.proposed_dlms_version_number < DLMS_VERSION:
            raise RejectedError(
                AcseServiceUserDiagnostic.NO_REASON_GIVEN, initiate_error(InitiateError.DLMS_VERSION_TOO_LOW)
            )
        conformance = Conformance(request.proposed_conformance & self.conformance)
        services = (
            Conformance.GET | Conformance.SET | Conformance.ACTION | Conformance.READ | Conformance.WRITE
        )
        if not conformance & services:
            raise RejectedError(
                AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                initiate_error(InitiateError.INCOMPATIBLE_CONFORMANCE),
            )
        max_pdu = request.client_max_receive_pdu_size or 0xFFFF
        if max_pdu < MIN_CLIENT_MAX_RECEIVE_PDU_SIZE:
            raise RejectedError(
                AcseServiceUserDiagnostic.NO_REASON_GIVEN, initiate_error(InitiateError.PDU_SIZE_TOO_SHORT)
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

    def _unprotect(self, raw: bytes, client_title: bytes) -> Plain:
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
            raise ReplayError(security.client_invocation_counter + 1)
        clear = unprotect(ciphered, security.keys, client_title)
        security.client_invocation_counter = ciphered.invocation_counter
        security.client_system_title = client_title
        return Plain(clear.plaintext, control)

    def _ciphered(self, raw: bytes, association: ServerAssociation) -> bytes:
        tag = raw[0]
        if tag not in _GLO_REQUESTS and tag != ApduTag.GENERAL_GLO_CIPHERING:
            return NOT_SUPPORTED if tag in PLAIN_REQUESTS or tag in CIPHERED_OTHER else UNKNOWN
        assert association.client_system_title is not None
        try:
            plain = self._unprotect(raw, association.client_system_title)
        except ReplayError as replay:
            _LOGGER.debug("Replayed or stale invocation counter refused")
            return exception_response(
                StateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                replay.expected,
            )
        except DlmsError as err:
            _LOGGER.debug("Request could not be deciphered: %s", err)
            return DECIPHERING
        if not plain.plaintext:
            return MALFORMED
        if tag in _GLO_REQUESTS:
            inner, response_tag = _GLO_REQUESTS[ApduTag(tag)]
            if plain.plaintext[0] != inner:
                return MALFORMED
        else:
            response_tag = ApduTag.GENERAL_GLO_CIPHERING
        return self._dispatch(plain.plaintext, association, Protection(plain.control, response_tag))


__all__ = [
    "CURRENT_ASSOCIATION",
    "DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE",
    "MIN_CLIENT_MAX_RECEIVE_PDU_SIZE",
    "SERVER_CONFORMANCE",
    "SERVER_SN_CONFORMANCE",
    "ServerConnection",
]
