"""A telegram comes out only when it arrived whole and from one telegram (issue 19).

The two stitched streams are the independent fuzzer's: telegram 1's first frame, then (after a
silence) telegram 2's frames 2 and 3. Joined, they decode to telegram 2's energy stamped with
telegram 1's time; every frame passes its check sequence, and the M-Bus segment numbers follow on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.apdu import DataNotification, GeneralBlockTransfer
from custom_components.dlms_cosem.dlms.apdu import decode as apdu_decode
from custom_components.dlms_cosem.dlms.apdu.tags import ApduTag
from custom_components.dlms_cosem.dlms.axdr import Data, DataTag
from custom_components.dlms_cosem.dlms.errors import (
    DecodeError,
    IncompleteTelegramError,
    TelegramTooLargeError,
    UncheckedTagError,
    WrongEncryptionKeyError,
)
from custom_components.dlms_cosem.dlms.hdlc import HdlcFramer
from custom_components.dlms_cosem.dlms.hdlc.address import HdlcAddress
from custom_components.dlms_cosem.dlms.hdlc.control import Control
from custom_components.dlms_cosem.dlms.hdlc.frame import HdlcFrame
from custom_components.dlms_cosem.dlms.mbus import segment_apdu
from custom_components.dlms_cosem.dlms.security import SecurityKeys, protect
from custom_components.dlms_cosem.dlms.telegram import (
    MAX_TELEGRAM_BYTES,
    Framing,
    Telegram,
    TelegramDecoder,
    TelegramEvent,
    TelegramFailure,
    decode_push_apdu,
    decode_telegrams,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"

HDLC_FIRST = bytes.fromhex(
    "7ea832210223135d99e6e7000f000000010c07ea03010701000000ffc4000103020209060000010000ff090c07ea030107519e7e"
)
HDLC_REST = bytes.fromhex(
    "7ea832210223135d9901010e00ffc400020309060100010800ff06022fea5402020f00161e020309060100010700ff06001abb7e"
    "7ea01321022313d0d30002e302020f00161b794d7e"
)
MBUS_FIRST = bytes.fromhex(
    "682d2d6853ff0001670f000000010c07ea03010701000000ffc4000103020209060000010000ff090c07ea030107010000bf16"
)
MBUS_REST = bytes.fromhex(
    "682d2d6853ff01016700ffc400020309060100010800ff06022fea5402020f00161e020309060100010700ff06000002e35e16"
    "680b0b6853ff12016702020f00161b1016"
)
STITCHED = pytest.mark.parametrize(
    ("first", "rest"), [(HDLC_FIRST, HDLC_REST), (MBUS_FIRST, MBUS_REST)], ids=["hdlc", "mbus"]
)


def _captures() -> dict[str, dict[str, Any]]:
    captures: dict[str, dict[str, Any]] = {}
    for name in ("public_vectors.json", "corpus.json", "corpus_extra.json"):
        for entry in json.loads((FIXTURES / name).read_text())["push"]:
            captures.setdefault(entry["id"], entry)
    return captures


CAPTURES = _captures()


def _frames(capture_id: str) -> list[bytes]:
    return [bytes.fromhex(frame) for frame in CAPTURES[capture_id]["frames"]]


def _telegrams(events: list[TelegramEvent]) -> list[Telegram]:
    return [event for event in events if isinstance(event, Telegram)]


def _values(telegram: Telegram) -> list[tuple[str | None, object]]:
    return [(str(obj.obis) if obj.obis else None, obj.value) for obj in telegram.content.objects]


@STITCHED
def test_the_stitched_stream_joined_gives_the_stitched_telegram(first: bytes, rest: bytes) -> None:
    """The premise: fed as one burst, the pieces do make a telegram (so the tests below can fail)."""
    telegrams = _telegrams(decode_telegrams([first, rest]))
    assert len(telegrams) == 1
    values = dict(_values(telegrams[0]))
    assert values["1.0.1.8.0.255"] == 36694612  # telegram 2's energy ...
    timestamp = telegrams[0].timestamp
    assert timestamp is not None
    assert timestamp.time.minute == 0  # ... telegram 1's time


@STITCHED
def test_a_partial_telegram_does_not_outlive_a_cut(first: bytes, rest: bytes) -> None:
    decoder = TelegramDecoder()
    events = decoder.feed(first) + decoder.flush(cut=True) + decoder.feed(rest) + decoder.flush()
    assert _telegrams(events) == []
    assert decoder.statistics.partial_dropped == 1
    failures = [event for event in events if isinstance(event, TelegramFailure)]
    assert isinstance(failures[0].error, IncompleteTelegramError)


@STITCHED
def test_a_pause_keeps_the_partial_telegram(first: bytes, rest: bytes) -> None:
    """A quiet gap shorter than the cut (``cut=False``) is a meter pausing inside a telegram."""
    decoder = TelegramDecoder()
    events = decoder.feed(first) + decoder.flush(cut=False) + decoder.feed(rest)
    assert len(_telegrams(events)) == 1
    assert decoder.statistics.partial_dropped == 0


@STITCHED
def test_a_partial_telegram_does_not_outlive_a_port_close(first: bytes, rest: bytes) -> None:
    decoder = TelegramDecoder()
    events = decoder.feed(first)
    decoder.drop_partial()
    events += decoder.feed(rest) + decoder.flush()
    assert _telegrams(events) == []
    assert decoder.statistics.partial_dropped == 1


@STITCHED
def test_bytes_of_a_frame_do_not_outlive_a_port_close(first: bytes, rest: bytes) -> None:
    """Fewer bytes than a cut frame is reported for must not join the next connection's either."""
    whole = first + rest
    decoder = TelegramDecoder()
    decoder.feed(whole)  # settles the framing and a whole telegram
    events = decoder.feed(first[:5])
    decoder.drop_partial()
    events += decoder.feed(first[5:] + rest) + decoder.flush()
    assert _telegrams(events) == []


