"""Every public vector (tests/fixtures/public_vectors.json), through the Python API and ``decode``.

The fixture is a copy of the project's shared public vectors: real meter captures and standard
examples, with keys and expected values published alongside them.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main as cli_main
from custom_components.dlms_cosem.dlms.apdu import decode_apdu
from custom_components.dlms_cosem.dlms.hdlc import HdlcFramer, decode_frame, fcs16
from custom_components.dlms_cosem.dlms.security import (
    SecurityControl,
    SecurityKeys,
    decode_ciphered_apdu,
    encrypt,
    hls_gmac_response,
    unprotect,
)
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramFailure, decode_telegrams

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "public_vectors.json").read_text()
)


def _by_id(section: str) -> dict[str, dict[str, Any]]:
    return {vector["id"]: vector for vector in VECTORS[section]}


PUSH = _by_id("push")
CRYPTO = _by_id("crypto")
HDLC = _by_id("hdlc")
APDU = _by_id("apdu")


def _keys(vector: dict[str, Any]) -> SecurityKeys | None:
    keys = vector["keys"]
    if keys is None:
        return None
    return SecurityKeys(
        encryption_key=bytes.fromhex(keys["encryption"]) if keys["encryption"] else None,
        authentication_key=bytes.fromhex(keys["authentication"]) if keys["authentication"] else None,
    )


def _run_cli(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli_main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


def _check_objects(vector: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    by_obis = {obj["obis"]: obj for obj in objects if obj["obis"] is not None}
    for obis, (expected, unit) in vector["expect_obis"].items():
        assert obis in by_obis, f"{obis} missing"
        got = by_obis[obis]
        if vector["scaled"]:
            assert got["value"] == expected, obis
            assert got["unit"] == unit, obis
        else:
            assert got["raw"] == expected, obis
    texts = [obj["raw"] for obj in objects]
    for text in vector.get("expect_strings", []):
        assert text in texts


@pytest.mark.parametrize("vector_id", sorted(PUSH))
def test_push_capture_through_api(vector_id: str) -> None:
    vector = PUSH[vector_id]
    events = decode_telegrams([bytes.fromhex(frame) for frame in vector["frames"]], _keys(vector))
    assert [type(event) for event in events] == [Telegram]
    telegram = events[0]
    assert isinstance(telegram, Telegram)
    if "expect_plaintext" in vector:
        assert telegram.apdu.hex() == vector["expect_plaintext"]
    if "expect_timestamp" in vector:
        assert telegram.timestamp is not None
        as_datetime = telegram.timestamp.to_datetime()
        assert as_datetime is not None
        assert as_datetime.replace(tzinfo=None).isoformat() == vector["expect_timestamp"]
    if "expect_obis" in vector:
        _check_objects(
            vector,
            [
                {"obis": str(o.obis) if o.obis else None, "value": o.value, "unit": o.unit, "raw": o.raw}
                for o in telegram.content.objects
            ],
        )


@pytest.mark.parametrize("vector_id", sorted(PUSH))
def test_push_capture_through_decode_command(vector_id: str) -> None:
    vector = PUSH[vector_id]
    args = ["decode"]
    if vector["keys"]:
        args += ["--key", vector["keys"]["encryption"]]
        if vector["keys"]["authentication"]:
            args += ["--auth-key", vector["keys"]["authentication"]]
    code, out, err = _run_cli(*args, *vector["frames"])
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == {
        "system_title",
        "invocation_counter",
        "security",
        "authenticated",
        "timestamp",
        "objects",
    }
    if "expect_timestamp" in vector:
        assert record["timestamp"] == vector["expect_timestamp"]
    if "expect_obis" in vector:
        _check_objects(vector, record["objects"])
    if vector["keys"]:
        for key in vector["keys"].values():
            if key:
                assert key.lower() not in (out + err).lower()


def test_kamstrup_list_identifier_fixes_scalers_and_units() -> None:
    frames = [bytes.fromhex(f) for f in PUSH["kamstrup-no-list"]["frames"]]
    (telegram,) = decode_telegrams(frames)
    assert isinstance(telegram, Telegram)
    assert telegram.content.list_identifier == "Kamstrup_V0001"
    values = {str(o.obis): (o.value, o.unit) for o in telegram.content.objects if o.obis}
    assert values["1.1.31.7.0.255"] == (2.37, "A")
    assert values["1.1.1.7.0.255"] == (826, "W")
    assert values["1.1.3.7.0.255"] == (104, "var")
    assert values["1.1.32.7.0.255"] == (232, "V")


def test_netz_noe_reports_security_and_counter() -> None:
    vector = PUSH["netz-noe-mbus-encrypted"]
    (telegram,) = decode_telegrams([bytes.fromhex(f) for f in vector["frames"]], _keys(vector))
    assert isinstance(telegram, Telegram)
    assert telegram.security == "encrypted"
    assert telegram.authenticated is False
    assert telegram.system_title is not None
    assert telegram.system_title[:3] == b"KFM"
    assert telegram.invocation_counter == 0x23
    # Deviation -120 with the DST bit: Austrian summer time, UTC+02:00.
    assert telegram.timestamp is not None
    as_datetime = telegram.timestamp.to_datetime()
    assert as_datetime is not None
    assert as_datetime.utcoffset() == timedelta(hours=2)


def test_netz_noe_with_a_wrong_key_says_so() -> None:
    vector = PUSH["netz-noe-mbus-encrypted"]
    wrong = SecurityKeys(encryption_key=bytes(16), authentication_key=None)
    (event,) = decode_telegrams([bytes.fromhex(f) for f in vector["frames"]], wrong)
    assert isinstance(event, TelegramFailure)
    assert "wrong encryption key" in str(event.error)
    code, out, err = _run_cli("decode", "--key", "00" * 16, *vector["frames"])
    assert code == 1
    assert out == ""
    assert "wrong encryption key" in err


def test_authenticated_capture_with_a_wrong_authentication_key_is_a_tag_mismatch() -> None:
    vector = PUSH["dlms-cosem-general-glo-ciphering"]
    keys = SecurityKeys(
        encryption_key=bytes.fromhex(vector["keys"]["encryption"]), authentication_key=bytes(16)
    )
    (event,) = decode_telegrams([bytes.fromhex(vector["frames"][0])], keys)
    assert isinstance(event, TelegramFailure)
    assert "wrong key or tampered data" in str(event.error)


def test_encrypted_capture_without_a_key_says_a_key_is_needed() -> None:
    vector = PUSH["netz-noe-mbus-encrypted"]
    code, _out, err = _run_cli("decode", *vector["frames"])
    assert code == 1
    assert "encryption key is needed" in err


@pytest.mark.parametrize("vector_id", sorted(CRYPTO))
def test_crypto_vector(vector_id: str) -> None:
    vector = CRYPTO[vector_id]
    ek = bytes.fromhex(vector["encryption_key"])
    ak = bytes.fromhex(vector["authentication_key"])
    counter = int(vector["invocation_counter"], 16)
    control = SecurityControl.from_byte(int(vector["security_control"], 16))
    if vector_id == "greenbook-hls-gmac":
        response = hls_gmac_response(
            system_title=bytes.fromhex(vector["client_system_title"]),
            invocation_counter=counter,
            encryption_key=ek,
            authentication_key=ak,
            challenge=bytes.fromhex(vector["server_to_client_challenge"]),
        )
        assert response.hex().upper() == "10" + vector["invocation_counter"] + vector["tag"]
        aarq = decode_apdu(bytes.fromhex(vector["aarq_hls_gmac"]))
        assert aarq.encode().hex() == vector["aarq_hls_gmac"]
        aare = decode_apdu(bytes.fromhex(vector["aare_auth_required"]))
        assert aare.encode().hex().upper() == vector["aare_auth_required"]
        return
    title = bytes.fromhex(vector["system_title"])
    plaintext = bytes.fromhex(vector["plaintext"])
    protected = encrypt(
        control=control,
        system_title=title,
        invocation_counter=counter,
        encryption_key=ek,
        authentication_key=ak,
        plaintext=plaintext,
    )
    if "ciphertext" in vector:
        assert protected.hex().upper() == vector["ciphertext"] + vector["tag"]
    if "apdu" in vector:
        ciphered = decode_ciphered_apdu(bytes.fromhex(vector["apdu"]))
        assert ciphered.encode().hex().upper() == vector["apdu"]
        clear = unprotect(ciphered, SecurityKeys(encryption_key=ek, authentication_key=ak), title)
        assert clear.plaintext == plaintext
        assert clear.verified
        aarq = decode_apdu(bytes.fromhex(vector["aarq_lls_12345678"]))
        assert aarq.encode().hex().upper() == vector["aarq_lls_12345678"].upper()


@pytest.mark.parametrize("vector_id", sorted(HDLC))
def test_hdlc_vector(vector_id: str) -> None:
    vector = HDLC[vector_id]
    if "frame" not in vector:
        data = bytes.fromhex(vector["bytes"])
        fcs = fcs16(data)
        if "fcs" in vector:
            assert fcs == int(vector["fcs"], 16)
        if "fcs_on_wire" in vector:
            assert fcs.to_bytes(2, "little").hex().upper() == vector["fcs_on_wire"]
        return
    raw = bytes.fromhex(vector["frame"])
    frame = decode_frame(raw)
    assert frame.encode() == raw
    # The same frame split at every position comes out of the stream framer whole.
    for cut in range(1, len(raw)):
        framer = HdlcFramer()
        frames = framer.feed(raw[:cut]) + framer.feed(raw[cut:])
        assert frames == [frame]


@pytest.mark.parametrize("vector_id", sorted(APDU))
def test_apdu_vector(vector_id: str) -> None:
    raw = bytes.fromhex(APDU[vector_id]["hex"])
    apdu = decode_apdu(raw)
    assert apdu.encode() == raw


def test_every_vector_is_covered() -> None:
    sections = {"push": PUSH, "crypto": CRYPTO, "hdlc": HDLC, "apdu": APDU}
    assert set(VECTORS) - {"about"} == set(sections)
    assert sum(len(section) for section in sections.values()) == sum(len(VECTORS[name]) for name in sections)
