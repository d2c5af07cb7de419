"""Load management objects a meter may add to the default model: limiter, demand register, alarms.

They are not in the default object list (its answer then no longer fits one APDU for the tests and
tools that read it whole); :func:`add_load_management` adds them to a simulated meter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..axdr import Data
from ..obis import ObisCode
from .demand_register import DemandRegister
from .interface_classes import DataObject, Register
from .limiter import LIMITER, Limiter
from .logical_names import ACTIVE_POWER_IMPORT, W

if TYPE_CHECKING:
    from .model import SimulatedMeter

#: Current average demand of active power import (Demand Register, class 5).
CURRENT_AVERAGE_DEMAND_IMPORT: Final = ObisCode(1, 0, 1, 4, 0, 255)
#: Alarm register 1 (Data, a bitmap the meter sets and management clears).
ALARM_REGISTER_1: Final = ObisCode(0, 0, 97, 98, 0, 255)
#: Event counter 1 (Data).
EVENT_COUNTER_1: Final = ObisCode(0, 0, 96, 15, 0, 255)

#: The limiter's thresholds on the active power import, in W.
NORMAL_THRESHOLD_W: Final = 17_250
EMERGENCY_THRESHOLD_W: Final = 4_600


def add_load_management(meter: SimulatedMeter, *, demand_period: int = 900) -> None:
    """Add a limiter on the power import, its demand register, alarm register 1 and event counter 1."""
    meter.add(
        Limiter(
            LIMITER,
            (Register.class_id, ACTIVE_POWER_IMPORT, 2),
            normal=NORMAL_THRESHOLD_W,
            emergency=EMERGENCY_THRESHOLD_W,
        )
    )
    meter.add(
        DemandRegister(
            CURRENT_AVERAGE_DEMAND_IMPORT,
            meter.electricity.import_energy,
            W,
            meter.clock,
            period=demand_period,
        )
    )
    meter.add(DataObject(ALARM_REGISTER_1, Data.double_long_unsigned(0), writable=True))
    meter.add(DataObject(EVENT_COUNTER_1, Data.long_unsigned(0), writable=True))
