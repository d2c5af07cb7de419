"""The fault injector's decisions (the runner's tests apply them on real ports)."""

from __future__ import annotations

from custom_components.dlms_cosem.dlms.simulator.faults import FaultInjector, RequestFaults

FRAME = bytes(range(64))


def test_probabilities_are_reproducible_with_a_seed() -> None:
    first = FaultInjector(seed=3, corrupt_probability=0.3, drop_probability=0.2)
    second = FaultInjector(seed=3, corrupt_probability=0.3, drop_probability=0.2)
    outcomes = [first.mangle(FRAME) for _ in range(200)]
    assert outcomes == [second.mangle(FRAME) for _ in range(200)]
    intact = sum(outcome == FRAME for outcome in outcomes)
    cut = sum(len(outcome) < len(FRAME) for outcome in outcomes)
    flipped = sum(len(outcome) == len(FRAME) and outcome != FRAME for outcome in outcomes)
    assert (first.frames_dropped, first.frames_corrupted) == (cut, flipped)
    assert 20 <= cut <= 60
    assert 30 <= flipped <= 80
    assert intact + cut + flipped == 200


def test_one_shot_faults_count_down() -> None:
    faults = FaultInjector(seed=1)
    faults.corrupt_next(2)
    faults.drop_next(1)
    results = [faults.mangle(FRAME) for _ in range(4)]
    assert len(results[0]) < len(FRAME)  # drops first
    assert [sum(bin(a ^ b).count("1") for a, b in zip(r, FRAME, strict=True)) for r in results[1:3]] == [1, 1]
    assert results[3] == FRAME
    assert faults.mangle(b"") == b""


def test_request_faults() -> None:
    faults = FaultInjector()
    assert faults.on_request() == RequestFaults()
    faults.drop_association()
    assert faults.on_request() == RequestFaults(drop_association=True)
    assert faults.on_request() == RequestFaults()
    faults.stop_answering()
    assert faults.silent
    assert faults.on_request() == RequestFaults(ignore=True)
    faults.resume()
    faults.reboot()
    assert faults.on_request() == RequestFaults(ignore=True, reboot=True)
    assert faults.on_request() == RequestFaults()
    assert faults.requests_ignored == 2
    faults.reboot()
    assert faults.take_reboot()
    assert not faults.take_reboot()


def test_line_time() -> None:
    assert FaultInjector().transmission_time(1000) == 0.0
    assert FaultInjector(baud=9600).transmission_time(960) == 1.0
