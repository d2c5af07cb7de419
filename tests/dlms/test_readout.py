"""IEC 62056-21 data readout (modes A, B, C): the sans-I/O session against the simulator's optical
port, the shared mode C vector, damaged and silent meters, and the asyncio adapter over TCP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.errors import ConnectionLostError, FrameError, MeterNotRespondingError
from custom_components.dlms_cosem.dlms.iec62056_21 import ACK, Send, SetLine, Wait
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.readout import ReadoutMeter, serve_readout
from custom_components.dlms_cosem.dlms.telegram import Framing
from custom_components.dlms_cosem.dlms.text.readout import DataReadout, ReadoutMode
from custom_components.dlms_cosem.dlms.transport.readout import ReadoutSettings, read_out
from custom_components.dlms_cosem.dlms.transport.streams import SerialEndpoint, TcpEndpoint

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
ENERGY = ObisCode(1, 0, 1, 8, 0, 255)
VOLTAGE = ObisCode(1, 0, 32, 7, 0, 255)
SERIAL = ObisCode(1, 0, 96, 1, 0, 255)
VECTORS = {
    vector["id"]: vector
    for vector in json.loads((Path(__file__).parent.parent / "fixtures" / "text_vectors.json").read_text())[
        "vectors"
    ]
}


def _meter() -> SimulatedMeter:
    return SimulatedMeter(lambda: NOW)


def _sent(actions: list[Send | SetLine | Wait]) -> bytes:
    return b"".join(action.data for action in actions if isinstance(action, Send))


def _values(session: DataReadout) -> dict[ObisCode, tuple[object, str | None]]:
    assert session.telegram is not None
    return {obj.obis: (obj.value, obj.unit) for obj in session.telegram.objects if obj.obis is not None}


def test_mode_c_signs_on_acknowledges_switches_and_reads() -> None:
    meter = _meter()
    port = ReadoutMeter(meter)
    session = DataReadout(reaction_time=0.25)
    start = session.start()
    assert start == [SetLine(300, 7, "E"), Send(b"/?!\r\n")]
    identification = port.receive(_sent(start))
    assert identification == b"/SIM5SIMULATED-C\r\n"
    actions = session.receive(identification)
    assert session.mode is ReadoutMode.C
    assert actions[0] == Wait(0.25)
    assert actions[1] == Send(bytes([ACK]) + b"050\r\n")
    assert actions[-1] == SetLine(9600, 7, "E")
    assert session.baudrate == 9600
    message = port.receive(_sent(actions))
    assert message[:1] == b"\x02"
    for index in range(len(message)):  # byte by byte, as a slow line delivers it
        assert session.receive(message[index : index + 1]) == []
    assert session.done
    values = _values(session)
    energy = meter.read(ENERGY).value
    assert isinstance(energy, int)
    assert values[ENERGY] == (energy, "Wh")
    voltage = meter.read(VOLTAGE).value
    assert isinstance(voltage, int)
    assert values[VOLTAGE] == (voltage / 10, "V")
    assert values[SERIAL] == (meter.serial, None)


def test_mode_a_sends_its_data_with_the_identification() -> None:
    port = ReadoutMeter(_meter(), mode_c=False)
    session = DataReadout()
    answer = port.receive(_sent(session.start()))
    assert session.receive(answer) == []
    assert session.mode is ReadoutMode.A
    assert session.baudrate == 300
    assert ENERGY in _values(session)


def test_mode_b_switches_without_acknowledgement() -> None:
    session = DataReadout()
    session.start()
    actions = session.receive(b"/ABCE\\0METER\r\n")
    assert session.mode is ReadoutMode.B
    assert actions == [SetLine(9600, 7, "E")]


def test_the_baud_rate_asked_for_is_capped() -> None:
    session = DataReadout(max_baudrate=4800)
    session.start()
    actions = session.receive(b"/ISk6MT174-0001\r\n")
    assert Send(bytes([ACK]) + b"040\r\n") in actions
    assert actions[-1] == SetLine(4800, 7, "E")


def test_the_shared_mode_c_vector_reads_to_its_values() -> None:
    vector = VECTORS["iec62056-21-mode-c-readout-synthetic"]
    raw = bytes.fromhex(vector["frames"][0])
    line_end = raw.index(b"\n") + 1
    session = DataReadout()
    session.start()
    assert _sent(session.receive(raw[:line_end])) == bytes([ACK]) + b"050\r\n"
    session.receive(raw[line_end:])
    values = {str(code): value for code, value in _values(session).items()}
    for obis, (value, unit) in vector["expect_obis"].items():
        assert values[obis] == (value, unit)


def test_a_damaged_data_message_is_a_frame_error() -> None:
    port = ReadoutMeter(_meter(), mode_c=False)
    session = DataReadout()
    answer = bytearray(port.receive(_sent(session.start())))
    answer[answer.index(b"*kWh") - 2] ^= 0x01  # one digit of the energy
    with pytest.raises(FrameError):
        session.receive(bytes(answer))
    assert not session.done


def test_a_silent_meter_is_signed_on_again_then_given_up() -> None:
    session = DataReadout(max_retries=2)
    session.start()
    assert _sent(session.on_timeout()) == b"/?!\r\n"
    assert _sent(session.on_timeout()) == b"/?!\r\n"
    with pytest.raises(MeterNotRespondingError):
        session.on_timeout()


def test_an_echo_and_noise_before_the_identification_are_skipped() -> None:
    session = DataReadout(device_address="12345678")
    start = session.start()
    assert _sent(start) == b"/?12345678!\r\n"
    actions = session.receive(b"/?12345678!\r\n\x00\xff/ISk5MT174-0001\r\n")
    assert session.identification is not None
    assert session.identification.manufacturer == "ISk"
    assert actions


def test_an_address_that_is_no_iec_address_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot contain"):
        DataReadout(device_address="12/34")


@pytest.mark.parametrize("through_serialx", [False, True])
async def test_read_out_over_tcp(through_serialx: bool, socket_enabled: None) -> None:
    meter = _meter()
    server = await serve_readout(ReadoutMeter(meter))
    try:
        port = server.sockets[0].getsockname()[1]
        endpoint = (
            SerialEndpoint(f"socket://127.0.0.1:{port}", baudrate=300, bytesize=7, parity="E")
            if through_serialx
            else TcpEndpoint("127.0.0.1", port)
        )
        result = await read_out(endpoint, ReadoutSettings(reaction_time=0.0, answer_timeout=2.0))
    finally:
        server.close()
        await server.wait_closed()
    assert result.mode is ReadoutMode.C
    assert result.baudrate == 9600
    assert result.identification.identification == "SIMULATED-C"
    assert result.telegram.framing is Framing.TEXT
    values = {obj.obis: obj.value for obj in result.telegram.content.objects}
    assert values[ENERGY] == meter.read(ENERGY).value


async def test_read_out_of_a_meter_that_never_answers(socket_enabled: None) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):  # hears the sign-ons, answers nothing, until the client leaves
            pass
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(MeterNotRespondingError):
            await read_out(TcpEndpoint("127.0.0.1", port), ReadoutSettings(answer_timeout=0.1, max_retries=1))
    finally:
        server.close()
        await server.wait_closed()


async def test_read_out_of_a_port_that_closes(socket_enabled: None) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"/ISk5MT1")  # the identification cut short
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(ConnectionLostError, match="closed"):
            await read_out(TcpEndpoint("127.0.0.1", port), ReadoutSettings(answer_timeout=2.0))
    finally:
        server.close()
        await server.wait_closed()
