"""The fuzzing engine: seeded mutation, coverage feedback through ``sys.monitoring``, classification.

Each input is run once through a target and classified: ``ok``, the stack's own error (a
:class:`DlmsError`, the intended answer to bad bytes), or a defect: any other exception, or a run
slower than the limit (10 ms) on its best of three tries (the slowest input reported is timed the
same way). Times are the thread's CPU time: on a machine shared with other work (and under
``nice``), wall-clock time also counts the slices the scheduler gave to others, which is not the
parser's cost; the first long run measured wall-clock and saw 13-37 ms "slow" inputs that take under
1 ms whenever they run undisturbed. Coverage guidance is line and branch
events of the stack's code, each disabled after its first hit, so an input that reaches new code
costs one callback and every later input costs nothing; such inputs join the corpus and are mutated
further. Everything follows from the seed: the same seed and target give the same inputs.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import random
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

from custom_components.dlms_cosem.dlms.errors import DlmsError

from .targets import Target

STACK_DIR = str(Path(__file__).resolve().parent.parent / "custom_components" / "dlms_cosem")
DEFAULT_LIMIT_MS = 10.0
MAX_CORPUS = 4096  # coverage-increasing inputs kept per target (seeds always stay)
_RETRIES = 3  # a slow input is run again this often and judged on its fastest run
_RETIME_NS = 1_000_000  # a new slowest input above this is timed again too (the reported figure)
_RSS_EVERY = 4096  # inputs between two samples of the resident set size
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# Values that sit on the edges of length fields, tags and flags of the encodings under test.
_INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFE, 0xFF, 0x68, 0x16)
_INTERESTING_WORDS = (0x0000, 0x0001, 0x007F, 0x0080, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFF)


def import_stack() -> None:
    """Import every module of the stack up front, so no input pays for a first import (lazy exports)."""
    import custom_components.dlms_cosem.dlms as stack  # noqa: PLC0415 - only when fuzzing

    for module in pkgutil.walk_packages(stack.__path__, f"{stack.__name__}."):
        if ".simulator" not in module.name and ".cli" not in module.name and module.name != "__main__":
            importlib.import_module(module.name)


def rss_bytes() -> int:
    """The process's resident set size now (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:
        return 0


class Coverage:
    """New lines and branches of the stack's code reached since :meth:`reset`, via sys.monitoring."""

    def __init__(self) -> None:
        self.new = 0
        self.active = False
        self._seen: set[tuple[CodeType, int]] = set()
        self._tool = sys.monitoring.COVERAGE_ID

    def start(self) -> bool:
        """Register the callbacks; False when another tool (coverage.py) holds the slot.

        False too before Python 3.14 (no BRANCH_LEFT/RIGHT events): the stack's tests also run on 3.12
        (scripts/test-stack), where a short run goes unguided rather than not at all.
        """
        monitoring = sys.monitoring
        if not hasattr(monitoring.events, "BRANCH_LEFT"):
            return False
        try:
            monitoring.use_tool_id(self._tool, "dlms_cosem fuzz")
        except ValueError:
            return False
        events = monitoring.events
        monitoring.register_callback(self._tool, events.LINE, self._line)
        monitoring.register_callback(self._tool, events.BRANCH_LEFT, self._branch)
        monitoring.register_callback(self._tool, events.BRANCH_RIGHT, self._branch)
        monitoring.set_events(self._tool, events.LINE | events.BRANCH_LEFT | events.BRANCH_RIGHT)
        self.active = True
        return True

    def stop(self) -> None:
        """Give the slot back."""
        if self.active:
            sys.monitoring.set_events(self._tool, 0)
            sys.monitoring.free_tool_id(self._tool)
            self.active = False

    def reset(self) -> None:
        """Start counting afresh for the next target (every location reports once more)."""
        self._seen.clear()
        self.new = 0
        if self.active:
            sys.monitoring.restart_events()

    def _line(self, code: CodeType, line: int) -> Any:
        return self._hit(code, -line)

    def _branch(self, code: CodeType, offset: int, destination: int) -> Any:
        return self._hit(code, destination)

    def _hit(self, code: CodeType, where: int) -> Any:
        if code.co_filename.startswith(STACK_DIR):
            key = (code, where)
            if key not in self._seen:
                self._seen.add(key)
                self.new += 1
        return sys.monitoring.DISABLE

    @property
    def locations(self) -> int:
        """Lines and branch destinations reached so far."""
        return len(self._seen)


