"""The integration against Home Assistant core's dsmr, in one test-harness Home Assistant over real TCP.

A pytest module (it needs the harness's Home Assistant and recorder), run by ``scripts/bench`` (section
``ha``, which installs dsmr_parser for it), not by the suite. Alone:

    scripts/run env DLMS_BENCH_DSMR_SITE=~/.cache/dlms_cosem-dev/bench/site-... \
        python -m pytest -p no:cacheprovider -q -s -o log_level=WARNING benchmarks/ha_compare.py

One simulated meter pushes a DSMR 5 P1 text telegram every 2.5 s with 12 values: four energy registers
(1-0:1.8.1/1.8.2/2.8.1/2.8.2), import and export power, three voltages, three currents. Import power
is the first hour of ``throttle_strategies.household_stream`` (base load, fridge, appliances switched
at random, noise), import energy its integral; voltages are the simulator's, currents follow the
power. The same telegrams go to three entries side by side, each at its default settings: this
integration (P1 text, decoded by ``dlms.text``), this integration fed the same values as an HDLC
Data-Notification (binary), and core's dsmr (DSMR version 5, network host and port; its voltage and
current sensors, disabled by default, are enabled, so both show the same 12 values). Each entry has its
own TCP line, served by a thread: writing the bytes costs the event loop nothing.

Time: the freezer moves Home Assistant's clock 2.5 s per telegram, in five steps of 0.5 s each run by
the loop, so timers (a quiet-gap timeout, a watchdog, dsmr's throttle, our update limit) see an hour
go by in seconds. The harness runs the loop in asyncio's debug mode and freezegun's ``time`` looks at
the caller's stack on every call; Home Assistant runs neither, so :class:`LoopClock` turns debug mode
off and gives the loop and ``dt_util.utcnow`` plain clocks that move with the freezer.

Per telegram the entries are fed in turn (interleaved, the order turning, so a busy neighbour slows
them alike) and the loop thread's CPU (``time.thread_time`` in the loop thread) is taken from handing
the bytes to the line's thread until the loop has run what they caused (the line's thread signals
when the bytes are written; then three loop iterations). The same with no bytes (a line that sends
nothing) is the harness's own cost and is subtracted. What each integration does between telegrams
(its timers) is measured with it alone (``test_between_telegrams``), less Home Assistant without it.

With the recorder (sqlite in memory): the state rows each entry's 12 value sensors wrote during the
hour (the ``states`` table), and the 5-minute means of import power from the recorder's own
statistics compiler (``do_adhoc_statistics`` for each period) against the true time-weighted mean of
the stream (each telegram's value held until the next).

Also: both at every telegram (our ``update_interval`` 0, dsmr's ``time_between_update`` 0); memory
(tracemalloc and RSS every 5 minutes of telegrams) over an hour, one integration at a time; and each
entry's setup time. Figures are printed and, with ``DLMS_BENCH_HA_RESULTS``, kept in that JSON file
for ``ha_section.summary``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import json
import os
import queue
import socket
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import freezegun.api
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import util
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.db_schema import States, StatesMeta
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.components.recorder.util import session_scope
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import storage
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from sqlalchemy import func, select

import custom_components.dlms_cosem  # noqa: F401 - before the harness's own custom_components
from benchmarks.throttle_strategies import household_stream
from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_PORT,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.electricity import Electricity, seconds_since_reference
from custom_components.dlms_cosem.dlms.simulator.interface_classes import Register
from custom_components.dlms_cosem.dlms.simulator.logical_names import (
    CENTIAMPERE,
    CLOCK,
    CURRENTS,
    DECIVOLT,
    VOLTAGES,
    WH,
    W,
)
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.push import PushBuilder, PushFraming, PushSettings
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator

_DSMR_SITE = os.environ.get("DLMS_BENCH_DSMR_SITE")
if _DSMR_SITE and _DSMR_SITE not in sys.path:
    sys.path.append(_DSMR_SITE)  # after the test venv: Home Assistant keeps its own dependencies

EVERY = timedelta(seconds=2.5)
HOUR_TELEGRAMS = 1441  # 0 s to 3600 s: twelve whole 5-minute periods
PERIOD = timedelta(minutes=5)
SUBSTEPS = 5
START = datetime(2026, 12, 7, 11, tzinfo=UTC)
TIME_ZONE = "Europe/Amsterdam"
SERIAL = "4530303434303037313331363530363137"  # the dsmr entry's equipment identifier
IMPORT_T1 = ObisCode(1, 0, 1, 8, 1, 255)
IMPORT_T2 = ObisCode(1, 0, 1, 8, 2, 255)
EXPORT_T1 = ObisCode(1, 0, 2, 8, 1, 255)
EXPORT_T2 = ObisCode(1, 0, 2, 8, 2, 255)
POWER_IMPORT = ObisCode(1, 0, 1, 7, 0, 255)
POWER_EXPORT = ObisCode(1, 0, 2, 7, 0, 255)
VALUES: tuple[ObisCode, ...] = (
    IMPORT_T1,
    IMPORT_T2,
    EXPORT_T1,
    EXPORT_T2,
    POWER_IMPORT,
    POWER_EXPORT,
    *VOLTAGES,
    *CURRENTS,
)
PUSHED = (CLOCK, *VALUES)
#: dsmr's sensors for the same 12 values (the voltages and currents are disabled by default there).
DSMR_KEYS = (
    "electricity_used_tariff_1",
    "electricity_used_tariff_2",
    "electricity_delivered_tariff_1",
    "electricity_delivered_tariff_2",
    "current_electricity_usage",
    "current_electricity_delivery",
    "instantaneous_voltage_l1",
    "instantaneous_voltage_l2",
    "instantaneous_voltage_l3",
    "instantaneous_current_l1",
    "instantaneous_current_l2",
    "instantaneous_current_l3",
)
DSMR_ENABLED = tuple(key for key in DSMR_KEYS if key.startswith("instantaneous_"))
RESULTS = os.environ.get("DLMS_BENCH_HA_RESULTS")
"""A JSON file each test adds its figures to (``benchmarks/__main__.py`` composes the section)."""


def record(key: str, value: object) -> None:
    """Keep a figure for the section's summary (when run by ``scripts/bench``) and print it."""
    print(f"\nHA {key}: {json.dumps(value)}")
    if not RESULTS:
        return
    path = Path(RESULTS)
    found = json.loads(path.read_text()) if path.exists() else {}
    found[key] = value
    path.write_text(json.dumps(found, indent=1))


