"""Exports loaded on first use pass Home Assistant's check for imports in the event loop.

Home Assistant logs "Detected blocking call to import_module ... inside the event loop" unless the
module asked for is already in sys.modules; the integration loads the client in the import executor
first (connection.load_client), so the lazy exports must then ask for it by the name sys.modules uses.
"""

import importlib
import sys
from typing import Any

import pytest
from homeassistant import block_async_io

from custom_components.dlms_cosem.connection import load_client

LAZY_EXPORTS = importlib.import_module("custom_components.dlms_cosem.dlms.lazy_exports")


def test_exports_of_a_loaded_client_import_nothing_new(monkeypatch: pytest.MonkeyPatch) -> None:
    load_client()
    client_package = sys.modules["custom_components.dlms_cosem.dlms.client"]
    calls: list[str] = []

    def recording(name: str, package: str | None = None) -> Any:
        calls.append(name)
        return importlib.import_module(name, package)

    monkeypatch.setattr(LAZY_EXPORTS, "import_module", recording)
    monkeypatch.delitem(vars(client_package), "DlmsClient", raising=False)
    from custom_components.dlms_cosem.dlms.client import DlmsClient

    assert DlmsClient.__module__ == "custom_components.dlms_cosem.dlms.client.client"
    assert calls == ["custom_components.dlms_cosem.dlms.client.client"]
    assert all(block_async_io._check_import_call_allowed({"args": (name,)}) for name in calls)
