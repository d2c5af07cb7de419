"""Sensors of a polled meter's own state: clock drift, disconnector, limiter thresholds.

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
from .dlms.units import ScalerUnit
from .entity import DlmsCosemEntity
from .meter_state import (
    CLOCK,
    CLOCK_CLASS_ID,
    THRESHOLDS,
    ControlState,
    control_state,
    disconnect_controls,
    limiters,
    output_state,
    threshold,
)
from .models import DlmsCosemConfigEntry, MeterSnapshot
from .obis_catalog import ha_unit

#: Device classes of the units a limiter's thresholds may come in (those Home Assistant converts).
_THRESHOLD_DEVICE_CLASSES = {
    "W": SensorDeviceClass.POWER,
    "VA": SensorDeviceClass.APPARENT_POWER,
    "A": SensorDeviceClass.CURRENT,
    "V": SensorDeviceClass.VOLTAGE,
}

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
LIMITER_THRESHOLD_KEYS = {name: f"limiter_threshold_{name}" for name in THRESHOLDS}
#: The translation keys of these sensors (names and enum states in strings.json).
CONTROL_SENSOR_KEYS = frozenset(
    str(description.translation_key)
    for description in (CLOCK_DRIFT, DISCONNECTOR_OUTPUT, DISCONNECTOR_CONTROL_STATE)
) | frozenset(LIMITER_THRESHOLD_KEYS.values())


def control_sensors(entry: DlmsCosemConfigEntry) -> list[SensorEntity]:
    """The clock drift and disconnector sensors the meter's object list calls for."""
    classes: dict[ObisCode, int] = getattr(entry.runtime_data.coordinator, "object_classes", {})
    entities: list[SensorEntity] = []
    if classes.get(CLOCK) == CLOCK_CLASS_ID:
        entities.append(ClockDriftSensor(entry))
    for obis in disconnect_controls(classes):
        entities.append(DisconnectorSensor(entry, obis, DISCONNECTOR_OUTPUT))
        entities.append(DisconnectorSensor(entry, obis, DISCONNECTOR_CONTROL_STATE))
    units: dict[ObisCode, ScalerUnit | None] = getattr(entry.runtime_data.coordinator, "limiter_units", {})
    for obis in limiters(classes):
        scaler_unit = units.get(obis)
        for name, attribute in THRESHOLDS.items():
            entities.append(LimiterThresholdSensor(entry, obis, name, attribute, scaler_unit))
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
        drift = self._drift()
        if drift is None:
            return None
        # Whole seconds, as shown: a drift of -0.3 s would otherwise read "-0 s".
        return round(drift) or 0


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


class LimiterThresholdSensor(DlmsCosemEntity, SensorEntity):
    """A limiter threshold (active, normal or emergency), in the unit of the value it limits."""

    def __init__(
        self,
        entry: DlmsCosemConfigEntry,
        obis: ObisCode,
        name: str,
        attribute: int,
        scaler_unit: ScalerUnit | None,
    ) -> None:
        key = LIMITER_THRESHOLD_KEYS[name]
        super().__init__(entry, f"{obis}_{key}")
        unit = ha_unit(scaler_unit.symbol) if scaler_unit is not None else None
        self.entity_description = SensorEntityDescription(
            key=key,
            translation_key=key,
            device_class=_THRESHOLD_DEVICE_CLASSES.get(unit or ""),
            native_unit_of_measurement=unit,
            entity_category=EntityCategory.DIAGNOSTIC,
        )
        self._obis = obis
        self._attribute = attribute
        self._scaler_unit = scaler_unit

    def _value(self) -> int | float | None:
        snapshot: MeterSnapshot | None = self.coordinator.data
        raw = None if snapshot is None else threshold(snapshot.attributes, self._obis, self._attribute)
        if raw is None or self._scaler_unit is None:
            return raw
        return self._scaler_unit.scale(raw)

    @property
    @override
    def available(self) -> bool:
        return super().available and self._value() is not None

    @property
    @override
    def native_value(self) -> int | float | None:
        return self._value()
