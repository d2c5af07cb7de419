"""The simulator as a P1 text meter and as a Luxembourg Smarty, decoded by the project's TelegramDecoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.dlms_cosem.dlms.push import PushLayout
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.mbus_channels import MBUS_PUSH_OBJECTS
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
from custom_components.dlms_cosem.dlms.telegram import Framing, SecurityLevel, Telegram, decode_telegrams
from custom_components.dlms_cosem.dlms.text import decode_text_frame

NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
TITLE = bytes.fromhex("5341476770010203")


def _meter(now: list[datetime], *, mbus: bool = False) -> SimulatedMeter:
    return SimulatedMeter(
        lambda: now[0], security=MeterSecurity(keys=SecurityKeys(EK, AK), system_title=TITLE), mbus=mbus
    )


def test_the_p1_meter_sends_checked_dsmr_text() -> None:
    telegram = PushBuilder(_meter([NOW]), PushSettings(framing=PushFraming.P1)).telegram()
    frame = decode_text_frame(telegram)
    assert frame.checked
    assert telegram.startswith(b"/SIM5\\2SIMULATED-P1\r\n\r\n1-3:0.2.8(50)\r\n")
    # The meter's clock runs at UTC+1 without daylight saving: winter time.
    assert b"0-0:1.0.0(240501110730W)\r\n" in telegram
    assert b"*kWh)" in telegram


@pytest.mark.parametrize("security", [None, 0x30])
def test_p1_and_smarty_telegrams_decode_to_the_meters_values(security: int | None) -> None:
    now = [NOW]
    meter = _meter(now, mbus=True)
    objects = (*DEFAULT_PUSH_OBJECTS, *MBUS_PUSH_OBJECTS)
    builder = PushBuilder(meter, PushSettings(framing=PushFraming.P1, security=security, objects=objects))
    chunks, energies, voltages = [], [], []
    for _ in range(3):
        chunks.append(builder.telegram())
        energies.append(meter.read(ACTIVE_ENERGY_IMPORT).value)
        voltages.append(meter.read(VOLTAGES[0]).value)
        now[0] += timedelta(seconds=10)
    keys = SecurityKeys(EK, AK) if security else None
    events = decode_telegrams(chunks, keys)
    assert all(isinstance(event, Telegram) for event in events), events
    telegrams = [event for event in events if isinstance(event, Telegram)]
    assert len(telegrams) == 3
    for index, telegram in enumerate(telegrams):
        assert telegram.framing is (Framing.APDU if security else Framing.TEXT)
        assert telegram.content.layout is PushLayout.TEXT
        values = {obj.obis: obj for obj in telegram.content.objects}
        assert values[ACTIVE_ENERGY_IMPORT].value == energies[index]
        assert values[ACTIVE_ENERGY_IMPORT].unit == "Wh"
        assert values[VOLTAGES[0]].value == voltages[index] / 10
        assert values[LOGICAL_DEVICE_NAME].raw == b"SIM12345678".hex().upper()
        assert telegram.timestamp is not None
        assert telegram.timestamp.to_datetime() == (NOW + timedelta(hours=1, seconds=10 * index)).replace(
            tzinfo=None
        )
        assert values[CLOCK].raw == telegram.timestamp
        gas = [obj for obj in telegram.content.objects if obj.unit == "m³"]
        assert gas, "the M-Bus channels' readings"
        assert all(obj.captured is not None for obj in gas)
        if security:
            assert telegram.security is SecurityLevel.AUTHENTICATED_ENCRYPTED
            assert telegram.authenticated
            assert telegram.system_title == TITLE
        else:
            assert telegram.security is SecurityLevel.NONE
