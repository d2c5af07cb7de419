"""A Norwegian Kaifa meter on its HAN port, served over TCP as a ser2net bridge would serve it.

Kaifa MA304H4D meters (list identifier KFM_001) push three lists as HDLC UI frames, none of them with
OBIS codes (the list identifier says what each position is): list 1, the active power alone, every
2 seconds; list 2, the list identifier, meter number and type with the powers, currents and voltages,
every 10 seconds; list 3, list 2 with the meter's clock and the four energy totals, once an hour (on
the hour; here every ``--hourly`` seconds, and once after the first list 2 of each connection). The
layout, identity and first values are those of a real capture (the corpus's
``hassams-kaifa-ma304h4d-short``, turbokongen/hass-AMS); the power wanders and the totals grow with
it, so the plausibility guard sees a real meter. Every connection starts with list 1, as a bridge
joined mid-stream does: the case the config flow must get right.

Run: ``python scripts/norwegian_meter.py --port 0`` prints ``{"listening": PORT}`` and serves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.dlms_cosem.dlms.apdu import DataNotification, LongInvokeIdAndPriority  # noqa: E402
from custom_components.dlms_cosem.dlms.axdr import Data  # noqa: E402
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime  # noqa: E402
from custom_components.dlms_cosem.dlms.simulator.push import (  # noqa: E402
    PushFraming,
    PushSettings,
    frame_push,
)

LIST_IDENTIFIER = b"KFM_001"
METER_NUMBER = b"7340157011274532"
METER_TYPE = b"MA304H4D"
LIST_1_EVERY = 2.0
LIST_2_EVERY = 10.0


class KaifaMeter:
    """The meter's readings, advancing with the time: power in W, energy totals in Wh and varh."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.import_wh = 145_122_745.0
        self.reactive_import_varh = 47_786_857.0
        self.reactive_export_varh = 2_231_914.0
        self.invoke_id = 0

    def power(self) -> int:
        """Active power import: around 1.6 kW, wandering as a household's does."""
        elapsed = time.monotonic() - self.started
        return int(1590 + 400 * math.sin(elapsed / 30))

    def advance(self) -> None:
        now = time.monotonic()
        hours = (now - self.last) / 3600
        self.last = now
        self.import_wh += self.power() * hours
        self.reactive_export_varh += 464 * hours

    def notification(self, *values: Data) -> bytes:
        self.advance()
        self.invoke_id = self.invoke_id % 0xFF_FFFF + 1
        return DataNotification(
            body=Data.structure(*values),
            date_time=CosemDateTime.from_datetime(datetime.now(UTC)),
            long_invoke_id_and_priority=LongInvokeIdAndPriority(self.invoke_id),
        ).encode()

    def list_1(self) -> bytes:
        return self.notification(Data.double_long_unsigned(self.power()))

    def _list_2_values(self) -> list[Data]:
        return [
            Data.octet_string(LIST_IDENTIFIER),
            Data.octet_string(METER_NUMBER),
            Data.octet_string(METER_TYPE),
            Data.double_long_unsigned(self.power()),
            Data.double_long_unsigned(0),  # export
            Data.double_long_unsigned(0),  # reactive import
            Data.double_long_unsigned(464),  # reactive export
            Data.double_long_unsigned(724),  # current L1, mA
            Data.double_long_unsigned(4313),
            Data.double_long_unsigned(2491),
            Data.double_long_unsigned(2283),  # voltage L1, 0.1 V
            Data.double_long_unsigned(2306),
            Data.double_long_unsigned(2299),
        ]

    def list_2(self) -> bytes:
        return self.notification(*self._list_2_values())

    def list_3(self) -> bytes:
        self.advance()
        clock = CosemDateTime.from_datetime(datetime.now(UTC)).to_bytes()
        return self.notification(
            *self._list_2_values(),
            Data.octet_string(clock),
            Data.double_long_unsigned(int(self.import_wh)),
            Data.double_long_unsigned(0),
            Data.double_long_unsigned(int(self.reactive_import_varh)),
            Data.double_long_unsigned(int(self.reactive_export_varh)),
        )


def frames(apdu: bytes) -> bytes:
    return b"".join(frame_push(apdu, PushSettings(framing=PushFraming.HDLC)))


async def serve_connection(
    meter: KaifaMeter, writer: asyncio.StreamWriter, hourly: float, list_3_slot: int
) -> None:
    """List 1 first and every 2 s; list 2 every 10 s; list 3 in list 2 slot ``list_3_slot``, then hourly."""
    tick = 0
    slots = 0
    next_list_3 = 0.0
    with contextlib.suppress(ConnectionError):
        while True:
            writer.write(frames(meter.list_1()))
            tick += 1
            if tick % round(LIST_2_EVERY / LIST_1_EVERY) == 2:
                slots += 1
                await asyncio.sleep(0.3)
                now = time.monotonic()
                if slots == 2 or (slots > 2 and now >= next_list_3):
                    writer.write(frames(meter.list_3()))
                    next_list_3 = now + hourly
                else:
                    writer.write(frames(meter.list_2()))
            await writer.drain()
            await asyncio.sleep(LIST_1_EVERY)


async def main_async(port: int, hourly: float, list_3_slot: int) -> None:
    meter = KaifaMeter()

    async def connected(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await serve_connection(meter, writer, hourly, list_3_slot)
        finally:
            writer.close()

    server = await asyncio.start_server(connected, "127.0.0.1", port)
    print(json.dumps({"listening": server.sockets[0].getsockname()[1]}), flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    parser.add_argument(
        "--hourly", type=float, default=3600.0, help="seconds between list 3 telegrams (3600, as on the hour)"
    )
    parser.add_argument(
        "--list-3-slot",
        type=int,
        default=2,
        help="which list 2 slot of a connection carries its first list 3 (2: about 14 s after it opens)",
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args.port, args.hourly, args.list_3_slot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
