"""Hypothesis profiles shared by the full suite (tests/conftest.py) and the stack's own run (tests/dlms)."""

from __future__ import annotations

import os

from hypothesis import settings


def load_profile() -> None:
    """Fixed draws unless HYPOTHESIS_PROFILE=explore: CI must not turn red on a new draw.

    The fuzz scripts set ``explore`` to draw new examples on long runs.
    """
    settings.register_profile("fixed", derandomize=True, database=None)
    settings.register_profile("explore")
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))