# --- the meter -----------------------------------------------------------------------------------------


class Household:
    """The stream: power (W) per telegram from the made-up household, its energy, the simulator's grid."""

    def __init__(self, start: datetime, count: int) -> None:
        _times, power = household_stream()
        self.start = start
        self.power = [round(value) for value in power[:count]]
        self.energy = [4_201_123.0]  # Wh at telegram 0; each telegram's power holds until the next
        for watts in self.power[:-1]:
            self.energy.append(self.energy[-1] + watts * EVERY.total_seconds() / 3600)
        self.grid = Electricity(b"bench")

    def index(self, instant: datetime) -> int:
        """The telegram sent at ``instant``."""
        return min(len(self.power) - 1, max(0, round((instant - self.start) / EVERY)))

    def meter(self, clock: Callable[[], datetime]) -> SimulatedMeter:
        """A simulated meter whose pushed registers are the stream's."""
        meter = SimulatedMeter(clock)
        grid = self.grid

        def constant(value: int) -> Callable[[datetime], Data]:
            return lambda _instant: Data.double_long_unsigned(value)

        meter.add(
            Register(IMPORT_T1, lambda i: Data.double_long_unsigned(int(self.energy[self.index(i)])), WH)
        )
        meter.add(Register(IMPORT_T2, constant(3_456_789), WH))
        meter.add(Register(EXPORT_T1, constant(123_456), WH))
        meter.add(Register(EXPORT_T2, constant(234_567), WH))
        meter.add(Register(POWER_IMPORT, lambda i: Data.double_long_unsigned(self.power[self.index(i)]), W))
        meter.add(Register(POWER_EXPORT, constant(0), W))
        shares = Electricity.PHASE_SHARES
        for phase, (voltage, current) in enumerate(zip(VOLTAGES, CURRENTS, strict=True)):

            def volts(instant: datetime, phase: int = phase) -> float:
                return grid.voltage(phase, seconds_since_reference(instant))

            def decivolts(instant: datetime, volts: Callable[[datetime], float] = volts) -> Data:
                return Data.long_unsigned(round(volts(instant) * 10))

            def centiamperes(
                instant: datetime, phase: int = phase, volts: Callable[[datetime], float] = volts
            ) -> Data:
                return Data.long_unsigned(
                    round(self.power[self.index(instant)] * shares[phase] / volts(instant) * 100)
                )

            meter.add(Register(voltage, decivolts, DECIVOLT))
            meter.add(Register(current, centiamperes, CENTIAMPERE))
        return meter

    def period_means(self, periods: int) -> list[float]:
        """The stream's time-weighted mean power (W) of each 5-minute period from ``start``."""
        per_period = round(PERIOD / EVERY)
        return [statistics.fmean(self.power[k * per_period : (k + 1) * per_period]) for k in range(periods)]


