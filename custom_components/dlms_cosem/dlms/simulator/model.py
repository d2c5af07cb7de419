"""The simulated meter: the device and its default electricity meter object model.

The interface classes live in their own modules (``interface_classes``, ``profile_generic``,
``management``), the access rules in ``access`` and the load curve in ``electricity``; this module
re-exports them so ``from .model import ...`` keeps naming everything a test or a runner needs.

A :class:`SimulatedMeter` is the device: its objects, its clock offset, its credentials and its frame
counters. It keeps no association state (that is the server's, one per connection) and reads no clock
of its own: every value is computed for an instant passed in, from the clock function the meter was
built with. Values move like a real meter's: the power follows a smooth, deterministic load curve per
serial number, the energy registers are its closed-form integral (so they never decrease, whatever
the order of the readings), voltages wobble around 230 V, and the load profile holds the energy at
every capture period boundary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from ..apdu import (
    CaptureObjectDefinition,
    DataAccessResult,
)
from ..axdr import Data, DataTag
from ..errors import EncodeError
from ..obis import ObisCode
from .access import (
    AccessFailureError,
    AccessLevel,
    AssociationStatus,
    AssociationView,
    AttributeAccess,
    MethodAccess,
    RequestContext,
)
from .disconnect_control import DisconnectControl
from .electricity import (
    REFERENCE_INSTANT,
    Electricity,
    seconds_since_reference,
)
from .interface_classes import (
    MAX_CLOCK_YEAR,
    MIN_CLOCK_YEAR,
    Clock,
    CosemObject,
    DataObject,
    ExtendedRegister,
    ObjectLookup,
    Register,
    ValueSource,
    cosem_datetime_from,
)
from .logical_names import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_EXPORT,
    ACTIVE_POWER_IMPORT,
    CENTIAMPERE,
    CENTIHERTZ,
    CLOCK,
    CURRENT_ASSOCIATION,
    CURRENTS,
    DECIVOLT,
    FRAME_COUNTER,
    FREQUENCY,
    LAST_AVERAGE_DEMAND_IMPORT,
    LOAD_PROFILE,
    LOGICAL_DEVICE_NAME,
    SECURITY_SETUP,
    SERIAL_NUMBER,
    VOLTAGES,
    WH,
    W,
)
from .management import (
    SUPPORTED_MECHANISMS,
    AssociationLN,
    MeterSecurity,
    SecuritySetup,
)
from .mbus_channels import add_mbus_channels
from .profile_generic import (
    ProfileGeneric,
)


def default_system_title(serial: str) -> bytes:
    """``SIM`` and five bytes from the serial number (its value when numeric, else a hash)."""
    number = int.from_bytes(hashlib.sha256(serial.encode()).digest()[:5], "big")
    if serial.isdigit():
        number = int(serial) % (1 << 40)
    return b"SIM" + number.to_bytes(5, "big")


class SimulatedMeter:
    """A three-phase electricity meter: objects by logical name, clock, credentials, frame counters.

    ``clock`` returns the true current instant (timezone-aware); tests pass a frozen or stepped one.
    ``mbus`` adds a gas meter on M-Bus channel 1 and a water meter on channel 2 (see :mod:`.mbus_channels`).
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        serial: str = "12345678",
        security: MeterSecurity | None = None,
        utc_offset_minutes: int = 60,
        capture_period: int = 900,
        profile_entries: int = 960,
        installed_at: datetime | None = None,
        mbus: bool = False,
    ) -> None:
        self._now = clock
        self.serial = serial
        self.security = (
            security if security is not None else MeterSecurity(system_title=default_system_title(serial))
        )
        self.electricity = Electricity(serial.encode())
        self.objects: dict[ObisCode, CosemObject] = {}
        self.clock = Clock(CLOCK, utc_offset_minutes)
        self._build(capture_period, profile_entries, installed_at, mbus=mbus)

    def now(self) -> datetime:
        """The true current instant, from the clock function."""
        instant = self._now()
        if instant.tzinfo is None:
            raise EncodeError("the simulator's clock must return timezone-aware datetimes")
        return instant

    def find(self, logical_name: ObisCode) -> CosemObject | None:
        """The object with this logical name."""
        return self.objects.get(logical_name)

    def add(self, obj: CosemObject) -> None:
        """Add or replace an object."""
        self.objects[obj.logical_name] = obj

    def context(
        self, level: AccessLevel = AccessLevel.MANAGEMENT, association: AssociationView | None = None
    ) -> RequestContext:
        """A request context for the current instant."""
        return RequestContext(self.now(), level, association)

    def read(self, logical_name: ObisCode, attribute: int = 2) -> Data:
        """Read an attribute directly (no access rights): for push telegrams and tests."""
        obj = self.find(logical_name)
        if obj is None:
            raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED, f"no object {logical_name}")
        return obj.get(attribute, self.context())

    def _energy(self, curve: Callable[[int], float]) -> ValueSource:
        return lambda instant: Data.double_long_unsigned(int(curve(seconds_since_reference(instant))))

    def _scaled(self, curve: Callable[[int], float], scaler: int, tag: DataTag) -> ValueSource:
        factor = 10 ** (-scaler)

        def source(instant: datetime) -> Data:
            return Data(tag, round(curve(seconds_since_reference(instant)) * factor))

        return source

    def _last_average_demand(self, period: int) -> tuple[ValueSource, ValueSource]:
        def end(instant: datetime) -> datetime:
            step = timedelta(seconds=period)
            return REFERENCE_INSTANT + ((instant - REFERENCE_INSTANT) // step) * step

        def value(instant: datetime) -> Data:
            stop = seconds_since_reference(end(instant))
            energy = self.electricity.import_energy
            return Data.double_long_unsigned(round((energy(stop) - energy(stop - period)) * 3600 / period))

        def captured(instant: datetime) -> Data:
            return Data.octet_string(self.clock.date_time(end(instant)).to_bytes())

        return value, captured

    def _build(
        self, capture_period: int, profile_entries: int, installed_at: datetime | None, *, mbus: bool
    ) -> None:
        power = self.electricity
        self.add(AssociationLN(CURRENT_ASSOCIATION, self))
        self.add(DataObject(LOGICAL_DEVICE_NAME, Data.octet_string(b"SIM" + self.serial.encode())))
        self.add(DataObject(SERIAL_NUMBER, Data.octet_string(self.serial.encode())))
        self.add(self.clock)
        self.add(SecuritySetup(SECURITY_SETUP, self))
        self.add(
            DataObject(
                FRAME_COUNTER,
                lambda _: Data.double_long_unsigned(self.security.client_invocation_counter),
            )
        )
        self.add(Register(ACTIVE_ENERGY_IMPORT, self._energy(power.import_energy), WH))
        self.add(Register(ACTIVE_ENERGY_EXPORT, self._energy(power.export_energy), WH))
        self.add(
            Register(
                ACTIVE_POWER_IMPORT, self._scaled(power.import_power, 0, DataTag.DOUBLE_LONG_UNSIGNED), W
            )
        )
        self.add(
            Register(
                ACTIVE_POWER_EXPORT, self._scaled(power.export_power, 0, DataTag.DOUBLE_LONG_UNSIGNED), W
            )
        )
        demand, captured = self._last_average_demand(capture_period)
        self.add(ExtendedRegister(LAST_AVERAGE_DEMAND_IMPORT, demand, W, captured, public=False))
        for phase, name in enumerate(VOLTAGES):
            curve = _phase_curve(power.voltage, phase)
            self.add(Register(name, self._scaled(curve, -1, DataTag.LONG_UNSIGNED), DECIVOLT))
        for phase, name in enumerate(CURRENTS):
            curve = _phase_curve(power.current, phase)
            self.add(Register(name, self._scaled(curve, -2, DataTag.LONG_UNSIGNED), CENTIAMPERE))
        self.add(Register(FREQUENCY, self._scaled(power.frequency, -2, DataTag.LONG_UNSIGNED), CENTIHERTZ))
        self.add(
            ProfileGeneric(
                LOAD_PROFILE,
                (
                    CaptureObjectDefinition(Clock.class_id, CLOCK, 2),
                    CaptureObjectDefinition(Register.class_id, ACTIVE_ENERGY_IMPORT, 2),
                    CaptureObjectDefinition(Register.class_id, ACTIVE_ENERGY_EXPORT, 2),
                ),
                self.find,
                self.clock,
                capture_period=capture_period,
                profile_entries=profile_entries,
                installed_at=installed_at,
                public=False,
            )
        )
        self.add(DisconnectControl())
        if mbus:
            add_mbus_channels(self)  # a gas meter on M-Bus channel 1, a water meter on channel 2


def _phase_curve(curve: Callable[[int, int], float], phase: int) -> Callable[[int], float]:
    return lambda s: curve(phase, s)


__all__ = [
    "ACTIVE_ENERGY_EXPORT",
    "ACTIVE_ENERGY_IMPORT",
    "ACTIVE_POWER_EXPORT",
    "ACTIVE_POWER_IMPORT",
    "CENTIAMPERE",
    "CENTIHERTZ",
    "CLOCK",
    "CURRENTS",
    "CURRENT_ASSOCIATION",
    "DECIVOLT",
    "FRAME_COUNTER",
    "FREQUENCY",
    "LAST_AVERAGE_DEMAND_IMPORT",
    "LOAD_PROFILE",
    "LOGICAL_DEVICE_NAME",
    "MAX_CLOCK_YEAR",
    "MIN_CLOCK_YEAR",
    "REFERENCE_INSTANT",
    "SECURITY_SETUP",
    "SERIAL_NUMBER",
    "SUPPORTED_MECHANISMS",
    "VOLTAGES",
    "WH",
    "AccessFailureError",
    "AccessLevel",
    "AssociationLN",
    "AssociationStatus",
    "AssociationView",
    "AttributeAccess",
    "Clock",
    "CosemObject",
    "DataObject",
    "DisconnectControl",
    "Electricity",
    "ExtendedRegister",
    "MeterSecurity",
    "MethodAccess",
    "ObjectLookup",
    "ProfileGeneric",
    "Register",
    "RequestContext",
    "SecuritySetup",
    "SimulatedMeter",
    "ValueSource",
    "W",
    "cosem_datetime_from",
    "default_system_title",
    "seconds_since_reference",
]
