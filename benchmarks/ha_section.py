"""The Home Assistant section's lines, from the figures ``ha_compare.py`` and ``ha_startup.py`` measured.

Its last line is the one others parse (:data:`LINE`, :func:`parse`):

    ha cost: loop X us/telegram (x us/value), dsmr Y us/telegram (y us/value), ratio R; \
state rows/hour N, dsmr default M

(one line; broken here at the backslash)

X and Y: the event loop's CPU per telegram at each integration's default settings, the telegram's own
(reception, decoding, entities; interleaved, less the harness's) plus each one's share of the 2.5 s
between two telegrams (its timers: measured with that integration alone, less Home Assistant without
it); x and y the same per value (12 values each); R = x / y; N and M the state rows per hour of the
12 value sensors at the defaults.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

LINE = re.compile(
    r"^ha cost: loop (?P<x>[\d.]+) us/telegram \((?P<xv>[\d.]+) us/value\), dsmr (?P<y>[\d.]+) us/telegram "
    r"\((?P<yv>[\d.]+) us/value\), ratio (?P<r>[\d.]+); state rows/hour (?P<n>\d+), dsmr default (?P<m>\d+)$"
)


def ha_cost_line(ours_us: float, dsmr_us: float, values: int, rows: float, dsmr_rows: float) -> str:
    """The section's last line; the ratio is of the per-value figures."""
    ours_value, dsmr_value = ours_us / values, dsmr_us / values
    return (
        f"ha cost: loop {ours_us:.0f} us/telegram ({ours_value:.1f} us/value), "
        f"dsmr {dsmr_us:.0f} us/telegram ({dsmr_value:.1f} us/value), ratio {ours_value / dsmr_value:.2f}; "
        f"state rows/hour {rows:.0f}, dsmr default {dsmr_rows:.0f}"
    )


def parse(line: str) -> dict[str, float]:
    """The figures of a ``ha cost:`` line (ValueError if it is not one)."""
    found = LINE.match(line.strip())
    if found is None:
        raise ValueError(f"not a ha cost line: {line!r}")
    return {key: float(value) for key, value in found.groupdict().items()}


def _between(results: dict[str, Any], name: str) -> float | None:
    """The entry's share of the loop between two telegrams (us), from the single-entry runs."""
    own, none = results.get(f"between_{name}"), results.get("between_none")
    if own is None or none is None:
        return None
    return max(0.0, own["us_per_2_5_s"] - none["us_per_2_5_s"])


def _memory(results: dict[str, Any], name: str) -> str | None:
    found = results.get(f"memory_{name}")
    if found is None:
        return None
    traced, rss = found["traced_kib"], found["rss_kib"]
    return (
        f"memory over the hour, {name}: Python heap allocated since the first telegram and still alive "
        f"(tracemalloc after a collection, every 5 minutes; what the benchmark and harness hold left out) "
        f"{traced[0]} KiB at 5 min, {traced[-1]} KiB at 60 min ({traced[-1] - traced[0]:+d} KiB; "
        f"{min(traced)} to {max(traced)} KiB over the hour); process RSS {rss[0] / 1024:.1f} MiB -> "
        f"{rss[-1] / 1024:.1f} MiB ({(rss[-1] - rss[0]) / 1024:+.2f} MiB, the in-memory sqlite database "
        f"included); largest changes by file: {'; '.join(found['largest_growth'][:3])}"
    )


def summary(results: dict[str, Any], startup_lines: list[str], startup: dict[str, Any]) -> list[str]:
    """The section: each figure with how it was taken, then the ``ha cost:`` line."""
    defaults = results.get("defaults", {})
    values = int(defaults.get("values", 12))
    lines = [
        f"Home Assistant, this integration against core's dsmr {results.get('dsmr_version', '')}".rstrip()
        + f": one meter, a DSMR 5 P1 telegram every 2.5 s ({values} values: 4 energy registers, import and "
        f"export power, 3 voltages, 3 currents), {defaults.get('telegrams', '?')} telegrams (an hour on the "
        "frozen clock), each to every entry over its own TCP line; recorder on (sqlite)",
    ]
    totals: dict[str, float] = {}
    for name, label in (("ours-p1", "ours, P1 text"), ("ours-hdlc", "ours, HDLC binary"), ("dsmr", "dsmr")):
        found = defaults.get(name)
        if found is None:
            continue
        share = _between(results, name if name != "ours-hdlc" else "ours-p1")
        total = found["loop_us"] + (share or 0.0)
        totals[name] = total
        five = found.get("five_minute", {})
        lines.append(
            f"{label:18} defaults: loop CPU per telegram {found['loop_us']:.0f} us "
            f"(median {found['loop_median_us']:.0f}) + between telegrams "
            f"{share if share is not None else float('nan'):.0f} us = {total:.0f} us "
            f"({total / values:.1f} us/value); state rows/hour {found['rows_per_hour']:.0f} "
            f"(import power {found['power_rows_per_hour']:.0f}); 5-minute mean of import power vs the "
            f"stream's: mean {five.get('mean_percent', float('nan')):.2f} %, "
            f"max {five.get('max_percent', float('nan')):.2f} % over {five.get('periods', 0)} periods; "
            f"entry setup {found['setup_ms']:.0f} ms"
        )
    every = results.get("every_telegram")
    if every:
        lines.append(
            f"every telegram written (update_interval 0, time_between_update 0; "
            f"{every['telegrams']} telegrams): "
            + ", ".join(
                f"{name} {figures['loop_us']:.0f} us"
                for name, figures in every.items()
                if name != "telegrams"
            )
        )
    harness = defaults.get("harness_us")
    if harness is not None:
        lines.append(
            f"harness cost subtracted per sample (a line that sends nothing): {harness:.0f} us; between "
            "telegrams without any entry: "
            f"{results.get('between_none', {}).get('us_per_2_5_s', float('nan')):.0f} us per 2.5 s"
        )
    lines += [line for line in (_memory(results, "ours-p1"), _memory(results, "dsmr")) if line]
    lines += startup_lines
    if startup:
        setups = startup.get("integration_setup_ms", [])
        if setups:
            lines.append(
                f"setup per entry: {statistics.median(setups):.0f} ms in Home Assistant's start "
                "(target < 100 ms)"
            )
    if "ours-p1" in totals and "dsmr" in totals:
        lines.append(
            ha_cost_line(
                totals["ours-p1"],
                totals["dsmr"],
                values,
                defaults["ours-p1"]["rows_per_hour"],
                defaults["dsmr"]["rows_per_hour"],
            )
        )
    else:
        lines.append("ha cost: not measured (the comparison did not run; see above)")
    return lines
