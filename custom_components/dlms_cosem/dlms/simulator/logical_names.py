"""Logical names (OBIS codes) and scaler-units of the simulated meter's default object model."""

from __future__ import annotations

from ..obis import ObisCode
from ..units import ScalerUnit, Unit

# Logical names of the default object model.
CURRENT_ASSOCIATION = ObisCode(0, 0, 40, 0, 0, 255)
LOGICAL_DEVICE_NAME = ObisCode(0, 0, 42, 0, 0, 255)
SERIAL_NUMBER = ObisCode(0, 0, 96, 1, 0, 255)
CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
SECURITY_SETUP = ObisCode(0, 0, 43, 0, 0, 255)
FRAME_COUNTER = ObisCode(0, 0, 43, 1, 0, 255)
ACTIVE_ENERGY_IMPORT = ObisCode(1, 0, 1, 8, 0, 255)
ACTIVE_ENERGY_EXPORT = ObisCode(1, 0, 2, 8, 0, 255)
ACTIVE_POWER_IMPORT = ObisCode(1, 0, 1, 7, 0, 255)
ACTIVE_POWER_EXPORT = ObisCode(1, 0, 2, 7, 0, 255)
LAST_AVERAGE_DEMAND_IMPORT = ObisCode(1, 0, 1, 5, 0, 255)
VOLTAGES = (ObisCode(1, 0, 32, 7, 0, 255), ObisCode(1, 0, 52, 7, 0, 255), ObisCode(1, 0, 72, 7, 0, 255))
CURRENTS = (ObisCode(1, 0, 31, 7, 0, 255), ObisCode(1, 0, 51, 7, 0, 255), ObisCode(1, 0, 71, 7, 0, 255))
FREQUENCY = ObisCode(1, 0, 14, 7, 0, 255)
LOAD_PROFILE = ObisCode(1, 0, 99, 1, 0, 255)

WH = ScalerUnit(0, Unit.WATT_HOUR)
W = ScalerUnit(0, Unit.WATT)
DECIVOLT = ScalerUnit(-1, Unit.VOLT)
CENTIAMPERE = ScalerUnit(-2, Unit.AMPERE)
CENTIHERTZ = ScalerUnit(-2, Unit.HERTZ)
