"""The simulated meter: COSEM interface classes (Blue Book) and a default electricity meter object model.

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
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum
from typing import ClassVar, Protocol

from ..apdu import (
    ApplicationContextName,
    AuthenticationMechanism,
    CaptureObjectDefinition,
    Conformance,
    DataAccessResult,
    EntryDescriptor,
    RangeDescriptor,
    SelectiveAccessDescriptor,
)
from ..axdr import Data, DataTag, datetime_from_data
from ..cosem_datetime import ClockStatus, CosemDate, CosemDateTime, CosemTime, SpecialDay
from ..errors import DecodeError, DlmsError, EncodeError
from ..obis import ObisCode
from ..security import SecurityKeys
from ..units import ScalerUnit, Unit

# --- access rights and request context ----------------------------------------------------------------


class AttributeAccess(IntEnum):
    """``attribute_access_mode`` of an object list entry (Association LN)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3

    @property
    def readable(self) -> bool:
        """Whether GET is allowed."""
        return self in (AttributeAccess.READ_ONLY, AttributeAccess.READ_AND_WRITE)

    @property
    def writable(self) -> bool:
        """Whether SET is allowed."""
        return self in (AttributeAccess.WRITE_ONLY, AttributeAccess.READ_AND_WRITE)


class MethodAccess(IntEnum):
    """``method_access_mode`` of an object list entry (Association LN version 1)."""

    NO_ACCESS = 0
    ACCESS = 1


class AccessLevel(IntEnum):
    """Who an association serves: the public client sees a read-only subset, management sees all."""

    PUBLIC = 0
    MANAGEMENT = 1