@STITCHED
def test_a_damaged_frame_between_segments_drops_the_sequence(first: bytes, rest: bytes) -> None:
    damaged = bytearray(first)
    damaged[20] ^= 0x01  # fails its FCS / checksum
    decoder = TelegramDecoder()
    decoder.feed(first + rest)  # the framing is known
    events = decoder.feed(first + bytes(damaged) + rest) + decoder.flush()
    assert _telegrams(events) == []
    assert decoder.statistics.partial_dropped == 1


def _i_frames(information: bytes, first_ns: int, size: int) -> list[bytes]:
    parts = [information[start : start + size] for start in range(0, len(information), size)]
    return [
        HdlcFrame(
            HdlcAddress(0x10, None, 1),
            HdlcAddress(1, 0x11, 2),
            Control.information((first_ns + index) % 8, 0),
            part,
            segmented=index < len(parts) - 1,
        ).encode()
        for index, part in enumerate(parts)
    ]


def _information(capture_id: str) -> bytes:
    framer = HdlcFramer()
    frames = framer.feed(b"".join(_frames(capture_id)))
    return b"".join(frame.information for frame in frames)


def test_i_frame_segments_whose_send_sequence_numbers_follow_on_are_joined() -> None:
    frames = _i_frames(_information("hassams-aidon-se-3ph"), 5, 120)
    assert len(frames) == 5
    expected = _values(_telegrams(decode_telegrams(_frames("hassams-aidon-se-3ph")))[0])
    telegrams = _telegrams(decode_telegrams(frames))
    assert [_values(telegram) for telegram in telegrams] == [expected]


def test_an_i_frame_segment_out_of_sequence_drops_the_telegram() -> None:
    """Telegram A's first segment, then B's later ones: N(S) jumps, nothing is joined."""
    information = _information("hassams-aidon-se-3ph")
    first = _i_frames(information, 0, 120)
    second = _i_frames(information, 5, 120)
    decoder = TelegramDecoder()
    events = decoder.feed(first[0] + b"".join(second[1:])) + decoder.flush()
    assert _telegrams(events) == []
    assert decoder.statistics.partial_dropped == 1
    # the meter's next whole telegram still decodes
    assert len(_telegrams(decoder.feed(b"".join(_i_frames(information, 2, 120))))) == 1


E450 = "landisgyr-e450-cy-hdlc-gbt-pushlist-1"
E450_NEXT = "landisgyr-e450-cy-hdlc-gbt-pushlist-2"


