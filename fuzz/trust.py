"""Which wrong values reach an entity or a statistic? Corrupted streams through the decoder and the guard.

``scripts/fuzz --trust --inputs 2000 --seed 1`` (or ``scripts/run env PYTHONPATH=. python -m fuzz.trust``)
builds a stream of the simulator's telegrams per framing, ten seconds of the meter's clock apart (so
every telegram's values differ from the one before), and for each input:

1. feeds a fresh decoder and a fresh plausibility guard a few genuine telegrams (the guard's baseline,
   as a running entry has one),
2. then one corruption of the next telegrams:

   - ``bitflip``: 1 to 3 bits flipped anywhere in the telegram;
   - ``bytes``: a run of 1 to 4 bytes overwritten;
   - ``splice``: the first part of a telegram (its first frames, or its first bytes for single-frame
     framings) and the later part of the next one, with or without a silence between;
   - ``collision``: M-Bus, two payload bytes swapped or +d/-d on two of them (the 8-bit checksum holds);
   - ``truncate``: a telegram cut at a random byte by a silence, then the next one whole;

3. then the next genuine telegrams,

and screens every decoded telegram's readings through the guard as the push coordinator does
(:func:`~custom_components.dlms_cosem.push_coordinator.telegram_readings`, the arrival time on the
meter's ten-second grid). It counts:

- **decoded wrong**: inputs from which a telegram came out whose values are none of the genuine ones;
- **reached**, readings the guard let through that are not what the meter sent, by kind:

  - ``made up``: a total (energy; what reaches the Energy panel) with a value the meter never had;
  - ``misdated``: a total with a value the meter had, but another telegram's time (a damaged clock,
    or a splice that kept the other telegram's clock): it moves one interval's energy across an hour
    boundary at most, when its time falls on one;
  - ``misnamed``: a total under a code the meter never sent (a damaged logical name): a sensor of
    that code exists only if the user chose a code the meter does not send;
  - ``other``: an instantaneous value (power, voltage...) the meter never had, or under another code;

  and ``largest``: the largest difference (Wh) between a made-up total that got through and the
  nearest value the meter sent.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from custom_components.dlms_cosem.coordinator import telegram_readings
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.push import PushBuilder, PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramDecoder, TelegramEvent
from custom_components.dlms_cosem.guard import PlausibilityGuard
from custom_components.dlms_cosem.guard.limits import is_total
from custom_components.dlms_cosem.models import MeterReading

START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=10)
WARM_UP = 4  # genuine telegrams before the corrupted ones
TELEGRAMS = 64  # the stream each framing's inputs are cut from
KEYS = SecurityKeys(
    bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
)
TITLE = bytes.fromhex("4B464D0000000001")

#: Framing, security control (None: plain) and whether the decoder gets the authentication key.
FRAMINGS: dict[str, tuple[PushFraming, int | None]] = {
    "hdlc": (PushFraming.HDLC, None),
    "mbus": (PushFraming.MBUS, None),
    "apdu": (PushFraming.RAW, None),
    "wrapper": (PushFraming.WRAPPER, None),
    "mbus+enc": (PushFraming.MBUS, 0x20),
    "hdlc+gcm": (PushFraming.HDLC, 0x30),
}

type Chunks = list[bytes | None]
"""What the line delivers: bytes, or None for a silence that cuts what is held."""
type Corruption = Callable[[random.Random, list[bytes], list[bytes], PushFraming], Chunks]


@dataclass(frozen=True, slots=True)
class Stream:
    """A framing's genuine telegrams (as frames) and the values each carried."""

    frames: list[list[bytes]]
    values: list[dict[ObisCode, MeterReading]]
    keys: SecurityKeys | None


