"""COSEM interface classes the simulated meter is made of (Blue Book 4.3, 4.5): data, register, clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import ClassVar

from ..apdu import (
    DataAccessResult,
    SelectiveAccessDescriptor,
)
from ..axdr import Data, DataTag, datetime_from_data
from ..cosem_datetime import ClockStatus, CosemDate, CosemDateTime, CosemTime, SpecialDay
from ..obis import ObisCode
from ..units import ScalerUnit
from .access import (
    AccessFailureError,
    AccessLevel,
    AttributeAccess,
    MethodAccess,
    RequestContext,
)


def cosem_datetime_from(data: Data, zone: timezone) -> datetime:
    """An aware datetime from a date-time value or octet-string(12); without a deviation, in ``zone``."""
    found = datetime_from_data(data)
    if found is None:
        raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "not a date-time")
    instant = found.to_datetime()
    if instant is None:
        raise AccessFailureError(DataAccessResult.OTHER_REASON, "date-time does not name one instant")
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=zone)


#: Years the simulated clock accepts when set (a real meter's calendar is bounded too).
MIN_CLOCK_YEAR = 1970
MAX_CLOCK_YEAR = 2099

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


EXTENDED_REGISTER_STATUS = 4
EXTENDED_REGISTER_CAPTURE_TIME = 5


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
        if attribute == EXTENDED_REGISTER_STATUS:
            return self._status
        if attribute == EXTENDED_REGISTER_CAPTURE_TIME:
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