class AssociationStatus(IntEnum):
    """``association_status`` of Association LN (attribute 8)."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


class AccessFailureError(DlmsError):
    """An attribute or method cannot be served; ``result`` is the Data-Access-Result the server sends."""

    def __init__(self, result: DataAccessResult, message: str = "") -> None:
        super().__init__(message or result.name.lower().replace("_", "-"))
        self.result = result


class AssociationView(Protocol):
    """What the Association LN object shows about the association a request arrives in."""

    @property
    def client_sap(self) -> int:
        """The client's SAP (HDLC address or wPort); 16 for the public client."""
        ...

    @property
    def server_sap(self) -> int:
        """The logical device's SAP."""
        ...

    @property
    def application_context(self) -> ApplicationContextName:
        """The accepted application context."""
        ...

    @property
    def mechanism(self) -> AuthenticationMechanism:
        """The accepted authentication mechanism."""
        ...

    @property
    def conformance(self) -> Conformance:
        """The negotiated conformance block."""
        ...

    @property
    def client_max_receive_pdu_size(self) -> int:
        """The client's max receive PDU size (the server's max send size)."""
        ...

    @property
    def server_max_receive_pdu_size(self) -> int:
        """The server's max receive PDU size."""
        ...

    @property
    def status(self) -> AssociationStatus:
        """Non-associated, pending (HLS under way) or associated."""
        ...

    def reply_to_hls_authentication(self, response: bytes) -> bytes:
        """Check the client's answer to our challenge and return ours to its challenge (pass 3 and 4)."""
        ...


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The instant a request is served for, who is asking, and in which association.

    ``now`` is the true instant (from the meter's clock function); objects show it in meter time.
    """

    now: datetime
    level: AccessLevel = AccessLevel.MANAGEMENT
    association: AssociationView | None = None


# --- time ---------------------------------------------------------------------------------------------

#: The instant the simulated load curves count seconds from.
REFERENCE_INSTANT = datetime(2020, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)


def seconds_since_reference(instant: datetime) -> int:
    """Whole seconds from :data:`REFERENCE_INSTANT` (floored), the time base of the load curves."""
    return (instant - REFERENCE_INSTANT) // _ONE_SECOND


def cosem_datetime_from(data: Data, zone: timezone) -> datetime:
    """An aware datetime from a date-time value or octet-string(12); without a deviation, in ``zone``."""
    found = datetime_from_data(data)
    if found is None:
        raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "not a date-time")
    instant = found.to_datetime()
    if instant is None:
        raise AccessFailureError(DataAccessResult.OTHER_REASON, "date-time does not name one instant")
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=zone)


# --- the load curve -----------------------------------------------------------------------------------

_DAY = 86_400.0
#: Years the simulated clock accepts when set (a real meter's calendar is bounded too).
MIN_CLOCK_YEAR = 1970
MAX_CLOCK_YEAR = 2099
_TAU = 2 * math.pi


@dataclass(frozen=True, slots=True)
class _Wave:
    amplitude: float
    period: float
    phase: float

    @property
    def omega(self) -> float:
        return _TAU / self.period

    def value(self, s: float) -> float:
        return self.amplitude * math.sin(self.omega * s + self.phase)

    def integral(self, s: float) -> float:
        """Integral of ``value`` from 0 to ``s``."""
        omega = self.omega
        return self.amplitude * (math.cos(self.phase) - math.cos(omega * s + self.phase)) / omega


class Electricity:
    """A household's deterministic load curve: power as a sum of sines, energy as their integral.

    Everything is a function of whole seconds since :data:`REFERENCE_INSTANT`, so two readings of the
    same second agree and the energy increases by at least ``min power / 3600`` Wh per second — far
    above floating point noise, so the integer registers never step back.
    """

    IMPORT_BASE_W = 600.0
    EXPORT_BASE_W = 1.0
    EXPORT_PEAK_W = 1200.0
    PHASE_SHARES = (0.40, 0.35, 0.25)

    def __init__(self, seed: bytes) -> None:
        digest = hashlib.sha256(b"dlms-simulator:" + seed).digest()
        phases = [byte / 256 * _TAU for byte in digest]
        # Base load plus daily, three-hourly and ten-minute swings; the amplitudes sum below the base.
        self._import = (
            _Wave(300.0, _DAY, phases[0]),
            _Wave(150.0, 3 * 3600.0, phases[1]),
            _Wave(80.0, 617.0, phases[2]),
        )
        # Solar export: EXPORT_PEAK_W * (1 + sin(day))^2 / 4, peaking once a day, plus a trickle.
        self._solar_phase = phases[3]
        self._voltage = tuple((_Wave(2.5, 5_400.0 + 600 * i, phases[4 + i]), phases[7 + i]) for i in range(3))
        self._frequency = (_Wave(0.03, 1_800.0, phases[10]), _Wave(0.01, 97.0, phases[11]))
        self.import_energy_at_reference = 4_000_000.0 + int.from_bytes(digest[12:15], "big") % 1_000_000
        self.export_energy_at_reference = 200_000.0 + int.from_bytes(digest[15:18], "big") % 100_000

    def import_power(self, s: int) -> float:
        """Active power import (W) at second ``s``."""
        return self.IMPORT_BASE_W + sum(wave.value(s) for wave in self._import)

    def export_power(self, s: int) -> float:
        """Active power export (W) at second ``s``."""
        x = _TAU / _DAY * s + self._solar_phase
        return self.EXPORT_BASE_W + self.EXPORT_PEAK_W * (1 + math.sin(x)) ** 2 / 4

    def import_energy(self, s: int) -> float:
        """Active energy import (Wh) at second ``s``."""
        joules = self.IMPORT_BASE_W * s + sum(wave.integral(s) for wave in self._import)
        return max(0.0, self.import_energy_at_reference + joules / 3600)

    def export_energy(self, s: int) -> float:
        """Active energy export (Wh) at second ``s``."""
        omega = _TAU / _DAY
        psi = self._solar_phase
        x = omega * s + psi
        # (1 + sin x)^2 = 3/2 + 2 sin x - cos(2x) / 2
        solar = (
            1.5 * s
            + 2 * (math.cos(psi) - math.cos(x)) / omega
            - (math.sin(2 * x) - math.sin(2 * psi)) / (4 * omega)
        )
        joules = self.EXPORT_BASE_W * s + self.EXPORT_PEAK_W / 4 * solar
        return max(0.0, self.export_energy_at_reference + joules / 3600)

    def voltage(self, phase: int, s: int) -> float:
        """Phase voltage (V), phase 0..2."""
        wave, jitter_phase = self._voltage[phase]
        return 230.0 + wave.value(s) + 0.6 * math.sin(s * 1.7 + jitter_phase)

    def current(self, phase: int, s: int) -> float:
        """Phase current (A): this phase's share of the import power at its voltage."""
        return self.import_power(s) * self.PHASE_SHARES[phase] / self.voltage(phase, s)

    def frequency(self, s: int) -> float:
        """Grid frequency (Hz)."""
        return 50.0 + sum(wave.value(s) for wave in self._frequency)


# --- interface classes --------------------------------------------------------------------------------

type ValueSource = Callable[[datetime], Data]
type ObjectLookup = Callable[[ObisCode], "CosemObject | None"]

_RO = AttributeAccess.READ_ONLY
_RW = AttributeAccess.READ_AND_WRITE
_WO = AttributeAccess.WRITE_ONLY
_NA = AttributeAccess.NO_ACCESS


def _require_int(value: Data, what: str) -> int:
    if isinstance(value.value, bool) or not isinstance(value.value, int):
        raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, f"{what} must be an integer")
    return value.value


