"""``read``: read objects from a meter over a serial port or TCP, one JSON object per line.

Where: ``--port`` (device path or serialx URL such as ``socket://host:port``; HDLC, ``--baud``,
``--parity``) or ``--host`` (IEC 62056-47 wrapper on ``--tcp-port``, or HDLC over TCP with ``--hdlc``,
or the wrapper over UDP with ``--udp``, resent ``--retries`` times when a datagram gets no answer).
HDLC addresses the logical device ``--server-address`` (and ``--physical-address`` when the meter
wants a two- or four-byte address); the wrapper uses them as wPorts.

Security: ``--auth lls`` sends ``--password``; ``--auth hls-gmac`` needs ``--key`` and ``--auth-key``.
A ``--key`` selects the ciphered application context (every APDU glo-ciphered: authenticated and
encrypted with ``--auth-key``, encrypted only without), unless ``--no-ciphering``. With keys the
client needs an invocation counter above the last one the meter accepted: unless
``--invocation-counter`` is given, the frame counter (``--frame-counter``, 0.0.43.1.0.255) is first
read by the public client (16) without security and the association continues above it.

Each ``OBIS[:ATTRIBUTE]`` (attribute 2 when omitted) is read with the class its OBIS code suggests
(registers, data, clock, ...; see :mod:`.reading`), registers in one GET-with-list together with their
scaler_unit, so they come back scaled with their unit in one request. A wrong guess is tried again
(a Register as Data, then the class the association's object list gives); a GET-with-list the meter
refuses or garbles as a whole is asked again one object at a time. ``--list-objects`` prints the
object list first (its classes then spare the guess). ``--profile OBIS --from ISO [--to ISO]`` prints
a profile's rows in that time range as CSV (``--format json``: one object per row); see :mod:`.profile`.

Output: ``{"obis", "attribute", "value", "unit", "raw"}`` per object read, ``{"obis", "attribute",
"error", "kind"}`` per object not read (``error`` is what the meter said, such as
``object-undefined`` or ``read-write-denied``), in the order asked (``--list-objects``:
``{"class_id", "version", "obis"}`` per object). Numbers are scaled; octet-strings are text when
printable, date-times ISO, other bytes hex. Exit 0 when everything asked for was read, 1 otherwise
(one line per failure on stderr and a summary), 2 on usage errors. A silent meter is reported after
about ``(retries + 1) x timeout`` on HDLC, ``timeout`` on the wrapper. Passwords and keys are never
printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from ..client import (
    DEFAULT_CLIENT_SYSTEM_TITLE,
    PUBLIC_CLIENT_ADDRESS,
    Authentication,
    ClientSettings,
    DlmsClient,
    Referencing,
    read_frame_counter,
)
from ..client.objects import CURRENT_ASSOCIATION, FRAME_COUNTER
from ..errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    ConnectionLostError,
    DecodeError,
    DecryptionError,
    DlmsError,
    MeterNotRespondingError,
    ObjectUndefinedError,
    PortUnavailableError,
    ProtocolError,
    SecurityError,
    ServiceError,
)
from ..hdlc import HdlcParameters
from ..obis import ObisCode
from ..security import SecurityKeys, parse_key
from ..transport import HdlcTransport, SerialEndpoint, TcpEndpoint, WrapperTransport
from ..transport.base import ApduTransport
from ..transport.udp import UdpEndpoint, UdpTransport
from .output import write_json_line
from .profile import FORMATS, parse_instant, print_profile
from .reading import ObjectReader, ObjectReading, ObjectRequest

__all__ = [
    "ObjectReader",
    "ObjectReading",
    "ObjectRequest",
    "add_arguments",
    "describe_error",
    "failure_record",
    "run",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_TIMEOUT = 3.0
DEFAULT_RETRIES = 2
DEFAULT_BAUD = 9600
DEFAULT_TCP_PORT = 4059
#: Security control of the ciphered context: authenticated and encrypted, or encrypted only.
_AUTHENTICATED_ENCRYPTED = 0x30
_ENCRYPTED = 0x20

_LOGGER = logging.getLogger(__name__)
_PACKAGE_LOGGER = logging.getLogger(__name__.rsplit(".", 2)[0])


# --- error messages -----------------------------------------------------------------------------------

_LABELS: tuple[tuple[type[DlmsError], str], ...] = (
    (PortUnavailableError, "port unavailable"),
    (MeterNotRespondingError, "meter not responding"),
    (ConnectionLostError, "connection lost"),
    (ProtocolError, "protocol error"),
    (DecryptionError, "decryption failed"),
    (SecurityError, "security error"),
    (AccessDeniedError, "access denied"),
    (ObjectUndefinedError, "object undefined"),
    (ServiceError, "service error"),
    (DecodeError, "bad answer"),
)


def error_parts(error: DlmsError, about: ObisCode | None = None) -> tuple[str, str]:
    """The kind of an error a user can act on, named plainly, and its detail.

    With ``about``, a detail that starts by naming that object (as service errors do) loses the name,
    which the message already gives: what is left is what the meter said (``read-write-denied``).
    """
    if isinstance(error, AuthenticationFailedError):
        return "authentication failed", error.reason
    if isinstance(error, AssociationRejectedError):
        return "association rejected", error.reason
    label = next((label for kind, label in _LABELS if isinstance(error, kind)), "error")
    detail = str(error)
    if about is not None and detail.startswith(f"{about} ") and ": " in detail:
        detail = detail.split(": ", 1)[1]
    return label, detail


def describe_error(error: DlmsError, about: ObisCode | None = None) -> str:
    """``kind: detail`` for a message (see :func:`error_parts`)."""
    label, detail = error_parts(error, about)
    return f"{label}: {detail}"


def failure_record(request: ObjectRequest, error: DlmsError) -> dict[str, object]:
    """The JSON record of an object not read: obis, attribute, ``error`` (what the meter said), ``kind``."""
    kind, detail = error_parts(error, request.obis)
    return {"obis": str(request.obis), "attribute": request.attribute, "error": detail, "kind": kind}


# --- command line -------------------------------------------------------------------------------------


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError("expected an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}")
        return value

    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    add_connection_arguments(parser)
    parser.add_argument("--list-objects", action="store_true", help="print the association's object list")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="warning", help="log to stderr"
    )
    parser.add_argument("--profile", metavar="OBIS", help="print a profile's rows (with --from and --to)")
    parser.add_argument(
        "--from", dest="profile_from", metavar="ISO", help="first instant (UTC unless an offset)"
    )
    parser.add_argument("--to", dest="profile_to", metavar="ISO", help="last instant (default now)")
    parser.add_argument("--format", dest="output", choices=FORMATS, default="csv", help="profile output")
    parser.add_argument("objects", nargs="*", metavar="OBIS[:ATTRIBUTE]", help="objects to read")


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the meter is and how to associate: shared by ``read`` and ``image-transfer``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="DEVICE_OR_URL", help="serial port or serialx URL (HDLC)")
    where.add_argument("--host", help="TCP host (IEC 62056-47 wrapper, or HDLC with --hdlc)")
    parser.add_argument("--baud", type=_bounded(50, 10_000_000), help=f"with --port (default {DEFAULT_BAUD})")
    parser.add_argument("--parity", choices=("N", "E"), help="with --port: 8N1 or 8E1 (default N)")
    parser.add_argument(
        "--tcp-port", type=_bounded(1, 0xFFFF), help=f"with --host (default {DEFAULT_TCP_PORT})"
    )
    parser.add_argument(
        "--hdlc", action="store_true", help="with --host: HDLC over TCP instead of the wrapper"
    )
    parser.add_argument("--udp", action="store_true", help="with --host: the wrapper over UDP (port 4059)")
    parser.add_argument(
        "--client-address",
        type=_bounded(0, 0xFFFF),
        default=PUBLIC_CLIENT_ADDRESS,
        help="client SAP/wPort (default 16, the public client)",
    )
    parser.add_argument(
        "--server-address",
        type=_bounded(0, 0xFFFF),
        default=1,
        help="logical device: HDLC upper address or wPort (default 1)",
    )
    parser.add_argument("--physical-address", type=_bounded(0, 0x3FFF), help="HDLC lower (physical) address")
    parser.add_argument(
        "--no-negotiate",
        action="store_true",
        help="HDLC: plain SNRM, no proposal of longer frames and windows (for a meter that fails with them)",
    )
    parser.add_argument(
        "--auth", choices=tuple(kind.value for kind in Authentication), default="none", help="authentication"
    )
    parser.add_argument("--password", help="LLS password (never printed)")
    parser.add_argument("--key", help="global unicast encryption key, 32 hex digits (never printed)")
    parser.add_argument("--auth-key", help="authentication key, 32 hex digits (never printed)")
    parser.add_argument(
        "--no-ciphering", action="store_true", help="with --key: do not cipher (HLS-GMAC only authenticates)"
    )
    parser.add_argument("--system-title", help="client system title, 16 hex digits")
    parser.add_argument(
        "--referencing",
        choices=tuple(kind.value for kind in Referencing),
        default=Referencing.AUTO.value,
        help="logical (ln) or short (sn) names; auto tries ln, then sn if the meter refuses (default)",
    )
    parser.add_argument(
        "--sn", dest="referencing", action="store_const", const=Referencing.SN.value, help="--referencing sn"
    )
    parser.add_argument(
        "--invocation-counter",
        type=_bounded(0, 0xFFFF_FFFF),
        help="first invocation counter (default: the meter's frame counter + 1)",
    )
    parser.add_argument(
        "--frame-counter",
        default=str(FRAME_COUNTER),
        metavar="OBIS",
        help="frame counter read first when keys are given (default %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for each answer (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--retries",
        type=_bounded(0, 10),
        default=DEFAULT_RETRIES,
        help=f"HDLC or UDP resends before giving up (default {DEFAULT_RETRIES})",
    )


@dataclass(frozen=True, slots=True)
class _Config:
    settings: ClientSettings
    transport: Callable[[int], ApduTransport]
    requests: tuple[ObjectRequest, ...]
    list_objects: bool
    frame_counter: ObisCode | None
    profile: tuple[ObisCode, datetime, datetime, str] | None = None


def _keys(args: argparse.Namespace) -> SecurityKeys | None:
    if args.key is None and args.auth_key is None:
        return None
    if args.key is None:
        raise ValueError("--auth-key needs --key")
    return SecurityKeys(parse_key(args.key), parse_key(args.auth_key) if args.auth_key is not None else None)


def _transport_factory(args: argparse.Namespace) -> Callable[[int], ApduTransport]:
    timeout: float = args.timeout
    if args.port is not None:
        if args.tcp_port is not None:
            raise ValueError("--tcp-port applies to --host")
        endpoint: SerialEndpoint | TcpEndpoint = SerialEndpoint(
            args.port, baudrate=args.baud or DEFAULT_BAUD, parity=args.parity or "N"
        )
    else:
        if args.baud is not None or args.parity is not None:
            raise ValueError("--baud and --parity apply to --port")
        if args.udp:
            return _udp_factory(args)
        endpoint = TcpEndpoint(args.host, args.tcp_port or DEFAULT_TCP_PORT)
        if not args.hdlc:
            if args.physical_address is not None:
                raise ValueError("--physical-address applies to HDLC (--port, or --host with --hdlc)")

            def wrapper(client_address: int) -> ApduTransport:
                return WrapperTransport(
                    endpoint,
                    client_wport=client_address,
                    server_wport=args.server_address,
                    response_timeout=timeout,
                    open_timeout=timeout,
                )

            return wrapper
    if args.client_address > 0x7F or args.server_address > 0x3FFF:
        raise ValueError("HDLC addresses: client 0..127, server 0..16383")

    def hdlc(client_address: int) -> ApduTransport:
        return HdlcTransport(
            endpoint,
            client_address=client_address,
            server_logical=args.server_address,
            server_physical=args.physical_address,
            parameters=HdlcParameters() if args.no_negotiate else None,
            response_timeout=timeout,
            max_retries=args.retries,
            open_timeout=timeout,
        )

    return hdlc


def _udp_factory(args: argparse.Namespace) -> Callable[[int], ApduTransport]:
    if args.hdlc or args.physical_address is not None:
        raise ValueError("--udp carries the wrapper: --hdlc and --physical-address do not apply")
    endpoint = UdpEndpoint(args.host, args.tcp_port or DEFAULT_TCP_PORT)

    def udp(client_address: int) -> ApduTransport:
        return UdpTransport(
            endpoint,
            client_wport=client_address,
            server_wport=args.server_address,
            response_timeout=args.timeout,
            max_retries=args.retries,
            open_timeout=args.timeout,
        )

    return udp


def _config(args: argparse.Namespace) -> _Config:
    requests = tuple(ObjectRequest.parse(text) for text in args.objects)
    profile = _profile(args)
    if not requests and not args.list_objects and profile is None:
        raise ValueError("nothing to read: give OBIS codes, --list-objects or --profile")
    settings, transport, frame_counter = client_config(args)
    return _Config(settings, transport, requests, args.list_objects, frame_counter, profile)


def client_config(
    args: argparse.Namespace,
) -> tuple[ClientSettings, Callable[[int], ApduTransport], ObisCode | None]:
    """The client settings, the transport per client address, and the frame counter to read first."""
    if args.udp and args.port is not None:
        raise ValueError("--udp applies to --host")
    keys = _keys(args)
    title = DEFAULT_CLIENT_SYSTEM_TITLE
    if args.system_title is not None:
        try:
            title = bytes.fromhex(args.system_title)
        except ValueError:
            raise ValueError("--system-title must be 16 hex digits") from None
    ciphered = keys is not None and not args.no_ciphering
    settings = ClientSettings(
        client_address=args.client_address,
        authentication=Authentication(args.auth),
        password=args.password.encode() if args.password is not None else None,
        keys=keys,
        client_system_title=title,
        ciphered=ciphered,
        security_control=_AUTHENTICATED_ENCRYPTED
        if keys is not None and keys.authentication_key is not None
        else _ENCRYPTED,
        invocation_counter=args.invocation_counter or 0,
        referencing=Referencing(args.referencing),
    )
    frame_counter = None
    if keys is not None and args.invocation_counter is None:
        frame_counter = ObisCode.parse(args.frame_counter)
    return settings, _transport_factory(args), frame_counter


def _profile(args: argparse.Namespace) -> tuple[ObisCode, datetime, datetime, str] | None:
    if args.profile is None:
        if args.profile_from is not None or args.profile_to is not None:
            raise ValueError("--from and --to apply to --profile")
        return None
    if args.profile_from is None:
        raise ValueError("--profile needs --from")
    start = parse_instant(args.profile_from)
    end = parse_instant(args.profile_to) if args.profile_to is not None else datetime.now(UTC)
    if end < start:
        raise ValueError("--to is before --from")
    return ObisCode.parse(args.profile), start, end, args.output


class _Report:
    """Failures on stderr, one line each, and the summary."""

    def __init__(self, stderr: TextIO, wanted: int) -> None:
        self._stderr = stderr
        self.wanted = wanted
        self.read = 0
        self.failed = 0

    def fail(self, what: str, error: DlmsError, about: ObisCode | None = None) -> None:
        self.failed += 1
        self._stderr.write(f"read: {what}: {describe_error(error, about)}\n")

    def warn(self, message: str) -> None:
        self._stderr.write(f"read: warning: {message}\n")

    def abort(self, error: DlmsError) -> int:
        self._stderr.write(f"read: {describe_error(error)}\n")
        self._stderr.write(f"read: {self.read} of {self.wanted} read; nothing more could be read\n")
        return EXIT_FAILED

    def finish(self) -> int:
        if not self.failed:
            return EXIT_OK
        self._stderr.write(f"read: {self.read} of {self.wanted} read, {self.failed} failed\n")
        return EXIT_FAILED


async def _start_counter(config: _Config, report: _Report) -> ClientSettings | None:
    """The settings with the invocation counter above the meter's frame counter (None: give up)."""
    try:
        return await start_counter(config.settings, config.transport, config.frame_counter, report.warn)
    except (PortUnavailableError, MeterNotRespondingError) as exc:
        report.abort(exc)
        return None


