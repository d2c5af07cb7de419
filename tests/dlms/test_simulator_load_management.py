"""Limiter (class 71) and Demand Register (class 5) of the simulator, object by object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.simulator.access import (
    AccessFailureError,
    AccessLevel,
    AttributeAccess,
)
from custom_components.dlms_cosem.dlms.simulator.demand_register import DemandRegister
from custom_components.dlms_cosem.dlms.simulator.electricity import seconds_since_reference
from custom_components.dlms_cosem.dlms.simulator.limiter import LIMITER, Limiter
from custom_components.dlms_cosem.dlms.simulator.load_management import (
    CURRENT_AVERAGE_DEMAND_IMPORT,
    add_load_management,
)
from custom_components.dlms_cosem.dlms.simulator.logical_names import ACTIVE_POWER_IMPORT
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter

NOW = datetime(2026, 12, 3, 2, 20, 7, tzinfo=UTC)


def meter(now: datetime = NOW) -> SimulatedMeter:
    simulated = SimulatedMeter(lambda: now)
    add_load_management(simulated)
    return simulated


def test_limiter_shows_what_it_monitors_and_takes_new_thresholds() -> None:
    simulated = meter()
    limiter = simulated.find(LIMITER)
    assert isinstance(limiter, Limiter)
    context = simulated.context()
    assert limiter.get(2, context) == Data.structure(
        Data.long_unsigned(3), Data.octet_string(ACTIVE_POWER_IMPORT.to_bytes()), Data.integer(2)
    )
    assert limiter.get(3, context) == limiter.get(4, context) == Data.double_long_unsigned(17_250)
    limiter.emergency_active = True
    assert limiter.get(3, context) == Data.double_long_unsigned(4_600)
    limiter.set(4, Data.double_long_unsigned(9_000), context)
    assert limiter.normal == 9_000
    with pytest.raises(AccessFailureError, match="double-long-unsigned"):
        limiter.set(5, Data.long_unsigned(9_000), context)
    with pytest.raises(AccessFailureError):
        limiter.set(3, Data.double_long_unsigned(1), context)  # the active threshold follows the profile
    assert limiter.attribute_access(4, AccessLevel.MANAGEMENT) is AttributeAccess.READ_AND_WRITE
    assert limiter.attribute_access(3, AccessLevel.MANAGEMENT) is AttributeAccess.READ_ONLY


def test_demand_register_averages_over_its_periods() -> None:
    simulated = meter()
    demand = simulated.find(CURRENT_AVERAGE_DEMAND_IMPORT)
    assert isinstance(demand, DemandRegister)
    context = simulated.context()
    current = demand.get(2, context).value
    last = demand.get(3, context).value
    assert isinstance(current, int)
    assert isinstance(last, int)
    assert 100 < current < 2000
    assert 100 < last < 2000
    captured = demand.get(6, context).value
    assert isinstance(captured, bytes)
    start = CosemDateTime.from_bytes(captured).to_datetime()
    assert start == datetime(2026, 12, 3, 2, 15, tzinfo=UTC)  # shown in the meter's zone (UTC+1)
    assert demand.get(8, context) == Data.double_long_unsigned(900)
    # A quarter of an hour later, the last average is this period's, complete: its energy over 900 s.
    later = meter(NOW + timedelta(minutes=15))
    later_demand = later.find(CURRENT_AVERAGE_DEMAND_IMPORT)
    assert isinstance(later_demand, DemandRegister)
    energy = simulated.electricity.import_energy
    start_s = seconds_since_reference(datetime(2026, 12, 3, 2, 15, tzinfo=UTC))
    expected = round((energy(start_s + 900) - energy(start_s)) * 3600 / 900)
    assert later_demand.get(3, later.context()) == Data.double_long_unsigned(expected)
    # And the current average so far covers the 307 s since 02:15.
    assert current == round((energy(start_s + 307) - energy(start_s)) * 3600 / 307)