def telegrams(household: Household, count: int, framing: PushFraming) -> list[bytes]:
    """The meter's telegrams 0..count-1, built beforehand (the meter's clock at each one's instant)."""
    instant = [household.start]
    builder = PushBuilder(household.meter(lambda: instant[0]), PushSettings(framing=framing, objects=PUSHED))
    built = []
    for index in range(count):
        instant[0] = household.start + index * EVERY
        built.append(builder.telegram())
    return built


# --- the lines -----------------------------------------------------------------------------------------


class Line:
    """A TCP port served by a thread of its own: what it is handed goes on the line, then it says so."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._work: queue.Queue[tuple[bytes, asyncio.Future[None]] | None] = queue.Queue()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.settimeout(30)
        try:
            connection, _ = self._server.accept()
        except OSError:
            return
        self._connected.set()
        with connection:
            while (item := self._work.get()) is not None:
                data, done = item
                with contextlib.suppress(OSError):
                    connection.sendall(data)
                self._loop.call_soon_threadsafe(done.set_result, None)

    async def connected(self) -> None:
        """Wait until the integration has connected (in a worker thread: the loop's clock is frozen)."""
        if not await asyncio.to_thread(self._connected.wait, 30):
            raise TimeoutError("the integration did not connect")

    async def send(self, data: bytes) -> float:
        """Put ``data`` on the line; the loop thread's CPU seconds until what it caused has run."""
        started = time.thread_time()
        done: asyncio.Future[None] = self._loop.create_future()
        self._work.put((data, done))
        await done
        for _ in range(3):
            await asyncio.sleep(0)
        return time.thread_time() - started

    def close(self) -> None:
        """Stop serving (a thread still waiting for the connection is woken)."""
        self._work.put(None)
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(5)


class NullLine(Line):
    """The harness's own cost: signals like a line, sends nothing."""

    def _serve(self) -> None:
        self._connected.set()
        while (item := self._work.get()) is not None:
            _, done = item
            self._loop.call_soon_threadsafe(done.set_result, None)


# --- the entries ---------------------------------------------------------------------------------------


@dataclass
class Contender:
    """One entry fed the telegrams: its line, the entity ids of its 12 value sensors, the CPU per telegram."""

    name: str
    blobs: list[bytes]
    line: Line
    entry: MockConfigEntry
    power: str = ""
    entity_ids: list[str] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    setup_ms: float = 0.0


async def _our_entry(
    hass: HomeAssistant, name: str, port: int, interval: int | None
) -> tuple[MockConfigEntry, float]:
    options: dict[str, Any] = {CONF_OBJECTS: [str(code) for code in VALUES]}
    if interval is not None:
        options[CONF_UPDATE_INTERVAL] = interval
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=name,
        unique_id=name,
        data={CONF_CONNECTION_TYPE: "network_push", CONF_HOST: "127.0.0.1", CONF_PORT: port},
        options=options,
    )
    entry.add_to_hass(hass)
    started = wall()
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry, (wall() - started) * 1000


async def _dsmr_entry(hass: HomeAssistant, port: int, interval: int | None) -> tuple[MockConfigEntry, float]:
    from homeassistant.components.dsmr.const import (  # noqa: PLC0415 - needs dsmr_parser on sys.path
        CONF_DSMR_VERSION,
        CONF_SERIAL_ID,
        CONF_SERIAL_ID_GAS,
        CONF_TIME_BETWEEN_UPDATE,
        DSMR_PROTOCOL,
    )
    from homeassistant.const import CONF_PROTOCOL  # noqa: PLC0415

    entry = MockConfigEntry(
        domain="dsmr",
        title="dsmr",
        unique_id=SERIAL,
        data={
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_DSMR_VERSION: "5",
            CONF_PROTOCOL: DSMR_PROTOCOL,
            CONF_SERIAL_ID: SERIAL,
            CONF_SERIAL_ID_GAS: None,
        },
        options={} if interval is None else {CONF_TIME_BETWEEN_UPDATE: interval},
    )
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    for key in DSMR_ENABLED:  # registered beforehand: enabled, as a user would
        registry.async_get_or_create("sensor", "dsmr", f"{SERIAL}_{key}", config_entry=entry)
    started = wall()
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry, (wall() - started) * 1000


