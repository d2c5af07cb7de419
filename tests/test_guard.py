"""The plausibility guard on its own: readings in, what may be shown out (no Home Assistant running)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.guard import DisputeKind, HeldReason, PlausibilityGuard
from custom_components.dlms_cosem.models import MeterReading

ENERGY = ObisCode(1, 0, 1, 8, 0, 255)
POWER = ObisCode(1, 0, 1, 7, 0, 255)
VOLTAGE = ObisCode(1, 0, 32, 7, 0, 255)
GAS = ObisCode(0, 1, 24, 2, 1, 255)
START = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


def wh(value: float, raw: int | None = None, captured: datetime | None = None) -> MeterReading:
    return MeterReading(value, "Wh", raw if raw is not None else int(value), captured=captured)


def watts(value: float) -> MeterReading:
    return MeterReading(value, "W", int(value))


def push(
    guard: PlausibilityGuard, at: datetime, energy: float | None = None, power: float | None = None
) -> dict[ObisCode, MeterReading]:
    readings: dict[ObisCode, MeterReading] = {}
    if power is not None:
        readings[POWER] = watts(power)
    if energy is not None:
        readings[ENERGY] = wh(energy)
    return guard.screen(readings, at)


def test_a_household_stream_passes_untouched() -> None:
    guard = PlausibilityGuard()
    energy = 36_694_597.0
    for step in range(200):
        at = START + timedelta(seconds=10 * step)
        power = 2_000.0 + 1_500.0 * math.sin(step / 7)
        shown = push(guard, at, energy, power)
        assert shown[ENERGY].value == energy
        assert shown[POWER].value == power
        energy += round(power * 10 / 3600)
    assert guard.held_total == 0


def test_swapped_bytes_that_keep_the_checksum_are_held_back() -> None:
    """The M-Bus collision of the issue: 0x022FEA45 read as 0x02EA2F45 (36,694,597 Wh -> 48,901,957 Wh)."""
    guard = PlausibilityGuard()
    assert push(guard, START, 36_694_597, 1_200)[ENERGY].value == 36_694_597
    shown = push(guard, START + timedelta(seconds=10), 48_901_957, 1_200)
    assert ENERGY not in shown
    assert shown[POWER].value == 1_200
    held = guard.held[-1]
    assert (held.key, held.value, held.reason, held.last_accepted) == (
        ENERGY,
        48_901_957,
        HeldReason.BEYOND_INSTALLATION,
        36_694_597,
    )
    # The genuine stream goes on and is shown: the held value never was.
    assert push(guard, START + timedelta(seconds=20), 36_694_604, 1_200)[ENERGY].value == 36_694_604
    assert guard.held_counts == {HeldReason.BEYOND_INSTALLATION: 1}
    assert not guard.disputes


def test_a_plausible_looking_outlier_never_makes_the_total_go_back() -> None:
    guard = PlausibilityGuard()
    push(guard, START, 1_000_000, 2_000)
    # A damaged low byte: +40 Wh in 10 s at 2 kW is 14 kW, inside the installation, above the soft bound.
    assert ENERGY not in push(guard, START + timedelta(seconds=10), 1_000_040, 2_000)
    # A damaged value a little above the truth, within what the power allows, is shown...
    assert push(guard, START + timedelta(seconds=20), 1_000_015, 2_000)[ENERGY].value == 1_000_015
    # ...and the true values below it are held until the meter reaches it: no negative step.
    shown_values = []
    for step in range(3, 12):
        shown = push(guard, START + timedelta(seconds=10 * step), 1_000_005 + 5 * (step - 3), 2_000)
        shown_values.append(shown[ENERGY].value if ENERGY in shown else None)
    assert shown_values == [None, None, *range(1_000_015, 1_000_050, 5)]
    assert not guard.disputes
    assert guard.held_counts[HeldReason.WENT_BACKWARDS] == 2


def test_a_confirmed_restart_is_disputed_until_the_user_accepts_it() -> None:
    guard = PlausibilityGuard()
    push(guard, START, 5_000_000, 500)
    at = START
    for step in range(1, 4):
        at = START + timedelta(seconds=10 * step)
        assert ENERGY not in push(guard, at, 10 + step, 500)
    dispute = guard.disputes[ENERGY]
    assert (dispute.kind, dispute.last_accepted, dispute.latest) == (DisputeKind.RESTARTED, 5_000_000, 13)
    assert ENERGY not in push(guard, at + timedelta(seconds=10), 15, 500), "held until the user decides"
    assert guard.accept_disputes(at + timedelta(seconds=15)) == [ENERGY]
    assert push(guard, at + timedelta(seconds=20), 16, 500)[ENERGY].value == 16
    assert not guard.disputes


def test_a_confirmed_jump_beyond_the_installation_is_disputed() -> None:
    guard = PlausibilityGuard()
    push(guard, START, 1_000_000)
    for step in range(1, 4):
        assert ENERGY not in push(guard, START + timedelta(seconds=step), 9_000_000 + step)
    assert guard.disputes[ENERGY].kind is DisputeKind.JUMPED


def test_a_fast_rise_the_meter_confirms_is_accepted() -> None:
    """Energy rising faster than the sampled power suggests (a load between samples): shown once confirmed."""
    guard = PlausibilityGuard()
    push(guard, START, 1_000_000, 500)
    shown = [
        push(guard, START + timedelta(seconds=10 * step), 1_000_000 + 30 * step, 500).get(ENERGY)
        for step in range(1, 5)
    ]
    # Once confirmed, the power samples no longer bound this register: it is not held again.
    assert [reading.value if reading else None for reading in shown] == [None, None, 1_000_090, 1_000_120]
    assert guard.confirmed == 1
    assert guard.held_counts == {HeldReason.ROSE_TOO_FAST: 2}
    assert not guard.disputes


def test_the_meters_hourly_stamps_are_its_totals_time() -> None:
    """A meter pushing its energy once an hour stamps it: the rise is over that hour, not the arrival gap."""
    guard = PlausibilityGuard()
    arrival = START + timedelta(days=1)
    for hour in range(5):
        reading = wh(40_000_000 + 3_000 * hour, captured=START + timedelta(hours=hour))
        shown = guard.screen({ENERGY: reading}, arrival + timedelta(seconds=hour))
        assert shown[ENERGY] == reading
    # A damaged clock is not believed: 5 MWh in the 20 hours since the last stamp is beyond the
    # installation (it would fit the 30 days the clock claims).
    future = wh(45_012_000, captured=arrival + timedelta(days=30))
    assert ENERGY not in guard.screen({ENERGY: future}, arrival + timedelta(seconds=6))
    assert guard.held[-1].reason is HeldReason.BEYOND_INSTALLATION


def test_instantaneous_values_stay_in_range_until_the_meter_insists() -> None:
    guard = PlausibilityGuard()
    volts = MeterReading(30_000.0, "V", 300_000)
    assert guard.screen({VOLTAGE: MeterReading(231.0, "V", 2310)}, START)[VOLTAGE].value == 231.0
    assert VOLTAGE not in guard.screen({VOLTAGE: volts}, START + timedelta(seconds=1))
    assert guard.screen({VOLTAGE: MeterReading(230.0, "V", 2300)}, START)[VOLTAGE].value == 230.0
    # A medium-voltage meter showing primary values: three similar readings in a row are believed.
    shown = [
        guard.screen({VOLTAGE: MeterReading(20_000.0 + step, "V", 0)}, START + timedelta(seconds=step))
        for step in range(3)
    ]
    assert [VOLTAGE in found for found in shown] == [False, False, True]
    assert VOLTAGE in guard.screen({VOLTAGE: MeterReading(20_400.0, "V", 0)}, START + timedelta(seconds=4))
    assert guard.held_counts[HeldReason.OUT_OF_RANGE] == 3


def test_numbers_that_are_not_finite_are_never_shown() -> None:
    guard = PlausibilityGuard()
    shown = guard.screen(
        {POWER: MeterReading(math.nan, "W", math.nan), ENERGY: wh(math.inf, raw=0)},
        START,
    )
    assert shown == {}
    assert guard.held_counts == {HeldReason.NOT_FINITE: 2}


def test_text_and_codes_pass() -> None:
    guard = PlausibilityGuard()
    serial = ObisCode(0, 0, 96, 1, 0, 255)
    reading = MeterReading("7340157011274532", None, "7340157011274532")
    assert guard.screen({serial: reading}, START) == {serial: reading}


def test_baselines_survive_a_restart() -> None:
    guard = PlausibilityGuard()
    push(guard, START, 36_694_597)
    stored = guard.baselines()
    again = PlausibilityGuard(stored)
    # The first telegram after the restart is a splice: caught, although nothing was seen since.
    assert ENERGY not in push(again, START + timedelta(minutes=10), 48_901_957)
    assert push(again, START + timedelta(minutes=11), 36_695_100)[ENERGY].value == 36_695_100
    damaged = PlausibilityGuard({"totals": {"1.0.1.8.0.255": {"value": "x"}, "junk": {}}, "max_power_w": "?"})
    assert damaged.baselines()["totals"] == {}


def test_gas_volume_is_bounded_by_the_flow() -> None:
    guard = PlausibilityGuard()
    gas = MeterReading(1234.567, "m³", 1234567)
    assert guard.screen({GAS: gas}, START)[GAS] == gas
    assert GAS not in guard.screen({GAS: MeterReading(9234.567, "m³", 9234567)}, START + timedelta(hours=1))
    assert (
        guard.screen({GAS: MeterReading(1236.1, "m³", 1236100)}, START + timedelta(hours=2))[GAS].value
        == 1236.1
    )


def test_profile_rows_that_cannot_be_true_stay_out_of_the_statistics() -> None:
    guard = PlausibilityGuard()
    push(guard, START + timedelta(hours=5, minutes=30), 4_050_000)
    rows = [
        wh(4_000_000, captured=START + timedelta(hours=1)),
        wh(4_010_000, captured=START + timedelta(hours=2)),
        wh(9_999_999, captured=START + timedelta(hours=3)),  # ahead of the register itself
        wh(4_020_000, captured=START + timedelta(hours=4)),
        wh(4_030_000, captured=START + timedelta(hours=5)),
    ]
    kept = guard.plausible_rows(ENERGY, rows)
    assert [row.value for row in kept] == [4_000_000, 4_010_000, 4_020_000, 4_030_000]
    assert guard.history_rows_dropped == 1
    jump = [wh(4_000_000, captured=START), wh(4_400_000, captured=START + timedelta(hours=1))]
    assert [row.value for row in guard.plausible_rows(ENERGY, jump)] == [4_000_000]


def test_a_damaged_oldest_row_cannot_pull_the_hours_after_it_down() -> None:
    """Rows are anchored at the register: a low first row is the one left out, not the true ones."""
    guard = PlausibilityGuard()
    at = START + timedelta(hours=9)
    push(guard, at + timedelta(minutes=30), 1_003_000)
    rows = [
        wh(503_000, captured=at - timedelta(hours=2)),
        wh(1_001_000, captured=at - timedelta(hours=1)),
        wh(1_002_000, captured=at),
    ]
    assert [row.value for row in guard.plausible_rows(ENERGY, rows)] == [1_001_000, 1_002_000]


def test_switched_off_it_holds_nothing() -> None:
    guard = PlausibilityGuard(enabled=False)
    push(guard, START, 36_694_597)
    assert push(guard, START + timedelta(seconds=1), 48_901_957)[ENERGY].value == 48_901_957
    assert guard.held_total == 0


def test_the_totals_of_a_meters_first_telegram_are_all_believed() -> None:
    guard = PlausibilityGuard()
    export = ObisCode(1, 0, 2, 8, 0, 255)
    shown = guard.screen({ENERGY: wh(36_694_597), export: wh(24_590_725)}, START)
    assert set(shown) == {ENERGY, export}
    assert guard.held_total == 0


def test_a_total_under_a_damaged_name_waits_for_confirmation() -> None:
    """A flipped logical-name byte makes a total the meter never sends: it is not believed at once."""
    guard = PlausibilityGuard()
    push(guard, START, 36_694_597)
    misnamed = ObisCode(1, 0, 1, 8, 8, 255)
    shown = guard.screen({misnamed: wh(36_694_600)}, START + timedelta(seconds=10))
    assert shown == {}
    assert guard.held[-1].reason is HeldReason.NEW_REGISTER
    # A register the meter really starts sending (a new tariff) is shown from its third telegram.
    tariff = ObisCode(1, 0, 1, 8, 1, 255)
    found = [
        tariff in guard.screen({tariff: wh(1_000 + step)}, START + timedelta(seconds=20 + 10 * step))
        for step in range(4)
    ]
    assert found == [False, False, True, True]
    # The meter's first telegrams, with no total known yet, are believed at once.
    assert ENERGY in push(PlausibilityGuard(), START, 36_694_597)


def test_a_total_measured_before_the_accepted_one_is_held() -> None:
    """Another telegram's (or a damaged) clock on a later value: it would go to the wrong hour."""
    guard = PlausibilityGuard()
    first = START + timedelta(minutes=59, seconds=50)
    assert ENERGY in guard.screen({ENERGY: wh(1_000_000, captured=first)}, first)
    top = START + timedelta(minutes=59, seconds=30)  # the clock went back 20 s, the energy forward
    arrival = first + timedelta(seconds=10)
    assert ENERGY not in guard.screen({ENERGY: wh(1_000_004, captured=top)}, arrival)
    assert guard.held[-1].reason is HeldReason.CLOCK_WENT_BACK
    after = first + timedelta(seconds=20)
    assert guard.screen({ENERGY: wh(1_000_008, captured=after)}, after)[ENERGY].value == 1_000_008


