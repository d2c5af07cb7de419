"""What hassfest and HACS check before they accept the integration, checked here on every run.

hassfest (Home Assistant's manifest validator) and the HACS action do not run offline; these tests apply
their rules that concern this repository: manifest keys, order and values, declared dependencies for
every Home Assistant integration the code imports, pinned requirements, hacs.json, and the brand images.
Translations are checked in test_translations.py.
"""

import ast
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import homeassistant
import pytest
import yaml
from awesomeversion import AwesomeVersion
from homeassistant.const import Platform
from homeassistant.const import __version__ as ha_version
from PIL import Image

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "dlms_cosem"
MANIFEST: dict[str, Any] = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
HACS: dict[str, Any] = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
HA_COMPONENTS = Path(homeassistant.__file__).parent / "components"

# hassfest's manifest schema for custom integrations (script/hassfest/manifest.py).
MANIFEST_KEYS = {
    "domain",
    "name",
    "after_dependencies",
    "bluetooth",
    "codeowners",
    "config_flow",
    "dependencies",
    "dhcp",
    "disabled",
    "documentation",
    "homekit",
    "import_executor",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "loggers",
    "mqtt",
    "quality_scale",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "version",
    "zeroconf",
}
IOT_CLASSES = {
    "assumed_state",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
    "calculated",
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
# hassfest lets any integration use entity platforms and these internal integrations without declaring
# them (script/hassfest/dependencies.py); everything else needs dependencies or after_dependencies.
INTERNAL_COMPONENTS = {"diagnostics", "repairs", "homeassistant", "persistent_notification", "system_health"}
# HACS's hacs.json schema (integration repositories).
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)")


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def imported_components() -> set[str]:
    """Every homeassistant.components.X the integration imports, at the top or inside functions."""
    found: set[str] = set()
    for path in INTEGRATION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[:2] == ["homeassistant", "components"]:
                    if len(parts) > 2:
                        found.add(parts[2])
                    else:
                        found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[:2] == ["homeassistant", "components"] and len(parts) > 2:
                        found.add(parts[2])
    return found


