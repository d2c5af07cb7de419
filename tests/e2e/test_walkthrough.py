"""The setup walkthrough in a real browser, against a real Home Assistant and the simulated meters.

Home Assistant runs from the venv with a fresh configuration directory (config/configuration.yaml),
onboarded, with no meter added; the meters are the project's simulator on ptys (scripts/dev_server.py).
Debian's chromium, headless, driven by Playwright, logs in, adds the integration through Settings ->
Devices & services, enters a wrong key first and sees the error, then the right one, finds the device
with live values and adds its energy sensor to the Energy dashboard. Each step leaves a screenshot in
docs/screenshots/ (the README shows them). Run with scripts/e2e.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scripts.dev_server import PASSWORD, PUSH_KEY, USERNAME, DevStack, free_port, prepare_config, request

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

try:
    from playwright.sync_api import expect
except ImportError:  # the suite on the oldest Home Assistant has no browser: it deselects this test
    expect = None  # type: ignore[assignment]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless chromium as root in a closed network: no sandbox (root), and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
WRONG_KEY = "FFEEDDCCBBAA99887766554433221100"
STEP_TIMEOUT = 60_000  # ms: a push meter sends every few seconds; the flow waits for one telegram

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DevStack]:
    config = tmp_path / "config"
    prepare_config(config)
    log = tmp_path / "home-assistant.log"
    stack = DevStack(config=config, port=free_port(), log=log)
    try:
        stack.start_meters()
        # Its first list 3 (with the energy totals) comes about 24 s into each connection, then hourly.
        stack.start_norwegian_meter(free_port(), list_3_slot=3)
        stack.start_home_assistant()
        stack.wait_until_serving()
        stack.wait_until_running(stack.onboard())
        yield stack
    finally:
        stack.stop()
        report = getattr(request.node, "report_call", None)
        if (report is None or report.failed) and log.exists():
            # Home Assistant's side of a failure, in the test's output (the log goes with tmp_path).
            print("\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-150:]))


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        context.set_default_timeout(STEP_TIMEOUT)
        page = context.new_page()
        # The browser's console and errors go to the test's output (shown when it fails).
        page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
        page.on("pageerror", lambda error: print(f"page error: {error}"))
        page.on("requestfailed", lambda failed: print(f"request failed: {failed.url} {failed.failure}"))
        try:
            yield page
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                # Where it stopped, for whoever reads the failure (git-ignored).
                page.screenshot(path=str(SCREENSHOTS / "failure.tmp.png"))
        finally:
            context.close()
            browser.close()


def shot(page: Page, name: str) -> None:
    """Save the step's screenshot once the page has settled (animations end, values render)."""
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def dialog(page: Page) -> Locator:
    return page.locator("dialog-data-entry-flow")


def live_state(stack: DevStack, token: str, key: str) -> dict[str, Any]:
    """The sensor's state once a newer telegram has updated it (the meter pushes every 5 seconds)."""
    states = request(stack.url, "GET", "/api/states", token=token)
    entity = next(
        state["entity_id"]
        for state in states
        if state["entity_id"].startswith("sensor.dlms_cosem") and state["entity_id"].endswith(key)
    )
    first = request(stack.url, "GET", f"/api/states/{entity}", token=token)
    # The update limit writes a value at most once a minute (a step at once): within 75 s, a newer one.
    for _ in range(150):
        time.sleep(0.5)
        state: dict[str, Any] = request(stack.url, "GET", f"/api/states/{entity}", token=token)
        if state["last_reported"] != first["last_reported"]:
            return state
    raise AssertionError(f"{entity} was not updated for 75 s")


def submit(page: Page) -> None:
    dialog(page).get_by_role("button", name=re.compile("^(Submit|Next)$")).click()


