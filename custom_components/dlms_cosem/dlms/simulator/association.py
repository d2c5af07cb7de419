"""One association of the simulated server: its negotiated state and HLS-GMAC passes 3 and 4."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..apdu import (
    ApplicationContextName,
    ApplicationReferenceError,
    AuthenticationMechanism,
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    Conformance,
    DataAccessResult,
    InitiateError,
    ResultSourceDiagnostic,
    ServiceErrorType,
)
from ..errors import DlmsError
from ..security import hls_gmac_response
from ..security import verify_hls_gmac_response as _verify_hls_gmac_response
from .model import AccessFailureError, AccessLevel, AssociationStatus

if TYPE_CHECKING:
    from .server import ServerConnection

_LOGGER = logging.getLogger(__name__)


class RejectedError(Exception):
    """Control flow inside AARQ handling; never escapes."""

    def __init__(
        self,
        diagnostic: ResultSourceDiagnostic,
        user_information: ConfirmedServiceError | None = None,
    ) -> None:
        super().__init__(diagnostic.name)
        self.diagnostic = diagnostic
        self.user_information = user_information


def initiate_error(error: InitiateError) -> ConfirmedServiceError:
    """The confirmed-service-error an AARE carries when the InitiateRequest is refused."""
    return ConfirmedServiceError(
        ConfirmedServiceErrorService.INITIATE_ERROR, ServiceErrorType.INITIATE, error
    )


DECIPHERING_INITIATE = ConfirmedServiceError(
    ConfirmedServiceErrorService.INITIATE_ERROR,
    ServiceErrorType.APPLICATION_REFERENCE,
    ApplicationReferenceError.DECIPHERING_ERROR,
)


class ServerAssociation:
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
            f"ServerAssociation({self.application_context.name}, {self.mechanism.name}, "
            f"{self.level.name}, {self.status.name})"
        )

    @property
    def client_sap(self) -> int:
        """The client SAP, as Association LN reports it."""
        return self._connection.client_sap

    @property
    def server_sap(self) -> int:
        """The server SAP, as Association LN reports it."""
        return self._connection.server_sap

    @property
    def server_max_receive_pdu_size(self) -> int:
        """The server's own max receive PDU size."""
        return self._connection.max_receive_pdu_size

    @property
    def ciphered(self) -> bool:
        """Whether the application context is a ciphered one."""
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
