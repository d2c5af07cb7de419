"""docs/API.md's examples run as written: the decoding one on the published sample, the reading one
against the simulator. In Home Assistant's environment the package is named by its folder's name."""

from __future__ import annotations

import contextlib
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from custom_components.dlms_cosem.dlms.simulator import (
    RunnerSettings,
    SimulatedMeter,
    SimulatorServer,
    Transport,
)
from tests.dlms.stack import PACKAGE

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "API.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
VECTORS = json.loads((ROOT / "tests" / "fixtures" / "public_vectors.json").read_text())
NOE = next(vector for vector in VECTORS["push"] if vector["id"] == "netz-noe-mbus-encrypted")


def _code(block: str) -> str:
    return block.replace("dlms_cosem_stack", PACKAGE)


def test_the_doc_has_its_two_examples() -> None:
    assert len(BLOCKS) == 2
    assert "decode_telegrams" in BLOCKS[0]
    assert "read_registers" in BLOCKS[1]


def test_decoding_example_prints_the_published_values() -> None:
    namespace = {"NOE_FRAME_1": NOE["frames"][0], "NOE_FRAME_2": NOE["frames"][1]}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(_code(BLOCKS[0]), namespace)
    lines = output.getvalue().splitlines()
    assert "1.0.1.8.0.255 12937 Wh" in lines
    assert "1.0.32.7.0.255 233.7 V" in lines
    assert not [line for line in lines if line.startswith("not decoded")]


async def test_reading_example_reads_the_simulator() -> None:
    example, last_line = _code(BLOCKS[1]).rstrip().rsplit("\n", 1)
    assert last_line == 'print(asyncio.run(read_meter("192.0.2.10")))'
    namespace: dict[str, object] = {}
    exec(example, namespace)
    meter = SimulatedMeter(lambda: datetime.now(UTC), serial="87654321")
    server = SimulatorServer(meter, RunnerSettings(transport=Transport.WRAPPER_TCP))
    address = await server.start()
    try:
        readings = await namespace["read_meter"]("127.0.0.1", int(str(address).rsplit(":", 1)[1]))  # type: ignore[operator]
    finally:
        await server.close()
    assert set(readings) == {"1.0.1.8.0.255", "0.0.96.1.0.255"}
    energy, unit = readings["1.0.1.8.0.255"]
    assert unit == "Wh"
    assert isinstance(energy, int | float)
    assert energy >= 0
    assert readings["0.0.96.1.0.255"] == (b"87654321", None)  # an octet-string, as the meter holds it