def test_setup_walkthrough(stack: DevStack, page: Page) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Log in.
    page.goto(stack.url)
    page.get_by_role("textbox", name="Username").fill(USERNAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    shot(page, "01-login")
    page.get_by_role("button", name="Log in").click()

    # Settings -> Devices & services -> Add integration -> DLMS/COSEM.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name=re.compile("Devices & services")).click()
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("DLMS")
    shot(page, "02-add-integration")
    page.get_by_text("DLMS/COSEM smart meter").click()

    # How the meter is connected: a customer port the meter pushes to.
    flow = dialog(page)
    flow.get_by_text("How is the meter connected?").wait_for()
    shot(page, "03-connection")
    flow.get_by_text("Serial port, meter pushes").click()

    # The port: no USB adapter here, so "Enter manually"; a pty carries no parity.
    flow.get_by_text("Baud rate").first.wait_for()
    flow.get_by_label("Parity").click()
    page.get_by_text("None (8N1)", exact=True).click()
    shot(page, "04-serial-port")
    submit(page)
    flow.get_by_role("textbox", name="Serial port").fill(str(stack.meters["push"].link))
    submit(page)

    # A wrong key first: the meter's telegrams do not decrypt, and the form says so.
    flow.get_by_role("textbox", name="Encryption key").fill(WRONG_KEY)
    submit(page)
    # The wait shows its progress when the meter takes more than two seconds to push (it pushes every 5).
    flow.get_by_text(re.compile("Waiting up to|Wrong encryption key")).first.wait_for()
    if flow.get_by_text(re.compile("Waiting up to")).count():
        shot(page, "05-waiting-for-a-telegram")
    flow.get_by_text("Wrong encryption key").wait_for()
    shot(page, "06-wrong-key")
    flow.get_by_role("textbox", name="Encryption key").fill(PUSH_KEY)
    submit(page)

    # The meter's objects with their current values; energy, power, voltage and current preselected.
    flow.get_by_text("Sensors").first.wait_for()
    shot(page, "07-objects")
    submit(page)
    flow.get_by_role("textbox", name="Device name").wait_for()
    shot(page, "08-created")
    flow.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()

    # The device and its entities with live values.
    token = stack.login()
    entries = request(stack.url, "GET", "/api/config/config_entries/entry?domain=dlms_cosem", token=token)
    assert len(entries) == 1
    page.goto(f"{stack.url}/config/integrations/integration/dlms_cosem")
    page.get_by_text("1 device").first.click()
    page.get_by_text("Energy import").wait_for()
    shown = page.get_by_text(re.compile(r"\d[\d,]*\.\d{3}\s*kWh"))
    expect(shown.first).to_be_visible()
    assert shown.count() == 2  # energy import and export, with their unit
    shot(page, "09-device")
    power = live_state(stack, token, "power_import")
    assert power["attributes"]["unit_of_measurement"] == "W"
    assert float(power["state"]) >= 0
    energy = live_state(stack, token, "energy_import")
    assert energy["attributes"]["device_class"] == "energy"
    assert energy["attributes"]["state_class"] == "total_increasing"
    assert float(energy["state"]) > 0

    # The energy import sensor in the Energy dashboard, as the grid consumption.
    page.goto(f"{stack.url}/config/energy")
    page.get_by_role("button", name="Add grid connection").click()
    page.get_by_text("Select a statistic").first.click()
    page.get_by_text("Energy import", exact=True).click()
    shot(page, "10-energy-grid")
    page.get_by_role("button", name="Save").click()
    grid = page.locator("ha-energy-grid-settings")
    expect(grid.get_by_text("Energy import")).to_be_visible()
    shot(page, "11-energy-configured")


# The energy import's value with its unit (a no-break space between), beside its name: after the name up
# to Home Assistant 2026.10, before it in 2026.11.
ENERGY_SHOWN = re.compile(r"Energy import\s*[\d,]+\.\d{3}\s*kWh|[\d,]+\.\d{3}\s*kWh\s*Energy import")
ERROR_WITHIN = 10.0  # s: a wrong port or a stopped bridge is said at once, not after the 30 s wait


def log_in(stack: DevStack, page: Page) -> None:
    page.goto(stack.url)
    page.get_by_role("textbox", name="Username").fill(USERNAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Settings").wait_for()


def add_meter(stack: DevStack, page: Page, connection: str) -> Locator:
    """Settings -> Devices & services -> Add integration -> DLMS/COSEM, then how the meter is connected."""
    page.goto(f"{stack.url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("DLMS")
    page.get_by_text("DLMS/COSEM smart meter").click()
    flow = dialog(page)
    flow.get_by_text("How is the meter connected?").wait_for()
    flow.get_by_text(connection).click()
    return flow


def bridge_security_form(stack: DevStack, page: Page, port: int) -> Locator:
    """A pushing meter behind a bridge on 127.0.0.1 ``port``, up to the (empty) security form."""
    flow = add_meter(stack, page, "Network, meter pushes")
    flow.get_by_role("textbox", name="Host").fill("127.0.0.1")
    flow.get_by_role("spinbutton", name="Port").fill(str(port))
    submit(page)
    flow.get_by_role("textbox", name="Encryption key").wait_for()
    return flow


def close(page: Page) -> None:
    dialog(page).get_by_role("button", name="Close").first.click()
    page.wait_for_timeout(500)


def test_first_week_walkthrough(stack: DevStack, page: Page) -> None:
    """The first week of a real owner: the common mistakes, a Norwegian meter, a reload."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(stack, page)

    # A serial port that is not there: the form says so within seconds, not after a wait that never ends.
    flow = add_meter(stack, page, "Serial port, meter pushes")
    flow.get_by_text("Baud rate").first.wait_for()
    submit(page)
    flow.get_by_role("textbox", name="Serial port").fill("/dev/ttyUSB7")
    submit(page)
    flow.get_by_role("textbox", name="Encryption key").wait_for()
    started = time.monotonic()
    submit(page)
    flow.get_by_text("The serial port cannot be opened").wait_for(timeout=ERROR_WITHIN * 1000)
    assert time.monotonic() - started < ERROR_WITHIN
    shot(page, "12-port-cannot-be-opened")
    close(page)

    # A bridge that is not running: the connection is refused, and the form says that.
    flow = bridge_security_form(stack, page, free_port())
    started = time.monotonic()
    submit(page)
    flow.get_by_text("The connection was refused").wait_for(timeout=ERROR_WITHIN * 1000)
    assert time.monotonic() - started < ERROR_WITHIN
    shot(page, "13-connection-refused")
    close(page)

    # A Norwegian Kaifa meter behind ser2net: list 1 (power alone, no code) comes first, list 2 names it.
    assert stack.norwegian_port is not None
    flow = bridge_security_form(stack, page, stack.norwegian_port)
    submit(page)
    # Named values with their units, as the sensors will show them; the hourly totals offered too.
    flow.get_by_text(re.compile(r"Power import \(1\.0\.1\.7\.0\.255\) - [\d\u202f]+ W")).wait_for()
    expect(flow.get_by_text("Voltage L1 (1.0.32.7.0.255) - 228.3 V")).to_be_visible()
    expect(flow.get_by_text("Current L2 (1.0.51.7.0.255) - 4.31 A")).to_be_visible()
    expect(flow.get_by_text("Energy import (1.0.1.8.0.255)", exact=True)).to_be_visible()
    expect(flow.get_by_text(re.compile("Value 1 of"))).to_have_count(0)
    shot(page, "14-norwegian-objects")
    submit(page)
    flow.get_by_role("textbox", name="Device name").wait_for()
    assert flow.get_by_role("textbox", name="Device name").input_value() == "Kaifa 7340157011274532"
    flow.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()

    # The device says who the meter is; its energy comes with list 3.
    token = stack.login()
    energy = live_total(stack, token, "sensor.kaifa_7340157011274532_energy_import")
    assert "value_restored" not in energy["attributes"]
    page.goto(f"{stack.url}/config/devices/dashboard")
    page.get_by_text("Kaifa 7340157011274532").first.click()
    page.get_by_text("MA304H4D").wait_for()
    # The page's text, not its elements: Home Assistant 2026.11 lays the device card out otherwise.
    body = page.locator("body")
    expect(body).to_contain_text(re.compile(r"MA304H4D\s*by Kaifa"))
    expect(body).to_contain_text("Serial number: 7340157011274532")
    expect(body).to_contain_text(ENERGY_SHOWN)
    device_page = page.url
    shot(page, "15-norwegian-device")

    # Saving the options reloads the entry: the hourly energy stays, marked as restored, until list 3.
    page.goto(f"{stack.url}/config/integrations/integration/dlms_cosem")
    page.get_by_role("button", name=re.compile("^Configure$", re.I)).first.click()
    dialog(page).get_by_text("Meter options").wait_for()
    submit(page)
    restored = reloaded_total(stack, token, "sensor.kaifa_7340157011274532_energy_import")
    assert restored["state"] == energy["state"]
    page.goto(device_page)
    page.get_by_text("MA304H4D").wait_for()
    expect(body).to_contain_text(ENERGY_SHOWN)
    live_total(stack, token, "sensor.kaifa_7340157011274532_power_import")  # list 2 named the power again
    still = request(stack.url, "GET", "/api/states/sensor.kaifa_7340157011274532_energy_import", token=token)
    assert (
        still["attributes"].get("value_restored") is True
    )  # list 3 has not come yet: this is the kept value
    shot(page, "16-after-reload")


def live_total(stack: DevStack, token: str, entity_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The total's state once the meter has sent it (list 3 comes about 24 s into a connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, Any] = request(stack.url, "GET", f"/api/states/{entity_id}", token=token)
        if state["state"] not in ("unknown", "unavailable"):
            return state
        time.sleep(1)
    raise AssertionError(f"{entity_id} had no value within {timeout:.0f} s")


def reloaded_total(stack: DevStack, token: str, entity_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """The total's state once the entry has reloaded: its last value, marked as restored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, Any] = request(stack.url, "GET", f"/api/states/{entity_id}", token=token)
        if state["attributes"].get("value_restored") is True:
            return state
        time.sleep(0.2)
    raise AssertionError(f"{entity_id} was not restored within {timeout:.0f} s of the reload")
