"""These tests start a real Home Assistant in its own process (scripts/dev_server.py).

The plugin's in-process fixtures (and the suite's autouse fixture that needs them) have nothing to do
here, as in tests/e2e.
"""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Overrides the suite's fixture: the Home Assistant under test loads config/custom_components."""
