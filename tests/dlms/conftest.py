"""The stack's tests need no Home Assistant instance, and may use real sockets on 127.0.0.1."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the package-wide fixture: stack tests run without Home Assistant."""


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Real TCP sockets on 127.0.0.1 (the Home Assistant plugin blocks sockets by default)."""
