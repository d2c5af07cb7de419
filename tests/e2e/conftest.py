"""The browser walkthrough runs without pytest-homeassistant-custom-component (scripts/e2e).

It talks to a real Home Assistant in its own process, so the plugin's in-process fixtures (and the
suite's autouse fixture that needs them) have nothing to do here.

The walkthrough's screenshots go to docs/screenshots/ (committed, shown in the README); with
DLMS_COSEM_SCREENSHOTS set they go to that directory instead: scripts/e2e sets it when the walkthrough runs
on another Home Assistant than requirements_test.txt's, so a run on the newest release leaves the
committed screenshots alone.
"""

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Overrides the suite's fixture: the Home Assistant under test loads config/custom_components."""


@pytest.fixture(autouse=True)
def screenshot_directory(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """DLMS_COSEM_SCREENSHOTS, when set, replaces the test module's SCREENSHOTS directory."""
    directory = os.environ.get("DLMS_COSEM_SCREENSHOTS")
    if directory and hasattr(request.module, "SCREENSHOTS"):
        path = Path(directory).resolve()
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setattr(request.module, "SCREENSHOTS", path)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each phase's report on the test item: the page fixture screenshots a failed test."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report