def test_a_replaced_meter_is_recognised_by_its_identity() -> None:
    guard = PlausibilityGuard()
    guard.observe_meter("7340157011274532")
    push(guard, START, 36_694_597)
    # One damaged serial number is no new meter.
    guard.observe_meter("7340157011274533")
    assert push(guard, START + timedelta(seconds=10), 36_694_600)[ENERGY].value == 36_694_600
    # The new meter says so in three telegrams in a row: its totals, whatever they are, wait for the user.
    for _ in range(3):
        guard.observe_meter("7359992890011234")
    assert ENERGY not in push(guard, START + timedelta(seconds=20), 36_694_610)
    dispute = guard.disputes[ENERGY]
    assert (dispute.kind, dispute.last_accepted, dispute.latest) == (
        DisputeKind.REPLACED,
        36_694_600,
        36_694_610,
    )
    assert ENERGY not in push(guard, START + timedelta(seconds=30), 36_694_620)
    assert guard.disputes[ENERGY].latest == 36_694_620
    guard.accept_disputes(START + timedelta(seconds=35))
    assert push(guard, START + timedelta(seconds=40), 36_694_630)[ENERGY].value == 36_694_630
    assert PlausibilityGuard(guard.baselines()).meter_identity == "7359992890011234"


def test_a_polled_serial_number_is_believed_at_once() -> None:
    guard = PlausibilityGuard()
    guard.observe_meter("LGZ1030655933512", checked=True)
    push(guard, START, 5_000_000)
    guard.observe_meter("LGZ9999999999999", checked=True)
    assert ENERGY not in push(guard, START + timedelta(seconds=30), 12)
    assert guard.disputes[ENERGY].kind is DisputeKind.REPLACED