def build_stream(framing: PushFraming, security: int | None) -> Stream:
    """The simulator's telegrams, :data:`INTERVAL` apart on its clock."""
    instant = [START]
    meter = SimulatedMeter(lambda: instant[0], security=MeterSecurity(keys=KEYS, system_title=TITLE))
    settings = PushSettings(framing=framing, security=security, max_information_length=128)
    builder = PushBuilder(meter, settings)
    keys = KEYS if security is not None else None
    decode_keys = SecurityKeys(KEYS.encryption_key, KEYS.authentication_key if security == 0x30 else None)
    frames: list[list[bytes]] = []
    values: list[dict[ObisCode, MeterReading]] = []
    for index in range(TELEGRAMS):
        instant[0] = START + index * INTERVAL
        telegram = builder.frames()
        decoded = [
            event
            for event in TelegramDecoder(decode_keys if keys else None).feed(b"".join(telegram))
            if isinstance(event, Telegram)
        ]
        assert len(decoded) == 1, "the simulator's telegram decodes"
        frames.append(telegram)
        values.append(telegram_readings(decoded[0], UTC))
    return Stream(frames, values, decode_keys if keys else None)


def _flip(rng: random.Random, data: bytes) -> bytes:
    changed = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
    return bytes(changed)


def bitflip(rng: random.Random, frames: list[bytes], _next: list[bytes], _framing: PushFraming) -> Chunks:
    """See the module docstring."""
    return [_flip(rng, b"".join(frames)), None]


def overwrite(rng: random.Random, frames: list[bytes], _next: list[bytes], _framing: PushFraming) -> Chunks:
    """See the module docstring."""
    changed = bytearray(b"".join(frames))
    start = rng.randrange(len(changed))
    for index in range(start, min(len(changed), start + rng.randint(1, 4))):
        changed[index] = rng.randrange(256)
    return [bytes(changed), None]


def splice(rng: random.Random, frames: list[bytes], following: list[bytes], _framing: PushFraming) -> Chunks:
    """See the module docstring."""
    gap: Chunks = [None] if rng.random() < 0.5 else []
    if len(frames) > 1 and len(following) > 1:
        cut = rng.randrange(1, len(frames))
        later = rng.randrange(1, len(following))
        return [*frames[:cut], *gap, *following[later:], None]
    whole, other = b"".join(frames), b"".join(following)
    cut = rng.randrange(1, min(len(whole), len(other)))
    return [whole[:cut], *gap, other[cut:], None]


def collision(rng: random.Random, frames: list[bytes], _next: list[bytes], framing: PushFraming) -> Chunks:
    """See the module docstring (M-Bus only: other framings get a plain swap their check sees)."""
    index = rng.randrange(len(frames))
    frame = bytearray(frames[index])
    first, last = 9, len(frame) - 3  # between the header and the checksum
    i, j = rng.sample(range(first, last + 1), 2)
    if rng.random() < 0.5:
        frame[i], frame[j] = frame[j], frame[i]
    else:
        d = rng.randrange(1, 256)
        frame[i] = (frame[i] + d) & 0xFF
        frame[j] = (frame[j] - d) & 0xFF
    changed = [*frames[:index], bytes(frame), *frames[index + 1 :]]
    return [b"".join(changed), None]


def truncate(
    rng: random.Random, frames: list[bytes], following: list[bytes], _framing: PushFraming
) -> Chunks:
    """See the module docstring."""
    whole = b"".join(frames)
    return [whole[: rng.randrange(1, len(whole))], None, b"".join(following), None]


CORRUPTIONS: dict[str, Corruption] = {
    "bitflip": bitflip,
    "bytes": overwrite,
    "splice": splice,
    "collision": collision,
    "truncate": truncate,
}


@dataclass(slots=True)
class Outcome:
    """What one input did."""

    decoded_wrong: bool = False
    reached: Counter[str] = field(default_factory=Counter)
    largest_made_up: float = 0.0
    """The largest difference of a made-up total that got through from the nearest genuine value."""


