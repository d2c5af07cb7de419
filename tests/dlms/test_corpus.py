"""Every real push telegram of the corpus (tests/fixtures/corpus*.json), whole and cut at random.

corpus.json is a copy of the project's shared corpus, corpus_extra.json more of the same kind:
telegrams that other projects' test suites publish together with the values they assert (the source
is named in each entry). Each capture must decode into exactly one telegram carrying every asserted
value: by OBIS code where the meter sends codes (or its list identifier fixes them), in telegram order
where it sends bare values. The same bytes cut into random chunks, as a serial port delivers them,
must give the same telegram. A capture marked ``expect_failure`` is known to be damaged: it must be
reported as undecodable, with that reason, and show no value at all.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main as cli_main
from custom_components.dlms_cosem.dlms.cli.output import json_value
from custom_components.dlms_cosem.dlms.security import SecurityKeys
from custom_components.dlms_cosem.dlms.telegram import (
    Telegram,
    TelegramDecoder,
    TelegramFailure,
    decode_telegrams,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
CORPORA: list[dict[str, Any]] = [
    json.loads((FIXTURES / name).read_text()) for name in ("corpus.json", "corpus_extra.json")
]
CAPTURES = {capture["id"]: capture for corpus in CORPORA for capture in corpus["push"]}
assert len(CAPTURES) == sum(len(corpus["push"]) for corpus in CORPORA), "duplicate capture id"
RANDOM_SPLITS = 20


def _keys(capture: dict[str, Any]) -> SecurityKeys | None:
    keys = capture["keys"]
    if keys is None:
        return None
    return SecurityKeys(
        encryption_key=bytes.fromhex(keys["encryption"]) if keys["encryption"] else None,
        authentication_key=bytes.fromhex(keys["authentication"]) if keys["authentication"] else None,
    )


def _records(telegram: Telegram) -> list[dict[str, Any]]:
    return [
        {
            "obis": str(obj.obis) if obj.obis else None,
            "value": json_value(obj.value),
            "unit": obj.unit,
            "raw": json_value(obj.raw),
        }
        for obj in telegram.content.objects
    ]


def _check_values(capture: dict[str, Any], objects: list[dict[str, Any]], timestamp: object) -> None:
    """Every value the source asserts, in the form the decode command prints it."""
    by_obis = {obj["obis"]: obj for obj in objects if obj["obis"] is not None}
    for obis, (expected, unit) in capture["expect_obis"].items():
        assert obis in by_obis, f"{obis} missing from {sorted(by_obis)}"
        got = by_obis[obis]
        if capture["scaled"]:
            assert got["value"] == pytest.approx(expected), obis
            assert got["unit"] == unit, obis
        else:
            assert got["raw"] == expected, obis
    raws = [obj["raw"] for obj in objects]
    for text in capture.get("expect_strings", []):
        assert text in raws
    if "expect_in_order" in capture:
        assert raws == [value for (value,) in capture["expect_in_order"]]
    if "expect_timestamp" in capture:
        assert timestamp == capture["expect_timestamp"]


def _only_telegram(events: list[Any]) -> Telegram:
    assert [type(event).__name__ for event in events] == ["Telegram"], events
    telegram = events[0]
    assert isinstance(telegram, Telegram)
    return telegram


def _only_failure(capture: dict[str, Any], events: list[Any]) -> TelegramFailure:
    assert [type(event).__name__ for event in events] == ["TelegramFailure"], events
    failure = events[0]
    assert isinstance(failure, TelegramFailure)
    assert capture["expect_failure"] in str(failure.error)
    return failure


@pytest.mark.parametrize("capture_id", sorted(CAPTURES))
def test_capture_decodes_with_every_asserted_value(capture_id: str) -> None:
    capture = CAPTURES[capture_id]
    chunks = [bytes.fromhex(frame) for frame in capture["frames"]]
    events = decode_telegrams(chunks, _keys(capture))
    if "expect_failure" in capture:
        _only_failure(capture, events)
        return
    telegram = _only_telegram(events)
    _check_values(capture, _records(telegram), json_value(telegram.timestamp))


@pytest.mark.parametrize("capture_id", sorted(CAPTURES))
def test_capture_cut_into_random_chunks_gives_the_same_telegram(capture_id: str) -> None:
    capture = CAPTURES[capture_id]
    stream = b"".join(bytes.fromhex(frame) for frame in capture["frames"])
    (whole,) = decode_telegrams([stream], _keys(capture))
    assert isinstance(whole, Telegram | TelegramFailure)
    rng = random.Random(capture_id)
    for _ in range(RANDOM_SPLITS):
        cuts = sorted(rng.sample(range(1, len(stream)), k=min(len(stream) - 1, rng.randint(1, 12))))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        decoder = TelegramDecoder(_keys(capture))
        events = [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.flush()
        if "expect_failure" in capture:
            failure = _only_failure(capture, events)
            assert isinstance(whole, TelegramFailure)
            assert (failure.apdu, str(failure.error)) == (whole.apdu, str(whole.error)), cuts
            continue
        telegram = _only_telegram(events)
        assert isinstance(whole, Telegram)
        assert telegram.content == whole.content, cuts
        assert telegram.timestamp == whole.timestamp


@pytest.mark.parametrize("capture_id", sorted(CAPTURES))
def test_capture_through_the_decode_command(capture_id: str) -> None:
    capture = CAPTURES[capture_id]
    args = ["decode"]
    if capture["keys"]:
        args += ["--key", capture["keys"]["encryption"]]
        if capture["keys"]["authentication"]:
            args += ["--auth-key", capture["keys"]["authentication"]]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli_main([*args, *capture["frames"]])
    if "expect_failure" in capture:
        assert code == 1
        assert stdout.getvalue() == ""
        assert capture["expect_failure"] in stderr.getvalue()
        return
    assert code == 0, stderr.getvalue()
    (line,) = stdout.getvalue().splitlines()
    record = json.loads(line)
    _check_values(capture, record["objects"], record["timestamp"])
    if capture["keys"]:
        for key in capture["keys"].values():
            if key:
                assert key.lower() not in (stdout.getvalue() + stderr.getvalue()).lower()


FRAMED = sorted(
    capture_id for capture_id, capture in CAPTURES.items() if capture["transport"] in ("hdlc", "mbus")
)


@pytest.mark.parametrize("capture_id", FRAMED)
def test_a_framed_capture_whose_start_was_lost_shows_no_other_values(capture_id: str) -> None:
    """A port opened mid-telegram: whatever follows the cut gives the telegram's own values or none.

    The frames' check sequences vouch for framed telegrams; the bytes after a lost start must never
    pass for a bare APDU (a cut at a byte that happens to be a push tag) with values of their own.
    """
    capture = CAPTURES[capture_id]
    stream = b"".join(bytes.fromhex(frame) for frame in capture["frames"])
    (whole,) = decode_telegrams([stream], _keys(capture))
    for cut in range(1, len(stream)):
        for event in decode_telegrams([stream[cut:]], _keys(capture)):
            if isinstance(event, Telegram):
                assert isinstance(whole, Telegram), cut
                assert event.content == whole.content, cut
