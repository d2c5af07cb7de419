"""read_registers_and: a poll's registers and other attributes (clock, disconnector) in one request."""

from __future__ import annotations

from datetime import UTC, datetime

from custom_components.dlms_cosem.dlms.apdu import DataAccessResult, GetRequestWithList, decode_get_request
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import ClientSettings, DlmsClient, RegisterValue
from custom_components.dlms_cosem.dlms.errors import ServiceError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    CLOCK,
    VOLTAGES,
    SimulatedMeter,
)

from .test_client_simulator import SimulatorTransport

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
DISCONNECT_CONTROL = ObisCode(0, 0, 96, 3, 10, 255)


async def test_registers_and_attributes_share_one_request() -> None:
    meter = SimulatedMeter(lambda: NOW)
    transport = SimulatorTransport(meter)
    client = DlmsClient(transport, ClientSettings())
    attributes = [(CLOCK, 8, 2), (DISCONNECT_CONTROL, 70, 3), (ObisCode(0, 0, 96, 3, 11, 255), 70, 2)]
    values, extras = await client.read_registers_and([ACTIVE_ENERGY_IMPORT, VOLTAGES[0]], attributes)
    assert [value.unit for value in values if isinstance(value, RegisterValue)] == ["Wh", "V"]
    assert extras[0] == meter.read(CLOCK)
    assert extras[1] == Data.enum(1)  # connected
    assert isinstance(extras[2], ServiceError)  # no such object: its own error, the rest is served
    assert DataAccessResult.OBJECT_UNDEFINED.name.lower().replace("_", "-") in str(extras[2])

    before = len(transport.sent)
    again, extras = await client.read_registers_and([ACTIVE_ENERGY_IMPORT, VOLTAGES[0]], attributes[:2])
    assert len(transport.sent) == before + 1  # scalers cached: values and attributes in one GET
    request = decode_get_request(transport.sent[-1])
    assert isinstance(request, GetRequestWithList)
    assert len(request.attributes) == 4
    assert len(again) == 2
    assert extras == [meter.read(CLOCK), Data.enum(1)]
    # Without attributes it is read_registers.
    assert (
        await client.read_registers([ACTIVE_ENERGY_IMPORT])
        == (await client.read_registers_and([ACTIVE_ENERGY_IMPORT], ()))[0]
    )
    await client.close()
