"""Poll time for 10 or 40 registers through the ``read`` command's reader, against the simulator.

Run: scripts/run env PYTHONPATH=. python benchmarks/bench_poll.py [--polls N] [--baud B] [--latency-ms L]
(``scripts/bench`` runs it as part of the whole table.)

The simulator emulates the meter's side of the line (its replies leave at ``--baud``, 10 bits per byte,
after ``--latency-ms``); the client's port here holds back each write for the same wire time, so
requests reach the meter no sooner than on a real line. After one warm-up poll (association, classes
and scalers), every poll should be a single GET-with-list. Figures per poll: wall time (median, p90),
APDU round trips (counted at the transport), bytes on the line in both directions (counted at the
client's port), the wire-time lower bound ``bytes x 10 / baud + latency`` (one latency per round
trip), and the client's CPU time: the simulator (and the TCP relay) run in a thread of their own, so
the CPU time of the client's thread is the client's work, event loop included.

Association: the time from a fresh client to an open association (HDLC SNRM/UA or none, AARQ/AARE,
and the HLS-GMAC challenge exchange where used) over the same line, per security level.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from benchmarks import bench_wake
from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cli.read import ObjectReader, ObjectReading, ObjectRequest
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.hdlc import HdlcParameters
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator import FaultInjector, MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_EXPORT,
    ACTIVE_POWER_IMPORT,
    CURRENTS,
    FREQUENCY,
    VOLTAGES,
    Register,
    W,
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

BUILT_IN = [
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_POWER_IMPORT,
    ACTIVE_POWER_EXPORT,
    *VOLTAGES,
    *CURRENTS,
    FREQUENCY,
]
# Per-phase powers and the like, added to the simulated meter so a poll can ask for 40 registers.
EXTRA = [ObisCode(1, 0, c, 7, 0, 255) for c in (3, 4, 9, 10, 21, 22, 23, 24, 29, 30, 41, 42, 43, 44)] + [
    ObisCode(1, 0, c, 8, 0, 255) for c in (3, 4, 5, 6, 7, 8, 21, 22, 41, 42, 61, 62, 9)
]
REGISTERS = BUILT_IN[:10]
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
    """What was measured for one link, security level and poll size, poll by poll."""

    link: str
    security: str
    registers: int
    times: list[float]
    requests: list[int]
    bytes: list[tuple[int, int]]
    cpu: list[float]

    def row(self, baud: int, latency: float) -> str:
        """One table row: medians per poll, and the measured time over the wire-time bound."""
        times = sorted(self.times)
        median = statistics.median(times) * 1000
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))] * 1000
        sent = statistics.median(out for out, _ in self.bytes)
        received = statistics.median(back for _, back in self.bytes)
        trips = statistics.median(self.requests)
        bound = ((sent + received) * 10 / baud + latency * trips) * 1000
        requests = "/".join(str(count) for count in sorted(set(self.requests)))
        cpu = statistics.median(self.cpu) * 1000
        return (
            f"{self.link:16} {self.security:17} {self.registers:4d} {median:9.1f} {p90:8.1f} {requests:>6} "
            f"{sent:>5.0f} + {received:<5.0f} {bound:10.1f} {median / bound:6.3f} {cpu:8.2f}"
        )


HEADER = (
    f"{'link':16} {'security':17} {'regs':>4} {'median ms':>9} {'p90 ms':>8} {'trips':>6} "
    f"{'bytes out + in':14} {'bound ms':>10} {'ratio':>6} {'CPU ms':>8}"
)


def _settings(security: str) -> tuple[MeterSecurity | None, ClientSettings]:
    if security == "none":
        return None, ClientSettings()
    if security == "lls":
        meter = MeterSecurity(
            authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678", require_ciphering=False
        )
        return meter, ClientSettings(
            client_address=1, authentication=Authentication.LLS, password=b"12345678"
        )
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


def _label(security: str) -> str:
    return {"none": "none", "lls": "lls", "hls-gmac": "hls-gmac ciphered"}[security]


def _value(instant: datetime) -> Data:
    return Data.double_long_unsigned(int(instant.timestamp()) % 100_000)


class _ServerThread:
    """The simulated meter (and the TCP relay) in a thread and event loop of their own."""

    def __init__(
        self,
        meter: SimulatedMeter,
        settings: RunnerSettings,
        faults: FaultInjector,
        relay: Relay | None,
    ) -> None:
        self._meter, self._settings, self._faults, self._relay = meter, settings, faults, relay
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.address = ""

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with SimulatorServer(self._meter, self._settings, faults=self._faults) as server:
            self.address = server.address
            if self._relay is not None:
                host, port = server.address.rsplit(":", 1)
                self._relay.target = (host, int(port))
                relay_host, relay_port = await self._relay.start()
                self.address = f"{relay_host}:{relay_port}"
            self._ready.set()
            await self._stop.wait()
            if self._relay is not None:
                await self._relay.close()

    def __enter__(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the simulator did not start")
        return self.address

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@asynccontextmanager
async def _client(  # noqa: PLR0917 - one figure per argument
    kind: Transport,
    security: str,
    registers: int,
    baud: int,
    latency: float,
    meter_hdlc: HdlcParameters | None = None,
    profile_entries: int = 960,
) -> AsyncIterator[tuple[DlmsClient, CountingTransport, Line]]:
    meter_security, settings = _settings(security)
    meter = SimulatedMeter(
        lambda: datetime.now(UTC), security=meter_security, profile_entries=profile_entries
    )
    for obis in EXTRA[: max(0, registers - len(BUILT_IN))]:
        meter.add(Register(obis, _value, W))
    faults = FaultInjector(baud=baud, latency=latency)
    line = Line()
    relay = Relay(("", 0), baud, line) if kind is Transport.WRAPPER_TCP else None
    settings_of_meter = RunnerSettings(transport=kind, hdlc_parameters=meter_hdlc or HdlcParameters())
    with _ServerThread(meter, settings_of_meter, faults, relay) as address:
        inner: ApduTransport
        if kind is Transport.HDLC_PTY:
            port = PacedPort(SerialEndpoint(address, baudrate=baud), baud, line)
            inner = HdlcTransport(
                port,
                client_address=settings.client_address,
                server_physical=17,
                response_timeout=RESPONSE_TIMEOUT,
            )
        else:
            host, relay_port = address.rsplit(":", 1)
            inner = WrapperTransport(
                TcpEndpoint(host, int(relay_port)),
                client_wport=settings.client_address,
                response_timeout=RESPONSE_TIMEOUT,
            )
        transport = CountingTransport(inner)
        client = DlmsClient(transport, settings)
        try:
            yield client, transport, line
        finally:
            await client.close()


def _limits(parameters: HdlcParameters) -> str:
    return f"{parameters.max_info_transmit}/w{parameters.window_transmit}"


def registers(count: int) -> list[ObisCode]:
    """The first ``count`` registers: the simulator's own, then the added ones."""
    return (BUILT_IN + EXTRA)[:count]


