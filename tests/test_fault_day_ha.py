"""A day of damaged telegrams through a real Home Assistant: the day's energy statistics stay the meter's.

Two plaintext meters push every two minutes of their clock for 24 hours: one on M-Bus (an 8-bit
checksum per frame) and one sending bare APDUs (no check at all). Before each top-of-hour telegram, the
one whose energy becomes that hour's statistic, the line delivers damaged copies of it:

- the energy value with two of its bytes swapped, and with +d/-d on two of its bytes, and its unit
  made joules with the scaler moved to keep the sum (all keep an M-Bus checksum: the frames are valid);
- a telegram stitched from the previous telegram's first M-Bus frame and this one's second (M-Bus);
- the energy value with a bit flipped in one of its three high bytes (bare APDU);
- every few hours, half a telegram followed by silence, and a burst of noise.

The statistics of the day must equal the genuine meter's values at the top of every hour, with no hour
holding a spike, and the diagnostics must show what was held back. What such damage cannot be told
from the truth by (a change smaller than what the house draws between two telegrams) is not fed here:
docs/RELIABILITY.md counts it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.diagnostics import async_get_config_entry_diagnostics
from custom_components.dlms_cosem.dlms.simulator.access import RequestContext
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_IMPORT,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import (
    PushBuilder,
    PushFraming,
    PushSettings,
    frame_push,
)
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

from .test_security_ha import line
from .waiting import wait_for

ENERGY = str(ACTIVE_ENERGY_IMPORT)
STEP = timedelta(minutes=2)
HOURS = 24
#: The energy value in a telegram: its logical name, then double-long-unsigned (06) and 4 bytes.
ENERGY_VALUE = bytes([0x09, 0x06]) + ACTIVE_ENERGY_IMPORT.to_bytes() + bytes([0x06])


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The telegrams are served on 127.0.0.1."""


class MeterClock:
    """The meter's time, moved by the test; Home Assistant's own runs on (the sockets need it)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def energy_kwh(meter: SimulatedMeter, instant: datetime) -> float:
    register = meter.find(ACTIVE_ENERGY_IMPORT)
    assert register is not None
    value = register.get(2, RequestContext(now=instant)).value
    assert isinstance(value, int)
    return value / 1000


def value_at(apdu: bytes) -> int:
    """Where the energy value's four bytes start in ``apdu``."""
    return apdu.index(ENERGY_VALUE) + len(ENERGY_VALUE)


def swapped(apdu: bytes, rng: random.Random) -> bytes:
    """Two different bytes of the energy value swapped (an M-Bus checksum keeps them)."""
    start = value_at(apdu)
    changed = bytearray(apdu)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4) if apdu[start + i] != apdu[start + j]]
    i, j = rng.choice(pairs)
    changed[start + i], changed[start + j] = changed[start + j], changed[start + i]
    return bytes(changed)


def plus_minus(apdu: bytes, rng: random.Random) -> bytes:
    """+d on one byte of the energy value, -d on another (the sum, and so the checksum, is kept)."""
    start = value_at(apdu)
    changed = bytearray(apdu)
    for _ in range(100):
        up, down = rng.sample(range(4), 2)
        d = rng.randint(1, 3)
        if changed[start + up] + d <= 0xFF and changed[start + down] - d >= 0:
            changed[start + up] += d
            changed[start + down] -= d
            return bytes(changed)
    raise AssertionError("no +d/-d pair fits")


def unit_changed(apdu: bytes, rng: random.Random) -> bytes:
    """The energy's unit byte made J (0x19) from Wh (0x1E), -5, and +5 on its scaler: the sum holds."""
    start = value_at(apdu) + 4
    changed = bytearray(apdu)
    assert changed[start : start + 3] == bytes([0x02, 0x02, 0x0F])
    changed[start + 3] = (changed[start + 3] + 5) & 0xFF
    assert changed[start + 5] == 0x1E
    changed[start + 5] = 0x19
    return bytes(changed)


def flipped(apdu: bytes, rng: random.Random) -> bytes:
    """A bit flipped in one of the energy value's three high bytes."""
    changed = bytearray(apdu)
    changed[value_at(apdu) + rng.randrange(3)] ^= 1 << rng.randrange(8)
    return bytes(changed)


