"""A load profile the meter pushes fills the hours it holds in the long-term statistics, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
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

from custom_components.dlms_cosem import statistics_import
from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.apdu import DataNotification, LongInvokeIdAndPriority
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.push import PushFraming, PushSettings, frame_push
from custom_components.dlms_cosem.dlms.units import ScalerUnit
from tests.tcp_meter import serving

CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
ENERGY = ObisCode(1, 0, 1, 8, 0, 255)
STATUS = ObisCode(0, 0, 96, 10, 1, 255)
PROFILE = ObisCode(1, 0, 99, 1, 0, 255)
UNIQUE_ID = "53494D0000000009"
WATT_HOUR = 30
DATA_NOT_VALID = 0x04


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant's other fixtures (the harness requires this order)."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The meter is a TCP server on 127.0.0.1."""


def definition(class_id: int, obis: ObisCode, attribute: int) -> Data:
    return Data.structure(
        Data.long_unsigned(class_id),
        Data.octet_string(obis.to_bytes()),
        Data.integer(attribute),
        Data.long_unsigned(0),
    )


def stamp(moment: datetime) -> Data:
    return Data.octet_string(CosemDateTime.from_datetime(moment).to_bytes())


class Meter:
    """What the meter pushes next: its energy total, and the profile rows (time, Wh, status), if any."""

    def __init__(self, now: datetime, total: int) -> None:
        self.now = now
        self.total = total
        self.rows: list[tuple[datetime, int, int]] = []

    def body(self) -> Data:
        listed = [(8, CLOCK, 2), (3, ENERGY, 2), (3, ENERGY, 3)]
        values = [stamp(self.now), Data.double_long_unsigned(self.total), ScalerUnit(0, WATT_HOUR).to_data()]
        if self.rows:
            listed += [(7, PROFILE, 3), (7, PROFILE, 2)]
            values.append(
                Data.array(definition(8, CLOCK, 2), definition(1, STATUS, 2), definition(3, ENERGY, 2))
            )
            values.append(
                Data.array(
                    *(
                        Data.structure(stamp(moment), Data.unsigned(status), Data.double_long_unsigned(wh))
                        for moment, wh, status in self.rows
                    )
                )
            )
        return Data.structure(Data.array(*(definition(*entry) for entry in listed)), *values)

    def telegram(self) -> bytes:
        apdu = DataNotification(self.body(), None, LongInvokeIdAndPriority(1)).encode()
        return b"".join(frame_push(apdu, PushSettings(framing=PushFraming.HDLC)))


@pytest.fixture
async def pushing() -> AsyncIterator[tuple[Meter, int]]:
    meter = Meter(dt_util.utcnow(), 5_000_000)

    async def send(writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(meter.telegram())
            await writer.drain()
            await asyncio.sleep(0.05)

    async with serving(send) as port:
        yield meter, port


async def hourly(hass: HomeAssistant, statistic_id: str, start: datetime) -> list[dict[str, Any]]:
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, None, {statistic_id}, "hour", None, {"state", "sum"}
    )
    return [
        {"start": dt_util.utc_from_timestamp(row["start"]), "state": row["state"], "sum": row["sum"]}
        for row in found.get(statistic_id, [])
    ]


async def until(hass: HomeAssistant, condition: Callable[[], bool]) -> None:
    for _ in range(300):
        await hass.async_block_till_done()
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in 3 s")


async def test_pushed_profile_fills_its_hours_once(
    hass: HomeAssistant, pushing: tuple[Meter, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    meter, port = pushing
    imports: list[list[datetime]] = []
    real_import = statistics_import.async_import_statistics

    def counted(hass: HomeAssistant, metadata: Any, rows: list[Any]) -> None:
        imports.append([row["start"] for row in rows])
        real_import(hass, metadata, rows)

    monkeypatch.setattr(statistics_import, "async_import_statistics", counted)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Push meter",
        unique_id=UNIQUE_ID,
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
        options={CONF_OBJECTS: [str(ENERGY)], CONF_PUSH_TIMEOUT: 3600},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{UNIQUE_ID}_{ENERGY}")
    assert entity_id is not None
    await until(hass, lambda: (state := hass.states.get(entity_id)) is not None and state.state == "5000.0")
    unit = hass.states.get(entity_id).attributes["unit_of_measurement"]  # type: ignore[union-attr]
    assert unit == "kWh"
    # The recorder's first compile starts the sums; a profile continues them.
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0))
    await async_wait_recording_done(hass)
    # The compiled statistic: 5000 kWh with sum 0, so every imported hour's sum is its state - 5000.
    offset = -5000.0

    top = now.replace(minute=0, second=0, microsecond=0)
    hours = [top - timedelta(hours=n) for n in (5, 4, 3, 2)]
    meter.rows = [
        (hours[0], 4_950_000, 0),
        (hours[1], 4_962_000, 0),
        (hours[2], 4_969_000, DATA_NOT_VALID),  # flagged by the meter: no statistic
        (
            hours[3],
            4_980_000,
            0,
        ),  # a household's hours, up to the register's 5000 kWh (the guard believes them)
    ]
    await until(hass, lambda: entry.runtime_data.coordinator.data.history != {})
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    rows = await hourly(hass, entity_id, hours[0] - timedelta(hours=2))
    imported = [row for row in rows if row["start"] < hours[3]]
    assert [row["start"] for row in imported] == [
        hours[0] - timedelta(hours=1),
        hours[1] - timedelta(hours=1),
        hours[3] - timedelta(hours=1),
    ]
    assert [row["state"] for row in imported] == [4950.0, 4962.0, 4980.0]  # kWh, the sensor's unit
    assert [row["sum"] for row in imported] == [
        pytest.approx(state + offset) for state in (4950.0, 4962.0, 4980.0)
    ]

    assert imports == [
        [hours[0] - timedelta(hours=1), hours[1] - timedelta(hours=1), hours[3] - timedelta(hours=1)]
    ]

    # Every telegram repeats the profile: nothing is imported twice, nothing changes.
    await asyncio.sleep(0.3)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    assert len(imports) == 1
    assert await hourly(hass, entity_id, hours[0] - timedelta(hours=2)) == rows
    assert await hass.config_entries.async_unload(entry.entry_id)
