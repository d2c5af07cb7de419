"""Shared fixtures.

The integration package is imported first so Home Assistant's loader finds this repository's
custom_components and not the plugin's own testing_config.
"""

import custom_components.dlms_cosem  # noqa: F401  # isort: skip

import os

import pytest
from hypothesis import settings

# Property tests run the same examples on every run (CI must not turn red on a draw); set
# HYPOTHESIS_PROFILE=explore to draw new ones, as the fuzz scripts do for long runs.
settings.register_profile("fixed", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let every test load custom integrations."""


# Every test's logs (the integration at DEBUG), output and diagnostics are scanned for keys and passwords.
from tests.secret_scan import (  # noqa: E402, F401
    pytest_runtest_makereport,
    pytest_terminal_summary,
    secret_scan,
)
