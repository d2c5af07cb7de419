"""Import time of the integration, cold process, marginal over Home Assistant's own modules.

Home Assistant has imported its core, helpers and the platforms an integration builds on long before
it loads a custom integration, so what the integration adds is the time to import its own modules
once the others are loaded. Each sample is a fresh interpreter that first imports every module the
integration brings with it that is not its own (Home Assistant, aiohttp, cryptography, serialx, in
the order they came), then times importing the integration, its platforms and the modules Home
Assistant preloads for it (config flow, diagnostics, repairs). Bytecode is compiled beforehand and
kept in a cache directory, as in an installation (the test environment sets PYTHONDONTWRITEBYTECODE).

A second figure times the push path alone (``dlms.listener``: framing, decryption, A-XDR, push
layouts) over the same preloaded modules, with the integration package's Home Assistant glue left
out, and lists any client, simulator or CLI module it brought.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = [
    "custom_components.dlms_cosem",
    "custom_components.dlms_cosem.sensor",
    "custom_components.dlms_cosem.config_flow",
    "custom_components.dlms_cosem.diagnostics",
    "custom_components.dlms_cosem.repairs",
]
_OWN = "custom_components"


def _environment(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(code: str, env: dict[str, str]) -> str:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-W", "ignore", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _others(env: dict[str, str]) -> list[str]:
    """Every module the integration brings that is not its own, in the order they came."""
    imports = "\n".join(f"import {module}" for module in INTEGRATION)
    listing = (
        f"import sys, json\n{imports}\n"
        f"print(json.dumps([m for m in sys.modules if not m.startswith({_OWN!r})]))"
    )
    names: list[str] = json.loads(_run(listing, env))
    return names


def _preload(others: list[str]) -> str:
    return (
        "import importlib, sys, time, types, warnings\nwarnings.simplefilter('ignore')\n"
        f"for name in {others!r}:\n"
        "    try:\n        importlib.import_module(name)\n    except Exception:\n        pass\n"
    )


def _samples(code: str, env: dict[str, str], samples: int) -> tuple[list[float], list[str]]:
    times, rest = [], []
    for _ in range(samples):
        elapsed, *rest = _run(code, env).split()
        times.append(float(elapsed) * 1000)
    return times, rest


def run(cache: Path, samples: int) -> list[str]:
    """Marginal import times (min and median over ``samples`` cold processes), as lines."""
    env = _environment(cache)
    others = _others(env)
    imports = "\n".join(f"import {module}" for module in INTEGRATION)
    _run(_preload(others) + imports, env)  # compiles the bytecode once
    code = (
        _preload(others) + f"start = time.perf_counter()\n{imports}\nelapsed = time.perf_counter() - start\n"
        f"print(elapsed, len([m for m in sys.modules if m.startswith({_OWN!r})]))\n"
    )
    times, (modules,) = _samples(code, env, samples)
    lines = [
        f"integration import, marginal over Home Assistant and the libraries ({modules} own modules): "
        f"min {min(times):.1f} ms, median {statistics.median(times):.1f} ms ({samples} cold processes)"
    ]
    code = (
        _preload(others) + "package = types.ModuleType('custom_components.dlms_cosem')\n"
        f"package.__path__ = [{str(ROOT / 'custom_components' / 'dlms_cosem')!r}]\n"
        "sys.modules['custom_components.dlms_cosem'] = package\n"
        "start = time.perf_counter()\nimport custom_components.dlms_cosem.dlms.listener\n"
        "elapsed = time.perf_counter() - start\n"
        "prefix = 'custom_components.dlms_cosem.dlms.'\n"
        "names = [m[len(prefix):] for m in sys.modules if m.startswith(prefix)]\n"
        "bad = [n for n in names if n.split('.')[0] in ('client', 'simulator', 'cli')]\n"
        "print(elapsed, len(names), ','.join(bad) or '-')\n"
    )
    times, (count, bad) = _samples(code, env, samples)
    lines.append(
        f"push path import alone (dlms.listener, {count} modules): min {min(times):.1f} ms, median "
        f"{statistics.median(times):.1f} ms; client/simulator/CLI modules loaded: "
        f"{'none' if bad == '-' else bad}"
    )
    lines.append("costliest own modules (self time, -X importtime, one process): " + _costliest(others, env))
    return lines


def _costliest(others: list[str], env: dict[str, str], count: int = 8) -> str:
    imports = "\n".join(f"import {module}" for module in INTEGRATION)
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-W", "ignore", "-X", "importtime", "-c", _preload(others) + imports],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    costs = []
    for line in result.stderr.splitlines():
        fields = line.split("|")
        if len(fields) == 3 and _OWN in fields[2]:
            self_us = int(fields[0].split(":")[1])
            costs.append((self_us, fields[2].strip().removeprefix("custom_components.dlms_cosem.")))
    costs.sort(reverse=True)
    return ", ".join(f"{name} {us / 1000:.1f} ms" for us, name in costs[:count])
