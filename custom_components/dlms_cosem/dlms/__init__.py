"""A sans-I/O DLMS/COSEM (IEC 62056) stack: bytes in, typed values out.

Nothing here imports Home Assistant, opens a socket or reads a clock; the asyncio adapters for ports
build on these codecs. The entry point for pushed telegrams::

    from custom_components.dlms_cosem.dlms import SecurityKeys, decode_telegrams, parse_key

    keys = SecurityKeys(encryption_key=parse_key("36C66639 E48A8CA4 ..."), authentication_key=None)
    for event in decode_telegrams([chunk1, chunk2], keys):
        ...  # Telegram (objects, timestamp, security) or TelegramFailure (with the reason)

The names below are loaded on first use, so importing a subpackage (the client, say) does not load
the push decoder, nor the other way round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .errors import DlmsError
    from .obis import ObisCode
    from .push import PushContent, PushObject
    from .security import SecurityKeys, parse_key
    from .telegram import (
        Framing,
        SecurityLevel,
        Telegram,
        TelegramDecoder,
        TelegramFailure,
        decode_push_apdu,
        decode_telegrams,
    )

_EXPORTS = {
    "DlmsError": "errors",
    "ObisCode": "obis",
    "PushContent": "push",
    "PushObject": "push",
    "SecurityKeys": "security",
    "parse_key": "security",
    "Framing": "telegram",
    "SecurityLevel": "telegram",
    "Telegram": "telegram",
    "TelegramDecoder": "telegram",
    "TelegramFailure": "telegram",
    "decode_push_apdu": "telegram",
    "decode_telegrams": "telegram",
}

__all__ = [
    "DlmsError",
    "Framing",
    "ObisCode",
    "PushContent",
    "PushObject",
    "SecurityKeys",
    "SecurityLevel",
    "Telegram",
    "TelegramDecoder",
    "TelegramFailure",
    "decode_push_apdu",
    "decode_telegrams",
    "parse_key",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
