"""``scripts/fuzz``: run the fuzz targets and print one line of figures per target.

    scripts/fuzz --inputs 1000000 --seed 1            # every target, a million inputs each
    scripts/fuzz --inputs 200000 --target telegram    # one target
    scripts/fuzz --list

Exit status 1 when any target found a defect; each defect is printed with the shortest input that
showed it (hex), and written to ``--artifacts`` when given, so it can become a regression test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from .engine import DEFAULT_LIMIT_MS, Coverage, TargetReport, import_stack, rss_bytes, run_target
from .targets import targets

_MIB = 1024 * 1024


def _line(report: TargetReport) -> str:
    return (
        f"{report.name:17} {report.inputs:>10,} {report.rate:>9,.0f}/s {report.defect_inputs:>7} "
        f"{report.slowest_ms:>8.2f} {report.rss_peak / _MIB:>8.1f} "
        f"{(report.rss_end - report.rss_start) / _MIB:>+8.1f}"
        f" {report.coverage:>6} {report.corpus:>6} {report.ok:>9,} {report.stack_errors:>10,}"
    )


_HEADER = (
    f"{'target':17} {'inputs':>10} {'rate':>11} {'defects':>7} {'slow ms':>8} {'RSS MiB':>8} {'growth':>8}"
    f" {'cover':>6} {'corpus':>6} {'ok':>9} {'DlmsError':>10}"
)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the targets one after the other, print the table."""
    parser = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs per target (seeds included)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", action="append", help="run only this target (repeatable)")
    parser.add_argument("--limit-ms", type=float, default=DEFAULT_LIMIT_MS, help="slowest allowed input")
    parser.add_argument("--minutes", type=float, help="stop each target after this long")
    parser.add_argument("--no-coverage", action="store_true", help="plain mutation, no coverage feedback")
    parser.add_argument("--artifacts", type=Path, help="directory for the inputs that showed defects")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)

    available = targets()
    if args.list:
        for target in available.values():
            print(f"{target.name:17} {len(target.seeds):>4} seeds  {target.description}")
        return 0
    names = args.target or list(available)
    unknown = [name for name in names if name not in available]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; see --list")

    import_stack()
    coverage = None if args.no_coverage else Coverage()
    if coverage is not None and not coverage.start():
        print("sys.monitoring's coverage slot is taken: running without coverage feedback", file=sys.stderr)
        coverage = None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(
        f"seed {args.seed}, {args.inputs:,} inputs per target, limit {args.limit_ms} ms, coverage "
        f"{'on' if coverage else 'off'}; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load {load:.2f}, RSS at start {rss_bytes() / _MIB:.1f} MiB"
    )
    print(_HEADER, flush=True)
    reports: list[TargetReport] = []
    for name in names:
        deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
        report = run_target(
            available[name],
            args.inputs,
            args.seed,
            coverage=coverage,
            limit_ms=args.limit_ms,
            deadline=deadline,
        )
        reports.append(report)
        print(_line(report), flush=True)
    if coverage is not None:
        coverage.stop()
    total = sum(report.inputs for report in reports)
    defects = sum(report.defect_inputs for report in reports)
    peak = max(report.rss_peak for report in reports) / _MIB
    print(f"total: {total:,} inputs, {defects} defects, peak RSS {peak:.1f} MiB")
    for report in reports:
        for defect in report.defects.values():
            print(
                f"DEFECT {report.name}: {defect.kind} at {defect.where} ({defect.count} inputs): "
                f"{defect.message}\n  input: {defect.data.hex()}"
            )
            if args.artifacts is not None:
                args.artifacts.mkdir(parents=True, exist_ok=True)
                stem = f"{report.name}-{defect.kind}-{defect.where}".replace(":", "_").replace(" ", "_")
                (args.artifacts / f"{stem}.bin").write_bytes(defect.data)
        if report.slowest_input and report.slowest_ms > args.limit_ms / 2:
            print(f"slowest {report.name} input ({report.slowest_ms:.2f} ms): {report.slowest_input.hex()}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
