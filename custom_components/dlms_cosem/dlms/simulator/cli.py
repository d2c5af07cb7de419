"""``simulate``: a simulated DLMS/COSEM electricity meter to point a client (or Home Assistant) at.

Listens on a TCP port (IEC 62056-47 wrapper, or HDLC with ``--hdlc``) or on a new pty (HDLC). When
ready it prints one JSON line, ``{"listening": "<host:port or pty path>"}``, and serves until SIGINT
or SIGTERM (exit 0). With ``--mqtt`` it publishes its pushes to an MQTT broker instead, as HAN and P1
readers do, and prints ``{"publishing": "<host:port>", "topic": "<topic>"}``. SIGUSR1 reboots the
meter, SIGUSR2 drops the association. Passwords and keys are never printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO

from ..apdu import AuthenticationMechanism
from ..errors import DlmsError, EncodeError
from ..hdlc import HdlcParameters, server_address
from ..hdlc.address import HdlcAddress
from ..security import SecurityKeys, parse_key
from .faults import FaultInjector
from .image_transfer import ImageFaults, add_image_transfer
from .load_management import add_load_management
from .mbus_channels import MBUS_PUSH_OBJECTS
from .model import MeterSecurity, SimulatedMeter, default_system_title
from .mqtt import MqttPayload, MqttPublisher, MqttPushSettings, publish_pushes
from .push import DEFAULT_PUSH_OBJECTS, PushBuilder, PushFraming, PushSettings
from .readout import ReadoutMeter, ReadoutPty, serve_readout
from .runner import RunnerSettings, SimulatorServer, Transport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_MECHANISMS = {
    "none": AuthenticationMechanism.LOWEST_LEVEL,
    "lls": AuthenticationMechanism.LOW_LEVEL,
    "hls-gmac": AuthenticationMechanism.HIGH_LEVEL_GMAC,
}
_PUSH_SECURITY = {"none": None, "encrypted": 0x20, "authenticated-encrypted": 0x30}

_LOGGER = logging.getLogger(__name__)


def _host_port(text: str) -> tuple[str, int]:
    host, separator, port = text.rpartition(":")
    if not separator or not host or not port.isdigit() or int(port) > 0xFFFF:
        raise argparse.ArgumentTypeError("expected HOST:PORT, e.g. 127.0.0.1:4059 (port 0 picks a free one)")
    return host.strip("[]"), int(port)


def _server_address(text: str) -> HdlcAddress:
    logical, _, physical = text.partition("/")
    try:
        return server_address(int(logical), int(physical) if physical else None)
    except (ValueError, DlmsError):
        raise argparse.ArgumentTypeError("expected LOGICAL[/PHYSICAL], e.g. 1/17") from None


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}")
        return value

    return parse


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a probability 0..1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("expected a probability 0..1")
    return value


def _system_title(text: str) -> bytes:
    try:
        title = bytes.fromhex(text)
    except ValueError:
        title = b""
    if len(title) != 8:
        raise argparse.ArgumentTypeError("a system title is 8 bytes: 16 hex digits")
    return title


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen on TCP (port 0: any)")
    where.add_argument("--pty", action="store_true", help="HDLC on a new pty (its path is printed)")
    where.add_argument(
        "--udp", type=_host_port, metavar="HOST:PORT", help="the wrapper on UDP (IEC 62056-47; port 0: any)"
    )
    where.add_argument(
        "--mqtt", type=_host_port, metavar="HOST:PORT", help="publish the pushes to this MQTT broker"
    )
    parser.add_argument("--mqtt-topic", default="dlms_cosem/meter", help="with --mqtt: the topic")
    parser.add_argument(
        "--mqtt-payload",
        choices=[payload.value for payload in MqttPayload],
        default=MqttPayload.RAW.value,
        help="with --mqtt: the meter's bytes, or the same as hex text",
    )
    parser.add_argument(
        "--mqtt-per-frame", action="store_true", help="with --mqtt: one message per frame, not per telegram"
    )
    parser.add_argument("--mqtt-username", help="with --mqtt: user name at the broker")
    parser.add_argument("--mqtt-password", help="with --mqtt: password at the broker (never printed)")
    parser.add_argument(
        "--hdlc", action="store_true", help="with --tcp: HDLC over TCP instead of the wrapper"
    )
    parser.add_argument(
        "--auth", choices=tuple(_MECHANISMS), default="none", help="management authentication"
    )
    parser.add_argument(
        "--sn",
        action="store_true",
        help="short name referencing only (Association SN at 0xFA00; logical name AARQs are refused)",
    )
    parser.add_argument("--password", help="LLS password (never printed)")
    parser.add_argument("--key", help="global unicast encryption key, 32 hex digits (never printed)")
    parser.add_argument("--auth-key", help="authentication key, 32 hex digits (never printed)")
    parser.add_argument(
        "--require-ciphering",
        action="store_true",
        help="management must use the ciphered application context",
    )
    parser.add_argument("--no-public", action="store_true", help="refuse associations without authentication")
    parser.add_argument("--serial", default="12345678", help="serial number (also names the device)")
    parser.add_argument(
        "--load-management", action="store_true", help="add a limiter, a demand register and alarm objects"
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="start the meter clock this far off",
    )
    parser.add_argument("--system-title", type=_system_title, help="server system title, 16 hex digits")
    parser.add_argument(
        "--server-address",
        type=_server_address,
        default=server_address(1, 17),
        help="HDLC LOGICAL[/PHYSICAL]",
    )
    parser.add_argument(
        "--hdlc-max-info", type=_bounded(16, 2030), default=128, help="HDLC max information field length"
    )
    parser.add_argument("--hdlc-window", type=int, default=1, choices=range(1, 8), help="HDLC window size")
    parser.add_argument(
        "--max-pdu", type=_bounded(64, 0xFFFF), default=1024, help="server max receive PDU size"
    )
    parser.add_argument(
        "--utc-offset", type=_bounded(-720, 840), default=60, help="meter time zone, minutes east of UTC"
    )
    parser.add_argument(
        "--inactivity-timeout", type=_positive, default=120.0, help="HDLC inactivity timeout (s)"
    )
    parser.add_argument(
        "--baud", type=_bounded(50, 10_000_000), help="emulated line speed in baud (10 bits per byte)"
    )
    parser.add_argument("--latency-ms", type=_non_negative, default=0.0, help="delay before each reply (ms)")
    parser.add_argument("--corrupt-probability", type=_probability, default=0.0, help="per outgoing frame")
    parser.add_argument("--drop-probability", type=_probability, default=0.0, help="per outgoing frame")
    parser.add_argument("--seed", type=int, help="seed of the fault dice")
    parser.add_argument(
        "--reboot-downtime", type=float, default=0.0, help="seconds a reboot leaves the meter deaf"
    )
    parser.add_argument(
        "--reboot-resets-counters", action="store_true", help="a reboot restarts the invocation counters at 0"
    )
    parser.add_argument(
        "--image-transfer", action="store_true", help="image transfer (class 18) and firmware identifiers"
    )
    parser.add_argument(
        "--image-block-size", type=_bounded(16, 4096), default=192, help="with --image-transfer: block size"
    )
    parser.add_argument(
        "--image-lose-block",
        type=_bounded(0, 0xFFFF_FFFF),
        action="append",
        default=[],
        metavar="N",
        help="with --image-transfer: acknowledge block N once without keeping it (repeatable)",
    )
    parser.add_argument(
        "--image-fail-verification", action="store_true", help="with --image-transfer: verification fails"
    )
    parser.add_argument(
        "--image-verification-reads",
        type=_bounded(0, 1000),
        default=0,
        help="with --image-transfer: status reads the verification takes (verify answers temporary-failure)",
    )
    parser.add_argument(
        "--invocation-counter",
        type=_bounded(0, 0xFFFF_FFFF),
        default=0,
        help="the server's last invocation counter at start (a restarted meter must not look replayed)",
    )
    parser.add_argument("--push", type=_positive, metavar="SECONDS", help="push a telegram every SECONDS")
    parser.add_argument(
        "--mbus", action="store_true", help="a gas meter on M-Bus channel 1 and a water meter on channel 2"
    )
    parser.add_argument(
        "--push-framing",
        choices=[framing.value for framing in PushFraming],
        help="default: hdlc, or wrapper on TCP; p1: DSMR 5 text (with --push-security: a Luxembourg Smarty)",
    )
    parser.add_argument(
        "--push-security", choices=tuple(_PUSH_SECURITY), default="none", help="push ciphering"
    )
    parser.add_argument(
        "--readout",
        choices=("c", "a"),
        help="with --tcp or --pty: an optical port without HDLC, read out by IEC 62056-21 mode C or A",
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="warning", help="log to stderr"
    )


def _security(args: argparse.Namespace) -> MeterSecurity:
    keys = SecurityKeys(
        encryption_key=parse_key(args.key) if args.key else None,
        authentication_key=parse_key(args.auth_key) if args.auth_key else None,
    )
    return MeterSecurity(
        authentication=_MECHANISMS[args.auth],
        password=args.password.encode() if args.password else None,
        keys=keys,
        system_title=args.system_title or default_system_title(args.serial),
        require_ciphering=args.require_ciphering,
        allow_public_client=not args.no_public,
        server_invocation_counter=args.invocation_counter,
    )


def _settings(args: argparse.Namespace) -> RunnerSettings:
    if args.pty:
        transport, host, port = Transport.HDLC_PTY, "", 0
    elif args.udp:
        host, port = args.udp
        transport = Transport.WRAPPER_UDP
    elif args.mqtt:  # no server: only the push settings count (HDLC frames unless --push-framing)
        transport, host, port = Transport.HDLC_PTY, "", 0
    else:
        host, port = args.tcp
        transport = Transport.HDLC_TCP if args.hdlc else Transport.WRAPPER_TCP
    wrapped = transport in (Transport.WRAPPER_TCP, Transport.WRAPPER_UDP)
    default_framing = PushFraming.WRAPPER if wrapped else PushFraming.HDLC
    push = PushSettings(
        framing=PushFraming(args.push_framing) if args.push_framing else default_framing,
        security=_PUSH_SECURITY[args.push_security],
        server_address=args.server_address,
        source_wport=args.server_address.logical,
        objects=(*DEFAULT_PUSH_OBJECTS, *MBUS_PUSH_OBJECTS) if args.mbus else DEFAULT_PUSH_OBJECTS,
    )
    window = args.hdlc_window
    return RunnerSettings(
        transport=transport,
        host=host,
        port=port,
        server_address=args.server_address,
        hdlc_parameters=HdlcParameters(args.hdlc_max_info, args.hdlc_max_info, window, window),
        max_receive_pdu_size=args.max_pdu,
        inactivity_timeout=args.inactivity_timeout,
        push_interval=args.push,
        push=push,
        short_names=args.sn,
    )


async def serve(server: SimulatorServer, stdout: TextIO) -> None:
    """Start, print the listening line, run until SIGINT/SIGTERM, stop cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handlers = {
        signal.SIGINT: stop.set,
        signal.SIGTERM: stop.set,
        signal.SIGUSR1: server.faults.reboot,
        signal.SIGUSR2: server.faults.drop_association,
    }
    for number, handler in handlers.items():
        loop.add_signal_handler(number, handler)
    try:
        async with server:
            stdout.write(json.dumps({"listening": server.address}) + "\n")
            stdout.flush()
            await stop.wait()
    finally:
        for number in handlers:
            loop.remove_signal_handler(number)


