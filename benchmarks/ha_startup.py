"""Home Assistant's start time with and without this integration, and the setup time of its entry.

Run by ``scripts/bench`` (section ``ha``); alone:
``scripts/run env PYTHONPATH=. python -m benchmarks.ha_startup``.

A real Home Assistant (``bootstrap.async_setup_hass``, then ``async_start``, as ``hass`` runs it) in a
fresh process per start, on a minimal configuration (core integrations only, no ``default_config``),
with the sensor, switch and update platforms (every installation has them), from two
configuration directories under ``.scratch/ha-startup``: one without any entry, one with a
network push entry of this integration (12 P1 values) whose meter, a thread of this process, serves a
P1 telegram every 2.5 s on 127.0.0.1. Each directory is started once untimed (the entry is added
through ``config_entries.async_add`` in that first start, as the config flow would, and stored), then
the starts alternate between the two. Figures per start: the wall time from before
``async_setup_hass`` to ``async_start`` done (imports of Home Assistant's own modules before it are
not counted, those of the integration are), and Home Assistant's own setup timing of the
``dlms_cosem`` domain (``setup.async_get_setup_timings``: its component, config entry and sensor
platform). The difference of the medians is the integration's start-up cost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CONFIGURATION = """homeassistant:
  name: bench
  unit_system: metric
  time_zone: UTC
  country: AT
  currency: EUR
  latitude: 48.2
  longitude: 16.4
  elevation: 190
logger:
  default: warning
# The entity platforms the integration uses, set up in both configurations: every installation has
# sensors, switches and updates, so their start-up is not the integration's.
sensor:
switch:
update:
"""


def _configure(directory: Path, *, integration: bool) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / "configuration.yaml").write_text(CONFIGURATION)
    if integration:
        (directory / "custom_components").mkdir()
        (directory / "custom_components" / "dlms_cosem").symlink_to(REPO / "custom_components" / "dlms_cosem")


@contextlib.contextmanager
def meter() -> Iterator[int]:
    """A P1 meter on 127.0.0.1 pushing every 2.5 s to whoever connects (one connection at a time)."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from benchmarks.ha_compare import Household, telegrams  # noqa: PLC0415
    from custom_components.dlms_cosem.dlms.simulator.push import PushFraming  # noqa: PLC0415

    blobs = telegrams(Household(datetime(2026, 6, 1, tzinfo=UTC), 60), 60, PushFraming.P1)
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                index = 0
                while not stop.is_set():
                    try:
                        connection.sendall(blobs[index % len(blobs)])
                    except OSError:
                        break
                    index += 1
                    stop.wait(2.5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(5)


def _start(directory: Path, add_entry_port: int | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.ha_startup", "--child", str(directory)]
    if add_entry_port is not None:
        command += ["--add-entry", str(add_entry_port)]
    environment = os.environ | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(  # noqa: S603 - this interpreter, our module
        command, capture_output=True, text=True, check=False, cwd=REPO, env=environment, timeout=300
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"Home Assistant did not start (exit {done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def _child(directory: Path, add_entry_port: int | None) -> dict[str, Any]:
    from homeassistant import bootstrap  # noqa: PLC0415 - in the child only
    from homeassistant.runner import RuntimeConfig  # noqa: PLC0415
    from homeassistant.setup import async_get_setup_timings  # noqa: PLC0415

    started = time.perf_counter()
    hass = await bootstrap.async_setup_hass(RuntimeConfig(config_dir=str(directory), skip_pip=True))
    assert hass is not None
    set_up = time.perf_counter() - started
    await hass.async_start()
    await hass.async_block_till_done()
    elapsed = time.perf_counter() - started
    entry_ms = None
    if add_entry_port is not None:
        entry_ms = await _add_entry(hass, add_entry_port)
    timings = async_get_setup_timings(hass)
    entries = [entry.state.value for entry in hass.config_entries.async_entries("dlms_cosem")]
    await hass.async_stop()
    return {
        "setup_hass_s": set_up,
        "start_s": elapsed,
        "dlms_cosem_setup_ms": timings.get("dlms_cosem", 0.0) * 1000,
        "entry_added_ms": entry_ms,
        "entries": entries,
    }


async def _add_entry(hass: Any, port: int) -> float:
    from types import MappingProxyType  # noqa: PLC0415

    from homeassistant.config_entries import ConfigEntry  # noqa: PLC0415

    from benchmarks.ha_compare import VALUES  # noqa: PLC0415
    from custom_components.dlms_cosem.const import (  # noqa: PLC0415
        CONF_CONNECTION_TYPE,
        CONF_HOST,
        CONF_OBJECTS,
        CONF_PORT,
        DOMAIN,
    )

    entry = ConfigEntry(
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
        discovery_keys=MappingProxyType({}),
        domain=DOMAIN,
        minor_version=1,
        options={CONF_OBJECTS: [str(code) for code in VALUES]},
        source="user",
        subentries_data=None,
        title="bench meter",
        unique_id="bench-startup",
        version=1,
    )
    started = time.perf_counter()
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    return (time.perf_counter() - started) * 1000


def run(repeats: int) -> tuple[list[str], dict[str, Any]]:
    """The figures: lines to print, and the numbers (for the section's summary)."""
    base = REPO / ".scratch" / "ha-startup"
    without, with_entry = base / "without", base / "with"
    _configure(without, integration=False)
    _configure(with_entry, integration=True)
    with meter() as port:
        _start(without, None)  # the first start writes Home Assistant's storage
        first = _start(with_entry, port)  # ... and adds the entry, as the config flow would
        bare: list[float] = []
        ours: list[float] = []
        setups: list[float] = []
        for _ in range(repeats):
            bare.append(_start(without, None)["start_s"])
            result = _start(with_entry, None)
            if result["entries"] != ["loaded"]:
                raise RuntimeError(f"the entry did not load: {result}")
            ours.append(result["start_s"])
            setups.append(result["dlms_cosem_setup_ms"])
    cost = (statistics.median(ours) - statistics.median(bare)) * 1000
    figures = {
        "without_s": bare,
        "with_s": ours,
        "integration_setup_ms": setups,
        "first_entry_added_ms": first["entry_added_ms"],
        "start_cost_ms": cost,
    }
    lines = [
        f"Home Assistant start ({repeats} starts each, alternating, minimal configuration): without the "
        f"integration median {statistics.median(bare):.2f} s (min {min(bare):.2f}), with one push entry "
        f"median {statistics.median(ours):.2f} s (min {min(ours):.2f}): {cost:+.0f} ms",
        f"dlms_cosem setup inside those starts (Home Assistant's own timing: component, entry, sensor "
        f"platform): median {statistics.median(setups):.0f} ms, min {min(setups):.0f}, "
        f"max {max(setups):.0f}; "
        f"adding the entry to a running Home Assistant: {first['entry_added_ms']:.0f} ms",
    ]
    return lines, figures


def main() -> None:
    """The figures, or one start (``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", type=Path)
    parser.add_argument("--add-entry", type=int)
    args = parser.parse_args()
    if args.child is not None:
        from homeassistant.runner import create_event_loop  # noqa: PLC0415

        loop = create_event_loop()
        try:
            print(json.dumps(loop.run_until_complete(_child(args.child, args.add_entry))))
        finally:
            loop.close()
        return
    lines, _figures = run(args.repeats)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
