"""What one pushed value is: the object it belongs to, and the value as a Python value.

A :class:`PushObject` is one value of a telegram with what the telegram (or its list identifier)
says about it: OBIS code, scaler and unit, and, for layouts that send capture object definitions,
the interface class and attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import cast

from ..axdr import Data, DataTag
from ..cosem_datetime import CosemDateTime, parse_meter_date_time
from ..obis import ObisCode
from ..units import ScalerUnit, scale_value, unit_symbol

_NUL = "\0"

type ScalarValue = int | float | str | bytes | bool | CosemDateTime | None


class _Unset(Enum):
    """Not computed yet (an enum member: stays itself through copy and pickle, unlike object())."""

    UNSET = 0


_UNSET = _Unset.UNSET


@dataclass(frozen=True, slots=True)
class PushObject:
    """One value from a telegram, with what is known about it."""

    obis: ObisCode | None
    data: Data
    scaler_unit: ScalerUnit | None = None
    class_id: int | None = None
    attribute: int | None = None
    # When the meter captured the value (an extended or demand register's capture_time, sent with it):
    # an M-Bus channel's reading is as old as its capture, not as the telegram.
    captured: CosemDateTime | None = None
    # plain_value(data), kept once computed: list profiles, the clock and the value all ask for it.
    _plain: object = field(default=_UNSET, init=False, repr=False, compare=False)

    @property
    def raw(self) -> object:
        """The value as sent: integers unscaled, strings decoded, structures as lists."""
        plain = self._plain
        if plain is _UNSET:
            plain = plain_value(self.data)
            if not isinstance(plain, list):  # a caller may change a list it gets; give a fresh one
                object.__setattr__(self, "_plain", plain)
        return plain

    @property
    def value(self) -> object:
        """The value scaled by the scaler (when there is one and the value is a number)."""
        raw = self.raw
        if self.scaler_unit is None:
            return raw
        kind = type(raw)
        if kind is int or kind is float or (isinstance(raw, int | float) and kind is not bool):
            return scale_value(cast("int | float", raw), self.scaler_unit.scaler)  # checked just above
        return raw

    @property
    def unit(self) -> str | None:
        """The unit symbol, when the telegram or a list identifier gives one."""
        return None if self.scaler_unit is None else unit_symbol(self.scaler_unit.unit)


def date_time_from_data(data: Data) -> CosemDateTime | None:
    """The date-time in ``data``: a date-time value, or an octet-string of 12 bytes holding one.

    Meters send their timestamps as octet-strings more often than as date-times, and some with a
    weekday the strict codec refuses (see :func:`~..cosem_datetime.parse_meter_date_time`).
    """
    value = data.value
    if data.tag == DataTag.DATE_TIME and isinstance(value, CosemDateTime):
        return value
    if data.tag == DataTag.OCTET_STRING and isinstance(value, bytes):
        return parse_meter_date_time(value)
    return None


def plain_value(data: Data) -> object:
    """A JSON-friendly Python value: text where bytes are printable text, date-times recognised."""
    if data.tag in (DataTag.ARRAY, DataTag.STRUCTURE):
        items = data.value
        assert isinstance(items, tuple)
        return [plain_value(item) for item in items]
    if data.tag == DataTag.OCTET_STRING:
        found = date_time_from_data(data)
        if found is not None:
            return found
        raw = data.value
        assert isinstance(raw, bytes)
        text = printable_text(raw)
        return text if text is not None else raw
    if data.tag == DataTag.COMPACT_ARRAY:
        return data.to_python()
    if data.tag == DataTag.VISIBLE_STRING and isinstance(data.value, str):
        return data.value.rstrip(_NUL) or data.value
    return data.value


_PRINTABLE = bytes(range(0x20, 0x7F))


def printable_text(raw: bytes) -> str | None:
    """The bytes as text when they are printable ASCII (meters send names as octet-strings).

    Meters pad names to a fixed width with NUL bytes ("RATE2" in 8 bytes): the padding is no part
    of the text.
    """
    text = raw.rstrip(b"\0")
    if not text or text.translate(None, _PRINTABLE):  # something is left once the printable are deleted
        return None
    return text.decode("ascii")
