"""``python -m custom_components.dlms_cosem.dlms COMMAND``: the stack's command-line tools."""

from __future__ import annotations

import argparse
import sys

from .cli import decode, image_transfer, listen, read
from .simulator import cli as simulate


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per tool."""
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.dlms_cosem.dlms",
        description=(
            "DLMS/COSEM tools: decode telegrams, listen to a push port, read a meter, "
            "transfer firmware, simulate a meter."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    decode.add_arguments(
        commands.add_parser("decode", help="decode captured telegrams", description=decode.__doc__)
    )
    listen.add_arguments(
        commands.add_parser("listen", help="read a push port live", description=listen.__doc__)
    )
    read.add_arguments(
        commands.add_parser(
            "read",
            help="read objects from a meter",
            description=read.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    image_transfer.add_arguments(
        commands.add_parser(
            "image-transfer",
            help="transfer a firmware image to a meter (class 18)",
            description=image_transfer.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    simulate.add_arguments(
        commands.add_parser("simulate", help="run a simulated meter", description=simulate.__doc__)
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen tool; argparse exits with 2 on usage errors."""
    args = build_parser().parse_args(argv)
    if args.command == "decode":
        return decode.run(args, sys.stdout, sys.stderr, sys.stdin)
    if args.command == "listen":
        return listen.run(args, sys.stdout, sys.stderr)
    if args.command == "read":
        return read.run(args, sys.stdout, sys.stderr)
    if args.command == "image-transfer":
        return image_transfer.run(args, sys.stdout, sys.stderr)
    if args.command == "simulate":
        return simulate.run(args, sys.stdout, sys.stderr)
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
