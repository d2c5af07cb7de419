"""Every failure the stack can raise reaches the user as its own translated flow error, and no input a
client can post to a flow step makes the server fail (found in a real Home Assistant)."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import pkgutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

import custom_components.dlms_cosem.dlms as stack
from custom_components.dlms_cosem.const import DOMAIN
from custom_components.dlms_cosem.dlms.errors import DlmsError
from custom_components.dlms_cosem.probe import probe_error

from .test_config_flow import configure, start

STRINGS = json.loads((Path(__file__).parents[1] / "custom_components/dlms_cosem/strings.json").read_text())

pytestmark = pytest.mark.usefixtures("socket_enabled")


def stack_errors() -> Iterator[type[DlmsError]]:
    """Every error class of the stack, its own modules imported (the simulator and CLI included)."""
    for module in pkgutil.walk_packages(stack.__path__, stack.__name__ + "."):
        if ".cli" in module.name or module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    seen: set[type[DlmsError]] = set()
    pending: list[type[DlmsError]] = [DlmsError]
    while pending:
        kind = pending.pop()
        if kind not in seen:
            seen.add(kind)
            pending.extend(kind.__subclasses__())
            if ".simulator." not in kind.__module__:  # the simulated meter's own errors never reach a client
                yield kind


def test_every_stack_error_has_its_own_translated_flow_error(caplog: pytest.LogCaptureFixture) -> None:
    errors = STRINGS["config"]["error"]
    kinds = list(stack_errors())
    assert len(kinds) >= 20
    with caplog.at_level(logging.ERROR):
        for kind in kinds:
            try:
                err = kind.__new__(kind)
                Exception.__init__(err, "test")
            except TypeError:
                continue
            reason = probe_error(err).reason
            # Each has a key of its own: "meter_error" is only for errors added later.
            assert reason not in ("unknown", "meter_error") or kind is DlmsError, (kind, reason)
            assert reason in errors, (kind, reason)
    assert not caplog.records  # only unforeseen errors are logged as such


@pytest.fixture
async def closing_peer() -> AsyncIterator[int]:
    """A TCP peer that accepts a connection, then closes it without a word (a busy gateway does)."""

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def test_peer_closing_the_connection_is_told_as_such(
    hass: HomeAssistant, closing_peer: int, caplog: pytest.LogCaptureFixture
) -> None:
    result = await start(hass, "network_poll")
    result = await configure(
        hass, result, {"host": "127.0.0.1", "port": closing_peer, "hdlc": False, "advanced": {}}
    )
    result = await configure(hass, result, {"authentication": "none"})
    assert result["step_id"] == "network"
    assert result["errors"] == {"base": "connection_closed"}
    assert "Unexpected error" not in caplog.text


async def post(client: Any, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post(path, json=body)
    return response.status, await response.json()


@pytest.mark.parametrize("kind", ["network_poll", "udp_poll", "network_push", "serial_poll", "serial_push"])
async def test_no_posted_input_is_a_server_error(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, kind: str
) -> None:
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    flows = "/api/config/config_entries/flow"
    status, menu = await post(client, flows, {"handler": DOMAIN})
    assert status == 200
    bodies: list[dict[str, Any]] = [
        {},
        {"host": None},
        {"host": 5, "port": "x"},
        {"port": 4059},
        {"host": "127.0.0.1", "port": 99999},
        {"host": "127.0.0.1", "port": 4059, "advanced": "x"},
        {"port": None},
        {"unknown": 1},
    ]
    for body in bodies:
        status, step = await post(client, f"{flows}/{menu['flow_id']}", {"next_step_id": kind})
        assert status == 200, step
        status, answer = await post(client, f"{flows}/{step['flow_id']}", body)
        assert status in (200, 400), (body, status, answer)
        if not body and kind.startswith(("network", "udp")):
            assert status == 400, answer  # refused by the form's schema, before the step runs
        if status == 200:  # taken: the flow goes on with a form (the next step, or this one with errors)
            assert answer["type"] in ("form", "progress"), answer
        status, menu = await post(client, flows, {"handler": DOMAIN})


def test_an_error_outside_the_stack_is_logged_and_shown_as_unknown(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert probe_error(RuntimeError("a bug")).reason == "unknown"
    assert "Unexpected error while probing the meter" in caplog.text
