"""The simulator's M-Bus channels: polled with their capture time, and pushed by ``simulate --mbus``."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

from custom_components.dlms_cosem.dlms.client import (
    ClientSettings,
    DlmsClient,
    RegisterReference,
    RegisterValue,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.simulator.mbus_channels import (
    GAS_CHANNEL,
    MEDIUM_GAS,
    MEDIUM_WATER,
    WATER_CHANNEL,
    channel_serial,
    channel_value,
    device_type,
)
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams

from .test_client_simulator import SimulatorTransport
from .test_simulator_cli import STARTUP_TIMEOUT, simulator, stop

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)


async def test_polled_channels_give_medium_serial_and_the_hourly_reading_with_its_capture_time() -> None:
    meter = SimulatedMeter(lambda: NOW, mbus=True)
    client = DlmsClient(SimulatorTransport(meter), ClientSettings())
    media = await client.get_many([(device_type(1), 1, 2), (device_type(2), 1, 2), (channel_serial(1), 1, 2)])
    assert [item.value for item in media] == [MEDIUM_GAS, MEDIUM_WATER, GAS_CHANNEL.serial.encode()]  # type: ignore[union-attr]
    gas, water = await client.read_registers(
        [RegisterReference(channel_value(1), 4), RegisterReference(channel_value(2), 4)]
    )
    assert isinstance(gas, RegisterValue)
    assert isinstance(water, RegisterValue)
    hour = datetime(2024, 3, 10, 12, tzinfo=UTC)
    assert gas.unit == "m³"
    assert gas.value == GAS_CHANNEL.litres(hour) / 1000
    assert water.value == WATER_CHANNEL.litres(hour) / 1000
    captured = await client.get(channel_value(1), 4, 5)
    assert isinstance(captured.value, bytes)
    assert CosemDateTime.from_bytes(captured.value).to_datetime() == hour
    assert GAS_CHANNEL.litres(hour) > GAS_CHANNEL.litres(datetime(2024, 3, 10, 11, tzinfo=UTC))
    await client.close()


def test_simulate_mbus_pushes_both_channels() -> None:
    arguments = ("--tcp", "127.0.0.1:0", "--push", "0.05", "--push-framing", "hdlc", "--mbus")
    with simulator(*arguments) as (process, address):
        host, port = address.rsplit(":", 1)
        received = b""
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                received += sock.recv(4096)
                if [event for event in decode_telegrams([received]) if isinstance(event, Telegram)]:
                    break
        code, _, _ = stop(process)
    assert code == 0
    telegram = next(event for event in decode_telegrams([received]) if isinstance(event, Telegram))
    pushed = {obj.obis: obj for obj in telegram.content.objects}
    assert pushed[device_type(1)].data.value == MEDIUM_GAS
    assert pushed[device_type(2)].data.value == MEDIUM_WATER
    assert pushed[channel_value(1)].unit == "m³"
    assert pushed[channel_value(2)].unit == "m³"
