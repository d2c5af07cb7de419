"""Sensors of a polled meter's own state: the clock's drift and the disconnector's output and control state.

They read what the coordinator's poll keeps beside the values (:mod:`.meter_state`), so they exist
only for objects the association lists.
"""

from __future__ import annotations

from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime

from .dlms.obis import ObisCode
from .entity import DlmsCosemEntity
from .meter_state import CLOCK, CLOCK_CLASS_ID, ControlState, control_state, disconnect_controls, output_state
from .models import DlmsCosemConfigEntry, MeterSnapshot

CLOCK_DRIFT = SensorEntityDescription(
    key="clock_drift",
    translation_key="clock_drift",
    device_class=SensorDeviceClass.DURATION,
    native_unit_of_measurement=UnitOfTime.SECONDS,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=0,
    entity_category=EntityCategory.DIAGNOSTIC,
)
OUTPUT_STATES = ["connected", "disconnected"]
DISCONNECTOR_OUTPUT = SensorEntityDescription(
    key="output_state",
    translation_key="disconnector_output",
    device_class=SensorDeviceClass.ENUM,
    options=OUTPUT_STATES,
)
DISCONNECTOR_CONTROL_STATE = SensorEntityDescription(
    key="control_state",
    translation_key="disconnector_control_state",
    device_class=SensorDeviceClass.ENUM,
    options=[state.value for state in ControlState],
)
#: The translation keys of these sensors (names and enum states in strings.json).
CONTROL_SENSOR_KEYS = frozenset(
    str(description.translation_key)
    for description in (CLOCK_DRIFT, DISCONNECTOR_OUTPUT, DISCONNECTOR_CONTROL_STATE)
)


def control_sensors(entry: DlmsCosemConfigEntry) -> list[SensorEntity]:
    """The clock drift and disconnector sensors the meter's object list calls for."""
    classes: dict[ObisCode, int] = getattr(entry.runtime_data.coordinator, "object_classes", {})
    entities: list[SensorEntity] = []
    if classes.get(CLOCK) == CLOCK_CLASS_ID:
        entities.append(ClockDriftSensor(entry))
    for obis in disconnect_controls(classes):
        entities.append(DisconnectorSensor(entry, obis, DISCONNECTOR_OUTPUT))
        entities.append(DisconnectorSensor(entry, obis, DISCONNECTOR_CONTROL_STATE))
    return entities


class ClockDriftSensor(DlmsCosemEntity, SensorEntity):
    """Seconds the meter's clock is ahead of Home Assistant's (negative: behind), at every poll."""

    entity_description = CLOCK_DRIFT

    def __init__(self, entry: DlmsCosemConfigEntry) -> None:
        super().__init__(entry, CLOCK_DRIFT.key)

    def _drift(self) -> float | None:
        snapshot: MeterSnapshot | None = self.coordinator.data
        return None if snapshot is None else snapshot.clock_drift

    @property
    @override
    def available(self) -> bool:
        return super().available and self._drift() is not None

    @property
    @override
    def native_value(self) -> float | None:
        return self._drift()


class DisconnectorSensor(DlmsCosemEntity, SensorEntity):
    """The disconnector's output (connected or not) or its control state."""

    def __init__(
        self, entry: DlmsCosemConfigEntry, obis: ObisCode, description: SensorEntityDescription
    ) -> None:
        super().__init__(entry, f"{obis}_{description.key}")
        self.entity_description = description
        self._obis = obis

    def _state(self) -> str | None:
        snapshot: MeterSnapshot | None = self.coordinator.data
        if snapshot is None:
            return None
        if self.entity_description is DISCONNECTOR_OUTPUT:
            connected = output_state(snapshot.attributes, self._obis)
            return None if connected is None else OUTPUT_STATES[0 if connected else 1]
        state = control_state(snapshot.attributes, self._obis)
        return None if state is None else state.value

    @property
    @override
    def available(self) -> bool:
        return super().available and self._state() is not None

    @property
    @override
    def native_value(self) -> str | None:
        return self._state()
