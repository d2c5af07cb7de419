"""A pushing meter heard through MQTT: a reader publishes the meter's bytes, Home Assistant's MQTT delivers.

Two kinds of tests. With a real broker (mosquitto on 127.0.0.1) and Home Assistant's MQTT integration
connected to it through a real config entry, the simulator's meter publishes HDLC frames (raw) or a P1
text telegram (as hex text), and the config flow sets the meter up from the menu to its sensors. With
Home Assistant's MQTT test client (messages fired into it), the payload detection, a telegram split over
messages, garbage, the plausibility guard and the flow's errors are checked message by message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from homeassistant.components import mqtt
from homeassistant.components.mqtt.config_flow import FlowHandler as MqttFlowHandler
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClientGenerator, MqttMockPahoClient

from custom_components.dlms_cosem import config_flow
from custom_components.dlms_cosem.const import (
    CONF_CONNECTION_TYPE,
    CONF_OBJECTS,
    CONF_PAYLOAD,
    CONF_PUSH_TIMEOUT,
    CONF_TOPIC,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.diagnostics import async_get_config_entry_diagnostics
from custom_components.dlms_cosem.dlms.simulator.logical_names import (
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_IMPORT,
    VOLTAGES,
)
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.mqtt import (
    MqttPayload,
    MqttPublisher,
    MqttPushSettings,
    telegram_messages,
)
from custom_components.dlms_cosem.dlms.simulator.push import PushBuilder, PushFraming, PushSettings
from custom_components.dlms_cosem.mqtt_source import PayloadDecoder, PayloadEncoding, hex_digits, valid_topic
from custom_components.dlms_cosem.push_coordinator import DlmsPushCoordinator
from tests.dlms.mqtt_broker import HAVE_BROKER, NO_BROKER, Broker, mosquitto
from tests.pushed_meter import energy_import
from tests.waiting import wait_for

ENERGY = str(ACTIVE_ENERGY_IMPORT)
POWER = str(ACTIVE_POWER_IMPORT)
VOLTAGE = str(VOLTAGES[0])
START = datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
STEP = timedelta(seconds=10)
TOPIC = "han/meter/raw"


@pytest.fixture(autouse=True)
def no_configuration_yaml(mock_hass_config: None) -> None:
    """The MQTT integration reads configuration.yaml when it sets up: the tests have none."""


class PublishingMeter:
    """The simulator's meter, as a reader publishes it: each :meth:`messages` is its next telegram."""

    def __init__(
        self, framing: PushFraming, settings: MqttPushSettings, *, max_information: int = 1024
    ) -> None:
        self.instant = START
        self.meter = SimulatedMeter(lambda: self.instant)
        self.builder = PushBuilder(
            self.meter, PushSettings(framing=framing, max_information_length=max_information)
        )
        self.settings = settings
        self.energies: list[int] = []
        """The energy import (Wh) of each telegram made so far."""

    def energy(self) -> int:
        return energy_import(self.meter, self.instant)

    def messages(self) -> list[bytes]:
        """The next telegram (its meter clock :data:`STEP` later), as the messages it is published in."""
        self.instant += STEP
        messages = telegram_messages(self.builder.frames(), self.settings)
        self.energies.append(self.energy())
        return messages


def entity_of(hass: HomeAssistant, entry: MockConfigEntry | Any, obis: str) -> str:
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.unique_id.endswith(f"_{obis}"):
            return registered.entity_id
    raise AssertionError(f"no entity for {obis}")


def state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state


def shown(hass: HomeAssistant, entity_id: str) -> bool:
    return state_of(hass, entity_id) not in (None, STATE_UNKNOWN, STATE_UNAVAILABLE)


async def configure(
    hass: HomeAssistant, result: Any, user_input: dict[str, Any] | None = None
) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


