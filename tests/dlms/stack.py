"""Which copy of the stack the tests run: the integration's folder, or the installed distribution.

The stack's tests run twice in CI: in Home Assistant's environment (Python 3.14) against
``custom_components.dlms_cosem.dlms`` from this checkout, and in a fresh Python 3.12 venv with no Home
Assistant, where ``pip install .`` put the same files in as ``dlms_cosem_stack`` (scripts/test-stack).
There, tests/dlms/conftest.py makes ``custom_components.dlms_cosem.dlms`` name the installed package, and
processes the tests start run the installed one.
"""

from __future__ import annotations

from importlib.util import find_spec

INSTALLED = find_spec("homeassistant") is None
"""No Home Assistant here: the tests run the installed ``dlms_cosem_stack`` (and must find it)."""

PACKAGE = "dlms_cosem_stack" if INSTALLED else "custom_components.dlms_cosem.dlms"
"""The stack's package name for ``python -m`` and for imports in child processes."""
