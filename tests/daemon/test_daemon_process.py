"""The daemon as users run it: a subprocess on the sim venue, controlled with asnctl, told to
stop with SIGTERM, killed with SIGKILL at random moments and restarted."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from asnd.core.portfolio import DaemonState
from asnd.recovery import restore_state
from asnd.runtime import core_config
from journal.cli import verify_journal
from journal.events import (
    DaemonStarted,
    DaemonStopped,
    Fill,
    OperatorCommand,
    OrderIntent,
    OrderSent,
    StateSnapshot,
)

from .harness import REPO, DaemonProcess, fold, journal_events, make_config, wait_for


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(make_config(tmp_path, snapshot_every_events="400"))
    try:
        yield process
    finally:
        process.close()


def test_trades_journals_answers_asnctl_and_stops_cleanly(daemon: DaemonProcess) -> None:
    daemon.start(watchdog_usec=400_000)
    daemon.wait_notify("READY=1")
    daemon.wait_notify("WATCHDOG=1", timeout=5)  # pinged at half the interval while healthy
    wait_for(daemon.config, lambda e: isinstance(e, Fill))

    status = daemon.status()
    assert status["daemon"]["state"] == "trading"
    assert [s["symbol"] for s in status["slots"]] == [s.symbol for s in daemon.config.slots]
    assert all(s["strategy_id"].startswith("champion-") for s in status["slots"])
    assert status["journal"]["seq"] > 0
    assert {b["state"] for b in status["books"]} <= {"synced", "stale"}
    table = daemon.ctl("status")
    assert table.returncode == 0
    assert "BTCUSDT" in table.stdout
    assert daemon.ctl("kill", "9").returncode == 1, "no slot 9: refused, not a crash"

    assert daemon.terminate() == 0
    daemon.wait_notify("STOPPING=1", timeout=5)
    events = journal_events(daemon.config)
    assert isinstance(events[-1], DaemonStopped)
    assert any(isinstance(e, OperatorCommand) and e.command == "status" for e in events)
    state = fold(daemon.config, events)
    assert all(not slot.orders for slot in state.slots), "open orders were cancelled on SIGTERM"
    assert verify_journal(daemon.config.journal.directory) == []


def test_sigkill_at_random_moments_then_restart_restores_the_exact_state(
    daemon: DaemonProcess,
) -> None:
    rng = random.Random(6)
    config = daemon.config
    for _round in range(3):
        daemon.start()
        daemon.wait_notify("READY=1")
        start = wait_for(config, lambda e: isinstance(e, DaemonStarted), from_seq=0)
        target = start.seq + rng.randrange(50, 1500)
        wait_for(config, lambda e, t=target: e.seq >= t, from_seq=start.seq)  # type: ignore[misc]
        daemon.kill()

        # What the journal says, folded from scratch with no snapshot: the truth.
        truth = fold(config, journal_events(config))
        daemon.start()
        daemon.wait_notify("READY=1")
        restarted = wait_for(
            config, lambda e: isinstance(e, StateSnapshot), from_seq=truth.last_seq + 1
        )
        assert isinstance(restarted, StateSnapshot)
        # The restarted daemon's recovered state (snapshot + partial replay), journaled at
        # start, equals the full fold of the journal up to its restart.
        upto = [e for e in journal_events(config) if e.seq < restarted.seq]
        expected = fold(config, upto)
        assert restarted.payload == expected.snapshot()
        assert expected.snapshot() == _with_last_seq(truth, expected.last_seq).snapshot()
        daemon.kill()

    events = journal_events(config)
    intents = [e.link_id for e in events if isinstance(e, OrderIntent)]
    assert len(intents) == len(set(intents)), "a link id is never reused"
    sent = [e.link_id for e in events if isinstance(e, OrderSent)]
    assert len(sent) == len(set(sent)), "no order is sent twice"
    assert sum(isinstance(e, DaemonStarted) for e in events) == 6
    restored = restore_state(core_config(config), config.journal.directory)
    assert restored.snapshot_seq is not None, "recovery started from a snapshot"


def _with_last_seq(state: DaemonState, last_seq: int) -> DaemonState:
    """``state`` as if it had also applied the no-op ``DaemonStarted`` at ``last_seq``."""
    payload = msgspec.msgpack.decode(state.snapshot())
    payload[1] = last_seq
    return DaemonState.restore(state.config, msgspec.msgpack.encode(payload))


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    path.write_text(path.read_text().replace("max_open_orders_per_slot = 4", "max_open_orderz = 4"))
    done = subprocess.run(
        [sys.executable, "-m", "asnd.daemon", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "risk.max_open_orderz" in done.stderr
    assert "Traceback" not in done.stderr
