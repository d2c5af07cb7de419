"""Hostile telegrams: tampered, downgraded, replayed, and broken ones told apart from a wrong key.

Every captured push telegram with an authentication key (and the simulator's, in each framing) is
tampered byte by byte, re-framed with correct check sequences as an attacker on the line would, and
must be rejected with the stack's own error and no values: 100 %. Encryption-only telegrams cannot
all be caught (counter mode is malleable); what is caught is measured and every one that slips
through is marked unauthenticated.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.dlms_cosem.dlms.apdu.tags import XdlmsTag
from custom_components.dlms_cosem.dlms.errors import (
    AuthenticationTagMismatchError,
    DecodeError,
    DlmsError,
    SecurityError,
    UnauthenticatedTelegramError,
)
from custom_components.dlms_cosem.dlms.hdlc import HdlcFrame, decode_frame
from custom_components.dlms_cosem.dlms.hdlc.llc import LLC_RESPONSE
from custom_components.dlms_cosem.dlms.replay import ReplayedTelegramError, ReplayGuard
from custom_components.dlms_cosem.dlms.security import (
    CipheredApdu,
    SecurityKeys,
    decode_ciphered_apdu,
    protect,
    unprotect,
)
from custom_components.dlms_cosem.dlms.simulator.model import MeterSecurity, SimulatedMeter
from custom_components.dlms_cosem.dlms.simulator.push import (
    PushBuilder,
    PushFraming,
    PushSettings,
    frame_push,
)
from custom_components.dlms_cosem.dlms.telegram import (
    Telegram,
    TelegramDecoder,
    TelegramFailure,
    decode_push_apdu,
    decode_telegrams,
)
from fuzz.seeds import Capture, apdus_of, load_captures
from fuzz.tamper import PATTERNS, downgrade, flips

SIM_EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
SIM_AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
SIM_TITLE = bytes.fromhex("53494D0000000001")
NOW = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC)


# The fixtures' push captures (shared with the fuzzer), less those whose published key does not fit.
CAPTURES = [c for c in load_captures() if not c.expect_failure]
AUTHENTICATED = [c for c in CAPTURES if c.keys is not None and c.keys.authentication_key is not None]
ENCRYPTION_ONLY = [c for c in CAPTURES if c.keys is not None and c.keys.authentication_key is None]


def _wire_apdu(capture: Capture) -> bytes:
    """The push APDU as the meter ciphered it: frames cut, segments and blocks joined, LLC removed."""
    apdus = apdus_of(capture, join_blocks=True)
    assert apdus, f"{capture.id}: no APDU"
    return apdus[0]


def _sim_telegrams() -> list[tuple[PushSettings, bytes, SecurityKeys]]:
    """One authenticated telegram of the simulator per framing, as (settings, APDU, keys)."""
    keys = SecurityKeys(SIM_EK, SIM_AK)
    made = []
    for framing in PushFraming:
        meter = SimulatedMeter(lambda: NOW, security=MeterSecurity(keys=keys, system_title=SIM_TITLE))
        settings = PushSettings(framing=framing, security=0x30)
        made.append((settings, PushBuilder(meter, settings).apdu(), keys))
    return made


SIM_TELEGRAMS = _sim_telegrams()


def test_the_corpus_has_authenticated_and_encryption_only_captures() -> None:
    assert {c.id for c in AUTHENTICATED} == {
        "dlms-cosem-general-glo-ciphering",
        "kamstrup-omnipower-dk-hdlc-gcm",
    }
    assert len(ENCRYPTION_ONLY) == 4
    for capture in AUTHENTICATED:
        telegram = decode_push_apdu(_wire_apdu(capture), capture.keys)
        assert telegram.authenticated
        assert telegram.content.objects


@pytest.mark.parametrize("capture", AUTHENTICATED, ids=lambda c: c.id)
def test_every_flipped_byte_of_an_authenticated_capture_is_rejected(capture: Capture) -> None:
    apdu = _wire_apdu(capture)
    kinds: dict[str, int] = {}
    tampered = flips(apdu)
    for changed in tampered:
        with pytest.raises(DlmsError) as caught:
            decode_push_apdu(changed, capture.keys)
        kinds[type(caught.value).__name__] = kinds.get(type(caught.value).__name__, 0) + 1
    assert sum(kinds.values()) == len(tampered) == len(apdu) * len(PATTERNS)
    # Most flips land in the ciphertext or the tag, which the GCM tag catches.
    assert kinds["AuthenticationTagMismatchError"] > len(tampered) * 0.9


@pytest.mark.parametrize("capture", [c for c in AUTHENTICATED if c.transport == "hdlc"], ids=lambda c: c.id)
def test_flipped_bytes_reframed_with_a_valid_fcs_give_no_telegram(capture: Capture) -> None:
    """An attacker recomputes the HDLC check sequences: the telegram is still refused, typed."""
    (frame,) = capture.frames
    original = decode_frame(frame)
    apdu = _wire_apdu(capture)
    for changed in flips(apdu):
        information = LLC_RESPONSE + changed
        wire = HdlcFrame(original.destination, original.source, original.control, information).encode()
        events = decode_telegrams([wire], capture.keys)
        assert not [e for e in events if isinstance(e, Telegram)]
        assert events, "a whole frame with a valid FCS is reported, not dropped silently"
        assert all(isinstance(e, TelegramFailure) and isinstance(e.error, DlmsError) for e in events)


@pytest.mark.parametrize(("settings", "apdu", "keys"), SIM_TELEGRAMS, ids=lambda v: getattr(v, "framing", ""))
def test_every_flipped_byte_of_a_simulated_telegram_is_rejected_in_every_framing(
    settings: PushSettings, apdu: bytes, keys: SecurityKeys
) -> None:
    assert isinstance(decode_telegrams(frame_push(apdu, settings), keys)[0], Telegram)
    for changed in flips(apdu):
        events = decode_telegrams(frame_push(changed, settings), keys)
        assert not [e for e in events if isinstance(e, Telegram)], changed.hex()


def _downgrade(apdu: bytes) -> bytes:
    """The same telegram as authenticated-encrypted turned into encrypted-only: tag dropped, SC 0x20."""
    assert decode_ciphered_apdu(apdu).control.authenticated
    return downgrade(apdu)


@pytest.mark.parametrize("capture", AUTHENTICATED, ids=lambda c: c.id)
def test_a_telegram_stripped_of_its_authentication_is_refused_when_an_authentication_key_is_set(
    capture: Capture,
) -> None:
    assert capture.keys is not None
    downgraded = _downgrade(_wire_apdu(capture))
    with pytest.raises(UnauthenticatedTelegramError):
        decode_push_apdu(downgraded, capture.keys)
    # Without the authentication key it is an ordinary encryption-only telegram, marked unverified.
    encryption_only = SecurityKeys(capture.keys.encryption_key, None)
    telegram = decode_push_apdu(downgraded, encryption_only)
    assert not telegram.authenticated
    # A plaintext Data-Notification is refused too when an authentication key is set.
    plain = unprotect(_wire_apdu(capture), capture.keys).plaintext
    with pytest.raises(UnauthenticatedTelegramError):
        decode_push_apdu(plain, capture.keys)
    assert decode_push_apdu(plain, None).content.objects


def test_a_malleated_downgraded_telegram_does_not_show_altered_values() -> None:
    """Counter mode lets a flipped ciphertext bit flip the same plaintext bit: with the AK, refused."""
    capture = next(c for c in AUTHENTICATED if c.id == "kamstrup-omnipower-dk-hdlc-gcm")
    assert capture.keys is not None
    downgraded = bytearray(_downgrade(_wire_apdu(capture)))
    downgraded[-1] ^= 0x01  # the last plaintext byte: a value's lowest bit
    encryption_only = SecurityKeys(capture.keys.encryption_key, None)
    altered = decode_push_apdu(bytes(downgraded), encryption_only)
    original = decode_push_apdu(_wire_apdu(capture), capture.keys)
    assert altered.content.objects != original.content.objects  # the attack works without the AK...
    with pytest.raises(UnauthenticatedTelegramError):
        decode_push_apdu(bytes(downgraded), capture.keys)  # ...and not with it


def _encryption_only_outcomes() -> tuple[int, int, int]:
    """(tampered, refused, accepted-but-unverified) over every encryption-only capture."""
    tampered = refused = accepted = 0
    for capture in ENCRYPTION_ONLY:
        assert not decode_push_apdu(_wire_apdu(capture), capture.keys).authenticated
        for changed in flips(_wire_apdu(capture)):
            tampered += 1
            try:
                telegram = decode_push_apdu(changed, capture.keys)
            except DlmsError:
                refused += 1
                continue
            assert not telegram.authenticated
            accepted += 1
    return tampered, refused, accepted


def test_encryption_only_telegrams_are_caught_only_when_their_structure_breaks() -> None:
    tampered, refused, accepted = _encryption_only_outcomes()
    assert tampered == refused + accepted
    # Measured 2026-12 (docs/RELIABILITY.md): flips in the header and the structure are caught,
    # flips inside a value's bytes cannot be. Both sides must stay non-empty.
    assert 0 < accepted < tampered
    assert refused > tampered * 0.3


@pytest.mark.parametrize("capture", AUTHENTICATED, ids=lambda c: c.id)
def test_a_wrong_key_and_broken_data_are_different_errors(capture: Capture) -> None:
    assert capture.keys is not None
    apdu = _wire_apdu(capture)
    wrong = SecurityKeys(bytes(16), bytes(16))
    with pytest.raises(AuthenticationTagMismatchError):
        decode_push_apdu(apdu, wrong)
    # Cut short: broken data, a decode error that is no security error.
    for end in range(1, len(apdu) - 1, 7):
        with pytest.raises(DecodeError) as caught:
            decode_push_apdu(apdu[:end], capture.keys)
        assert not isinstance(caught.value, SecurityError)


def test_on_the_line_broken_frames_and_a_wrong_key_count_apart() -> None:
    capture = next(c for c in AUTHENTICATED if c.id == "kamstrup-omnipower-dk-hdlc-gcm")
    (frame,) = capture.frames
    assert capture.keys is not None
    # A wrong key: the frame is whole, the telegram fails its tag.
    decoder = TelegramDecoder(SecurityKeys(bytes(16), bytes(16)))
    events = decoder.feed(frame) + decoder.flush()
    assert [type(e.error) for e in events if isinstance(e, TelegramFailure)] == [
        AuthenticationTagMismatchError
    ]
    assert (decoder.statistics.decryption_failures, decoder.statistics.frame_errors) == (1, 0)
    # Line noise once the framing is known: every flipped byte inside the frame fails the FCS and is
    # counted as a frame error, with no security failure and no values.
    for position in range(1, len(frame) - 1):
        decoder = TelegramDecoder(capture.keys)
        assert isinstance(decoder.feed(frame)[0], Telegram)
        noisy = bytearray(frame)
        noisy[position] ^= 0x04
        events = decoder.feed(bytes(noisy)) + decoder.flush()
        assert not [e for e in events if isinstance(e, Telegram)]
        assert decoder.statistics.decryption_failures == 0
        assert decoder.statistics.frame_errors + decoder.statistics.failures >= 1, position
    # A frame cut short by a cable pull: a decode failure, not a security one.
    decoder = TelegramDecoder(capture.keys)
    (cut,) = decoder.feed(frame[: len(frame) // 2]) + decoder.flush()
    assert isinstance(cut, TelegramFailure)
    assert isinstance(cut.error, DecodeError)
    assert not isinstance(cut.error, SecurityError)


def test_replayed_and_older_telegrams_are_refused_and_newer_ones_taken() -> None:
    keys = SecurityKeys(SIM_EK, SIM_AK)
    meter = SimulatedMeter(lambda: NOW, security=MeterSecurity(keys=keys, system_title=SIM_TITLE))
    builder = PushBuilder(meter, PushSettings(framing=PushFraming.RAW, security=0x30))
    first, second = builder.apdu(), builder.apdu()
    accepted: list[tuple[bytes, int]] = []
    guard = ReplayGuard(on_accept=lambda title, counter: accepted.append((title, counter)))
    for apdu in (first, second):
        telegram = decode_push_apdu(apdu, keys)
        guard.check(telegram.system_title, telegram.invocation_counter)
    for apdu in (first, second):  # the same again, and an older one
        telegram = decode_push_apdu(apdu, keys)
        with pytest.raises(ReplayedTelegramError):
            guard.check(telegram.system_title, telegram.invocation_counter)
    assert accepted == [(SIM_TITLE, 1), (SIM_TITLE, 2)]
    # After a restart the persisted counters are handed back: the replay is still refused.
    restarted = ReplayGuard(guard.counters)
    with pytest.raises(ReplayedTelegramError):
        restarted.check(SIM_TITLE, 2)
    # Re-ciphering needs the keys: a replay with a raised counter but the old tag fails the tag.
    old = decode_ciphered_apdu(second)
    forged = CipheredApdu(old.tag, old.system_title, old.control, 3, old.protected).encode()
    with pytest.raises(AuthenticationTagMismatchError):
        decode_push_apdu(forged, keys)
    fresh = protect(
        XdlmsTag.GENERAL_GLO_CIPHERING,
        unprotect(second, keys).plaintext,
        keys,
        system_title=SIM_TITLE,
        invocation_counter=3,
    ).encode()
    telegram = decode_push_apdu(fresh, keys)
    restarted.check(telegram.system_title, telegram.invocation_counter)
    assert restarted.counters == {SIM_TITLE: 3}
