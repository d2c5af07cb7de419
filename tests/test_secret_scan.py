"""The secret scan (tests/secret_scan.py) finds each written form of a key and reads every source.

The scan itself runs around every test of the suite; these tests show that it can fail, that it
knows the suite's keys and passwords, and that the committed snapshots hold none of them.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from tests.secret_scan import Secret, SecretScanner, collect_secrets, forms

KEY = bytes.fromhex("36C66639E48A8CA4D6BC8B282A793BBB")  # the Netz NOE example key of the fixtures
SNAPSHOTS = Path(__file__).parent / "__snapshots__"


def test_the_suite_keys_and_passwords_are_collected() -> None:
    secrets = collect_secrets()
    sources = {secret.source.split(":")[0].split("#")[0] for secret in secrets}
    values = {secret.value for secret in secrets}
    assert KEY in values
    assert bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF") in values
    assert b"S3cr3tPw" in values
    assert {"corpus.json", "corpus_extra.json", "test_coordinator.py"} <= sources
    assert len(secrets) >= 15
    assert bytes(16) not in values  # all-zero "keys" are in every hex dump


@pytest.mark.parametrize(
    "written",
    [
        KEY.hex(),
        KEY.hex().upper(),
        KEY.hex(" "),
        KEY.hex(":").upper(),
        "36C66639 E48A8CA4 D6BC8B28 2A793BBB",
        "36c6-6639-e48a-8ca4-d6bc-8b28-2a79-3bbb",
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode(),
        repr(KEY),
        KEY.decode("latin-1"),
    ],
)
def test_every_form_of_a_key_is_found(written: str) -> None:
    scanner = SecretScanner([Secret("here", KEY)])
    found = scanner.find(f"Telegram not decoded with key {written} (debug)")
    assert found is not None
    assert found.source == "here"


def test_passwords_are_found_raw_hex_and_base64_and_clean_text_passes() -> None:
    secret = Secret("pw", b"Lls-pa55word", text=True)
    scanner = SecretScanner([secret])
    for written in ("Lls-pa55word", b"Lls-pa55word".hex(), base64.b64encode(b"Lls-pa55word").decode()):
        assert scanner.find(f"AARQ {written}") is secret
    assert scanner.find("AARQ with a password of 12 bytes, redacted: **REDACTED**") is None
    assert len(forms(secret)) > 5


def test_the_scan_sees_what_the_integration_logs(caplog: pytest.LogCaptureFixture) -> None:
    """What the autouse scan collects: the integration's debug records reach the root handlers."""
    scanner = SecretScanner(collect_secrets())
    with caplog.at_level(logging.DEBUG, logger="custom_components.dlms_cosem"):
        logging.getLogger("custom_components.dlms_cosem.coordinator").debug("Telegram not decoded: %s", "x")
    assert "Telegram not decoded" in caplog.text
    assert scanner.find(caplog.text) is None


def test_the_committed_snapshots_show_no_secret() -> None:
    scanner = SecretScanner(collect_secrets())
    snapshots = sorted(SNAPSHOTS.glob("*.ambr"))
    assert snapshots
    for path in snapshots:
        assert scanner.find(path.read_text(encoding="utf-8")) is None, path.name
