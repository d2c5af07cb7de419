"""Push telegrams from the simulator, decoded by the project's own TelegramDecoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.dlms_cosem.dlms.errors import EncodeError
from custom_components.dlms_cosem.dlms.hdlc import HdlcFramer
from custom_components.dlms_cosem.dlms.mbus import MbusFramer
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.push import PushLayout
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    CLOCK,
    LOGICAL_DEVICE_NAME,
    VOLTAGES,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.push import (
    DEFAULT_PUSH_OBJECTS,
    PushBuilder,
    PushFraming,
    PushSettings,
)
from custom_components.dlms_cosem.dlms.telegram import (
    Framing,
    SecurityLevel,
    Telegram,
    TelegramDecoder,
    TelegramFailure,
    decode_telegrams,
)

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TITLE = bytes.fromhex("53494D0000000001")


class SteppingClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def make_meter(clock: SteppingClock) -> SimulatedMeter:
    return SimulatedMeter(clock, security=MeterSecurity(keys=SecurityKeys(EK, AK), system_title=TITLE))


FRAMINGS = {
    PushFraming.HDLC: Framing.HDLC,
    PushFraming.MBUS: Framing.MBUS,
    PushFraming.WRAPPER: Framing.WRAPPER,
    PushFraming.RAW: Framing.APDU,
}


@pytest.mark.parametrize("framing", list(FRAMINGS))  # P1 text telegrams: test_simulator_p1.py
@pytest.mark.parametrize("security", [None, 0x20, 0x30])
def test_pushed_telegrams_decode(framing: PushFraming, security: int | None) -> None:
    clock = SteppingClock()
    meter = make_meter(clock)
    builder = PushBuilder(meter, PushSettings(framing=framing, security=security, max_information_length=128))
    chunks = []
    expected_energy = []
    for _ in range(3):
        chunks.append(builder.telegram())
        expected_energy.append(meter.read(ACTIVE_ENERGY_IMPORT).value)
        clock.now += timedelta(seconds=10)
    keys = SecurityKeys(EK, AK if security == 0x30 else None) if security else None
    if framing is PushFraming.RAW:
        # Bare APDUs carry no length: a listener settles each one at the quiet gap that follows it.
        decoder = TelegramDecoder(keys, Framing.APDU)
        events = [event for chunk in chunks for event in (*decoder.feed(chunk), *decoder.flush())]
    else:
        events = decode_telegrams(chunks, keys)
    assert all(isinstance(event, Telegram) for event in events), events
    telegrams = [event for event in events if isinstance(event, Telegram)]
    assert len(telegrams) == 3
    for index, telegram in enumerate(telegrams):
        assert telegram.framing is FRAMINGS[framing]
        assert telegram.long_invoke_id == index + 1
        assert telegram.content.layout is PushLayout.STRUCTURED
        assert telegram.timestamp is not None
        assert telegram.timestamp.to_datetime() == NOW + timedelta(seconds=10 * index)
        objects = {obj.obis: obj for obj in telegram.content.objects}
        assert [obj.obis for obj in telegram.content.objects] == list(DEFAULT_PUSH_OBJECTS)
        assert objects[ACTIVE_ENERGY_IMPORT].raw == expected_energy[index]
        assert objects[ACTIVE_ENERGY_IMPORT].unit == "Wh"
        assert objects[LOGICAL_DEVICE_NAME].raw == "SIM12345678"
        voltage = objects[VOLTAGES[0]]
        assert voltage.unit == "V"
        assert 220 <= voltage.value <= 240
        assert objects[CLOCK].raw.to_datetime() == NOW + timedelta(seconds=10 * index)
        if security is None:
            assert telegram.security is SecurityLevel.NONE
        else:
            assert telegram.system_title == TITLE
            assert telegram.security is (
                SecurityLevel.AUTHENTICATED_ENCRYPTED if security == 0x30 else SecurityLevel.ENCRYPTED
            )
            assert telegram.authenticated is (security == 0x30)
    counters = [telegram.invocation_counter for telegram in telegrams]
    if security is not None:
        assert counters == sorted(counters)
        assert len(set(counters)) == 3


def test_hdlc_pushes_are_segmented_ui_frames_with_llc() -> None:
    builder = PushBuilder(make_meter(SteppingClock()), PushSettings(max_information_length=64))
    frames = builder.frames()
    assert len(frames) > 3
    decoded = [frame for chunk in frames for frame in HdlcFramer().feed(chunk)]
    assert len(decoded) == len(frames)
    assert [frame.segmented for frame in decoded] == [True] * (len(frames) - 1) + [False]
    assert all(frame.control.frame_type.name == "UI" for frame in decoded)
    assert decoded[0].information[:3] == bytes.fromhex("e6e700")
    assert decoded[0].information[3] == 0x0F  # Data-Notification
    assert all(len(frame.information) <= 64 for frame in decoded)


def test_mbus_pushes_are_long_frames() -> None:
    builder = PushBuilder(make_meter(SteppingClock()), PushSettings(framing=PushFraming.MBUS, security=0x30))
    frames = MbusFramer().feed(builder.telegram())
    assert len(frames) >= 2
    assert frames[-1].last_segment
    assert frames[0].payload[0] == 0xDB  # general-glo-ciphering


def test_wrong_key_is_reported_not_misread() -> None:
    builder = PushBuilder(make_meter(SteppingClock()), PushSettings(framing=PushFraming.RAW, security=0x30))
    events = decode_telegrams([builder.telegram()], SecurityKeys(AK, EK))
    assert len(events) == 1
    assert isinstance(events[0], TelegramFailure)


def test_push_settings_are_checked() -> None:
    with pytest.raises(EncodeError):
        PushSettings(security=0x10)
    meter = SimulatedMeter(SteppingClock())
    with pytest.raises(EncodeError):
        PushBuilder(meter, PushSettings(security=0x30))  # no keys
    with pytest.raises(EncodeError):
        PushBuilder(meter, PushSettings(objects=(ObisCode(1, 0, 99, 99, 0, 255),))).telegram()
