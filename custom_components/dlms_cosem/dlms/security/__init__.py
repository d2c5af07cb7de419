"""DLMS security (IEC 62056-5-3, Green Book): security control, AES-GCM, HLS-GMAC, ciphered APDUs, keys."""

from .ciphered_apdu import (
    CIPHERED_APDU_TAGS,
    CipheredApdu,
    UnprotectedApdu,
    decode_ciphered_apdu,
    is_ciphered_tag,
    is_general_tag,
    protect,
    read_ciphered_apdu,
    unprotect,
)
from .control import SecurityControl
from .gcm import TAG_LENGTH, DecryptedPayload, decrypt, encrypt, initialization_vector
from .gmac import hls_gmac_response, verify_hls_gmac_response
from .keys import (
    KEY_LENGTH,
    KEY_LENGTH_SUITE_2,
    KEY_LENGTHS,
    InvalidKeyError,
    KeySuiteMismatchError,
    SecurityKeys,
    parse_key,
    suite_key_length,
)

__all__ = [
    "CIPHERED_APDU_TAGS",
    "KEY_LENGTH",
    "KEY_LENGTHS",
    "KEY_LENGTH_SUITE_2",
    "TAG_LENGTH",
    "CipheredApdu",
    "DecryptedPayload",
    "InvalidKeyError",
    "KeySuiteMismatchError",
    "SecurityControl",
    "SecurityKeys",
    "UnprotectedApdu",
    "decode_ciphered_apdu",
    "decrypt",
    "encrypt",
    "hls_gmac_response",
    "initialization_vector",
    "is_ciphered_tag",
    "is_general_tag",
    "parse_key",
    "protect",
    "read_ciphered_apdu",
    "suite_key_length",
    "unprotect",
    "verify_hls_gmac_response",
]
