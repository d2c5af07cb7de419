"""A real Home Assistant with this integration and six meters (scripts/develop runs this).

The meters are the project's simulator on ptys: a polled meter (HDLC, LLS password), a pushing meter
(M-Bus telegrams encrypted with AES-GCM every few seconds), a Luxembourg Smarty (DSMR text telegrams
inside authenticated general-glo-ciphering APDUs, 115200 baud, every few seconds) and an optical port
without HDLC (IEC 62056-21 mode C data readout); and a Norwegian Kaifa meter's HAN port served over TCP
as ser2net would (scripts/norwegian_meter.py: list 1 first, no OBIS codes, totals hourly); and, when
Debian's mosquitto is installed, a P1 meter publishing its telegrams in hex to an MQTT topic, read
through Home Assistant's MQTT integration (set up first, as a user would). Home Assistant runs from the
venv with the configuration directory given (config/ by default) and its HTTP settings stored
(127.0.0.1, the port asked for). On the first start the owner is made through the onboarding API (the
other onboarding steps are marked done: configuration.yaml holds the location), and, unless told
otherwise, the meters are added through the integration's own config flow (the REST API the frontend
uses), so the entries are what a user would get. The meters' ptys change on every start: the entries
name stable links in the configuration directory (``meters/polled``, ``meters/push``, ``meters/smarty``,
``meters/optical``), pointed at the new ptys first; the Norwegian meter listens on Home Assistant's port
+ 1000.

The browser walkthrough (tests/e2e) uses :class:`DevStack` with a fresh configuration directory and
without the entries, to add a meter through the UI itself.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
USERNAME = "dev"
PASSWORD = "dlms-cosem"
LLS_PASSWORD = "12345678"
PUSH_KEY = "000102030405060708090A0B0C0D0E0F"
PUSH_INTERVAL = 5  # seconds between the push meter's telegrams
POLLED_SERIAL = "20260001"
PUSH_SERIAL = "20260002"
SMARTY_SERIAL = "20260003"
OPTICAL_SERIAL = "20260004"
MQTT_SERIAL = "20260005"
MQTT_TOPIC = "han/p1"
SMARTY_KEY = "0F0E0D0C0B0A09080706050403020100"
SMARTY_AUTH_KEY = "00112233445566778899AABBCCDDEEFF"
"""The authentication key every Luxembourg Smarty meter shares (the encryption key is the meter's own)."""
NORWEGIAN_PORT_OFFSET = 1000  # the Norwegian meter listens on Home Assistant's port + 1000
START_TIMEOUT = 180.0
PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_us() -> None:
    """In each child: SIGTERM when this process dies, however it dies (no orphaned server or meter)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start_listening(
    command: list[str], what: str, key: str = "listening"
) -> tuple[subprocess.Popen[str], str]:
    """Start a meter process, which prints ``{"listening": ...}`` once it listens; it and where it listens.

    An MQTT publisher prints ``{"publishing": ...}`` once it is connected to the broker (``key``).
    """
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_us,  # noqa: PLW1509 - only prctl, which is safe there
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"{what} did not start (exit code {process.wait()})")
    return process, str(json.loads(line)[key])


@dataclass
class Meter:
    """A simulator process and the link that names its pty."""

    name: str
    process: subprocess.Popen[str]
    pty: str
    link: Path


@dataclass
class DevStack:
    """The simulators and Home Assistant, started in that order and stopped the other way round."""

    config: Path = CONFIG
    port: int = 8123
    log: Path | None = None
    meters: dict[str, Meter] = field(default_factory=dict)
    home_assistant: subprocess.Popen[bytes] | None = None
    norwegian: subprocess.Popen[str] | None = None
    norwegian_port: int | None = None
    broker: subprocess.Popen[bytes] | None = None
    broker_port: int | None = None
    mqtt_meter: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the simulated meters ----------------------------------------------------------------------

    def start_meters(self) -> None:
        """The polled, pushing, Smarty and optical meters, each on its own pty, linked from config/meters/."""
        # --image-transfer: firmware identifiers and an image transfer object, so the update entity the
        # README promises for a polled meter is there.
        self.start_meter(
            "polled",
            ["--auth", "lls", "--password", LLS_PASSWORD, "--serial", POLLED_SERIAL, "--image-transfer"],
        )
        self.start_meter(
            "push",
            [
                "--serial",
                PUSH_SERIAL,
                # Home Assistant keeps the last invocation counter and drops older telegrams as
                # replays: the clock makes a restarted meter carry on above it, as a real one does.
                "--invocation-counter",
                str(int(time.time())),
                "--push",
                str(PUSH_INTERVAL),
                "--push-framing",
                "mbus",
                "--push-security",
                "encrypted",
                "--key",
                PUSH_KEY,
            ],
        )
        self.start_meter(
            "smarty",
            [
                "--serial",
                SMARTY_SERIAL,
                "--invocation-counter",
                str(int(time.time())),
                "--push",
                str(PUSH_INTERVAL),
                "--push-framing",
                "p1",
                "--push-security",
                "authenticated-encrypted",
                "--key",
                SMARTY_KEY,
                "--auth-key",
                SMARTY_AUTH_KEY,
            ],
        )

        # An optical port without HDLC: the serial polled flow finds out it answers a mode C readout.
        self.start_meter("optical", ["--serial", OPTICAL_SERIAL, "--readout", "c"])

    def start_norwegian_meter(self, port: int, hourly: float = 3600.0, list_3_slot: int = 2) -> int:
        """The Norwegian Kaifa meter on TCP ``port`` of 127.0.0.1 (0: any free one); the port it took."""
        command = [
            sys.executable,
            "scripts/norwegian_meter.py",
            *("--port", str(port), "--hourly", str(hourly), "--list-3-slot", str(list_3_slot)),
        ]
        self.norwegian, listening = _start_listening(command, "the Norwegian meter")
        self.norwegian_port = int(listening)
        return self.norwegian_port

    def start_mqtt_meter(self) -> int | None:
        """Debian's mosquitto on a free port and a P1 meter publishing to it in hex, as ESP readers do.

        The broker's port, or None when mosquitto is not installed (scripts/setup installs it).
        """
        mosquitto = shutil.which("mosquitto") or next(
            (path for path in ("/usr/sbin/mosquitto",) if Path(path).exists()), None
        )
        if mosquitto is None:
            return None
        port = free_port()
        conf = self.config / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            # Started as root, mosquitto would become the user "mosquitto"; stay who we are.
            f"user {getpass.getuser()}\n"
        )
        self.broker = subprocess.Popen(
            [mosquitto, "-c", str(conf)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_us,  # noqa: PLW1509 - only prctl, which is safe there
        )
        deadline = time.monotonic() + 10
        while not _accepting(port):
            if self.broker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start")
            time.sleep(0.1)
        self.broker_port = port
        command = [
            sys.executable,
            *("-m", "custom_components.dlms_cosem.dlms", "simulate", "--serial", MQTT_SERIAL),
            *("--push", str(PUSH_INTERVAL), "--push-framing", "p1"),
            *("--mqtt", f"127.0.0.1:{port}", "--mqtt-topic", MQTT_TOPIC, "--mqtt-payload", "hex"),
        ]
        self.mqtt_meter, _ = _start_listening(command, "the MQTT meter", key="publishing")
        return port

    def start_meter(self, name: str, options: list[str]) -> Meter:
        command = [sys.executable, "-m", "custom_components.dlms_cosem.dlms", "simulate", "--pty", *options]
        process, pty = _start_listening(command, f"the {name} meter simulator")
        link = self.config / "meters" / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(pty)
        meter = Meter(name, process, pty, link)
        self.meters[name] = meter
        return meter

    # --- Home Assistant ----------------------------------------------------------------------------

    def start_home_assistant(self) -> None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is in use: another Home Assistant? (--port N)")
        self.config.mkdir(parents=True, exist_ok=True)
        if not (self.config / "configuration.yaml").exists():
            # Else Home Assistant writes its own, with default_config: camera, stream and ffmpeg, which
            # need libraries the environment does not have, and discovery the meters do not use.
            prepare_config(self.config)
        custom = self.config / "custom_components"
        if not custom.exists():
            custom.symlink_to(ROOT / "custom_components")
        skip_onboarding_steps(self.config)
        write_http_config(self.config, self.port)
        output = fresh_log(self.log) if self.log is not None else subprocess.DEVNULL
        # --skip-pip: everything comes from the venv (requirements_test.txt), nothing is installed.
        self.home_assistant = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "--config", str(self.config), "--skip-pip"],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_us,  # noqa: PLW1509 - only prctl, which is safe there
        )

    def wait_until_serving(self, timeout: float = START_TIMEOUT) -> None:
        """Until the HTTP server answers (any status: a 401 or 404 is an answer too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.home_assistant is not None and self.home_assistant.poll() is not None:
                raise RuntimeError(f"Home Assistant exited with {self.home_assistant.returncode}")
            try:
                request(self.url, "GET", "/auth/providers")
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.5)
                continue
            return
        raise TimeoutError(f"Home Assistant did not answer on {self.url} within {timeout:.0f} s")

    def wait_until_running(self, token: str, timeout: float = START_TIMEOUT) -> None:
        """Until Home Assistant has finished its start (every integration set up)."""
        deadline = time.monotonic() + timeout
        while request(self.url, "GET", "/api/config", token=token)["state"] != "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"Home Assistant did not finish starting within {timeout:.0f} s")
            time.sleep(0.5)

    def stop(self) -> None:
        """Home Assistant first (it closes the ports), then the meters."""
        processes: list[subprocess.Popen[Any]] = []
        if self.home_assistant is not None:
            processes.append(self.home_assistant)
        processes += [meter.process for meter in self.meters.values()]
        processes += [
            process for process in (self.norwegian, self.mqtt_meter, self.broker) if process is not None
        ]
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        for meter in self.meters.values():
            if meter.process.stdout is not None:
                meter.process.stdout.close()
        for publisher in (self.norwegian, self.mqtt_meter):
            if publisher is not None and publisher.stdout is not None:
                publisher.stdout.close()

    # --- onboarding and the entries ----------------------------------------------------------------

    def onboard(self) -> str:
        """Create the owner on the first start, finish the other steps; an access token either way."""
        client_id = f"{self.url}/"
        try:
            status = request(self.url, "GET", "/api/onboarding")
        except urllib.error.HTTPError:
            status = []  # onboarded: the onboarding API is gone
        steps = {step["step"]: step["done"] for step in status}
        if not status:
            return self.login()
        if not steps.get("user", False):
            created = request(
                self.url,
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": client_id,
                    "name": "Developer",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            )
            token = self.token(created["auth_code"])
        else:
            token = self.login()
        if not steps.get("core_config", False):
            request(self.url, "POST", "/api/onboarding/core_config", {}, token)
        if not steps.get("analytics", False):
            request(self.url, "POST", "/api/onboarding/analytics", {}, token)
        if not steps.get("integration", False):
            request(
                self.url,
                "POST",
                "/api/onboarding/integration",
                {"client_id": client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
                token,
            )
        return token

    def token(self, code: str) -> str:
        form = {"grant_type": "authorization_code", "code": code, "client_id": f"{self.url}/"}
        answer = request(self.url, "POST", "/auth/token", form=form)
        return str(answer["access_token"])

    def login(self) -> str:
        """Log in with the development user through the login flow the frontend uses."""
        client_id = f"{self.url}/"
        flow = request(
            self.url,
            "POST",
            "/auth/login_flow",
            {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
        )
        result = request(
            self.url,
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": client_id, "username": USERNAME, "password": PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"cannot log in as {USERNAME}: {result.get('errors')}")
        return self.token(result["result"])

    def add_meters(self, token: str) -> list[str]:
        """Add the meters through the config flow unless entries exist; the titles of the new ones."""
        entries = request(self.url, "GET", "/api/config/config_entries/entry?domain=dlms_cosem", token=token)
        if entries:
            return []
        norwegian = []
        if self.norwegian_port is not None:
            norwegian.append(
                self.run_flow(token, "network_push", [{"host": "127.0.0.1", "port": self.norwegian_port}, {}])
            )
        mqtt = []
        if self.broker_port is not None:
            self.add_mqtt_integration(token)
            mqtt.append(self.run_flow(token, "mqtt_push", [{"topic": MQTT_TOPIC, "payload": "auto"}, {}]))
        return [
            *norwegian,
            *mqtt,
            self.run_flow(
                token,
                "serial_poll",
                [
                    {"port": "manual", "baudrate": "9600", "parity": "n", "advanced": {}},
                    {"port": str(self.meters["polled"].link)},
                    {"authentication": "lls", "password": LLS_PASSWORD},
                ],
            ),
            self.run_flow(
                token,
                "serial_push",
                [
                    # A pty carries no parity: 8N1 (a real M-Bus customer port is 2400 8E1).
                    {"port": "manual", "baudrate": "2400", "parity": "n"},
                    {"port": str(self.meters["push"].link)},
                    {"security_suite": "0", "encryption_key": PUSH_KEY},
                ],
            ),
            self.run_flow(
                token,
                "serial_poll",
                [
                    {"port": "manual", "baudrate": "9600", "parity": "n", "advanced": {}},
                    {"port": str(self.meters["optical"].link)},
                    {"authentication": "none"},
                ],
            ),
            self.run_flow(
                token,
                "serial_push",
                [
                    {"port": "manual", "baudrate": "115200", "parity": "n"},
                    {"port": str(self.meters["smarty"].link)},
                    {
                        "security_suite": "0",
                        "encryption_key": SMARTY_KEY,
                        "authentication_key": SMARTY_AUTH_KEY,
                    },
                ],
            ),
        ]

    def add_mqtt_integration(self, token: str) -> None:
        """Home Assistant's MQTT integration, connected to the broker, as a user sets it up first."""
        path = "/api/config/config_entries/flow"
        result = request(self.url, "POST", path, {"handler": "mqtt"}, token)
        result = request(
            self.url,
            "POST",
            f"{path}/{result['flow_id']}",
            {
                "broker": "127.0.0.1",
                "port": self.broker_port,
                # What the form's "advanced" section sends when left as it is.
                "other_settings": {"set_client_cert": False, "set_ca_cert": "off", "transport": "tcp"},
            },
            token,
        )
        if result["type"] != "create_entry":
            raise RuntimeError(f"the MQTT integration was not set up: {result}")

    def wait_for_values(self, token: str, timeout: float = 60.0) -> list[str]:
        """Until every meter's energy import has a value (a push meter's first telegram takes a moment).

        The sensors still without a value at the timeout, for the user to look into.
        """
        deadline = time.monotonic() + timeout
        while True:
            waiting = [
                state["entity_id"]
                for state in request(self.url, "GET", "/api/states", token=token)
                if state["entity_id"].startswith("sensor.dlms_cosem")
                and state["entity_id"].endswith("energy_import")
                and state["state"] in {"unavailable", "unknown"}
            ]
            if not waiting or time.monotonic() > deadline:
                return waiting
            time.sleep(0.5)

    def run_flow(self, token: str, kind: str, forms: list[dict[str, Any]]) -> str:
        path = "/api/config/config_entries/flow"
        result = request(self.url, "POST", path, {"handler": "dlms_cosem"}, token)
        flow = f"{path}/{result['flow_id']}"
        result = request(self.url, "POST", flow, {"next_step_id": kind}, token)
        for form in forms:
            result = request(self.url, "POST", flow, form, token)
            if result.get("errors"):
                raise RuntimeError(f"{kind}: the {result['step_id']} step said {result['errors']}")
        deadline = time.monotonic() + 60
        while result["type"] == "progress" and time.monotonic() < deadline:
            time.sleep(1)
            result = request(self.url, "GET", flow, token=token)
        if result.get("step_id") != "objects":
            raise RuntimeError(f"{kind}: expected the objects step, got {result}")
        preselected = next(item for item in result["data_schema"] if item["name"] == "objects")["default"]
        result = request(self.url, "POST", flow, {"objects": preselected}, token)
        if result["type"] != "create_entry":
            raise RuntimeError(f"{kind}: the flow ended with {result}")
        return str(result["title"])


def request(
    url: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    form: dict[str, str] | None = None,
) -> Any:
    """One JSON (or form) request to Home Assistant's HTTP API; the decoded JSON answer."""
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    call = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(call, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def skip_onboarding_steps(config: Path) -> None:
    """On the first start, mark every onboarding step but the user as done.

    The user is then made through the onboarding API (:meth:`DevStack.onboard`), which hashes the
    password and makes the token as Home Assistant does. The location step would set up weather, radio
    and text-to-speech integrations that need the internet; configuration.yaml holds the location.
    """
    path = config / ".storage" / "onboarding"
    if path.exists():
        return
    from homeassistant.components.onboarding import STORAGE_KEY, STORAGE_VERSION  # noqa: PLC0415
    from homeassistant.components.onboarding.const import STEP_USER, STEPS  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    done = [step for step in STEPS if step != STEP_USER]
    stored = {"version": STORAGE_VERSION, "minor_version": 1, "key": STORAGE_KEY, "data": {"done": done}}
    path.write_text(json.dumps(stored, indent=2), encoding="utf-8")


def write_http_config(config: Path, port: int) -> None:
    """Serve on 127.0.0.1 and ``port``, confirmed (Home Assistant keeps its HTTP settings in storage).

    Settings from configuration.yaml would be migrated once and then have to be confirmed in the UI;
    stored here as the confirmed ones, each start can use another port.
    """
    from homeassistant.components.http import config as http  # noqa: PLC0415

    settings = http.HTTP_STORAGE_SCHEMA({"server_host": ["127.0.0.1"], "server_port": port})
    settings.update({"created_at": "2026-01-01T00:00:00+00:00", "error": None, "error_message": None})
    data = {"stable": settings, "pending": None, "yaml_migration_done": True}
    stored = {
        "version": http.STORAGE_VERSION,
        "minor_version": http.STORAGE_MINOR_VERSION,
        "key": http.STORAGE_KEY,
        "data": data,
    }
    path = config / ".storage" / http.STORAGE_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2), encoding="utf-8")


def fresh_log(log: Path) -> Any:
    """The log of this run, opened for writing; the previous run's is kept as ``<log>.1``.

    One run per file, as Home Assistant keeps its own log: appended runs grew without end and mixed
    tracebacks of earlier starts into what the user reads now.
    """
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))
    return log.open("wb")


def _accepting(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_config(target: Path) -> None:
    """A fresh configuration directory with the repository's configuration.yaml (for tests)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG / "configuration.yaml", target / "configuration.yaml")


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's HTTP port (8123)")
    parser.add_argument("--config", type=Path, default=CONFIG, help="configuration directory (config/)")
    parser.add_argument("--no-meters", action="store_true", help="do not add the simulated meters as entries")
    args = parser.parse_args()
    started = time.monotonic()
    stack = DevStack(config=args.config.resolve(), port=args.port, log=args.config.resolve() / "develop.log")
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, stop)
    try:
        stack.config.mkdir(parents=True, exist_ok=True)
        stack.start_meters()
        for meter in stack.meters.values():
            print(f"develop: {meter.name} meter on {meter.pty} ({meter.link.relative_to(ROOT)})", flush=True)
        norwegian = stack.start_norwegian_meter(args.port + NORWEGIAN_PORT_OFFSET)
        print(f"develop: Norwegian Kaifa meter on tcp 127.0.0.1:{norwegian}", flush=True)
        broker = stack.start_mqtt_meter()
        if broker is None:
            print("develop: no mosquitto (scripts/setup installs it): no MQTT meter", flush=True)
        else:
            print(
                f"develop: P1 meter publishing hex to {MQTT_TOPIC} on mosquitto 127.0.0.1:{broker}",
                flush=True,
            )
        stack.start_home_assistant()
        print(f"develop: starting Home Assistant (log: {stack.log}) ...", flush=True)
        stack.wait_until_serving()
        token = stack.onboard()
        stack.wait_until_running(token)
        if not args.no_meters:
            for title in stack.add_meters(token):
                print(f"develop: added {title}", flush=True)
            for entity in stack.wait_for_values(token):
                print(f"develop: {entity} has no value yet (see {stack.log})", flush=True)
        print(
            f"\nHome Assistant is ready after {time.monotonic() - started:.0f} s: {stack.url}\n"
            f"  login: {USERNAME} / {PASSWORD}\n"
            f"  polled meter: LLS password {LLS_PASSWORD}; push meter: encryption key {PUSH_KEY}\n"
            f"  Smarty meter: encryption key {SMARTY_KEY}, authentication key {SMARTY_AUTH_KEY}\n"
            "Ctrl-C stops Home Assistant and the meters.",
            flush=True,
        )
        assert stack.home_assistant is not None
        stack.home_assistant.wait()
        print(f"develop: Home Assistant exited with {stack.home_assistant.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndevelop: stopping ...", flush=True)
        return 0
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"develop: {err} (see {stack.log})", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
