"""The trust campaign, short and with a fixed seed: corrupted streams through the decoder and the guard.

``scripts/fuzz --trust`` runs it long (docs/RELIABILITY.md has the figures); this is what CI runs.
"""

from __future__ import annotations

from custom_components.dlms_cosem.guard.limits import SOFT_FLOOR_W, TIME_SLACK_SECONDS
from fuzz.trust import INTERVAL, campaign, table

#: What a household may draw between two telegrams, at the guard's soft floor (Wh), plus one step.
ONE_INTERVAL_WH = SOFT_FLOOR_W * (INTERVAL.total_seconds() + TIME_SLACK_SECONDS) / 3600 + 1


def test_no_made_up_total_beyond_one_interval_reaches_an_entity() -> None:
    cells = campaign(inputs=40, seed=1)
    print("\n".join(table(cells)))
    assert {(cell.framing, cell.corruption) for cell in cells} >= {
        ("hdlc", "splice"),
        ("mbus", "collision"),
        ("apdu", "bitflip"),
        ("wrapper", "splice"),
        ("mbus+enc", "collision"),
        ("hdlc+gcm", "bitflip"),
    }
    # Corruption does make telegrams with other values on unauthenticated lines...
    assert sum(cell.decoded_wrong for cell in cells if cell.framing in ("apdu", "wrapper", "mbus")) > 0
    for cell in cells:
        # ...but no total under a code the meter never sent, and no made-up total beyond what the
        # installation can draw between two telegrams, reaches an entity or a statistic.
        assert cell.reached["misnamed"] == 0, cell
        assert cell.largest_made_up <= ONE_INTERVAL_WH, cell
        if cell.framing in ("hdlc", "hdlc+gcm"):
            # A check sequence or a tag on every frame: nothing wrong gets through at all.
            assert sum(cell.reached.values()) == 0, cell
        if cell.framing == "hdlc+gcm":
            assert cell.decoded_wrong == 0, cell
