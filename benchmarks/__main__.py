"""Every performance figure of the project in one run: ``scripts/bench`` (see docs/PERFORMANCE.md).

Push decode per capture against gurux-dlms and dlms-cosem, the floors (AES-GCM, FCS), polls of 10
and 40 registers and association times against the simulator on an emulated 9600 baud line, and the
import time of the integration. Everything runs in this one interpreter (imports in fresh processes
of the same interpreter), one section after the other, never two at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("DLMS_COSEM_CACHE", Path.home() / ".cache" / "dlms_cosem-dev"))


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{model}, {os.cpu_count()} CPUs visible, load average {load[0]:.2f} at start; "
        f"Python {platform.python_version()} ({sys.implementation.name}), "
        f"{platform.system()} {platform.release()}"
    )


def _ha_event_loop() -> list[str]:
    """The event-loop figures per push telegram, from a pytest run of benchmarks/ha_event_loop.py."""
    module = Path(__file__).with_name("ha_event_loop.py")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", str(module)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    lines = [line for line in done.stdout.splitlines() if line.startswith("HA event loop")]
    if done.returncode != 0 or not lines:
        return [f"HA event loop: the benchmark failed (exit {done.returncode}): {done.stdout[-500:]}"]
    return lines


def _pytest(module: str, results: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a benchmark module under the test harness; its figures go to ``results`` (JSON)."""
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
        "-o", "log_level=WARNING", "-o", "timeout=900", str(Path(__file__).with_name(module)),
    ]  # fmt: skip
    environment = os.environ | {"DLMS_BENCH_HA_RESULTS": str(results)} | (env or {})
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)  # noqa: S603
    return done.returncode, done.stdout[-3000:]


def _backfill(results: Path) -> list[str]:
    """A month of 15-minute load profile: over a paced 9600 baud line, then into the statistics."""
    from benchmarks import bench_profile  # noqa: PLC0415

    lines = ["load profile backfill, a month (31 days of 15-minute entries: clock, +A, -A)"]
    lines += asyncio.run(bench_profile.run(31, 9600, 0.020, 0))
    code, output = _pytest("ha_backfill.py", results)
    found = json.loads(results.read_text()).get("backfill") if results.exists() else None
    if code != 0 or found is None:
        return [*lines, f"statistics import: the benchmark failed (exit {code}): {output[-800:]}"]
    lines.append(
        f"into Home Assistant (harness, sqlite recorder; the same month over TCP, unpaced): "
        f"{found['rows_imported']} hourly rows for 2 sensors; catch-up (read + import) "
        f"{found['catch_up_s']:.2f} s, "
        f"loop CPU {found['catch_up_loop_cpu_s']:.2f} s; async_import_statistics calls "
        f"{found['import_calls_s'] * 1000:.1f} ms in all; the recorder's writing until done "
        f"{found['recorder_write_s']:.2f} s; hourly rows read back "
        f"{sorted(found['hourly_rows_read_back'].values())}"
    )
    return lines


def main() -> None:
    """Run every section and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds of the push decode")
    parser.add_argument("--batch", type=int, default=5, help="back-to-back runs per sample")
    parser.add_argument("--polls", type=int, default=8)
    parser.add_argument("--imports", type=int, default=7, help="cold processes for the import time")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["push", "floors", "poll", "import", "backfill", "ha"]
    )
    parser.add_argument("--ha-telegrams", type=int, default=1441, help="telegrams of the ha section's hour")
    parser.add_argument("--ha-starts", type=int, default=5, help="Home Assistant starts with and without")
    args = parser.parse_args()

    site = os.environ.get("DLMS_BENCH_SITE")
    if site:
        sys.path.append(site)  # after the test venv: the project keeps its own dependencies

    from benchmarks import bench_import, bench_poll, bench_push, peers  # noqa: PLC0415 - after sys.path

    started = time.perf_counter()
    print(f"machine: {_machine()}")
    print(f"peers: {', '.join(f'{name} {version}' for name, version in peers.versions().items())}")
    captures = bench_push.load_captures()
    if "push" not in args.skip:
        bench_push.prepare(captures)
        bench_push.measure(captures, args.rounds, args.batch)
        print(
            f"\npush decode, microseconds per telegram ({args.rounds} interleaved rounds, each sample "
            f"one untimed run then the mean "
            f"of {args.batch} back-to-back runs)"
        )
        print("\n".join(bench_push.table(captures)))
    if "floors" not in args.skip:
        print("\nfloors")
        print("\n".join(bench_push.floors(captures, 300)))
    if "poll" not in args.skip:
        print()
        print("\n".join(asyncio.run(bench_poll.run(args.polls, 9600, 0.020))))
    if "import" not in args.skip:
        print()
        print("\n".join(bench_import.run(CACHE, args.imports)))
    scratch = Path(__file__).resolve().parent.parent / ".scratch"
    scratch.mkdir(exist_ok=True)
    if "backfill" not in args.skip:
        print()
        results = scratch / "bench-backfill.json"
        results.unlink(missing_ok=True)
        print("\n".join(_backfill(results)))
    if "ha" not in args.skip:
        from benchmarks import ha_section  # noqa: PLC0415

        print()
        print("\n".join(_ha_event_loop()))
        results = scratch / "bench-ha.json"
        results.unlink(missing_ok=True)
        env = {"DLMS_BENCH_HA_TELEGRAMS": str(args.ha_telegrams)}
        code, output = _pytest("ha_compare.py", results, env)
        if code != 0:
            print(f"HA comparison: the benchmark failed (exit {code}): {output[-1500:]}")
        from benchmarks import ha_startup  # noqa: PLC0415

        startup_lines, startup = ha_startup.run(args.ha_starts)
        print("\n".join(ha_section.summary(json.loads(results.read_text()), startup_lines, startup)))
    print(f"\n(whole run: {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
