"""The asyncio ``DlmsClient`` against an in-memory meter behind the ``ApduTransport`` protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AARQ,
    RLRE,
    AccessError,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ApduTag,
    ApplicationContextName,
    AssociationResult,
    CaptureObjectDefinition,
    ConfirmedServiceError,
    ConfirmedServiceErrorService,
    Conformance,
    DataAccessResult,
    EntryDescriptor,
    ExceptionResponse,
    ExceptionServiceError,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    RangeDescriptor,
    ServiceErrorType,
    SetRequestNormal,
    SetResponseNormal,
    StateError,
    decode_action_request,
    decode_get_request,
    decode_get_response,
    decode_set_request,
)
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.client import (
    Authentication,
    ClientSettings,
    DlmsClient,
    RegisterReference,
    RegisterValue,
    read_frame_counter,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime
from custom_components.dlms_cosem.dlms.errors import (
    AccessDeniedError,
    AuthenticationFailedError,
    ConnectionLostError,
    DecodeError,
    EncodeError,
    MeterNotRespondingError,
    ObjectUndefinedError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys, protect, unprotect
from custom_components.dlms_cosem.dlms.units import ScalerUnit

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEYS = SecurityKeys(EK, AK)
METER_TITLE = b"FAK\x00\x00\x00\x00\x2a"
WITH_LIST = Conformance.from_block_bytes(bytes.fromhex("007e1f"))
NO_LIST = Conformance.from_block_bytes(bytes.fromhex("00501f"))

ENERGY = ObisCode.parse("1-0:1.8.0*255")
VOLTAGE = ObisCode.parse("1-0:32.7.0*255")
POWER = ObisCode.parse("1-0:1.7.0*255")
SERIAL = ObisCode.parse("0-0:96.1.0*255")
FRAME_COUNTER = ObisCode.parse("0-0:43.1.0*255")
LOAD_PROFILE = ObisCode.parse("1-0:99.1.0*255")
CLOCK = ObisCode.parse("0-0:1.0.0*255")

type Key = tuple[int, ObisCode, int]

#: Get-Request CHOICE (second byte of the APDU).
GET_NORMAL = 1
GET_WITH_LIST = 3

_GLO_RESPONSE = {
    ApduTag.GET_RESPONSE: ApduTag.GLO_GET_RESPONSE,
    ApduTag.SET_RESPONSE: ApduTag.GLO_SET_RESPONSE,
    ApduTag.ACTION_RESPONSE: ApduTag.GLO_ACTION_RESPONSE,
}


def _register_objects() -> dict[Key, Data | DataAccessResult]:
    return {
        (3, ENERGY, 2): Data.double_long_unsigned(123456),
        (3, ENERGY, 3): ScalerUnit(-1, 30).to_data(),
        (3, VOLTAGE, 2): Data.long_unsigned(2301),
        (3, VOLTAGE, 3): ScalerUnit(-1, 35).to_data(),
        (4, POWER, 2): Data.double_long(1500),
        (4, POWER, 3): ScalerUnit(0, 27).to_data(),
        (1, SERIAL, 2): Data.octet_string(b"SN-0042"),
        (1, FRAME_COUNTER, 2): Data.double_long_unsigned(4660),
    }


class FakeMeter:
    """An in-memory ApduTransport answering like a small meter (plain or glo-ciphered, LLS).

    ``failures`` are raised instead of answering the next requests (a lost link closes the port);
    the string "hang" makes a request wait until cancelled.
    """

    def __init__(
        self,
        objects: dict[Key, Data | DataAccessResult] | None = None,
        *,
        conformance: Conformance = WITH_LIST,
        max_pdu: int = 1024,
        password: bytes | None = None,
        keys: SecurityKeys | None = None,
    ) -> None:
        self.objects = _register_objects() if objects is None else objects
        self.conformance = conformance
        self.max_pdu = max_pdu
        self.password = password
        self.keys = keys
        self.is_open = False
        self.opens = 0
        self.closes = 0
        self.associated = False
        self.aarqs: list[AARQ] = []
        self.requests: list[bytes] = []
        self.client_counters: list[int] = []
        self.failures: list[BaseException | str] = []
        self.counter = 1000
        self.client_title: bytes | None = None
        self.in_flight = 0
        self.hanging = asyncio.Event()
        self.method_results: dict[tuple[int, ObisCode, int], Data | None] = {}
        self.with_list_answer: Callable[[bytes], bytes] | None = None
        """Turns the right answer to a GET-with-list into what a misbehaving meter sends."""

    async def open(self) -> None:
        self.opens += 1
        self.is_open = True
        self.associated = False

    async def close(self) -> None:
        self.closes += 1
        self.is_open = False
        self.associated = False

    async def send(self, apdu: bytes) -> None:
        raise AssertionError("the client sends no unconfirmed APDUs")

    async def request(self, apdu: bytes) -> bytes:
        if not self.is_open:
            raise ConnectionLostError("port closed")
        assert self.in_flight == 0, "the client must not send concurrent requests"
        self.in_flight += 1
        try:
            if self.failures:
                failure = self.failures.pop(0)
                if failure == "hang":
                    self.hanging.set()
                    await asyncio.Event().wait()
                assert isinstance(failure, BaseException)
                if isinstance(failure, ConnectionLostError):
                    self.is_open = False
                    self.associated = False
                raise failure
            return self._answer(apdu)
        finally:
            self.in_flight -= 1

    # --- the meter ---------------------------------------------------------------------------------

    def _protect(self, tag: int, apdu: bytes) -> bytes:
        assert self.keys is not None
        self.counter += 1
        return protect(
            tag, apdu, self.keys, system_title=METER_TITLE, invocation_counter=self.counter
        ).encode()

    def _answer(self, apdu: bytes) -> bytes:
        if apdu[0] == ApduTag.AARQ:
            return self._associate(AARQ.decode(apdu))
        if apdu[0] == ApduTag.RLRQ:
            self.associated = False
            return RLRE().encode()
        plain = apdu
        if self.keys is not None:
            assert self.client_title is not None
            clear = unprotect(apdu, self.keys, self.client_title)
            self.client_counters.append(clear.invocation_counter)
            plain = clear.plaintext
        if not self.associated:
            return ExceptionResponse(
                StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
            ).encode()
        self.requests.append(plain)
        answer = self._service(plain)
        if self.keys is not None and answer[0] in _GLO_RESPONSE:
            return self._protect(_GLO_RESPONSE[answer[0]], answer)
        return answer

    def _associate(self, aarq: AARQ) -> bytes:
        self.aarqs.append(aarq)
        context = aarq.application_context_name
        information = aarq.user_information
        if self.keys is not None:
            assert isinstance(information, bytes)
            self.client_title = aarq.calling_ap_title
            assert self.client_title is not None
            clear = unprotect(information, self.keys, self.client_title)
            self.client_counters.append(clear.invocation_counter)
            information = InitiateRequest.decode(clear.plaintext)
        assert isinstance(information, InitiateRequest)
        if self.password is not None and aarq.calling_authentication_value != self.password:
            return AARE(
                result=AssociationResult.REJECTED_PERMANENT,
                result_source_diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
                application_context_name=context,
            ).encode()
        response = InitiateResponse(information.proposed_conformance & self.conformance, self.max_pdu)
        user_information: InitiateResponse | bytes = response
        if self.keys is not None:
            user_information = self._protect(ApduTag.GLO_INITIATE_RESPONSE, response.encode())
        self.associated = True
        return AARE(
            application_context_name=context,
            user_information=user_information,
            responding_ap_title=METER_TITLE if self.keys is not None else None,
        ).encode()

    def _read(self, class_id: int, obis: ObisCode, attribute: int) -> Data | DataAccessResult:
        return self.objects.get((class_id, obis, attribute), DataAccessResult.OBJECT_UNDEFINED)

    def _service(self, plain: bytes) -> bytes:
        if plain[0] == ApduTag.GET_REQUEST:
            request = decode_get_request(plain)
            if isinstance(request, GetRequestWithList):
                if not self.conformance & Conformance.MULTIPLE_REFERENCES:
                    return ExceptionResponse(
                        StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
                    ).encode()
                results = tuple(
                    self._read(
                        item.attribute.class_id, item.attribute.instance_id, item.attribute.attribute_id
                    )
                    for item in request.attributes
                )
                answer = GetResponseWithList(results, request.invoke_id_and_priority).encode()
                return answer if self.with_list_answer is None else self.with_list_answer(answer)
            assert isinstance(request, GetRequestNormal)
            attribute = request.attribute
            value = self._read(attribute.class_id, attribute.instance_id, attribute.attribute_id)
            return GetResponseNormal(value, request.invoke_id_and_priority).encode()
        if plain[0] == ApduTag.SET_REQUEST:
            write = decode_set_request(plain)
            assert isinstance(write, SetRequestNormal)
            key = (write.attribute.class_id, write.attribute.instance_id, write.attribute.attribute_id)
            if key not in self.objects:
                return SetResponseNormal(
                    DataAccessResult.OBJECT_UNDEFINED, write.invoke_id_and_priority
                ).encode()
            self.objects[key] = write.value
            return SetResponseNormal(DataAccessResult.SUCCESS, write.invoke_id_and_priority).encode()
        if plain[0] == ApduTag.ACTION_REQUEST:
            action = decode_action_request(plain)
            assert isinstance(action, ActionRequestNormal)
            key = (action.method.class_id, action.method.instance_id, action.method.method_id)
            if key not in self.method_results:
                return ActionResponseNormal(
                    ActionResult.OBJECT_UNDEFINED, None, action.invoke_id_and_priority
                ).encode()
            return ActionResponseNormal(
                ActionResult.SUCCESS, self.method_results[key], action.invoke_id_and_priority
            ).encode()
        raise AssertionError(f"unexpected APDU {plain.hex()}")


# --- association and services -------------------------------------------------------------------------


async def test_connect_get_release_and_close() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings(client_address=1))
    context = await client.connect()
    assert context.conformance == WITH_LIST
    assert context.server_max_pdu_size == 1024
    assert client.associated
    assert await client.connect() == context  # already associated: nothing sent
    assert len(meter.aarqs) == 1
    assert await client.get(FRAME_COUNTER, 1) == Data.double_long_unsigned(4660)
    assert await client.get("0.0.96.1.0.255", 1, 2) == Data.octet_string(b"SN-0042")
    await client.close()
    assert not meter.associated  # released with RLRQ
    assert not meter.is_open
    assert meter.opens == 1
    assert meter.closes == 1
    assert not client.associated


async def test_context_manager_connects_and_closes() -> None:
    meter = FakeMeter()
    async with DlmsClient(meter, ClientSettings()) as client:
        assert meter.associated
        assert client.context is not None
    assert not meter.is_open


async def test_get_is_associated_on_first_use() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    assert await client.get(ENERGY, 3, 3) == ScalerUnit(-1, 30).to_data()
    assert meter.opens == 1
    assert len(meter.aarqs) == 1
    await client.close()


async def test_get_many_set_and_action() -> None:
    meter = FakeMeter()
    disconnect = ObisCode.parse("0-0:96.3.10*255")
    meter.method_results[(70, disconnect, 1)] = None
    meter.method_results[(70, disconnect, 2)] = Data.unsigned(1)
    client = DlmsClient(meter, ClientSettings())
    values = await client.get_many(
        [(ENERGY, 3), ("1-0:32.7.0*255", 3, 3), (ObisCode.parse("1-0:2.8.0"), 3, 2)]
    )
    assert values[0] == Data.double_long_unsigned(123456)
    assert values[1] == ScalerUnit(-1, 35).to_data()
    assert isinstance(values[2], ObjectUndefinedError)
    assert len(meter.requests) == 1
    await client.set(SERIAL, 1, 2, Data.octet_string(b"NEW"))
    assert meter.objects[(1, SERIAL, 2)] == Data.octet_string(b"NEW")
    with pytest.raises(ObjectUndefinedError):
        await client.set("1-0:2.8.0", 3, 2, Data.unsigned(1))
    assert await client.action(disconnect, 70, 1, Data.integer(0)) is None
    assert await client.action(disconnect, 70, 2) == Data.unsigned(1)
    with pytest.raises(ObjectUndefinedError, match="method 3"):
        await client.action(disconnect, 70, 3)
    assert meter.opens == 1  # service errors leave the association alone
    await client.close()


async def test_concurrent_requests_are_serialised() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    results = await asyncio.gather(*(client.get(ENERGY, 3) for _ in range(5)))
    assert results == [Data.double_long_unsigned(123456)] * 5
    assert len(meter.aarqs) == 1
    await client.close()


async def test_wrong_password_fails_authentication_and_the_next_call_starts_afresh() -> None:
    meter = FakeMeter(password=b"right")
    settings = ClientSettings(client_address=1, authentication=Authentication.LLS, password=b"wrong")
    client = DlmsClient(meter, settings)
    with pytest.raises(AuthenticationFailedError) as caught:
        await client.connect()
    assert caught.value.reason == "authentication failure"
    assert "wrong" not in str(caught.value)
    with pytest.raises(AuthenticationFailedError):
        await client.get(ENERGY, 3)
    assert meter.opens == 2
    await client.close()
    good = DlmsClient(
        meter, ClientSettings(client_address=1, authentication=Authentication.LLS, password=b"right")
    )
    assert await good.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    await good.close()


# --- recovery -----------------------------------------------------------------------------------------


async def test_dropped_connection_is_reassociated_and_the_request_retried_once() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.failures.append(ConnectionLostError("link dropped"))
    assert await client.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    assert meter.opens == 2
    assert len(meter.aarqs) == 2
    await client.close()


async def test_meter_answering_not_associated_is_reassociated() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.associated = False  # the meter let the association expire; the port stays open
    assert await client.get(VOLTAGE, 3) == Data.long_unsigned(2301)
    assert len(meter.aarqs) == 2
    await client.close()


async def test_retry_happens_only_once() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.failures += [ConnectionLostError("first"), ConnectionLostError("second")]
    with pytest.raises(ConnectionLostError, match="second"):
        await client.get(ENERGY, 3)
    assert not client.associated
    assert await client.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    assert meter.opens == 3
    await client.close()


async def test_timeout_is_raised_and_the_next_call_starts_afresh() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.failures.append(MeterNotRespondingError("no answer within 0.5 s"))
    with pytest.raises(MeterNotRespondingError):
        await client.get(ENERGY, 3)
    assert not client.associated
    assert await client.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    assert meter.opens == 2
    assert meter.closes == 1
    await client.close()


async def test_cancelled_request_leaves_a_clean_state() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.failures.append("hang")
    task = asyncio.create_task(client.get(ENERGY, 3))
    await meter.hanging.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await client.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    assert meter.opens == 2
    await client.close()


async def test_garbage_answer_is_a_decode_error_and_recovers() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()

    original = meter._answer
    meter._answer = lambda apdu: b"\xc4\x01"  # type: ignore[method-assign]
    with pytest.raises(DecodeError):
        await client.get(ENERGY, 3)
    meter._answer = original  # type: ignore[method-assign]
    assert await client.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    await client.close()


# --- registers ----------------------------------------------------------------------------------------


async def test_poll_of_registers_is_one_request_once_scalers_are_cached() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    registers = [ENERGY, "1-0:32.7.0*255", RegisterReference(POWER, 4), RegisterReference(SERIAL, 1)]
    first = await client.read_registers(registers)
    assert len(meter.requests) == 1
    request = GetRequestWithList.decode(meter.requests[0])
    assert [(item.attribute.instance_id, item.attribute.attribute_id) for item in request.attributes] == [
        (ENERGY, 2),
        (ENERGY, 3),
        (VOLTAGE, 2),
        (VOLTAGE, 3),
        (POWER, 2),
        (POWER, 3),
        (SERIAL, 2),
    ]
    assert all(isinstance(value, RegisterValue) for value in first)
    assert [(value.obis, value.value, value.unit) for value in first if isinstance(value, RegisterValue)] == [
        (ENERGY, 12345.6, "Wh"),
        (VOLTAGE, 230.1, "V"),
        (POWER, 1500, "W"),
        (SERIAL, b"SN-0042", None),
    ]
    energy = first[0]
    assert isinstance(energy, RegisterValue)
    assert energy.raw == Data.double_long_unsigned(123456)
    assert energy.scaler_unit == ScalerUnit(-1, 30)

    meter.objects[(3, ENERGY, 2)] = Data.double_long_unsigned(123457)
    second = await client.read_registers(registers)
    assert len(meter.requests) == 2
    request = GetRequestWithList.decode(meter.requests[1])
    assert [item.attribute.attribute_id for item in request.attributes] == [2, 2, 2, 2]
    assert isinstance(second[0], RegisterValue)
    assert second[0].value == 12345.7
    await client.close()


async def test_registers_without_multiple_references_are_read_one_by_one() -> None:
    meter = FakeMeter(conformance=NO_LIST)
    client = DlmsClient(meter, ClientSettings())
    values = await client.read_registers([ENERGY, VOLTAGE])
    assert len(meter.requests) == 4
    assert all(GetRequestNormal.decode(request) for request in meter.requests)
    assert [value.value for value in values if isinstance(value, RegisterValue)] == [12345.6, 230.1]
    await client.read_registers([ENERGY, VOLTAGE])
    assert len(meter.requests) == 6
    await client.close()


async def test_register_errors_are_per_register() -> None:
    objects = _register_objects()
    objects[(3, VOLTAGE, 3)] = Data.structure(Data.integer(-1))  # malformed scaler_unit
    objects[(3, POWER, 2)] = DataAccessResult.READ_WRITE_DENIED
    objects[(3, POWER, 3)] = ScalerUnit(0, 27).to_data()
    meter = FakeMeter(objects)
    client = DlmsClient(meter, ClientSettings())
    missing = ObisCode.parse("1-0:2.8.0*255")
    values = await client.read_registers([ENERGY, VOLTAGE, POWER, missing])
    assert isinstance(values[0], RegisterValue)
    assert isinstance(values[1], DecodeError)
    assert "scaler_unit" in str(values[1])
    assert isinstance(values[2], AccessDeniedError)
    assert isinstance(values[3], ObjectUndefinedError)
    assert str(values[3]) == "1.0.2.8.0.255 attribute 2 (class 3): object-undefined"
    with pytest.raises(EncodeError):
        RegisterReference(ENERGY, 7)
    await client.close()


def _truncated(answer: bytes) -> bytes:
    return answer[:-3]


def _refused(_answer: bytes) -> bytes:
    return ConfirmedServiceError(
        ConfirmedServiceErrorService.READ, ServiceErrorType.ACCESS, AccessError.OBJECT_ACCESS_VIOLATED
    ).encode()


def _too_long(_answer: bytes) -> bytes:
    return ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.PDU_TOO_LONG).encode()


def _refused_for_every_item(answer: bytes) -> bytes:
    """A data-access-result in place of the whole list (a datablock that gives up)."""
    invoke = decode_get_response(answer).invoke_id_and_priority
    return GetResponseWithDatablock(True, 1, DataAccessResult.TEMPORARY_FAILURE, invoke).encode()


def _one_result_short(answer: bytes) -> bytes:
    """A well-formed answer that leaves out the last attribute."""
    response = decode_get_response(answer)
    assert isinstance(response, GetResponseWithList)
    return GetResponseWithList(response.results[:-1], response.invoke_id_and_priority).encode()


@pytest.mark.parametrize(
    "answer", [_truncated, _refused, _too_long, _refused_for_every_item, _one_result_short]
)
async def test_with_list_refused_or_garbled_as_a_whole_is_read_one_by_one(
    answer: Callable[[bytes], bytes],
) -> None:
    objects = _register_objects()
    objects[(3, POWER, 2)] = DataAccessResult.READ_WRITE_DENIED  # one register fails alone
    meter = FakeMeter(objects)
    meter.with_list_answer = answer
    client = DlmsClient(meter, ClientSettings())
    values = await client.read_registers([ENERGY, RegisterReference(POWER), VOLTAGE])
    # The with-list, then each of its six attributes (values and scaler_units) alone.
    assert [request[1] for request in meter.requests] == [GET_WITH_LIST, *[GET_NORMAL] * 6]
    assert isinstance(values[0], RegisterValue)
    assert values[0].value == 12345.6
    assert values[0].unit == "Wh"
    assert isinstance(values[1], AccessDeniedError)
    assert isinstance(values[2], RegisterValue)
    assert (values[2].value, values[2].unit) == (230.1, "V")
    # Scalers were cached from the single reads: the next poll is one with-list again.
    meter.with_list_answer = None
    again = await client.read_registers([ENERGY, RegisterReference(POWER), VOLTAGE])
    assert [request[1] for request in meter.requests[7:]] == [GET_WITH_LIST]
    assert len(GetRequestWithList.decode(meter.requests[7]).attributes) == 4  # only POWER's scaler again
    assert [value.value for value in again if isinstance(value, RegisterValue)] == [12345.6, 230.1]
    await client.close()


async def test_garbled_single_answer_during_the_fallback_fails_that_attribute_only() -> None:
    meter = FakeMeter()
    meter.with_list_answer = _truncated
    client = DlmsClient(meter, ClientSettings())
    original = meter._answer

    def garble_the_serial(apdu: bytes) -> bytes:
        answer = original(apdu)
        if apdu[0] == ApduTag.GET_REQUEST and apdu[1] == GET_NORMAL and SERIAL.to_bytes() in apdu:
            return answer[:-2]
        return answer

    meter._answer = garble_the_serial  # type: ignore[method-assign]
    results = await client.get_many([(ENERGY, 3, 2), (SERIAL, 1, 2), (VOLTAGE, 3, 2)])
    assert results[0] == Data.double_long_unsigned(123456)
    assert isinstance(results[1], DecodeError)
    assert results[2] == Data.long_unsigned(2301)
    # A garbled answer leaves the association in doubt: the client associated again after each.
    assert len(meter.aarqs) == 3
    await client.close()


async def test_a_whole_list_refused_for_a_lost_association_is_not_read_one_by_one() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.failures.append(MeterNotRespondingError("silent"))
    with pytest.raises(MeterNotRespondingError):
        await client.get_many([(ENERGY, 3, 2), (SERIAL, 1, 2)])
    assert meter.requests == []
    await client.close()


# --- object list, profiles, frame counter -------------------------------------------------------------


def _access(attribute_id: int, mode: int) -> Data:
    return Data.structure(Data.integer(attribute_id), Data.enum(mode), Data.null_data())


async def test_read_object_list() -> None:
    association = ObisCode.parse("0-0:40.0.0*255")
    object_list = Data.array(
        Data.structure(
            Data.long_unsigned(15),
            Data.unsigned(1),
            Data.octet_string(association.to_bytes()),
            Data.structure(
                Data.array(_access(1, 1), _access(2, 1)),
                Data.array(Data.structure(Data.integer(1), Data.enum(1))),
            ),
        ),
        Data.structure(
            Data.long_unsigned(3),
            Data.unsigned(0),
            Data.octet_string(ENERGY.to_bytes()),
            Data.structure(
                Data.array(
                    _access(1, 1),
                    _access(2, 3),
                    Data.structure(
                        Data.integer(3), Data.enum(1), Data.array(Data.integer(1), Data.integer(2))
                    ),
                ),
                Data.array(Data.structure(Data.integer(1), Data.boolean(False))),
            ),
        ),
    )
    meter = FakeMeter({(15, association, 2): object_list})
    client = DlmsClient(meter, ClientSettings())
    entries = await client.read_object_list()
    assert [(entry.class_id, entry.version, entry.obis) for entry in entries] == [
        (15, 1, association),
        (3, 0, ENERGY),
    ]
    energy = entries[1]
    assert energy.readable(2)
    assert energy.writable(2)
    assert not energy.writable(3)
    assert not energy.readable(4)
    assert energy.attribute_access[2].access_selectors == (1, 2)
    assert energy.method_access[0].access_mode == 0
    await client.close()


async def test_read_profile_by_range_and_by_entry() -> None:
    columns = (
        CaptureObjectDefinition(8, CLOCK, 2),
        CaptureObjectDefinition(3, ENERGY, 2),
    )
    row = Data.structure(Data.octet_string(bytes(12)), Data.double_long_unsigned(1))
    meter = FakeMeter(
        {
            (7, LOAD_PROFILE, 3): Data.array(*(column.to_data() for column in columns)),
            (7, LOAD_PROFILE, 2): Data.array(row, row),
        }
    )
    client = DlmsClient(meter, ClientSettings())
    start = datetime(2017, 10, 1, 0, 0, tzinfo=UTC)
    end = datetime(2017, 10, 1, 1, 0, tzinfo=UTC)
    profile = await client.read_profile(LOAD_PROFILE, start=start, end=end)
    assert profile.columns == columns
    assert profile.rows == ((row.value[0], row.value[1]), (row.value[0], row.value[1]))  # type: ignore[index]
    buffer_request = GetRequestNormal.decode(meter.requests[-1])
    assert buffer_request.attribute.attribute_id == 2
    assert buffer_request.access_selection is not None
    selection = buffer_request.access_selection.parsed()
    assert isinstance(selection, RangeDescriptor)
    assert selection.restricting_object == columns[0]
    assert selection.from_value == Data.octet_string(CosemDateTime.from_datetime(start).to_bytes())
    assert selection.to_value == Data.octet_string(CosemDateTime.from_datetime(end).to_bytes())
    assert selection.selected_values == ()

    await client.read_profile(LOAD_PROFILE, from_entry=5)
    assert len(meter.requests) == 3  # the columns were cached
    selection = GetRequestNormal.decode(meter.requests[-1]).access_selection
    assert selection is not None
    assert selection.parsed() == EntryDescriptor(5, 0)

    await client.read_profile(LOAD_PROFILE)
    assert GetRequestNormal.decode(meter.requests[-1]).access_selection is None
    with pytest.raises(EncodeError):
        await client.read_profile(LOAD_PROFILE, start=start)
    with pytest.raises(EncodeError):
        await client.read_profile(LOAD_PROFILE, start=start, end=end, to_entry=3)
    await client.close()


async def test_read_frame_counter_starts_the_invocation_counter_above_it() -> None:
    public = FakeMeter()
    reported: list[int] = []
    settings = ClientSettings(
        client_address=1,
        keys=KEYS,
        ciphered=True,
        invocation_counter=5,
        on_invocation_counter=reported.append,
    )
    client = DlmsClient(FakeMeter(keys=KEYS), settings)
    assert await client.read_frame_counter(public) == 4660
    assert client.connection.invocation_counter == 4661
    assert reported == [4661]
    assert not public.is_open
    assert public.aarqs[0].mechanism_name is None
    assert not public.associated  # released
    assert await read_frame_counter(public) == 4660
    public.objects[(1, FRAME_COUNTER, 2)] = Data.octet_string(b"x")
    with pytest.raises(DecodeError, match="not an unsigned integer"):
        await read_frame_counter(public)
    await client.close()


# --- ciphering ----------------------------------------------------------------------------------------


async def test_ciphered_association_reports_counters_for_persistence() -> None:
    meter = FakeMeter(keys=KEYS)
    store: list[int] = []
    settings = ClientSettings(
        client_address=1,
        keys=KEYS,
        ciphered=True,
        client_system_title=b"CLI\x00\x00\x00\x00\x01",
        invocation_counter=41,
        on_invocation_counter=store.append,
    )
    client = DlmsClient(meter, settings)
    values = await client.read_registers([ENERGY, VOLTAGE])
    assert [value.value for value in values if isinstance(value, RegisterValue)] == [12345.6, 230.1]
    await client.close()
    assert meter.client_counters == [41, 42]
    assert store == [42, 43]
    # A client started from the persisted value continues where the last one stopped.
    restarted = DlmsClient(meter, ClientSettings(**{**_fields(settings), "invocation_counter": store[-1]}))
    assert await restarted.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    assert meter.client_counters == [41, 42, 43, 44]
    assert store == [42, 43, 44, 45]
    await restarted.close()


def _fields(settings: ClientSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


async def test_ciphered_application_context_in_the_aarq() -> None:
    meter = FakeMeter(keys=KEYS)
    client = DlmsClient(meter, ClientSettings(keys=KEYS, ciphered=True))
    await client.connect()
    aarq = meter.aarqs[0]
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_REFERENCING_WITH_CIPHERING
    assert client.context is not None
    assert client.context.server_system_title == METER_TITLE
    await client.close()


async def test_release_is_best_effort_and_close_always_closes() -> None:
    meter = FakeMeter()
    client = DlmsClient(meter, ClientSettings())
    await client.connect()
    meter.failures.append(MeterNotRespondingError("no answer to the RLRQ"))
    await client.release()  # no error: the association is over locally either way
    assert not client.associated
    assert await client.get(ENERGY, 3) == Data.double_long_unsigned(123456)
    assert meter.opens == 2
    meter.failures.append(ConnectionLostError("gone"))
    await client.close()
    assert not meter.is_open
    client.clear_caches()
    await client.release()  # nothing to release
    await client.close()
