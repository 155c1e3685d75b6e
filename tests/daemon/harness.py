"""A test harness for the whole daemon: a config in a temp dir, the daemon as a real
subprocess (with a real sd_notify socket) or in-process, and journal helpers.

Waiting is always for a condition with a deadline (the notify socket's READY, an event in the
journal), never a sleep that hopes something happened.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asnd.config import Config, load_config
from asnd.core.drive import replay
from asnd.core.portfolio import DaemonState
from asnd.runtime import core_config
from journal.events import Event
from journal.reader import Follower, JournalReader

REPO = Path(__file__).resolve().parents[2]


def make_config(root: Path, *, config_file: str = "asnd.toml", **overrides: str) -> Path:
    """Copy etc/ into ``root`` and adjust the config (``etc/<config_file>``) for a test run.

    ``overrides`` replace ``key = value`` lines (first occurrence) by name, e.g.
    ``snapshot_every_events="200"``. The control socket goes to a short path (Unix socket
    paths are limited to 107 bytes; pytest's tmp paths can be longer).
    """
    shutil.copytree(REPO / "etc", root / "etc")
    path = root / "etc" / config_file
    text = path.read_text()
    sock_dir = Path(tempfile.mkdtemp(prefix="asn-", dir="/tmp"))
    settings = {"socket": f'"{sock_dir}/control.sock"', "grace_ms": "5000", **overrides}
    lines = text.splitlines()
    for key, value in settings.items():
        for i, line in enumerate(lines):
            if line.startswith(f"{key} ="):
                lines[i] = f"{key} = {value}"
                break
        else:
            raise KeyError(key)
    path.write_text("\n".join(lines) + "\n")
    return path


def slot_setting(config_path: Path, slot: int, key: str, value: str) -> None:
    """Set ``key`` of the ``slot``-th [[slot]] table."""
    lines = config_path.read_text().splitlines()
    seen = -1
    for i, line in enumerate(lines):
        if line.strip() == "[[slot]]":
            seen += 1
        elif seen == slot and line.startswith(f"{key} ="):
            lines[i] = f"{key} = {value}"
            config_path.write_text("\n".join(lines) + "\n")
            return
    raise KeyError(f"slot {slot} has no {key}")


def journal_events(config: Config) -> list[Event]:
    return list(JournalReader(config.journal.directory).events())


def fold(config: Config, events: list[Event]) -> DaemonState:
    """The state a fresh core reaches by applying ``events`` (a full replay, no snapshot)."""
    state = DaemonState(core_config(config))
    replay(state, events)
    return state


def wait_for(
    config: Config, predicate: Callable[[Event], bool], timeout: float = 30.0, from_seq: int = 0
) -> Event:
    """The first journaled event (from ``from_seq``) matching ``predicate``."""
    follower = Follower(config.journal.directory, from_seq=from_seq)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for event in follower.poll():
                if predicate(event):
                    return event
            time.sleep(0.005)  # polling a file another process writes; the deadline bounds it
    finally:
        follower.close()
    raise TimeoutError("no matching event was journaled in time")


class DaemonProcess:
    """``asnd run`` as a subprocess, as systemd runs it (NOTIFY_SOCKET, SIGTERM, SIGKILL)."""

    def __init__(self, config_path: Path, *, deaf_systemd: bool = False) -> None:
        """``deaf_systemd``: a notify socket with a small buffer, unread until ``listen()``."""
        self.config_path = config_path
        self.config = load_config(config_path)
        self._dir = Path(tempfile.mkdtemp(prefix="asn-n-", dir="/tmp"))
        self.notify_path = self._dir / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if deaf_systemd:
            self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        self.notify.bind(str(self.notify_path))
        self.log_path = self._dir / "asnd.log"
        self.proc: subprocess.Popen[str] | None = None
        self.messages: list[str] = []
        # Read as systemd does, always: a test busy elsewhere must not fill the daemon's
        # notify queue (issue 14: watchdog pings filled it and STOPPING=1 was dropped).
        self._received: queue.Queue[str] = queue.Queue()
        self._reading = threading.Event()
        self._reader = threading.Thread(target=self._read_notify, name="notify", daemon=True)
        if not deaf_systemd:
            self.listen()

    def listen(self) -> None:
        """Read the notify socket from now on, in a thread, as systemd would."""
        if not self._reading.is_set():
            self._reading.set()
            self._reader.start()

    def _read_notify(self) -> None:
        self.notify.settimeout(0.1)  # wakes to notice close()
        while self._reading.is_set():
            try:
                self._received.put(self.notify.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def start(self, *, watchdog_usec: int | None = None) -> None:
        # What an earlier (killed) process said is not news about this one: a READY=1 still
        # queued from it must not satisfy ``wait_notify`` for the new one.
        while not self._received.empty():
            self.messages.append(self._received.get_nowait())
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify_path), "PYTHONPATH": str(REPO)}
        if watchdog_usec is not None:  # as systemd sets it for WatchdogSec=
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        with self.log_path.open("a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "asnd.daemon", "run", "--config", str(self.config_path)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
                env=env,
            )

    def wait_notify(self, wanted: str, timeout: float = 30.0) -> None:
        """Wait for an sd_notify datagram containing ``wanted`` (e.g. "READY=1")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self._received.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            self.messages.append(message)
            if wanted in message.split("\n"):
                return
        stderr = self._stderr_if_dead()
        raise TimeoutError(f"daemon never sent {wanted}; messages {self.messages}; {stderr}")

    def _stderr_if_dead(self) -> str:
        if self.proc is not None and self.proc.poll() is not None:
            return self.log_path.read_text()[-4000:]
        return "still running"

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.run(
            [sys.executable, "-m", "asnd.ctl", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )

    def status(self) -> dict[str, Any]:
        done = self.ctl("status", "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        if self._reading.is_set():
            self._reading.clear()
            self._reader.join(timeout=5)
        self.notify.close()
        shutil.rmtree(self._dir, ignore_errors=True)
