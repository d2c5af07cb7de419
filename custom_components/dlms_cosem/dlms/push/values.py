"""What one pushed value is: the object it belongs to, and the value as a Python value.

A :class:`PushObject` is one value of a telegram with what the telegram (or its list identifier)
says about it: OBIS code, scaler and unit, and, for layouts that send capture object definitions,
the interface class and attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..axdr import Data, DataTag
from ..cosem_datetime import CosemDateTime, parse_meter_date_time
from ..obis import ObisCode
from ..units import ScalerUnit, scale_value, unit_symbol

_NUL = "\0"

type ScalarValue = int | float | str | bytes | bool | CosemDateTime | None


@dataclass(frozen=True, slots=True)
class PushObject:
    """One value from a telegram, with what is known about it."""

    obis: ObisCode | None
    data: Data
    scaler_unit: ScalerUnit | None = None
    class_id: int | None = None
    attribute: int | None = None

    @property
    def raw(self) -> object:
        """The value as sent: integers unscaled, strings decoded, structures as lists."""
        return plain_value(self.data)

    @property
    def value(self) -> object:
        """The value scaled by the scaler (when there is one and the value is a number)."""
        raw = self.raw
        if self.scaler_unit is not None and isinstance(raw, int | float) and not isinstance(raw, bool):
            return scale_value(raw, self.scaler_unit.scaler)
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


def printable_text(raw: bytes) -> str | None:
    """The bytes as text when they are printable ASCII (meters send names as octet-strings).

    Meters pad names to a fixed width with NUL bytes ("RATE2" in 8 bytes): the padding is no part
    of the text.
    """
    text = raw.rstrip(b"\0")
    if not text or not all(0x20 <= byte < 0x7F for byte in text):
        return None
    return text.decode("ascii")
