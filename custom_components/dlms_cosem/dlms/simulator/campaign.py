"""Fault campaign: many polls through the real client and a noisy line, every value checked.

The meter's clock is stepped by the campaign (``STEP`` seconds per poll), so every value the meter
serves is a deterministic function of the poll's instant; each value the client returns is compared
with :meth:`SimulatedMeter.read` for that instant (raw value, and the scaled value with the meter's
scaler). A value is published or absent, never wrong: a mismatch counts as a wrong value.

The line is a :class:`~.line.LineRelay` over real TCP sockets between an HDLC client
(:class:`~..transport.hdlc.HdlcTransport`) and the simulator speaking HDLC over TCP, corrupting and
losing bytes in both directions. After the noisy polls the noise stops, and the polls until the
first success are the recovery. ``python -m custom_components.dlms_cosem.dlms.simulator.campaign``
runs it and prints the figures (``scripts/faults`` runs 10,000 polls).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..apdu import AuthenticationMechanism
from ..client import Authentication, ClientSettings, DlmsClient, RegisterValue
from ..errors import DlmsError
from ..obis import ObisCode
from ..transport.hdlc import HdlcTransport
from ..transport.streams import TcpEndpoint
from ..units import ScalerUnit
from .line import LineRelay, NoisyLine
from .model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_IMPORT,
    CURRENTS,
    FREQUENCY,
    VOLTAGES,
    MeterSecurity,
    Register,
    SimulatedMeter,
)
from .runner import RunnerSettings, SimulatorServer, Transport

PASSWORD = b"campaign"
#: Simulated seconds between polls: odd, so every register changes from one poll to the next.
STEP = timedelta(seconds=37)
START = datetime(2026, 3, 1, tzinfo=UTC)
#: What each poll reads: energies, power, three voltages and currents, frequency (one GET-with-list).
POLLED: tuple[ObisCode, ...] = (
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_POWER_IMPORT,
    *VOLTAGES,
    *CURRENTS,
    FREQUENCY,
)
#: Registers per poll by default: energy in, energy out, power. At 2 % of bytes damaged each way a
#: poll of all ten (about 300 bytes on the line) almost never gets through; three is a P1-like poll.
DEFAULT_REGISTERS = 3
#: A poll that takes longer than this is a hang (a defect), not a failed poll.
POLL_DEADLINE = 10.0


@dataclass(slots=True)
class CampaignFigures:
    """What a campaign counted."""

    polls: int = 0
    polls_ok: int = 0
    """Polls that returned a value for every register."""
    polls_partial: int = 0
    """Polls that returned some values and an error for others."""
    polls_failed: int = 0
    """Polls that raised a DlmsError (nothing published)."""
    polls_hung: int = 0
    """Polls that exceeded ``POLL_DEADLINE`` (must be 0)."""
    values_published: int = 0
    wrong_values: int = 0
    """Values that differ from the meter's for the poll's instant (must be 0)."""
    errors: Counter[str] = field(default_factory=Counter)
    """Failed polls by error type."""
    recovery_polls: int | None = None
    """Polls after the noise stopped up to and including the first success (1: the first poll)."""
    recovery_seconds: float | None = None
    slowest_poll: float = 0.0
    seconds: float = 0.0
    bytes_carried: int = 0
    bytes_corrupted: int = 0
    bytes_lost: int = 0
    connections: int = 0
    """TCP connections the client opened through the relay (reconnects after failures)."""

    def lines(self) -> list[str]:
        """The figures as printable lines."""
        errors = ", ".join(f"{name} {count}" for name, count in self.errors.most_common()) or "none"
        return [
            f"polls: {self.polls} (ok {self.polls_ok}, partial {self.polls_partial}, "
            f"failed {self.polls_failed}, hung {self.polls_hung})",
            f"values published: {self.values_published}, wrong values: {self.wrong_values}",
            f"failed polls by error: {errors}",
            f"line: {self.bytes_carried} bytes sent, {self.bytes_corrupted} corrupted, "
            f"{self.bytes_lost} lost",
            f"client connections through the line: {self.connections}",
            f"slowest poll: {self.slowest_poll * 1000:.0f} ms; whole run: {self.seconds:.1f} s",
            f"recovery after the noise stopped: {self.recovery_polls} poll(s), "
            f"{(self.recovery_seconds or 0) * 1000:.0f} ms",
        ]


class SteppedClock:
    """The meter's clock, moved by the campaign: one instant per poll."""

    def __init__(self, start: datetime = START) -> None:
        self.instant = start

    def __call__(self) -> datetime:
        """The instant of the current poll."""
        return self.instant

    def step(self, by: timedelta = STEP) -> None:
        """Move to the next poll's instant."""
        self.instant += by


def expected_value(meter: SimulatedMeter, obis: ObisCode) -> tuple[object, object]:
    """The raw value and the scaled value the meter serves for ``obis`` now."""
    raw = meter.read(obis)
    obj = meter.find(obis)
    scaler: ScalerUnit | None = obj.scaler_unit if isinstance(obj, Register) else None
    value = raw.value
    if scaler is not None and isinstance(value, int):
        return raw, scaler.scale(value)
    return raw, value