class CosemObject:
    """One COSEM object: class, logical name, attributes and methods with their access rights.

    ``access`` gives the management association's rights per attribute (attribute 1, the logical name,
    is always readable); ``public`` says whether the public client may read the object at all (it
    then gets read-only access to what management can read, and no methods).
    """

    class_id: ClassVar[int]
    version: ClassVar[int] = 0
    attribute_count: ClassVar[int]
    method_count: ClassVar[int] = 0

    def __init__(
        self,
        logical_name: ObisCode,
        *,
        access: Mapping[int, AttributeAccess] | None = None,
        methods: Mapping[int, MethodAccess] | None = None,
        public: bool = True,
    ) -> None:
        self.logical_name = logical_name
        self.public = public
        self._access = dict.fromkeys(range(1, self.attribute_count + 1), _RO)
        self._access.update(access or {})
        self._access[1] = _RO
        self._methods = dict.fromkeys(range(1, self.method_count + 1), MethodAccess.NO_ACCESS)
        self._methods.update(methods or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.logical_name})"

    def attribute_access(self, attribute: int, level: AccessLevel) -> AttributeAccess:
        """The rights an association of ``level`` has on ``attribute`` (NO_ACCESS when undefined)."""
        access = self._access.get(attribute, _NA)
        if level is AccessLevel.MANAGEMENT:
            return access
        return _RO if self.public and access.readable else _NA

    def method_access(self, method: int, level: AccessLevel) -> MethodAccess:
        """The rights an association of ``level`` has on ``method``."""
        if level is not AccessLevel.MANAGEMENT:
            return MethodAccess.NO_ACCESS
        return self._methods.get(method, MethodAccess.NO_ACCESS)

    def selectable_attributes(self) -> Mapping[int, tuple[int, ...]]:
        """Attributes that take selective access, with their access selectors."""
        return {}

    def visible_to(self, level: AccessLevel) -> bool:
        """Whether the object appears in the object list of an association of ``level``."""
        return level is AccessLevel.MANAGEMENT or self.public

    def get(self, attribute: int, context: RequestContext) -> Data:
        """The attribute's value; raises :class:`AccessFailureError`. Access rights are the server's job."""
        if attribute == 1:
            return Data.octet_string(self.logical_name.to_bytes())
        return self._get(attribute, context)

    def get_selective(
        self, attribute: int, selection: SelectiveAccessDescriptor, context: RequestContext
    ) -> Data:
        """The attribute's value restricted by selective access."""
        raise AccessFailureError(DataAccessResult.OTHER_REASON, "no selective access on this attribute")

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Write the attribute."""
        raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """Run a method; the return parameters, or None."""
        raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "method not implemented")

    def _get(self, attribute: int, context: RequestContext) -> Data:
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)


class DataObject(CosemObject):
    """Data (class 1): one value, e.g. the serial number or a frame counter."""

    class_id = 1
    attribute_count = 2

    def __init__(
        self,
        logical_name: ObisCode,
        value: Data | ValueSource,
        *,
        writable: bool = False,
        public: bool = True,
    ) -> None:
        super().__init__(logical_name, access={2: _RW} if writable else None, public=public)
        self._value = value

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 2:
            return self._value if isinstance(self._value, Data) else self._value(context.now)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Replace a static value (a computed one cannot be written)."""
        if attribute != 2 or not isinstance(self._value, Data):
            raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)
        if value.tag != self._value.tag:
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED)
        self._value = value