def test_a_total_that_stays_a_little_below_for_an_hour_is_disputed() -> None:
    """A meter replaced by one reading 5 % less, with no identity in its telegrams: not a stall forever."""
    guard = PlausibilityGuard()
    push(guard, START, 5_000_000, 1_000)
    disputed_at = []
    for minute in range(1, 62):
        assert ENERGY not in push(guard, START + timedelta(minutes=minute), 4_750_000 + 20 * minute, 1_000)
        if ENERGY in guard.disputes:
            disputed_at.append(minute)
    assert disputed_at[0] == 61, "an hour after the first reading below"
    assert guard.disputes[ENERGY].kind is DisputeKind.RESTARTED
    assert guard.disputes[ENERGY].latest == 4_750_000 + 20 * 61


def test_a_damaged_unit_is_held_until_the_meter_keeps_it() -> None:
    """Wh (0x1E) read as J (0x19): one damaged unit byte must not reset the baseline."""
    guard = PlausibilityGuard()
    push(guard, START, 36_694_597)
    joules = MeterReading(36_694_600.0, "J", 36_694_600)
    assert ENERGY not in guard.screen({ENERGY: joules}, START + timedelta(seconds=10))
    assert guard.held[-1].reason is HeldReason.UNIT_CHANGED
    assert push(guard, START + timedelta(seconds=20), 36_694_605)[ENERGY].value == 36_694_605
    # A meter that really changed its unit says so in three readings in a row.
    shown = [
        ENERGY
        in guard.screen(
            {ENERGY: MeterReading(132_100_000.0 + step, "J", 0)}, START + timedelta(seconds=30 + step)
        )
        for step in range(3)
    ]
    assert shown == [False, False, True]


