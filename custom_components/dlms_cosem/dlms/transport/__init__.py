"""asyncio adapters that carry APDUs to and from meters over serial ports and TCP."""

from .base import ApduTransport
from .hdlc import HdlcTransport
from .shared import ModeESettings, SharedPort
from .streams import Endpoint, SerialEndpoint, TcpEndpoint, open_stream, port_name, set_line
from .wrapper import WrapperTransport

__all__ = [
    "ApduTransport",
    "Endpoint",
    "HdlcTransport",
    "ModeESettings",
    "SerialEndpoint",
    "SharedPort",
    "TcpEndpoint",
    "WrapperTransport",
    "open_stream",
    "port_name",
    "set_line",
]
