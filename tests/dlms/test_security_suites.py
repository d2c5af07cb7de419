"""Security suites 0, 1 and 2 with symmetric keys: AES-GCM-128 for 0 and 1, AES-GCM-256 for 2.

The ciphertext and tag are checked against the `cryptography` AEAD primitive used directly, as the
Green Book defines them: IV = system title || invocation counter, AAD = SC || AK (|| plaintext for
authentication only), tag truncated to 12 bytes.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custom_components.dlms_cosem.dlms.apdu import (
    AARE,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    InitiateResponse,
)
from custom_components.dlms_cosem.dlms.apdu.tags import ApduTag
from custom_components.dlms_cosem.dlms.axdr import Data, encode_data
from custom_components.dlms_cosem.dlms.client import Authentication, ClientConnection
from custom_components.dlms_cosem.dlms.client.settings import ClientSettings, InvalidSettingsError
from custom_components.dlms_cosem.dlms.errors import MissingKeyError
from custom_components.dlms_cosem.dlms.obis import ObisCode
from custom_components.dlms_cosem.dlms.security import (
    InvalidKeyError,
    KeySuiteMismatchError,
    SecurityKeys,
    decrypt,
    encrypt,
    parse_key,
    protect,
)
from custom_components.dlms_cosem.dlms.telegram import Telegram, TelegramFailure, decode_telegrams

TITLE = bytes.fromhex("4B464D1020000001")
EK_128 = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK_128 = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
EK_256 = bytes(range(0x20, 0x40))
AK_256 = bytes(range(0xA0, 0xC0))
PLAINTEXT = bytes.fromhex("0F0000000100") + encode_data(
    Data.structure(
        Data.octet_string(ObisCode.parse("1.0.1.8.0.255").to_bytes()), Data.double_long_unsigned(12937)
    )
)


def _keys_for(suite: int) -> tuple[bytes, bytes]:
    return (EK_256, AK_256) if suite == 2 else (EK_128, AK_128)


def test_keys_of_either_length_parse_and_the_suite_fixes_the_length() -> None:
    assert parse_key(EK_128.hex()) == EK_128
    assert parse_key(EK_256.hex(":")) == EK_256
    assert parse_key(EK_256.hex(), suite=2) == EK_256
    with pytest.raises(KeySuiteMismatchError, match="64 hexadecimal digits for security suite 2") as info:
        parse_key(EK_128.hex(), suite=2)
    assert EK_128.hex() not in str(info.value).lower()
    with pytest.raises(KeySuiteMismatchError, match="32 hexadecimal digits for security suite 1"):
        parse_key(EK_256.hex(), suite=1)
    with pytest.raises(InvalidKeyError, match=r"32 hexadecimal digits .* or 64"):
        parse_key(EK_128.hex()[:-2])


@pytest.mark.parametrize("suite", [0, 1, 2])
@pytest.mark.parametrize("protection", [0x30, 0x20, 0x10])
def test_each_suite_matches_aes_gcm_as_the_green_book_defines_it(suite: int, protection: int) -> None:
    ek, ak = _keys_for(suite)
    control = protection | suite
    counter = 0x01234567
    protected = encrypt(
        control=control,
        system_title=TITLE,
        invocation_counter=counter,
        encryption_key=ek,
        authentication_key=ak,
        plaintext=PLAINTEXT,
    )
    iv = TITLE + counter.to_bytes(4, "big")
    aad = bytes([control]) + ak
    if protection == 0x30:
        sealed = AESGCM(ek).encrypt(iv, PLAINTEXT, aad)
        assert protected == sealed[: len(PLAINTEXT)] + sealed[len(PLAINTEXT) : len(PLAINTEXT) + 12]
    elif protection == 0x10:
        tag = AESGCM(ek).encrypt(iv, b"", aad + PLAINTEXT)[:12]
        assert protected == PLAINTEXT + tag
    else:
        # Encryption only is GCM's counter mode without the tag: the same keystream.
        assert protected == AESGCM(ek).encrypt(iv, PLAINTEXT, aad)[: len(PLAINTEXT)]
    clear = decrypt(
        control=control,
        system_title=TITLE,
        invocation_counter=counter,
        encryption_key=ek,
        authentication_key=ak,
        protected=protected,
    )
    assert clear.plaintext == PLAINTEXT
    assert clear.verified == (protection != 0x20)


def _pushed(suite: int, protection: int = 0x30) -> bytes:
    ek, ak = _keys_for(suite)
    ciphered = protect(
        ApduTag.GENERAL_GLO_CIPHERING,
        PLAINTEXT,
        SecurityKeys(ek, ak),
        system_title=TITLE,
        invocation_counter=7,
        control=protection | suite,
    )
    return ciphered.encode()


@pytest.mark.parametrize("suite", [0, 1, 2])
def test_pushed_telegrams_of_each_suite_decode(suite: int) -> None:
    ek, ak = _keys_for(suite)
    (telegram,) = decode_telegrams([_pushed(suite)], SecurityKeys(ek, ak))
    assert isinstance(telegram, Telegram)
    assert telegram.authenticated
    assert telegram.invocation_counter == 7
    assert [(str(o.obis), o.raw) for o in telegram.content.objects] == [("1.0.1.8.0.255", 12937)]


@pytest.mark.parametrize("suite", [0, 1, 2])
def test_without_the_authentication_key_a_telegram_decodes_unauthenticated(suite: int) -> None:
    ek, _ak = _keys_for(suite)
    (telegram,) = decode_telegrams([_pushed(suite)], SecurityKeys(ek, None))
    assert isinstance(telegram, Telegram)
    assert telegram.security == "authenticated+encrypted"
    assert telegram.authenticated is False
    assert [o.raw for o in telegram.content.objects] == [12937]


@pytest.mark.parametrize(
    ("suite", "keys"), [(2, (EK_128, AK_128)), (1, (EK_256, AK_256)), (2, (EK_128, None))]
)
def test_a_key_that_does_not_fit_the_suite_is_said_so(suite: int, keys: tuple[bytes, bytes | None]) -> None:
    (failure,) = decode_telegrams([_pushed(suite)], SecurityKeys(*keys))
    assert isinstance(failure, TelegramFailure)
    assert isinstance(failure.error, KeySuiteMismatchError)
    message = str(failure.error)
    assert f"security suite {suite}" in message
    assert f"needs {32 if suite == 2 else 16}-byte keys" in message
    for key in keys:
        if key:
            assert key.hex() not in message.lower()


def test_a_suite_2_telegram_without_keys_needs_a_key() -> None:
    (failure,) = decode_telegrams([_pushed(2)])
    assert isinstance(failure, TelegramFailure)
    assert isinstance(failure.error, MissingKeyError)


@pytest.mark.parametrize("suite", [1, 2])
def test_client_settings_take_suites_1_and_2_with_fitting_keys(suite: int) -> None:
    ek, ak = _keys_for(suite)
    settings = ClientSettings(ciphered=True, keys=SecurityKeys(ek, ak), security_control=0x30 | suite)
    assert settings.control.security_suite == suite
    other = (EK_128, AK_128) if suite == 2 else (EK_256, AK_256)
    with pytest.raises(InvalidSettingsError, match=f"security suite {suite} needs"):
        ClientSettings(ciphered=True, keys=SecurityKeys(*other), security_control=0x30 | suite)


@pytest.mark.parametrize("suite", [0, 1, 2])
def test_hls_gmac_pass_three_is_computed_in_the_suite_of_the_keys(suite: int) -> None:
    ek, ak = _keys_for(suite)
    client_title = bytes.fromhex("4D4D4D0000000001")
    settings = ClientSettings(
        authentication=Authentication.HLS_GMAC,
        keys=SecurityKeys(ek, ak),
        security_control=0x30 | suite,
        client_system_title=client_title,
        invocation_counter=9,
    )
    connection = ClientConnection(settings, random_bytes=lambda n: bytes(range(n)))
    operation = connection.associate()
    server_challenge = b"StoC-challenge!!"
    aare = AARE(
        result=AssociationResult.ACCEPTED,
        result_source_diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        application_context_name=ApplicationContextName.LOGICAL_NAME_REFERENCING_NO_CIPHERING,
        user_information=InitiateResponse(Conformance(0), 1024),
        mechanism_name=AuthenticationMechanism.HIGH_LEVEL_GMAC,
        responding_authentication_value=server_challenge,
        responding_ap_title=TITLE,
    ).encode()
    action = operation.receive(aare)
    assert action is not None
    answer = ActionRequestNormal.decode(action).parameters.value
    assert isinstance(answer, bytes)
    # f(StoC) = SC || IC || GMAC(SC || AK || StoC) with the suite's key and AES size.
    control = 0x10 | suite
    iv = client_title + (9).to_bytes(4, "big")
    tag = AESGCM(ek).encrypt(iv, b"", bytes([control]) + ak + server_challenge)[:12]
    assert answer == bytes([control]) + (9).to_bytes(4, "big") + tag