async def finish_waiting(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    if result["type"] is not FlowResultType.SHOW_PROGRESS:
        return result
    assert result["step_id"] == "wait_telegram"
    await hass.async_block_till_done()
    return await configure(hass, result)


async def mqtt_flow(hass: HomeAssistant, topic: str, payload: str = "auto") -> dict[str, Any]:
    """The user flow from the menu through the topic form and the (empty) security form."""
    result = dict(await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
    assert "mqtt_push" in result["menu_options"]
    result = await configure(hass, result, {"next_step_id": "mqtt_push"})
    assert result["step_id"] == "mqtt_topic"
    assert [str(key) for key in result["data_schema"].schema] == [CONF_TOPIC, CONF_PAYLOAD]
    result = await configure(hass, result, {CONF_TOPIC: topic, CONF_PAYLOAD: payload})
    if result["step_id"] != "security":
        return result
    assert [str(key) for key in result["data_schema"].schema] == [
        "security_suite",
        "encryption_key",
        "authentication_key",
    ]
    return await finish_waiting(hass, await configure(hass, result, {}))


async def follow_every_telegram(hass: HomeAssistant, entry: Any) -> None:
    """The options flow: every telegram written (the update limit has tests of its own)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_PUSH_TIMEOUT: 600, CONF_UPDATE_INTERVAL: 0, CONF_OBJECTS: list(entry.options[CONF_OBJECTS])},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_UPDATE_INTERVAL] == 0
    assert entry.state is ConfigEntryState.LOADED


# --- the payload, message by message --------------------------------------------------------------


def test_hex_text_is_told_from_raw_bytes_by_its_structure() -> None:
    assert hex_digits(b"7ea0 2a\r\n7e") == b"7ea02a7e"
    assert hex_digits(b"7EA") is None  # an odd count of digits
    assert hex_digits(b"\x7e\xa0") is None
    assert hex_digits(b"/ISK5\r\n") is None
    assert hex_digits(b" \r\n") is None  # no digit at all
    decoder = PayloadDecoder()
    assert decoder.decode(b"7E A0 07\n01 7E") == bytes.fromhex("7EA007017E")
    assert decoder.decode("68 0a") == bytes.fromhex("680A")  # text from a subscription with an encoding
    assert decoder.decode(b"\x7e\xa0\x07") == b"\x7e\xa0\x07"
    # After raw bytes, a short piece that looks like hex is the rest of a raw telegram (a P1 checksum).
    assert decoder.decode(b"ABCD\r\n") == b"ABCD\r\n"
    assert decoder.decode(b"7E" * 20) == bytes.fromhex("7E" * 20)
    assert (decoder.messages, decoder.hex_messages) == (5, 3)


def test_a_chosen_encoding_is_kept() -> None:
    raw = PayloadDecoder(PayloadEncoding.RAW)
    assert raw.decode(b"7EA0") == b"7EA0"
    hexadecimal = PayloadDecoder(PayloadEncoding.HEX)
    assert hexadecimal.decode(b"ABCD\r\n") == bytes.fromhex("ABCD")
    assert hexadecimal.decode(b"\x7e\xa0") == b""
    assert hexadecimal.dropped == 1


@pytest.mark.parametrize(
    ("topic", "valid"),
    [
        ("han/raw", True),
        ("ams/+/raw", True),
        ("ams/#", True),
        ("#", True),
        ("", False),
        ("ams/#/raw", False),
        ("ams/x#", False),
        ("ams/a+/raw", False),
        ("a\0b", False),
    ],
)
def test_topics_one_can_subscribe_to(topic: str, valid: bool) -> None:
    assert valid_topic(topic) is valid


# --- a real broker --------------------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path, socket_enabled: None) -> Iterator[Broker]:
    if not HAVE_BROKER:
        pytest.skip(NO_BROKER)
    with mosquitto(tmp_path) as running:
        yield running


@asynccontextmanager
async def mqtt_integration(hass: HomeAssistant, broker: Broker) -> AsyncIterator[MockConfigEntry]:
    """Home Assistant's MQTT integration, set up from a config entry that names the broker."""
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={"broker": broker.host, "port": broker.port},
        version=MqttFlowHandler.VERSION,
        minor_version=MqttFlowHandler.MINOR_VERSION,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: mqtt.is_connected(hass), 10)
    try:
        yield entry
    finally:
        for dlms_entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(dlms_entry.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@asynccontextmanager
async def publishing(broker: Broker, meter: PublishingMeter, interval: float = 0.5) -> AsyncIterator[None]:
    """The reader: the meter's next telegram published every ``interval`` seconds, until the block ends."""

    async def publish() -> None:
        async with MqttPublisher(broker.host, broker.port, client_id="han-reader") as publisher:
            while True:
                for message in meter.messages():
                    await publisher.publish(meter.settings.topic, message)
                await asyncio.sleep(interval)

    task = asyncio.get_running_loop().create_task(publish())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def assert_energy_panel_sensors(hass: HomeAssistant, entry: ConfigEntry, energy: str) -> None:
    """What the Energy panel asks of the energy sensor, and a voltage in volts that a grid has."""
    state = hass.states.get(energy)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["state_class"] == "total_increasing"
    voltage = hass.states.get(entity_of(hass, entry, VOLTAGE))
    assert voltage is not None
    assert voltage.attributes["unit_of_measurement"] == "V"
    assert 200 < float(voltage.state) < 260


async def test_a_reader_publishing_hdlc_frames_through_a_real_broker(
    hass: HomeAssistant, broker: Broker
) -> None:
    # One message per HDLC frame, the telegram segmented into several frames, as the meter sends it.
    meter = PublishingMeter(
        PushFraming.HDLC, MqttPushSettings(topic=TOPIC, per_frame=True), max_information=128
    )
    assert len(meter.builder.frames()) > 1
    async with mqtt_integration(hass, broker):
        async with publishing(broker, meter):
            result = await mqtt_flow(hass, TOPIC)
            assert result["step_id"] == "objects"
            result = await configure(hass, result, {CONF_OBJECTS: [ENERGY, POWER, VOLTAGE]})
            assert result["type"] is FlowResultType.CREATE_ENTRY
            assert result["data"] == {
                CONF_CONNECTION_TYPE: "mqtt_push",
                CONF_TOPIC: TOPIC,
                CONF_PAYLOAD: "auto",
            }
            entry = result["result"]
            await hass.async_block_till_done()
            assert entry.state is ConfigEntryState.LOADED
            await follow_every_telegram(hass, entry)
            energy = entity_of(hass, entry, ENERGY)
            await wait_for(lambda: shown(hass, energy), 15)
        # The reader stops: the sensor shows the last telegram's total.
        await wait_for(lambda: float(state_of(hass, energy) or "nan") * 1000 == meter.energies[-1], 10)
        assert_energy_panel_sensors(hass, entry, energy)
        power = hass.states.get(entity_of(hass, entry, POWER))
        assert power is not None
        assert power.attributes["device_class"] == "power"
        coordinator = entry.runtime_data.coordinator
        assert isinstance(coordinator, DlmsPushCoordinator)
        assert coordinator.link_statistics.frames >= 2
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        assert diagnostics["entry"]["data"][CONF_TOPIC] == TOPIC


async def test_a_p1_reader_publishing_hex_text_through_a_real_broker(
    hass: HomeAssistant, broker: Broker
) -> None:
    meter = PublishingMeter(PushFraming.P1, MqttPushSettings(topic="p1/hex", payload=MqttPayload.HEX))
    (message,) = meter.messages()
    assert bytes.fromhex(message.decode()).startswith(b"/")  # a P1 telegram, as hex text
    async with mqtt_integration(hass, broker):
        async with publishing(broker, meter):
            result = await mqtt_flow(hass, "p1/hex")
            assert result["step_id"] == "objects"
            result = await configure(hass, result, {CONF_OBJECTS: [ENERGY, VOLTAGE]})
            assert result["type"] is FlowResultType.CREATE_ENTRY
            entry = result["result"]
            await hass.async_block_till_done()
            await follow_every_telegram(hass, entry)
            energy = entity_of(hass, entry, ENERGY)
            await wait_for(lambda: shown(hass, energy), 15)
        await wait_for(lambda: float(state_of(hass, energy) or "nan") * 1000 == meter.energies[-1], 10)
        assert_energy_panel_sensors(hass, entry, energy)


async def test_the_same_topic_is_one_meter(hass: HomeAssistant, broker: Broker) -> None:
    meter = PublishingMeter(PushFraming.HDLC, MqttPushSettings(topic=TOPIC))
    async with mqtt_integration(hass, broker), publishing(broker, meter):
        result = await mqtt_flow(hass, TOPIC)
        result = await configure(hass, result, {CONF_OBJECTS: [ENERGY]})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        # Said before the wait: one listener per topic.
        again = await mqtt_flow(hass, TOPIC)
        assert again["type"] is FlowResultType.ABORT
        assert again["reason"] == "already_configured"


# --- Home Assistant's MQTT test client -------------------------------------------------------------


@pytest.fixture
async def test_client(
    hass: HomeAssistant, mqtt_mock_entry: MqttMockHAClientGenerator, mqtt_client_mock: MqttMockPahoClient
) -> AsyncIterator[None]:
    """Home Assistant's MQTT test client, set up, and unloaded after the test (its timers with it)."""
    await mqtt_mock_entry()
    yield
    # The test client opens a socket that is no socket when it connects: closed, the client's timer stops.
    mqtt_client_mock.on_socket_close(mqtt_client_mock, None, Mock(fileno=Mock(return_value=-1)))
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    for entry in hass.config_entries.async_entries(mqtt.DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_flow, "WAIT_TELEGRAM_TIMEOUT", 1.0)
    monkeypatch.setattr(config_flow, "PROGRESS_GRACE", 0.2)


async def set_up_topic_entry(
    hass: HomeAssistant, topic: str = TOPIC
) -> tuple[MockConfigEntry, DlmsPushCoordinator]:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="MQTT meter",
        unique_id="mqtt meter",
        data={CONF_CONNECTION_TYPE: "mqtt_push", CONF_TOPIC: topic},
        options={CONF_OBJECTS: [ENERGY, VOLTAGE], CONF_PUSH_TIMEOUT: 600, CONF_UPDATE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, DlmsPushCoordinator)
    return entry, coordinator


async def test_messages_in_every_form_become_values(hass: HomeAssistant, test_client: None) -> None:
    entry, coordinator = await set_up_topic_entry(hass)
    energy = entity_of(hass, entry, ENERGY)
    meter = PublishingMeter(PushFraming.HDLC, MqttPushSettings(topic=TOPIC))

    def total() -> float:
        return float(state_of(hass, energy) or "nan") * 1000

    async def arrives(payloads: list[bytes | str], frames: int) -> None:
        for payload in payloads:
            async_fire_mqtt_message(hass, TOPIC, payload)
            await asyncio.sleep(0.05)
        await wait_for(lambda: coordinator.link_statistics.frames >= frames)
        await wait_for(lambda: total() == meter.energies[-1])

    # Raw bytes, one telegram a message.
    await arrives(meter.messages(), 1)
    # Hex text with spaces and line breaks, in capitals or not.
    (telegram,) = meter.messages()
    spaced = " ".join(f"{byte:02x}" for byte in telegram)
    await arrives([spaced[:60] + "\n" + spaced[60:] + "\r\n"], 2)
    # One telegram split over two messages.
    (telegram,) = meter.messages()
    await arrives([telegram[:17], telegram[17:]], 3)
    # Garbage (a reader's status message, bytes of nothing): no value changes, the next telegram counts.
    before = total()
    async_fire_mqtt_message(hass, TOPIC, '{"status": "online", "rssi": -61}')
    async_fire_mqtt_message(hass, TOPIC, b"\x7e\x00\x01\x02garbage\x7e")
    await asyncio.sleep(2.0)  # the listener settles what it holds once the line is quiet
    await hass.async_block_till_done()
    assert total() == before
    assert coordinator.link_statistics.frames == 3
    await arrives(meter.messages(), 4)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_plausibility_guard_holds_an_implausible_total(
    hass: HomeAssistant, test_client: None
) -> None:
    entry, coordinator = await set_up_topic_entry(hass)
    energy = entity_of(hass, entry, ENERGY)
    meter = PublishingMeter(PushFraming.HDLC, MqttPushSettings(topic=TOPIC, payload=MqttPayload.HEX))
    for count in (1, 2):
        for message in meter.messages():
            async_fire_mqtt_message(hass, TOPIC, message)
        await wait_for(lambda count=count: coordinator.link_statistics.frames >= count)
    await wait_for(lambda: float(state_of(hass, energy) or "nan") * 1000 == meter.energies[-1])
    before = state_of(hass, energy)
    # 30 MWh more in ten seconds: more than any installation draws.
    meter.meter.electricity.import_energy_at_reference += 30_000_000.0
    for message in meter.messages():
        async_fire_mqtt_message(hass, TOPIC, message)
    await wait_for(lambda: coordinator.link_statistics.frames >= 3)
    await hass.async_block_till_done()
    assert state_of(hass, energy) == before
    assert meter.energies[-1] > meter.energies[-2] + 29_000_000
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_mqtt_not_set_up_is_said_on_the_topic_form(hass: HomeAssistant) -> None:
    result = await mqtt_flow(hass, TOPIC)  # the topic, the security form, then the error
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt_topic"
    assert result["errors"] == {"base": "mqtt_not_set_up"}


async def test_no_message_on_the_topic(hass: HomeAssistant, test_client: None, fast: None) -> None:
    result = await mqtt_flow(hass, "nothing/here")
    assert result["step_id"] == "mqtt_topic"
    assert result["errors"] == {"base": "no_data_mqtt"}


async def test_messages_that_are_not_telegrams(hass: HomeAssistant, test_client: None, fast: None) -> None:

    async def babble() -> None:
        while True:
            async_fire_mqtt_message(hass, "status/topic", '{"uptime": 1234, "wifi": "ok"}')
            await asyncio.sleep(0.1)

    task = hass.async_create_background_task(babble(), "a reader's status messages")
    try:
        result = await mqtt_flow(hass, "status/topic")
    finally:
        task.cancel()
    assert result["step_id"] == "mqtt_topic"
    assert result["errors"] == {"base": "no_valid_frame_mqtt"}


async def test_a_topic_with_a_misplaced_wildcard(hass: HomeAssistant) -> None:
    result = await mqtt_flow(hass, "han/#/raw")
    assert result["step_id"] == "mqtt_topic"
    assert result["errors"] == {CONF_TOPIC: "invalid_topic"}


@asynccontextmanager
async def firing(hass: HomeAssistant, topic: str, messages: list[bytes]) -> AsyncIterator[None]:
    """A reader on the test client: the same telegram every 0.1 s while the block runs."""

    async def reader() -> None:
        while True:
            for message in messages:
                async_fire_mqtt_message(hass, topic, message)
            await asyncio.sleep(0.1)

    task = hass.async_create_background_task(reader(), f"a reader on {topic}")
    try:
        yield
    finally:
        task.cancel()


async def test_reconfigure_to_another_topic(hass: HomeAssistant, test_client: None, fast: None) -> None:
    messages = PublishingMeter(PushFraming.HDLC, MqttPushSettings(topic=TOPIC)).messages()
    async with firing(hass, TOPIC, messages):
        result = await mqtt_flow(hass, TOPIC)
        result = await configure(hass, result, {CONF_OBJECTS: [ENERGY]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    result = dict(
        await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
    )
    assert result["step_id"] == "reconfigure"
    assert [str(key) for key in result["data_schema"].schema][:2] == [CONF_TOPIC, CONF_PAYLOAD]
    async with firing(hass, "han/new", messages):
        result = await configure(hass, result, {CONF_TOPIC: " han/new ", CONF_PAYLOAD: "raw"})
        result = await finish_waiting(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_CONNECTION_TYPE: "mqtt_push", CONF_TOPIC: "han/new", CONF_PAYLOAD: "raw"}
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_while_mqtt_is_away(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="mqtt meter",
        data={CONF_CONNECTION_TYPE: "mqtt_push", CONF_TOPIC: TOPIC},
        options={CONF_OBJECTS: [ENERGY]},
    )
    entry.add_to_hass(hass)
    result = dict(await entry.start_reconfigure_flow(hass))
    result = await configure(hass, result, {CONF_TOPIC: TOPIC, CONF_PAYLOAD: "auto"})
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "mqtt_not_set_up"}