def _ours_ids(hass: HomeAssistant, name: str) -> list[str]:
    registry = er.async_get(hass)
    found = [registry.async_get_entity_id("sensor", DOMAIN, f"{name}_{code}") for code in VALUES]
    assert all(found), found
    return [entity_id for entity_id in found if entity_id]


def _dsmr_ids(hass: HomeAssistant) -> list[str]:
    registry = er.async_get(hass)
    found = [registry.async_get_entity_id("sensor", "dsmr", f"{SERIAL}_{key}") for key in DSMR_KEYS]
    assert all(found), found
    return [entity_id for entity_id in found if entity_id]


@contextlib.asynccontextmanager
async def contenders(
    hass: HomeAssistant,
    household: Household,
    count: int,
    *,
    ours_interval: int | None,
    dsmr_interval: int | None,
    which: tuple[str, ...] = ("ours-p1", "ours-hdlc", "dsmr"),
) -> AsyncIterator[list[Contender]]:
    """The entries of ``which``, set up and connected, each with its line and telegrams."""
    loop = asyncio.get_running_loop()
    p1 = telegrams(household, count, PushFraming.P1)
    made: list[Contender] = []
    try:
        for name in which:
            line = Line(loop)
            try:
                if name == "dsmr":
                    entry, setup_ms = await _dsmr_entry(hass, line.port, dsmr_interval)
                    blobs = p1
                else:
                    entry, setup_ms = await _our_entry(hass, name, line.port, ours_interval)
                    blobs = p1 if name == "ours-p1" else telegrams(household, count, PushFraming.HDLC)
            except BaseException:
                line.close()
                raise
            made.append(Contender(name, blobs, line, entry, setup_ms=setup_ms))
            await line.connected()
        await settle(0.3)  # the loop's side of the connections completes (before the clock moves)
        yield made
    finally:
        for contender in made:
            contender.line.close()
        for contender in made:
            await hass.config_entries.async_unload(contender.entry.entry_id)
        await hass.async_block_till_done()


def wall() -> float:
    """Seconds of real time (the freezer stops ``time.monotonic`` and ``perf_counter``, not this)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def real_wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait in real time (the loop's own clock is the frozen one) until ``condition`` holds."""
    deadline = wall() + seconds
    while not condition():
        if wall() > deadline:
            raise TimeoutError("waited in vain")
        await asyncio.to_thread(time.sleep, 0.005)
        for _ in range(3):
            await asyncio.sleep(0)


async def settle(seconds: float) -> None:
    """Let the loop run for ``seconds`` of real time without moving its clock."""
    deadline = wall() + seconds
    await real_wait(lambda: wall() > deadline, seconds + 5)


async def _first(hass: HomeAssistant, feeding: list[Contender]) -> None:
    """Telegram 0 to each; the entities exist afterwards (dsmr makes them on its first telegram)."""
    for contender in feeding:
        await contender.line.send(contender.blobs[0])

    def shown() -> bool:
        try:
            for contender in feeding:
                ids = _dsmr_ids(hass) if contender.name == "dsmr" else _ours_ids(hass, contender.name)
                if any(hass.states.get(entity_id) is None for entity_id in ids):
                    return False
        except AssertionError:
            return False
        return True

    await real_wait(shown)
    await hass.async_block_till_done()
    for contender in feeding:
        contender.entity_ids = (
            _dsmr_ids(hass) if contender.name == "dsmr" else _ours_ids(hass, contender.name)
        )
        contender.power = contender.entity_ids[VALUES.index(POWER_IMPORT)]


