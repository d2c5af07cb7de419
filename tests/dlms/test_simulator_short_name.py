"""The simulator in short name mode, read by our client (referencing auto/sn) through the sans-I/O server."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    DEFAULT_SN_CLIENT_CONFORMANCE,
    AcseServiceUserDiagnostic,
    ApduTag,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    BlockNumberAccess,
    DataAccessResult,
    InitiateRequest,
    ParameterizedAccess,
    ReadRequest,
    VariableName,
    WriteRequest,
    WriteResponse,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import (
    Authentication,
    ClientSettings,
    DlmsClient,
    Referencing,
    RegisterReference,
    RegisterValue,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import (
    AccessDeniedError,
    AssociationRejectedError,
    AuthenticationFailedError,
    ObjectUndefinedError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.simulator.disconnect_control import (
    DISCONNECT_CONTROL,
    REMOTE_DISCONNECT,
    REMOTE_RECONNECT,
    DisconnectControl,
)
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    CLOCK,
    LOAD_PROFILE,
    SERIAL_NUMBER,
    VOLTAGES,
    AccessLevel,
    MeterSecurity,
)
from custom_components.dlms_cosem.dlms.simulator.server import ServerConnection
from custom_components.dlms_cosem.dlms.simulator.short_names import ASSOCIATION_SN_BASE_NAME, BaseNames
from custom_components.dlms_cosem.dlms.units import ScalerUnit

from .test_client_simulator import KEYS, NOW, SimulatorTransport, _meter

SN = ApplicationContextName.SHORT_NAME_REFERENCING_NO_CIPHERING


def _scaled(meter_value: Data, scaler_unit: Data) -> float:
    scaler = ScalerUnit.from_data(scaler_unit)
    assert isinstance(meter_value.value, int)
    return meter_value.value * 10.0**scaler.scaler


async def test_auto_detects_short_names_and_reads_registers_with_scaler() -> None:
    meter = _meter()
    transport = SimulatorTransport(meter, short_names=True)
    client = DlmsClient(transport, ClientSettings())
    context = await client.connect()
    assert context.application_context_name is SN
    assert context.vaa_name == ASSOCIATION_SN_BASE_NAME
    first, second = (AARQ.decode(raw) for raw in transport.sent[:2])
    assert first.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING
    assert second.application_context_name is SN

    values = await client.read_registers(
        [ACTIVE_ENERGY_IMPORT, VOLTAGES[0], RegisterReference(SERIAL_NUMBER, 1)]
    )
    energy, voltage, serial = values
    assert isinstance(energy, RegisterValue)
    assert isinstance(voltage, RegisterValue)
    assert isinstance(serial, RegisterValue)
    assert energy.value == pytest.approx(
        _scaled(meter.read(ACTIVE_ENERGY_IMPORT), meter.read(ACTIVE_ENERGY_IMPORT, 3))
    )
    assert energy.unit == "Wh"
    assert voltage.value == pytest.approx(_scaled(meter.read(VOLTAGES[0]), meter.read(VOLTAGES[0], 3)))
    assert voltage.value > 100
    assert serial.value == meter.read(SERIAL_NUMBER).value
    # Object list once, then the three values and two scaler_units in one ReadRequest.
    reads = [ReadRequest.decode(raw) for raw in transport.sent if raw[0] == ApduTag.READ_REQUEST]
    assert reads[0] == ReadRequest((VariableName(0xFA08),))
    assert len(reads) == 2
    assert len(reads[1].specifications) == 5
    # The next poll only reads the values.
    await client.read_registers([ACTIVE_ENERGY_IMPORT, VOLTAGES[0]])
    reads = [ReadRequest.decode(raw) for raw in transport.sent if raw[0] == ApduTag.READ_REQUEST]
    assert len(reads) == 3
    assert len(reads[2].specifications) == 2
    # After a reconfiguration the base names are read again, with the scaler_units.
    client.clear_caches()
    await client.read_registers([ACTIVE_ENERGY_IMPORT])
    reads = [ReadRequest.decode(raw) for raw in transport.sent if raw[0] == ApduTag.READ_REQUEST]
    assert reads[3] == ReadRequest((VariableName(0xFA08),))
    assert len(reads[4].specifications) == 2
    await client.close()


async def test_object_list_clock_and_write() -> None:
    meter = _meter()
    client = DlmsClient(
        SimulatorTransport(meter, short_names=True), ClientSettings(referencing=Referencing.SN)
    )
    entries = await client.read_object_list()
    listed = {entry.obis: entry.class_id for entry in entries}
    assert listed[ACTIVE_ENERGY_IMPORT] == 3
    assert listed[CLOCK] == 8
    assert listed[ObisCode(0, 0, 40, 0, 0, 255)] == 12  # Association SN instead of LN
    clock = await client.get(CLOCK, 8, 2)
    assert clock == meter.read(CLOCK)
    raw = meter.read(CLOCK).value
    assert isinstance(raw, bytes)
    now = CosemDateTime.from_bytes(raw).to_datetime()
    assert now is not None
    shifted = CosemDateTime.from_datetime(now + timedelta(hours=1))
    await client.set(CLOCK, 8, 2, Data.octet_string(shifted.to_bytes()))
    assert meter.clock.offset == timedelta(hours=1)
    with pytest.raises(ObjectUndefinedError):
        await client.get(ObisCode(1, 0, 99, 99, 0, 255), 3)
    await client.close()


async def test_small_pdu_object_list_and_profile_by_entry_come_in_blocks() -> None:
    meter = _meter()
    transport = SimulatorTransport(meter, short_names=True)
    client = DlmsClient(transport, ClientSettings(max_pdu_size=128, referencing=Referencing.SN))
    entries = await client.read_object_list()
    assert {ACTIVE_ENERGY_IMPORT, LOAD_PROFILE, CLOCK} <= {entry.obis for entry in entries}
    assert any(
        raw[0] == ApduTag.READ_REQUEST and ReadRequest.decode(raw) == ReadRequest((BlockNumberAccess(1),))
        for raw in transport.sent
    )
    profile = await client.read_profile(LOAD_PROFILE, from_entry=1, to_entry=3)
    assert len(profile.rows) == 3
    whole = await client.read_profile(LOAD_PROFILE, start=NOW - timedelta(hours=1), end=NOW)
    assert 1 <= len(whole.rows) <= 5
    await client.close()


async def test_logical_name_clients_are_refused_and_sn_clients_by_ln_meters() -> None:
    ln_client = DlmsClient(
        SimulatorTransport(_meter(), short_names=True), ClientSettings(referencing=Referencing.LN)
    )
    with pytest.raises(AssociationRejectedError, match="application context name not supported"):
        await ln_client.connect()
    await ln_client.close()
    sn_client = DlmsClient(SimulatorTransport(_meter()), ClientSettings(referencing=Referencing.SN))
    with pytest.raises(AssociationRejectedError, match="application context name not supported"):
        await sn_client.connect()
    await sn_client.close()
    auto_client = DlmsClient(SimulatorTransport(_meter()), ClientSettings())
    context = await auto_client.connect()
    assert context.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING
    await auto_client.close()


def test_server_refuses_ln_aarq_and_survives_garbage() -> None:
    server = ServerConnection(_meter(), short_names=True)
    refusal = AARE.decode(server.handle(AARQ().encode()) or b"")
    assert refusal.result is AssociationResult.REJECTED_PERMANENT
    assert (
        refusal.result_source_diagnostic is AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    )
    accepted = AARE.decode(
        server.handle(AARQ(SN, InitiateRequest(proposed_conformance=DEFAULT_SN_CLIENT_CONFORMANCE)).encode())
        or b""
    )
    assert accepted.accepted
    for garbage in (b"\x05", b"\x05\x01\x02\x20", b"\x06\x01\x02\x01\x00", b"\x05\x01\x09\x00\x00"):
        answer = server.handle(garbage)
        assert answer is not None
        assert answer[0] == ApduTag.EXCEPTION_RESPONSE
    # Still associated and serving after the garbage.
    answer = server.handle(ReadRequest((VariableName(0xFA00),)).encode())
    assert answer is not None
    assert answer[0] == ApduTag.READ_RESPONSE


def test_base_names_resolve_attributes_only_on_their_names() -> None:
    names = BaseNames(_meter())
    association = names.resolve(0xFA08)
    assert association is not None
    assert association[0].class_id == 12
    assert association[1] == 2
    energy = next(
        base
        for base in range(0x100, 0xFA00, 0x100)
        if (found := names.resolve(base)) is not None and found[0].logical_name == ACTIVE_ENERGY_IMPORT
    )
    found = names.resolve(energy + 0x10)
    assert found is not None
    assert found[1] == 3
    assert names.resolve(energy + 0x04) is None  # between two attributes
    assert names.resolve(energy + 0x18) is None  # past the register's three attributes
    listed = names.object_list(AccessLevel.MANAGEMENT).to_python()
    assert isinstance(listed, list)
    assert [-0x600, 12, 0, bytes([0, 0, 40, 0, 0, 255])] in listed  # 0xFA00 is a negative ``long``


async def test_ciphered_short_name_association_reads_glo_ciphered() -> None:
    meter = _meter(MeterSecurity(keys=KEYS))
    transport = SimulatorTransport(meter, short_names=True)
    settings = ClientSettings(keys=KEYS, ciphered=True, client_system_title=b"DLM\x00\x00\x00\x00\x09")
    client = DlmsClient(transport, settings)
    context = await client.connect()
    assert context.application_context_name is ApplicationContextName.SHORT_NAME_REFERENCING_WITH_CIPHERING
    (energy,) = await client.read_registers([ACTIVE_ENERGY_IMPORT])
    assert isinstance(energy, RegisterValue)
    assert energy.raw == meter.read(ACTIVE_ENERGY_IMPORT)
    sent = [raw[0] for raw in transport.sent]
    assert ApduTag.GLO_READ_REQUEST in sent
    assert ApduTag.READ_REQUEST not in sent  # nothing went in clear after the AARQs
    assert meter.security.client_invocation_counter > 0
    await client.close()


# --- methods by short name (no ACTION service) -----------------------------------------------------------


def test_base_names_resolve_methods_at_the_blue_book_offsets() -> None:
    meter = _meter()
    names = BaseNames(meter)
    hls = names.resolve_method(0xFA58)  # Association SN: first method at 0x20, method 8
    assert hls is not None
    assert (hls[0].class_id, hls[1]) == (12, 8)
    energy = names.base_name(meter.objects[ACTIVE_ENERGY_IMPORT])
    assert energy is not None
    reset = names.resolve_method(energy + 0x28)  # Register reset
    assert reset is not None
    assert (reset[0].logical_name, reset[1]) == (ACTIVE_ENERGY_IMPORT, 1)
    assert names.resolve_method(energy + 0x30) is None  # a Register has one method
    assert names.resolve_method(energy + 0x08) is None  # an attribute, not a method
    control = names.base_name(meter.objects[DISCONNECT_CONTROL])
    assert control is not None
    reconnect = names.resolve_method(control + 0x28)
    assert reconnect is not None
    assert reconnect[1] == REMOTE_RECONNECT


async def test_execute_by_short_name_reads_the_method_name_and_runs_it() -> None:
    meter = _meter(MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678"))
    transport = SimulatorTransport(meter, client_sap=1, short_names=True)
    settings = ClientSettings(
        client_address=1, authentication=Authentication.LLS, password=b"12345678", referencing=Referencing.SN
    )
    control = meter.objects[DISCONNECT_CONTROL]
    assert isinstance(control, DisconnectControl)
    assert control.output_state
    async with DlmsClient(transport, settings) as client:
        assert await client.action(DISCONNECT_CONTROL, 70, REMOTE_DISCONNECT, Data.integer(0)) is None
        assert not control.output_state
        assert await client.get(DISCONNECT_CONTROL, 70, 2) == Data.boolean(False)
        await client.action(DISCONNECT_CONTROL, 70, REMOTE_RECONNECT, Data.integer(0))
        assert control.output_state
    base = BaseNames(meter).base_name(control)
    assert base is not None
    reads = [ReadRequest.decode(raw) for raw in transport.sent if raw[0] == ApduTag.READ_REQUEST]
    assert ReadRequest((ParameterizedAccess(base + 0x20, 0, Data.integer(0)),)) in reads


async def test_a_public_client_cannot_run_methods_by_short_name() -> None:
    meter = _meter(MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678"))
    client = DlmsClient(
        SimulatorTransport(meter, short_names=True), ClientSettings(referencing=Referencing.SN)
    )
    async with client:
        with pytest.raises(AccessDeniedError):
            await client.action(DISCONNECT_CONTROL, 70, REMOTE_DISCONNECT, Data.integer(0))
    control = meter.objects[DISCONNECT_CONTROL]
    assert isinstance(control, DisconnectControl)
    assert control.output_state


def test_writing_a_method_name_runs_the_method_and_answers_only_the_result() -> None:
    """gurux's Python client calls methods this way (a WriteRequest of the method's name)."""
    meter = _meter()
    server = ServerConnection(meter, short_names=True)
    request = AARQ(
        application_context_name=SN,
        user_information=InitiateRequest(DEFAULT_SN_CLIENT_CONFORMANCE, 1024),
    )
    aare = server.handle(request.encode())
    assert aare is not None
    assert AARE.decode(aare).accepted
    control = meter.objects[DISCONNECT_CONTROL]
    assert isinstance(control, DisconnectControl)
    base = BaseNames(meter).base_name(control)
    assert base is not None
    answer = server.handle(WriteRequest((VariableName(base + 0x20),), (Data.integer(0),)).encode())
    assert answer is not None
    assert WriteResponse.decode(answer) == WriteResponse((DataAccessResult.SUCCESS,))
    assert not control.output_state


async def test_hls_gmac_by_short_name_with_ciphering_and_a_wrong_key() -> None:
    keys = SecurityKeys(KEYS.encryption_key, KEYS.authentication_key)
    meter = _meter(MeterSecurity(authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC, keys=keys))
    settings = ClientSettings(
        client_address=1,
        authentication=Authentication.HLS_GMAC,
        keys=keys,
        ciphered=True,
        referencing=Referencing.SN,
        invocation_counter=1,  # above the meter's last accepted (0)
    )
    transport = SimulatorTransport(meter, client_sap=1, short_names=True)
    async with DlmsClient(transport, settings) as client:
        assert client.context is not None
        assert client.context.application_context_name is (
            ApplicationContextName.SHORT_NAME_REFERENCING_WITH_CIPHERING
        )
        (serial,) = await client.read_registers([RegisterReference(SERIAL_NUMBER, 1)])
        assert isinstance(serial, RegisterValue)
        assert serial.raw == meter.read(SERIAL_NUMBER)
    assert ApduTag.READ_REQUEST not in [raw[0] for raw in transport.sent]  # pass 3 went ciphered too

    wrong = dataclasses.replace(settings, keys=SecurityKeys(KEYS.encryption_key, bytes(16)))
    refused = DlmsClient(SimulatorTransport(meter, client_sap=1, short_names=True), wrong)
    with pytest.raises(AuthenticationFailedError):
        await refused.connect()
    await refused.close()