class Register(CosemObject):
    """Register (class 3): a value with its scaler_unit. Method 1 (reset) exists but is not granted."""

    class_id = 3
    attribute_count = 3
    method_count = 1

    def __init__(
        self, logical_name: ObisCode, value: ValueSource, scaler_unit: ScalerUnit, *, public: bool = True
    ) -> None:
        super().__init__(logical_name, public=public)
        self._value = value
        self.scaler_unit = scaler_unit

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 2:
            return self._value(context.now)
        if attribute == 3:
            return self.scaler_unit.to_data()
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)


class ExtendedRegister(Register):
    """Extended Register (class 4): a register with a status and the time its value was captured."""

    class_id = 4
    attribute_count = 5

    def __init__(
        self,
        logical_name: ObisCode,
        value: ValueSource,
        scaler_unit: ScalerUnit,
        capture_time: ValueSource,
        status: Data | None = None,
        *,
        public: bool = True,
    ) -> None:
        super().__init__(logical_name, value, scaler_unit, public=public)
        self._capture_time = capture_time
        self._status = status if status is not None else Data.unsigned(0)

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 4:
            return self._status
        if attribute == 5:
            return self._capture_time(context.now)
        return super()._get(attribute, context)


class Clock(CosemObject):
    """Clock (class 8): meter time as the true instant plus an offset, shown in a fixed UTC offset.

    Attribute 2 (time) is writable by management, which moves the offset; method 6 (shift_time) shifts
    it by up to 900 s. Daylight saving is described but disabled, so the zone never changes.
    """

    class_id = 8
    attribute_count = 9
    method_count = 6

    def __init__(self, logical_name: ObisCode, utc_offset_minutes: int = 60) -> None:
        super().__init__(logical_name, access={2: _RW}, methods={6: MethodAccess.ACCESS})
        self.zone = timezone(timedelta(minutes=utc_offset_minutes))
        self.offset = timedelta(0)

    def local_time(self, instant: datetime) -> datetime:
        """The meter's time for a true instant, in its zone."""
        return (instant + self.offset).astimezone(self.zone)

    def date_time(self, instant: datetime) -> CosemDateTime:
        """The meter's time as a COSEM date-time (hundredths truncated)."""
        return CosemDateTime.from_datetime(self.local_time(instant), ClockStatus(0))

    def _get(self, attribute: int, context: RequestContext) -> Data:
        match attribute:
            case 2:
                return Data.octet_string(self.date_time(context.now).to_bytes())
            case 3:
                deviation = self.date_time(context.now).deviation
                return Data.long(deviation or 0)
            case 4:
                return Data.unsigned(0)
            case 5:
                return Data.octet_string(_dst_switch(3, 2).to_bytes())
            case 6:
                return Data.octet_string(_dst_switch(10, 3).to_bytes())
            case 7:
                return Data.integer(60)
            case 8:
                return Data.boolean(False)
            case 9:
                return Data.enum(1)  # internal crystal
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Set the time (attribute 2)."""
        if attribute != 2:
            raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)
        wanted = cosem_datetime_from(value, self.zone)
        if not MIN_CLOCK_YEAR <= wanted.year <= MAX_CLOCK_YEAR:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "time outside the clock's range")
        self.offset = wanted - context.now

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """shift_time (method 6): move the time by -900..900 seconds."""
        if method != 6:
            return super().invoke(method, parameters, context)
        if parameters is None or parameters.tag != DataTag.LONG:
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "shift_time takes a long")
        seconds = _require_int(parameters, "shift")
        if not -900 <= seconds <= 900:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "shift outside -900..900 s")
        self.offset += timedelta(seconds=seconds)
        return None


def _dst_switch(month: int, hour: int) -> CosemDateTime:
    """Last Sunday of ``month`` at ``hour``:00, any year."""
    return CosemDateTime(
        CosemDate(None, month, SpecialDay.LAST_DAY_OF_MONTH, 7), CosemTime(hour, 0, 0, 0), None, None
    )


class ProfileGeneric(CosemObject):
    """Profile Generic (class 7): a buffer of rows captured every ``capture_period`` seconds.

    Rows are not stored: the row for a capture instant is the captured attributes' values at that
    instant, read from the meter's objects, so the buffer is always consistent with the registers.
    The newest row is at the last period boundary; there are ``profile_entries`` rows (fewer when the
    meter was installed more recently). Selective access: by range on the clock column (access
    selector 1) and by entry (2).
    """

    class_id = 7
    version = 1
    attribute_count = 8
    method_count = 2

    def __init__(
        self,
        logical_name: ObisCode,
        capture_objects: Iterable[CaptureObjectDefinition],
        lookup: ObjectLookup,
        clock: Clock,
        *,
        capture_period: int = 900,
        profile_entries: int = 960,
        installed_at: datetime | None = None,
        public: bool = False,
    ) -> None:
        super().__init__(logical_name, public=public)
        self.capture_objects = tuple(capture_objects)
        self._lookup = lookup
        self._clock = clock
        self.capture_period = capture_period
        self.profile_entries = profile_entries
        self.installed_at = installed_at

    def selectable_attributes(self) -> Mapping[int, tuple[int, ...]]:
        """The buffer takes range and entry descriptors."""
        return {2: (1, 2)}

    def capture_instants(self, now: datetime) -> list[datetime]:
        """The true instants of the rows in the buffer, oldest first."""
        period = timedelta(seconds=self.capture_period)
        last = REFERENCE_INSTANT + ((now - REFERENCE_INSTANT) // period) * period
        count = self.profile_entries
        if self.installed_at is not None:
            since = (last - self.installed_at) // period + 1
            count = max(0, min(count, since))
        return [last - (count - 1 - index) * period for index in range(count)]

    def row(self, instant: datetime) -> tuple[Data, ...]:
        """The captured values at ``instant``."""
        context = RequestContext(now=instant)
        values = []
        for column in self.capture_objects:
            obj = self._lookup(column.logical_name)
            if obj is None or obj.class_id != column.class_id:
                values.append(Data.null_data())
                continue
            value = obj.get(column.attribute_index, context)
            if column.data_index and isinstance(value.value, tuple) and column.data_index <= len(value.value):
                value = value.value[column.data_index - 1]
            values.append(value)
        return tuple(values)

    def _buffer(self, instants: Iterable[datetime], columns: Iterable[int] | None = None) -> Data:
        wanted = None if columns is None else tuple(columns)
        rows = []
        for instant in instants:
            row = self.row(instant)
            if wanted is not None:
                row = tuple(row[index] for index in wanted)
            rows.append(Data.structure(*row))
        return Data.array(*rows)

    def _get(self, attribute: int, context: RequestContext) -> Data:
        match attribute:
            case 2:
                return self._buffer(self.capture_instants(context.now))
            case 3:
                return Data.array(*(column.to_data() for column in self.capture_objects))
            case 4:
                return Data.double_long_unsigned(self.capture_period)
            case 5:
                return Data.enum(1)  # fifo
            case 6:
                return CaptureObjectDefinition(0, ObisCode(0, 0, 0, 0, 0, 0), 0, 0).to_data()
            case 7:
                return Data.double_long_unsigned(len(self.capture_instants(context.now)))
            case 8:
                return Data.double_long_unsigned(self.profile_entries)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def get_selective(
        self, attribute: int, selection: SelectiveAccessDescriptor, context: RequestContext
    ) -> Data:
        """The buffer restricted by a range (on the clock column) or entry descriptor."""
        if attribute != 2:
            return super().get_selective(attribute, selection, context)
        try:
            descriptor = selection.parsed()
        except DecodeError as err:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, str(err)) from None
        instants = self.capture_instants(context.now)
        if isinstance(descriptor, RangeDescriptor):
            return self._by_range(descriptor, instants)
        if isinstance(descriptor, EntryDescriptor):
            return self._by_entry(descriptor, instants)
        raise AccessFailureError(
            DataAccessResult.OTHER_REASON, f"access selector {selection.access_selector}"
        )

    def _columns(self, selected: tuple[CaptureObjectDefinition, ...]) -> list[int] | None:
        if not selected:
            return None
        columns = []
        for wanted in selected:
            for index, column in enumerate(self.capture_objects):
                if (column.class_id, column.logical_name, column.attribute_index) == (
                    wanted.class_id,
                    wanted.logical_name,
                    wanted.attribute_index,
                ):
                    columns.append(index)
                    break
            else:
                raise AccessFailureError(
                    DataAccessResult.OTHER_REASON, "selected value is not a capture object"
                )
        return columns

    def _by_range(self, descriptor: RangeDescriptor, instants: list[datetime]) -> Data:
        restricting = descriptor.restricting_object
        clock_column = next(
            (column for column in self.capture_objects if column.class_id == Clock.class_id), None
        )
        if (
            clock_column is None
            or restricting.class_id != clock_column.class_id
            or restricting.logical_name != clock_column.logical_name
            or restricting.attribute_index != clock_column.attribute_index
        ):
            raise AccessFailureError(
                DataAccessResult.OTHER_REASON, "range restricted on another column than the clock"
            )
        zone = self._clock.zone
        start = cosem_datetime_from(descriptor.from_value, zone)
        end = cosem_datetime_from(descriptor.to_value, zone)
        offset = self._clock.offset
        chosen = [instant for instant in instants if start <= instant + offset <= end]
        return self._buffer(chosen, self._columns(descriptor.selected_values))

    def _by_entry(self, descriptor: EntryDescriptor, instants: list[datetime]) -> Data:
        count = len(instants)
        first = max(descriptor.from_entry, 1)
        last = count if descriptor.to_entry == 0 else min(descriptor.to_entry, count)
        width = len(self.capture_objects)
        first_column = max(descriptor.from_selected_value, 1)
        last_column = width if descriptor.to_selected_value == 0 else min(descriptor.to_selected_value, width)
        if first_column > last_column:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "empty column selection")
        return self._buffer(instants[first - 1 : last], range(first_column - 1, last_column))


def _context_name(kind: int, value: int) -> Data:
    """``context_name_type`` / ``mechanism_name_type`` as the structure of the OID arcs 2.16.756.5.8.x.y."""
    return Data.structure(
        Data.unsigned(2),
        Data.unsigned(16),
        Data.long_unsigned(756),
        Data.unsigned(5),
        Data.unsigned(8),
        Data.unsigned(kind),
        Data.unsigned(value),
    )


class AssociationLN(CosemObject):
    """Association LN (class 15, version 1): shows the association the request arrives in.

    The object list lists what that association may see, with its access rights. Attribute 7 (the LLS
    secret) is write-only; method 1 (reply_to_HLS_authentication) completes HLS-GMAC.
    """

    class_id = 15
    version = 1
    attribute_count = 9
    method_count = 4

    def __init__(self, logical_name: ObisCode, meter: SimulatedMeter) -> None:
        super().__init__(
            logical_name,
            access={7: _WO},
            methods={1: MethodAccess.ACCESS},
            public=True,
        )
        self._meter = meter

    def method_access(self, method: int, level: AccessLevel) -> MethodAccess:
        """reply_to_HLS_authentication is open to whoever is associating; the rest is not granted."""
        return MethodAccess.ACCESS if method == 1 else MethodAccess.NO_ACCESS

    def _association(self, context: RequestContext) -> AssociationView:
        if context.association is None:
            raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "no association")
        return context.association

    def object_list(self, level: AccessLevel) -> Data:
        """``object_list``: every object this association can see, with its access rights."""
        entries = []
        for obj in self._meter.objects.values():
            if not obj.visible_to(level):
                continue
            selectors = obj.selectable_attributes()
            attributes = []
            for attribute in range(1, obj.attribute_count + 1):
                access = obj.attribute_access(attribute, level)
                chosen = selectors.get(attribute)
                attributes.append(
                    Data.structure(
                        Data.integer(attribute),
                        Data.enum(access),
                        Data.array(*(Data.integer(s) for s in chosen)) if chosen else Data.null_data(),
                    )
                )
            methods = [
                Data.structure(Data.integer(method), Data.enum(obj.method_access(method, level)))
                for method in range(1, obj.method_count + 1)
            ]
            entries.append(
                Data.structure(
                    Data.long_unsigned(obj.class_id),
                    Data.unsigned(obj.version),
                    Data.octet_string(obj.logical_name.to_bytes()),
                    Data.structure(Data.array(*attributes), Data.array(*methods)),
                )
            )
        return Data.array(*entries)

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 2:
            return self.object_list(context.level)
        association = self._association(context)
        match attribute:
            case 3:
                return Data.structure(
                    Data.integer(association.client_sap), Data.long_unsigned(association.server_sap)
                )
            case 4:
                return _context_name(1, association.application_context)
            case 5:
                return Data.structure(
                    Data.bit_string(bit == "1" for bit in format(int(association.conformance), "024b")),
                    Data.long_unsigned(association.server_max_receive_pdu_size),
                    Data.long_unsigned(association.client_max_receive_pdu_size),
                    Data.unsigned(6),
                    Data.integer(0),
                    Data.octet_string(b""),
                )
            case 6:
                return _context_name(2, association.mechanism)
            case 8:
                return Data.enum(association.status)
            case 9:
                return Data.octet_string(SECURITY_SETUP.to_bytes())
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def set(self, attribute: int, value: Data, context: RequestContext) -> None:
        """Change the LLS secret (attribute 7)."""
        if attribute != 7:
            raise AccessFailureError(DataAccessResult.READ_WRITE_DENIED)
        if value.tag != DataTag.OCTET_STRING or not isinstance(value.value, bytes) or not value.value:
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED)
        self._meter.security.password = value.value

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """reply_to_HLS_authentication (method 1): octet-string in, octet-string out."""
        if method != 1:
            return super().invoke(method, parameters, context)
        if (
            parameters is None
            or parameters.tag != DataTag.OCTET_STRING
            or not isinstance(parameters.value, bytes)
        ):
            raise AccessFailureError(
                DataAccessResult.TYPE_UNMATCHED, "reply_to_HLS_authentication takes an octet-string"
            )
        return Data.octet_string(self._association(context).reply_to_hls_authentication(parameters.value))


class SecuritySetup(CosemObject):
    """Security setup (class 64, version 0), read-only: policy, suite and the two system titles."""

    class_id = 64
    attribute_count = 5
    method_count = 2

    def __init__(self, logical_name: ObisCode, meter: SimulatedMeter) -> None:
        super().__init__(logical_name)
        self._meter = meter

    def _get(self, attribute: int, context: RequestContext) -> Data:
        security = self._meter.security
        match attribute:
            case 2:
                return Data.enum(3 if security.require_ciphering else 0)
            case 3:
                return Data.enum(0)
            case 4:
                return Data.octet_string(security.client_system_title or b"")
            case 5:
                return Data.octet_string(security.system_title)
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)


# --- the meter ----------------------------------------------------------------------------------------


def _describe_secret(value: object) -> str:
    return "None" if value is None else "<set>"


@dataclass(repr=False, slots=True)
class MeterSecurity:
    """Credentials and frame counters: the part of the device that outlives associations.

    ``authentication`` is the mechanism the management client must use (lowest level means no
    authentication: every association is management). ``client_invocation_counter`` is the last one
    accepted from the client (the frame counter object shows it; the next request must exceed it),
    ``server_invocation_counter`` the last one the server used. The repr never shows a secret.
    """

    authentication: AuthenticationMechanism = AuthenticationMechanism.LOWEST_LEVEL
    password: bytes | None = None
    keys: SecurityKeys = field(default_factory=SecurityKeys)
    system_title: bytes = b"SIM\x00\x00\x00\x00\x01"
    require_ciphering: bool = False
    allow_public_client: bool = True
    client_system_title: bytes | None = None
    client_invocation_counter: int = 0
    server_invocation_counter: int = 0

    def __post_init__(self) -> None:
        if len(self.system_title) != 8:
            raise EncodeError("a system title must be 8 bytes")
        if self.authentication is AuthenticationMechanism.LOW_LEVEL and not self.password:
            raise EncodeError("low level security needs a password")
        if self.authentication is AuthenticationMechanism.HIGH_LEVEL_GMAC and (
            self.keys.encryption_key is None or self.keys.authentication_key is None
        ):
            raise EncodeError("HLS-GMAC needs the encryption key and the authentication key")
        if self.authentication not in SUPPORTED_MECHANISMS:
            raise EncodeError(f"authentication mechanism {self.authentication.name} is not simulated")
        if self.require_ciphering and self.keys.encryption_key is None:
            raise EncodeError("ciphering needs an encryption key")

    @property
    def ciphering_available(self) -> bool:
        """Whether a ciphered application context can be accepted."""
        return self.keys.encryption_key is not None

    def next_server_invocation_counter(self) -> int:
        """Advance and return the server's invocation counter."""
        self.server_invocation_counter = (self.server_invocation_counter + 1) & 0xFFFF_FFFF
        return self.server_invocation_counter

    def __repr__(self) -> str:
        return (
            f"MeterSecurity(authentication={self.authentication.name}, "
            f"password={_describe_secret(self.password)}, keys={self.keys!r}, "
            f"system_title={self.system_title.hex().upper()}, require_ciphering={self.require_ciphering})"
        )

    __str__ = __repr__


