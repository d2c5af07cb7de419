"""What a config entry keeps in Home Assistant's storage between restarts.

Invocation counters (the client's next one, and the last one accepted from each pushing meter) keep
replays detectable across restarts; the plausibility guard's baselines (each total's last accepted
value) keep a wrong value right after a restart from reaching the statistics. Both change with almost
every telegram, so they are written in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1
SAVE_DELAY = 10  # seconds: counters change with every request; write them in batches
#: The guard's baselines change with every telegram of a meter that sends no counter: written at most
#: every few minutes (an SD card's wear), and when the entry unloads. Lost minutes only make the first
#: reading after a power cut be compared with an older value.
GUARD_SAVE_DELAY = 300


class CounterStore:
    """Invocation counters of one entry in Home Assistant's storage, written with a delay."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}")
        self._data: dict[str, Any] = {}
        self._dirty = False
        self._pending = False  # a delayed write is scheduled; it takes the data as they are then
        self._guard: Callable[[], dict[str, Any]] | None = None

    async def async_load(self) -> None:
        """Read the stored counters (nothing stored yet is fine)."""
        self._data = await self._store.async_load() or {}

    async def async_flush(self) -> None:
        """Write now what waits for the delayed save (the entry is unloading)."""
        if self._dirty:
            self._dirty = False
            await self._store.async_save(self._snapshot())

    async def async_remove(self) -> None:
        """Delete the stored counters (the entry is being removed)."""
        await self._store.async_remove()

    @property
    def client_counter(self) -> int:
        """The next invocation counter this client uses when ciphering."""
        return int(self._data.get("client", 1))

    @property
    def meter_counters(self) -> dict[bytes, int]:
        """The last accepted counter per pushing system title."""
        return {bytes.fromhex(title): int(counter) for title, counter in self._data.get("meters", {}).items()}

    @callback
    def save_client_counter(self, counter: int) -> None:
        """Remember the client's next counter."""
        self._data["client"] = counter
        self._save()

    @callback
    def save_meter_counter(self, system_title: bytes, counter: int) -> None:
        """Remember the last counter accepted from a meter."""
        self._data.setdefault("meters", {})[system_title.hex().upper()] = counter
        self._save()

    @property
    def guard_baselines(self) -> dict[str, Any]:
        """What the plausibility guard saved: each total's last accepted value."""
        stored = self._data.get("guard")
        return stored if isinstance(stored, dict) else {}

    @callback
    def save_guard_baselines(self, baselines: Callable[[], dict[str, Any]]) -> None:
        """Save the guard's baselines with the next write (taken from ``baselines`` then)."""
        self._guard = baselines
        self._save(GUARD_SAVE_DELAY)

    @callback
    def _save(self, delay: float = SAVE_DELAY) -> None:
        """Schedule a write unless one is scheduled already.

        Home Assistant's delayed save moves the write to the latest delay asked for, so a meter that
        sends a telegram more often than the delay would postpone it for as long as it sends (the
        counters were written only when Home Assistant stopped, and a power cut lost them). One write
        is scheduled at a time instead; it takes whatever changed until then.
        """
        self._dirty = True
        if not self._pending:
            self._pending = True
            self._store.async_delay_save(self._snapshot, delay)

    def _snapshot(self) -> dict[str, Any]:
        """The data to write, taken when the write happens."""
        self._pending = False
        if self._guard is not None:
            self._data["guard"] = self._guard()
        return self._data
