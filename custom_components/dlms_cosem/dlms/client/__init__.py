"""DLMS/COSEM client (logical and short name referencing): a sans-I/O connection and ``DlmsClient``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from ..errors import InvalidSettingsError
    from .client import DlmsClient, read_frame_counter
    from .connection import (
        AssociationState,
        ClientConnection,
        NegotiatedContext,
        NotAssociatedError,
        Operation,
        ServiceUnsupportedError,
        describe_attribute,
        describe_method,
        result_error,
    )
    from .objects import (
        CLOCK,
        CURRENT_ASSOCIATION,
        FRAME_COUNTER,
        AttributeAccess,
        AttributeAccessMode,
        AttributeReference,
        MethodAccess,
        ObjectListEntry,
        ProfileBuffer,
        RegisterReference,
        RegisterValue,
        parse_capture_objects,
        parse_object_list,
        parse_profile_rows,
        register_value,
    )
    from .settings import (
        DEFAULT_CLIENT_SYSTEM_TITLE,
        PUBLIC_CLIENT_ADDRESS,
        Authentication,
        ClientSettings,
        Referencing,
    )
    from .short_names import (
        ASSOCIATION_SN_BASE_NAME,
        ASSOCIATION_SN_CLASS_ID,
        ShortNameObject,
        ShortNames,
        parse_short_name_object_list,
    )

# Loaded on first use (import time): a caller loads only the modules it needs.
_EXPORTS = {
    "ASSOCIATION_SN_BASE_NAME": "short_names",
    "ASSOCIATION_SN_CLASS_ID": "short_names",
    "AssociationState": "connection",
    "AttributeAccess": "objects",
    "AttributeAccessMode": "objects",
    "AttributeReference": "objects",
    "Authentication": "settings",
    "CLOCK": "objects",
    "CURRENT_ASSOCIATION": "objects",
    "ClientConnection": "connection",
    "ClientSettings": "settings",
    "DEFAULT_CLIENT_SYSTEM_TITLE": "settings",
    "DlmsClient": "client",
    "FRAME_COUNTER": "objects",
    "InvalidSettingsError": "settings",
    "MethodAccess": "objects",
    "NegotiatedContext": "connection",
    "NotAssociatedError": "connection",
    "ObjectListEntry": "objects",
    "Operation": "connection",
    "PUBLIC_CLIENT_ADDRESS": "settings",
    "ProfileBuffer": "objects",
    "Referencing": "settings",
    "RegisterReference": "objects",
    "RegisterValue": "objects",
    "ServiceUnsupportedError": "connection",
    "ShortNameObject": "short_names",
    "ShortNames": "short_names",
    "describe_attribute": "connection",
    "describe_method": "connection",
    "parse_capture_objects": "objects",
    "parse_object_list": "objects",
    "parse_profile_rows": "objects",
    "parse_short_name_object_list": "short_names",
    "read_frame_counter": "client",
    "register_value": "objects",
    "result_error": "connection",
}

__all__ = [
    "ASSOCIATION_SN_BASE_NAME",
    "ASSOCIATION_SN_CLASS_ID",
    "CLOCK",
    "CURRENT_ASSOCIATION",
    "DEFAULT_CLIENT_SYSTEM_TITLE",
    "FRAME_COUNTER",
    "PUBLIC_CLIENT_ADDRESS",
    "AssociationState",
    "AttributeAccess",
    "AttributeAccessMode",
    "AttributeReference",
    "Authentication",
    "ClientConnection",
    "ClientSettings",
    "DlmsClient",
    "InvalidSettingsError",
    "MethodAccess",
    "NegotiatedContext",
    "NotAssociatedError",
    "ObjectListEntry",
    "Operation",
    "ProfileBuffer",
    "Referencing",
    "RegisterReference",
    "RegisterValue",
    "ServiceUnsupportedError",
    "ShortNameObject",
    "ShortNames",
    "describe_attribute",
    "describe_method",
    "parse_capture_objects",
    "parse_object_list",
    "parse_profile_rows",
    "parse_short_name_object_list",
    "read_frame_counter",
    "register_value",
    "result_error",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