async def publish_to_broker(
    builder: PushBuilder,
    publisher: MqttPublisher,
    settings: MqttPushSettings,
    interval: float,
    stdout: TextIO,
) -> None:
    """Connect, print the publishing line, publish every ``interval`` seconds until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with publisher:
            stdout.write(
                json.dumps({"publishing": f"{publisher.host}:{publisher.port}", "topic": settings.topic})
                + "\n"
            )
            stdout.flush()
            publishing = asyncio.create_task(publish_pushes(builder, publisher, settings, interval))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([publishing, stopping], return_when=asyncio.FIRST_COMPLETED)
            for task in (publishing, stopping):
                task.cancel()
            await asyncio.gather(publishing, stopping, return_exceptions=True)
            failure = None if publishing.cancelled() else publishing.exception()
            if failure is not None:
                raise failure
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def serve_optical_port(port: ReadoutMeter, host: str, number: int, stdout: TextIO) -> None:
    """The readout meter on TCP: print the listening line, run until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = await serve_readout(port, host, number)
    try:
        address = server.sockets[0].getsockname()
        stdout.write(json.dumps({"listening": f"{address[0]}:{address[1]}"}) + "\n")
        stdout.flush()
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def serve_optical_pty(port: ReadoutMeter, stdout: TextIO) -> None:
    """The readout meter on a new pty: print the listening line (its path), run until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    optical = ReadoutPty(port)
    try:
        stdout.write(json.dumps({"listening": await optical.start()}) + "\n")
        stdout.flush()
        await stop.wait()
    finally:
        await optical.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run the command; the exit code."""
    logging.basicConfig(
        level=args.log_level.upper(), stream=stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.readout is not None:
        if not args.tcp and not args.pty:
            stderr.write("simulate: --readout needs --tcp HOST:PORT or --pty\n")
            return EXIT_USAGE
        readout_meter = SimulatedMeter(
            lambda: datetime.now(UTC), serial=args.serial, utc_offset_minutes=args.utc_offset
        )
        optical_port = ReadoutMeter(readout_meter, mode_c=args.readout == "c")
        try:
            if args.pty:
                asyncio.run(serve_optical_pty(optical_port, stdout))
            else:
                host, port = args.tcp
                asyncio.run(serve_optical_port(optical_port, host, port, stdout))
        except OSError as err:
            stderr.write(f"simulate: cannot listen: {err}\n")
            return EXIT_FAILED
        return EXIT_OK
    try:
        security = _security(args)
        settings = _settings(args)
        push_security = settings.push.security
        if push_security is not None and security.keys.encryption_key is None:
            raise EncodeError("--push-security needs --key (and --auth-key for authenticated-encrypted)")
    except (DlmsError, ValueError) as err:
        stderr.write(f"simulate: {err}\n")
        return EXIT_USAGE
    meter = SimulatedMeter(
        lambda: datetime.now(UTC),
        serial=args.serial,
        security=security,
        utc_offset_minutes=args.utc_offset,
        mbus=args.mbus,
    )
    meter.clock.offset = timedelta(seconds=args.clock_offset)
    if args.load_management:
        add_load_management(meter)
    if args.image_transfer:
        add_image_transfer(
            meter,
            block_size=args.image_block_size,
            faults=ImageFaults(
                lose_blocks=set(args.image_lose_block),
                fail_verification=args.image_fail_verification,
                verification_reads=args.image_verification_reads,
            ),
        )
    faults = FaultInjector(
        seed=args.seed,
        corrupt_probability=args.corrupt_probability,
        drop_probability=args.drop_probability,
        baud=args.baud,
        latency=args.latency_ms / 1000,
        reboot_downtime=args.reboot_downtime,
        reset_frame_counters=args.reboot_resets_counters,
    )
    if args.mqtt is not None:
        return _publish(args, meter, settings.push, stdout, stderr)
    server = SimulatorServer(meter, settings, faults=faults)
    try:
        asyncio.run(serve(server, stdout))
    except OSError as err:
        stderr.write(f"simulate: cannot listen: {err}\n")
        return EXIT_FAILED
    except DlmsError as err:
        stderr.write(f"simulate: {err}\n")
        return EXIT_FAILED
    return EXIT_OK


def _publish(
    args: argparse.Namespace, meter: SimulatedMeter, push: PushSettings, stdout: TextIO, stderr: TextIO
) -> int:
    """``--mqtt``: the pushes go to a broker (every ``--push`` seconds, 10 by default)."""
    host, port = args.mqtt
    settings = MqttPushSettings(
        topic=args.mqtt_topic, payload=MqttPayload(args.mqtt_payload), per_frame=args.mqtt_per_frame
    )
    publisher = MqttPublisher(host, port, username=args.mqtt_username, password=args.mqtt_password)
    try:
        builder = PushBuilder(meter, push)
        asyncio.run(publish_to_broker(builder, publisher, settings, args.push or 10.0, stdout))
    except (OSError, DlmsError) as err:
        stderr.write(f"simulate: {err}\n")
        return EXIT_FAILED
    return EXIT_OK


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Stand-alone entry point (the package's ``__main__`` wires ``simulate`` to :func:`run`)."""
    import sys  # noqa: PLC0415 - only the stand-alone entry needs the process streams

    parser = argparse.ArgumentParser(prog="simulate", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv), stdout or sys.stdout, stderr or sys.stderr)
