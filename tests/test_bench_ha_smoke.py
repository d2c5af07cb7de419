"""The Home Assistant section of ``scripts/bench`` runs: our side of it for five minutes of telegrams.

``benchmarks/ha_compare.py`` is a benchmark (``scripts/bench`` runs it, not the suite); this runs its
hour-at-the-defaults measurement for 121 telegrams (one 5-minute period) with our P1 entry alone
(core's dsmr needs dsmr_parser, which only the benchmark's own directory has) through the same code,
and checks the figures and the section's lines, the ``ha cost:`` line's format included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant

from benchmarks import ha_compare
from benchmarks.ha_compare import LoopClock, clock  # noqa: F401 - the benchmark's fixture
from benchmarks.ha_section import ha_cost_line, parse, summary


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The benchmark's lines are TCP ports on 127.0.0.1."""


async def test_the_ha_section_runs_and_prints_a_parseable_line(
    hass: HomeAssistant,
    clock: LoopClock,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    results = tmp_path / "ha.json"
    monkeypatch.setenv("DLMS_BENCH_HA_ONLY", "ours-p1")
    monkeypatch.setenv("DLMS_BENCH_HA_TELEGRAMS", "121")
    monkeypatch.setattr(ha_compare, "RESULTS", str(results))
    await ha_compare.test_an_hour_at_the_defaults(hass, clock)

    found = json.loads(results.read_text())["defaults"]
    ours = found["ours-p1"]
    assert found["telegrams"] == 121
    assert found["values"] == 12
    assert 0 < ours["loop_us"] < 50_000
    assert ours["rows"] > 0
    assert ours["five_minute"]["periods"] == 1
    assert ours["five_minute"]["mean_percent"] < 10
    assert 0 < ours["setup_ms"] < 10_000

    lines = summary({"defaults": found}, [], {})
    assert any(line.startswith("ours, P1 text") for line in lines)
    assert lines[-1].startswith("ha cost: not measured")  # dsmr did not run here
    line = ha_cost_line(
        ours["loop_us"], 2 * ours["loop_us"], 12, ours["rows_per_hour"], 2 * ours["rows_per_hour"]
    )
    figures = parse(line)
    assert figures["r"] == pytest.approx(0.5, abs=0.01)
    assert figures["n"] == pytest.approx(ours["rows_per_hour"], abs=1)
