"""Tampering figures for docs/RELIABILITY.md: ``scripts/run env PYTHONPATH=. python -m fuzz.tamper``.

Every ciphered capture of the fixtures is flipped at every byte of its APDU (XOR 0x01, 0x80, 0xFF)
and decoded with its keys; the table says how many tampered telegrams were refused (with the stack's
own error) and how many decoded. With an authentication key every one must be refused; without, a
flip inside a value's bytes cannot be seen (GCM's counter mode is malleable) and decodes, marked
unauthenticated. A downgrade (tag removed, security control 0x30 -> 0x20) is tried on each
authenticated capture as well.
"""

from __future__ import annotations

from collections import Counter

from custom_components.dlms_cosem.dlms.errors import DlmsError
from custom_components.dlms_cosem.dlms.security import CipheredApdu, SecurityKeys, decode_ciphered_apdu
from custom_components.dlms_cosem.dlms.telegram import decode_push_apdu

from .seeds import Capture, apdus_of, load_seeds

# XOR patterns applied at every byte: the lowest bit, the highest bit, every bit.
PATTERNS = (0x01, 0x80, 0xFF)
_TAG_LENGTH = 12
_AUTHENTICATED_BIT = 0x10


def _ciphered_apdu(capture: Capture) -> bytes | None:
    """The capture's whole ciphered APDU (blocks joined), if it has one that decodes with its key."""
    if capture.keys is None:
        return None
    for apdu in apdus_of(capture, join_blocks=True):
        try:
            decode_ciphered_apdu(apdu)
            decode_push_apdu(apdu, capture.keys)
        except DlmsError:
            continue  # not ciphered, or a capture whose published key is known not to fit
        return apdu
    return None


def flips(apdu: bytes) -> list[bytes]:
    """``apdu`` with one byte XORed with one of ``PATTERNS``: every position, every pattern, in order."""
    flipped: list[bytes] = []
    for position in range(len(apdu)):
        for pattern in PATTERNS:
            changed = bytearray(apdu)
            changed[position] ^= pattern
            flipped.append(bytes(changed))
    return flipped


def downgrade(apdu: bytes) -> bytes:
    """The ciphered ``apdu`` made encrypted-only: tag dropped, the control's authenticated bit cleared.

    What someone without the keys can do on the line; the ciphertext (and so the values) is unchanged.
    """
    ciphered = decode_ciphered_apdu(apdu)
    control = type(ciphered.control).from_byte(ciphered.control.to_byte() & ~_AUTHENTICATED_BIT)
    return CipheredApdu(
        ciphered.tag,
        ciphered.system_title,
        control,
        ciphered.invocation_counter,
        ciphered.protected[:-_TAG_LENGTH],
    ).encode()


def _outcomes(apdu: bytes, keys: SecurityKeys) -> tuple[int, Counter[str], int]:
    """(tampered, refusals by error type, decoded) for every flip of ``apdu``."""
    refused: Counter[str] = Counter()
    decoded = 0
    tampered = 0
    for changed in flips(apdu):
        tampered += 1
        try:
            telegram = decode_push_apdu(changed, keys)
        except DlmsError as error:
            refused[type(error).__name__] += 1
            continue
        assert not telegram.authenticated, "a tampered telegram passed its tag"
        decoded += 1
    return tampered, refused, decoded


def _downgrade_refused(apdu: bytes, keys: SecurityKeys) -> bool:
    downgraded = downgrade(apdu)
    try:
        decode_push_apdu(downgraded, keys)
    except DlmsError:
        return True
    return False


def main() -> None:
    """Print one line per ciphered capture and the totals per kind of key."""
    totals: dict[str, list[int]] = {"with AK": [0, 0, 0], "EK only": [0, 0, 0]}
    print(f"{'capture':44} {'keys':8} {'tampered':>8} {'refused':>8} {'decoded':>8}  refusals by error")
    for capture in load_seeds().captures:
        apdu = _ciphered_apdu(capture)
        if apdu is None or capture.keys is None:
            continue
        kind = "with AK" if capture.keys.authentication_key is not None else "EK only"
        tampered, refused, decoded = _outcomes(apdu, capture.keys)
        total = totals[kind]
        total[0] += tampered
        total[1] += refused.total()
        total[2] += decoded
        kinds = ", ".join(f"{name} {count}" for name, count in refused.most_common())
        print(f"{capture.id:44} {kind:8} {tampered:>8} {refused.total():>8} {decoded:>8}  {kinds}")
        if kind == "with AK":
            refused_downgrade = _downgrade_refused(apdu, capture.keys)
            print(f"{'  downgraded (tag dropped, SC 0x20)':53} refused: {refused_downgrade}")
    for kind, (tampered, refused_count, decoded) in totals.items():
        share = 100 * refused_count / tampered if tampered else 0.0
        print(f"{kind}: {tampered} tampered, {refused_count} refused ({share:.2f} %), {decoded} decoded")


if __name__ == "__main__":
    main()
