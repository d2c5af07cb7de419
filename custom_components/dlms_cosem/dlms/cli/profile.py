"""``read --profile``: a Profile Generic buffer between two instants, as CSV or one JSON object per row.

Columns are named by their OBIS code (and attribute when it is not 2); the clock column is the
instant in UTC (ISO 8601) followed by the meter's own time with its offset, values are scaled with
the column's unit in the CSV header. The range is read by the clock column, or by entry when the
meter refuses range access.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from typing import TextIO

from ..client import DlmsClient
from ..client.profiles import ProfileEntry, ProfileInfo, read_profile_info, read_profile_range
from ..obis import ObisCode
from .output import json_value, write_json_line

FORMATS = ("csv", "json")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _headers(info: ProfileInfo) -> list[str]:
    headers = ["timestamp", "meter_time"]
    for index, column in enumerate(info.columns):
        if index == info.clock_column:
            continue
        name = str(column.logical_name)
        if column.attribute_index != 2:
            name += f":{column.attribute_index}"
        scaler = info.scaler_units[index]
        if scaler is not None and scaler.symbol:
            name += f" [{scaler.symbol}]"
        headers.append(name)
    return headers


def _cells(info: ProfileInfo, entry: ProfileEntry) -> list[object]:
    cells: list[object] = [
        entry.timestamp.isoformat(),
        entry.meter_time.isoformat() if entry.meter_time is not None else None,
    ]
    cells.extend(json_value(value) for index, value in enumerate(entry.values) if index != info.clock_column)
    return cells


async def print_profile(
    client: DlmsClient, obis: ObisCode, start: datetime, end: datetime, *, output: str, stdout: TextIO
) -> int:
    """Read and print the rows; the number of rows printed."""
    info = await read_profile_info(client, obis)
    entries, _ = await read_profile_range(client, info, start, end, now=datetime.now(UTC))
    headers = _headers(info)
    if output == "csv":
        writer = csv.writer(stdout, lineterminator="\n")
        writer.writerow(headers)
        for entry in entries:
            writer.writerow(["" if cell is None else cell for cell in _cells(info, entry)])
    else:
        for entry in entries:
            write_json_line(stdout, dict(zip(headers, _cells(info, entry), strict=True)))
    return len(entries)
