"""Poll time for 10 registers through the ``read`` command's reader, against the simulator on a slow line.

Run: scripts/run env PYTHONPATH=. python benchmarks/bench_poll.py [--polls N] [--baud B] [--latency-ms L]

The simulator emulates the meter's side of the line (its replies leave at ``--baud``, 10 bits per byte,
after ``--latency-ms``); the client's port here holds back each write for the same wire time, so
requests reach the meter no sooner than on a real line. After one warm-up poll (association, classes
and scalers), every poll should be a single GET-with-list. Figures per poll: wall time (median, p90),
APDU round trips (counted at the transport), bytes on the line in both directions (counted at the
client's port), and the wire-time lower bound ``bytes x 10 / baud + latency``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.cli.read import ObjectReader, ObjectReading, ObjectRequest
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator import FaultInjector, MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_EXPORT,
    ACTIVE_POWER_IMPORT,
    CURRENTS,
    VOLTAGES,
)
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport import (
    HdlcTransport,
    SerialEndpoint,
    SharedPort,
    TcpEndpoint,
    WrapperTransport,
)
from custom_components.dlms_cosem.dlms.transport.base import ApduTransport

REGISTERS = [
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_POWER_IMPORT,
    ACTIVE_POWER_EXPORT,
    *VOLTAGES,
    *CURRENTS,
][:10]
KEYS = SecurityKeys(
    bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
)
RESPONSE_TIMEOUT = 5.0


@dataclass
class Line:
    """Bytes on the line, each direction."""

    sent: int = 0
    received: int = 0


class PacedPort(SharedPort):
    """The client's port: counts bytes, and delivers each write after its wire time at ``baud``."""

    def __init__(self, endpoint: SerialEndpoint, baud: int, line: Line) -> None:
        super().__init__(endpoint)
        self._baud = baud
        self._line = line

    async def write(self, data: bytes) -> None:
        """Wait for the bytes' wire time, then hand them over."""
        await asyncio.sleep(len(data) * 10 / self._baud)
        self._line.sent += len(data)
        await super().write(data)

    async def read(self, max_wait: float) -> bytes:
        """Read and count."""
        data = await super().read(max_wait)
        self._line.received += len(data)
        return data


@dataclass
class Relay:
    """A TCP relay in front of the simulator: counts bytes, paces client-to-meter bytes at ``baud``."""

    target: tuple[str, int]
    baud: int
    line: Line
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> tuple[str, int]:
        """Listen; where."""
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        meter_reader, meter_writer = await asyncio.open_connection(*self.target)

        async def pump(
            source: asyncio.StreamReader,
            sink: asyncio.StreamWriter,
            count: Callable[[int], None],
            paced: bool,
        ) -> None:
            try:
                while data := await source.read(4096):
                    if paced:
                        await asyncio.sleep(len(data) * 10 / self.baud)
                    count(len(data))
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        def sent(size: int) -> None:
            self.line.sent += size

        def received(size: int) -> None:
            self.line.received += size

        pumps = [
            asyncio.create_task(pump(reader, meter_writer, sent, paced=True)),
            asyncio.create_task(pump(meter_reader, writer, received, paced=False)),
        ]
        self.tasks.update(pumps)
        await asyncio.gather(*pumps, return_exceptions=True)

    async def close(self) -> None:
        """Stop listening and relaying."""
        if self.server is not None:
            self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()


class CountingTransport:
    """An ApduTransport that counts the confirmed exchanges (round trips) of the one it wraps."""

    def __init__(self, inner: ApduTransport) -> None:
        self._inner = inner
        self.requests = 0

    @property
    def is_open(self) -> bool:
        """As the wrapped transport."""
        return self._inner.is_open

    async def open(self) -> None:
        """Open the wrapped transport."""
        await self._inner.open()

    async def request(self, apdu: bytes) -> bytes:
        """One counted round trip."""
        self.requests += 1
        return await self._inner.request(apdu)

    async def send(self, apdu: bytes) -> None:
        """An unconfirmed APDU (not a round trip)."""
        await self._inner.send(apdu)

    async def close(self) -> None:
        """Close the wrapped transport."""
        await self._inner.close()


