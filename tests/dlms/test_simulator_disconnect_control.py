"""Disconnect control (class 70) in the simulator, driven by a real client over the TCP wrapper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from custom_components.dlms_cosem.dlms.apdu import AuthenticationMechanism
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import Authentication, ClientSettings, DlmsClient
from custom_components.dlms_cosem.dlms.errors import ServiceError
from custom_components.dlms_cosem.dlms.simulator.disconnect_control import (
    DISCONNECT_CONTROL,
    REMOTE_DISCONNECT,
    REMOTE_RECONNECT,
    ControlMode,
    ControlState,
    DisconnectControl,
)
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.runner import RunnerSettings, SimulatorServer, Transport
from custom_components.dlms_cosem.dlms.transport.streams import TcpEndpoint
from custom_components.dlms_cosem.dlms.transport.wrapper import WrapperTransport

PASSWORD = b"12345678"
CLASS_ID = 70


@pytest.fixture
async def served(socket_enabled: None) -> AsyncIterator[tuple[SimulatedMeter, int]]:
    meter = SimulatedMeter(
        lambda: datetime.now(UTC),
        security=MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=PASSWORD),
    )
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    yield meter, int(str(address).rsplit(":", 1)[1])
    await server.close()


def client(port: int, *, management: bool = True) -> DlmsClient:
    settings = (
        ClientSettings(client_address=1, authentication=Authentication.LLS, password=PASSWORD)
        if management
        else ClientSettings(client_address=16)
    )
    address = settings.client_address
    return DlmsClient(
        WrapperTransport(TcpEndpoint("127.0.0.1", port), client_wport=address, server_wport=1), settings
    )


async def states(meter_client: DlmsClient) -> tuple[object, object, object]:
    values = await meter_client.get_many(
        [(DISCONNECT_CONTROL, CLASS_ID, attribute) for attribute in (2, 3, 4)]
    )
    return tuple(value.value if isinstance(value, Data) else value for value in values)  # type: ignore[return-value]


async def test_remote_disconnect_and_reconnect(served: tuple[SimulatedMeter, int]) -> None:
    meter, port = served
    async with client(port) as management:
        assert await states(management) == (True, ControlState.CONNECTED, ControlMode.MODE_1)
        assert (
            await management.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_DISCONNECT, Data.integer(0)) is None
        )
        assert await states(management) == (False, ControlState.DISCONNECTED, ControlMode.MODE_1)
        await management.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_RECONNECT, Data.integer(0))
        assert await states(management) == (True, ControlState.CONNECTED, ControlMode.MODE_1)

        # Mode 2: the remote reconnection only arms the switch until the customer presses the button.
        await management.set(DISCONNECT_CONTROL, CLASS_ID, 4, Data.enum(ControlMode.MODE_2))
        await management.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_DISCONNECT, Data.integer(0))
        await management.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_RECONNECT, Data.integer(0))
        assert await states(management) == (False, ControlState.READY_FOR_RECONNECTION, ControlMode.MODE_2)
        control = meter.find(DISCONNECT_CONTROL)
        assert isinstance(control, DisconnectControl)
        control.press_button()
        assert await states(management) == (True, ControlState.CONNECTED, ControlMode.MODE_2)


async def test_refusals_have_their_reasons(served: tuple[SimulatedMeter, int]) -> None:
    meter, port = served
    async with client(port) as management:
        with pytest.raises(ServiceError, match="type-unmatched"):
            await management.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_DISCONNECT)  # no integer(0)
        with pytest.raises(ServiceError, match="other-reason"):
            await management.set(DISCONNECT_CONTROL, CLASS_ID, 4, Data.enum(7))
        with pytest.raises(ServiceError, match="read-write-denied"):
            await management.set(DISCONNECT_CONTROL, CLASS_ID, 2, Data.boolean(False))
        await management.set(DISCONNECT_CONTROL, CLASS_ID, 4, Data.enum(ControlMode.NONE))
        with pytest.raises(ServiceError, match="temporary-failure"):
            await management.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_DISCONNECT, Data.integer(0))
        assert await states(management) == (True, ControlState.CONNECTED, ControlMode.NONE)
    async with client(port, management=False) as public:
        assert (await states(public))[0] is True  # the public client reads the state
        with pytest.raises(ServiceError, match="read-write-denied"):
            await public.action(DISCONNECT_CONTROL, CLASS_ID, REMOTE_DISCONNECT, Data.integer(0))
    control = meter.find(DISCONNECT_CONTROL)
    assert isinstance(control, DisconnectControl)
    assert control.output_state