def test_a_block_transfer_gap_drops_the_telegram_and_the_next_decodes() -> None:
    frames = _frames(E450)
    expected = _values(_telegrams(decode_telegrams(_frames(E450_NEXT)))[0])
    decoder = TelegramDecoder()
    events = decoder.feed(b"".join(frames[:2] + frames[3:]))
    assert _telegrams(events) == []
    assert [type(event.error) for event in events if isinstance(event, TelegramFailure)] == [
        IncompleteTelegramError
    ]
    assert decoder.statistics.partial_dropped == 1
    telegrams = _telegrams(decoder.feed(b"".join(_frames(E450_NEXT))))
    assert [_values(telegram) for telegram in telegrams] == [expected]


def test_a_block_transfer_restart_drops_the_partial_and_takes_the_new_telegram() -> None:
    expected = _values(_telegrams(decode_telegrams(_frames(E450_NEXT)))[0])
    decoder = TelegramDecoder()
    events = decoder.feed(b"".join(_frames(E450)[:2] + _frames(E450_NEXT)))
    assert [_values(telegram) for telegram in _telegrams(events)] == [expected]
    assert not [event for event in events if isinstance(event, TelegramFailure)]
    assert decoder.statistics.partial_dropped == 1


def test_a_block_transfer_larger_than_the_bound_is_one_typed_failure() -> None:
    blocks = [
        GeneralBlockTransfer(number, bytes(1000), last_block=number == 20).encode() for number in range(1, 21)
    ]
    decoder = TelegramDecoder(framing=Framing.APDU)
    events = decoder.feed(b"".join(blocks)) + decoder.flush()
    assert [type(event.error) for event in events if isinstance(event, TelegramFailure)] == [
        TelegramTooLargeError
    ]
    assert _telegrams(events) == []
    assert decoder.statistics.oversized == 1