def mutate(rng: random.Random, data: bytes, corpus: list[bytes], max_size: int) -> bytes:
    """One to eight stacked mutations of ``data``: bit flips, edge values, inserts, cuts, splices."""
    if rng.random() < 1 / 64:
        return rng.randbytes(rng.randint(0, 64))
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 8))):
        if not buf:
            buf += rng.randbytes(rng.randint(1, 8))
            continue
        i = rng.randrange(len(buf))
        match rng.randrange(11):
            case 0:
                buf[i] ^= 1 << rng.randrange(8)
            case 1:
                buf[i] = rng.randrange(256)
            case 2:
                buf[i] = rng.choice(_INTERESTING_BYTES)
            case 3:
                buf[i:i] = rng.randbytes(rng.randint(1, 8))
            case 4:
                del buf[i : i + rng.randint(1, 16)]
            case 5:  # repeat a block (nesting, repeated elements)
                j = min(len(buf), i + rng.randint(1, 32))
                buf[i:i] = buf[i:j] * rng.randint(1, 4)
            case 6:  # splice from another corpus entry
                other = rng.choice(corpus)
                if other:
                    start = rng.randrange(len(other))
                    piece = other[start : start + rng.randint(1, 64)]
                    if rng.random() < 0.5:
                        buf[i : i + len(piece)] = piece
                    else:
                        buf[i:i] = piece
            case 7:  # a length field off by a little
                buf[i] = (buf[i] + rng.choice((-2, -1, 1, 2, 0x40, 0x80))) & 0xFF
            case 8:
                del buf[i:]
            case 9:
                word = rng.choice((*_INTERESTING_WORDS, len(buf), len(buf) - i))
                buf[i : i + 2] = (word & 0xFFFF).to_bytes(2, rng.choice(("big", "little")))
            case _:  # the length still left, as a BER length byte (short or 0x81/0x82 forms)
                left = len(buf) - i - 1
                buf[i : i + 1] = bytes([left]) if left < 0x80 else b"\x82" + (left & 0xFFFF).to_bytes(2)
    return bytes(buf[:max_size])


@dataclass(slots=True)
class Defect:
    """An input the stack did not answer with its own error in time."""

    kind: str
    where: str
    message: str
    data: bytes
    count: int = 1


@dataclass(slots=True)
class TargetReport:
    """What one target's run came to."""

    name: str
    inputs: int = 0
    ok: int = 0
    stack_errors: int = 0
    seconds: float = 0.0
    slowest_ms: float = 0.0
    slowest_input: bytes = b""
    slow_retried: int = 0
    coverage: int = 0
    corpus: int = 0
    rss_start: int = 0
    rss_peak: int = 0
    rss_end: int = 0
    defects: dict[tuple[str, str], Defect] = field(default_factory=dict)

    @property
    def defect_inputs(self) -> int:
        """Inputs classified as defects (several may share one cause)."""
        return sum(defect.count for defect in self.defects.values())

    @property
    def rate(self) -> float:
        """Inputs per second."""
        return self.inputs / self.seconds if self.seconds else 0.0


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    stack = [frame for frame in frames if frame.filename.startswith(STACK_DIR)] or frames
    last = stack[-1] if stack else None
    return f"{Path(last.filename).name}:{last.lineno}" if last else "?"


def _timed(target: Target, data: bytes) -> tuple[int, BaseException | None]:
    """Run one input; the time is this thread's CPU time, which other processes cannot inflate."""
    start = time.thread_time_ns()
    try:
        target.run(data)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # classifying every outcome is the point
        return time.thread_time_ns() - start, error
    return time.thread_time_ns() - start, None


def run_target(
    target: Target,
    inputs: int,
    seed: int,
    *,
    coverage: Coverage | None = None,
    limit_ms: float = DEFAULT_LIMIT_MS,
    deadline: float | None = None,
) -> TargetReport:
    """Run ``inputs`` inputs (the seeds first, then mutations) through ``target``."""
    rng = random.Random(f"{seed}:{target.name}")  # noqa: S311 - reproducible inputs, not secrets
    report = TargetReport(target.name)
    corpus = list(target.seeds) or [b""]
    seeds = len(corpus)
    limit_ns = int(limit_ms * 1_000_000)
    if coverage is not None:
        coverage.reset()
    report.rss_start = report.rss_peak = rss_bytes()
    started = time.perf_counter()
    for index in range(inputs):
        data = corpus[index] if index < seeds else mutate(rng, rng.choice(corpus), corpus, target.max_size)
        before = coverage.new if coverage is not None else 0
        elapsed, error = _timed(target, data)
        if elapsed > limit_ns or (elapsed > _RETIME_NS and elapsed > report.slowest_ms * 1_000_000):
            # A time slice lost to another process or a garbage collection is not the parser's.
            report.slow_retried += 1
            elapsed = min(elapsed, *(_timed(target, data)[0] for _ in range(_RETRIES - 1)))
        if elapsed > report.slowest_ms * 1_000_000:
            report.slowest_ms = elapsed / 1_000_000
            report.slowest_input = data
        if error is None:
            report.ok += 1
        elif isinstance(error, DlmsError):
            report.stack_errors += 1
        else:
            _record(report, type(error).__name__, _where(error), str(error)[:200], data)
        if elapsed > limit_ns:
            _record(report, "slow", f"{elapsed / 1_000_000:.1f} ms", "over the time limit", data)
        if coverage is not None and coverage.new != before and index >= seeds:
            if len(corpus) < MAX_CORPUS:
                corpus.append(data)
            else:
                corpus[rng.randrange(seeds, MAX_CORPUS)] = data
        report.inputs += 1
        if index % _RSS_EVERY == 0:
            report.rss_peak = max(report.rss_peak, rss_bytes())
            if deadline is not None and time.monotonic() > deadline:
                break
    report.seconds = time.perf_counter() - started
    report.rss_end = rss_bytes()
    report.rss_peak = max(report.rss_peak, report.rss_end)
    report.coverage = coverage.locations if coverage is not None else 0
    report.corpus = len(corpus)
    return report


def _record(report: TargetReport, kind: str, where: str, message: str, data: bytes) -> None:
    key = (kind, where if kind != "slow" else "")
    found = report.defects.get(key)
    if found is None:
        report.defects[key] = Defect(kind, where, message, data)
    else:
        found.count += 1
        if len(data) < len(found.data):
            found.data = data  # keep the shortest example