def check_values(
    meter: SimulatedMeter, wanted: Sequence[ObisCode], results: Sequence[RegisterValue | DlmsError]
) -> tuple[int, int]:
    """(published, wrong) for one poll's results against the meter's values for this instant."""
    published = wrong = 0
    for obis, result in zip(wanted, results, strict=True):
        if isinstance(result, DlmsError):
            continue
        published += 1
        raw, scaled = expected_value(meter, obis)
        if result.obis != obis or result.raw != raw or result.value != scaled:
            wrong += 1
    return published, wrong


async def run_campaign(
    polls: int,
    *,
    seed: int = 1,
    corrupt_probability: float = 0.01,
    loss_probability: float = 0.01,
    response_timeout: float = 0.05,
    registers: int = DEFAULT_REGISTERS,
    progress: Callable[[int, CampaignFigures], None] | None = None,
) -> CampaignFigures:
    """Poll ``polls`` times through a noisy line, then once the noise stops until a poll succeeds.

    Each poll reads the first ``registers`` of :data:`POLLED` in one GET-with-list.
    """
    wanted = POLLED[:registers]
    clock = SteppedClock()
    meter = SimulatedMeter(
        clock,
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD),
    )
    figures = CampaignFigures()
    to_meter = NoisyLine(
        seed=seed, corrupt_probability=corrupt_probability, loss_probability=loss_probability
    )
    to_client = NoisyLine(
        seed=seed + 1, corrupt_probability=corrupt_probability, loss_probability=loss_probability
    )
    loop = asyncio.get_running_loop()
    began = loop.time()
    settings = RunnerSettings(transport=Transport.HDLC_TCP)
    async with SimulatorServer(meter, settings) as server:
        host, port = server.address.rsplit(":", 1)
        async with LineRelay(host, int(port), to_meter=to_meter, to_client=to_client) as relay:
            transport = HdlcTransport(
                TcpEndpoint("127.0.0.1", relay.port),
                client_address=1,
                server_logical=1,
                server_physical=17,
                response_timeout=response_timeout,
            )
            client = DlmsClient(
                transport,
                ClientSettings(client_address=1, authentication=Authentication.LLS, password=PASSWORD),
            )
            try:
                for index in range(polls):
                    clock.step()
                    await _poll(client, meter, wanted, figures)
                    if progress is not None:
                        progress(index + 1, figures)
                for line in (to_meter, to_client):
                    line.corrupt_probability = line.loss_probability = 0.0
                quiet_since = loop.time()
                for attempt in range(1, 11):
                    clock.step()
                    if await _poll(client, meter, wanted, figures):
                        figures.recovery_polls = attempt
                        figures.recovery_seconds = loop.time() - quiet_since
                        break
            finally:
                await client.close()
            figures.connections = relay.connections
    figures.seconds = loop.time() - began
    for line in (to_meter, to_client):
        figures.bytes_carried += line.bytes_carried
        figures.bytes_corrupted += line.bytes_corrupted
        figures.bytes_lost += line.bytes_lost
    return figures


async def _poll(
    client: DlmsClient, meter: SimulatedMeter, wanted: Sequence[ObisCode], figures: CampaignFigures
) -> bool:
    """One poll; True when every register got its value."""
    figures.polls += 1
    started = time.monotonic()
    try:
        async with asyncio.timeout(POLL_DEADLINE):
            results = await client.read_registers(wanted)
    except DlmsError as err:
        figures.polls_failed += 1
        figures.errors[type(err).__name__] += 1
        return False
    except TimeoutError:
        figures.polls_hung += 1
        figures.errors["hung"] += 1
        await client.close()
        return False
    finally:
        figures.slowest_poll = max(figures.slowest_poll, time.monotonic() - started)
    published, wrong = check_values(meter, wanted, results)
    figures.values_published += published
    figures.wrong_values += wrong
    if published == len(wanted):
        figures.polls_ok += 1
        return True
    figures.polls_partial += 1
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run a campaign and print its figures; exit status 1 when a value was wrong or a poll hung."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corrupt", type=float, default=0.01, help="probability per byte (both ways)")
    parser.add_argument("--loss", type=float, default=0.01, help="probability per byte (both ways)")
    parser.add_argument(
        "--registers", type=int, default=DEFAULT_REGISTERS, help=f"registers per poll (1-{len(POLLED)})"
    )
    parser.add_argument("--response-timeout", type=float, default=0.05, help="HDLC response timeout (s)")
    args = parser.parse_args(argv)

    def progress(done: int, figures: CampaignFigures) -> None:
        if done % 1000 == 0:
            print(f"  {done} polls: ok {figures.polls_ok}, wrong values {figures.wrong_values}", flush=True)

    print(
        f"Fault campaign: {args.polls} polls, {args.corrupt:.2%} of bytes corrupted and {args.loss:.2%} "
        f"lost in each direction, seed {args.seed}, HDLC over TCP through the noisy relay"
    )
    figures = asyncio.run(
        run_campaign(
            args.polls,
            seed=args.seed,
            corrupt_probability=args.corrupt,
            loss_probability=args.loss,
            response_timeout=args.response_timeout,
            registers=args.registers,
            progress=progress,
        )
    )
    for line in figures.lines():
        print(line)
    return 1 if figures.wrong_values or figures.polls_hung else 0


if __name__ == "__main__":
    raise SystemExit(main())
