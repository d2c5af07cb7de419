"""HDLC frame format type 3 for DLMS/COSEM (IEC 62056-46, Green Book): codec, stream framer, LLC."""

from .address import (
    ALL_STATION_1_BYTE,
    ALL_STATION_4_BYTE,
    CALLING_PHYSICAL_4_BYTE,
    CLIENT_MANAGEMENT,
    CLIENT_PUBLIC,
    NO_STATION,
    SERVER_MANAGEMENT_LOGICAL_DEVICE,
    HdlcAddress,
    client_address,
    decode_address,
    server_address,
)
from .control import Control, FrameType
from .fcs import fcs16, fcs_bytes, fcs_is_valid
from .frame import FLAG, MAX_FRAME_LENGTH, SEGMENTATION_BIT, HdlcFrame, decode_frame
from .framer import HdlcFramer, SegmentReassembler
from .llc import LLC_COMMAND, LLC_RESPONSE, add_llc, has_llc, strip_llc
from .parameters import HdlcParameterId, HdlcParameters

__all__ = [
    "ALL_STATION_1_BYTE",
    "ALL_STATION_4_BYTE",
    "CALLING_PHYSICAL_4_BYTE",
    "CLIENT_MANAGEMENT",
    "CLIENT_PUBLIC",
    "FLAG",
    "LLC_COMMAND",
    "LLC_RESPONSE",
    "MAX_FRAME_LENGTH",
    "NO_STATION",
    "SEGMENTATION_BIT",
    "SERVER_MANAGEMENT_LOGICAL_DEVICE",
    "Control",
    "FrameType",
    "HdlcAddress",
    "HdlcFrame",
    "HdlcFramer",
    "HdlcParameterId",
    "HdlcParameters",
    "SegmentReassembler",
    "add_llc",
    "client_address",
    "decode_address",
    "decode_frame",
    "fcs16",
    "fcs_bytes",
    "fcs_is_valid",
    "has_llc",
    "server_address",
    "strip_llc",
]
