"""Independent DLMS implementations used as test peers (gurux-dlms: GPL, a test-only dependency).

- :mod:`.gurux_server`: a gurux-dlms server on the TCP wrapper, run as a subprocess
  (``python -m tests.dlms.peers.gurux_server``); it serves the objects below;
- :mod:`.gurux_client`: a gurux-dlms client driven over a blocking socket or pty.

The object table is plain data (no gurux types) so the tests can import it without gurux.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PeerRegister:
    """A Register (class 3) the gurux server serves: raw value, A-XDR tag, scaler and unit codes."""

    logical_name: str
    value: int
    tag: int
    scaler: int
    unit: int


#: A-XDR tags (the numbers gurux's DataType uses too).
DOUBLE_LONG = 5
DOUBLE_LONG_UNSIGNED = 6
OCTET_STRING = 9
LONG_UNSIGNED = 18

#: Blue Book unit codes.
UNIT_WATT = 27
UNIT_WATT_HOUR = 30
UNIT_VOLT = 35

#: gurux-dlms 1.0.203 encodes the scaler as floor(log10(10**scaler)), which is one too small for
#: 3 and 6 (kWh, MWh): only scalers it encodes exactly are served.
PEER_REGISTERS: tuple[PeerRegister, ...] = (
    PeerRegister("1.0.1.8.0.255", 12_345_678, DOUBLE_LONG_UNSIGNED, 0, UNIT_WATT_HOUR),
    PeerRegister("1.0.2.8.0.255", 4_321, DOUBLE_LONG_UNSIGNED, 1, UNIT_WATT_HOUR),
    PeerRegister("1.0.32.7.0.255", 2_301, LONG_UNSIGNED, -1, UNIT_VOLT),
    PeerRegister("1.0.1.7.0.255", -1_500, DOUBLE_LONG, 0, UNIT_WATT),
)
#: Data (class 1): the logical device name.
PEER_LOGICAL_DEVICE_NAME = ("0.0.42.0.0.255", b"GRX0000012345678")


@dataclass(frozen=True, slots=True)
class PeerData:
    """A Data (class 1) object the gurux server serves: its value and A-XDR tag."""

    logical_name: str
    value: int | bytes
    tag: int


#: More Data objects: the serial number (general service entries, C=96), and a power factor served as
#: Data where a client would guess a Register (some meters do so): a wrong guess must be recovered.
PEER_DATA: tuple[PeerData, ...] = (
    PeerData("0.0.96.1.0.255", b"GRX-SN-87654321", OCTET_STRING),
    PeerData("1.0.13.7.0.255", 987, LONG_UNSIGNED),
)
#: The gurux server's wPort (management logical device) and its public client.
PEER_SERVER_WPORT = 1
PEER_PUBLIC_CLIENT = 16
