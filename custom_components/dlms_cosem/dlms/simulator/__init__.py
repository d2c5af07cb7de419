"""A simulated DLMS/COSEM electricity meter: object model, xDLMS server, HDLC/wrapper over pty and TCP.

- :mod:`.model`: COSEM interface classes and :class:`SimulatedMeter` (the device and its values);
- :mod:`.server`: :class:`ServerConnection`, the sans-I/O xDLMS server (``handle(apdu) -> bytes | None``);
- :mod:`.faults`: :class:`FaultInjector` (corrupted or dropped frames, silence, reboots, line speed);
- :mod:`.push`: :class:`PushBuilder` (Data-Notifications framed as HDLC, M-Bus, wrapper or bare);
- :mod:`.runner`: :class:`SimulatorServer`, the asyncio adapter on a pty or TCP;
- :mod:`.mqtt`: the pushes published to an MQTT broker (a minimal MQTT 3.1.1 publisher);
- :mod:`.cli`: the ``simulate`` command;
- :mod:`.line`: a noisy line (bytes corrupted and lost both ways) as a TCP relay;
- :mod:`.campaign`, :mod:`.torture`: the fault campaign and the push listener torture
  (docs/RELIABILITY.md).
"""

from .faults import FaultInjector, RequestFaults
from .model import AccessLevel, AssociationStatus, MeterSecurity, SimulatedMeter
from .push import PushBuilder, PushFraming, PushSettings
from .runner import InMemoryTransport, RunnerSettings, SimulatorServer, Transport
from .server import SERVER_CONFORMANCE, ServerConnection

__all__ = [
    "SERVER_CONFORMANCE",
    "AccessLevel",
    "AssociationStatus",
    "FaultInjector",
    "InMemoryTransport",
    "MeterSecurity",
    "PushBuilder",
    "PushFraming",
    "PushSettings",
    "RequestFaults",
    "RunnerSettings",
    "ServerConnection",
    "SimulatedMeter",
    "SimulatorServer",
    "Transport",
]
