"""The stack's command-line tools: ``dlms-cosem-stack COMMAND`` once installed with ``pip install .``.

From a checkout with Home Assistant installed, ``python -m custom_components.dlms_cosem.dlms COMMAND``
runs the same code (importing ``custom_components.dlms_cosem`` runs the integration's ``__init__``, which
needs Home Assistant; the installed ``dlms_cosem_stack`` package does not).
"""

from __future__ import annotations

import argparse
import os
import sys

from .cli import decode, image_transfer, listen, read
from .simulator import cli as simulate


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per tool, named as it was started (``prog``)."""
    parser = argparse.ArgumentParser(
        prog=prog or f"python -m {__package__}",
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


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse the command line and run the chosen tool; argparse exits with 2 on usage errors."""
    args = build_parser(prog).parse_args(argv)
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


def console() -> None:
    """The installed ``dlms-cosem-stack`` command (``[project.scripts]``): usage and help name the command."""
    sys.exit(main(prog=os.path.basename(sys.argv[0]) or "dlms-cosem-stack"))


if __name__ == "__main__":
    sys.exit(main())
