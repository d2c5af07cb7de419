"""The project's full push decode against the same code at an earlier commit, in one process.

Run: scripts/bench before-after [COMMIT] [--runs N]   (COMMIT defaults to ffb9d83, before issue 12)

``scripts/bench`` extracts the stack (``custom_components/dlms_cosem/dlms``, which imports nothing
outside itself) of COMMIT with ``git archive`` into the cache as a package of its own, ``dlms_before``,
and passes its directory here with ``--stack``; both run in one interpreter, interleaved: one run of
each per capture and round, min and median over the rounds.
"""

from __future__ import annotations

import argparse
import importlib
import math
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.bench_push import load_captures


def _stack_at(directory: Path) -> tuple[ModuleType, ModuleType]:
    """The telegram and security modules of the earlier stack, extracted as ``dlms_before``."""
    sys.path.insert(0, str(directory))
    return importlib.import_module("dlms_before.telegram"), importlib.import_module("dlms_before.security")


def _keys(security: ModuleType, keys: dict[str, str] | None) -> Any:
    if not keys:
        return None
    return security.SecurityKeys(
        encryption_key=bytes.fromhex(keys["encryption"]) if keys.get("encryption") else None,
        authentication_key=bytes.fromhex(keys["authentication"]) if keys.get("authentication") else None,
    )


def _run(telegram: ModuleType, frames: list[bytes], keys: Any) -> int:
    start = time.perf_counter_ns()
    event = telegram.decode_telegrams(frames, keys)[0]
    [(obj.obis, obj.value, obj.unit) for obj in event.content.objects]
    _ = event.timestamp
    return time.perf_counter_ns() - start


def main() -> None:
    """Print per capture: min and median before and after, and the speed-up of the minima."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", type=Path, required=True, help="directory holding dlms_before/")
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    before, before_security = _stack_at(args.stack)
    from custom_components.dlms_cosem.dlms import security, telegram  # noqa: PLC0415 - after sys.path

    ratios = []
    print(f"{'capture':40} {'before min median':>18} {'after min median':>18} {'speed-up':>8}")
    for capture in load_captures():
        old_keys, new_keys = _keys(before_security, capture.keys), _keys(security, capture.keys)
        old, new = [], []
        for _ in range(args.runs):
            old.append(_run(before, capture.frames, old_keys) / 1000)
            new.append(_run(telegram, capture.frames, new_keys) / 1000)
        ratio = min(old) / min(new)
        ratios.append(ratio)
        print(
            f"{capture.id[:40]:40} {min(old):8.1f} {statistics.median(old):8.1f}  "
            f"{min(new):8.1f} {statistics.median(new):8.1f} {ratio:7.2f}x"
        )
    mean = math.exp(sum(math.log(ratio) for ratio in ratios) / len(ratios))
    print(f"geometric mean speed-up {mean:.2f}x (from {min(ratios):.2f}x to {max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