def _notification(size: int) -> bytes:
    values = tuple(Data(DataTag.UNSIGNED, index % 256) for index in range(size // 2))
    return DataNotification(Data(DataTag.STRUCTURE, values)).encode()


def test_segmented_hdlc_larger_than_the_bound_is_one_typed_failure() -> None:
    information = b"\xe6\xe7\x00" + _notification(MAX_TELEGRAM_BYTES + 100)
    decoder = TelegramDecoder()
    events = decoder.feed(b"".join(_i_frames(information, 0, 500))) + decoder.flush()
    assert [type(event.error) for event in events if isinstance(event, TelegramFailure)] == [
        TelegramTooLargeError
    ]
    assert decoder.statistics.oversized == 1


def test_segmented_mbus_larger_than_the_bound_is_one_typed_failure() -> None:
    frames = b"".join(frame.encode() for frame in segment_apdu(_notification(MAX_TELEGRAM_BYTES + 100)))
    decoder = TelegramDecoder()
    events = decoder.feed(frames) + decoder.flush()
    assert [type(event.error) for event in events if isinstance(event, TelegramFailure)] == [
        TelegramTooLargeError
    ]
    assert decoder.statistics.oversized == 1


def test_a_bare_apdu_larger_than_the_bound_is_one_typed_failure() -> None:
    apdu = _notification(MAX_TELEGRAM_BYTES + 100)
    decoder = TelegramDecoder(framing=Framing.APDU)
    chunks = [apdu[start : start + 4096] for start in range(0, len(apdu), 4096)]
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    events += decoder.flush()
    assert [type(event.error) for event in events if isinstance(event, TelegramFailure)] == [
        TelegramTooLargeError
    ]
    assert decoder.statistics.oversized == 1


def test_a_telegram_at_the_bound_decodes() -> None:
    apdu = _notification(MAX_TELEGRAM_BYTES - 200)
    assert len(apdu) <= MAX_TELEGRAM_BYTES
    telegrams = _telegrams(decode_telegrams([b"".join(_i_frames(b"\xe6\xe7\x00" + apdu, 0, 1000))]))
    assert len(telegrams) == 1
    assert len(telegrams[0].content.objects) == (MAX_TELEGRAM_BYTES - 200) // 2


def test_a_frame_whose_notification_leaves_bytes_over_is_not_a_telegram() -> None:
    information = _information("hassams-aidon-se-3ph")
    decoder = TelegramDecoder()
    frames = _i_frames(information + b"\x00\x00", 0, 1000)
    events = decoder.feed(b"".join(frames)) + decoder.flush()
    assert _telegrams(events) == []
    assert len(events) == 1


KEYS = SecurityKeys(encryption_key=bytes(range(16)), authentication_key=None)
SYSTEM_TITLE = bytes.fromhex("4B464D1020000001")


@pytest.mark.parametrize("tag", [ApduTag.GET_RESPONSE, ApduTag.AARE, ApduTag.READ_RESPONSE])
def test_a_plaintext_with_a_client_tag_imports_nothing(monkeypatch: pytest.MonkeyPatch, tag: int) -> None:
    """A push decoded with a wrong key may start with any tag; the client's decoders are never looked up.

    Importing one (on its first use) inside Home Assistant's event loop is a blocking call.
    """
    imports: list[str] = []
    monkeypatch.setattr(apdu_decode, "import_module", lambda name, package=None: imports.append(name))
    monkeypatch.delitem(apdu_decode._DECODERS, tag, raising=False)  # as on a fresh start
    ciphered = protect(
        ApduTag.GENERAL_GLO_CIPHERING,
        bytes([tag]) + bytes(20),
        KEYS,
        system_title=SYSTEM_TITLE,
        invocation_counter=7,
        control=0x20,
    ).encode()
    with pytest.raises(WrongEncryptionKeyError):
        decode_push_apdu(ciphered, KEYS)
    with pytest.raises(DecodeError, match="expected a Data-Notification"):
        decode_push_apdu(bytes([tag]) + bytes(20))
    assert imports == []


@pytest.mark.parametrize(
    ("control", "error", "says"),
    [
        (0x20, WrongEncryptionKeyError, "does not authenticate"),
        (0x30, UncheckedTagError, "no authentication key was given"),
    ],
)
def test_a_wrong_encryption_key_says_whether_a_tag_went_unchecked(
    control: int, error: type[Exception], says: str
) -> None:
    """A meter that authenticates is not said not to: its tag went unchecked for want of the key."""
    sender = SecurityKeys(encryption_key=bytes(range(16)), authentication_key=bytes(range(16, 32)))
    notification = bytes([ApduTag.DATA_NOTIFICATION]) + bytes(20)
    ciphered = protect(
        ApduTag.GENERAL_GLO_CIPHERING,
        notification,
        sender,
        system_title=SYSTEM_TITLE,
        invocation_counter=7,
        control=control,
    ).encode()
    wrong = SecurityKeys(encryption_key=bytes(16), authentication_key=None)
    with pytest.raises(error, match=says) as raised:
        decode_push_apdu(ciphered, wrong)
    assert (raised.type is UncheckedTagError) == (control == 0x30)


BARE = [
    "amshan-aidon-no-list-3",
    "energomera-raw-pushlist",
    "kaifa-at-salzburgnetz-raw",
    "aidon-6525-no-list2-amshan",
]


@pytest.mark.parametrize("framing", [Framing.APDU, None], ids=["apdu", "detected"])
@pytest.mark.parametrize("capture_id", BARE)
def test_a_quiet_gap_never_makes_a_telegram_up(capture_id: str, framing: Framing | None) -> None:
    """A bare-APDU telegram cut by a silence at every point, then its rest, then the next telegram.

    Only the genuine telegrams come out, with the uncut capture's values: the rest of the cut one (a
    burst that does not start with a push APDU) is never searched for a tag, which found ``0F`` inside
    a scaler_unit and decoded values nobody sent.
    """
    (apdu,) = _frames(capture_id)
    expected = _values(_telegrams(decode_telegrams([apdu]))[0])
    for cut in range(1, len(apdu)):
        decoder = TelegramDecoder(framing=framing)
        events = decoder.feed(apdu) + decoder.flush(cut=False)
        events += decoder.feed(apdu[:cut]) + decoder.flush(cut=False)
        events += decoder.feed(apdu[cut:]) + decoder.flush(cut=False)
        events += decoder.feed(apdu) + decoder.flush(cut=False)
        assert [_values(telegram) for telegram in _telegrams(events)] == [expected, expected], cut