async def feed(
    hass: HomeAssistant,
    clock: LoopClock,
    feeding: list[Contender],
    null: Line,
    count: int,
    *,
    sample: Callable[[int], Awaitable[None]] | None = None,
    betweens: list[float] | None = None,
) -> list[float]:
    """Telegrams 1..count-1, 2.5 s apart on the frozen clock, to every contender in turn; the null line's CPU.

    ``betweens`` gets the CPU of each 2.5 s between two telegrams (see :func:`between`).
    """
    harness: list[float] = []
    for index in range(1, count):
        spent = await between(clock)
        if betweens is not None:
            betweens.append(spent)
        # The order turns each telegram, so no one is always first after the clock moved.
        turn = index % (len(feeding) + 1)
        order = [*feeding, None]
        order = order[turn:] + order[:turn]
        for contender in order:
            if contender is None:
                harness.append(await null.send(b""))
            else:
                contender.cpu.append(await contender.line.send(contender.blobs[index]))
        if sample is not None:
            await sample(index)
    await hass.async_block_till_done()
    return harness


class LoopClock:
    """The loop's clock for the run: as Home Assistant runs it, not as the harness does.

    The harness runs the loop in asyncio's debug mode (a stack trace taken at every callback and
    future: several times the cost of what is measured) and freezegun's ``time.monotonic``, which
    inspects the caller's stack at every call. Home Assistant runs neither. This turns debug mode off
    and gives the loop a plain clock, moved with the freezer (:meth:`tick`), so timers still fire on
    the frozen timeline.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, freezer: FrozenDateTimeFactory) -> None:
        self._loop = loop
        self._freezer = freezer
        self._debug = loop.get_debug()
        self.now = loop.time()
        loop.set_debug(False)
        loop.time = self.time  # type: ignore[method-assign]
        # Frozen time without freezegun's look at the caller's stack on every call (a few microseconds
        # each: Home Assistant reads the time many times per state written), and Home Assistant's
        # utcnow a plain function of the frozen instant, as fast as the real one.
        self._inspection = freezegun.api.call_stack_inspection_limit
        freezegun.api.call_stack_inspection_limit = 0
        self._utcnow = dt_util.utcnow
        self.utc = self._real(dt_util.utcnow())
        dt_util.utcnow = util.utcnow = self.utcnow  # type: ignore[assignment]

    @staticmethod
    def _real(instant: datetime) -> datetime:
        return freezegun.api.real_datetime.fromtimestamp(instant.timestamp(), UTC)  # type: ignore[attr-defined,no-any-return]

    def utcnow(self) -> datetime:
        """Home Assistant's utcnow during the run."""
        return self.utc

    def time(self) -> float:
        """The loop's time."""
        return self.now

    def tick(self, delta: timedelta) -> None:
        """Home Assistant's clock and the loop's ``delta`` further."""
        self._freezer.tick(delta)
        self.now += delta.total_seconds()
        self.utc += delta

    def move_to(self, instant: datetime) -> None:
        """Home Assistant's clock to ``instant``, the loop's as far (only forward)."""
        delta = instant - self.utc
        self._freezer.move_to(instant)
        self.now += max(0.0, delta.total_seconds())
        self.utc = self._real(instant)

    def close(self) -> None:
        """The loop and Home Assistant as the harness had them."""
        del self._loop.time  # type: ignore[method-assign]
        self._loop.set_debug(self._debug)
        freezegun.api.call_stack_inspection_limit = self._inspection
        dt_util.utcnow = util.utcnow = self._utcnow  # type: ignore[assignment]


