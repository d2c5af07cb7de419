"""Decode time per public push capture: median microseconds over many runs.

Run: scripts/run python benchmarks/bench_decode.py [--runs N]
Each run builds a fresh decoder and feeds the capture's frames, as a telegram arriving on a port would.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams

VECTORS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "public_vectors.json"


def _keys(vector: dict[str, object]) -> SecurityKeys | None:
    keys = vector["keys"]
    if not isinstance(keys, dict):
        return None
    encryption, authentication = keys.get("encryption"), keys.get("authentication")
    return SecurityKeys(
        encryption_key=bytes.fromhex(encryption) if encryption else None,
        authentication_key=bytes.fromhex(authentication) if authentication else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    vectors = json.loads(VECTORS.read_text())["push"]
    print(f"{'capture':36} {'bytes':>6} {'median us':>10} {'p90 us':>8}")
    for vector in vectors:
        frames = [bytes.fromhex(frame) for frame in vector["frames"]]
        keys = _keys(vector)
        events = decode_telegrams(frames, keys)
        assert [type(e) for e in events] == [Telegram], vector["id"]
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter_ns()
            decode_telegrams(frames, keys)
            samples.append((time.perf_counter_ns() - start) / 1000)
        samples.sort()
        size = sum(len(frame) for frame in frames)
        p90 = samples[int(len(samples) * 0.9)]
        print(f"{vector['id']:36} {size:6d} {statistics.median(samples):10.1f} {p90:8.1f}")


if __name__ == "__main__":
    main()
