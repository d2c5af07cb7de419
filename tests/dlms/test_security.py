"""Security control byte, keys, AES-GCM and HLS-GMAC against the Green Book examples."""

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.errors import (
    AuthenticationTagMismatchError,
    DecodeError,
    DlmsError,
    EncodeError,
    MissingKeyError,
    SecurityError,
)
from custom_components.dlms_cosem.dlms.security import (
    DecryptedPayload,
    InvalidKeyError,
    SecurityControl,
    SecurityKeys,
    decrypt,
    encrypt,
    hls_gmac_response,
    initialization_vector,
    parse_key,
    verify_hls_gmac_response,
)

# Green Book example (glo-get-request, Table 40; used by greenbook-gcm-get in the shared vectors).
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
SYSTEM_TITLE = bytes.fromhex("4D4D4D0000BC614E")
IC = 0x01234567
PLAINTEXT = bytes.fromhex("C0010000080000010000FF0200")
CIPHERTEXT = bytes.fromhex("411312FF935A47566827C467BC")
TAG = bytes.fromhex("7D825C3BE4A77C3FCC056B6B")

# Green Book HLS-GMAC example (greenbook-hls-gmac).
CLIENT_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000000001")
STOC_CHALLENGE = bytes.fromhex("503677524A323146")
HLS_TAG = bytes.fromhex("1A52FE7DD3E72748973C1E28")

KEY_TEXTS = tuple(
    text
    for key in (EK, AK)
    for text in (key.hex(), key.hex().upper(), key.hex(" "), key.hex(":"), key.hex(" ").upper(), repr(key))
)


def assert_no_key_material(*objects: object) -> None:
    for obj in objects:
        for rendered in (str(obj), repr(obj)):
            for text in KEY_TEXTS:
                assert text not in rendered


def seal(
    control: int | SecurityControl,
    plaintext: bytes,
    *,
    ek: bytes | None = EK,
    ak: bytes | None = AK,
    title: bytes = SYSTEM_TITLE,
    ic: int = IC,
) -> bytes:
    return encrypt(
        control=control,
        system_title=title,
        invocation_counter=ic,
        encryption_key=ek,
        authentication_key=ak,
        plaintext=plaintext,
    )


def unseal(
    control: int | SecurityControl,
    protected: bytes,
    *,
    ek: bytes | None = EK,
    ak: bytes | None = AK,
    title: bytes = SYSTEM_TITLE,
    ic: int = IC,
) -> DecryptedPayload:
    return decrypt(
        control=control,
        system_title=title,
        invocation_counter=ic,
        encryption_key=ek,
        authentication_key=ak,
        protected=protected,
    )


def verify_hls(
    response: bytes,
    *,
    ek: bytes | None = EK,
    ak: bytes | None = AK,
    title: bytes = CLIENT_SYSTEM_TITLE,
    challenge: bytes = STOC_CHALLENGE,
) -> int:
    return verify_hls_gmac_response(
        system_title=title, encryption_key=ek, authentication_key=ak, challenge=challenge, response=response
    )


# --- security control -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byte", "suite", "authenticated", "encrypted"),
    [(0x10, 0, True, False), (0x20, 0, False, True), (0x30, 0, True, True), (0x31, 1, True, True)],
)
def test_security_control_examples(byte: int, suite: int, authenticated: bool, encrypted: bool) -> None:
    control = SecurityControl.from_byte(byte)
    assert control == SecurityControl(security_suite=suite, authenticated=authenticated, encrypted=encrypted)
    assert not control.broadcast_key
    assert not control.compressed
    assert control.to_byte() == byte


def test_security_control_high_bits() -> None:
    assert SecurityControl.from_byte(0x40).broadcast_key
    assert SecurityControl.from_byte(0x80).compressed
    assert SecurityControl(security_suite=2, broadcast_key=True, compressed=True).to_byte() == 0xC2


def test_security_control_every_byte_round_trips() -> None:
    for byte in range(256):
        assert SecurityControl.from_byte(byte).to_byte() == byte


@pytest.mark.parametrize("value", [-1, 256, 0x1FF])
def test_security_control_rejects_non_bytes(value: int) -> None:
    with pytest.raises(DecodeError):
        SecurityControl.from_byte(value)


@pytest.mark.parametrize("suite", [-1, 16])
def test_security_control_rejects_bad_suite(suite: int) -> None:
    with pytest.raises(EncodeError):
        SecurityControl(security_suite=suite)


# --- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "000102030405060708090A0B0C0D0E0F",
        "000102030405060708090a0b0c0d0e0f",
        "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
        "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f",
        " 0001020304050607 08090A0B0C0D0E0F ",
    ],
)
def test_parse_key_accepts_grouped_hex(text: str) -> None:
    assert parse_key(text) == EK


