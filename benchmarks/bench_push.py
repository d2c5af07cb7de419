"""Push decode per capture, project vs gurux-dlms vs dlms-cosem, interleaved in one interpreter.

Every capture of ``tests/fixtures/public_vectors.json`` (a copy of ``../shared/vectors/public.json``)
and ``tests/fixtures/corpus.json`` is decoded from its raw chunks:

- ``project``: a fresh :class:`TelegramDecoder` (framing detected) via ``decode_telegrams``, then every
  object's OBIS code, scaled value and unit, and the timestamp, as the integration reads them.
- ``warm``: one long-lived decoder that already knows the framing (and the meter's list profile),
  fed the next telegram: the steady state of a running integration.
- ``tree``: the same work the peers do (framing, reassembly, decryption, Data-Notification, the
  body as Python values), through the stack's codecs as a library user would call them, so the
  ratios can be read both ways: for what the integration gets, and like for like.
- ``floor``: no decoding at all, only building what ``project`` hands the integration (a
  :class:`PushObject` and its :class:`Data` per value, the content and the telegram) from parts
  decoded beforehand, then reading it out: the least any decoder with this output can spend, so
  ``peer / floor`` is the most any such decoder could be faster than that peer.
- ``gurux`` and ``dlms-cosem``: see :mod:`benchmarks.peers` (their time stops at the value tree).

Rounds are interleaved (each round times every contender once per capture) so a noisy neighbour
slows all of them alike; the table gives min and median microseconds and the ratios of the minima.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import time
from binascii import crc_hqx
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from benchmarks import peers
from custom_components.dlms_cosem.dlms import telegram as telegram_module
from custom_components.dlms_cosem.dlms.apdu import (
    DataNotification,
    GeneralBlockTransfer,
    GeneralBlockTransferReassembler,
    decode_apdu,
)
from custom_components.dlms_cosem.dlms.apdu.tags import XdlmsTag
from custom_components.dlms_cosem.dlms.axdr import Data
from custom_components.dlms_cosem.dlms.hdlc import HdlcFramer, SegmentReassembler, has_llc, strip_llc
from custom_components.dlms_cosem.dlms.hdlc.fcs import fcs_is_valid
from custom_components.dlms_cosem.dlms.mbus import MbusFramer, MbusReassembler
from custom_components.dlms_cosem.dlms.push import PushContent, PushObject
from custom_components.dlms_cosem.dlms.security import (
    SecurityKeys,
    decode_ciphered_apdu,
    is_ciphered_tag,
    unprotect,
)
from custom_components.dlms_cosem.dlms.telegram import Framing, Telegram, TelegramDecoder, decode_telegrams

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "tests" / "fixtures" / "public_vectors.json", ROOT / "tests" / "fixtures" / "corpus.json")
CONTENDERS = ("project", "warm", "tree", "floor", "gurux", "dlms-cosem")
OURS = ("project", "tree", "floor")
"""Our columns each peer is compared with."""


@dataclass
class Capture:
    """One captured telegram and what each contender made of it."""

    id: str
    transport: str
    keys: dict[str, str] | None
    frames: list[bytes]
    runs: dict[str, Callable[[], object]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Bytes on the line."""
        return sum(len(frame) for frame in self.frames)


def load_captures() -> list[Capture]:
    """Every push capture of both fixture files, in file order."""
    captures = []
    for source in SOURCES:
        for entry in json.loads(source.read_text())["push"]:
            captures.append(
                Capture(
                    entry["id"],
                    entry["transport"],
                    entry["keys"],
                    [bytes.fromhex(f) for f in entry["frames"]],
                )
            )
    return captures


def _keys(keys: dict[str, str] | None) -> SecurityKeys | None:
    if not keys:
        return None
    return SecurityKeys(
        encryption_key=bytes.fromhex(keys["encryption"]) if keys.get("encryption") else None,
        authentication_key=bytes.fromhex(keys["authentication"]) if keys.get("authentication") else None,
    )


