"""Gateways: several meters (logical devices) behind one wrapper address, told apart by wPort.

A data concentrator (PRIME, G3-PLC) or a multi-utility gateway serves many meters behind one IP
address; the IEC 62056-47 wrapper's destination wPort names the logical device. The simulator's own
meter answers on the logical address of ``settings.server_address``; each of its ``extra_meters`` on
its own logical address. PDUs for other wPorts get no answer, as from a gateway with nothing there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hdlc import server_address

if TYPE_CHECKING:
    from .model import SimulatedMeter
    from .runner import SimulatorServer, _Session
    from .server import ServerConnection


class LogicalDevices:
    """The logical devices behind one wrapper address, by wPort, with one association each per client."""

    def __init__(self, simulator: SimulatorServer) -> None:
        self._simulator = simulator
        self.main_wport = simulator.settings.server_address.logical
        self._meters: dict[int, tuple[int, SimulatedMeter]] = {}
        for address, meter in simulator.extra_meters:
            if address.logical == self.main_wport or address.logical in self._meters:
                raise ValueError("behind the wrapper every meter needs its own logical address (wPort)")
            self._meters[address.logical] = (address.physical or 0, meter)
        self._connections: dict[int, ServerConnection] = {}

    def connection(self, session: _Session, wport: int, client_wport: int) -> ServerConnection | None:
        """The association serving ``wport`` for this client; None when no logical device has it."""
        connection = session.connection if wport == self.main_wport else self._connections.get(wport)
        if connection is None:
            found = self._meters.get(wport)
            if found is None:
                return None
            physical, meter = found
            connection = self._simulator.new_connection(
                client_wport, meter=meter, address=server_address(wport, physical or None)
            )
            self._connections[wport] = connection
        connection.client_sap = client_wport
        return connection

    def drop(self) -> None:
        """Forget every further association (a reboot, a dropped session)."""
        for connection in self._connections.values():
            connection.drop_association()
        self._connections.clear()
