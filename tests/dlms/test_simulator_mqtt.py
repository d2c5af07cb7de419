"""The simulator's MQTT publisher against a real broker (mosquitto), read back with mosquitto_sub.

What a subscriber receives must be the meter's telegrams, byte for byte or as hex text, and decode to the
meter's values; the MQTT encoding itself is checked against the standard's examples.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.errors import PortUnavailableError
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.mqtt import (
    MqttPayload,
    MqttPublisher,
    MqttPushSettings,
    connect_packet,
    publish_packet,
    remaining_length,
    telegram_messages,
)
from custom_components.dlms_cosem.dlms.simulator.push import PushBuilder, PushFraming, PushSettings
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams
from tests.dlms.mqtt_broker import HAVE_BROKER, MOSQUITTO_SUB, NO_BROKER, Broker, mosquitto
from tests.dlms.stack import PACKAGE as STACK_PACKAGE

ROOT = Path(__file__).resolve().parents[2]
needs_broker = pytest.mark.skipif(not HAVE_BROKER, reason=NO_BROKER)
START = datetime(2026, 12, 7, 9, 15, tzinfo=UTC)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto(tmp_path) as running:
        yield running


@pytest.mark.parametrize(
    ("length", "encoded"),
    # MQTT 3.1.1, 2.2.3: the bounds of each size.
    [(0, "00"), (127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001"), (268435455, "ffffff7f")],
)
def test_remaining_length(length: int, encoded: str) -> None:
    assert remaining_length(length).hex() == encoded


def test_packets() -> None:
    assert connect_packet("sim").hex() == "100f00044d5154540402000000037369" + "6d"
    # User name and password flags (0xC0) with clean session; the strings length-prefixed.
    assert connect_packet("c", "u", "p")[9] == 0xC2
    assert connect_packet("c", "u", "p").endswith(b"\x00\x01c\x00\x01u\x00\x01p")
    assert publish_packet("a/b", b"\x7e\x00").hex() == "3007" + "0003612f62" + "7e00"
    assert publish_packet("t", b"", retain=True)[0] == 0x31


def test_messages_of_a_telegram() -> None:
    frames = [b"\x7e\x01\x7e", b"\x7e\x02\x7e"]
    assert telegram_messages(frames, MqttPushSettings()) == [b"\x7e\x01\x7e\x7e\x02\x7e"]
    assert telegram_messages(frames, MqttPushSettings(per_frame=True)) == frames
    assert telegram_messages(frames, MqttPushSettings(payload=MqttPayload.HEX)) == [b"7E017E7E027E"]


@asynccontextmanager
async def subscribed(broker: Broker, topic: str, count: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """mosquitto_sub printing the payloads of ``count`` messages in hex, one a line, then exiting."""
    assert MOSQUITTO_SUB is not None
    process = await asyncio.create_subprocess_exec(
        MOSQUITTO_SUB,
        *("-h", broker.host, "-p", str(broker.port), "-t", topic, "-C", str(count), "-F", "%x"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(0.3)  # subscribed before anything is published (QoS 0 keeps nothing)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def received(process: asyncio.subprocess.Process) -> list[bytes]:
    stdout, _ = await asyncio.wait_for(process.communicate(), 10)
    return [bytes.fromhex(line) for line in stdout.decode().split()]


def energy(telegram: Telegram | object) -> object:
    assert isinstance(telegram, Telegram)
    return next(obj.value for obj in telegram.content.objects if obj.obis == ACTIVE_ENERGY_IMPORT)


@needs_broker
async def test_published_telegrams_are_the_meters(broker: Broker) -> None:
    meter = SimulatedMeter(lambda: START)
    builder = PushBuilder(meter, PushSettings(framing=PushFraming.HDLC, max_information_length=128))
    expected = builder.frames()
    assert len(expected) > 1  # a segmented telegram: several frames
    async with subscribed(broker, "han/raw", len(expected) + 1) as process:
        async with MqttPublisher(broker.host, broker.port) as publisher:
            settings = MqttPushSettings(topic="han/raw", per_frame=True)
            for message in telegram_messages(expected, settings):
                await publisher.publish(settings.topic, message)
            hex_settings = MqttPushSettings(topic="han/raw", payload=MqttPayload.HEX)
            (hex_message,) = telegram_messages(expected, hex_settings)
            await publisher.publish(hex_settings.topic, hex_message)
        messages = await received(process)
    assert messages[:-1] == expected
    assert messages[-1] == b"".join(expected).hex().upper().encode()
    (telegram,) = decode_telegrams(messages[:-1])
    assert energy(telegram) == energy(decode_telegrams([b"".join(expected)])[0])


@needs_broker
async def test_a_broker_that_refuses_the_password(tmp_path: Path) -> None:
    with mosquitto(tmp_path, user=("reader", "right-password")) as broker:
        async with MqttPublisher(
            broker.host, broker.port, username="reader", password="right-password"
        ) as ok:
            await ok.publish("t", b"x")
        publisher = MqttPublisher(broker.host, broker.port, username="reader", password="wrong-password")
        with pytest.raises(PortUnavailableError, match="refused the connection") as refused:
            await publisher.connect()
    assert "wrong-password" not in str(refused.value)


async def test_no_broker_is_said() -> None:
    with pytest.raises(PortUnavailableError, match="cannot connect to the MQTT broker"):
        await MqttPublisher("127.0.0.1", 1).connect()


@needs_broker
async def test_the_simulate_command_publishes_hex_p1_telegrams(broker: Broker) -> None:
    async with subscribed(broker, "p1/hex", 2) as subscriber:
        simulator = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", STACK_PACKAGE, "simulate", "--mqtt", f"{broker.host}:{broker.port}", "--push", "0.2"),
            *("--push-framing", "p1", "--mqtt-topic", "p1/hex", "--mqtt-payload", "hex"),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert simulator.stdout is not None
            line = await asyncio.wait_for(simulator.stdout.readline(), 30)
            assert line.decode().strip() == (
                f'{{"publishing": "{broker.host}:{broker.port}", "topic": "p1/hex"}}'
            )
            messages = await received(subscriber)
        finally:
            simulator.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(simulator.communicate(), 10)
    assert simulator.returncode == 0, stderr.decode()
    assert len(messages) == 2
    for message in messages:
        text = bytes.fromhex(message.decode())  # hex text of the telegram
        assert text.startswith(b"/")
        assert b"1-0:1.8.0(" in text
        (telegram,) = decode_telegrams([text])
        assert isinstance(telegram, Telegram)


def test_the_simulate_command_without_a_broker() -> None:
    done = subprocess.run(
        [sys.executable, "-m", STACK_PACKAGE, "simulate", "--mqtt", "127.0.0.1:1", "--push", "0.1"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert b"cannot connect to the MQTT broker 127.0.0.1:1" in done.stderr
