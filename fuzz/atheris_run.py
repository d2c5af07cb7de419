"""``scripts/fuzz --engine atheris --target NAME``: one target under libFuzzer, through atheris.

libFuzzer's coverage guidance (comparison tracing included) on the same targets, seeds and
classification as the built-in engine: a DlmsError is the stack's answer, any other exception or an
input over the limit (thread CPU time, best of three) is a crash that libFuzzer saves and reports.
``-rss_limit_mb`` bounds memory. atheris is installed by ``scripts/fuzz`` into the cache, for fuzzing
only (it is not a test requirement); one target per process, because libFuzzer exits when done.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
from pathlib import Path

from custom_components.dlms_cosem.dlms.errors import DlmsError

from .engine import DEFAULT_LIMIT_MS, import_stack
from .targets import Target, targets

CACHE = Path(os.environ.get("DLMS_COSEM_CACHE", Path.home() / ".cache" / "dlms_cosem-dev")) / "fuzz"
_RETRIES = 3


class SlowInputError(Exception):
    """An input took longer than the limit on each of its tries."""


def _entry(target: Target, limit_ms: float) -> object:
    limit_ns = int(limit_ms * 1_000_000)

    def one(data: bytes) -> None:
        fastest = None
        for _ in range(_RETRIES):
            start = time.thread_time_ns()
            with contextlib.suppress(DlmsError):
                target.run(data)
            elapsed = time.thread_time_ns() - start
            fastest = elapsed if fastest is None else min(fastest, elapsed)
            if fastest <= limit_ns:
                return
        raise SlowInputError(f"{(fastest or 0) / 1e6:.1f} ms of CPU, over the {limit_ms} ms limit")

    return one


def main(argv: list[str] | None = None) -> None:
    """Run one target under libFuzzer; libFuzzer prints its own statistics and exits."""
    parser = argparse.ArgumentParser(prog="scripts/fuzz --engine atheris")
    parser.add_argument("--target", required=True, choices=sorted(targets()))
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit-ms", type=float, default=DEFAULT_LIMIT_MS)
    parser.add_argument("--rss-limit-mb", type=int, default=512)
    args = parser.parse_args(argv)

    atheris = importlib.import_module("atheris")  # installed by scripts/fuzz, for fuzzing only

    import_stack()
    target = targets()[args.target]
    corpus = CACHE / f"corpus-{target.name}"
    artifacts = CACHE / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(target.seeds):
        (corpus / f"seed-{index:03d}").write_bytes(seed)
    atheris.instrument_all()
    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={args.inputs}",
            f"-seed={args.seed}",
            f"-max_len={target.max_size}",
            f"-rss_limit_mb={args.rss_limit_mb}",
            f"-artifact_prefix={artifacts}/{target.name}-",
            "-print_final_stats=1",
            str(corpus),
        ],
        _entry(target, args.limit_ms),
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
