"""strings.json and the translations agree with each other, with the code and with hassfest's rules."""

import json
import re
from pathlib import Path
from typing import Any

import homeassistant
import pytest
import yaml

from custom_components.dlms_cosem.billing import BILLING_KEY
from custom_components.dlms_cosem.control_sensors import (
    CLOCK_DRIFT,
    CONTROL_SENSOR_KEYS,
    DISCONNECTOR_CONTROL_STATE,
    DISCONNECTOR_OUTPUT,
)
from custom_components.dlms_cosem.history import PROGRESS_KEY
from custom_components.dlms_cosem.meter_values import VALUE_TYPES
from custom_components.dlms_cosem.obis_catalog import CATALOG_TRANSLATION_KEYS
from custom_components.dlms_cosem.sensor import LINK_SENSORS

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "dlms_cosem"
LANGUAGES = ("en", "de", "nl", "nb", "sv", "fr")
REFERENCE = re.compile(r"^\[%key:([^%]+)%\]$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# hassfest: translation keys are lower case, digits, "-" and "_", not at either end.
TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def flatten(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    flat: dict[tuple[str, ...], str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, (*prefix, key)))
        else:
            assert isinstance(value, str), (*prefix, key)
            flat[(*prefix, key)] = value
    return flat


STRINGS = load(INTEGRATION / "strings.json")
TRANSLATIONS = {language: load(INTEGRATION / "translations" / f"{language}.json") for language in LANGUAGES}
HA_STRINGS = load(Path(homeassistant.__file__).parent / "strings.json")


def resolve(value: str) -> str:
    """Follow a [%key:...%] reference the way Home Assistant's translation build does."""
    match = REFERENCE.match(value)
    if match is None:
        return value
    path = match.group(1).split("::")
    if path[0] == "component":
        assert path[1] == "dlms_cosem", f"reference to another integration: {value}"
        node: Any = STRINGS
        path = path[2:]
    else:
        node = HA_STRINGS
    for part in path:
        node = node[part]
    assert isinstance(node, str), value
    return resolve(node)


def test_the_shipped_languages() -> None:
    shipped = {path.stem for path in (INTEGRATION / "translations").glob("*.json")}
    assert shipped == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_has_exactly_the_keys_of_strings(language: str) -> None:
    assert set(flatten(TRANSLATIONS[language])) == set(flatten(STRINGS))


def test_english_is_strings_with_references_resolved() -> None:
    expected = {key: resolve(value) for key, value in flatten(STRINGS).items()}
    assert flatten(TRANSLATIONS["en"]) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_the_english_ones(language: str) -> None:
    english = flatten(TRANSLATIONS["en"])
    for key, value in flatten(TRANSLATIONS[language]).items():
        assert set(PLACEHOLDER.findall(value)) == set(PLACEHOLDER.findall(english[key])), (language, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_values_are_finished_text(language: str) -> None:
    for key, value in flatten(TRANSLATIONS[language]).items():
        assert value, (language, key)
        assert value == value.strip(), (language, key)
        assert "[%key:" not in value, (language, key)
        assert "<" not in value, (language, key)
        assert not re.search(r"'\{\w+\}'", value), (language, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_differ_from_english(language: str) -> None:
    if language == "en":
        return
    english = flatten(TRANSLATIONS["en"])
    names = {key: value for key, value in flatten(TRANSLATIONS[language]).items() if key[0] == "entity"}
    translated = [key for key, value in names.items() if value != english[key]]
    # Only the code-like names ("OBIS {obis}", the invocation counter) may stay as they are.
    assert len(translated) >= len(names) - 2, language


def test_every_catalog_and_link_key_has_a_name() -> None:
    names = STRINGS["entity"]["sensor"]
    link_keys = {description.translation_key for description in LINK_SENSORS}
    assert set(names) == CATALOG_TRANSLATION_KEYS | link_keys | CONTROL_SENSOR_KEYS | {
        PROGRESS_KEY,
        BILLING_KEY,
    }
    for key in names:
        assert TRANSLATION_KEY.match(key), key
        if key not in CONTROL_SENSOR_KEYS:
            assert set(names[key]) == {"name"}


def test_control_entities_name_their_states() -> None:
    names = STRINGS["entity"]["sensor"]
    assert set(names[str(CLOCK_DRIFT.translation_key)]) == {"name"}
    for description in (DISCONNECTOR_OUTPUT, DISCONNECTOR_CONTROL_STATE):
        key = str(description.translation_key)
        assert set(names[key]) == {"name", "state"}, key
        assert set(names[key]["state"]) == set(description.options or []), key
        for state in names[key]["state"]:
            assert TRANSLATION_KEY.match(state), state
    assert set(STRINGS["entity"]["switch"]) == {"disconnector"}
    assert "(" in STRINGS["entity"]["switch"]["disconnector"]["name"], "the name asks for confirmation"


def test_the_actions_are_described_as_services_yaml_lists_them() -> None:
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    assert set(services) == {"read", "set_clock", "write", "execute"}
    assert set(STRINGS["services"]) == set(services)
    for name, spec in services.items():
        described = STRINGS["services"][name]
        assert described["name"], name
        assert described["description"], name
        assert set(described["fields"]) == set(spec["fields"]), name
        for field in described["fields"].values():
            assert set(field) == {"name", "description"}, name
        for field in spec["fields"].values():
            options = field["selector"].get("select", {}).get("options")
            if options is not None:
                assert options == list(VALUE_TYPES), name
    assert set(STRINGS["selector"]["value_type"]["options"]) == set(VALUE_TYPES)


def test_entity_name_placeholders_match_the_catalog() -> None:
    names = STRINGS["entity"]["sensor"]
    assert PLACEHOLDER.findall(names["energy_import_tariff"]["name"]) == ["tariff"]
    assert PLACEHOLDER.findall(names["energy_export_tariff"]["name"]) == ["tariff"]
    assert PLACEHOLDER.findall(names["reactive_energy_import_tariff"]["name"]) == ["tariff"]
    assert PLACEHOLDER.findall(names["reactive_energy_export_tariff"]["name"]) == ["tariff"]
    for key in (
        "power_import_phase",
        "power_export_phase",
        "voltage_phase",
        "current_phase",
        "power_factor_phase",
    ):
        assert PLACEHOLDER.findall(names[key]["name"]) == ["phase"], key
    assert PLACEHOLDER.findall(names["obis_generic"]["name"]) == ["obis"]
    assert PLACEHOLDER.findall(names["push_value"]["name"]) == ["position", "count"]
    for key in (
        "event_counter",
        "event_code",
        "error_register",
        "alarm_register",
        "meter_invocation_counter",
    ):
        assert PLACEHOLDER.findall(names[key]["name"]) == ["number"], key
    assert sorted(PLACEHOLDER.findall(names["billing_value"]["name"])) == ["obis", "period"]
    unplaced = CATALOG_TRANSLATION_KEYS - {
        "energy_import_tariff",
        "energy_export_tariff",
        "reactive_energy_import_tariff",
        "reactive_energy_export_tariff",
        "meter_invocation_counter",
        "power_import_phase",
        "power_export_phase",
        "voltage_phase",
        "current_phase",
        "power_factor_phase",
        "obis_generic",
        "push_value",
        "event_counter",
        "event_code",
        "error_register",
        "alarm_register",
    }
    for key in unplaced:
        assert not PLACEHOLDER.findall(names[key]["name"]), key


def test_icons_name_known_entities() -> None:
    icons = load(INTEGRATION / "icons.json")
    assert set(icons) == {"entity", "services"}
    sensor_icons = icons["entity"]["sensor"]
    assert set(sensor_icons) <= set(STRINGS["entity"]["sensor"])
    for key, icon in sensor_icons.items():
        assert set(icon) <= {"default", "state"}, key
        assert icon["default"].startswith("mdi:"), key
        # An enum sensor's icon follows its state: every state named is one of its states.
        states = icon.get("state", {})
        assert set(states) <= set(STRINGS["entity"]["sensor"][key].get("state", {})), key
        assert all(value.startswith("mdi:") for value in states.values()), key
    # Identifiers and link health have no device class to give them an icon; nor have the disconnector's
    # enum sensors and unnamed values (the default would be an eye).
    assert {"serial_number", "list_identifier", "frames", "decryption_failures"} <= set(sensor_icons)
    assert {"disconnector_output", "disconnector_control_state", "push_value", "obis_generic"} <= set(
        sensor_icons
    )
    assert set(sensor_icons["disconnector_output"]["state"]) == {"connected", "disconnected"}


def test_every_action_has_an_icon() -> None:
    """hassfest's icons schema: each action of services.yaml has its icon, and no icon names another."""
    icons = load(INTEGRATION / "icons.json")["services"]
    actions = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    assert set(icons) == set(actions)
    for action, icon in icons.items():
        assert set(icon) == {"service"}, action
        assert re.fullmatch(r"mdi:[a-z0-9-]+", icon["service"]), action


def _steps() -> list[dict[str, Any]]:
    steps = list(STRINGS["config"]["step"].values()) + list(STRINGS["options"]["step"].values())
    steps += [
        step
        for issue in STRINGS["issues"].values()
        for step in issue.get("fix_flow", {}).get("step", {}).values()
    ]
    return steps


def test_data_descriptions_describe_fields() -> None:
    for step in _steps():
        assert set(step.get("data_description", {})) <= set(step.get("data", {}))
        for section in step.get("sections", {}).values():
            assert set(section.get("data_description", {})) <= set(section["data"])


def test_selector_options_are_translation_keys() -> None:
    for selector in STRINGS["selector"].values():
        for option in selector["options"]:
            assert TRANSLATION_KEY.match(option), option


def test_issues_have_a_title_and_either_a_description_or_a_fix_flow() -> None:
    for issue in STRINGS["issues"].values():
        assert "title" in issue
        assert ("description" in issue) != ("fix_flow" in issue)


def test_the_keys_the_flows_use() -> None:
    config = STRINGS["config"]
    assert set(config["step"]) == {
        "user",
        "serial",
        "serial_manual",
        "network",
        "udp",
        "mqtt_topic",
        "security",
        "wait_telegram",
        "objects",
        "reconfigure",
        "reauth_confirm",
    }
    assert set(config["step"]["user"]["menu_options"]) == {
        "serial_poll",
        "network_poll",
        "udp_poll",
        "serial_push",
        "network_push",
        "mqtt_push",
    }
    assert set(config["step"]["serial"]["data"]) == {"port", "baudrate", "parity"}
    assert set(config["step"]["network"]["data"]) == {"host", "port", "hdlc"}
    assert set(config["step"]["udp"]["data"]) == {"host", "port"}
    assert set(config["step"]["mqtt_topic"]["data"]) == {"topic", "payload"}
    assert set(config["step"]["udp"]["sections"]["advanced"]["data"]) == {
        "client_address",
        "server_logical_address",
    }
    advanced = {
        "client_address",
        "server_logical_address",
        "server_physical_address",
        "address_size",
        "negotiate_hdlc",
    }
    for step in ("serial", "network", "reconfigure"):
        assert set(config["step"][step]["sections"]["advanced"]["data"]) == advanced
    assert set(config["step"]["serial_manual"]["data"]) == {"port"}
    keys = {"password", "security_suite", "encryption_key", "authentication_key"}
    assert set(config["step"]["security"]["data"]) == {"authentication"} | keys
    assert set(config["step"]["reauth_confirm"]["data"]) == keys
    assert set(config["step"]["objects"]["data"]) == {"objects"}
    assert (
        set(config["step"]["reconfigure"]["data"])
        == {
            "port",
            "baudrate",
            "parity",
            "host",
            "hdlc",
            "topic",
            "payload",
            "authentication",
        }
        | keys
    )
    assert set(config["progress"]) == {"wait_telegram"}
    assert PLACEHOLDER.findall(config["progress"]["wait_telegram"]) == ["timeout"]
    assert set(config["error"]) == {
        "cannot_open_port",
        "cannot_connect",
        "no_data",
        "no_valid_frame",
        "no_valid_frame_network",
        "mqtt_not_set_up",
        "invalid_topic",
        "no_data_mqtt",
        "no_valid_frame_mqtt",
        "no_objects",
        "wrong_key",
        "wrong_encryption_key",
        "wrong_key_tag_unchecked",
        "missing_key",
        "not_authenticated",
        "association_rejected",
        "authentication_failed",
        "timeout",
        "invalid_key",
        "key_length_suite",
        "connection_closed",
        "protocol_error",
        "communication_failed",
        "invalid_response",
        "access_denied",
        "meter_refused",
        "security_failed",
        "meter_error",
        "cannot_encode",
        "unknown",
    }
    assert set(config["abort"]) == {
        "already_configured",
        "reconfigure_successful",
        "reauth_successful",
        "unique_id_mismatch",
    }
    assert set(STRINGS["options"]["step"]["init"]["data"]) == {
        "scan_interval",
        "objects",
        "push_timeout",
        "update_interval",
        "plausibility_guard",
        "allow_changes",
        "history",
        "history_days",
        "history_profile",
    }
    assert set(STRINGS["selector"]["authentication"]["options"]) == {"none", "lls", "hls_gmac"}
    assert set(STRINGS["selector"]["parity"]["options"]) == {"n", "e"}
    assert set(STRINGS["selector"]["payload"]["options"]) == {"auto", "raw", "hex"}
    assert set(STRINGS["selector"]["security_suite"]["options"]) == {"0", "1", "2"}
    assert set(STRINGS["issues"]) == {
        "decryption_failed",
        "key_suite_mismatch",
        "disconnector_refused",
        "replayed_telegrams",
        "values_disputed",
    }
    for issue in STRINGS["issues"].values():
        assert PLACEHOLDER.findall(issue["title"]) == ["meter"]
    for name in ("decryption_failed", "key_suite_mismatch"):
        issue = STRINGS["issues"][name]
        assert set(issue["fix_flow"]["step"]) == {"confirm"}
        assert not PLACEHOLDER.findall(issue["fix_flow"]["step"]["confirm"]["description"])
    replayed = STRINGS["issues"]["replayed_telegrams"]["fix_flow"]["step"]["confirm"]["description"]
    assert set(PLACEHOLDER.findall(replayed)) == {"meter", "count", "received", "stored"}
    disputed = STRINGS["issues"]["values_disputed"]["fix_flow"]["step"]["confirm"]["description"]
    assert set(PLACEHOLDER.findall(disputed)) == {"registers"}
    refused = STRINGS["issues"]["disconnector_refused"]["description"]
    assert set(PLACEHOLDER.findall(refused)) == {"action", "error"}
