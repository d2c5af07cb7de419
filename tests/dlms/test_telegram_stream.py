"""The telegram decoder over realistic streams: chunks, noise, damage, repetition."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.telegram import (
    Framing,
    Telegram,
    TelegramDecoder,
    TelegramFailure,
    decode_telegrams,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "public_vectors.json").read_text()
)
PUSH = {vector["id"]: vector for vector in VECTORS["push"]}


def _keys(vector: dict[str, Any]) -> SecurityKeys | None:
    keys = vector["keys"]
    if keys is None:
        return None
    return SecurityKeys(
        encryption_key=bytes.fromhex(keys["encryption"]) if keys["encryption"] else None,
        authentication_key=bytes.fromhex(keys["authentication"]) if keys["authentication"] else None,
    )


def _stream(vector_id: str) -> bytes:
    return b"".join(bytes.fromhex(frame) for frame in PUSH[vector_id]["frames"])


def _values(telegram: Telegram) -> list[tuple[str | None, object]]:
    return [(str(o.obis) if o.obis else None, o.raw) for o in telegram.content.objects]


REFERENCE = {vector_id: decode_telegrams([_stream(vector_id)], _keys(PUSH[vector_id])) for vector_id in PUSH}


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@pytest.mark.parametrize(
    ("vector_id", "framing"),
    [
        ("aidon-se-ui", Framing.HDLC),
        ("kamstrup-no-list", Framing.HDLC),
        ("netz-noe-mbus-encrypted", Framing.MBUS),
        ("dlms-cosem-general-glo-ciphering", Framing.APDU),
    ],
)
def test_framing_is_detected(vector_id: str, framing: Framing) -> None:
    decoder = TelegramDecoder(_keys(PUSH[vector_id]))
    events = decoder.feed(_stream(vector_id)) + decoder.flush()
    assert [type(e) for e in events] == [Telegram]
    assert decoder.framing is framing
    assert decoder.statistics.telegrams == 1


@pytest.mark.parametrize("vector_id", ["aidon-se-ui", "kamstrup-no-list", "netz-noe-mbus-encrypted"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
    noise=st.binary(max_size=40),
    repeats=st.integers(min_value=1, max_value=3),
)
def test_chunked_stream_with_noise_gives_every_telegram(
    vector_id: str, cuts: list[int], noise: bytes, repeats: int
) -> None:
    telegram_bytes = _stream(vector_id)
    stream = noise + (telegram_bytes + noise) * repeats
    events = decode_telegrams(_chunks(stream, cuts), _keys(PUSH[vector_id]))
    telegrams = [e for e in events if isinstance(e, Telegram)]
    assert len(telegrams) == repeats
    (reference,) = REFERENCE[vector_id]
    assert isinstance(reference, Telegram)
    assert all(_values(t) == _values(reference) for t in telegrams)


@pytest.mark.parametrize("vector_id", sorted(PUSH))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_captures_never_crash(vector_id: str, data: st.DataObject) -> None:
    """Flipped, cut and duplicated bytes: only telegrams or typed failures come out."""
    stream = bytearray(_stream(vector_id))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "duplicate", "insert"]))
        position = data.draw(st.integers(min_value=0, max_value=max(len(stream) - 1, 0)))
        if kind == "flip" and stream:
            stream[position] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
        elif kind == "cut":
            end = data.draw(st.integers(min_value=position, max_value=len(stream)))
            del stream[position:end]
        elif kind == "duplicate":
            end = data.draw(st.integers(min_value=position, max_value=min(len(stream), position + 64)))
            stream[position:position] = stream[position:end]
        else:
            stream[position:position] = data.draw(st.binary(min_size=1, max_size=8))
    events = decode_telegrams([bytes(stream)], _keys(PUSH[vector_id]))
    assert all(isinstance(e, Telegram | TelegramFailure) for e in events)
    if PUSH[vector_id]["transport"] == "hdlc":
        # The FCS guards HDLC: a damaged frame is dropped, never decoded into other values.
        (reference,) = REFERENCE[vector_id]
        assert isinstance(reference, Telegram)
        for event in events:
            if isinstance(event, Telegram):
                assert _values(event) == _values(reference)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=6))
def test_random_bytes_never_crash(chunks: list[bytes]) -> None:
    events = decode_telegrams(chunks, SecurityKeys(encryption_key=bytes(16), authentication_key=None))
    assert all(isinstance(e, Telegram | TelegramFailure) for e in events)


def test_noise_alone_is_counted_not_decoded() -> None:
    decoder = TelegramDecoder()
    events = decoder.feed(bytes(range(256)) * 4) + decoder.flush()
    assert all(isinstance(e, TelegramFailure) for e in events)
    assert decoder.statistics.telegrams == 0
    assert decoder.statistics.bytes_received == 1024


def test_frame_cut_before_its_check_sequence_is_reported_not_decoded() -> None:
    """The APDU inside is whole, but without the FCS nothing vouches for it."""
    frame = _stream("kamstrup-no-list")
    decoder = TelegramDecoder()
    assert decoder.feed(frame[:-3]) == []
    (event,) = decoder.flush()
    assert isinstance(event, TelegramFailure)
    assert "incomplete hdlc frame" in str(event.error)
    assert decoder.statistics.telegrams == 0


def test_recovers_after_a_cable_pull() -> None:
    frame = _stream("aidon-se-ui")
    decoder = TelegramDecoder()
    events = decoder.feed(frame) + decoder.feed(frame[:150])
    events += decoder.flush()  # the line went quiet mid-frame
    events += decoder.feed(frame) + decoder.flush()
    assert [type(e) for e in events] == [Telegram, TelegramFailure, Telegram]
    assert decoder.statistics.telegrams == 2
    assert decoder.statistics.failures == 1


def test_bare_notifications_back_to_back_are_not_taken_for_wrapper_frames() -> None:
    """Long invoke id 1 then a date-time reads as ``00 01 0C 07 E5 01 01 05``: a wrapper header
    (version 1) whose length, 0x0105, is soon reached by telegrams sent back to back."""
    from custom_components.dlms_cosem.dlms.apdu import DataNotification, LongInvokeIdAndPriority
    from custom_components.dlms_cosem.dlms.axdr import Data
    from custom_components.dlms_cosem.dlms.cosem_datetime import CosemDateTime

    apdu = DataNotification(
        body=Data.structure(Data.double_long_unsigned(12937), Data.visible_string("x" * 40)),
        date_time=CosemDateTime.from_bytes(bytes.fromhex("07E5010105000000FF8000FF")),
        long_invoke_id_and_priority=LongInvokeIdAndPriority(invoke_id=1),
    ).encode()
    assert apdu[3:11].hex() == "00010c07e5010105"
    decoder = TelegramDecoder()
    events: list[Telegram | TelegramFailure] = []
    for _ in range(8):
        events += decoder.feed(apdu)
    events += decoder.flush()
    assert [type(e) for e in events] == [Telegram] * 8
    assert decoder.framing is Framing.APDU