@pytest.mark.parametrize(
    "text",
    [
        "",
        "000102030405060708090A0B0C0D0E",  # 15 bytes
        "000102030405060708090A0B0C0D0E0F00",  # 17 bytes
        "000102030405060708090A0B0C0D0E0G",
        "0x000102030405060708090A0B0C0D0E0F",
        "00-01-02-03-04-05-06-07-08-09-0A-0B-0C-0D-0E-0F",
        "SECRETSECRETSECRETSECRETSECRETXY",
    ],
)
def test_parse_key_rejects_without_echoing(text: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        parse_key(text)
    assert isinstance(info.value, SecurityError)
    message = str(info.value)
    if text:
        assert text not in message
        assert "SECRET" not in message
        assert "0A0B0C" not in message.upper()


@given(st.text(max_size=80))
@settings(max_examples=200)
def test_parse_key_only_raises_invalid_key(text: str) -> None:
    message = ""
    try:
        assert len(parse_key(text)) == 16
    except InvalidKeyError as exc:
        message = str(exc)
    if len(text) >= 4:
        assert text not in message


def test_security_keys_repr_hides_keys() -> None:
    keys = SecurityKeys(encryption_key=EK, authentication_key=AK)
    assert repr(keys) == "SecurityKeys(encryption_key=<16 bytes>, authentication_key=<16 bytes>)"
    assert str(keys) == repr(keys)
    assert repr(SecurityKeys(EK, None)) == "SecurityKeys(encryption_key=<16 bytes>, authentication_key=None)"
    assert_no_key_material(keys, [keys], {"k": keys})


def test_security_keys_from_text() -> None:
    keys = SecurityKeys.from_text(EK.hex(" "), AK.hex())
    assert keys == SecurityKeys(EK, AK)
    assert SecurityKeys.from_text("", None) == SecurityKeys()


@pytest.mark.parametrize("bad", [b"", EK[:15], EK + b"\x00"])
def test_security_keys_validate_length(bad: bytes) -> None:
    with pytest.raises(InvalidKeyError, match="16 or 32 bytes") as info:
        SecurityKeys(encryption_key=bad)
    with pytest.raises(InvalidKeyError, match="authentication key"):
        SecurityKeys(authentication_key=bad)
    if bad:
        assert bad.hex() not in str(info.value)


# --- AES-GCM ----------------------------------------------------------------------------------------


def test_initialization_vector() -> None:
    assert initialization_vector(SYSTEM_TITLE, IC) == bytes.fromhex("4D4D4D0000BC614E01234567")
    with pytest.raises(SecurityError):
        initialization_vector(SYSTEM_TITLE[:7], IC)
    with pytest.raises(SecurityError):
        initialization_vector(SYSTEM_TITLE, 1 << 32)


def test_green_book_encrypt() -> None:
    assert seal(0x30, PLAINTEXT) == CIPHERTEXT + TAG
    assert seal(SecurityControl(0, True, True), PLAINTEXT) == CIPHERTEXT + TAG


def test_green_book_decrypt_verifies() -> None:
    result = unseal(0x30, CIPHERTEXT + TAG)
    assert result == DecryptedPayload(PLAINTEXT, verified=True)


def test_encryption_only_is_gcm_counter_mode() -> None:
    # Without a tag the ciphertext equals GCM's: the key stream starts at counter block IV || 00000002.
    assert seal(0x20, PLAINTEXT) == CIPHERTEXT
    result = unseal(0x20, CIPHERTEXT, ak=None)
    assert result == DecryptedPayload(PLAINTEXT, verified=False)


def test_authenticated_without_authentication_key_drops_tag_unverified() -> None:
    result = unseal(0x30, CIPHERTEXT + TAG, ak=None)
    assert result == DecryptedPayload(PLAINTEXT, verified=False)
    # Even a broken tag is not noticed then: that is the caller's structural check's job.
    broken = CIPHERTEXT + bytes(12)
    assert unseal(0x30, broken, ak=None).plaintext == PLAINTEXT


def test_authentication_only_is_gmac_over_plaintext() -> None:
    protected = seal(0x10, PLAINTEXT)
    assert protected[:-12] == PLAINTEXT
    assert len(protected) == len(PLAINTEXT) + 12
    assert unseal(0x10, protected) == DecryptedPayload(PLAINTEXT, verified=True)
    unverified = unseal(0x10, protected, ek=None, ak=None)
    assert unverified == DecryptedPayload(PLAINTEXT, verified=False)
    tampered = bytes([protected[0] ^ 1]) + protected[1:]
    with pytest.raises(AuthenticationTagMismatchError):
        unseal(0x10, tampered)


def test_no_protection_passes_through() -> None:
    assert seal(0x00, PLAINTEXT, ek=None, ak=None) == PLAINTEXT
    result = unseal(0x00, PLAINTEXT)
    assert result == DecryptedPayload(PLAINTEXT, verified=False)


def test_wrong_keys_are_tag_mismatches() -> None:
    other = bytes(16)
    attempts: tuple[Callable[[], object], ...] = (
        lambda: unseal(0x30, CIPHERTEXT + TAG, ak=other),
        lambda: unseal(0x30, CIPHERTEXT + TAG, ek=other),
        lambda: unseal(0x30, CIPHERTEXT + TAG, ic=IC + 1),
        lambda: unseal(0x30, CIPHERTEXT + TAG, title=CLIENT_SYSTEM_TITLE),
        lambda: unseal(0x31, CIPHERTEXT + TAG),  # the security control byte is in the AAD
    )
    for attempt in attempts:
        with pytest.raises(AuthenticationTagMismatchError, match="wrong key or tampered data") as info:
            attempt()
        assert_no_key_material(info.value)


def test_tampering_each_byte_is_detected() -> None:
    protected = CIPHERTEXT + TAG
    for index in range(len(protected)):
        tampered = bytearray(protected)
        tampered[index] ^= 0x80
        with pytest.raises(AuthenticationTagMismatchError):
            unseal(0x30, bytes(tampered))


def test_missing_keys() -> None:
    with pytest.raises(MissingKeyError, match="encryption key") as info:
        unseal(0x20, CIPHERTEXT, ek=None)
    assert_no_key_material(info.value)
    with pytest.raises(MissingKeyError, match="encryption key"):
        unseal(0x30, CIPHERTEXT + TAG, ek=None)
    with pytest.raises(MissingKeyError, match="encryption key"):
        unseal(0x30, CIPHERTEXT + TAG, ek=None, ak=None)
    with pytest.raises(MissingKeyError, match="authentication key"):
        seal(0x30, PLAINTEXT, ak=None)
    with pytest.raises(MissingKeyError, match="encryption key"):
        seal(0x20, PLAINTEXT, ek=None)


def test_too_short_for_tag() -> None:
    for control in (0x10, 0x30):
        with pytest.raises(DecodeError, match="too short"):
            unseal(control, TAG[:11])
    assert unseal(0x30, seal(0x30, b"")).plaintext == b""


def test_bad_arguments() -> None:
    with pytest.raises(InvalidKeyError):
        unseal(0x30, CIPHERTEXT + TAG, ek=EK[:8])
    with pytest.raises(DecodeError):
        unseal(0x30, CIPHERTEXT + TAG, title=SYSTEM_TITLE[:7])
    with pytest.raises(EncodeError):
        seal(0x30, PLAINTEXT, ic=-1)
    with pytest.raises(SecurityError, match="suite 2"):
        unseal(0x32, CIPHERTEXT + TAG)
    with pytest.raises(SecurityError, match="suite 15"):
        seal(0x2F, PLAINTEXT)


key_strategy = st.binary(min_size=16, max_size=16)
control_strategy = st.sampled_from([0x10, 0x20, 0x30, 0x11, 0x21, 0x31, 0x50, 0x60, 0x70])


@given(
    control=control_strategy,
    ek=key_strategy,
    ak=key_strategy,
    title=st.binary(min_size=8, max_size=8),
    ic=st.integers(0, 0xFFFFFFFF),
    plaintext=st.binary(max_size=300),
)
@settings(max_examples=150)
def test_round_trip(*, control: int, ek: bytes, ak: bytes, title: bytes, ic: int, plaintext: bytes) -> None:
    protected = seal(control, plaintext, ek=ek, ak=ak, title=title, ic=ic)
    sc = SecurityControl.from_byte(control)
    assert len(protected) == len(plaintext) + (12 if sc.authenticated else 0)
    if sc.encrypted and len(plaintext) >= 16:
        assert protected[: len(plaintext)] != plaintext
    result = unseal(control, protected, ek=ek, ak=ak, title=title, ic=ic)
    assert result == DecryptedPayload(plaintext, verified=sc.authenticated)
    # Without the authentication key the same plaintext comes out, unverified.
    unverified = unseal(control, protected, ek=ek, ak=None, title=title, ic=ic)
    assert unverified == DecryptedPayload(plaintext, verified=False)


@given(
    control=st.sampled_from([0x10, 0x30, 0x31]),
    ek=key_strategy,
    ak=key_strategy,
    plaintext=st.binary(max_size=64),
    data=st.data(),
)
@settings(max_examples=100)
def test_tampering_or_wrong_key_detected(
    control: int, ek: bytes, ak: bytes, plaintext: bytes, data: st.DataObject
) -> None:
    protected = seal(control, plaintext, ek=ek, ak=ak)
    index = data.draw(st.integers(0, len(protected) - 1))
    bit = data.draw(st.integers(0, 7))
    tampered = bytearray(protected)
    tampered[index] ^= 1 << bit
    with pytest.raises(AuthenticationTagMismatchError):
        unseal(control, bytes(tampered), ek=ek, ak=ak)
    wrong_ak = data.draw(key_strategy.filter(lambda key: key != ak))
    with pytest.raises(AuthenticationTagMismatchError) as info:
        unseal(control, protected, ek=ek, ak=wrong_ak)
    for key in (ek, ak, wrong_ak):
        assert key.hex() not in str(info.value).lower()
        assert repr(key) not in repr(info.value)


# --- HLS-GMAC ---------------------------------------------------------------------------------------


def test_green_book_hls_gmac_response() -> None:
    response = hls_gmac_response(
        system_title=CLIENT_SYSTEM_TITLE,
        invocation_counter=1,
        encryption_key=EK,
        authentication_key=AK,
        challenge=STOC_CHALLENGE,
    )
    assert response == bytes.fromhex("1000000001") + HLS_TAG
    assert verify_hls(response) == 1


def test_hls_gmac_mismatches() -> None:
    good = bytes.fromhex("1000000001") + HLS_TAG
    attempts: tuple[Callable[[], object], ...] = (
        lambda: verify_hls(good, ak=bytes(16)),
        lambda: verify_hls(good, ek=bytes(16)),
        lambda: verify_hls(good, challenge=STOC_CHALLENGE[::-1]),
        lambda: verify_hls(good, title=SYSTEM_TITLE),
        lambda: verify_hls(bytes.fromhex("1000000002") + HLS_TAG),
        lambda: verify_hls(bytes.fromhex("1100000001") + HLS_TAG),
        lambda: verify_hls(good[:-1] + bytes([good[-1] ^ 1])),
    )
    for attempt in attempts:
        with pytest.raises(AuthenticationTagMismatchError) as info:
            attempt()
        assert_no_key_material(info.value)


@pytest.mark.parametrize(
    "response",
    [
        "",
        "10",
        "1000000001" + "1A52FE7DD3E72748973C1E",  # tag one byte short
        "1000000001" + "1A52FE7DD3E72748973C1E2800",  # one byte too many
        "30" + "00" * 16,  # encrypted: not a GMAC
        "20" + "00" * 16,
    ],
)
def test_hls_gmac_malformed_response(response: str) -> None:
    with pytest.raises(DecodeError):
        verify_hls(bytes.fromhex(response))


def test_hls_gmac_missing_keys_and_bad_control() -> None:
    with pytest.raises(MissingKeyError):
        verify_hls(bytes.fromhex("1000000001") + HLS_TAG, ek=None)
    with pytest.raises(MissingKeyError) as info:
        hls_gmac_response(
            system_title=CLIENT_SYSTEM_TITLE,
            invocation_counter=1,
            encryption_key=EK,
            authentication_key=None,
            challenge=STOC_CHALLENGE,
        )
    assert_no_key_material(info.value)
    with pytest.raises(EncodeError):
        hls_gmac_response(
            system_title=CLIENT_SYSTEM_TITLE,
            invocation_counter=1,
            encryption_key=EK,
            authentication_key=AK,
            challenge=STOC_CHALLENGE,
            control=0x30,
        )


@given(
    ek=key_strategy,
    ak=key_strategy,
    title=st.binary(min_size=8, max_size=8),
    ic=st.integers(0, 0xFFFFFFFF),
    challenge=st.binary(min_size=8, max_size=64),
)
@settings(max_examples=75)
def test_hls_gmac_round_trip(*, ek: bytes, ak: bytes, title: bytes, ic: int, challenge: bytes) -> None:
    response = hls_gmac_response(
        system_title=title,
        invocation_counter=ic,
        encryption_key=ek,
        authentication_key=ak,
        challenge=challenge,
    )
    assert len(response) == 17
    assert response[:5] == b"\x10" + ic.to_bytes(4, "big")
    verified = verify_hls_gmac_response(
        system_title=title, encryption_key=ek, authentication_key=ak, challenge=challenge, response=response
    )
    assert verified == ic


@given(response=st.binary(max_size=40))
@settings(max_examples=150)
def test_hls_gmac_fuzz_raises_only_dlms_errors(response: bytes) -> None:
    try:
        verify_hls(response)
    except DlmsError as exc:
        assert_no_key_material(exc)