@dataclass
class Figures:
    """What was measured for one link and security level, poll by poll."""

    link: str
    security: str
    times: list[float]
    requests: list[int]
    bytes: list[tuple[int, int]]

    def row(self, baud: int, latency: float) -> str:
        """One table row: medians per poll, and the measured time over the wire-time bound."""
        times = sorted(self.times)
        median = statistics.median(times) * 1000
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))] * 1000
        sent = statistics.median(out for out, _ in self.bytes)
        received = statistics.median(back for _, back in self.bytes)
        bound = ((sent + received) * 10 / baud + latency) * 1000
        requests = "/".join(str(count) for count in sorted(set(self.requests)))
        return (
            f"{self.link:11} {self.security:17} {median:9.1f} {p90:8.1f} {requests:>9} "
            f"{sent:>5.0f} + {received:<5.0f} {bound:13.1f} {median / bound:8.2f}"
        )


def _settings(security: str) -> tuple[MeterSecurity | None, ClientSettings]:
    if security == "none":
        return None, ClientSettings()
    meter = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=KEYS, require_ciphering=True
    )
    client = ClientSettings(
        client_address=1,
        authentication=Authentication.HLS_GMAC,
        keys=KEYS,
        ciphered=True,
        invocation_counter=1,
    )
    return meter, client


async def _measure(kind: Transport, security: str, polls: int, baud: int, latency: float) -> Figures:
    meter_security, settings = _settings(security)
    meter = SimulatedMeter(lambda: datetime.now(UTC), security=meter_security)
    faults = FaultInjector(baud=baud, latency=latency)
    line = Line()
    relay: Relay | None = None
    async with SimulatorServer(meter, RunnerSettings(transport=kind), faults=faults) as server:
        inner: ApduTransport
        if kind is Transport.HDLC_PTY:
            port = PacedPort(SerialEndpoint(server.address, baudrate=baud), baud, line)
            inner = HdlcTransport(
                port,
                client_address=settings.client_address,
                server_physical=17,
                response_timeout=RESPONSE_TIMEOUT,
            )
        else:
            host, target_port = server.address.rsplit(":", 1)
            relay = Relay((host, int(target_port)), baud, line)
            relay_host, relay_port = await relay.start()
            inner = WrapperTransport(
                TcpEndpoint(relay_host, relay_port),
                client_wport=settings.client_address,
                response_timeout=RESPONSE_TIMEOUT,
            )
        transport = CountingTransport(inner)
        client = DlmsClient(transport, settings)
        reader = ObjectReader(client)
        requests = [ObjectRequest(obis) for obis in REGISTERS]
        figures = Figures(kind.value, security if security == "none" else "hls-gmac ciphered", [], [], [])
        try:
            await _poll(reader, requests)  # warm-up: association, classes, scalers
            for _ in range(polls):
                before = (transport.requests, line.sent, line.received)
                started = time.perf_counter()
                await _poll(reader, requests)
                figures.times.append(time.perf_counter() - started)
                figures.requests.append(transport.requests - before[0])
                figures.bytes.append((line.sent - before[1], line.received - before[2]))
        finally:
            await client.close()
            if relay is not None:
                await relay.close()
    return figures


async def _poll(reader: ObjectReader, requests: list[ObjectRequest]) -> None:
    failed = [result for result in await reader.read(requests) if not isinstance(result, ObjectReading)]
    if failed:
        raise RuntimeError(f"poll failed: {failed}")


async def _main(polls: int, baud: int, latency: float) -> None:
    print(
        f"poll of {len(REGISTERS)} registers (GET-with-list, scalers cached, association kept), "
        f"{polls} polls after 1 warm-up; emulated line {baud} baud (10 bits/byte), reply latency "
        f"{latency * 1000:.0f} ms"
    )
    print(
        f"{'link':11} {'security':17} {'median ms':>9} {'p90 ms':>8} {'trips':>9} "
        f"{'bytes out + in':14} {'wire bound ms':>13} {'ratio':>8}"
    )
    for kind in (Transport.HDLC_PTY, Transport.WRAPPER_TCP):
        for security in ("none", "hls-gmac"):
            figures = await _measure(kind, security, polls, baud, latency)
            print(figures.row(baud, latency))


def main() -> None:
    """Parse the options and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(_main(args.polls, args.baud, args.latency_ms / 1000))


if __name__ == "__main__":
    main()
