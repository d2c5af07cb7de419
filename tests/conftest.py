"""Shared fixtures.

The integration package is imported first so Home Assistant's loader finds this repository's
custom_components and not the plugin's own testing_config.
"""

import custom_components.dlms_cosem  # noqa: F401  # isort: skip

import pytest

from tests.hypothesis_profiles import load_profile

load_profile()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let every test load custom integrations."""


# Every test's logs (the integration at DEBUG), output and diagnostics are scanned for keys and passwords.
from tests.secret_scan import (  # noqa: E402, F401
    pytest_runtest_makereport,
    pytest_terminal_summary,
    secret_scan,
)
