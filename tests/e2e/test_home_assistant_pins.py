"""Home Assistant's own pins, checked on the Home Assistant the browser walkthrough runs on (scripts/e2e).

scripts/e2e runs on the current Home Assistant and on the newest release (requirements_e2e_newest.txt), where
the unit suite cannot run (the test plugin does not support it yet). The walkthrough's Home Assistant runs
with --skip-pip, so these checks stand in for what it skips: that this release's package_constraints.txt lets
it install the integration's requirements, and that the venv's requirements file pins what this release pins.
"""

import json
import os

import pytest
from homeassistant.const import __version__ as ha_version

from tests import test_manifest

pytestmark = pytest.mark.e2e


def test_home_assistant_can_install_the_requirements() -> None:
    test_manifest.test_home_assistant_can_install_the_requirements()


def test_the_requirements_file_pins_what_this_home_assistant_pins() -> None:
    """The venv's requirements file (DLMS_COSEM_REQUIREMENTS) pins the versions this release asks for."""
    requirements = os.environ.get("DLMS_COSEM_REQUIREMENTS", "requirements_test.txt")
    pinned = test_manifest.pins(test_manifest.ROOT / requirements)
    for name in ("home-assistant-frontend", "hassil", "pymicro-vad", "pyturbojpeg"):
        assert name in pinned, (requirements, name)
    if "homeassistant" in pinned:
        assert pinned["homeassistant"] == ha_version, requirements
    wanted: dict[str, set[str]] = {}
    for manifest in test_manifest.HA_COMPONENTS.glob("*/manifest.json"):
        for requirement in json.loads(manifest.read_text(encoding="utf-8")).get("requirements", []):
            if match := test_manifest.PIN.match(requirement):
                wanted.setdefault(match.group(1).lower().replace("_", "-"), set()).add(match.group(2))
    constraints = test_manifest.pins(test_manifest.HA_COMPONENTS.parent / "package_constraints.txt")
    for name, version in constraints.items():
        wanted.setdefault(name, set()).add(version)
    differing = {
        name: (version, sorted(wanted[name]))
        for name, version in pinned.items()
        if name in wanted and wanted[name] != {version}
    }
    assert not differing, (requirements, ha_version, differing)
