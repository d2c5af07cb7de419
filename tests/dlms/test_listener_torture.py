"""The push listener under a torture line (short, fixed seeds): real ptys, garbage, pauses, pulled cables.

``scripts/torture`` sends 1,000 telegrams per framing with 50-500 ms pauses inside them; here fewer
telegrams with short pauses keep CI quick, and a handful with long pauses check the quiet gap does
not cut a telegram that is merely slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.simulator.push import PushFraming
from custom_components.dlms_cosem.dlms.simulator.torture import TortureSettings, run_torture


@pytest.mark.parametrize("framing", [PushFraming.HDLC, PushFraming.MBUS])
async def test_every_intact_telegram_decoded_once_none_invented(tmp_path: Path, framing: PushFraming) -> None:
    settings = TortureSettings(
        telegrams=80, seed=3, framing=framing, min_gap=0.0, max_gap=0.005, close_probability=0.06
    )
    figures = await run_torture(settings, tmp_path)
    assert figures.sent == 80
    assert figures.cut > 0, "the port was closed half way through some telegrams"
    assert figures.reconnects == figures.cut
    assert figures.intact + figures.cut == 80
    assert figures.decoded_once == figures.intact, figures.lines()
    assert (figures.missed, figures.duplicates, figures.invented, figures.stuck) == (0, 0, 0, 0)
    assert figures.garbage_bytes > 0
    assert figures.pauses > 0
    assert sum(figures.failures.values()) >= 1, "cut frames are reported, not silently dropped"


async def test_slow_telegrams_with_long_pauses_inside(tmp_path: Path) -> None:
    settings = TortureSettings(
        telegrams=4, seed=5, min_gap=0.3, max_gap=0.45, max_chunks=3, close_probability=0.0
    )
    figures = await run_torture(settings, tmp_path)
    assert figures.pauses > 0
    assert figures.decoded_once == figures.intact == 4, figures.lines()
    assert (figures.missed, figures.duplicates, figures.invented, figures.stuck) == (0, 0, 0, 0)


async def test_pauses_longer_than_the_quiet_gap_do_not_cut_a_telegram(tmp_path: Path) -> None:
    """Regression: a pause inside a frame as long as the quiet gap made the listener drop the frame as cut.

    The quiet gap is shortened here (50 ms) so pauses of one to two gaps take little time; the frame
    is cut only after ``QUIET_GAPS_TO_CUT`` gaps of silence.
    """
    settings = TortureSettings(
        telegrams=6, seed=9, min_gap=0.06, max_gap=0.11, max_chunks=3, close_probability=0.0, quiet_gap=0.05
    )
    figures = await run_torture(settings, tmp_path)
    assert figures.pauses > 0
    assert figures.decoded_once == figures.intact == 6, figures.lines()
    assert sum(figures.failures.values()) == 0