async def measure_polls(  # noqa: PLR0917 - one figure per argument
    kind: Transport,
    security: str,
    count: int,
    polls: int,
    baud: int,
    latency: float,
    meter_hdlc: HdlcParameters | None = None,
) -> Figures:
    """Polls of ``count`` registers after one warm-up poll (``meter_hdlc``: the meter's HDLC limits)."""
    async with _client(kind, security, count, baud, latency, meter_hdlc) as (client, transport, line):
        reader = ObjectReader(client)
        requests = [ObjectRequest(obis) for obis in registers(count)]
        link = kind.value if meter_hdlc is None else f"{kind.value} {_limits(meter_hdlc)}"
        figures = Figures(link, _label(security), count, [], [], [], [])
        await _poll(reader, requests)  # warm-up: association, classes, scalers
        for _ in range(polls):
            before = (transport.requests, line.sent, line.received)
            cpu = time.thread_time()
            started = time.perf_counter()
            await _poll(reader, requests)
            figures.times.append(time.perf_counter() - started)
            figures.cpu.append(time.thread_time() - cpu)
            figures.requests.append(transport.requests - before[0])
            figures.bytes.append((line.sent - before[1], line.received - before[2]))
    return figures


async def measure_association(kind: Transport, security: str, repeats: int, baud: int, latency: float) -> str:
    """Time from a fresh client to an open association, median of ``repeats`` fresh clients."""
    times, trips, sizes = [], [], []
    for _ in range(repeats):
        async with _client(kind, security, 0, baud, latency) as (client, transport, line):
            started = time.perf_counter()
            await client.connect()
            times.append(time.perf_counter() - started)
            trips.append(transport.requests)
            sizes.append(line.sent + line.received)
    return (
        f"{kind.value:11} {_label(security):17} {statistics.median(times) * 1000:9.1f} ms "
        f"(min {min(times) * 1000:.1f}), {statistics.median(trips):.0f} APDU round trips, "
        f"{statistics.median(sizes):.0f} bytes on the line (HDLC SNRM/UA not counted as APDU trips)"
    )


async def _poll(reader: ObjectReader, requests: list[ObjectRequest]) -> None:
    failed = [result for result in await reader.read(requests) if not isinstance(result, ObjectReading)]
    if failed:
        raise RuntimeError(f"poll failed: {failed}")


async def run(polls: int, baud: int, latency: float, counts: tuple[int, ...] = (10, 40)) -> list[str]:
    """The poll table and the association times, as lines."""
    lines = [
        f"poll (GET-with-list, scalers cached, association kept), {polls} polls after 1 warm-up; emulated "
        f"line {baud} baud (10 bits/byte), reply latency {latency * 1000:.0f} ms; "
        "bound = bytes x 10 / baud + "
        "latency x round trips",
        HEADER,
    ]
    for count in counts:
        for kind in (Transport.HDLC_PTY, Transport.WRAPPER_TCP):
            for security in ("none", "hls-gmac"):
                figures = await measure_polls(kind, security, count, polls, baud, latency)
                lines.append(figures.row(baud, latency))
    lines.append(
        "meters stating larger HDLC limits in their UA (frame bytes / window; the rows above: 128 / 1, "
        "where each further frame of a request or answer waits for an RR, a link round trip the bound "
        "does not count):"
    )
    for limits in (
        HdlcParameters(256, 256, 1, 1),
        HdlcParameters(128, 128, 7, 7),
        HdlcParameters(256, 256, 7, 7),
    ):
        figures = await measure_polls(Transport.HDLC_PTY, "none", counts[-1], polls, baud, latency, limits)
        lines.append(figures.row(baud, latency))
    lines.extend(await bench_wake.run(baud, latency, polls * 2))
    lines.append("association (fresh client to open association), same line:")
    for security in ("none", "lls", "hls-gmac"):
        lines.append(await measure_association(Transport.HDLC_PTY, security, 3, baud, latency))
    return lines


def main() -> None:
    """Parse the options and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    print("\n".join(asyncio.run(run(args.polls, args.baud, args.latency_ms / 1000))))


if __name__ == "__main__":
    main()
