"""How the commands print values: one JSON object per line, or a table for a person."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from ..axdr import BitString
from ..cosem_datetime import CosemDate, CosemDateTime, CosemTime


def json_value(value: object) -> Any:
    """A value as JSON can carry it: bytes as hex, date-times as ISO text, lists recursively."""
    match value:
        case None | bool() | int() | float() | str():
            return value
        case bytes():
            return value.hex().upper()
        case CosemDateTime():
            # The meter's wall-clock time, as it shows it; the deviation stays in the Python API.
            as_datetime = value.to_datetime()
            return as_datetime.replace(tzinfo=None).isoformat() if as_datetime is not None else str(value)
        case datetime():
            return value.isoformat()
        case CosemDate() | CosemTime() | BitString():
            return str(value)
        case list() | tuple():
            return [json_value(item) for item in value]
        case Mapping():
            return {str(key): json_value(item) for key, item in value.items()}
        case _:
            return str(value)


def write_json_line(stream: TextIO, record: Mapping[str, object]) -> None:
    """One compact JSON object on its own line."""
    stream.write(json.dumps(json_value(record), ensure_ascii=False))
    stream.write("\n")


def write_table(stream: TextIO, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Left-aligned columns sized to their widest cell."""
    cells = [[str(json_value(cell)) if cell is not None else "-" for cell in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    stream.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        stream.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
