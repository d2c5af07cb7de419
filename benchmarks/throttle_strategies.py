"""How far a throttled power sensor's statistics drift from the stream's, by throttling strategy.

Home Assistant's long-term statistics take the time-weighted mean of a sensor's states over each 5-minute
period (a state holds until the next one; the last state before a period opens it). A pushing meter
sends every 1 to 10 seconds; writing fewer states saves database rows but each state is then held longer
than the value it stands for. This script measures, on a synthetic household stream (a telegram every
2.5 s for 24 hours: a base load, a fridge cycle, appliances of 0.8 to 3 kW switched at random, noise),
for each strategy: the state rows per hour and the relative error of the 5-minute and hourly means
against the unthrottled stream (maximum, mean, 95th percentile). It is a design aid for the "minimum
time between updates" option (issue "Light on the user's Home Assistant"), not a test: the stream is
made up, with a fixed seed.

Strategies:
- ``every``: every telegram (the reference; error 0).
- ``sample N``: the latest value every N seconds (core dsmr's "time between updates").
- ``mean N``: every N seconds, the time-weighted mean since the last state.
- ``step N r a``: ``mean N``, but a value more than r (relative) and a (absolute) away from the shown one
  is written at once.

Run: ``python benchmarks/throttle_strategies.py``
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Sequence

TELEGRAM_EVERY = 2.5
HOURS = 24
PERIOD = 300.0  # Home Assistant's short-term statistics
HOUR = 3600.0
SEED = 1

type Writes = list[tuple[float, float]]


def household_stream(seed: int = SEED) -> tuple[list[float], list[float]]:
    """Telegram instants and active power (W) of a made-up household."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible made-up stream, nothing secret
    count = int(HOURS * HOUR / TELEGRAM_EVERY)
    appliances: list[tuple[float, float]] = []  # (watts, until)
    times, power = [], []
    for index in range(count):
        instant = index * TELEGRAM_EVERY
        base = 300 + 50 * math.sin(instant / HOUR * 2 * math.pi / 24)
        fridge = 120 if instant % 1800 < 600 else 0
        if rng.random() < TELEGRAM_EVERY / 900:
            appliances.append((rng.choice([2000.0, 1500.0, 800.0, 3000.0]), instant + rng.uniform(60, 1200)))
        appliances = [(watts, until) for watts, until in appliances if until > instant]
        value = base + fridge + sum(watts for watts, _ in appliances) + rng.gauss(0, 30)
        times.append(instant)
        power.append(max(0.0, value))
    return times, power


def period_means(writes: Writes, period: float) -> list[float]:
    """Home Assistant's time-weighted mean of each period, for states written at the given instants."""
    instants = [instant for instant, _ in writes]
    means = []
    for number in range(int(HOURS * HOUR / period)):
        start, end = number * period, (number + 1) * period
        index = max(bisect.bisect_right(instants, start) - 1, 0)
        shown, since, area = writes[index][1], start, 0.0
        for instant, value in writes[index + 1 :]:
            if instant >= end:
                break
            area += shown * (instant - since)
            since, shown = instant, value
        area += shown * (end - since)
        means.append(area / period)
    return means


def errors(means: Sequence[float], truth: Sequence[float]) -> tuple[float, float, float]:
    """Maximum, mean and 95th percentile of the relative error."""
    relative = sorted(abs(mean - true) / true for mean, true in zip(means, truth, strict=True))
    return relative[-1], sum(relative) / len(relative), relative[int(0.95 * len(relative))]


def every(times: list[float], power: list[float]) -> Writes:
    """A state per telegram."""
    return list(zip(times, power, strict=True))


def sample(interval: float) -> Callable[[list[float], list[float]], Writes]:
    """The latest value, at most every ``interval`` seconds."""

    def strategy(times: list[float], power: list[float]) -> Writes:
        writes: Writes = []
        for instant, value in zip(times, power, strict=True):
            if not writes or instant - writes[-1][0] >= interval:
                writes.append((instant, value))
        return writes

    return strategy


def mean(interval: float, relative: float = math.inf, absolute: float = math.inf) -> Callable[
    [list[float], list[float]], Writes
]:
    """The time-weighted mean every ``interval`` seconds; a value that moved that far, at once."""

    def strategy(times: list[float], power: list[float]) -> Writes:
        writes: Writes = [(times[0], power[0])]
        area = held = 0.0
        for index in range(1, len(times)):
            instant, value = times[index], power[index]
            step = instant - times[index - 1]
            area += power[index - 1] * step
            held += step
            shown = writes[-1][1]
            if abs(value - shown) > max(relative * abs(shown), absolute):
                writes.append((instant, value))
                area = held = 0.0
            elif instant - writes[-1][0] >= interval:
                writes.append((instant, area / held))
                area = held = 0.0
        return writes

    return strategy


def main() -> int:
    """Print each strategy's rows per hour and errors."""
    times, power = household_stream()
    reference = every(times, power)
    truth_5 = period_means(reference, PERIOD)
    truth_60 = period_means(reference, HOUR)
    strategies: list[tuple[str, Callable[[list[float], list[float]], Writes]]] = [
        ("every", every),
        ("sample 30", sample(30)),
        ("mean 30", mean(30)),
        ("sample 60", sample(60)),
        ("mean 60", mean(60)),
        ("step 60 20% 100 W", mean(60, 0.2, 100)),
        ("step 30 10% 50 W", mean(30, 0.1, 50)),
    ]
    print(f"{'strategy':<20} {'rows/h':>7}  5-min max / mean / p95      1-h max / mean / p95")
    for name, strategy in strategies:
        writes = strategy(times, power)
        five = errors(period_means(writes, PERIOD), truth_5)
        hour = errors(period_means(writes, HOUR), truth_60)
        print(
            f"{name:<20} {len(writes) / HOURS:7.0f}  "
            + " / ".join(f"{value:6.2%}" for value in five)
            + "   "
            + " / ".join(f"{value:6.2%}" for value in hour)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
