"""Sans-I/O DLMS client: one application association (IEC 62056-5-3), its state and its services.

:class:`ClientConnection` holds the state of one application association (negotiated context,
invoke ids, invocation counters) and hands out :class:`~.operation.Operation` objects: associating
(AARQ/AARE, HLS-GMAC passes 3 and 4) and releasing here, GET/SET/ACTION in :mod:`.services`,
their short name counterparts in :mod:`.sn_services`, ciphering in :mod:`.protection`. No I/O
happens here; the asyncio :class:`~.client.DlmsClient` carries the bytes.

With ``referencing=auto`` the first AARQ proposes logical name referencing; a meter that refuses that
application context (rejected-permanent, application-context-name-not-supported) is asked again, in
the same conversation, with short name referencing, and the choice is kept for later associations.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from ..apdu import (
    AARE,
    AARQ,
    DEFAULT_CLIENT_CONFORMANCE,
    DEFAULT_MAX_REASSEMBLED_SIZE,
    DEFAULT_SN_CLIENT_CONFORMANCE,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ApduTag,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    ConfirmedServiceError,
    Conformance,
    CosemMethodDescriptor,
    InitiateRequest,
    InitiateResponse,
    ReleaseRequestReason,
)
from ..axdr import Data, DataTag
from ..errors import (
    AuthenticationFailedError,
    DecodeError,
    DecryptionError,
    DlmsError,
    EncodeError,
    InvalidSettingsError,
    ProtocolError,
    ServiceError,
)
from ..security import hls_gmac_response, verify_hls_gmac_response
from ..security.control import AUTHENTICATED_BIT
from .objects import ASSOCIATION_LN_CLASS_ID, CURRENT_ASSOCIATION
from .operation import AssociationState, NegotiatedContext, Operation, Steps
from .outcomes import (
    NotAssociatedError,
    ServiceUnsupportedError,
    describe_attribute,
    describe_method,
    rejection,
    result_error,
)
from .services import DEFAULT_MAX_BLOCKS
from .settings import (
    SYSTEM_TITLE_LENGTH,
    Authentication,
    ClientSettings,
    Referencing,
)
from .sn_services import ShortNameServices

#: Association LN method 1, ``reply_to_HLS_authentication``: HLS pass 3 and 4.
REPLY_TO_HLS_AUTHENTICATION = 1
MIN_CHALLENGE_LENGTH = 8
MAX_CHALLENGE_LENGTH = 64
DEFAULT_CHALLENGE_LENGTH = 16
_CONTEXT_NOT_SUPPORTED = AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED

__all__ = [
    "DEFAULT_CHALLENGE_LENGTH",
    "DEFAULT_MAX_BLOCKS",
    "AssociationState",
    "ClientConnection",
    "NegotiatedContext",
    "NotAssociatedError",
    "Operation",
    "ServiceUnsupportedError",
    "Steps",
    "describe_attribute",
    "describe_method",
    "result_error",
]


class ClientConnection(ShortNameServices):
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
        super().__init__(settings, max_blocks=max_blocks, max_reassembled_size=max_reassembled_size)
        self._random_bytes = random_bytes
        self._challenge_length = challenge_length
        auto = settings.referencing is Referencing.AUTO
        self._referencing = Referencing.LN if auto else settings.referencing
        self._referencing_known = not auto

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
        return self._protection.invocation_counter

    def advance_invocation_counter(self, at_least: int) -> None:
        """Move the counter forward (never back), e.g. past the meter's frame counter."""
        self._protection.advance_invocation_counter(at_least)

    def reset(self) -> None:
        """Forget the association (the link dropped or was closed); counters are kept."""
        self._state = AssociationState.NOT_ASSOCIATED
        self._context = None

    # --- association -------------------------------------------------------------------------------

    def associate(self) -> Operation[NegotiatedContext]:
        """AARQ/AARE and, for HLS-GMAC, passes 3 and 4."""
        return Operation(self._associate_steps())

    @property
    def referencing(self) -> Referencing:
        """The referencing the next AARQ proposes: LN or SN (with ``auto``, SN once the meter refused LN)."""
        return self._referencing

    def _application_context(self) -> ApplicationContextName:
        if self._referencing is Referencing.SN:
            if self._settings.ciphered:
                return ApplicationContextName.SHORT_NAME_REFERENCING_WITH_CIPHERING
            return ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING
        if self._settings.ciphered:
            return ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
        return ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING

    def build_aarq(self, challenge: bytes | None = None) -> AARQ:
        """The AARQ for these settings (``challenge``: the HLS CtoS challenge)."""
        settings = self._settings
        initiate = InitiateRequest(
            proposed_conformance=self._proposed_conformance(),
            client_max_receive_pdu_size=settings.max_pdu_size,
            dedicated_key=settings.dedicated_key,
        )
        user_information: InitiateRequest | bytes = initiate
        if settings.ciphered:
            user_information = self._protection.cipher(ApduTag.GLO_INITIATE_REQUEST, initiate.encode())
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
        self._protection.begin_association()
        try:
            challenge = None
            if self._settings.authentication is Authentication.HLS_GMAC:
                challenge = self._new_challenge()
            answer = yield self.build_aarq(challenge).encode()
            if self._refuses_logical_names(answer):
                answer = yield from self._short_name_retry(answer, challenge)
            aare, context = self._accept_aare(answer)
            self._referencing_known = True
            self._context = context
            if challenge is not None:
                self._state = AssociationState.AUTHENTICATING
                yield from self._hls_steps(aare, challenge)
            # The meter's answer to our challenge proves it is live: a counter restarted by a reboot
            # is accepted then, and only then.
            self._protection.end_association(fresh=challenge is not None)
        except Exception:
            self._protection.abort_association()
            self.reset()
            raise
        self._state = AssociationState.ASSOCIATED
        return context

    def _proposed_conformance(self) -> Conformance:
        proposed = self._settings.proposed_conformance
        if self._referencing is Referencing.SN and proposed == DEFAULT_CLIENT_CONFORMANCE:
            return DEFAULT_SN_CLIENT_CONFORMANCE
        return proposed

    def _refuses_logical_names(self, answer: bytes) -> bool:
        """Whether ``auto`` should try short names: the meter refused the LN application context."""
        if self._referencing_known or self._referencing is not Referencing.LN:
            return False
        try:
            aare = AARE.decode(answer)
        except DecodeError:
            return False
        return (
            aare.result is AssociationResult.REJECTED_PERMANENT
            and aare.result_source_diagnostic
            is AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
        )

    def _short_name_retry(self, refusal: bytes, challenge: bytes | None) -> Steps[bytes]:
        """Associate again with short name referencing; the LN refusal stands if SN is refused too."""
        self._referencing = Referencing.SN
        answer = yield self.build_aarq(challenge).encode()
        try:
            accepted = AARE.decode(answer).accepted
        except DecodeError:
            return answer  # not an AARE: _accept_aare says what it is
        if accepted:
            return answer
        self._referencing = Referencing.LN
        return refusal

    def _aare_user_information(self, aare: AARE) -> InitiateResponse | ConfirmedServiceError | None:
        information = aare.user_information
        if not isinstance(information, bytes):
            if self._settings.ciphered and isinstance(information, InitiateResponse):
                raise DecryptionError("the meter accepted a ciphered association with an unprotected answer")
            return information
        if not self._settings.ciphered:
            raise ProtocolError("ciphered AARE user-information in an association without ciphering")
        try:
            plaintext = self._protection.unprotect(information)
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
            self._protection.server_system_title = title
        information = self._aare_user_information(aare)
        if not aare.accepted or isinstance(information, ConfirmedServiceError):
            raise rejection(aare, information, ciphered=self._settings.ciphered)
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
            server_system_title=self._protection.server_system_title,
        )

    def _hls_steps(self, aare: AARE, challenge: bytes) -> Steps[None]:
        server_challenge = aare.responding_authentication_value
        if server_challenge is None:
            raise AuthenticationFailedError("the meter sent no challenge (StoC) for HLS-GMAC")
        if not MIN_CHALLENGE_LENGTH <= len(server_challenge) <= MAX_CHALLENGE_LENGTH:
            raise AuthenticationFailedError(
                f"the meter's challenge has {len(server_challenge)} bytes, not 8..64"
            )
        keys = self._protection.keys()
        answer = hls_gmac_response(
            system_title=self._settings.client_system_title,
            invocation_counter=self._protection.take_invocation_counter(),
            encryption_key=keys.encryption_key,
            authentication_key=keys.authentication_key,
            challenge=server_challenge,
            # Authentication only, in the security suite of the keys (the low nibble of the control).
            control=AUTHENTICATED_BIT | self._settings.control.security_suite,
        )
        try:
            if self.short_name_referencing:
                returned = yield from self._sn_hls_reply_steps(Data.octet_string(answer))
            else:
                method = CosemMethodDescriptor(
                    ASSOCIATION_LN_CLASS_ID, CURRENT_ASSOCIATION, REPLY_TO_HLS_AUTHENTICATION
                )
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
        title = self._protection.server_system_title
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
        except (DecodeError, DecryptionError):
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
