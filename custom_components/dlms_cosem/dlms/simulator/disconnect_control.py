"""Disconnect control (class 70, Blue Book 4.5.8): the supply switch a utility opens and closes remotely.

The object shows the switch (``output_state``), the state machine around it (``control_state``) and
how it may be driven (``control_mode``). ``remote_disconnect`` (method 1) opens the switch;
``remote_reconnect`` (method 2) closes it again, or, in the modes where the customer must confirm on
site, only makes it ready for reconnection until :meth:`DisconnectControl.press_button`. Mode 0 means
the switch cannot be operated: the meter refuses both methods (a temporary failure), as real meters
answer a command their configuration forbids. Local disconnections (limiter, fuse) are not simulated.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from ..apdu import DataAccessResult
from ..axdr import Data, DataTag
from ..obis import ObisCode
from .access import AccessFailureError, AttributeAccess, MethodAccess, RequestContext
from .interface_classes import CosemObject

#: The disconnector of the supply (Blue Book: "Disconnect control" 0.0.96.3.10.255).
DISCONNECT_CONTROL: Final = ObisCode(0, 0, 96, 3, 10, 255)

REMOTE_DISCONNECT: Final = 1
REMOTE_RECONNECT: Final = 2


class ControlState(IntEnum):
    """``control_state`` (attribute 3)."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class ControlMode(IntEnum):
    """``control_mode`` (attribute 4): 0 none; 1..6 which transitions are allowed.

    In modes 2, 4 and 6 a remote reconnection only arms the switch: the customer closes it on site.
    """

    NONE = 0
    MODE_1 = 1
    MODE_2 = 2
    MODE_3 = 3
    MODE_4 = 4
    MODE_5 = 5
    MODE_6 = 6


_RECONNECT_NEEDS_BUTTON: Final = frozenset({ControlMode.MODE_2, ControlMode.MODE_4, ControlMode.MODE_6})


class DisconnectControl(CosemObject):
    """Disconnect control (class 70, version 0): management may switch and change the mode."""

    class_id = 70
    attribute_count = 4
    method_count = 2

    def __init__(
        self,
        logical_name: ObisCode = DISCONNECT_CONTROL,
        mode: ControlMode = ControlMode.MODE_1,
        *,
        connected: bool = True,
    ) -> None:
        super().__init__(
            logical_name,
            access={4: AttributeAccess.READ_AND_WRITE},
            methods={REMOTE_DISCONNECT: MethodAccess.ACCESS, REMOTE_RECONNECT: MethodAccess.ACCESS},
        )
        self.mode = mode
        self.state = ControlState.CONNECTED if connected else ControlState.DISCONNECTED

    @property
    def output_state(self) -> bool:
        """Whether the supply is connected (the switch is closed)."""
        return self.state is ControlState.CONNECTED

    def press_button(self) -> None:
        """The customer confirms a reconnection on site (manual reconnection)."""
        if self.state is ControlState.READY_FOR_RECONNECTION:
            self.state = ControlState.CONNECTED

    def _get(self, attribute: int, context: RequestContext) -> Data:
        match attribute:
            case 2:
                return Data.boolean(self.output_state)
            case 3:
                return Data.enum(self.state)
            case 4:
                return Data.enum(self.mode)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Change the control mode (attribute 4)."""
        if attribute != 4:
            raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)
        if value.tag is not DataTag.ENUM or not isinstance(value.value, int):
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "control_mode is an enum")
        try:
            self.mode = ControlMode(value.value)
        except ValueError:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "control_mode 0..6") from None

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """remote_disconnect (1) and remote_reconnect (2), each taking integer(0)."""
        if method not in (REMOTE_DISCONNECT, REMOTE_RECONNECT):
            return super().invoke(method, parameters, context)
        if parameters is None or parameters.tag is not DataTag.INTEGER:
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "the method takes integer(0)")
        if self.mode is ControlMode.NONE:
            raise AccessFailureError(DataAccessResult.TEMPORARY_FAILURE, "the disconnector is not operable")
        if method == REMOTE_DISCONNECT:
            self.state = ControlState.DISCONNECTED
        elif self.state is ControlState.DISCONNECTED:
            needs_button = self.mode in _RECONNECT_NEEDS_BUTTON
            self.state = ControlState.READY_FOR_RECONNECTION if needs_button else ControlState.CONNECTED
        return None
