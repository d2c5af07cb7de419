"""A real MQTT broker for the tests: Debian's mosquitto (scripts/setup installs it) on a free port.

Each broker runs on 127.0.0.1 with its own configuration in a temporary folder: anonymous clients, no
persistence, and optionally one user with a password. The stack-only run (scripts/test-stack) may be on a
machine without mosquitto: tests that need one skip there with :data:`NO_BROKER` as the reason.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def _tool(name: str) -> str | None:
    """Debian puts the broker in /usr/sbin (not on every PATH) and its clients in /usr/bin."""
    found = shutil.which(name)
    if found is None:
        found = next(
            (f"{folder}/{name}" for folder in ("/usr/sbin", "/usr/bin") if Path(folder, name).exists()), None
        )
    return found


MOSQUITTO = _tool("mosquitto")
MOSQUITTO_PASSWD = _tool("mosquitto_passwd")
MOSQUITTO_SUB = _tool("mosquitto_sub")
NO_BROKER = "mosquitto (and mosquitto-clients) are not installed: scripts/setup installs them"
HAVE_BROKER = MOSQUITTO is not None and MOSQUITTO_PASSWD is not None and MOSQUITTO_SUB is not None
START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Broker:
    """A running broker: where clients connect."""

    host: str
    port: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepting(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def mosquitto(folder: Path, *, user: tuple[str, str] | None = None) -> Iterator[Broker]:
    """Start mosquitto on a free port of 127.0.0.1 and stop it afterwards (its log is in ``folder``)."""
    assert MOSQUITTO is not None, NO_BROKER
    port = _free_port()
    lines = [
        f"listener {port} 127.0.0.1",
        # Started as root, mosquitto would become the user "mosquitto", who cannot read the test's folder.
        f"user {getpass.getuser()}",
        "persistence false",
        f"log_dest file {folder / 'mosquitto.log'}",
    ]
    if user is None:
        lines.append("allow_anonymous true")
    else:
        passwords = folder / "passwords"
        passwords.write_text("")
        passwords.chmod(0o600)
        subprocess.run(
            [str(MOSQUITTO_PASSWD), "-b", str(passwords), *user],
            check=True,
            capture_output=True,
        )
        lines += ["allow_anonymous false", f"password_file {passwords}"]
    config = folder / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepting(port):
            if process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto did not start: {process.stderr.read().decode() if process.stderr else ''}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not listen in time")
            time.sleep(0.05)
        yield Broker("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