@pytest.fixture
async def clock(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> AsyncIterator[LoopClock]:
    """The run's clock (see :class:`LoopClock`); Home Assistant in the meter's time zone."""
    await hass.config.async_set_time_zone(TIME_ZONE)
    made = LoopClock(asyncio.get_running_loop(), freezer)
    try:
        yield made
    finally:
        made.close()


async def between(clock: LoopClock) -> float:
    """The 2.5 s to the next telegram in steps of 0.5 s, each run by the loop; its CPU seconds.

    The loop's clock is the frozen one: its timers (a listener's quiet-gap timeout, a watchdog) fire
    as they would in these 2.5 s, at the step after they are due.
    """
    started = time.thread_time()
    for _ in range(SUBSTEPS):
        clock.tick(EVERY / SUBSTEPS)
        for _ in range(3):
            await asyncio.sleep(0)
    return time.thread_time() - started


DSMR_TELEGRAMS: list[int] = [0]
"""Telegrams dsmr_parser's protocol was handed (counted by :func:`count_dsmr_telegrams`)."""


@pytest.fixture
def count_dsmr_telegrams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count the telegrams dsmr's protocol handles (one call more per telegram, well under a microsecond)."""
    try:
        from dsmr_parser.clients.protocol import DSMRProtocol  # noqa: PLC0415 - bench site only
    except ImportError:
        return
    original = DSMRProtocol.handle_telegram
    DSMR_TELEGRAMS[0] = 0

    def counted(self: DSMRProtocol, telegram: str) -> None:
        DSMR_TELEGRAMS[0] += 1
        original(self, telegram)

    monkeypatch.setattr(DSMRProtocol, "handle_telegram", counted)


def _check_all_read(hass: HomeAssistant, household: Household, feeding: list[Contender], count: int) -> None:
    """Every contender read every telegram (ours: the last one's energy is in the coordinator's data)."""
    energy_wh = int(household.energy[count - 1])
    for contender in feeding:
        if contender.name == "dsmr":
            assert DSMR_TELEGRAMS[0] == count, DSMR_TELEGRAMS
            continue
        coordinator = contender.entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        reading = coordinator.data.readings[IMPORT_T1]
        assert isinstance(reading.value, int | float)
        shown = reading.value * 1000 if reading.unit == "kWh" else reading.value
        assert shown == pytest.approx(energy_wh, abs=0.5), (contender.name, reading)


# --- the recorder --------------------------------------------------------------------------------------


def _rows(hass: HomeAssistant, entity_ids: list[str], since: datetime, until: datetime) -> dict[str, int]:
    with session_scope(hass=hass, read_only=True) as session:
        query = (
            select(StatesMeta.entity_id, func.count(States.state_id))
            .join(States, States.metadata_id == StatesMeta.metadata_id)
            .where(StatesMeta.entity_id.in_(entity_ids))
            .where(States.last_updated_ts > since.timestamp())
            .where(States.last_updated_ts <= until.timestamp())
            .group_by(StatesMeta.entity_id)
        )
        return {str(entity_id): count for entity_id, count in session.execute(query).tuples()}


async def state_rows(
    hass: HomeAssistant, entity_ids: list[str], since: datetime, until: datetime
) -> dict[str, int]:
    """Rows in the states table per entity, written after ``since`` up to ``until``."""
    await async_wait_recording_done(hass)
    return await get_instance(hass).async_add_executor_job(_rows, hass, entity_ids, since, until)


async def five_minute_means(
    hass: HomeAssistant, entity_ids: list[str], start: datetime, periods: int
) -> dict[str, list[float]]:
    """The recorder's 5-minute means (compiled now, period by period) of each entity, in W."""
    await async_wait_recording_done(hass)
    for period in range(periods):
        do_adhoc_statistics(hass, start=start + period * PERIOD)
        await async_wait_recording_done(hass)
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        start + periods * PERIOD,
        set(entity_ids),
        "5minute",
        {"power": "W"},
        {"mean"},
    )
    means: dict[str, list[float]] = {}
    for entity_id in entity_ids:
        rows = found.get(entity_id, [])
        means[entity_id] = [float(row["mean"]) for row in rows if row.get("mean") is not None]
    return means


def _errors(means: list[float], truth: list[float]) -> dict[str, float]:
    relative = [abs(mean - true) / true for mean, true in zip(means, truth, strict=True)]
    return {"mean_percent": 100 * statistics.fmean(relative), "max_percent": 100 * max(relative)}


# --- the tests -----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _integrations(recorder_mock: Recorder, enable_custom_integrations: None, socket_enabled: None) -> None:
    """The recorder first (the harness requires it), this repository's integration, TCP on 127.0.0.1."""


def _start() -> datetime:
    """The first telegram's instant: on an hour (the statistics periods line up with the telegrams).

    A winter day: the simulated meter's clock is UTC+1 without daylight saving, as Dutch meters are in
    winter, and Home Assistant is in Europe/Amsterdam (:func:`clock`), so the meter's time stamps are
    what a Dutch user's Home Assistant reads.
    """
    return START


def _per_telegram(cpu: list[float], harness: list[float]) -> float:
    """Microseconds per telegram: the mean of the contender's samples less the harness's."""
    return (statistics.fmean(cpu) - statistics.fmean(harness)) * 1e6