def _read_out(telegram: Telegram) -> list[tuple[object, object, object]]:
    """What the integration takes from a telegram: OBIS code, scaled value, unit of every object."""
    read = [(obj.obis, obj.value, obj.unit) for obj in telegram.content.objects]
    read.append((None, telegram.timestamp, None))
    return read


def _project(capture: Capture) -> Callable[[], object]:
    keys = _keys(capture.keys)
    frames = capture.frames

    def run() -> object:
        events = decode_telegrams(frames, keys)
        telegram = events[0]
        assert isinstance(telegram, Telegram)
        return _read_out(telegram)

    return run


def _warm(capture: Capture) -> Callable[[], object]:
    keys = _keys(capture.keys)
    frames = capture.frames
    framing = Framing(capture.transport)
    decoder = TelegramDecoder(keys, framing)
    bare = framing is Framing.APDU

    def run() -> object:
        events = []
        for frame in frames:
            events.extend(decoder.feed(frame))
        if bare:
            events.extend(decoder.flush())
        telegram = events[0]
        assert isinstance(telegram, Telegram)
        return _read_out(telegram)

    run()  # learns the list profile, as a running decoder has
    return run


def _tree(capture: Capture) -> Callable[[], object]:
    keys = _keys(capture.keys)
    frames = capture.frames
    transport = capture.transport

    def apdus() -> list[bytes]:
        if transport == "hdlc":
            framer, segments, found = HdlcFramer(), SegmentReassembler(), []
            for frame in frames:
                for hdlc in framer.feed(frame):
                    joined = segments.add(hdlc)
                    if joined is not None:
                        found.append(strip_llc(joined)[1] if has_llc(joined) else joined)
            return found
        if transport == "mbus":
            mbus, parts, found = MbusFramer(), MbusReassembler(), []
            for frame in frames:
                for piece in mbus.feed(frame):
                    joined = parts.add(piece)
                    if joined is not None:
                        found.append(joined)
            return found
        return list(frames)

    def run() -> object:
        blocks = GeneralBlockTransferReassembler()
        values = []
        for raw in apdus():
            apdu: bytes | None = raw
            if raw[0] == XdlmsTag.GENERAL_BLOCK_TRANSFER:
                apdu = blocks.add(GeneralBlockTransfer.decode(raw))
            if apdu is None:
                continue
            if is_ciphered_tag(apdu[0]):
                assert keys is not None
                apdu = unprotect(decode_ciphered_apdu(apdu), keys).plaintext
            values.append(DataNotification.decode(apdu).body.to_python())
        return values

    return run


def _floor(capture: Capture) -> Callable[[], object]:
    events = decode_telegrams(capture.frames, _keys(capture.keys))
    decoded = events[0]
    assert isinstance(decoded, Telegram)
    content = decoded.content
    parts = [
        (obj.obis, obj.data.tag, obj.data.value, obj.scaler_unit, obj.class_id, obj.attribute, obj.captured)
        for obj in content.objects
    ]

    def run() -> object:
        objects = tuple(
            PushObject(obis, Data(tag, value), scaler_unit, class_id, attribute, captured)
            for obis, tag, value, scaler_unit, class_id, attribute, captured in parts
        )
        built = PushContent(content.layout, objects, content.list_identifier, content.list_profile)
        return _read_out(Telegram(decoded.framing, decoded.apdu, built, decoded.timestamp))

    return run


def _expected_integers(capture: Capture) -> list[int]:
    events = decode_telegrams(capture.frames, _keys(capture.keys))
    telegram = events[0]
    assert isinstance(telegram, Telegram), telegram
    notification = decode_apdu(telegram.apdu)
    assert isinstance(notification, DataNotification)
    return peers.integers(notification.body.to_python())


