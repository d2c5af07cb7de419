"""Text telegrams (IEC 62056-21 data lines, P1 telegrams, readouts) through the codec, the push decoder
and ``decode``: the shared vectors and real captures published by other projects, with their values."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main as cli_main
from custom_components.dlms_cosem.dlms.apdu.tags import XdlmsTag
from custom_components.dlms_cosem.dlms.cosem_datetime import ClockStatus, CosemDateTime
from custom_components.dlms_cosem.dlms.errors import (
    DecodeError,
    FrameError,
    IncompleteTelegramError,
    SecurityError,
    UnauthenticatedTelegramError,
)
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import SecurityKeys, protect
from custom_components.dlms_cosem.dlms.telegram import (
    Framing,
    SecurityLevel,
    Telegram,
    TelegramDecoder,
    TelegramFailure,
    decode_telegrams,
)
from custom_components.dlms_cosem.dlms.text import (
    TextFramer,
    TextKind,
    block_check,
    crc16,
    decode_text_frame,
    decode_text_telegram,
    encode_p1_telegram,
    encode_readout,
    parse_data_block,
    parse_id_code,
)
from custom_components.dlms_cosem.dlms.text.readout import DataReadout, ReadoutMode

FIXTURE = json.loads((Path(__file__).parent.parent / "fixtures" / "text_vectors.json").read_text())
VECTORS = {vector["id"]: vector for vector in FIXTURE["vectors"]}
REAL = sorted(
    vector_id for vector_id, vector in VECTORS.items() if vector["source"]["repo"] != "shared vectors"
)


def _keys(vector: dict[str, Any]) -> SecurityKeys | None:
    keys = vector.get("keys")
    if keys is None:
        return None
    return SecurityKeys(bytes.fromhex(keys["encryption"]), bytes.fromhex(keys["authentication"]))


def _frames(vector: dict[str, Any]) -> list[bytes]:
    return [bytes.fromhex(frame) for frame in vector["frames"]]


def _values(telegram: Telegram) -> dict[str, tuple[object, str | None]]:
    return {str(obj.obis): (obj.value, obj.unit) for obj in telegram.content.objects if obj.obis is not None}


def _check(vector: dict[str, Any], values: dict[str, tuple[object, str | None]]) -> None:
    for obis, (expected, unit) in vector["expect_obis"].items():
        assert obis in values, f"{vector['id']}: {obis} missing"
        assert values[obis] == (expected, unit), f"{vector['id']}: {obis}"


def _run_cli(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli_main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_fixture_holds_the_shared_vectors_and_real_captures() -> None:
    shared = [vector_id for vector_id in VECTORS if vector_id not in REAL]
    assert len(shared) == 3
    assert len(REAL) >= 13
    for vector_id in REAL:
        assert VECTORS[vector_id]["source"]["commit"], vector_id


@pytest.mark.parametrize("vector_id", sorted(VECTORS))
def test_vector_decodes_to_its_values(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    events = decode_telegrams(_frames(vector), _keys(vector))
    assert [type(event) for event in events] == [Telegram], events
    telegram = events[0]
    assert isinstance(telegram, Telegram)
    _check(vector, _values(telegram))
    if "expect_instant" in vector:
        # The telegram's clock is local time with the summer/winter flag: read in the meter's zone it
        # is the instant the source asserts.
        assert telegram.timestamp is not None
        naive = telegram.timestamp.to_datetime()
        assert naive is not None
        assert naive.tzinfo is None
        local = naive.replace(tzinfo=ZoneInfo(vector["zone"]))
        assert local.astimezone(UTC) == datetime.fromisoformat(vector["expect_instant"])


@pytest.mark.parametrize("vector_id", sorted(VECTORS))
def test_vector_decodes_through_the_decode_command(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    args = ["decode"]
    if vector.get("keys"):
        args += ["--key", vector["keys"]["encryption"], "--auth-key", vector["keys"]["authentication"]]
    code, out, err = _run_cli(*args, *vector["frames"])
    assert code == 0, err
    (line,) = out.splitlines()
    record = json.loads(line)
    _check(vector, {obj["obis"]: (obj["value"], obj["unit"]) for obj in record["objects"]})
    if vector.get("keys"):
        assert record["authenticated"] is True
        for key in vector["keys"].values():
            assert key.lower() not in (out + err).lower()


@pytest.mark.parametrize("vector_id", sorted(VECTORS))
def test_vector_fed_byte_by_byte_is_found_by_its_structure(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    decoder = TelegramDecoder(_keys(vector))
    events = []
    for frame in _frames(vector):
        for index in range(len(frame)):
            events += decoder.feed(frame[index : index + 1])
    events += decoder.flush()
    telegrams = [event for event in events if isinstance(event, Telegram)]
    assert len(telegrams) == 1, events
    _check(vector, _values(telegrams[0]))
    assert decoder.framing == (Framing.APDU if vector.get("transport") == "apdu" else Framing.TEXT)


def test_smarty_telegram_is_the_deciphered_p1_text() -> None:
    vector = VECTORS["nexxtlab-smarty-lu-encrypted"]
    (telegram,) = decode_telegrams(_frames(vector), _keys(vector))
    assert isinstance(telegram, Telegram)
    assert telegram.security == SecurityLevel.AUTHENTICATED_ENCRYPTED
    assert telegram.authenticated
    assert telegram.system_title == bytes.fromhex("53414767700 1BD54".replace(" ", ""))
    assert telegram.invocation_counter == 0x0005A8E3
    assert telegram.identification == "Lux5\\253663629_D"
    assert telegram.apdu.startswith(b"/Lux5")
    assert telegram.apdu.endswith(b"!CFDE\r\n")
    values = _values(telegram)
    # Reactive power without a unit: a decimal number is a number, not text.
    assert values["1.0.4.7.0.255"] == (0.007, None)
    assert values["0.0.96.7.21.255"] == ("00069", None)


def test_smarty_with_a_wrong_key_is_a_security_failure_not_values() -> None:
    vector = VECTORS["nexxtlab-smarty-lu-encrypted"]
    keys = SecurityKeys(bytes(16), bytes.fromhex(vector["keys"]["authentication"]))
    (event,) = decode_telegrams(_frames(vector), keys)
    assert isinstance(event, TelegramFailure)
    assert isinstance(event.error, SecurityError)
    assert vector["keys"]["encryption"].lower() not in str(event.error).lower()


def _sagemcom_p1() -> bytes:
    return bytes.fromhex(VECTORS["dsmr_parser-sagemcom-t210-d-r"]["frames"][0])


@pytest.mark.parametrize("tag", [XdlmsTag.GENERAL_GLO_CIPHERING, XdlmsTag.GENERAL_DED_CIPHERING])
def test_text_inside_either_general_ciphering_decodes_as_that_telegram(tag: int) -> None:
    keys = SecurityKeys(b"\xaa" * 16, b"\xbb" * 16)
    apdu = protect(
        tag, _sagemcom_p1(), keys, system_title=b"SYSTEMID", invocation_counter=0x10000001
    ).encode()
    (telegram,) = decode_telegrams([apdu], keys)
    assert isinstance(telegram, Telegram)
    assert telegram.authenticated
    assert telegram.invocation_counter == 0x10000001
    assert _values(telegram)["1.0.1.8.0.255"] == (6545766, "Wh")
    assert len(telegram.content.objects) == 18


def test_plain_text_is_refused_when_an_authentication_key_is_set() -> None:
    keys = SecurityKeys(b"\xaa" * 16, b"\xbb" * 16)
    (event,) = decode_telegrams([_sagemcom_p1()], keys)
    assert isinstance(event, TelegramFailure)
    assert isinstance(event.error, UnauthenticatedTelegramError)


def test_damaged_telegram_fails_its_crc() -> None:
    raw = bytearray(_sagemcom_p1())
    raw[raw.index(b"6545766")] = ord("7")
    (event,) = decode_telegrams([bytes(raw)])
    assert isinstance(event, TelegramFailure)
    assert isinstance(event.error, FrameError)
    with pytest.raises(FrameError, match="CRC16"):
        decode_text_frame(bytes(raw))


def test_readout_with_a_wrong_block_check_character_is_refused() -> None:
    raw = bytearray(bytes.fromhex(VECTORS["iec62056-21-mode-c-readout-synthetic"]["frames"][0]))
    raw[-1] ^= 0x01
    with pytest.raises(FrameError, match="block check"):
        decode_text_frame(bytes(raw))
    (event,) = decode_telegrams([bytes(raw)])
    assert isinstance(event, TelegramFailure)


def _v2_2() -> bytes:
    return bytes.fromhex(VECTORS["dsmr_parser-v2-2"]["frames"][0])


def test_a_telegram_cut_by_the_next_one_is_reported_and_never_joined() -> None:
    # DSMR 2.2 has no CRC: only the structure tells a cut telegram. Its first half followed by a
    # whole telegram must not give values from both.
    first, second = _v2_2(), _sagemcom_p1()
    decoder = TelegramDecoder(framing=Framing.TEXT)
    events = decoder.feed(first[: len(first) // 2]) + decoder.feed(second)
    assert [type(event) for event in events] == [TelegramFailure, Telegram]
    failure, telegram = events
    assert isinstance(failure, TelegramFailure)
    assert isinstance(failure.error, IncompleteTelegramError)
    assert isinstance(telegram, Telegram)
    assert "1.0.1.8.1.255" in _values(telegram)
    assert _values(telegram)["1.0.1.8.1.255"] == (5017120, "Wh")


def test_a_telegram_cut_by_silence_is_dropped() -> None:
    decoder = TelegramDecoder()
    assert decoder.feed(_sagemcom_p1()) != []
    partial = _sagemcom_p1()[:200]
    assert decoder.feed(partial) == []
    assert decoder.flush(cut=False) == []  # a pause keeps it
    (event,) = decoder.flush(cut=True)
    assert isinstance(event, TelegramFailure)
    assert isinstance(event.error, IncompleteTelegramError)
    # The rest of it, arriving later, starts nothing.
    assert decoder.feed(_sagemcom_p1()[200:]) == []


def test_garbage_and_binary_noise_around_text_telegrams() -> None:
    noise = bytes(range(256)) + b"/not a telegram\r\n\x00\x01(1*kWh)\r\n!\r\n"
    stream = noise + _v2_2() + b"\x7e\xa0\x07\x03" + noise + _sagemcom_p1() + noise[:40]
    events = decode_telegrams([stream[i : i + 7] for i in range(0, len(stream), 7)])
    telegrams = [event for event in events if isinstance(event, Telegram)]
    assert len(telegrams) == 2
    assert _values(telegrams[0])["0.1.24.2.1.255"] == (1.001, "m³")
    assert _values(telegrams[1])["1.0.4.7.0.255"] == (166, "var")


def test_line_feed_only_telegrams_and_lower_case_crc() -> None:
    body = "1-0:1.8.1(000010.181*kWh)\n1-0:32.7.0(242.5*V)\n"
    raw = f"/ISk5\\2MIE5T-200\n\n{body}!".encode()
    raw += f"{crc16(raw):04x}\n".encode()
    (telegram,) = decode_telegrams([raw])
    assert isinstance(telegram, Telegram)
    assert _values(telegram) == {"1.0.1.8.1.255": (10181, "Wh"), "1.0.32.7.0.255": (242.5, "V")}


def test_the_p1_encoder_and_decoder_agree() -> None:
    raw = encode_p1_telegram("XMX5LGBBFFB231215493", "1-0:1.8.1(001581.123*kWh)\r\n0-0:96.14.0(0002)\r\n")
    frame = decode_text_frame(raw)
    assert frame.kind == TextKind.P1
    assert frame.checked
    assert frame.meter_identification is not None
    assert frame.meter_identification.manufacturer == "XMX"
    old = encode_p1_telegram("ISk5\\2MT382-1004", "1-0:1.8.1(00001.001*kWh)\r\n", with_crc=False)
    assert not decode_text_frame(old).checked


def test_readout_without_identification_and_with_several_data_sets_per_line() -> None:
    raw = encode_readout(
        None, "F.F(00000000)\r\n1.8.0(0012345.678*kWh)2.8.0(0000012.001*kWh)\r\nC.1.0(12345678)\r\n"
    )
    text = decode_text_telegram(raw)
    assert text.frame.kind == TextKind.READOUT
    assert text.frame.identification is None
    codes = [obj.obis for obj in text.objects]
    assert codes == [
        ObisCode(1, 0, 97, 97, 255, 255),
        ObisCode(1, 0, 1, 8, 0, 255),
        ObisCode(1, 0, 2, 8, 0, 255),
        ObisCode(1, 0, 96, 1, 0, 255),
    ]
    values = [(obj.value, obj.unit) for obj in text.objects]
    # A hexadecimal bitmap and a serial number stay text: read as decimal numbers they would be wrong.
    assert values == [("00000000", None), (12345678, "Wh"), (12001, "Wh"), ("12345678", None)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1-0:1.8.0", ObisCode(1, 0, 1, 8, 0, 255)),
        ("1-0:1.8.0*255", ObisCode(1, 0, 1, 8, 0, 255)),
        ("1-0:1.8.0*01", ObisCode(1, 0, 1, 8, 0, 1)),
        ("1.8.1&12", ObisCode(1, 0, 1, 8, 1, 12)),
        ("0-1:24.2.1", ObisCode(0, 1, 24, 2, 1, 255)),
        ("32.7.0", ObisCode(1, 0, 32, 7, 0, 255)),
        ("C.1.0", ObisCode(1, 0, 96, 1, 0, 255)),
        ("0.9.1", ObisCode(1, 0, 0, 9, 1, 255)),
        ("F.F", ObisCode(1, 0, 97, 97, 255, 255)),
    ],
)
def test_id_codes(text: str, code: ObisCode) -> None:
    assert parse_id_code(text) == code


@pytest.mark.parametrize(
    "text", ["", "1-0", "1:1.8.0", "1-0:1.8", "1-0:1.8.0.0", "1.8.256", "X.8.0", "1-0:1.8.0*"]
)
def test_malformed_id_codes_are_decode_errors(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_id_code(text if text != "1-0:1.8" else "1-0:1")


@pytest.mark.parametrize(
    "block",
    [
        "1-0:1.8.0",  # no value
        "1-0:1.8.0(12",  # unclosed
        "(1*kWh)",  # values before any ID code
        "1-0:1.8.0(1(2)*kWh)",  # a parenthesis inside a value
        "1-0:1.8.0(1*kWh)\x00",  # a control character
        "",  # nothing
    ],
)
def test_malformed_data_blocks_are_decode_errors(block: str) -> None:
    with pytest.raises(DecodeError):
        parse_data_block(block)


def test_values_of_every_kind() -> None:
    text = decode_text_telegram(
        encode_p1_telegram(
            "ABC5METER",
            "0-0:1.0.0(200426223325S)\r\n"
            "0-1:24.2.1(261207101000W)(01234.567*m3)\r\n"
            "1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)\r\n"
            "0-0:96.13.0()\r\n"
            "1-0:13.7.0(-0.998)\r\n"
            "1-0:1.8.0(00052185.7825309*kWh)\r\n"
            "1-0:1.7.0(1.5*MW)\r\n"
            "0-0:96.14.0(0002)\r\n"
            "1-0:1.6.0(1.234*kW)(2401311415)\r\n"
            "1-0:1.8.0(12*XYZ)\r\n",
        )
    )
    clock, gas, log, message, factor, energy, power, tariff, demand, unknown = text.objects
    assert isinstance(clock.raw, CosemDateTime)
    assert clock.raw.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert gas.value == 1234.567
    assert gas.unit == "m³"
    assert gas.captured is not None
    assert gas.captured.clock_status == ClockStatus(0)
    assert log.class_id == 7  # a list is history (a profile), not a value to show
    assert isinstance(log.raw, list)
    assert len(log.raw) == 6
    assert message.value is None
    assert factor.value == -0.998
    assert factor.unit is None
    assert energy.value == 52185782.5309
    assert energy.unit == "Wh"
    assert power.value == 1_500_000
    assert power.unit == "W"
    assert tariff.value == "0002"
    assert demand.value == 1234
    assert demand.captured is not None
    assert unknown.value == "12*XYZ"
    assert unknown.unit is None


def test_framer_counts_and_bounds() -> None:
    framer = TextFramer(max_size=512)
    huge = b"/ABC5X\r\n\r\n" + b"1-0:1.8.0(1*kWh)\r\n" * 64
    results = framer.feed(huge)
    assert any(isinstance(result, DecodeError) for result in results)
    assert framer.pending <= 512
    whole = framer.feed(b"/ABC5X\r\n\r\n1-0:1.8.0(1*kWh)\r\n!\r\n")
    assert whole == [b"/ABC5X\r\n\r\n1-0:1.8.0(1*kWh)\r\n!\r\n"]


@pytest.mark.parametrize(
    ("time", "date"), [("0.9.1(14:05:30)", "0.9.2(24-01-31)"), ("0.9.1(140530)", "0.9.2(240131)")]
)
def test_a_readout_is_dated_by_its_date_and_time(time: str, date: str) -> None:
    raw = encode_readout("ABC5METER", f"{time}\r\n{date}\r\n1.8.0(0012345.678*kWh)\r\n")
    (telegram,) = decode_telegrams([raw])
    assert isinstance(telegram, Telegram)
    assert telegram.timestamp is not None
    assert telegram.timestamp.to_datetime() == datetime(2024, 1, 31, 14, 5, 30)


def test_a_readout_without_a_valid_date_has_no_time() -> None:
    raw = encode_readout("ABC5METER", "0.9.1(25:05:30)\r\n0.9.2(24-01-31)\r\n1.8.0(1*kWh)\r\n")
    (telegram,) = decode_telegrams([raw])
    assert isinstance(telegram, Telegram)
    assert telegram.timestamp is None


# A Kamstrup Multical 66 heat meter's optical readout as jonkerj/go-iec62056 publishes it
# (pkg/samples/kamstrup_mc66.go at 86e38cf9): mode A identification "/KAM MC", two-group ID codes, the
# end character closing the last data line. Its BCC ('a') does not match its bytes (0x3D): the sample
# was edited after capture.
KAMSTRUP_MC66 = (
    b"/KAM MC\r\n\x020.0(00005077354)\r\n6.8(00433.65*GJ)\r\n6.26(03052.95*m3)\r\n6.31(0109868*h)!\r\n\x03a"
)


def test_a_published_readout_whose_bcc_does_not_match_is_refused() -> None:
    with pytest.raises(FrameError, match="block check"):
        decode_text_frame(KAMSTRUP_MC66)
    (event,) = decode_telegrams([KAMSTRUP_MC66])
    assert isinstance(event, TelegramFailure)
    assert isinstance(event.error, FrameError)


def test_its_quirks_decode_once_the_check_matches() -> None:
    stx, etx = KAMSTRUP_MC66.index(b"\x02"), KAMSTRUP_MC66.index(b"\x03")
    checked = KAMSTRUP_MC66[: etx + 1] + bytes((block_check(KAMSTRUP_MC66[stx + 1 : etx + 1]),))
    text = decode_text_telegram(checked)
    assert text.frame.identification == "KAM MC"
    values = {str(obj.obis): (obj.value, obj.unit) for obj in text.objects}
    assert values == {
        "1.0.0.0.255.255": ("00005077354", None),
        "1.0.6.8.255.255": (433_650_000_000, "J"),
        "1.0.6.26.255.255": (3052.95, "m³"),
        "1.0.6.31.255.255": (109868, "h"),
    }
    # The medium is the caller's to give when it knows it (a heat meter: A = 6).
    heat = decode_text_telegram(checked, default_medium=6)
    assert {str(obj.obis) for obj in heat.objects} >= {"6.0.6.8.255.255"}


def test_a_mode_a_identification_with_any_printable_baud_rate_character() -> None:
    session = DataReadout()
    session.start()
    checked = KAMSTRUP_MC66[:-1] + bytes((block_check(KAMSTRUP_MC66[KAMSTRUP_MC66.index(b"\x02") + 1 : -1]),))
    assert session.receive(checked) == []
    assert session.mode is ReadoutMode.A
    assert session.telegram is not None
    assert session.identification is not None
    assert session.identification.manufacturer == "KAM"


def test_crc16_is_crc16_arc() -> None:
    """The P1 CRC (DSMR 5.0.2, 6.2: CRC16, x^16+x^15+x^2+1, LSB first, initial 0): CRC-16/ARC."""
    assert crc16(b"123456789") == 0xBB3D  # the catalogue's check value of CRC-16/ARC
    assert crc16(b"") == 0


def test_crc16_by_table_is_the_bitwise_crc() -> None:
    """The lookup table gives, for any bytes, what shifting each bit through the polynomial gives."""

    def bitwise(data: bytes) -> int:
        crc = 0
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        return crc

    for data in (bytes(range(256)), b"/ISK5\\2M550T-1013\r\n\r\n1-0:1.8.1(004201.123*kWh)\r\n!", b"\xff" * 3):
        assert crc16(data) == bitwise(data)