def _hour_count() -> int:
    return int(os.environ.get("DLMS_BENCH_HA_TELEGRAMS", str(HOUR_TELEGRAMS)))


@pytest.mark.usefixtures("count_dsmr_telegrams")
@pytest.mark.parametrize("expected_lingering_timers", [True])  # dsmr leaves its keep-alive timer
async def test_an_hour_at_the_defaults(hass: HomeAssistant, clock: LoopClock) -> None:
    """Loop CPU, state rows and 5-minute means, ours (P1 and HDLC) and dsmr, each at its defaults."""
    count = _hour_count()
    start = _start()
    household = Household(start, count)
    only = os.environ.get("DLMS_BENCH_HA_ONLY")  # one contender (profiling; the smoke test: ours-p1)
    which = ("ours-p1", "ours-hdlc", "dsmr") if not only else (only,)
    clock.move_to(start - timedelta(seconds=60))
    null = NullLine(asyncio.get_running_loop())
    async with contenders(
        hass, household, count, ours_interval=None, dsmr_interval=None, which=which
    ) as feeding:
        clock.move_to(start)  # dsmr's throttle counted its connect: a minute later its first telegram passes
        await _first(hass, feeding)
        with profiled():
            harness = await feed(hass, clock, feeding, null, count)
        _check_all_read(hass, household, feeding, count)
        end = start + (count - 1) * EVERY
        periods = int((end - start) / PERIOD)
        truth = household.period_means(periods)
        results: dict[str, Any] = {
            "telegrams": count,
            "values": len(VALUES),
            "harness_us": statistics.fmean(harness) * 1e6,
        }
        for contender in feeding:
            rows = await state_rows(hass, contender.entity_ids, start, end)
            figures: dict[str, Any] = {
                "loop_us": _per_telegram(contender.cpu, harness),
                "loop_median_us": (statistics.median(contender.cpu) - statistics.median(harness)) * 1e6,
                "rows": sum(rows.values()),
                "rows_per_hour": sum(rows.values()) * 3600 / (end - start).total_seconds(),
                "power_rows_per_hour": rows.get(contender.power, 0) * 3600 / (end - start).total_seconds(),
                "setup_ms": contender.setup_ms,
            }
            if periods:
                means = (await five_minute_means(hass, [contender.power], start, periods))[contender.power]
                figures["five_minute"] = _errors(means, truth) | {"periods": len(means)}
                assert len(means) == periods, means
            results[contender.name] = figures
        results["truth_five_minute_w"] = [round(value, 1) for value in truth]
        record("defaults", results)
        if "dsmr" in which:
            record("dsmr_version", f"(dsmr_parser {importlib.metadata.version('dsmr_parser')})")
        null.close()


@pytest.mark.usefixtures("count_dsmr_telegrams")
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_every_telegram(hass: HomeAssistant, clock: LoopClock) -> None:
    """Loop CPU with every telegram written: our update_interval 0, dsmr's time_between_update 0."""
    count = int(os.environ.get("DLMS_BENCH_HA_EVERY", "400"))
    start = _start()
    household = Household(start, count)
    clock.move_to(start - timedelta(seconds=60))
    null = NullLine(asyncio.get_running_loop())
    async with contenders(hass, household, count, ours_interval=0, dsmr_interval=0) as feeding:
        clock.move_to(start)
        await _first(hass, feeding)
        harness = await feed(hass, clock, feeding, null, count)
        _check_all_read(hass, household, feeding, count)
        record(
            "every_telegram",
            {contender.name: {"loop_us": _per_telegram(contender.cpu, harness)} for contender in feeding}
            | {"telegrams": count},
        )
        null.close()


@contextlib.contextmanager
def profiled() -> Iterator[None]:
    """CProfile of the loop thread when ``DLMS_BENCH_HA_PROFILE`` names a file (the stats go there)."""
    target = os.environ.get("DLMS_BENCH_HA_PROFILE")
    if not target:
        yield
        return
    import cProfile  # noqa: PLC0415 - on demand

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(target)


HARNESS_FILES = (
    "*/benchmarks/*",
    "*/freezegun/*",
    "*/unittest/mock.py",
    "*/_pytest/*",
    "*/pytest_*",
    "*/tracemalloc.py",
    "<unknown>",
)
"""What the measurement itself keeps (its samples, the freezer's and mocks' records, tracemalloc's
snapshots): not Home Assistant's."""


