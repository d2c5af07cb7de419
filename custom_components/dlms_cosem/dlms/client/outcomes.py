"""How the client names what it asked for and turns a meter's negative answer into a typed error."""

from __future__ import annotations

from enum import IntEnum

from ..apdu import (
    AARE,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ActionResult,
    ApplicationReferenceError,
    AssociationResult,
    ConfirmedServiceError,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    InitiateResponse,
    ServiceErrorType,
)
from ..errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    ConnectionLostError,
    ObjectUndefinedError,
    ServiceError,
)


class NotAssociatedError(ConnectionLostError):
    """The meter answered as if there were no association (it expired or the meter dropped it)."""


class ServiceUnsupportedError(ServiceError):
    """The meter does not support the service asked for (exception-response: service not supported)."""


def enum_text(value: IntEnum) -> str:
    """An enumeration value as the standard writes it (``read-write-denied``)."""
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
    message = f"{what}: {enum_text(result)}"
    if result.name in _ACCESS_DENIED:
        return AccessDeniedError(message)
    if result.name in _UNDEFINED:
        return ObjectUndefinedError(message)
    return ServiceError(message)


def describe_service_error(error: ConfirmedServiceError) -> str:
    """A confirmed-service-error as ``service: error`` for messages."""
    detail = error.detail
    text = enum_text(detail) if isinstance(detail, IntEnum) else f"{enum_text(error.error_type)} {detail}"
    return f"{enum_text(error.service)}: {text}"


#: Said when a meter reports a deciphering error for something we did not cipher: "wrong keys?" would send
#: the user checking keys that were never used. A meter whose security policy requires authenticated
#: encryption answers a request in clear that way (the gurux C server does, with HLS-GMAC and no ciphering).
POLICY_MAY_REQUIRE_CIPHERING = (
    "this association is not ciphered, and the meter's security policy may require it (authenticated "
    "encryption): give the encryption and authentication keys and cipher the association, in the read "
    "command --key and --auth-key without --no-ciphering"
)


def deciphering_hint(*, ciphered: bool, what: str) -> str:
    """Why a meter could not decipher ``what``: wrong keys when we ciphered, its policy when we did not."""
    if ciphered:
        return f"the meter could not decipher {what}: wrong keys?"
    return f"the meter could not decipher {what}; {POLICY_MAY_REQUIRE_CIPHERING}"


def rejection(
    aare: AARE, information: InitiateResponse | ConfirmedServiceError | None, *, ciphered: bool = True
) -> AssociationRejectedError:
    """The error for an AARE that does not accept the association, with the reason it gives.

    ``ciphered`` says whether our AARQ was ciphered, which decides what a deciphering error means.
    """
    diagnostic = aare.result_source_diagnostic
    reason = diagnostic.name.lower().replace("_", " ")
    if isinstance(diagnostic, AcseServiceProviderDiagnostic):
        reason += " (ACSE service provider)"
    if isinstance(information, ConfirmedServiceError):
        reason += f"; {describe_service_error(information)}"
    if aare.result is AssociationResult.REJECTED_TRANSIENT:
        reason += " (transient)"
    if diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE:
        return AuthenticationFailedError(reason)
    if (
        isinstance(information, ConfirmedServiceError)
        and information.error_type is ServiceErrorType.APPLICATION_REFERENCE
        and information.value == ApplicationReferenceError.DECIPHERING_ERROR
    ):
        return AuthenticationFailedError(f"{reason} ({deciphering_hint(ciphered=ciphered, what='the AARQ')})")
    return AssociationRejectedError(reason)