SUPPORTED_MECHANISMS = frozenset(
    {
        AuthenticationMechanism.LOWEST_LEVEL,
        AuthenticationMechanism.LOW_LEVEL,
        AuthenticationMechanism.HIGH_LEVEL_GMAC,
    }
)

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


def default_system_title(serial: str) -> bytes:
    """``SIM`` and five bytes from the serial number (its value when numeric, else a hash)."""
    number = int.from_bytes(hashlib.sha256(serial.encode()).digest()[:5], "big")
    if serial.isdigit():
        number = int(serial) % (1 << 40)
    return b"SIM" + number.to_bytes(5, "big")


class SimulatedMeter:
    """A three-phase electricity meter: objects by logical name, clock, credentials, frame counters.

    ``clock`` returns the true current instant (timezone-aware); tests pass a frozen or stepped one.
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
    ) -> None:
        self._now = clock
        self.serial = serial
        self.security = (
            security if security is not None else MeterSecurity(system_title=default_system_title(serial))
        )
        self.electricity = Electricity(serial.encode())
        self.objects: dict[ObisCode, CosemObject] = {}
        self.clock = Clock(CLOCK, utc_offset_minutes)
        self._build(capture_period, profile_entries, installed_at)

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

    def _build(self, capture_period: int, profile_entries: int, installed_at: datetime | None) -> None:
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


def _phase_curve(curve: Callable[[int, int], float], phase: int) -> Callable[[int], float]:
    return lambda s: curve(phase, s)