async def start_counter(
    settings: ClientSettings,
    transport: Callable[[int], ApduTransport],
    frame_counter: ObisCode | None,
    warn: Callable[[str], None],
) -> ClientSettings:
    """The settings with the invocation counter above the meter's frame counter.

    PortUnavailableError and MeterNotRespondingError pass: nothing else would get through either.
    """
    if frame_counter is None:
        return settings
    public = transport(PUBLIC_CLIENT_ADDRESS)
    try:
        counter = await read_frame_counter(public, frame_counter)
    except (PortUnavailableError, MeterNotRespondingError):
        raise
    except DlmsError as exc:
        warn(f"frame counter {frame_counter} not read as the public client ({describe_error(exc)})")
        counter = 0
    return dataclasses.replace(settings, invocation_counter=min(counter + 1, 0xFFFF_FFFF))


async def _session(config: _Config, stdout: TextIO, stderr: TextIO) -> int:
    wanted = len(config.requests) + (1 if config.list_objects else 0) + (1 if config.profile else 0)
    report = _Report(stderr, wanted)
    settings = await _start_counter(config, report)
    if settings is None:
        return EXIT_FAILED
    client = DlmsClient(config.transport(settings.client_address), settings)
    reader = ObjectReader(client)
    try:
        if config.list_objects:
            try:
                entries = await client.read_object_list()
            except (ServiceError, DecodeError) as exc:
                report.fail("object list", exc, CURRENT_ASSOCIATION)
            else:
                reader.learn(entries)
                for entry in entries:
                    write_json_line(
                        stdout,
                        {"class_id": entry.class_id, "version": entry.version, "obis": str(entry.obis)},
                    )
                report.read += 1
        if config.profile is not None:
            obis, start, end, output = config.profile
            try:
                await print_profile(client, obis, start, end, output=output, stdout=stdout)
            except (ServiceError, DecodeError) as exc:
                report.fail(f"profile {obis}", exc, obis)
            else:
                report.read += 1
        if config.requests:
            for request, result in zip(config.requests, await reader.read(config.requests), strict=True):
                if isinstance(result, DlmsError):
                    write_json_line(stdout, failure_record(request, result))
                    report.fail(str(request), result, request.obis)
                else:
                    write_json_line(stdout, result.record())
                    report.read += 1
    except DlmsError as exc:
        return report.abort(exc)
    finally:
        await client.close()
    return report.finish()


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run the command; the exit code."""
    try:
        config = _config(args)
    except (DlmsError, ValueError) as err:
        stderr.write(f"read: {err}\n")
        return EXIT_USAGE
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = _PACKAGE_LOGGER.level
    _PACKAGE_LOGGER.addHandler(handler)
    _PACKAGE_LOGGER.setLevel(args.log_level.upper())
    try:
        return asyncio.run(_session(config, stdout, stderr))
    finally:
        _PACKAGE_LOGGER.removeHandler(handler)
        _PACKAGE_LOGGER.setLevel(level)