def prepare(captures: list[Capture]) -> None:
    """Build every contender's run per capture; a peer that cannot decode a capture is refused."""
    factories: dict[str, Callable[[str, dict[str, str] | None, list[bytes]], peers.Adapter]] = {
        "gurux": peers.gurux_adapter,
        "dlms-cosem": peers.dlms_cosem_adapter,
    }
    for capture in captures:
        capture.runs["project"] = _project(capture)
        capture.runs["warm"] = _warm(capture)
        capture.runs["tree"] = _tree(capture)
        capture.runs["floor"] = _floor(capture)
        expected = _expected_integers(capture)
        for name, factory in factories.items():
            try:
                decode = factory(capture.transport, capture.keys, capture.frames)
                telegrams = decode(capture.frames)
            except Exception as err:
                capture.refused[name] = f"{type(err).__name__}: {err}"[:60]
                continue
            if len(telegrams) != 1 or peers.integers(telegrams[0]) != expected:
                capture.refused[name] = f"wrong values ({len(telegrams)} telegrams)"
                continue
            frames = capture.frames
            capture.runs[name] = lambda decode=decode, frames=frames: decode(frames)


def measure(captures: list[Capture], rounds: int, batch: int) -> None:
    """Time every run, interleaved: each round takes one sample of every contender on every capture.

    A sample is one untimed run, then the mean of ``batch`` timed back-to-back runs: right after
    another library ran, the first run pays for CPU caches that library filled (up to 5x slower,
    whoever runs second), which would measure the order of the contenders, not their decoders.
    """
    for capture in captures:
        capture.samples = {name: [] for name in capture.runs}
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for capture in captures:
                for name, run in capture.runs.items():
                    run()
                    start = time.perf_counter_ns()
                    for _ in range(batch):
                        run()
                    capture.samples[name].append((time.perf_counter_ns() - start) / 1000 / batch)
    finally:
        gc.enable()


def geometric_mean(values: list[float]) -> float:
    """Geometric mean (nan for none)."""
    return math.exp(sum(math.log(value) for value in values) / len(values)) if values else math.nan


def table(captures: list[Capture]) -> list[str]:
    """The per-capture rows and the geometric means of the ratios (of the minima)."""
    names = {"gurux": "gurux-dlms"}
    ratio_heads = [(f"{peer.split('-')[-1]}/", ours) for ours in OURS for peer in ("gurux", "dlms-cosem")]
    lines = [
        f"{'capture':40} {'bytes':>5} | "
        + " | ".join(f"{names.get(name, name):>13}" for name in CONTENDERS)
        + " | "
        + " ".join(f"{peer:>7}" for peer, _ in ratio_heads),
        f"{'':40} {'':>5} | "
        + " | ".join([f"{'min median':>13}"] * len(CONTENDERS))
        + " | "
        + " ".join(f"{ours:>7}" for _, ours in ratio_heads),
    ]
    ratios: dict[tuple[str, str], list[float]] = {}
    slower: list[str] = []
    for capture in captures:
        cells = []
        for name in CONTENDERS:
            samples = capture.samples.get(name)
            cells.append(
                f"{min(samples):6.1f} {statistics.median(samples):6.1f}" if samples else f"{'cannot':>13}"
            )
        ratio_cells = []
        for ours in OURS:
            for peer in ("gurux", "dlms-cosem"):
                samples = capture.samples.get(peer)
                if not samples:
                    ratio_cells.append(f"{'-':>7}")
                    continue
                ratio = min(samples) / min(capture.samples[ours])
                ratios.setdefault((ours, peer), []).append(ratio)
                ratio_cells.append(f"{ratio:6.1f}x")
                if ratio < 1 and ours == "project":
                    slower.append(f"{capture.id} ({peer} {ratio:.2f}x)")
        row = f"{capture.id[:40]:40} {capture.size:5d} | {' | '.join(cells)} | {' '.join(ratio_cells)}"
        lines.append(row)
    for ours in OURS:
        found = {peer: ratios.get((ours, peer), []) for peer in ("gurux", "dlms-cosem")}
        means = ", ".join(f"{peer} {geometric_mean(r):.2f}x over {len(r)}" for peer, r in found.items())
        lines.append(f"geometric mean, {ours} vs peers (captures each peer decodes): {means}")
    lines.append(
        f"captures where the project (full decode) is slower than a peer: {', '.join(slower) or 'none'}"
    )
    for capture in captures:
        for name, reason in capture.refused.items():
            lines.append(f"  {name} cannot decode {capture.id}: {reason}")
    return lines