def test_manifest_starts_with_domain_and_name_then_is_sorted() -> None:
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_has_only_known_keys_and_what_custom_integrations_need() -> None:
    assert set(MANIFEST) <= MANIFEST_KEYS
    for key in ("domain", "name", "codeowners", "documentation", "issue_tracker", "version"):
        assert MANIFEST.get(key), key
    assert MANIFEST["domain"] == INTEGRATION.name
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST["integration_type"] in INTEGRATION_TYPES
    assert MANIFEST["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()
    assert AwesomeVersion(MANIFEST["version"]).valid
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert all(url.startswith("https://") for url in (MANIFEST["documentation"], MANIFEST["issue_tracker"]))
    assert MANIFEST["loggers"] == [f"custom_components.{MANIFEST['domain']}"]


def test_every_imported_component_is_declared() -> None:
    declared = set(MANIFEST.get("dependencies", [])) | set(MANIFEST.get("after_dependencies", []))
    allowed = declared | {platform.value for platform in Platform} | INTERNAL_COMPONENTS
    imported = imported_components()
    assert imported, "the scan found no import at all"
    assert "sensor" in imported
    assert "usb" in imported  # imported inside a function: the scan must see those too
    assert imported <= allowed, imported - allowed
    for domain in declared:
        assert (HA_COMPONENTS / domain / "manifest.json").is_file(), domain
    assert not set(MANIFEST.get("dependencies", [])) & set(MANIFEST.get("after_dependencies", []))


@pytest.mark.parametrize("requirements", ["requirements_test.txt", "requirements_test_min.txt"])
def test_requirements_are_pinned_and_the_test_environments_use_them(requirements: str) -> None:
    tested = pins(ROOT / requirements)
    for requirement in MANIFEST["requirements"]:
        match = PIN.match(requirement)
        assert match, f"{requirement} is not pinned with =="
        name = match.group(1).lower().replace("_", "-")
        assert tested.get(name) == match.group(2), (requirements, requirement)


def test_packages_for_scripts_develop_are_the_ones_home_assistant_asks_for() -> None:
    """Home Assistant runs with --skip-pip there: what it needs must be in the venv, at its versions.

    Only requirements_test.txt (the current Home Assistant) carries them; the suite on the oldest one
    (requirements_test_min.txt) runs neither scripts/develop nor the browser walkthrough.
    """
    try:
        metadata.version("home-assistant-frontend")
    except metadata.PackageNotFoundError:
        assert "home-assistant-frontend" not in pins(ROOT / "requirements_test_min.txt")
        assert "home-assistant-frontend" in pins(ROOT / "requirements_test.txt")
        return
    wanted: dict[str, str] = {}
    for manifest in HA_COMPONENTS.glob("*/manifest.json"):
        for requirement in json.loads(manifest.read_text(encoding="utf-8")).get("requirements", []):
            match = PIN.match(requirement)
            if match:
                wanted[match.group(1).lower().replace("_", "-")] = match.group(2)
    pinned = pins(ROOT / "requirements_test.txt")
    for name in ("home-assistant-frontend", "hassil", "pymicro-vad", "pyturbojpeg"):
        assert name in pinned, name
    for name, version in pinned.items():
        if name in wanted:
            assert version == wanted[name], (name, version, wanted[name])


def test_hacs_json() -> None:
    assert set(HACS) <= HACS_KEYS
    assert HACS["name"] == MANIFEST["name"]
    assert isinstance(HACS.get("render_readme", False), bool)
    minimum = AwesomeVersion(HACS["homeassistant"])
    assert minimum.valid
    # The oldest Home Assistant hacs.json promises is the one CI tests (requirements_test_min.txt).
    oldest = (ROOT / "requirements_test_min.txt").read_text(encoding="utf-8")
    assert f"oldest Home Assistant this integration supports (hacs.json): {HACS['homeassistant']}" in oldest
    assert AwesomeVersion(ha_version) >= minimum
    # HACS: one integration in custom_components/, and a README to render.
    assert [path.name for path in (ROOT / "custom_components").iterdir() if path.is_dir()] == ["dlms_cosem"]
    assert (ROOT / "README.md").is_file()


def test_a_license_hacs_accepts_and_the_readme_names_it() -> None:
    """HACS fails a repository without a license; the README says which one and why it fits."""
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in license_text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## License" in readme
    assert "Apache License 2.0 (`LICENSE`)" in readme


@pytest.mark.parametrize(
    ("name", "size"), [("icon.png", (256, 256)), ("icon@2x.png", (512, 512)), ("logo.png", None)]
)
def test_brand_images(name: str, size: tuple[int, int] | None) -> None:
    with Image.open(INTEGRATION / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"  # transparent background, as the brands rules ask
        corner = image.getpixel((0, 0))
        assert isinstance(corner, tuple)
        assert corner[3] == 0
        if size is not None:
            assert image.size == size
        else:
            # A logo is landscape with its shortest side between 128 and 256 pixels.
            assert image.width > image.height
            assert 128 <= image.height <= 256
    names = {path.name for path in (INTEGRATION / "brand").iterdir()}
    assert names == {"icon.png", "icon@2x.png", "logo.png"}


def test_the_readme_shows_every_walkthrough_screenshot() -> None:
    """The screenshots scripts/e2e takes are all in the repository and all shown (none stale)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\(docs/screenshots/([\w.-]+\.png)\)", readme))
    walkthrough = (ROOT / "tests" / "e2e" / "test_walkthrough.py").read_text(encoding="utf-8")
    taken = {f"{name}.png" for name in re.findall(r'shot\(page, "([\w-]+)"\)', walkthrough)}
    stored = {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert len(taken) >= 8
    assert stored == taken
    assert shown <= taken
    assert taken - shown <= {"01-login.png", "08-created.png", "10-energy-grid.png"}


def test_every_quality_scale_claim_names_what_shows_it() -> None:
    """A rule marked done names a test that exists, a README section that exists, or the checks."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE))
    lines = (INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8").splitlines()
    done = [line for line in lines if re.match(r"^  [a-z-]+: done\b", line)]
    assert len(done) >= 40
    named_tests = 0
    for line in done:
        comment = line.partition("#")[2].strip()
        assert comment, f"no evidence named: {line.strip()}"
        for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", comment):
            source = (ROOT / path).read_text(encoding="utf-8")
            assert re.search(rf"^(async )?def {name}\(", source, flags=re.MULTILINE), (path, name)
            named_tests += 1
        for section in re.findall(r'"([^"]+)"', comment):
            assert section in sections, (line.strip(), section)
    assert named_tests >= 30


def test_no_quality_scale_rule_is_left_to_do() -> None:
    """Every rule of hassfest's quality scale is done, or exempt with the reason why."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    assert len(rules) >= 50
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "exempt"}, name
        if status == "exempt":
            assert rule["comment"].strip(), name