def test_a_clock_ahead_puts_no_value_into_an_hour_that_has_not_ended() -> None:
    """A damaged hour byte (08:00 read as 09:00): the value may show, but it goes to no hour."""
    guard = PlausibilityGuard()
    eight = START + timedelta(hours=1)
    guard.screen({ENERGY: wh(40_000_000, captured=START)}, START + timedelta(seconds=2))
    shown = guard.screen(
        {ENERGY: wh(40_003_000, captured=eight + timedelta(hours=1))}, eight + timedelta(seconds=2)
    )
    assert shown[ENERGY].value == 40_003_000
    assert shown[ENERGY].captured is None
    # The genuine 09:00 reading an hour later is not held as if an hour had not passed.
    nine = eight + timedelta(hours=1)
    assert (
        guard.screen({ENERGY: wh(40_006_000, captured=nine)}, nine + timedelta(seconds=2))[ENERGY].captured
        == nine
    )


def test_a_site_drawing_more_than_the_default_is_believed_after_three_readings() -> None:
    """300 kW, energy only, polled every minute: held three times, then shown for good (no dispute)."""
    guard = PlausibilityGuard()
    shown = [
        ENERGY in push(guard, START + timedelta(minutes=minute), 90_000_000 + 5_000 * minute)
        for minute in range(12)
    ]
    assert shown == [True, False, False, True, *[True] * 8]
    assert not guard.disputes
    assert PlausibilityGuard(guard.baselines()).baselines()["totals"][str(ENERGY)]["learned_rate"] > 0