# ------------------------------------------------------------------------------------------ floors


def floors(captures: list[Capture], rounds: int) -> list[str]:
    """The cost of the primitives the decode cannot avoid, beside what the project spends on them."""
    lines = []
    for capture in captures:
        keys = _keys(capture.keys)
        if keys is None or keys.encryption_key is None:
            continue
        telegram = decode_telegrams(capture.frames, keys)[0]
        assert isinstance(telegram, Telegram)
        ciphered = _ciphered_apdu(capture, keys)
        if ciphered is None:
            continue
        apdu = decode_ciphered_apdu(ciphered)
        assert apdu.system_title is not None
        iv = apdu.system_title + apdu.invocation_counter.to_bytes(4, "big")
        key, protected = keys.encryption_key, apdu.protected
        authenticated = apdu.control.authenticated and keys.authentication_key is not None
        aad = bytes([apdu.control.to_byte()]) + (keys.authentication_key or b"")

        def floor(
            key: bytes = key,
            iv: bytes = iv,
            data: bytes = protected,
            aad: bytes = aad,
            tagged: bool = authenticated,
        ) -> object:
            if tagged:
                decryptor = Cipher(
                    algorithms.AES(key), modes.GCM(iv, data[-12:], min_tag_length=12)
                ).decryptor()
                decryptor.authenticate_additional_data(aad)
                return decryptor.update(data[:-12]) + decryptor.finalize()
            counter = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).decryptor()
            return counter.update(data) + counter.finalize()

        ours = _best(lambda apdu=apdu, keys=keys: unprotect(apdu, keys), rounds)
        best = _best(floor, rounds)
        kind = "AES-GCM decrypt+verify" if authenticated else "AES-CTR decrypt (no tag)"
        lines.append(
            f"{capture.id[:40]:40} {kind:25} {len(protected):5d} B: floor {best:5.1f} us, "
            f"project unprotect {ours:5.1f} us ({ours / best:.2f}x)"
        )
    blob = b"".join(capture.frames[0] for capture in captures if capture.transport == "hdlc")
    frames = [capture.frames[0][1:-1] for capture in captures if capture.transport == "hdlc"]
    crc = _best(lambda: [crc_hqx(frame, 0xFFFF) for frame in frames], rounds) / len(frames)
    ours = _best(lambda: [fcs_is_valid(frame) for frame in frames], rounds) / len(frames)
    lines.append(
        f"FCS over {len(frames)} HDLC frames ({len(blob) // len(frames)} B average): crc_hqx floor "
        f"{crc:.2f} us/frame, project fcs_is_valid {ours:.2f} us/frame ({ours / crc:.2f}x)"
    )
    return lines


def _ciphered_apdu(capture: Capture, keys: SecurityKeys) -> bytes | None:
    """The ciphered APDU of a capture, as the decoder hands it to decryption (blocks joined)."""
    seen: list[bytes] = []
    original = telegram_module.decode_push

    def spy(apdu: bytes, *args: Any) -> Telegram:
        seen.append(apdu)
        return original(apdu, *args)

    telegram_module.decode_push = spy
    try:
        decode_telegrams(capture.frames, keys)
    finally:
        telegram_module.decode_push = original
    ciphered = [apdu for apdu in seen if apdu and apdu[0] in (0xDB, 0xDC)]
    return ciphered[-1] if ciphered else None


def _best(run: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return min(samples)
