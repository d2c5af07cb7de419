"""A scan of everything the test suite logs, prints and returns as diagnostics, for keys and passwords.

Every key and password the tests use (the fixtures' captures, the ``*_KEY``/``EK``/``AK``/``PASSWORD``
constants of the test modules) is searched for in every log record (the integration logs at DEBUG
during the tests, so its debug paths are scanned too), in the captured output of every test and in
every diagnostics dump, as hex (either case, with or without separators), raw bytes, the bytes'
repr and base64. A test during which a secret shows up fails, naming the secret's source but never
its value. Cheap: a substring search per form, once per test over what that test produced.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent
# Module constants holding a key: KEY_HEX = "00..", EK = bytes.fromhex("00.."), ...; and passwords.
_KEY_CONSTANT = re.compile(
    r"^(?P<name>\w*(?:KEY|EK|AK)\w*)\s*(?::[^=]+)?=\s*(?:bytes\.fromhex\()?\"(?P<hex>[0-9A-Fa-f]{32,64})\"",
    re.MULTILINE,
)
_PASSWORD_CONSTANT = re.compile(r"^(?P<name>\w*PASSWORD\w*)\s*=\s*\"(?P<text>[^\"]{6,})\"", re.MULTILINE)
_FIXTURE_KEY_FIELDS = ("encryption", "authentication", "encryption_key", "authentication_key")
# Values that are secrets in one test and public elsewhere on purpose: the simulator's default serial
# number is 12345678, which a config flow test also uses as its LLS password. Its hex and base64
# forms are still scanned.
_ALSO_PUBLIC = frozenset({"12345678"})
_SEPARATORS = ("", " ", ":", "-")


@dataclass(frozen=True, slots=True)
class Secret:
    """A key or password and where the tests define it (the value is never reported)."""

    source: str
    value: bytes
    text: bool = False


def _low_entropy(value: bytes) -> bool:
    """All one byte (bytes(16), FF..FF): it turns up in any hex dump, it is no one's key."""
    return len(set(value)) <= 1


def collect_secrets(root: Path = TESTS) -> list[Secret]:
    """Every key and password the test suite uses."""
    found: dict[bytes, Secret] = {}
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for match in _KEY_CONSTANT.finditer(source):
            value = bytes.fromhex(match["hex"])
            found.setdefault(value, Secret(f"{path.name}:{match['name']}", value))
        for match in _PASSWORD_CONSTANT.finditer(source):
            value = match["text"].encode()
            found.setdefault(value, Secret(f"{path.name}:{match['name']}", value, text=True))
    for path in sorted((root / "fixtures").glob("*.json")):
        for index, entry in enumerate(_key_entries(json.loads(path.read_text(encoding="utf-8")))):
            for field in _FIXTURE_KEY_FIELDS:
                hex_value = entry.get(field)
                if isinstance(hex_value, str) and hex_value:
                    value = bytes.fromhex(hex_value)
                    found.setdefault(value, Secret(f"{path.name}#{index}.{field}", value))
    return [secret for secret in found.values() if not _low_entropy(secret.value)]


