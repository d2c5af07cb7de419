"""The attributes a poll reads beside the selected values: clock, disconnector, capture times.

They feed the diagnostic and control entities (clock drift, disconnect control, the capture time of
extended and demand registers). The coordinator reads them in one GET-with-list after the values,
only for objects the association lists, and keeps each value by (logical name, attribute).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final

from .dlms.axdr import Data, DataTag
from .dlms.obis import ObisCode

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
