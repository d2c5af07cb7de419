"""HDLC parameter negotiation at link set-up (SNRM/UA, IEC 62056-46 / Green Book 8.4).

The client proposes its limits in SNRM, the server answers in UA; each station then uses the smaller
of its own and the peer's value in each direction. The values are bounded by what modulo-8 numbering
(window) and the 11-bit frame length field (information field length) allow, so a peer stating more
than the frame format can carry does not make the link build frames it cannot send.
"""

from __future__ import annotations

from .address import HdlcAddress
from .control import SEQUENCE_MODULUS
from .frame import CHECK_SEQUENCE_SIZE, MAX_FRAME_LENGTH
from .parameters import HdlcParameters

MAX_WINDOW_SIZE = SEQUENCE_MODULUS - 1
"""Largest window modulo-8 numbering allows."""
MAX_INFO_FIELD_LENGTH = 2030
"""Largest max_info_field_length the HDLC setup object (class 23) allows (32..2030)."""
FRAME_FORMAT_FIELD_SIZE = 2
CONTROL_FIELD_SIZE = 1


def max_information_length(destination: HdlcAddress, source: HdlcAddress) -> int:
    """Largest information field a frame between these addresses can carry (11-bit frame length)."""
    overhead = (
        FRAME_FORMAT_FIELD_SIZE
        + destination.size
        + source.size
        + CONTROL_FIELD_SIZE
        + 2 * CHECK_SEQUENCE_SIZE
    )
    return MAX_FRAME_LENGTH - overhead


def client_proposal(server: HdlcAddress, client: HdlcAddress) -> HdlcParameters:
    """What a client proposes in SNRM: the longest frames and the widest windows, each way.

    Longest is the HDLC setup object's bound, 2030 bytes (a meter that checks the range refuses more).

    The meter answers with what it can do (the smaller value wins), so a meter that takes or sends
    256-byte frames, or several frames before an acknowledgement, is read in fewer round trips than
    at the defaults (a GET-with-list of 40 registers is a 445-byte request).
    """
    longest = min(MAX_INFO_FIELD_LENGTH, max_information_length(server, client))
    return HdlcParameters(longest, longest, MAX_WINDOW_SIZE, MAX_WINDOW_SIZE)


def negotiate_parameters(own: HdlcParameters, peer: HdlcParameters, max_information: int) -> HdlcParameters:
    """The parameters this station uses: the smaller of its own and the peer's, each way.

    ``peer`` is as the peer stated it (its transmit is our receive). Lengths are kept between 1 and
    ``max_information`` (what the frame length field allows), windows between 1 and 7.
    """

    def length(value: int) -> int:
        return max(1, min(value, max_information))

    def window(value: int) -> int:
        return max(1, min(value, MAX_WINDOW_SIZE))

    return HdlcParameters(
        max_info_transmit=length(min(own.max_info_transmit, peer.max_info_receive)),
        max_info_receive=length(min(own.max_info_receive, peer.max_info_transmit)),
        window_transmit=window(min(own.window_transmit, peer.window_receive)),
        window_receive=window(min(own.window_receive, peer.window_transmit)),
    )
