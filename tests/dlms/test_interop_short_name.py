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

from custom_components.dlms_cosem.dlms.apdu import ApplicationContextName, AuthenticationMechanism
from custom_components.dlms_cosem.dlms.client import (
    Authentication,
    ClientSettings,
    DlmsClient,
    Referencing,
    RegisterReference,
    RegisterValue,
)
from custom_components.dlms_cosem.dlms.errors import AssociationRejectedError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator import (
    MeterSecurity,
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


# --- HLS-GMAC by short name -----------------------------------------------------------------------------

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
GURUX_TITLE = b"GRX\x00\x00\x00\x00\x07"
MANAGEMENT_CLIENT = 1
SERIAL_NUMBER = ObisCode(0, 0, 96, 1, 0, 255)
HLS_GMAC = AuthenticationMechanism.HIGH_LEVEL_GMAC


def _gurux_pass_three_by_read(client: Any) -> Any:
    """gurux's f(StoC), sent as a ReadRequest of Association SN method 8 with parameterized-access.

    gurux-dlms 1.0.203's Python client *writes* 0xFA58 (``getApplicationAssociationRequest``), and a
    WriteResponse carries no data, so no server can return f(CtoS) that way: the gurux C server answers
    such a write with a bare WriteResponse too. Its C client reads the name with parameterized-access, as
    this stack does. So pass 3 is built here from gurux's own parts, the way its C client sends it: the
    challenge by gurux's GXSecure (as getApplicationAssociationRequest computes it), the ReadRequest by its
    SN encoder (and cipher, when the association is ciphered).
    """
    from gurux_dlms.enums import Command, DataType
    from gurux_dlms.GXByteBuffer import GXByteBuffer
    from gurux_dlms.GXDLMS import GXDLMS
    from gurux_dlms.GXDLMSSNParameters import GXDLMSSNParameters
    from gurux_dlms.GXSecure import GXSecure
    from gurux_dlms.internal._GXCommon import _GXCommon
    from gurux_dlms.VariableAccessSpecification import VariableAccessSpecification

    settings = client.settings
    answer = GXSecure.secure(
        settings,
        settings.cipher,
        settings.cipher.invocationCounter,
        settings.getStoCChallenge(),
        settings.cipher.systemTitle,
    )
    settings.cipher.invocationCounter += 1
    name = GXByteBuffer()
    name.setUInt16(0xFA58)  # 0xFA00 + 0x20 + 8 * (8 - 1)
    name.setUInt8(0)  # selector
    data = GXByteBuffer()
    _GXCommon.setData(settings, data, DataType.OCTET_STRING, answer)
    parameters = GXDLMSSNParameters(
        settings, Command.READ_REQUEST, 1, VariableAccessSpecification.PARAMETERISED_ACCESS, name, data
    )
    return GXDLMS.getSnMessages(parameters)


def gurux_sn_hls_reads(address: str, ciphered: bool) -> tuple[list[int], dict[ObisCode, Any], list[str]]:
    """A gurux short name client, management association with HLS-GMAC (blocking; in a worker thread)."""
    from gurux_dlms.enums import Security
    from gurux_dlms.objects import GXDLMSData
    from gurux_dlms.secure import GXDLMSSecureClient

    host, _, port = address.rpartition(":")
    link = SocketLink(host, int(port), RESPONSE_TIMEOUT)
    with closing(link):
        client = GXDLMSSecureClient(
            False,
            MANAGEMENT_CLIENT,
            SERVER_LOGICAL,
            GuruxAuthentication.HIGH_GMAC,
            None,
            InterfaceType.WRAPPER,
        )
        client.ciphering.systemTitle = GURUX_TITLE
        client.ciphering.blockCipherKey = EK
        client.ciphering.authenticationKey = AK
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION if ciphered else Security.NONE
        session = GuruxSession(link, client, RESPONSE_TIMEOUT)
        session.connect()
        assert client.isAuthenticationRequired
        with session.quiet():
            reply = session._request(_gurux_pass_three_by_read(client))
            # gurux checks the meter's f(CtoS) against its own challenge, title and keys (raises if not).
            client.parseApplicationAssociationResponse(reply.data)
        listed = session.read_objects()
        bases = [int(item.shortName) for item in listed]
        values: dict[ObisCode, Any] = {}
        for obis in READ_REGISTERS:
            register = listed.findByLN(GXDLMSRegister().objectType, _dotted(obis))
            session.read(register, 3)
            values[obis] = (session.read(register, 2), _gurux_scaler(register.scaler), int(register.unit))
        serial = listed.findByLN(GXDLMSData().objectType, _dotted(SERIAL_NUMBER))
        values[SERIAL_NUMBER] = bytes(session.read(serial, 2))
        session.close()
    return bases, values, session.printed


async def test_gurux_short_name_client_authenticates_with_hls_gmac() -> None:
    """gurux reads registers and the serial number after HLS-GMAC by short name, checking our f(CtoS).

    Authentication only: gurux-dlms 1.0.203 cannot cipher a short name request at all (its
    ``GXDLMS.getSNPdu`` asserts on the ciphertext, ``assert not tmp``), so the ciphered case is covered
    by our own client and the ``read`` command against the simulator.
    """
    ciphered = False
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC,
        keys=SecurityKeys(EK, AK),
        require_ciphering=ciphered,
    )
    meter = SimulatedMeter(lambda: NOW, security=security)
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP, short_names=True)) as server:
        bases, values, printed = await in_thread(gurux_sn_hls_reads, server.address, ciphered)
    assert 0xFA00 in bases
    for obis in READ_REGISTERS:
        scaler_unit = ScalerUnit.from_data(meter.read(obis, 3))
        assert values[obis] == (meter.read(obis).value, scaler_unit.scaler, int(scaler_unit.unit))
    assert values[SERIAL_NUMBER] == meter.read(SERIAL_NUMBER).value
    assert printed == []


