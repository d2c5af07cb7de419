"""Seed inputs for the fuzz targets, taken from every capture in the project's fixtures.

The captures (``tests/fixtures/*.json``, copies of the shared vectors) are cut with the stack's own
framers into the shapes each parser takes: whole streams, single frames, frame bodies, wire APDUs,
plaintext APDUs, A-XDR data. The keys of the captures come along so ciphered seeds can be deciphered.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from custom_components.dlms_cosem.dlms.apdu import (
    DataNotification,
    GeneralBlockTransfer,
    GeneralBlockTransferReassembler,
    decode_apdu,
)
from custom_components.dlms_cosem.dlms.apdu.tags import XdlmsTag
from custom_components.dlms_cosem.dlms.axdr.encode import encode_data
from custom_components.dlms_cosem.dlms.errors import DlmsError
from custom_components.dlms_cosem.dlms.hdlc import HdlcFramer, SegmentReassembler, has_llc, strip_llc
from custom_components.dlms_cosem.dlms.mbus import MbusFramer, MbusReassembler
from custom_components.dlms_cosem.dlms.security import SecurityKeys, decode_ciphered_apdu, is_ciphered_tag
from custom_components.dlms_cosem.dlms.telegram import Telegram, decode_telegrams
from custom_components.dlms_cosem.dlms.wrapper import WrapperPdu

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
FIXTURE_FILES = ("public_vectors.json", "corpus.json", "corpus_extra.json")

# The M-Bus long frame's start and stop characters (EN 13757-2).
_MBUS_START = 0x68
_MBUS_STOP = 0x16


@dataclass(frozen=True, slots=True)
class Capture:
    """One push capture: its frames as on the wire and its keys.

    ``expect_failure``: the published key is known not to fit (the capture does not decode).
    """

    id: str
    transport: str
    frames: tuple[bytes, ...]
    keys: SecurityKeys | None
    expect_failure: bool = False


@dataclass(slots=True)
class Seeds:
    """Every seed shape, deduplicated, in a stable order (seeded runs repeat exactly)."""

    captures: list[Capture] = field(default_factory=list)
    streams: list[bytes] = field(default_factory=list)
    hdlc_frames: list[bytes] = field(default_factory=list)
    mbus_frames: list[bytes] = field(default_factory=list)
    wrapper_pdus: list[bytes] = field(default_factory=list)
    wire_apdus: list[bytes] = field(default_factory=list)
    plain_apdus: list[bytes] = field(default_factory=list)
    ciphered_apdus: list[bytes] = field(default_factory=list)
    axdr: list[bytes] = field(default_factory=list)
    client_responses: list[bytes] = field(default_factory=list)
    keys: list[SecurityKeys] = field(default_factory=list)
    keys_by_title: dict[bytes, SecurityKeys] = field(default_factory=dict)


def _keys(raw: dict[str, Any] | None) -> SecurityKeys | None:
    if not raw:
        return None
    auth = raw.get("authentication")
    return SecurityKeys(
        encryption_key=bytes.fromhex(raw["encryption"]),
        authentication_key=bytes.fromhex(auth) if auth else None,
    )


def _add(target: list[bytes], item: bytes) -> None:
    if item and item not in target:
        target.append(item)


def _captures_in(document: dict[str, Any]) -> list[Capture]:
    return [
        Capture(
            entry["id"],
            entry["transport"],
            tuple(bytes.fromhex(frame) for frame in entry["frames"]),
            _keys(entry.get("keys")),
            "expect_failure" in entry,
        )
        for entry in document.get("push", [])
    ]


def _documents() -> list[dict[str, Any]]:
    return [json.loads((FIXTURES / name).read_text()) for name in FIXTURE_FILES]


@cache
def load_captures() -> tuple[Capture, ...]:
    """Every push capture of the fixtures, in the order of ``load_seeds().captures``."""
    return tuple(capture for document in _documents() for capture in _captures_in(document))


def apdus_of(capture: Capture, *, join_blocks: bool = False) -> list[bytes]:
    """The APDUs (LLC removed, segments joined) of a capture, as its framing carries them.

    With ``join_blocks``, General Block Transfer blocks are joined into the APDU they carry.
    """
    stream = b"".join(capture.frames)
    apdus: list[bytes] = []
    if capture.transport == "hdlc":
        segments = SegmentReassembler()
        for frame in HdlcFramer().feed(stream):
            whole = segments.add(frame)
            if whole is not None:
                apdus.append(strip_llc(whole)[1] if has_llc(whole) else whole)
    elif capture.transport == "mbus":
        reassembler = MbusReassembler()
        for mbus_frame in MbusFramer().feed(stream):
            apdu = reassembler.add(mbus_frame)
            if apdu is not None:
                apdus.append(apdu)
    else:
        apdus.append(stream)
    if not join_blocks:
        return apdus
    joined: list[bytes] = []
    blocks = GeneralBlockTransferReassembler()
    for apdu in apdus:
        if apdu[0] != XdlmsTag.GENERAL_BLOCK_TRANSFER:
            joined.append(apdu)
            continue
        whole_apdu = blocks.add(GeneralBlockTransfer.decode(apdu))
        if whole_apdu is not None:
            joined.append(whole_apdu)
    return joined


@cache
def load_seeds() -> Seeds:
    """Read the fixtures once and cut them into seeds."""
    seeds = Seeds()
    for document in _documents():
        for capture in _captures_in(document):
            seeds.captures.append(capture)
            _add(seeds.streams, b"".join(capture.frames))
            for frame in capture.frames:
                if capture.transport == "hdlc":
                    _add(seeds.hdlc_frames, frame)
                elif capture.transport == "mbus":
                    _add(seeds.mbus_frames, frame)
            if capture.keys is not None and capture.keys not in seeds.keys:
                seeds.keys.append(capture.keys)
            for apdu in apdus_of(capture, join_blocks=True):
                _add(seeds.wire_apdus, apdu)
                if is_ciphered_tag(apdu[0]):
                    _add(seeds.ciphered_apdus, apdu)
                    if capture.keys is not None:
                        try:
                            title = decode_ciphered_apdu(apdu).system_title
                        except DlmsError:
                            title = None
                        if title is not None:
                            seeds.keys_by_title[title] = capture.keys
            for event in decode_telegrams(capture.frames, capture.keys):
                if isinstance(event, Telegram):
                    _add(seeds.plain_apdus, event.apdu)
        for entry in document.get("hdlc", []):
            if "frame" in entry:
                _add(seeds.hdlc_frames, bytes.fromhex(entry["frame"]))
        for entry in document.get("apdu", []):
            _add(seeds.plain_apdus, bytes.fromhex(entry["hex"]))
        for entry in document.get("crypto", []):
            for name in ("plaintext", "aarq_lls_12345678", "aarq_hls_gmac", "aare_auth_required"):
                if name in entry:
                    _add(seeds.plain_apdus, bytes.fromhex(entry[name]))
            if "apdu" in entry:
                _add(seeds.ciphered_apdus, bytes.fromhex(entry["apdu"]))
            if "system_title" in entry and "encryption_key" in entry:
                seeds.keys_by_title[bytes.fromhex(entry["system_title"])] = SecurityKeys(
                    encryption_key=bytes.fromhex(entry["encryption_key"]),
                    authentication_key=bytes.fromhex(entry["authentication_key"]),
                )
    for frame in seeds.hdlc_frames:
        _add(seeds.streams, frame)
    for apdu in seeds.wire_apdus + seeds.plain_apdus:
        with contextlib.suppress(DlmsError):  # longer than a wrapper PDU carries
            _add(seeds.wrapper_pdus, WrapperPdu(0x0001, 0x0010, apdu).encode())
        if apdu[0] >= 0xC4 or apdu[0] in (0x61, 0x63, 0x08, 0x0E):  # what a meter answers a client
            _add(seeds.client_responses, apdu)
    for apdu in seeds.plain_apdus:
        try:
            parsed = decode_apdu(apdu)
        except DlmsError:
            continue
        if isinstance(parsed, DataNotification):
            _add(seeds.axdr, encode_data(parsed.body))
    # GET responses carry A-XDR data after a 4-byte header (C4 01 invoke 00).
    for apdu in seeds.client_responses:
        if apdu[:2] == b"\xc4\x01" and len(apdu) > 4:
            _add(seeds.axdr, apdu[4:])
    for frame in seeds.mbus_frames:
        if len(frame) > 6 and frame[0] == _MBUS_START and frame[-1] == _MBUS_STOP:
            _add(seeds.streams, frame)
    return seeds
