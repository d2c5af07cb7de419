"""GET round trips and a 64 KiB image transfer over the wrapper on TCP and UDP, with and without loss.

Run: scripts/run python -m benchmarks.bench_udp [--gets N] [--drop P] [--seed S] [--timeout SECONDS]

The simulator runs in the same process on 127.0.0.1 (management association, LLS); on UDP with
``--drop`` each answer datagram is lost with that probability and the transport sends the request
again after ``--timeout``. Prints one line per case: mean GET round trip, transfer time, resends.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.client.image_transfer import transfer_image
from custom_components.dlms_cosem.dlms.simulator import (
    FaultInjector,
    RunnerSettings,
    SimulatorServer,
    Transport,
)
from custom_components.dlms_cosem.dlms.simulator.image_transfer import add_image_transfer
from custom_components.dlms_cosem.dlms.simulator.model import SERIAL_NUMBER, MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.transport import (
    TcpEndpoint,
    UdpEndpoint,
    UdpTransport,
    WrapperTransport,
)
from custom_components.dlms_cosem.dlms.transport.base import ApduTransport

PASSWORD = b"bench-pw"
IMAGE = bytes(range(256)) * 256
BLOCK_SIZE = 512


async def case(kind: Transport, drop: float, args: argparse.Namespace) -> str:
    """One line of results for the transport ``kind`` with answer loss ``drop``."""
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD)
    meter = SimulatedMeter(lambda: datetime.now(UTC), security=security)
    add_image_transfer(meter, block_size=BLOCK_SIZE)
    faults = FaultInjector(seed=args.seed, drop_probability=drop)
    async with SimulatorServer(meter, RunnerSettings(transport=kind), faults=faults) as server:
        host, port = server.address.rsplit(":", 1)
        transport: ApduTransport
        if kind is Transport.WRAPPER_UDP:
            udp = UdpTransport(UdpEndpoint(host, int(port)), client_wport=1, response_timeout=args.timeout)
            transport = udp
        else:
            udp = None
            transport = WrapperTransport(TcpEndpoint(host, int(port)), client_wport=1)
        settings = ClientSettings(client_address=1, authentication=Authentication.LLS, password=PASSWORD)
        client = DlmsClient(transport, settings)
        try:
            await client.connect()
            start = time.perf_counter()
            for _ in range(args.gets):
                await client.get(SERIAL_NUMBER, 1, 2)
            get_ms = (time.perf_counter() - start) / args.gets * 1000
            start = time.perf_counter()
            report = await transfer_image(client, IMAGE, b"BENCH")
            seconds = time.perf_counter() - start
        finally:
            await client.close()
    resends = udp.retries if udp is not None else 0
    return (
        f"{kind.value:12} loss {drop:4.0%}: GET {get_ms:6.2f} ms (mean of {args.gets}); "
        f"{len(IMAGE) // 1024} KiB image, {report.blocks} blocks of {BLOCK_SIZE}: {seconds:5.2f} s; "
        f"resends {resends}"
    )


async def main(args: argparse.Namespace) -> None:
    """Every case, one after the other."""
    for kind, drop in (
        (Transport.WRAPPER_TCP, 0.0),
        (Transport.WRAPPER_UDP, 0.0),
        (Transport.WRAPPER_UDP, args.drop),
    ):
        print(await case(kind, drop, args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--drop", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=0.3)
    asyncio.run(main(parser.parse_args()))