def run_one(stream: Stream, at: int, chunks: Chunks) -> Outcome:
    """Warm-up telegrams, the corrupted chunks at slot ``at``, then genuine ones; what got through."""
    decoder = TelegramDecoder(stream.keys)
    guard = PlausibilityGuard()
    outcome = Outcome()
    genuine_values = stream.values

    def screen(events: Sequence[TelegramEvent], slot: int, corrupted: bool) -> None:
        now = START + slot * INTERVAL + timedelta(seconds=1)
        for event in events:
            if not isinstance(event, Telegram):
                continue
            readings = telegram_readings(event, UTC)
            if corrupted and not any(readings == values for values in genuine_values):
                outcome.decoded_wrong = True
            for key, reading in guard.screen(readings, now).items():
                kind = _wrong(key, reading, genuine_values)
                if kind is not None:
                    outcome.reached[kind] += 1
                if kind == "made up":
                    outcome.largest_made_up = max(
                        outcome.largest_made_up, _error(key, reading, genuine_values)
                    )

    for slot in range(at - WARM_UP, at):
        screen(decoder.feed(b"".join(stream.frames[slot])) + decoder.flush(cut=True), slot, corrupted=False)
    for chunk in chunks:
        events = decoder.flush(cut=True) if chunk is None else decoder.feed(chunk)
        screen(list(events), at, corrupted=True)
    for slot in range(at + 2, at + 4):
        screen(decoder.feed(b"".join(stream.frames[slot])) + decoder.flush(cut=True), slot, corrupted=False)
    return outcome


def _wrong(key: ObisCode, reading: MeterReading, genuine: list[dict[ObisCode, MeterReading]]) -> str | None:
    """How a reading that got through differs from what the meter sent (None: it does not)."""
    sent = [values[key] for values in genuine if key in values]
    if not is_total(key):
        return None if any(found.value == reading.value for found in sent) else "other"
    if not sent:
        return "misnamed"
    if not any(found.unit == reading.unit for found in sent):
        return "made up"  # a damaged unit: the same number is another quantity
    if any(found.value == reading.value and reading.captured in (found.captured, None) for found in sent):
        return None  # the meter's value, with its time or with none (then it goes to no hour)
    return "misdated" if any(found.value == reading.value for found in sent) else "made up"


KINDS = ("made up", "misdated", "misnamed", "other")


def _error(key: ObisCode, reading: MeterReading, genuine: list[dict[ObisCode, MeterReading]]) -> float:
    """How far a made-up total is from the nearest value the meter sent (in its unit)."""
    shown = reading.value
    assert isinstance(shown, int | float)
    sent = [values[key].value for values in genuine if key in values]
    return min(abs(float(value) - float(shown)) for value in sent if isinstance(value, int | float))


@dataclass(slots=True)
class Cell:
    """One framing and corruption: what its inputs did, added up."""

    framing: str
    corruption: str
    inputs: int = 0
    decoded_wrong: int = 0
    reached: Counter[str] = field(default_factory=Counter)
    largest_made_up: float = 0.0


def campaign(inputs: int, seed: int) -> list[Cell]:
    """Every framing and corruption, ``inputs`` each, drawn from ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible inputs, not secrets
    cells: list[Cell] = []
    for name, (framing, security) in FRAMINGS.items():
        stream = build_stream(framing, security)
        for corruption_name, corrupt in CORRUPTIONS.items():
            if corruption_name == "collision" and framing is not PushFraming.MBUS:
                continue
            cell = Cell(name, corruption_name)
            for _ in range(inputs):
                at = rng.randrange(WARM_UP, TELEGRAMS - 4)
                outcome = run_one(stream, at, corrupt(rng, stream.frames[at], stream.frames[at + 1], framing))
                cell.inputs += 1
                cell.decoded_wrong += outcome.decoded_wrong
                cell.reached.update(outcome.reached)
                cell.largest_made_up = max(cell.largest_made_up, outcome.largest_made_up)
            cells.append(cell)
    return cells


def table(cells: list[Cell]) -> list[str]:
    """The campaign as the table docs/RELIABILITY.md shows."""
    kinds = " ".join(f"{kind:>9}" for kind in KINDS)
    lines = [
        f"{'framing':9} {'corruption':10} {'inputs':>7} {'decoded wrong':>16}  reached: {kinds}  largest"
    ]
    for cell in cells:
        share = cell.decoded_wrong / cell.inputs if cell.inputs else 0.0
        reached = " ".join(f"{cell.reached[kind]:9}" for kind in KINDS)
        lines.append(
            f"{cell.framing:9} {cell.corruption:10} {cell.inputs:7} {cell.decoded_wrong:7} ({share:6.2%})"
            f"           {reached}  {cell.largest_made_up:7g}"
        )
    return lines


def main() -> None:
    """Run the campaign and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1000, help="inputs per framing and corruption")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("\n".join(table(campaign(args.inputs, args.seed))))


if __name__ == "__main__":
    main()
