"""HLS-GMAC, authentication mechanism 5 (IEC 62056-5-3, Green Book).

Each side answers the other's challenge with SC || IC || GMAC, where the GMAC authenticates
SC || authentication key || challenge under the responder's system title and invocation counter. A
wrong key shows up as a tag mismatch, which is how the association learns the keys disagree.
"""

from __future__ import annotations

import hmac

from ..errors import AuthenticationTagMismatchError, DecodeError, EncodeError, MissingKeyError
from ..reader import ByteReader
from .control import SecurityControl, as_security_control
from .gcm import INVOCATION_COUNTER_MAX, SYSTEM_TITLE_LENGTH, TAG_LENGTH, gmac_tag, initialization_vector
from .keys import check_key, check_suite_key

HLS_GMAC_RESPONSE_LENGTH = 1 + 4 + TAG_LENGTH


def _keys(
    encryption_key: bytes | None, authentication_key: bytes | None, control: SecurityControl
) -> tuple[bytes, bytes]:
    suite = control.security_suite
    ek = check_suite_key(check_key(encryption_key, "encryption key"), "encryption key", suite)
    ak = check_suite_key(check_key(authentication_key, "authentication key"), "authentication key", suite)
    if ek is None or ak is None:
        raise MissingKeyError("HLS-GMAC needs both the encryption key and the authentication key")
    return ek, ak


def _tag(control: SecurityControl, ek: bytes, ak: bytes, iv: bytes, challenge: bytes) -> bytes:
    return gmac_tag(key=ek, iv=iv, aad=bytes([control.to_byte()]) + ak + bytes(challenge))


def hls_gmac_response(
    *,
    system_title: bytes,
    invocation_counter: int,
    encryption_key: bytes | None,
    authentication_key: bytes | None,
    challenge: bytes,
    control: SecurityControl | int = 0x10,
) -> bytes:
    """Our answer to the peer's challenge: SC || IC || GMAC tag (17 bytes)."""
    sc = as_security_control(control)
    if not sc.authenticated or sc.encrypted:
        raise EncodeError("HLS-GMAC uses a security control with authentication only")
    if len(system_title) != SYSTEM_TITLE_LENGTH or not 0 <= invocation_counter <= INVOCATION_COUNTER_MAX:
        raise EncodeError("a system title must be 8 bytes and the invocation counter fit 32 bits")
    ek, ak = _keys(encryption_key, authentication_key, sc)
    iv = initialization_vector(system_title, invocation_counter)
    return bytes([sc.to_byte()]) + invocation_counter.to_bytes(4, "big") + _tag(sc, ek, ak, iv, challenge)


def verify_hls_gmac_response(
    *,
    system_title: bytes,
    encryption_key: bytes | None,
    authentication_key: bytes | None,
    challenge: bytes,
    response: bytes,
) -> int:
    """Check the peer's answer to our challenge; returns its invocation counter."""
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise DecodeError(f"a system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
    reader = ByteReader(response)
    if reader.remaining != HLS_GMAC_RESPONSE_LENGTH:
        raise DecodeError(
            f"an HLS-GMAC response is {HLS_GMAC_RESPONSE_LENGTH} bytes (SC, IC, tag), got {reader.remaining}"
        )
    sc = SecurityControl.from_byte(reader.u8("security control"))
    if not sc.authenticated or sc.encrypted:
        raise DecodeError(
            f"HLS-GMAC response security control 0x{sc.to_byte():02X} is not authentication only"
        )
    invocation_counter = reader.u32("invocation counter")
    tag = reader.take(TAG_LENGTH, "GMAC tag")
    ek, ak = _keys(encryption_key, authentication_key, sc)
    expected = _tag(sc, ek, ak, initialization_vector(system_title, invocation_counter), challenge)
    if not hmac.compare_digest(expected, tag):
        raise AuthenticationTagMismatchError
    return invocation_counter