async def a_damaged_day(
    hass: HomeAssistant, framing: PushFraming, unique_id: str
) -> tuple[dict[str, Any], SimulatedMeter, datetime]:
    """Feed the day (see the module's docstring); the diagnostics, the meter and the day's first hour."""
    top = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    start = top - timedelta(hours=HOURS + 2)
    clock = MeterClock(start + timedelta(seconds=30))
    meter = SimulatedMeter(clock)
    settings = PushSettings(framing=framing)
    builder = PushBuilder(meter, settings)
    rng = random.Random(19)
    damage: list[Callable[[bytes, random.Random], bytes]] = [swapped, plus_minus, unit_changed]
    if framing is PushFraming.RAW:
        damage.append(flipped)

    def on_line(apdu: bytes) -> bytes:
        return b"".join(frame_push(apdu, settings))

    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    async with line(chunks) as port:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"{framing} meter",
            unique_id=unique_id,
            data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
            options={CONF_OBJECTS: [ENERGY, str(ACTIVE_POWER_IMPORT)], CONF_PUSH_TIMEOUT: 3600},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        previous = builder.apdu()
        await chunks.put(on_line(previous))
        await wait_for(lambda: ACTIVE_ENERGY_IMPORT in coordinator.data.readings)
        # The recorder's first compile starts the sums, which the hourly rows continue.
        await async_wait_recording_done(hass)
        now = dt_util.utcnow()
        do_adhoc_statistics(
            hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        )
        await async_wait_recording_done(hass)

        for hour in range(HOURS):
            burst = bytearray()
            for minute in range(2, 60, 2):
                clock.now = start + timedelta(hours=hour, minutes=minute)
                previous = builder.apdu()
                burst += on_line(previous)
            await chunks.put(bytes(burst))
            clock.now = start + timedelta(hours=hour + 1)
            genuine = builder.apdu()
            for damaged in damage:
                await chunks.put(on_line(damaged(genuine, rng)))
                await asyncio.sleep(0.02)
            if framing is PushFraming.MBUS:
                # The previous telegram's first frame, then this one's second: two telegrams stitched.
                first, second = frame_push(previous, settings)[0], frame_push(genuine, settings)[1]
                await chunks.put(first)
                await asyncio.sleep(0.02)
                await chunks.put(second)
                await asyncio.sleep(0.02)
            if hour % 8 == 3:
                # Half a telegram, then the line goes quiet long enough to cut it; then noise.
                await chunks.put(on_line(genuine)[: len(genuine) // 2])
                await asyncio.sleep(2.0)
                await chunks.put(bytes(rng.randrange(256) for _ in range(300)))
                await asyncio.sleep(2.0)
            await chunks.put(on_line(genuine))
            expected = energy_kwh(meter, clock.now) * 1000
            await wait_for(
                lambda expected=expected: coordinator.data.readings[ACTIVE_ENERGY_IMPORT].value == expected
            )
        await hass.async_block_till_done()
        await async_wait_recording_done(hass)
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)  # type: ignore[arg-type]
        assert await hass.config_entries.async_unload(entry.entry_id)
    return diagnostics, meter, start


async def hourly(
    hass: HomeAssistant, statistic_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, end, {statistic_id}, "hour", None, {"state", "sum"}
    )
    return [
        {"start": dt_util.utc_from_timestamp(row["start"]), "state": row["state"], "sum": row["sum"]}
        for row in found.get(statistic_id, [])
    ]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("framing", "unique_id"), [(PushFraming.MBUS, "4D42555330303031"), (PushFraming.RAW, "4150445530303031")]
)
async def test_a_damaged_day_leaves_the_energy_statistics_genuine(
    hass: HomeAssistant, framing: PushFraming, unique_id: str
) -> None:
    diagnostics, meter, start = await a_damaged_day(hass, framing, unique_id)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{unique_id}_{ENERGY}")
    assert entity_id is not None
    rows = await hourly(hass, entity_id, start, start + timedelta(hours=HOURS))
    assert [row["start"] for row in rows] == [start + timedelta(hours=hour) for hour in range(HOURS)]
    genuine = [energy_kwh(meter, start + timedelta(hours=hour + 1)) for hour in range(HOURS)]
    assert [row["state"] for row in rows] == pytest.approx(genuine, abs=1e-6)
    # No spike: each hour's sum grows by that hour's genuine consumption, and that is a household's.
    growth = [later["sum"] - earlier["sum"] for earlier, later in pairwise(rows)]
    assert growth == pytest.approx([b - a for a, b in pairwise(genuine)], abs=1e-6)
    assert all(0 <= kwh < 100 for kwh in growth), growth  # within the installation (100 kW)

    guard = diagnostics["plausibility_guard"]
    assert guard["held_total"] >= HOURS * 2, guard["held_by_reason"]
    assert guard["held_recently"], "what was held back is listed"
    # Only energy totals were damaged (the stitched M-Bus telegram carries the export total too).
    assert {held["obis"] for held in guard["held_recently"]} <= {ENERGY, "1.0.2.8.0.255"}
    assert guard["disputed"] == []
