r"""The data block of an IEC 62056-21 text telegram: lines of data sets, each an ID code and its values.

A data set is ``ID(value)`` or, for objects with several values, ``ID(value)(value)...``; a line may
hold several data sets, and a line that starts with ``(`` continues the data set of the line before
(DSMR 2.2 and 3 put a gas reading on its own line after its header). ``()`` is an empty value.

The ID code is an OBIS code in one of the forms IEC 62056-21 allows:

- the full form ``A-B:C.D.E`` with an optional billing period ``*F`` (or ``&F``);
- the reduced form ``C.D.E`` (or ``C.D``), which readouts use: the medium and channel are those of
  the meter, A and B default to ``default_medium`` (1, electricity) and 0;
- the letters of value groups C and D: ``C`` (96, service entries), ``F`` (97, errors), ``L`` (98,
  lists) and ``P`` (99, data profiles), as in ``F.F`` (the error register) or ``C.1.0``.

A missing value group E or F is 255 ("not used", as OBIS writes it). Anything else in a line is a
:class:`~..errors.DecodeError` naming the line, so a damaged or spliced telegram without a checksum
is refused instead of giving values nobody sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DecodeError
from ..obis import ObisCode

OPEN = "("
CLOSE = ")"
MAX_VALUE_LENGTH = 2048
"""Characters of one value: DSMR's text message (0-0:96.13.0) holds up to 1024 bytes in hexadecimal."""
MAX_DATA_SETS = 1024
"""Data sets of one telegram (real ones have 10 to 60)."""
DEFAULT_MEDIUM = 1
"""Value group A of a reduced ID code: readouts come from electricity meters."""
NOT_USED = 255
"""OBIS value 255: the value group is not used."""

GROUP_LETTERS = {"C": 96, "F": 97, "L": 98, "P": 99}
"""Letters IEC 62056-21 readouts write for value groups C and D 96 to 99."""
_BILLING_SEPARATORS = "*&"
_MAX_GROUP = 255


@dataclass(frozen=True, slots=True)
class DataSet:
    """One data set: the object's code as written and parsed, and its values as text."""

    code: ObisCode
    id_code: str
    """The ID code as the meter wrote it (``1-0:1.8.0``, ``1.8.0``, ``F.F``)."""
    values: tuple[str, ...]
    """The text between each pair of parentheses, in order (``""`` for ``()``)."""


def _group(text: str, letters: bool) -> int:
    if letters and text in GROUP_LETTERS:
        return GROUP_LETTERS[text]
    if not text.isdigit() or not text.isascii() or len(text) > 3 or int(text) > _MAX_GROUP:
        raise DecodeError(f"ID code group {text!r} is not a number 0..255")
    return int(text)


def parse_id_code(text: str, default_medium: int = DEFAULT_MEDIUM) -> ObisCode:
    """The OBIS code an ID code stands for (see the module docstring for the forms)."""
    a, b = default_medium, 0
    rest = text
    if ":" in rest:
        head, rest = rest.split(":", 1)
        medium, dash, channel = head.partition("-")
        if not dash:
            raise DecodeError(f"ID code {text!r}: medium and channel must be written A-B:")
        a, b = _group(medium, False), _group(channel, False)
    f = NOT_USED
    for separator in _BILLING_SEPARATORS:
        if separator in rest:
            rest, period = rest.split(separator, 1)
            f = _group(period, False)
            break
    groups = rest.split(".")
    if not 2 <= len(groups) <= 3:  # C.D or C.D.E
        raise DecodeError(f"ID code {text!r} is not C.D.E")
    c, d = _group(groups[0], True), _group(groups[1], True)
    e = _group(groups[2], True) if len(groups) == 3 else NOT_USED
    return ObisCode(a, b, c, d, e, f)


def _values(line: str, start: int, number: int) -> tuple[list[str], int]:
    """The parenthesised values from ``line[start]`` on, and where they end."""
    values = []
    index = start
    while index < len(line) and line[index] == OPEN:
        close = line.find(CLOSE, index + 1)
        if close < 0:
            raise DecodeError(f"line {number}: a value without its closing parenthesis")
        value = line[index + 1 : close]
        if OPEN in value or len(value) > MAX_VALUE_LENGTH:
            raise DecodeError(f"line {number}: a malformed value")
        values.append(value)
        index = close + 1
    return values, index


def parse_data_block(block: str, default_medium: int = DEFAULT_MEDIUM) -> tuple[DataSet, ...]:
    """The data sets of a data block, in order; a line that is not data sets is a DecodeError."""
    sets: list[DataSet] = []
    for number, raw_line in enumerate(block.split("\n"), start=1):
        line = raw_line.rstrip("\r")
        if not line:
            continue
        if not line.isascii() or not line.isprintable():
            raise DecodeError(f"line {number}: control characters or non-ASCII bytes in a data line")
        index = 0
        if line[0] == OPEN:
            if not sets:
                raise DecodeError(f"line {number}: values before any ID code")
            more, index = _values(line, 0, number)
            last = sets[-1]
            sets[-1] = DataSet(last.code, last.id_code, (*last.values, *more))
        while index < len(line):
            opening = line.find(OPEN, index)
            if opening <= index:
                raise DecodeError(f"line {number}: an ID code without a value")
            id_code = line[index:opening]
            values, index = _values(line, opening, number)
            sets.append(DataSet(parse_id_code(id_code, default_medium), id_code, tuple(values)))
            if len(sets) > MAX_DATA_SETS:
                raise DecodeError(f"more than {MAX_DATA_SETS} data sets in one telegram")
    if not sets:
        raise DecodeError("a text telegram without data sets")
    return tuple(sets)
