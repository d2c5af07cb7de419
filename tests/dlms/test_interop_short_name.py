"""Short name referencing against an independent implementation: gurux-dlms reads the ``--sn`` simulator.

A gurux client with ``useLogicalNameReferencing=False`` reads the object list (base names at 0xFA08)
and registers with their scaler_unit from the simulator in short name mode, over the TCP wrapper and
HDLC on a pty; our client (``referencing=auto``) reads the same simulator over a real TCP socket and
must find out by itself that the meter only speaks short names.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest
from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication as GuruxAuthentication
from gurux_dlms.enums import InterfaceType
from gurux_dlms.objects import GXDLMSRegister

from custom_components.dlms_cosem.dlms.apdu import ApplicationContextName
from custom_components.dlms_cosem.dlms.client import ClientSettings, DlmsClient, Referencing, RegisterValue
from custom_components.dlms_cosem.dlms.errors import AssociationRejectedError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.simulator import (
    RunnerSettings,
    SimulatedMeter,
    SimulatorServer,
    Transport,
)
from custom_components.dlms_cosem.dlms.simulator.model import ACTIVE_ENERGY_IMPORT, CLOCK, VOLTAGES
from custom_components.dlms_cosem.dlms.simulator.short_names import BaseNames
from custom_components.dlms_cosem.dlms.transport import TcpEndpoint, WrapperTransport
from custom_components.dlms_cosem.dlms.units import ScalerUnit, Unit
from tests.dlms.peers.gurux_client import FdLink, GuruxSession, Link, SocketLink

from .test_interop_gurux import NOW, RESPONSE_TIMEOUT, _dotted, _gurux_scaler, in_thread

PUBLIC_CLIENT = 16
SERVER_LOGICAL = 1
SERVER_PHYSICAL = 17
READ_REGISTERS = (ACTIVE_ENERGY_IMPORT, VOLTAGES[0])


@dataclass
class GuruxShortNameReading:
    objects: list[tuple[int, int, ObisCode]]
    registers: dict[ObisCode, tuple[Any, int, int]]
    printed: list[str]


def gurux_sn_reads(transport: Transport, address: str) -> GuruxShortNameReading:
    """One gurux short name association (blocking; runs in a worker thread)."""
    link: Link
    if transport is Transport.HDLC_PTY:
        link = FdLink(address)
        server = GXDLMSClient.getServerAddress(SERVER_LOGICAL, SERVER_PHYSICAL)
        interface = InterfaceType.HDLC
    else:
        host, _, port = address.rpartition(":")
        link = SocketLink(host, int(port), RESPONSE_TIMEOUT)
        server, interface = SERVER_LOGICAL, InterfaceType.WRAPPER
    with closing(link):
        client = GXDLMSClient(False, PUBLIC_CLIENT, server, GuruxAuthentication.NONE, None, interface)
        session = GuruxSession(link, client, RESPONSE_TIMEOUT)
        session.connect()
        listed = session.read_objects()
        objects = [
            (int(item.objectType), int(item.shortName), ObisCode.parse(item.logicalName)) for item in listed
        ]
        registers: dict[ObisCode, tuple[Any, int, int]] = {}
        for obis in READ_REGISTERS:
            register = listed.findByLN(GXDLMSRegister().objectType, _dotted(obis))
            assert register is not None, obis
            session.read(register, 3)
            raw = session.read(register, 2)
            registers[obis] = (raw, _gurux_scaler(register.scaler), int(register.unit))
        session.close()
    return GuruxShortNameReading(objects, registers, session.printed)


@pytest.mark.parametrize("transport", [Transport.WRAPPER_TCP, Transport.HDLC_PTY])
async def test_gurux_short_name_client_reads_the_sn_simulator(transport: Transport) -> None:
    meter = SimulatedMeter(lambda: NOW)
    names = BaseNames(meter)
    async with SimulatorServer(meter, RunnerSettings(transport, short_names=True)) as server:
        reading = await in_thread(gurux_sn_reads, transport, server.address)

    expected = []
    for base, obj in ((names.base_name(obj), obj) for obj in [names.association, *meter.objects.values()]):
        if obj is not None and base is not None:
            expected.append((obj.class_id, base, obj.logical_name))
    assert sorted(reading.objects, key=lambda item: item[1]) == sorted(expected, key=lambda item: item[1])
    assert (12, 0xFA00, ObisCode(0, 0, 40, 0, 0, 255)) in reading.objects
    for obis in READ_REGISTERS:
        scaler_unit = ScalerUnit.from_data(meter.read(obis, 3))
        assert reading.registers[obis] == (meter.read(obis).value, scaler_unit.scaler, int(scaler_unit.unit))
    assert reading.registers[ACTIVE_ENERGY_IMPORT][2] == Unit.WATT_HOUR
    assert reading.registers[VOLTAGES[0]][1] == -1
    assert reading.printed == []


async def test_our_client_detects_short_names_over_tcp() -> None:
    meter = SimulatedMeter(lambda: NOW)
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP, short_names=True)) as server:
        host, _, port = server.address.rpartition(":")

        def transport() -> WrapperTransport:
            return WrapperTransport(
                TcpEndpoint(host, int(port)),
                client_wport=PUBLIC_CLIENT,
                server_wport=SERVER_LOGICAL,
                response_timeout=RESPONSE_TIMEOUT,
                open_timeout=RESPONSE_TIMEOUT,
            )

        async with DlmsClient(transport(), ClientSettings()) as client:
            assert client.context is not None
            assert client.context.application_context_name is (
                ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING
            )
            entries = await client.read_object_list()
            assert {ACTIVE_ENERGY_IMPORT, CLOCK} <= {entry.obis for entry in entries}
            values = await client.read_registers(list(READ_REGISTERS))
            for obis, value in zip(READ_REGISTERS, values, strict=True):
                assert isinstance(value, RegisterValue), value
                scaler_unit = ScalerUnit.from_data(meter.read(obis, 3))
                raw = meter.read(obis).value
                assert isinstance(raw, int)
                assert value.value == pytest.approx(raw * 10.0**scaler_unit.scaler)
            assert await client.get(CLOCK, 8, 2) == meter.read(CLOCK)

        refused = DlmsClient(transport(), ClientSettings(referencing=Referencing.LN))
        with pytest.raises(AssociationRejectedError, match="application context name not supported"):
            await refused.connect()
        await refused.close()
