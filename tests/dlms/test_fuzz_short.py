"""A short fixed-seed run of every fuzz target (``scripts/fuzz`` does the long runs).

Each target gets its seeds and a few thousand coverage-guided mutations; any exception other than
the stack's own DlmsError, or an input slower than the limit on its best of three runs, fails the
test with the input in hex. The limit here has headroom for a loaded CI runner; the 10 ms figure is
measured by the long run (docs/RELIABILITY.md).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from custom_components.dlms_cosem.dlms.errors import DecodeError
from fuzz.engine import Coverage, import_stack, mutate, run_target
from fuzz.targets import Target, targets

SEED = 20261203
INPUTS = 5_000
CI_LIMIT_MS = 50.0
TARGETS = targets()


@pytest.fixture(scope="module")
def coverage() -> Iterator[Coverage | None]:
    import_stack()
    tracker = Coverage()
    yield tracker if tracker.start() else None
    tracker.stop()


def test_every_parser_has_a_target_with_seeds() -> None:
    assert set(TARGETS) == {
        "hdlc",
        "hdlc-checked",
        "mbus",
        "mbus-checked",
        "wrapper",
        "axdr",
        "apdu",
        "client-responses",
        "ciphered",
        "push",
        "telegram",
        "telegram-stream",
        "iec62056-21",
        "text",
    }
    for target in TARGETS.values():
        assert target.seeds, target.name


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_fixed_seed_run_finds_no_defect(name: str, coverage: Coverage | None) -> None:
    report = run_target(TARGETS[name], INPUTS, SEED, coverage=coverage, limit_ms=CI_LIMIT_MS)
    assert report.inputs == INPUTS
    assert report.ok + report.stack_errors == INPUTS
    found = [
        f"{d.kind} at {d.where} ({d.count}x): {d.message} input={d.data.hex()}"
        for d in report.defects.values()
    ]
    assert not found
    # The mutations reach past the first check: some inputs decode, some are refused.
    assert report.stack_errors > 0
    if name != "iec62056-21":  # a mutated identification line rarely still announces HDLC
        assert report.ok > 0


def _raise_value_error(data: bytes) -> None:
    if data.startswith(b"\x01"):
        raise ValueError("not a stack error")
    raise DecodeError("refused")


def _busy(data: bytes) -> None:
    """Spend 30 ms of CPU (not sleep: inputs are timed in CPU time)."""
    if data == b"slow":
        end = time.thread_time() + 0.03
        while time.thread_time() < end:
            pass


def test_the_classifier_tells_stack_errors_from_defects() -> None:
    crashing = Target("crashing", _raise_value_error, (b"\x01\x02", b"\x02\x03"))
    report = run_target(crashing, 2, 1)
    assert (report.ok, report.stack_errors, report.defect_inputs) == (0, 1, 1)
    (defect,) = report.defects.values()
    assert defect.kind == "ValueError"
    assert defect.data == b"\x01\x02"
    slow = run_target(Target("slow", _busy, (b"fast", b"slow")), 2, 1, limit_ms=10.0)
    assert [d.kind for d in slow.defects.values()] == ["slow"]
    assert slow.slowest_ms >= 30.0


def test_mutation_is_reproducible_and_bounded() -> None:
    corpus = [bytes(range(40)), b"\x7e\xa0\x10"]
    rng, rng_again = random.Random(7), random.Random(7)
    first = [mutate(rng, corpus[0], corpus, 64) for _ in range(200)]
    again = [mutate(rng_again, corpus[0], corpus, 64) for _ in range(200)]
    assert first == again
    assert all(len(data) <= 64 for data in first)
    assert len(set(first)) > 1
