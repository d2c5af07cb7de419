"""Push decode per capture, project vs gurux-dlms vs dlms-cosem, interleaved in one interpreter.

Every capture of ``tests/fixtures/public_vectors.json`` (a copy of ``../shared/vectors/public.json``)
and ``tests/fixtures/corpus.json`` is decoded from its raw chunks:

- ``project``: a fresh :class:`TelegramDecoder` (framing detected) via ``decode_telegrams``, then every
  object's OBIS code, scaled value and unit, and the timestamp, as the integration reads them.
- ``warm``: one long-lived decoder that already knows the framing (and the meter's list profile),
  fed the next telegram: the steady state of a running integration.
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
from custom_components.dlms_cosem.dlms.apdu import DataNotification, decode_apdu
from custom_components.dlms_cosem.dlms.hdlc.fcs import fcs_is_valid
from custom_components.dlms_cosem.dlms.security import SecurityKeys, decode_ciphered_apdu, unprotect
from custom_components.dlms_cosem.dlms.telegram import Framing, Telegram, TelegramDecoder, decode_telegrams

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "tests" / "fixtures" / "public_vectors.json", ROOT / "tests" / "fixtures" / "corpus.json")
CONTENDERS = ("project", "warm", "gurux", "dlms-cosem")


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

    A sample is the mean of ``batch`` back-to-back runs, so it measures the decode, not the caches
    the contender before it left cold.
    """
    for capture in captures:
        capture.samples = {name: [] for name in capture.runs}
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for capture in captures:
                for name, run in capture.runs.items():
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
    """The per-capture rows and the geometric means of the ratios."""
    lines = [
        f"{'capture':44} {'bytes':>5} | {'project':>13} | {'warm':>13} | {'gurux-dlms':>13} | "
        f"{'dlms-cosem':>13} | {'gurux/proj':>10} {'cosem/proj':>10}",
        f"{'':44} {'':>5} | {'min   median':>13} | {'min   median':>13} | {'min   median':>13} | "
        f"{'min   median':>13} | {'(min)':>10} {'(min)':>10}",
    ]
    ratios: dict[str, list[float]] = {"gurux": [], "dlms-cosem": []}
    slower: list[str] = []
    for capture in captures:
        cells = []
        for name in CONTENDERS:
            samples = capture.samples.get(name)
            if samples:
                cells.append(f"{min(samples):6.1f} {statistics.median(samples):6.1f}")
            else:
                cells.append(f"{'cannot':>13}")
        project = min(capture.samples["project"])
        ratio_cells = []
        for name in ("gurux", "dlms-cosem"):
            samples = capture.samples.get(name)
            if samples:
                ratio = min(samples) / project
                ratios[name].append(ratio)
                ratio_cells.append(f"{ratio:9.1f}x")
                if ratio < 1:
                    slower.append(f"{capture.id} vs {name}")
            else:
                ratio_cells.append(f"{'-':>10}")
        lines.append(
            f"{capture.id[:44]:44} {capture.size:5d} | {' | '.join(cells)} | {' '.join(ratio_cells)}"
        )
    lines.append(
        f"{'geometric mean of the ratios (captures each decodes)':52} "
        f"gurux-dlms {geometric_mean(ratios['gurux']):.1f}x over {len(ratios['gurux'])}, "
        f"dlms-cosem {geometric_mean(ratios['dlms-cosem']):.1f}x over {len(ratios['dlms-cosem'])}; "
        f"captures where the project is slower: {', '.join(slower) or 'none'}"
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
    original = telegram_module._decode_push

    def spy(apdu: bytes, *args: Any) -> Telegram:
        seen.append(apdu)
        return original(apdu, *args)

    telegram_module._decode_push = spy
    try:
        decode_telegrams(capture.frames, keys)
    finally:
        telegram_module._decode_push = original
    ciphered = [apdu for apdu in seen if apdu and apdu[0] in (0xDB, 0xDC)]
    return ciphered[-1] if ciphered else None


def _best(run: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return min(samples)
