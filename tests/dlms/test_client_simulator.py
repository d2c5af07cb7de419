"""The client against the simulator's sans-I/O xDLMS server, through an in-memory transport."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    AuthenticationMechanism,
    GetRequestWithList,
    decode_get_request,
)
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.client import (
    Authentication,
    ClientSettings,
    DlmsClient,
    RegisterReference,
    RegisterValue,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import (
    AccessDeniedError,
    AuthenticationFailedError,
    ConnectionLostError,
    MeterNotRespondingError,
    ObjectUndefinedError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys, unprotect
from custom_components.dlms_cosem.dlms.simulator.model import (
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_IMPORT,
    CLOCK,
    FREQUENCY,
    LOAD_PROFILE,
    SERIAL_NUMBER,
    VOLTAGES,
    MeterSecurity,
    SimulatedMeter,
)
from custom_components.dlms_cosem.dlms.simulator.server import ServerConnection

NOW = datetime(2024, 3, 10, 12, 7, 30, tzinfo=UTC)
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEYS = SecurityKeys(EK, AK)


class SimulatorTransport:
    """An ApduTransport whose link is a fresh simulator ``ServerConnection`` per open."""

    def __init__(self, meter: SimulatedMeter, client_sap: int = 16, **server: object) -> None:
        self.meter = meter
        self.client_sap = client_sap
        self.server_options = server
        self.server: ServerConnection | None = None
        self.opens = 0
        self.sent: list[bytes] = []
        self.drop_next = False

    @property
    def is_open(self) -> bool:
        return self.server is not None

    async def open(self) -> None:
        self.opens += 1
        self.server = ServerConnection(self.meter, client_sap=self.client_sap, **self.server_options)  # type: ignore[arg-type]

    async def request(self, apdu: bytes) -> bytes:
        if self.server is None:
            raise ConnectionLostError("link closed")
        if self.drop_next:
            self.drop_next = False
            self.server = None
            raise ConnectionLostError("link dropped")
        self.sent.append(apdu)
        answer = self.server.handle(apdu)
        if answer is None:
            raise MeterNotRespondingError("no answer")
        return answer

    async def send(self, apdu: bytes) -> None:
        if self.server is not None:
            self.server.handle(apdu)

    async def close(self) -> None:
        self.server = None


def _meter(security: MeterSecurity | None = None) -> SimulatedMeter:
    return SimulatedMeter(lambda: NOW, security=security)


async def test_public_client_reads_registers_in_one_request_per_poll() -> None:
    meter = _meter()
    transport = SimulatorTransport(meter)
    client = DlmsClient(transport, ClientSettings())
    registers = [
        ACTIVE_ENERGY_IMPORT,
        ACTIVE_POWER_IMPORT,
        *VOLTAGES,
        FREQUENCY,
        RegisterReference(SERIAL_NUMBER, 1),
    ]
    first = await client.read_registers(registers)
    assert all(isinstance(value, RegisterValue) for value in first), first
    values = [value for value in first if isinstance(value, RegisterValue)]
    assert values[0].unit == "Wh"
    assert values[0].value == meter.read(ACTIVE_ENERGY_IMPORT).value
    assert values[2].unit == "V"
    assert values[2].raw.value is not None
    assert values[2].value == pytest.approx(int(values[2].raw.value) / 10)  # type: ignore[call-overload]
    assert 200 < values[2].value < 260  # type: ignore[operator]
    assert values[5].unit == "Hz"
    assert values[6].value == b"12345678"
    requests_before = len(transport.sent)
    second = await client.read_registers(registers)
    assert len(transport.sent) == requests_before + 1
    poll = decode_get_request(transport.sent[-1])
    assert isinstance(poll, GetRequestWithList)
    assert len(poll.attributes) == len(registers)
    assert [value.value for value in second if isinstance(value, RegisterValue)] == [
        value.value for value in values
    ]
    await client.close()
    assert not transport.is_open


async def test_management_client_with_lls_reads_object_list_and_profile() -> None:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    meter = _meter(security)
    transport = SimulatorTransport(meter, client_sap=1)
    settings = ClientSettings(client_address=1, authentication=Authentication.LLS, password=b"12345678")
    client = DlmsClient(transport, settings)
    entries = await client.read_object_list()
    names = {entry.obis for entry in entries}
    assert {CLOCK, ACTIVE_ENERGY_IMPORT, LOAD_PROFILE} <= names
    energy = next(entry for entry in entries if entry.obis == ACTIVE_ENERGY_IMPORT)
    assert energy.class_id == 3
    assert energy.readable(2)
    assert energy.readable(3)

    start = NOW - timedelta(hours=2)
    profile = await client.read_profile(LOAD_PROFILE, start=start, end=NOW)
    assert [column.logical_name for column in profile.columns] == [
        CLOCK,
        ACTIVE_ENERGY_IMPORT,
        profile.columns[2].logical_name,
    ]
    assert 7 <= len(profile.rows) <= 9  # quarter-hour entries in two hours
    stamps = []
    for row in profile.rows:
        stamp = row[0]
        assert isinstance(stamp.value, bytes | CosemDateTime)
        raw = stamp.value if isinstance(stamp.value, bytes) else stamp.value.to_bytes()
        moment = CosemDateTime.from_bytes(raw).to_datetime()
        assert moment is not None
        stamps.append(moment)
    assert stamps == sorted(stamps)
    assert all(start <= stamp <= NOW for stamp in stamps)
    energies = [row[1].value for row in profile.rows]
    assert energies == sorted(energies)  # type: ignore[type-var]

    last_two = await client.read_profile(LOAD_PROFILE, from_entry=1, to_entry=2)
    assert len(last_two.rows) == 2
    await client.close()


async def test_lls_with_the_wrong_password_is_refused() -> None:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    transport = SimulatorTransport(_meter(security), client_sap=1)
    settings = ClientSettings(client_address=1, authentication=Authentication.LLS, password=b"00000000")
    client = DlmsClient(transport, settings)
    with pytest.raises(AuthenticationFailedError, match="authentication failure"):
        await client.connect()
    await client.close()


async def test_public_client_cannot_read_the_management_profile() -> None:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    transport = SimulatorTransport(_meter(security))
    client = DlmsClient(transport, ClientSettings())
    with pytest.raises((AccessDeniedError, ObjectUndefinedError)):
        await client.read_profile(LOAD_PROFILE)
    assert await client.get(SERIAL_NUMBER, 1) == Data.octet_string(b"12345678")
    await client.close()


def _hls_security() -> MeterSecurity:
    return MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC,
        keys=KEYS,
        require_ciphering=True,
        system_title=b"SIM\x00\x00\xbc\x61\x4e",
    )


async def test_hls_gmac_ciphered_association_with_frame_counter_start() -> None:
    meter = _meter(_hls_security())
    meter.security.client_invocation_counter = 5000
    store: list[int] = []
    settings = ClientSettings(
        client_address=1,
        authentication=Authentication.HLS_GMAC,
        keys=KEYS,
        ciphered=True,
        client_system_title=b"DLM\x00\x00\x00\x00\x07",
        on_invocation_counter=store.append,
    )
    transport = SimulatorTransport(meter, client_sap=1)
    client = DlmsClient(transport, settings)
    assert await client.read_frame_counter(SimulatorTransport(meter)) == 5000
    assert client.connection.invocation_counter == 5001
    context = await client.connect()
    assert context.server_system_title == b"SIM\x00\x00\xbc\x61\x4e"
    values = await client.read_registers([ACTIVE_ENERGY_IMPORT, VOLTAGES[0]])
    assert all(isinstance(value, RegisterValue) for value in values), values
    counters = [
        unprotect(apdu, KEYS, settings.client_system_title).invocation_counter for apdu in transport.sent[1:]
    ]
    assert counters == sorted(counters)
    assert counters[0] > 5001  # f(StoC) took 5002 after the glo-initiate-request's 5001
    assert meter.security.client_invocation_counter == store[-1] - 1
    await client.close()


async def test_hls_gmac_with_wrong_keys_is_refused() -> None:
    meter = _meter(_hls_security())
    settings = ClientSettings(
        client_address=1,
        authentication=Authentication.HLS_GMAC,
        keys=SecurityKeys(EK, bytes(16)),
        ciphered=True,
    )
    client = DlmsClient(SimulatorTransport(meter, client_sap=1), settings)
    with pytest.raises(AuthenticationFailedError, match="deciphering-error") as caught:
        await client.connect()
    assert caught.value.reason.startswith("no reason given; initiate-error: deciphering-error")
    await client.close()


async def test_hls_gmac_without_ciphering_checks_both_answers() -> None:
    security = MeterSecurity(
        authentication=AuthenticationMechanism.HIGH_LEVEL_GMAC,
        keys=KEYS,
        system_title=b"SIM\x00\x00\x00\x00\x09",
    )
    settings = ClientSettings(client_address=1, authentication=Authentication.HLS_GMAC, keys=KEYS)
    client = DlmsClient(SimulatorTransport(_meter(security), client_sap=1), settings)
    context = await client.connect()
    assert context.server_system_title == b"SIM\x00\x00\x00\x00\x09"
    assert await client.get(SERIAL_NUMBER, 1) == Data.octet_string(b"12345678")
    await client.close()
    wrong = ClientSettings(
        client_address=1, authentication=Authentication.HLS_GMAC, keys=SecurityKeys(EK, bytes(16))
    )
    client = DlmsClient(SimulatorTransport(_meter(security), client_sap=1), wrong)
    with pytest.raises(AuthenticationFailedError, match="challenge"):
        await client.connect()
    await client.close()


async def test_dropped_association_and_link_are_recovered() -> None:
    meter = _meter()
    transport = SimulatorTransport(meter)
    client = DlmsClient(transport, ClientSettings())
    await client.connect()
    assert transport.server is not None
    transport.server.drop_association()  # the meter forgets the association, the link stays
    assert await client.get(SERIAL_NUMBER, 1) == Data.octet_string(b"12345678")
    transport.drop_next = True  # the link goes down under the next request
    energy = await client.get(ACTIVE_ENERGY_IMPORT, 3)
    assert energy.tag is DataTag.DOUBLE_LONG_UNSIGNED
    assert transport.opens == 3  # each recovery starts from a fresh link
    await client.close()


async def test_long_answers_come_in_blocks() -> None:
    security = MeterSecurity(authentication=AuthenticationMechanism.LOW_LEVEL, password=b"12345678")
    meter = _meter(security)
    transport = SimulatorTransport(meter, client_sap=1)
    settings = ClientSettings(
        client_address=1, authentication=Authentication.LLS, password=b"12345678", max_pdu_size=128
    )
    client = DlmsClient(transport, settings)
    profile = await client.read_profile(LOAD_PROFILE, start=NOW - timedelta(days=1), end=NOW)
    assert len(profile.rows) >= 95
    assert len(transport.sent) > 10  # GET-next requests for the datablocks
    entries = await client.read_object_list()
    assert any(entry.obis == ObisCode(0, 0, 40, 0, 0, 255) for entry in entries)
    await client.close()
