"""The dlms-cosem-stack distribution: what ``pip install .`` installs is the integration's stack folder.

In Home Assistant's environment only the pyproject declarations are checked; in scripts/test-stack's
venv (Python 3.12, no Home Assistant) the installed files and the console command are checked too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from tests.dlms.stack import INSTALLED, PACKAGE

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "custom_components" / "dlms_cosem" / "dlms"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VECTORS = json.loads((ROOT / "tests" / "fixtures" / "public_vectors.json").read_text())
NOE = next(vector for vector in VECTORS["push"] if vector["id"] == "netz-noe-mbus-encrypted")

installed_only = pytest.mark.skipif(not INSTALLED, reason="Home Assistant's environment: nothing installed")


def _source_packages() -> set[str]:
    return {
        ".".join(("dlms_cosem_stack", *init.parent.relative_to(SOURCE).parts))
        for init in SOURCE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_every_subpackage_of_the_stack_is_declared() -> None:
    """A new subpackage left out of [tool.setuptools] packages would be missing from the install."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"dlms_cosem_stack": "custom_components/dlms_cosem/dlms"}
    assert set(setuptools["packages"]) == _source_packages()
    assert (SOURCE / "py.typed").is_file()
    assert setuptools["package-data"] == {"dlms_cosem_stack": ["py.typed"]}


def test_the_distribution_asks_for_nothing_of_home_assistant() -> None:
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.12"
    assert [requirement.split(">")[0] for requirement in project["dependencies"]] == [
        "serialx",
        "cryptography",
    ]
    assert project["scripts"] == {"dlms-cosem-stack": "dlms_cosem_stack.__main__:console"}


@installed_only
def test_the_installed_files_are_the_stack_folder_itself() -> None:
    """Same files, same bytes: the install is this checkout's stack, not a stale or partial copy."""
    installed = Path(sys.modules[PACKAGE].__file__ or "").parent
    assert installed != SOURCE
    source_files = {
        path.relative_to(SOURCE)
        for path in SOURCE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    installed_files = {
        path.relative_to(installed)
        for path in installed.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert installed_files == source_files
    for relative in source_files:
        assert (installed / relative).read_bytes() == (SOURCE / relative).read_bytes(), relative
    assert sys.version_info >= (3, 12)
    requirements = metadata.requires("dlms-cosem-stack") or []
    assert not [requirement for requirement in requirements if "homeassistant" in requirement.lower()]


@installed_only
def test_the_console_command_decodes_a_public_capture() -> None:
    """``dlms-cosem-stack decode`` from the venv's bin: the Netz NOE sample (M-Bus, encrypted)."""
    command = shutil.which("dlms-cosem-stack", path=str(Path(sys.executable).parent))
    assert command is not None
    result = subprocess.run(
        [command, "decode", "--key", NOE["keys"]["encryption"], *NOE["frames"]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["timestamp"] == NOE["expect_timestamp"]
    values = {item["obis"]: [item["value"], item["unit"]] for item in record["objects"]}
    for obis, expected in NOE["expect_obis"].items():
        assert values[obis] == expected, obis
    assert NOE["keys"]["encryption"].lower() not in (result.stdout + result.stderr).lower()
    usage = subprocess.run([command, "--help"], capture_output=True, text=True, check=True, timeout=60)
    assert usage.stdout.startswith("usage: dlms-cosem-stack")
