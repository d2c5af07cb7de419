r"""The simulated meter as an optical port without HDLC: IEC 62056-21 data readout, modes A and C.

:class:`ReadoutMeter` is the meter's side, sans-I/O: ``receive`` takes what the client sends and
returns what the meter answers. To the sign-on ``/?!`` (or ``/?<its address>!``) it answers its
identification; in mode C it then waits for the acknowledgement ``ACK 0 Z 0`` and sends the data
message (``STX`` data lines ``!`` CR LF ``ETX`` BCC) of the readout objects; in mode A the data
message follows the identification at once. The data lines use the reduced ID codes readouts use
(``1.8.0(0012345.678*kWh)``). A serial line's baud rate switch is the transport's business: over TCP
or a pty there is none to make. :func:`serve_readout` serves it on TCP, one session per connection;
:class:`ReadoutPty` on a pty, as the optical head's serial port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from ..errors import EncodeError
from ..iec62056_21 import ACK
from ..obis import ObisCode
from ..text import encode_readout
from .interface_classes import Register
from .logical_names import ACTIVE_ENERGY_EXPORT, ACTIVE_ENERGY_IMPORT, CURRENTS, VOLTAGES
from .model import SimulatedMeter
from .p1 import id_code, measurement
from .runner import _PtyPort

READOUT_OBJECTS: tuple[ObisCode, ...] = (ACTIVE_ENERGY_IMPORT, ACTIVE_ENERGY_EXPORT, *VOLTAGES, *CURRENTS)
"""What the simulated readout holds (after the meter's serial number, ``C.1.0``)."""
MODE_C_IDENTIFICATION = "SIM5SIMULATED-C"
"""``SIM``, ``5`` (9600 baud, mode C) and no ``\\2``: the meter offers no HDLC."""
MODE_A_IDENTIFICATION = "SIMXSIMULATED-A"
"""A baud rate character that is neither a digit (modes C, E) nor A-I (mode B): mode A."""
SERIAL_NUMBER_CODE = "C.1.0"
_MAX_REQUEST = 64


class ReadoutMeter:
    """The meter's side of a data readout (see the module docstring)."""

    def __init__(
        self,
        meter: SimulatedMeter,
        *,
        mode_c: bool = True,
        device_address: str = "",
        objects: Iterable[ObisCode] = READOUT_OBJECTS,
    ) -> None:
        self.meter = meter
        self.mode_c = mode_c
        self.device_address = device_address
        self.objects = tuple(objects)
        self._buffer = bytearray()
        self._identified = False
        self.readouts = 0
        """Data messages sent."""

    @property
    def identification(self) -> str:
        """The identification line without ``/`` and CR LF."""
        return MODE_C_IDENTIFICATION if self.mode_c else MODE_A_IDENTIFICATION

    def data_message(self) -> bytes:
        """``STX`` data lines ``!`` CR LF ``ETX`` BCC, with the meter's values now."""
        context = self.meter.context()
        lines = [f"{SERIAL_NUMBER_CODE}({self.meter.serial})\r\n"]
        for code in self.objects:
            obj = self.meter.find(code)
            if not isinstance(obj, Register):
                raise EncodeError(f"the meter has no register {code} to read out")
            lines.append(f"{id_code(code, reduced=True)}({measurement(obj.get(2, context), obj)})\r\n")
        return encode_readout(None, "".join(lines))

    def receive(self, data: bytes) -> bytes:
        """What the meter answers to ``data`` (nothing until a whole request line is in)."""
        self._buffer += data
        answer = b""
        while (end := self._buffer.find(b"\r\n")) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            answer += self._answer(line)
        if len(self._buffer) > _MAX_REQUEST:
            self._buffer.clear()  # noise: the next request starts afresh
        return answer

    def _answer(self, line: bytes) -> bytes:
        sign_on = line.rfind(b"/?")
        if sign_on >= 0 and line.endswith(b"!"):
            address = line[sign_on + 2 : -1].decode("ascii", "replace")
            if address not in ("", self.device_address):
                return b""
            self._identified = True
            identification = f"/{self.identification}\r\n".encode("ascii")
            if not self.mode_c:
                self.readouts += 1
                return identification + self.data_message()
            return identification
        if self._identified and self.mode_c and line[:1] == bytes((ACK,)) and len(line) == 4:
            self._identified = False
            self.readouts += 1
            return self.data_message()
        return b""


async def serve_readout(meter: ReadoutMeter, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """A TCP server answering each connection as the meter's optical port does (started; close it)."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(256):
                answer = meter.receive(data)
                if answer:
                    writer.write(answer)
                    await writer.drain()
        writer.close()

    return await asyncio.start_server(session, host, port)


class ReadoutPty:
    """The meter's optical port on a new pty: a client opens :attr:`path` as it would the head's port."""

    def __init__(self, meter: ReadoutMeter) -> None:
        self.meter = meter
        self._port: _PtyPort | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        """The pty's slave path (after :meth:`start`)."""
        assert self._port is not None, "start the pty first"
        return self._port.path

    async def start(self) -> str:
        """Open the pty and answer what arrives on it; its path."""
        self._port = _PtyPort()
        self._task = asyncio.create_task(self._serve(self._port), name="readout pty")
        return self._port.path

    async def _serve(self, port: _PtyPort) -> None:
        while data := await port.read():
            answer = self.meter.receive(data)
            if answer:
                await port.write(answer)

    async def close(self) -> None:
        """Stop answering and release the pty."""
        if self._port is not None:
            self._port.close()
            self._port = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
