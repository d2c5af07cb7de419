"""Home Assistant loads, sets up and unloads the integration."""

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.loader import async_get_integration
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dlms_cosem.const import DOMAIN


async def test_runs_on_the_targeted_home_assistant() -> None:
    assert ha_version.startswith("2026.10.")


async def test_loader_finds_this_repository(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.is_built_in is False
    assert integration.config_flow is True
    assert str(integration.file_path).endswith("custom_components/dlms_cosem")
    assert integration.version is not None


async def test_setup_and_unload_entry(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Meter", data={})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_user_flow_creates_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": "Kitchen meter"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Kitchen meter"
