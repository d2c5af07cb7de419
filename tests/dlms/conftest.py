"""The stack's tests need no Home Assistant instance, and may use real sockets on 127.0.0.1.

They run in two environments (tests/dlms/stack.py): Home Assistant's, where tests/conftest.py has
already imported the integration, and a venv with only the installed ``dlms-cosem-stack`` distribution
(scripts/test-stack, with ``--confcutdir tests/dlms`` so tests/conftest.py and its Home Assistant plugin
stay out). In the second, ``custom_components.dlms_cosem.dlms`` and each of its modules are made to name
the installed ``dlms_cosem_stack`` modules themselves (one module object under two names, so classes and
isinstance checks agree), and the integration's ``__init__`` is never run: the tests then exercise
exactly what ``pip install .`` installed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types
from pathlib import Path

import pytest

from tests.dlms.stack import INSTALLED, PACKAGE

ROOT = Path(__file__).resolve().parents[2]
_SOURCE_NAME = "custom_components.dlms_cosem.dlms"


def _alias_installed_stack() -> Path:
    """Point ``custom_components.dlms_cosem.dlms[.*]`` at the installed package; where it is installed."""
    try:
        stack = importlib.import_module(PACKAGE)
    except ModuleNotFoundError as err:  # pragma: no cover - a setup mistake, said plainly
        raise pytest.UsageError(
            "no Home Assistant here, and dlms_cosem_stack is not installed: run `pip install .` first"
        ) from err
    location = Path(stack.__file__ or "").resolve().parent
    if location.is_relative_to(ROOT / "custom_components"):  # pragma: no cover - a setup mistake
        raise pytest.UsageError(f"dlms_cosem_stack is imported from the checkout ({location}), not installed")
    # The parents are plain packages over the checkout's folders (positions.py, a pure module of the
    # integration, is used by two push tests); their __init__ files, which import Home Assistant, never run.
    components = types.ModuleType("custom_components")
    components.__path__ = [str(ROOT / "custom_components")]
    integration = types.ModuleType("custom_components.dlms_cosem")
    integration.__path__ = [str(ROOT / "custom_components" / "dlms_cosem")]
    components.dlms_cosem = integration  # type: ignore[attr-defined]
    integration.dlms = stack  # type: ignore[attr-defined]
    sys.modules["custom_components"] = components
    sys.modules["custom_components.dlms_cosem"] = integration
    sys.modules[_SOURCE_NAME] = stack
    for module in pkgutil.walk_packages(stack.__path__, prefix=f"{PACKAGE}."):
        if module.name.endswith(".__main__"):
            continue
        sys.modules[_SOURCE_NAME + module.name[len(PACKAGE) :]] = importlib.import_module(module.name)
    return location


if INSTALLED:
    from tests.hypothesis_profiles import load_profile

    load_profile()
    _INSTALLED_AT = _alias_installed_stack()

    @pytest.fixture
    def socket_enabled() -> None:
        """Without Home Assistant's test plugin nothing blocks sockets: tests that ask for them get them."""

    def pytest_report_header() -> str:
        """Say which stack ran: the installed one, and where."""
        return f"stack under test: {PACKAGE} installed at {_INSTALLED_AT} (no Home Assistant)"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the package-wide fixture: stack tests run without Home Assistant."""


@pytest.fixture(autouse=True)
def allow_loopback_sockets(request: pytest.FixtureRequest) -> None:
    """Real TCP sockets on 127.0.0.1 (the Home Assistant plugin blocks sockets by default).

    Without Home Assistant's test plugin there is no socket blocker, and no ``socket_enabled`` fixture.
    """
    if not INSTALLED:
        request.getfixturevalue("socket_enabled")