async def test_a_wrong_gurux_key_is_refused_at_pass_three() -> None:
    """The simulator checks f(StoC): gurux with a wrong authentication key gets no association."""
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=SecurityKeys(EK, bytes(16))
    )
    meter = SimulatedMeter(lambda: NOW, security=security)
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP, short_names=True)) as server:
        with pytest.raises(Exception, match="do not match"):
            await in_thread(gurux_sn_hls_reads, server.address, False)


async def test_our_short_name_client_with_hls_gmac_reads_registers_and_serial() -> None:
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=SecurityKeys(EK, AK)
    )
    meter = SimulatedMeter(lambda: NOW, security=security)
    async with SimulatorServer(meter, RunnerSettings(Transport.WRAPPER_TCP, short_names=True)) as server:
        host, _, port = server.address.rpartition(":")
        settings = ClientSettings(
            client_address=MANAGEMENT_CLIENT,
            authentication=Authentication.HLS_GMAC,
            keys=SecurityKeys(EK, AK),
            referencing=Referencing.SN,
        )
        transport = WrapperTransport(
            TcpEndpoint(host, int(port)),
            client_wport=MANAGEMENT_CLIENT,
            server_wport=SERVER_LOGICAL,
            response_timeout=RESPONSE_TIMEOUT,
            open_timeout=RESPONSE_TIMEOUT,
        )
        async with DlmsClient(transport, settings) as client:
            values = await client.read_registers(
                [*READ_REGISTERS, RegisterReference(SERIAL_NUMBER, class_id=1)]
            )
    energy, voltage, serial = values
    assert isinstance(energy, RegisterValue)
    assert energy.raw == meter.read(ACTIVE_ENERGY_IMPORT)
    assert isinstance(voltage, RegisterValue)
    assert voltage.raw == meter.read(VOLTAGES[0])
    assert isinstance(serial, RegisterValue)
    assert serial.raw == meter.read(SERIAL_NUMBER)
