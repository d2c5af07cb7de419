"""Home Assistant finds and loads this repository's integration (setup and unload: test_coordinator.py)."""

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