def test_what_the_meter_confirmed_and_open_disputes_survive_a_restart() -> None:
    guard = PlausibilityGuard()
    push(guard, START, 5_000_000)
    for step in range(1, 4):
        push(guard, START + timedelta(seconds=10 * step), 10 + step)
    assert guard.screen({VOLTAGE: MeterReading(20_000.0, "V", 0)}, START) == {}
    for step in range(2):
        guard.screen({VOLTAGE: MeterReading(20_001.0 + step, "V", 0)}, START)
    again = PlausibilityGuard(guard.baselines())
    assert set(again.disputes) == {ENERGY}
    assert again.disputes[ENERGY] == guard.disputes[ENERGY]
    assert VOLTAGE in again.screen({VOLTAGE: MeterReading(20_010.0, "V", 0)}, START + timedelta(minutes=1))
    assert again.accept_disputes(START + timedelta(minutes=2)) == [ENERGY]


def test_damaged_names_cannot_grow_what_the_guard_remembers() -> None:
    guard = PlausibilityGuard()
    push(guard, START, 1_000_000)
    for index in range(20_000):
        name = ObisCode(1, index % 200, 1, 8, index // 200 % 250, 255)
        guard.screen(
            {
                name: wh(5.0),
                ObisCode(1, index % 200, 32, 7, index // 200 % 250, 255): MeterReading(9e9, "V", 0),
            },
            START,
        )
    assert len(guard._pending) <= 64
    assert len(guard._instants) <= 257
    assert len(guard._logged) <= 513