def _heap() -> tracemalloc.Snapshot:
    """The traced heap less what the benchmark and the harness hold."""
    return tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(inclusive=False, filename_pattern=pattern) for pattern in HARNESS_FILES]
    )


def _rss_kib() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.parametrize("expected_lingering_timers", [True])
@pytest.mark.parametrize("name", ["ours-p1", "dsmr"])
async def test_memory_over_an_hour(hass: HomeAssistant, clock: LoopClock, name: str) -> None:
    """Python heap (tracemalloc, after a collection) and RSS every 5 minutes of telegrams, one integration."""
    count = _hour_count()
    start = _start()
    household = Household(start, count)
    clock.move_to(start - timedelta(seconds=60))
    null = NullLine(asyncio.get_running_loop())
    per_period = round(PERIOD / EVERY)
    traced: list[int] = []
    rss: list[int] = []
    interval = os.environ.get("DLMS_BENCH_HA_MEMORY_INTERVAL")  # another setting than the defaults
    every = int(interval) if interval else None
    async with contenders(
        hass, household, count, ours_interval=every, dsmr_interval=every, which=(name,)
    ) as feeding:
        clock.move_to(start)
        await _first(hass, feeding)
        depth = int(os.environ.get("DLMS_BENCH_HA_TRACE_DEPTH", "1"))  # more to find what grows
        tracemalloc.start(depth)
        first: tracemalloc.Snapshot | None = None

        async def sample(index: int) -> None:
            nonlocal first
            if index % per_period == 0:
                # What the recorder has not written yet is held in memory: an hour of telegrams in
                # seconds outruns it, a real hour does not.
                await async_wait_recording_done(hass)
                # The harness's storage mock keeps the data of every write a Store makes (its call
                # records): Home Assistant does not.
                for method in (storage.Store._async_write_data, storage.Store.async_remove):
                    getattr(method, "reset_mock", lambda: None)()
                gc.collect()
                snapshot = _heap()
                traced.append(sum(stat.size for stat in snapshot.statistics("filename")))
                rss.append(_rss_kib())
                if first is None:
                    first = snapshot

        try:
            await feed(hass, clock, feeding, null, count, sample=sample)
            await async_wait_recording_done(hass)
            gc.collect()
            last = _heap()
        finally:
            tracemalloc.stop()
        assert first is not None
        if depth > 1:
            for stat in last.compare_to(first, "traceback")[:5]:
                print(f"\ngrowth {stat.size_diff / 1024:+.1f} KiB, {stat.count_diff:+d} blocks:")
                print("\n".join(stat.traceback.format()[-2 * depth :]))
        growth = [
            f"{stat.traceback[0].filename.rsplit('site-packages/', 1)[-1]}:{stat.traceback[0].lineno} "
            f"{stat.size_diff / 1024:+.0f} KiB"
            for stat in last.compare_to(first, "lineno")[:4]
        ]
        record(
            f"memory_{name}",
            {
                "traced_kib": [round(value / 1024) for value in traced],
                "rss_kib": rss,
                "largest_growth": growth,
            },
        )
        null.close()


@pytest.mark.usefixtures("count_dsmr_telegrams")
@pytest.mark.parametrize("expected_lingering_timers", [True])
@pytest.mark.parametrize("name", ["none", "ours-p1", "dsmr"])
async def test_between_telegrams(hass: HomeAssistant, clock: LoopClock, name: str) -> None:
    """The loop's CPU in the 2.5 s between two telegrams (timers: a quiet-gap timeout, a watchdog), one entry.

    ``none``: no entry (Home Assistant's and the harness's own); each entry's share is the difference.
    """
    count = int(os.environ.get("DLMS_BENCH_HA_QUIET", "400"))
    start = _start()
    household = Household(start, count)
    clock.move_to(start - timedelta(seconds=60))
    which = () if name == "none" else (name,)
    null = NullLine(asyncio.get_running_loop())
    async with contenders(
        hass, household, count, ours_interval=None, dsmr_interval=None, which=which
    ) as feeding:
        clock.move_to(start)
        if feeding:
            await _first(hass, feeding)
        spent: list[float] = []
        await feed(hass, clock, feeding, null, count, betweens=spent)
        record(f"between_{name}", {"us_per_2_5_s": statistics.fmean(spent) * 1e6, "telegrams": count})
        null.close()
