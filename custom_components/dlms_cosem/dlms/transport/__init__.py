"""asyncio adapters that carry APDUs to and from meters over serial ports, TCP and UDP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .base import ApduTransport
    from .hdlc import HdlcTransport
    from .shared import ModeESettings, SharedPort
    from .streams import Endpoint, SerialEndpoint, TcpEndpoint, open_stream, port_name, set_line
    from .udp import UdpEndpoint, UdpTransport
    from .wrapper import WrapperTransport

# Loaded on first use (import time): a caller loads only the modules it needs.
_EXPORTS = {
    "ApduTransport": "base",
    "Endpoint": "streams",
    "HdlcTransport": "hdlc",
    "ModeESettings": "shared",
    "SerialEndpoint": "streams",
    "SharedPort": "shared",
    "TcpEndpoint": "streams",
    "UdpEndpoint": "udp",
    "UdpTransport": "udp",
    "WrapperTransport": "wrapper",
    "open_stream": "streams",
    "port_name": "streams",
    "set_line": "streams",
}

__all__ = [
    "ApduTransport",
    "Endpoint",
    "HdlcTransport",
    "ModeESettings",
    "SerialEndpoint",
    "SharedPort",
    "TcpEndpoint",
    "UdpEndpoint",
    "UdpTransport",
    "WrapperTransport",
    "open_stream",
    "port_name",
    "set_line",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