def _key_entries(document: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``document`` that carries a key field."""
    if isinstance(document, dict):
        if any(field in document for field in _FIXTURE_KEY_FIELDS):
            yield document
        for value in document.values():
            yield from _key_entries(value)
    elif isinstance(document, list):
        for value in document:
            yield from _key_entries(value)


def forms(secret: Secret) -> list[str]:
    """The ways a secret could be written out: hex (with separators), raw, repr, base64."""
    value = secret.value
    hexed = value.hex()
    variants = {
        sep.join(hexed[i : i + 2 * group] for i in range(0, len(hexed), 2 * group))
        for sep in _SEPARATORS
        for group in (1, 2, 4)
        if sep or group == 1
    }
    variants |= {
        base64.b64encode(value).decode().rstrip("="),
        base64.urlsafe_b64encode(value).decode().rstrip("="),
        binascii.b2a_base64(value, newline=False).decode().rstrip("="),
        repr(value)[2:-1],
    }
    if secret.text:
        text = value.decode()
        if text not in _ALSO_PUBLIC:
            variants.add(text)
    else:
        variants.add(value.decode("latin-1"))
    return sorted(variants, key=len, reverse=True)


class SecretScanner:
    """Every form of every secret, searched for case-insensitively (substring search runs in C)."""

    def __init__(self, secrets: list[Secret]) -> None:
        self._by_form: dict[str, Secret] = {}
        self.secrets = len(secrets)
        for secret in secrets:
            for form in forms(secret):
                self._by_form.setdefault(form.lower(), secret)
        self.forms = len(self._by_form)

    def find(self, text: str) -> Secret | None:
        """The first secret ``text`` shows, if any."""
        lowered = text.lower()
        for form, secret in self._by_form.items():
            if form in lowered:
                return secret
        return None


class _Collector(logging.Handler):
    """Keeps what every log record of the running test says (message and traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name}: {record.getMessage()}"
        except Exception:  # a broken record is still scanned as far as it goes
            text = f"{record.name}: {record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "\n" + self._formatter.formatException(record.exc_info)
        self.texts.append(text)


_DIAGNOSTICS: list[str] = []
_TOTALS: dict[str, float] = {"tests": 0, "texts": 0, "chars": 0, "seconds": 0.0}
_SCANNER: SecretScanner | None = None
_COLLECTOR_KEY = pytest.StashKey[_Collector]()


def _scanner() -> SecretScanner:
    global _SCANNER  # noqa: PLW0603 - built once per session, on first use
    if _SCANNER is None:
        _SCANNER = SecretScanner(collect_secrets())
    return _SCANNER


def _wrap_diagnostics() -> None:
    """Record every diagnostics dump the integration returns (direct calls and the HTTP view)."""
    from custom_components.dlms_cosem import diagnostics

    original = diagnostics.async_get_config_entry_diagnostics
    if getattr(original, "__wrapped_for_secret_scan__", False):
        return

    async def recording(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        _DIAGNOSTICS.append(json.dumps(result, default=repr))
        return result

    recording.__wrapped_for_secret_scan__ = True  # type: ignore[attr-defined]
    diagnostics.async_get_config_entry_diagnostics = recording  # type: ignore[assignment]


_wrap_diagnostics()


@pytest.fixture(autouse=True)
def secret_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """Collect this test's log records (the integration at DEBUG); the report hook scans them."""
    collector = _Collector()
    root = logging.getLogger()
    integration = logging.getLogger("custom_components.dlms_cosem")
    level = integration.level
    integration.setLevel(logging.DEBUG)
    root.addHandler(collector)
    request.node.stash[_COLLECTOR_KEY] = collector
    _DIAGNOSTICS.clear()
    try:
        yield
    finally:
        root.removeHandler(collector)
        integration.setLevel(level)
        collector.texts.extend(_DIAGNOSTICS)
        _DIAGNOSTICS.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """After teardown, fail the test if its logs, output or diagnostics showed a secret."""
    report = yield
    if call.when != "teardown":
        return report
    collector = item.stash.get(_COLLECTOR_KEY, None)
    texts = [content for _, content in report.sections]
    if collector is not None:
        texts.extend(collector.texts)
    scanner = _scanner()
    started = time.perf_counter()
    _TOTALS["tests"] += 1
    _TOTALS["texts"] += len(texts)
    _TOTALS["chars"] += sum(len(text) for text in texts)
    for text in texts:
        leaked = scanner.find(text)
        if leaked is not None:
            report.outcome = "failed"
            report.longrepr = (
                f"secret scan: the test's logs, output or diagnostics show the secret defined at "
                f"{leaked.source} (value not repeated here)"
            )
            break
    _TOTALS["seconds"] += time.perf_counter() - started
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying what the scan covered and what it cost."""
    if not _TOTALS["tests"]:
        return
    scanner = _scanner()
    terminalreporter.write_line(
        f"secret scan: {_TOTALS['tests']} tests, {_TOTALS['texts']} log records/outputs/diagnostics, "
        f"{_TOTALS['chars'] / 1e6:.1f} MB scanned for {scanner.secrets} secrets in {scanner.forms} forms "
        f"in {_TOTALS['seconds']:.2f} s"
    )
