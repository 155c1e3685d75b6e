"""Alerts from the assembled daemon: ``asnd run`` on the sim venue as a subprocess with a real
TOML ``[alerts]`` section, and a local HTTP server on a loopback socket standing in for both
the webhook and Telegram's Bot API (``api_url`` points at it; the secrets come from the
environment, as they would from systemd credentials).

- A challenger dropped in the pit crew's directory that wins -> a promotion alert at both;
  ``asnctl kill all`` -> a halt alert (kind ``kill_all``) at both.
- With both endpoints down (nothing listens on their port), trading goes on: fills keep
  being journaled after the failed deliveries, and each failure is logged with its reason.
"""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from asnd.config import load_config
from asnd.daemon import main as asnd_main
from evolution.export import challenger_name
from journal.events import Fill, Kill, Promotion, TradingHalted

from .harness import REPO, DaemonProcess, make_config, wait_for
from .test_pitcrew_live import PROMOTION, champion_doc

TOKEN = "424242:AAH-test-bot-token"
CHAT = "-1009876543210"


class StandIn(ThreadingHTTPServer):
    """Records every POST as (path, JSON body); answers like the webhook / Telegram would."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.port = self.server_address[1]

    def wait(self, kind: str, title: str, timeout: float = 20.0) -> dict[str, dict[str, Any]]:
        """The first alert of ``kind`` at the webhook and the first whose text starts with
        ``title`` at Telegram (which is sent only the text), by destination; others pass."""
        found: dict[str, dict[str, Any]] = {}
        while len(found) < 2:
            path, body = self.received.get(timeout=timeout)
            if path.endswith("/sendMessage"):
                if body["text"].startswith(title + "\n"):
                    found.setdefault("telegram", body)
            elif body["kind"] == kind:
                found.setdefault(path, body)
        return found


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.put((self.path, body))
        answer = json.dumps({"ok": True, "result": {"message_id": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads the requests, not a log


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, name="stand-in", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def alerts_config(tmp_path: Path, port: int, extra: str = "", **overrides: str) -> Path:
    path = make_config(tmp_path, **overrides)
    text = path.read_text()
    head = text[: text.index("[alerts]")]
    path.write_text(
        head + "[alerts]\nattempts = 3\nretry_initial_ms = 50\nretry_max_ms = 200\n"
        "timeout_ms = 2000\n" + extra + "[alerts.webhook]\nenabled = true\nmin_interval_ms = 0\n"
        f'[alerts.telegram]\nenabled = true\nchat_id = "{CHAT}"\n'
        f'api_url = "http://127.0.0.1:{port}"\nmin_interval_ms = 0\n'
    )
    return path


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_promotion_and_kill_all_alerts_reach_the_webhook_and_telegram(
    tmp_path: Path, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seconds: start-up, then 4 promotion windows of 1 s of event time (test_pitcrew_live)."""
    monkeypatch.setenv("ASN_ALERTS_WEBHOOK_URL", f"http://127.0.0.1:{stand_in.port}/hook")
    monkeypatch.setenv("ASN_ALERTS_TELEGRAM_TOKEN", TOKEN)
    path = alerts_config(tmp_path, stand_in.port, **PROMOTION)
    daemon = DaemonProcess(path)
    try:
        daemon.start()
        daemon.wait_notify("READY=1")
        flat = champion_doc(tmp_path)
        flat["id"] = "flat-challenger"
        flat["signal"] = {"const": 0.0}
        challengers = daemon.config.challengers.directory
        challengers.mkdir(parents=True, exist_ok=True)
        (challengers / challenger_name(0, "flat-challenger")).write_text(json.dumps(flat))
        promoted = wait_for(daemon.config, lambda e: isinstance(e, Promotion), timeout=60)
        title = "ASN: slot 0 (BTCUSDT): challenger flat-challenger promoted"
        promotions = stand_in.wait("promotion", title)
        assert set(promotions) == {"/hook", "telegram"}
        hook = promotions["/hook"]
        assert hook["seq"] == promoted.seq
        assert hook["title"] == title
        assert hook["text"].startswith("challenger flat-challenger beat champion champion-btcusdt")
        assert promotions["telegram"]["chat_id"] == CHAT

        assert daemon.ctl("kill", "all").returncode == 0
        halted = wait_for(daemon.config, lambda e: isinstance(e, TradingHalted))
        halts = stand_in.wait("halt", "ASN: trading halted (kill_all)")
        assert set(halts) == {"/hook", "telegram"}
        assert halts["/hook"]["halt_kind"] == "kill_all"
        assert halts["/hook"]["seq"] == halted.seq
        assert halts["/hook"]["text"] == "kill all: operator: asnctl kill"
        assert halts["telegram"]["text"] == (
            "ASN: trading halted (kill_all)\nkill all: operator: asnctl kill"
        )
        log = daemon_log(daemon)  # a clean stop is the other test's (close() kills)
    finally:
        daemon.close()
    assert TOKEN not in log, "the bot token reached the log"
    assert "alert.delivery_failed" not in log


