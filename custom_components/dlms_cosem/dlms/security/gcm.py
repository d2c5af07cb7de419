"""AES-GCM as DLMS applies it (IEC 62056-5-3 security suites 0, 1 and 2, Green Book).

Suites 0 and 1 use AES-GCM-128 with 16-byte keys, suite 2 AES-GCM-256 with 32-byte keys; the suite is
the low nibble of the security control byte, so each APDU says which one it needs.

The initialization vector is the sender's system title (8 bytes) followed by the invocation counter
(4 bytes, big-endian). The additional authenticated data is the security control byte and the
authentication key, plus the plaintext itself when only authentication is applied (GMAC). Tags are
truncated to 12 bytes.

Many meters push with encryption only (SC 0x20): then there is no tag, the ciphertext is GCM's counter
mode output and nothing can be verified here; the telegram layer judges the plaintext's structure.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import (
    AuthenticationTagMismatchError,
    DecodeError,
    EncodeError,
    MissingKeyError,
    SecurityError,
)
from .control import SecurityControl, as_security_control
from .keys import KEY_LENGTHS, check_key, check_suite_key

TAG_LENGTH = 12
SYSTEM_TITLE_LENGTH = 8
INVOCATION_COUNTER_MAX = 0xFFFFFFFF
SUPPORTED_SECURITY_SUITES = frozenset(KEY_LENGTHS)
# GCM with a 96-bit IV starts J0 at counter 1 (used for the tag); the first plaintext block uses 2.
_FIRST_DATA_COUNTER = (2).to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class DecryptedPayload:
    """Plaintext and whether a GCM tag vouched for it (False: encryption only, or no authentication key)."""

    plaintext: bytes
    verified: bool


def initialization_vector(system_title: bytes, invocation_counter: int) -> bytes:
    """The 12-byte GCM IV: system title || invocation counter."""
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise SecurityError(f"a system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
    if not 0 <= invocation_counter <= INVOCATION_COUNTER_MAX:
        raise SecurityError(f"invocation counter {invocation_counter} outside 0..0xFFFFFFFF")
    return bytes(system_title) + invocation_counter.to_bytes(4, "big")


def _check_suite(control: SecurityControl) -> None:
    if control.security_suite not in SUPPORTED_SECURITY_SUITES:
        raise SecurityError(f"security suite {control.security_suite} is not supported (only 0, 1 and 2)")


def _aad(control: SecurityControl, authentication_key: bytes) -> bytes:
    return bytes([control.to_byte()]) + authentication_key


def _require(key: bytes | None, what: str, why: str, control: SecurityControl) -> bytes:
    checked = _suite_key(key, what, control)
    if checked is None:
        raise MissingKeyError(f"{why} but no {what} was given")
    return checked


def _suite_key(key: bytes | None, what: str, control: SecurityControl) -> bytes | None:
    return check_suite_key(check_key(key, what), what, control.security_suite)


def _gcm_tag(key: bytes, iv: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext, encryptor.tag[:TAG_LENGTH]


def _counter_mode(key: bytes, iv: bytes, data: bytes) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CTR(iv + _FIRST_DATA_COUNTER)).encryptor()
    return cipher.update(data) + cipher.finalize()


def gmac_tag(*, key: bytes, iv: bytes, aad: bytes) -> bytes:
    """A 12-byte GMAC: GCM over no plaintext, authenticating ``aad`` only."""
    return _gcm_tag(key, iv, aad, b"")[1]


def encrypt(
    *,
    control: SecurityControl | int,
    system_title: bytes,
    invocation_counter: int,
    encryption_key: bytes | None,
    authentication_key: bytes | None,
    plaintext: bytes,
) -> bytes:
    """Protect ``plaintext``; returns what follows SC || IC on the wire (ciphertext and/or tag)."""
    control = as_security_control(control)
    _check_suite(control)
    if len(system_title) != SYSTEM_TITLE_LENGTH or not 0 <= invocation_counter <= INVOCATION_COUNTER_MAX:
        raise EncodeError("a system title must be 8 bytes and the invocation counter fit 32 bits")
    iv = initialization_vector(system_title, invocation_counter)
    plaintext = bytes(plaintext)
    if not control.authenticated and not control.encrypted:
        return plaintext
    encryption_key = _require(encryption_key, "encryption key", "AES-GCM is applied", control)
    if not control.authenticated:
        return _counter_mode(encryption_key, iv, plaintext)
    authentication_key = _require(
        authentication_key, "authentication key", "authentication is applied", control
    )
    aad = _aad(control, authentication_key)
    if control.encrypted:
        ciphertext, tag = _gcm_tag(encryption_key, iv, aad, plaintext)
        return ciphertext + tag
    return plaintext + gmac_tag(key=encryption_key, iv=iv, aad=aad + plaintext)


def decrypt(
    *,
    control: SecurityControl | int,
    system_title: bytes,
    invocation_counter: int,
    encryption_key: bytes | None,
    authentication_key: bytes | None,
    protected: bytes,
) -> DecryptedPayload:
    """Remove protection; verifies the tag when it is present and an authentication key is known."""
    control = as_security_control(control)
    _check_suite(control)
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise DecodeError(f"a system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
    iv = initialization_vector(system_title, invocation_counter)
    protected = bytes(protected)
    if not control.authenticated:
        if not control.encrypted:
            return DecryptedPayload(protected, verified=False)
        key = _require(encryption_key, "encryption key", "the APDU is encrypted", control)
        return DecryptedPayload(_counter_mode(key, iv, protected), verified=False)

    if len(protected) < TAG_LENGTH:
        raise DecodeError(
            f"ciphered content of {len(protected)} bytes is too short for a {TAG_LENGTH}-byte tag"
        )
    body, tag = protected[:-TAG_LENGTH], protected[-TAG_LENGTH:]
    authentication_key = _suite_key(authentication_key, "authentication key", control)
    if authentication_key is None:
        if not control.encrypted:
            return DecryptedPayload(body, verified=False)
        key = _require(encryption_key, "encryption key", "the APDU is encrypted", control)
        return DecryptedPayload(_counter_mode(key, iv, body), verified=False)

    key = _require(encryption_key, "encryption key", "the APDU is authenticated (GCM)", control)
    aad = _aad(control, authentication_key)
    if not control.encrypted:
        expected = gmac_tag(key=key, iv=iv, aad=aad + body)
        if not hmac.compare_digest(expected, tag):
            raise AuthenticationTagMismatchError
        return DecryptedPayload(body, verified=True)
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)).decryptor()
    decryptor.authenticate_additional_data(aad)
    plaintext = decryptor.update(body)
    try:
        plaintext += decryptor.finalize()
    except InvalidTag:
        raise AuthenticationTagMismatchError from None
    return DecryptedPayload(plaintext, verified=True)
