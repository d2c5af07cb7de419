"""scripts/develop: a clean start, a log per run, and the entities the README promises (over REST)."""

from pathlib import Path

import pytest

from scripts.dev_server import CONFIG, DevStack, free_port, request

pytestmark = pytest.mark.timeout(300)
# The suite on the oldest Home Assistant (requirements_test_min.txt) has no frontend: no scripts/develop.
pytest.importorskip("hass_frontend", reason="scripts/develop needs home-assistant-frontend")


@pytest.mark.usefixtures("socket_enabled")
def test_a_fresh_start_logs_no_error_and_shows_the_polled_meters_firmware(tmp_path: Path) -> None:
    config = tmp_path / "config"  # as `scripts/develop --config DIR` gets it: empty
    config.mkdir()
    log = config / "develop.log"
    log.write_text("the previous run\n", encoding="utf-8")
    stack = DevStack(config=config, port=free_port(), log=log)
    try:
        stack.start_meters()
        stack.start_home_assistant()
        stack.wait_until_serving()
        token = stack.onboard()
        stack.wait_until_running(token)
        assert len(stack.add_meters(token)) >= 2  # the polled and the pushing meter, at least
        assert stack.wait_for_values(token) == []
        states = request(stack.url, "GET", "/api/states", token=token)
        components = request(stack.url, "GET", "/api/config", token=token)["components"]
    finally:
        stack.stop()

    # The polled meter has firmware identifiers and an image transfer: its update entity is there.
    firmware = [state for state in states if state["entity_id"].startswith("update.dlms_cosem")]
    assert len(firmware) == 1, firmware
    assert firmware[0]["state"] == "off"
    assert firmware[0]["attributes"]["installed_version"] == "SIM-FW-1.0.0"
    assert firmware[0]["attributes"]["device_class"] == "firmware"

    # The repository's configuration, not Home Assistant's default one (default_config, discovery).
    assert (config / "configuration.yaml").read_text(encoding="utf-8") == (
        CONFIG / "configuration.yaml"
    ).read_text(encoding="utf-8")
    assert "default_config" not in components
    assert "dhcp" not in components

    # This run's log alone, the previous run's kept beside it; no error, no traceback.
    assert (config / "develop.log.1").read_text(encoding="utf-8") == "the previous run\n"
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "the previous run" not in text
    assert "Traceback" not in text, text
    assert [line for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line] == []
