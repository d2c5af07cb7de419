"""What the ``read`` command reads: attributes named by OBIS code, their classes guessed or looked up.

An OBIS code of unknown class is read with the class its value groups suggest
(:func:`~..client.class_guess.guess_class_id`). A guessed Register the meter does not know as one
(object-undefined, object-class-inconsistent) is tried again as Data, the other class a value
commonly has. Only what is still undefined then makes the reader look the class up in the
association's object list (read once, only then). Each object gets its reading or its own error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..axdr import Data, DataTag
from ..client import DlmsClient, ObjectListEntry, RegisterReference, RegisterValue
from ..client.class_guess import guess_class_id
from ..client.objects import (
    DATA_CLASS_ID,
    DEMAND_REGISTER_CLASS_ID,
    EXTENDED_REGISTER_CLASS_ID,
    REGISTER_CLASS_ID,
    AttributeReference,
)
from ..errors import DecodeError, DlmsError, ObjectUndefinedError, ServiceError
from ..obis import ObisCode
from ..push import plain_value

#: Classes whose attribute 2 is a value with a scaler_unit (or a plain value, for Data).
VALUE_CLASSES = frozenset(
    {DATA_CLASS_ID, REGISTER_CLASS_ID, EXTENDED_REGISTER_CLASS_ID, DEMAND_REGISTER_CLASS_ID}
)
VALUE_ATTRIBUTE = 2
#: Guessed classes worth a second try as Data when the meter does not know the object as guessed.
_REGISTER_GUESSES = frozenset({REGISTER_CLASS_ID, EXTENDED_REGISTER_CLASS_ID})

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ObjectRequest:
    """One attribute to read, named by OBIS code (the class is found out)."""

    obis: ObisCode
    attribute: int = VALUE_ATTRIBUTE

    @classmethod
    def parse(cls, text: str) -> ObjectRequest:
        """``OBIS[:ATTRIBUTE]``: ``1.0.32.7.0.255``, ``1-0:32.7.0*255:2``, ``0.0.1.0.0.255:2``."""
        name, separator, attribute = text.rpartition(":")
        if separator and attribute.isdigit() and name:
            number = int(attribute)
            if not 1 <= number <= 0x7F:
                raise DecodeError(f"attribute {number} outside 1..127")
            return cls(ObisCode.parse(name), number)
        return cls(ObisCode.parse(text))

    def __str__(self) -> str:
        return f"{self.obis} attribute {self.attribute}"


@dataclass(frozen=True, slots=True)
class ObjectReading:
    """A value read: ``value`` scaled (registers) or in plain form, ``unit`` its symbol."""

    request: ObjectRequest
    class_id: int
    data: Data
    value: object
    unit: str | None

    def record(self) -> dict[str, object]:
        """The JSON record: obis, attribute, value, unit and the value as sent (``raw``)."""
        return {
            "obis": str(self.request.obis),
            "attribute": self.request.attribute,
            "value": self.value,
            "unit": self.unit,
            "raw": plain_value(self.data),
        }


def _reading(request: ObjectRequest, class_id: int, result: RegisterValue | Data) -> ObjectReading:
    if isinstance(result, Data):
        return ObjectReading(request, class_id, result, plain_value(result), None)
    scaled = result.value
    numeric = isinstance(scaled, int | float) and not isinstance(scaled, bool)
    value = scaled if numeric and result.raw.tag is not DataTag.ENUM else plain_value(result.raw)
    return ObjectReading(request, class_id, result.raw, value, result.unit)


type Outcome = ObjectReading | DlmsError


class ObjectReader:
    """Reads attributes by OBIS code through a :class:`DlmsClient`, finding out their classes.

    Classes found (read successfully, or listed) and scalers are remembered, so a repeated poll is
    one request.
    """

    def __init__(self, client: DlmsClient, classes: Mapping[ObisCode, int] | None = None) -> None:
        self._client = client
        self._classes: dict[ObisCode, int] = dict(classes or {})
        self._object_list_read = False

    @property
    def classes(self) -> Mapping[ObisCode, int]:
        """The classes known so far, by OBIS code."""
        return self._classes

    def learn(self, entries: Iterable[ObjectListEntry]) -> None:
        """Take the classes from an association's object list."""
        for entry in entries:
            self._classes[entry.obis] = entry.class_id
        self._object_list_read = True

    async def read(self, requests: Sequence[ObjectRequest]) -> list[Outcome]:
        """Each request's reading or its error; errors of the whole exchange are raised."""
        known = [request.obis in self._classes for request in requests]
        first = [
            self._classes[request.obis] if request.obis in self._classes else guess_class_id(request.obis)
            for request in requests
        ]
        tried = [{class_id} for class_id in first]
        results = await self._read(requests, first)
        wrong_guesses = [
            index
            for index, result in enumerate(results)
            if not known[index]
            and isinstance(result, ObjectUndefinedError)
            and requests[index].attribute == VALUE_ATTRIBUTE
            and first[index] in _REGISTER_GUESSES
        ]
        if wrong_guesses:
            _LOGGER.debug("not registers, trying them as Data: %s", [str(requests[i]) for i in wrong_guesses])
            as_data = await self._read(
                [requests[i] for i in wrong_guesses], [DATA_CLASS_ID] * len(wrong_guesses)
            )
            for index, result in zip(wrong_guesses, as_data, strict=True):
                tried[index].add(DATA_CLASS_ID)
                if not isinstance(result, ObjectUndefinedError):  # else the first answer says more
                    results[index] = result
        for request, result in zip(requests, results, strict=True):
            if isinstance(result, ObjectReading):
                self._classes.setdefault(request.obis, result.class_id)
        undefined = [
            index
            for index, result in enumerate(results)
            if not known[index] and isinstance(result, ObjectUndefinedError)
        ]
        if undefined and not self._object_list_read:
            await self._look_up(requests, results, undefined, tried)
        return results

    async def _look_up(
        self,
        requests: Sequence[ObjectRequest],
        results: list[Outcome],
        undefined: Sequence[int],
        tried: Sequence[set[int]],
    ) -> None:
        """Read the object list once and read again what it gives another class."""
        try:
            self.learn(await self._client.read_object_list())
        except (ServiceError, DecodeError) as exc:
            _LOGGER.debug("object list not readable (%s): classes stay unknown", exc)
            self._object_list_read = True  # refused: asking again each poll would not help
            return
        again = []
        for index in undefined:
            listed = self._classes.get(requests[index].obis)
            if listed is None:
                results[index] = ObjectUndefinedError(
                    f"{requests[index]}: not in this association's object list"
                )
            elif listed not in tried[index]:
                again.append(index)
        if again:
            retried = await self._read(
                [requests[index] for index in again], [self._classes[requests[index].obis] for index in again]
            )
            for index, result in zip(again, retried, strict=True):
                results[index] = result

    async def _read(self, requests: Sequence[ObjectRequest], classes: Sequence[int]) -> list[Outcome]:
        """One GET-with-list for the register values (scaled), one for any other attributes."""
        results: list[Outcome | None] = [None] * len(requests)
        registers = [
            index
            for index, (request, class_id) in enumerate(zip(requests, classes, strict=True))
            if request.attribute == VALUE_ATTRIBUTE and class_id in VALUE_CLASSES
        ]
        chosen = set(registers)
        others = [index for index in range(len(requests)) if index not in chosen]
        if registers:
            values = await self._client.read_registers(
                [RegisterReference(requests[index].obis, classes[index]) for index in registers]
            )
            for index, value in zip(registers, values, strict=True):
                results[index] = (
                    value
                    if isinstance(value, DlmsError)
                    else _reading(requests[index], classes[index], value)
                )
        if others:
            data = await self._client.get_many(
                [AttributeReference(requests[i].obis, classes[i], requests[i].attribute) for i in others]
            )
            for index, item in zip(others, data, strict=True):
                results[index] = (
                    item if isinstance(item, DlmsError) else _reading(requests[index], classes[index], item)
                )
        return [result for result in results if result is not None]
