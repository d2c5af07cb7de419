"""The browser walkthrough runs without pytest-homeassistant-custom-component (scripts/e2e).

It talks to a real Home Assistant in its own process, so the plugin's in-process fixtures (and the
suite's autouse fixture that needs them) have nothing to do here.
"""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Overrides the suite's fixture: the Home Assistant under test loads config/custom_components."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each phase's report on the test item: the page fixture screenshots a failed test."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report
