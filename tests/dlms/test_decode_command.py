"""The ``decode`` command: exit codes, input forms, output formats, and no keys in any output."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from custom_components.dlms_cosem.dlms.__main__ import main
from tests.dlms.stack import PACKAGE as STACK_PACKAGE

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "public_vectors.json").read_text())
PUSH = {vector["id"]: vector for vector in VECTORS["push"]}
NOE = PUSH["netz-noe-mbus-encrypted"]
NOE_KEY = NOE["keys"]["encryption"]
AIDON = PUSH["aidon-se-ui"]["frames"][0]


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, stdout.getvalue(), stderr.getvalue()


def test_hex_with_spaces_split_anywhere_and_colon_separated_key() -> None:
    frames = "".join(NOE["frames"])
    chunks = [frames[:100], frames[100:332], frames[332:]]
    spaced = [" ".join(chunk[i : i + 2] for i in range(0, len(chunk), 2)) for chunk in chunks]
    key = ":".join(NOE_KEY[i : i + 2] for i in range(0, 32, 2))
    code, out, err = run(["decode", "--key", key, *spaced])
    assert code == 0, err
    record = json.loads(out)
    assert record["system_title"] == "4B464D6750000009"
    assert record["invocation_counter"] == 35
    assert record["security"] == "encrypted"
    assert record["authenticated"] is False
    assert record["timestamp"] == "2021-09-27T09:47:15"
    assert {"obis": "1.0.1.8.0.255", "value": 12937, "unit": "Wh", "raw": 12937} in record["objects"]
    assert {"obis": None, "value": "181220000009", "unit": None, "raw": "181220000009"} in record["objects"]


def test_hex_from_stdin() -> None:
    code, out, _ = run(["decode", "-"], stdin=AIDON[:200] + "\n" + AIDON[200:] + "\n")
    assert code == 0
    record = json.loads(out)
    assert record["security"] == "none"
    assert record["system_title"] is None
    assert record["invocation_counter"] is None
    assert {"obis": "1.0.32.7.0.255", "value": 230.7, "unit": "V", "raw": 2307} in record["objects"]


def test_two_telegrams_print_two_lines() -> None:
    code, out, _ = run(["decode", AIDON, AIDON])
    assert code == 0
    assert len(out.splitlines()) == 2


def test_table_format() -> None:
    code, out, _ = run(["decode", "--format", "table", "--key", NOE_KEY, *NOE["frames"]])
    assert code == 0
    assert "security: encrypted" in out
    assert "1-0:1.8.0*255" in out
    row = next(line for line in out.splitlines() if line.startswith("1-0:32.7.0*255"))
    assert row.split() == ["1-0:32.7.0*255", "233.7", "V", "2337"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", "zz"], "not hex"),
        (["decode", "--key", "1234", AIDON], "32 hexadecimal digits"),
        (["decode", "--key", "g" * 32, AIDON], "hex"),
    ],
)
def test_usage_errors_exit_2_without_echoing_the_key(argv: list[str], message: str) -> None:
    code, out, err = run(argv)
    assert code == 2
    assert out == ""
    assert message in err
    if "--key" in argv:
        assert argv[2] not in err


def test_no_arguments_is_a_usage_error() -> None:
    code, _, err = run(["decode"])
    assert code == 2
    assert "usage" in err


def test_garbage_exits_1_with_the_reason() -> None:
    code, out, err = run(["decode", "00112233445566778899"])
    assert code == 1
    assert out == ""
    assert "no valid frame" in err


def test_truncated_frame_exits_1() -> None:
    code, _, err = run(["decode", AIDON[:-40]])
    assert code == 1
    assert "incomplete hdlc frame" in err


def test_keys_never_appear_in_output() -> None:
    wrong = "A1" * 16
    code, out, err = run(["decode", "--key", wrong, "--auth-key", wrong, *NOE["frames"]])
    assert code == 1
    assert wrong.lower() not in (out + err).lower()
    code, out, err = run(["decode", "--key", NOE_KEY, *NOE["frames"]])
    assert code == 0
    assert NOE_KEY.lower() not in (out + err).lower()


def test_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", STACK_PACKAGE, "decode", AIDON],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent.parent,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["timestamp"] == "2019-12-16T07:59:40"


def test_public_python_entry_point() -> None:
    from custom_components.dlms_cosem.dlms import SecurityKeys, Telegram, decode_telegrams, parse_key

    keys = SecurityKeys(encryption_key=parse_key(NOE_KEY), authentication_key=None)
    (telegram,) = decode_telegrams([bytes.fromhex(frame) for frame in NOE["frames"]], keys)
    assert isinstance(telegram, Telegram)
    assert telegram.content.objects[1].value == 12937


def test_raw_capture_files_of_text_telegrams(tmp_path: Path) -> None:
    """``--raw``: a P1 port saved as it came (text, no hex), two telegrams and a readout, one per line."""
    text = json.loads((Path(__file__).parent.parent / "fixtures" / "text_vectors.json").read_text())
    frames = {vector["id"]: bytes.fromhex(vector["frames"][0]) for vector in text["vectors"]}
    capture = tmp_path / "p1.txt"
    capture.write_bytes(frames["dsmr_parser-v4-2"] + frames["dsmr_parser-v5"])
    code, out, err = run(["decode", "--raw", str(capture)])
    assert code == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert {"obis": "1.0.1.8.1.255", "value": 1581123, "unit": "Wh", "raw": 1581123} in first["objects"]
    assert first["timestamp"] == "2016-11-13T20:57:57"
    assert {"obis": "1.0.31.7.0.255", "value": 0.48, "unit": "A", "raw": 48} in second["objects"]
    code, out, err = run(["decode", "--raw", "-"], stdin=frames["dsmr_parser-v2-2"].decode("latin-1"))
    assert code == 0, err
    assert {"obis": "0.1.24.2.1.255", "value": 1.001, "unit": "m³", "raw": 1001} in json.loads(out)["objects"]


def test_raw_file_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(["decode", "--raw", str(tmp_path / "missing.txt")])
    assert code == 2
    assert "cannot read" in err
