"""Home Assistant finds and loads this repository's integration (setup and unload: test_coordinator.py)."""

import os
import subprocess
import sys
from pathlib import Path

from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

from custom_components.dlms_cosem.const import DOMAIN


async def test_runs_on_a_supported_home_assistant() -> None:
    """2026.10.x: the current release, or 2026.10.0 (hacs.json's minimum) in CI's second run."""
    assert ha_version.startswith("2026.10.")


async def test_loader_finds_this_repository(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.is_built_in is False
    assert integration.config_flow is True
    assert str(integration.file_path).endswith("custom_components/dlms_cosem")
    assert integration.version is not None


def test_loading_the_integration_imports_no_client_simulator_or_cli_code() -> None:
    """What Home Assistant imports at start (setup, sensors, config flow) leaves the client for later.

    A push meter never needs the client; a polled one loads it when its coordinator sets up. Run in
    a fresh interpreter, since the test session has imported everything already.
    """
    root = Path(__file__).resolve().parent.parent
    modules = ["", ".sensor", ".config_flow", ".diagnostics", ".repairs"]
    code = (
        "import sys\n"
        + "".join(f"import custom_components.dlms_cosem{module}\n" for module in modules)
        + "prefix = 'custom_components.dlms_cosem.dlms.'\n"
        "print(' '.join(name[len(prefix):] for name in sys.modules if name.startswith(prefix)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, env=os.environ
    )
    loaded = result.stdout.split()
    assert "listener" in loaded
    assert not [name for name in loaded if name.split(".")[0] in ("client", "simulator", "cli")], loaded


def test_load_client_imports_all_a_polled_connection_loads_later() -> None:
    """After ``load_client`` (run in the import executor), no import is left for the event loop.

    The client's package exports, the transports' and the APDU decoders imported on first use all
    come from modules it loaded, so the polled coordinator and the probe import nothing in the loop.
    """
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from custom_components.dlms_cosem import connection, sensor, config_flow\n"
        "from custom_components.dlms_cosem.dlms import apdu, client, transport\n"
        "from custom_components.dlms_cosem.dlms.apdu import decode\n"
        "connection.load_client()\n"
        "wanted = [f'{client.__name__}.{m}' for m in client._EXPORTS.values()]\n"
        "wanted += [f'{transport.__name__}.{m}' for m in transport._EXPORTS.values()]\n"
        "wanted += [f'{apdu.__name__}.{m}' for m in apdu._EXPORTS.values()]\n"
        "wanted += [f'{apdu.__name__}.{m}' for m, _ in decode._LAZY_DECODERS.values()]\n"
        "print(' '.join(sorted({m for m in wanted if m not in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, env=os.environ
    )
    assert result.stdout.split() == []
