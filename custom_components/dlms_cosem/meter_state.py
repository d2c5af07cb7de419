"""The attributes a poll reads beside the selected values: clock, disconnector, capture times.

They feed the diagnostic and control entities (clock drift, disconnect control, the capture time of
extended and demand registers). The coordinator reads them in one GET-with-list after the values,
only for objects the association lists, and keeps each value by (logical name, attribute).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .dlms.axdr import Data, DataTag
from .dlms.errors import DlmsError
from .dlms.obis import ObisCode
from .dlms.units import ScalerUnit

if TYPE_CHECKING:
    from .dlms.client import DlmsClient

#: The meter's clock (class 8); attribute 2 is its time.
CLOCK: Final = ObisCode(0, 0, 1, 0, 0, 255)
CLOCK_CLASS_ID: Final = 8
CLOCK_TIME: Final = 2

#: Disconnect control (class 70): output_state (2), control_state (3), control_mode (4).
DISCONNECT_CONTROL_CLASS_ID: Final = 70
OUTPUT_STATE: Final = 2
CONTROL_STATE: Final = 3
CONTROL_MODE: Final = 4
REMOTE_DISCONNECT: Final = 1
REMOTE_RECONNECT: Final = 2

#: Limiter (class 71): monitored_value (2) and the thresholds active (3), normal (4), emergency (5).
LIMITER_CLASS_ID: Final = 71
MONITORED_VALUE: Final = 2
THRESHOLDS: Final = {"active": 3, "normal": 4, "emergency": 5}
#: The attribute holding scaler_unit, for the classes a limiter may monitor.
_SCALER_UNIT: Final = {3: 3, 4: 3, 5: 4}

#: capture_time of an Extended Register (class 4) and a Demand Register (class 5).
CAPTURE_TIME: Final = {4: 5, 5: 6}

type AttributeKey = tuple[ObisCode, int]
type WatchedAttribute = tuple[ObisCode, int, int]


class ControlState(StrEnum):
    """Disconnect control's ``control_state``, as the enum sensor shows it."""

    DISCONNECTED = "disconnected"
    CONNECTED = "connected"
    READY_FOR_RECONNECTION = "ready_for_reconnection"


_CONTROL_STATES: Final = {
    0: ControlState.DISCONNECTED,
    1: ControlState.CONNECTED,
    2: ControlState.READY_FOR_RECONNECTION,
}


def watched_attributes(
    classes: Mapping[ObisCode, int], selected: Iterable[ObisCode]
) -> list[WatchedAttribute]:
    """(logical name, class, attribute) of what a poll reads besides the selected values.

    The clock when listed, every disconnect control, and the capture time of the selected
    extended and demand registers.
    """
    watched: list[WatchedAttribute] = []
    if classes.get(CLOCK) == CLOCK_CLASS_ID:
        watched.append((CLOCK, CLOCK_CLASS_ID, CLOCK_TIME))
    for obis, class_id in classes.items():
        if class_id == DISCONNECT_CONTROL_CLASS_ID:
            watched.extend(
                (obis, class_id, attribute) for attribute in (OUTPUT_STATE, CONTROL_STATE, CONTROL_MODE)
            )
    for obis in limiters(classes):
        watched.extend((obis, LIMITER_CLASS_ID, attribute) for attribute in THRESHOLDS.values())
    for obis in selected:
        kind = classes.get(obis)
        if kind is not None and kind in CAPTURE_TIME:
            watched.append((obis, kind, CAPTURE_TIME[kind]))
    return watched


def capture_time(
    attributes: Mapping[AttributeKey, Data], classes: Mapping[ObisCode, int], obis: ObisCode
) -> Data | None:
    """The capture time of an extended or demand register, as the last poll read it."""
    attribute = CAPTURE_TIME.get(classes.get(obis, 0))
    return None if attribute is None else attributes.get((obis, attribute))


def disconnect_controls(classes: Mapping[ObisCode, int]) -> list[ObisCode]:
    """The disconnect control objects the association lists."""
    return [obis for obis, class_id in classes.items() if class_id == DISCONNECT_CONTROL_CLASS_ID]


def output_state(attributes: Mapping[AttributeKey, Data], obis: ObisCode) -> bool | None:
    """Whether the disconnector supplies power (``None``: not read or not a boolean)."""
    data = attributes.get((obis, OUTPUT_STATE))
    if data is None or data.tag is not DataTag.BOOLEAN or not isinstance(data.value, bool):
        return None
    return data.value


def control_state(attributes: Mapping[AttributeKey, Data], obis: ObisCode) -> ControlState | None:
    """The disconnector's control state (``None``: not read or a value outside the standard)."""
    data = attributes.get((obis, CONTROL_STATE))
    if data is None or isinstance(data.value, bool) or not isinstance(data.value, int):
        return None
    return _CONTROL_STATES.get(data.value)


def limiters(classes: Mapping[ObisCode, int]) -> list[ObisCode]:
    """The limiters the association lists."""
    return [obis for obis, class_id in classes.items() if class_id == LIMITER_CLASS_ID]


def _monitored(data: Data) -> tuple[int, ObisCode, int] | None:
    """A limiter's monitored_value {class_id, logical_name, attribute_index}; None when malformed."""
    if data.tag is not DataTag.STRUCTURE or not isinstance(data.value, tuple) or len(data.value) != 3:
        return None
    class_id, name, attribute = (item.value for item in data.value)
    if not isinstance(class_id, int) or not isinstance(name, bytes) or not isinstance(attribute, int):
        return None
    try:
        return class_id, ObisCode.from_bytes(name), attribute
    except DlmsError:
        return None


async def limiter_scalers(
    client: DlmsClient, classes: Mapping[ObisCode, int]
) -> dict[ObisCode, ScalerUnit | None]:
    """The scaler_unit of the value each limiter monitors: its thresholds are in that value's terms.

    Read once at setup (two requests when the meter lists a limiter); ``None`` when the monitored
    value has no scaler_unit or the meter does not say, and the thresholds are then shown unscaled.
    """
    found = limiters(classes)
    if not found:
        return {}
    monitored = await client.get_many([(obis, LIMITER_CLASS_ID, MONITORED_VALUE) for obis in found])
    scaled: dict[ObisCode, tuple[ObisCode, int]] = {}
    for obis, value in zip(found, monitored, strict=True):
        target = _monitored(value) if isinstance(value, Data) else None
        if target is not None and target[0] in _SCALER_UNIT:
            scaled[obis] = (target[1], target[0])
    units: dict[ObisCode, ScalerUnit | None] = dict.fromkeys(found)
    if not scaled:
        return units
    answers = await client.get_many(
        [(name, class_id, _SCALER_UNIT[class_id]) for name, class_id in scaled.values()]
    )
    for obis, answer in zip(scaled, answers, strict=True):
        if isinstance(answer, Data):
            try:
                units[obis] = ScalerUnit.from_data(answer)
            except DlmsError:
                units[obis] = None
    return units


def threshold(attributes: Mapping[AttributeKey, Data], obis: ObisCode, attribute: int) -> int | float | None:
    """A limiter threshold as read (unscaled); None when not read or not a number."""
    data = attributes.get((obis, attribute))
    if data is None or isinstance(data.value, bool) or not isinstance(data.value, int | float):
        return None
    return data.value
