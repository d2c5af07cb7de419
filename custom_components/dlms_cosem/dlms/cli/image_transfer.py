"""``image-transfer``: send a firmware image to a meter (class 18), verify it and activate it.

Where and how to associate are ``read``'s options (``--port``/``--host``, ``--udp``, ``--auth``,
``--password``, keys, addresses): image transfer needs a management association (LLS or HLS), the
public client may not invoke the methods. The image is sent in blocks of the size the meter asks for;
blocks the meter then reports missing are sent again; the meter verifies the image, and it is
activated unless ``--no-activate``. ``--status`` only reads the image transfer object.

Output, one JSON object per line: ``{"stage", "blocks_sent", "blocks_total"}`` as the transfer goes,
then ``{"status", "block_size", "blocks", "blocks_resent", "activated", "images_to_activate"}``. Exit 0
when the image was transferred (and verified, and activated unless ``--no-activate``), 1 when the
meter refused or failed it (a failed verification says so), 2 on usage errors. Passwords and keys
are never printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import TextIO

from ..client import DlmsClient
from ..client.image_transfer import (
    ImageProgress,
    ImageTransferReport,
    ImageTransferState,
    read_image_transfer_state,
    transfer_image,
)
from ..errors import DlmsError, MeterNotRespondingError, PortUnavailableError
from ..image_transfer import IMAGE_TRANSFER, ImageToActivate
from ..obis import ObisCode
from .output import write_json_line
from .read import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_connection_arguments, client_config, describe_error
from .read import start_counter as read_start_counter

_PACKAGE_LOGGER = logging.getLogger(__name__.rsplit(".", 2)[0])
MAX_IMAGE_FILE = 16 * 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options: the image, then ``read``'s connection options."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--file", type=Path, metavar="IMAGE", help="the firmware image to transfer")
    what.add_argument("--status", action="store_true", help="only read the image transfer object")
    parser.add_argument("--identifier", help="image_identifier sent with initiate (default: the file's name)")
    parser.add_argument("--no-activate", action="store_true", help="transfer and verify, but do not activate")
    parser.add_argument(
        "--object",
        default=str(IMAGE_TRANSFER),
        metavar="OBIS",
        help="the image transfer object (default %(default)s)",
    )
    parser.add_argument(
        "--status-timeout",
        type=float,
        default=120.0,
        help="seconds the meter may take to verify or activate (default %(default)s)",
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="warning", help="log to stderr"
    )
    add_connection_arguments(parser)


def _text(value: bytes) -> str:
    """An identifier as text when it is printable ASCII (they usually are), else hex."""
    if value.isascii() and value.decode("ascii").isprintable():
        return value.decode("ascii")
    return value.hex().upper()


def _images(images: tuple[ImageToActivate, ...]) -> list[dict[str, object]]:
    return [
        {
            "size": image.size,
            "identification": _text(image.identification),
            "signature": image.signature.hex(),
        }
        for image in images
    ]


def _state_record(state: ImageTransferState) -> dict[str, object]:
    return {
        "status": state.status.text,
        "enabled": state.enabled,
        "block_size": state.block_size,
        "blocks_transferred": state.blocks_transferred,
        "blocks_total": len(state.transferred_blocks),
        "first_not_transferred_block": state.first_not_transferred_block,
        "images_to_activate": _images(state.images_to_activate),
    }


def _report_record(report: ImageTransferReport) -> dict[str, object]:
    return {
        "status": report.status.text,
        "block_size": report.block_size,
        "blocks": report.blocks,
        "blocks_resent": report.blocks_resent,
        "activated": report.activated,
        "images_to_activate": _images(report.images_to_activate),
    }


async def _session(args: argparse.Namespace, image: bytes | None, stdout: TextIO, stderr: TextIO) -> int:
    settings, transport, frame_counter = client_config(args)
    obis = ObisCode.parse(args.object)

    def warn(message: str) -> None:
        stderr.write(f"image-transfer: warning: {message}\n")

    try:
        settings = await read_start_counter(settings, transport, frame_counter, warn)
    except (PortUnavailableError, MeterNotRespondingError) as exc:
        stderr.write(f"image-transfer: {describe_error(exc)}\n")
        return EXIT_FAILED
    client = DlmsClient(transport(settings.client_address), settings)

    def progress(step: ImageProgress) -> None:
        write_json_line(
            stdout, {"stage": step.stage, "blocks_sent": step.blocks_sent, "blocks_total": step.blocks_total}
        )
        stdout.flush()

    try:
        if image is None:
            write_json_line(stdout, _state_record(await read_image_transfer_state(client, obis)))
            return EXIT_OK
        identifier = (args.identifier or args.file.name).encode()
        report = await transfer_image(
            client,
            image,
            identifier,
            obis=obis,
            activate=not args.no_activate,
            progress=progress,
            status_timeout=args.status_timeout,
        )
        write_json_line(stdout, _report_record(report))
        return EXIT_OK
    except DlmsError as exc:
        stderr.write(f"image-transfer: {describe_error(exc, obis)}\n")
        return EXIT_FAILED
    finally:
        await client.close()


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run the command; the exit code."""
    image: bytes | None = None
    try:
        client_config(args)  # usage errors before the file is read
        ObisCode.parse(args.object)
        if args.file is not None:
            if args.file.stat().st_size > MAX_IMAGE_FILE:
                raise ValueError(f"{args.file} is larger than {MAX_IMAGE_FILE} bytes")
            image = args.file.read_bytes()
            if not image:
                raise ValueError(f"{args.file} is empty")
    except (DlmsError, ValueError, OSError) as err:
        stderr.write(f"image-transfer: {err}\n")
        return EXIT_USAGE
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = _PACKAGE_LOGGER.level
    _PACKAGE_LOGGER.addHandler(handler)
    _PACKAGE_LOGGER.setLevel(args.log_level.upper())
    try:
        return asyncio.run(_session(args, image, stdout, stderr))
    finally:
        _PACKAGE_LOGGER.removeHandler(handler)
        _PACKAGE_LOGGER.setLevel(level)
