"""Do corrupted streams make wrong values? The share per framing (issue 19).

``scripts/run env PYTHONPATH=. python -m fuzz.integrity --inputs 2000 --seed 1`` takes every capture of
the fixtures, groups them by framing (HDLC with FCS, M-Bus, bare APDU, TCP wrapper, encrypted), and
feeds a fresh decoder seeded, deterministic corruptions of two telegrams of the same capture in a row:

- ``splice``: frames of the two mixed (the first's first frames, the second's last ones), with a
  silence (``flush(cut=True)``) or without one between them;
- ``quiet-gap``: a telegram cut at a random byte by a quiet gap (``flush(cut=False)``), then its rest;
- ``collision``: M-Bus only, two bytes of one frame swapped, or +d and -d on two bytes (the 8-bit sum,
  so the checksum, stays right: the link layer cannot see it);
- ``oversized``: the stream repeated past :data:`MAX_TELEGRAM_BYTES` inside one frame sequence.

An input is **wrong** when a telegram comes out whose values are not those of the original capture.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramDecoder, decode_telegrams

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
type Values = list[tuple[str | None, object]]
type Corruption = Callable[[random.Random, list[bytes], list[bytes]], list[bytes | None]]
"""A telegram's frames and another telegram's (same framing) in, the chunks to feed out (None: a
silence long enough to cut, b"": a quiet gap)."""


def _keys(entry: dict[str, Any]) -> SecurityKeys | None:
    keys = entry.get("keys")
    if not keys:
        return None
    return SecurityKeys(
        encryption_key=bytes.fromhex(keys["encryption"]) if keys.get("encryption") else None,
        authentication_key=bytes.fromhex(keys["authentication"]) if keys.get("authentication") else None,
    )


def captures() -> dict[str, list[tuple[list[bytes], SecurityKeys | None, Values]]]:
    """The decodable captures by framing, with their values."""
    found: dict[str, list[tuple[list[bytes], SecurityKeys | None, Values]]] = {}
    seen: set[str] = set()
    for name in ("public_vectors.json", "corpus.json", "corpus_extra.json"):
        for entry in json.loads((FIXTURES / name).read_text())["push"]:
            if entry["id"] in seen or entry["transport"] not in ("hdlc", "mbus", "apdu", "wrapper"):
                continue
            seen.add(entry["id"])
            frames = [bytes.fromhex(frame) for frame in entry["frames"]]
            keys = _keys(entry)
            telegrams = [e for e in decode_telegrams(frames, keys) if isinstance(e, Telegram)]
            if len(telegrams) != 1:
                continue
            group = entry["transport"] + ("+gcm" if keys is not None else "")
            found.setdefault(group, []).append((frames, keys, _values(telegrams[0])))
    return found


def _values(telegram: Telegram) -> Values:
    return [(str(obj.obis) if obj.obis else None, obj.value) for obj in telegram.content.objects]


def _pieces(frames: list[bytes]) -> list[bytes]:
    """The frames, or a single-frame capture cut in three (so a splice has pieces to mix)."""
    if len(frames) > 1:
        return frames
    whole = frames[0]
    third = max(1, len(whole) // 3)
    return [whole[:third], whole[third : 2 * third], whole[2 * third :]]


def splice(rng: random.Random, frames: list[bytes], other: list[bytes]) -> list[bytes | None]:
    """See the module docstring."""
    pieces, others = _pieces(frames), _pieces(other)
    cut = rng.randrange(1, len(pieces))
    later = rng.randrange(1, len(others))
    gap: list[bytes | None] = [None] if rng.random() < 0.5 else []
    return [*pieces[:cut], *gap, *others[later:], b""]


def quiet_gap(rng: random.Random, frames: list[bytes], other: list[bytes]) -> list[bytes | None]:
    """See the module docstring."""
    whole = b"".join(frames)
    cut = rng.randrange(1, len(whole))
    return [whole[:cut], b"", whole[cut:], b"", *other, b""]


def collision(rng: random.Random, frames: list[bytes], other: list[bytes]) -> list[bytes | None]:
    """See the module docstring."""
    whole = bytearray(b"".join(frames))
    # the bytes between the header (68 L L 68 C A CI STSAP DTSAP) and the checksum of the first frame
    first, last = 9, whole[1] + 4 - 1
    i, j = rng.sample(range(first, last + 1), 2)
    if rng.random() < 0.5:
        whole[i], whole[j] = whole[j], whole[i]
    else:
        d = rng.randrange(1, 256)
        whole[i] = (whole[i] + d) & 0xFF
        whole[j] = (whole[j] - d) & 0xFF
    return [bytes(whole), b""]


def oversized(rng: random.Random, frames: list[bytes], other: list[bytes]) -> list[bytes | None]:
    """See the module docstring."""
    whole = b"".join(frames)
    return [whole * (9000 // len(whole) + 1 + rng.randrange(3)), b""]


CORRUPTIONS: dict[str, Corruption] = {
    "splice": splice,
    "quiet-gap": quiet_gap,
    "collision": collision,
    "oversized": oversized,
}


def _in_a_row(frames: list[bytes], other: list[bytes], keys: SecurityKeys | None) -> list[Values]:
    """The values of both telegrams, uncorrupted, through one decoder and the second's alone.

    Through one decoder the second may use the list profile the first named, as a meter's telegrams do.
    """
    decoder = TelegramDecoder(keys)
    events = [event for frame in frames for event in decoder.feed(frame)] + decoder.flush()
    events += [event for frame in other for event in decoder.feed(frame)] + decoder.flush()
    events += decode_telegrams(other, keys)
    return [_values(event) for event in events if isinstance(event, Telegram)]


def run_one(chunks: list[bytes | None], keys: SecurityKeys | None, expected: list[Values]) -> bool:
    """True when a telegram came out whose values are none of the ``expected`` (the originals')."""
    decoder = TelegramDecoder(keys)
    events = []
    for chunk in chunks:
        if chunk is None:
            events += decoder.flush(cut=True)
        elif chunk == b"":
            events += decoder.flush(cut=False)
        else:
            events += decoder.feed(chunk)
    events += decoder.flush()
    return any(isinstance(event, Telegram) and _values(event) not in expected for event in events)


def campaign(inputs: int, seed: int) -> list[str]:
    """The table: per framing and corruption, wrong telegrams / inputs."""
    rng = random.Random(seed)  # noqa: S311 - reproducible inputs, not secrets
    groups = captures()
    lines = [f"{'framing':10} {'corruption':10} {'inputs':>7} {'wrong':>6} {'share':>8}"]
    for group, entries in sorted(groups.items()):
        for name, corrupt in CORRUPTIONS.items():
            if name == "collision" and not group.startswith("mbus"):
                continue
            counts: Counter[str] = Counter()
            for _ in range(inputs):
                frames, keys, expected = rng.choice(entries)
                other, _, _ = rng.choice(entries)
                counts["inputs"] += 1
                chunks = corrupt(rng, frames, other)
                counts["wrong"] += run_one(chunks, keys, [expected, *_in_a_row(frames, other, keys)])
            share = counts["wrong"] / counts["inputs"]
            lines.append(f"{group:10} {name:10} {counts['inputs']:7} {counts['wrong']:6} {share:8.2%}")
    return lines


def main() -> None:
    """Run the campaign and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1000, help="inputs per framing and corruption")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("\n".join(campaign(args.inputs, args.seed)))


if __name__ == "__main__":
    main()