def daemon_log(daemon: DaemonProcess) -> str:
    return daemon.log_path.read_text() if daemon.log_path.exists() else ""


def test_with_the_endpoints_down_trading_goes_on_and_the_failures_are_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = free_port()
    monkeypatch.setenv("ASN_ALERTS_WEBHOOK_URL", f"http://127.0.0.1:{down}/hook")
    monkeypatch.setenv("ASN_ALERTS_TELEGRAM_TOKEN", TOKEN)
    path = alerts_config(tmp_path, down)
    daemon = DaemonProcess(path)
    try:
        daemon.start()
        daemon.wait_notify("READY=1")
        assert daemon.ctl("kill", "0").returncode == 0  # an alert for each destination
        kill = wait_for(daemon.config, lambda e: isinstance(e, Kill))
        # Both destinations fail all three attempts (backoff 50..200 ms), then give up.
        wait_log(daemon, "alert.undelivered", 2)
        # Trading went on meanwhile and after: fills on the other slots keep coming.
        after = wait_for(
            daemon.config, lambda e: isinstance(e, Fill) and e.slot != 0, from_seq=kill.seq
        )
        later = wait_for(
            daemon.config, lambda e: isinstance(e, Fill) and e.slot != 0, from_seq=after.seq + 1
        )
        assert later.seq > after.seq > kill.seq
        assert daemon.status()["daemon"]["state"] == "trading"
        # Stopping is not held up by deliveries that cannot happen.
        assert daemon.terminate() == 0
        log = daemon_log(daemon)
    finally:
        daemon.close()
    records = log_records(log)
    failed = [
        r for r in records if r.get("event") == "alert.delivery_failed" and r["kind"] == "kill"
    ]
    assert sorted((r["destination"], r["attempt"]) for r in failed) == sorted(
        (d, a) for d in ("webhook", "telegram") for a in (1, 2, 3)
    )
    assert all(r["reason"].startswith("no answer: ") for r in failed), failed
    assert all(r["seq"] == kill.seq for r in failed)
    assert [r["retrying"] for r in failed if r["destination"] == "webhook"] == [True, True, False]
    assert TOKEN not in log
    assert f"127.0.0.1:{down}/hook" not in log, "the webhook URL (a secret) reached the log"


def log_records(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def wait_log(daemon: DaemonProcess, event: str, count: int, timeout: float = 20.0) -> list[Any]:
    """The first ``count`` log records named ``event`` (the daemon writes JSON lines)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in log_records(daemon_log(daemon)) if r.get("event") == event]
        if len(found) >= count:
            return found[:count]
        time.sleep(0.05)  # polling a file another process writes; the deadline bounds it
    raise TimeoutError(f"{event} not logged {count} times; log: {daemon_log(daemon)[-3000:]}")


def test_an_enabled_destination_without_its_secret_stops_the_start_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = alerts_config(tmp_path, free_port())
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "ASN_ALERTS_TELEGRAM_TOKEN": TOKEN}
    started = subprocess.run(
        [sys.executable, "-m", "asnd.daemon", "run", "--config", str(path)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 1
    assert started.stderr.splitlines() == [
        "asnd: alerts: the webhook is enabled but has no secret: set $ASN_ALERTS_WEBHOOK_URL "
        "or the systemd credential alerts-webhook-url"
    ]
    journal = load_config(path).journal.directory
    assert not journal.exists() or not any(journal.iterdir()), "nothing was journaled"
    # check-config (in-process: the same main) says so too, without failing: under systemd
    # the secrets come from credentials this shell does not have.
    monkeypatch.delenv("ASN_ALERTS_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("ASN_ALERTS_TELEGRAM_TOKEN", TOKEN)
    assert asnd_main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  alerts: webhook, telegram (not ready in this environment (alerts: the webhook" in out
    assert TOKEN not in out + started.stderr
