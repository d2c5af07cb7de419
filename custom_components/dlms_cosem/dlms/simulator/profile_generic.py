"""Profile Generic (class 7): a load profile computed for any instant, read whole or by selective access."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from ..apdu import (
    CaptureObjectDefinition,
    DataAccessResult,
    EntryDescriptor,
    RangeDescriptor,
    SelectiveAccessDescriptor,
)
from ..axdr import Data
from ..errors import DecodeError
from ..obis import ObisCode
from .access import (
    AccessFailureError,
    RequestContext,
)
from .electricity import (
    REFERENCE_INSTANT,
)
from .interface_classes import (
    Clock,
    CosemObject,
    ObjectLookup,
    cosem_datetime_from,
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
