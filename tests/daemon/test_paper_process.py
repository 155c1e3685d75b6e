"""Paper trading as an operator runs it: ``asnd run --config etc/asnd-paper.toml`` (a real
subprocess, the shipped config with the endpoints pointed at loopback) trading six slots on
the public feed of the local Bybit-compatible venue, itself its own process
(``python -m asnd.venues.bybit.local --moving``). No keys anywhere: the venue is started
without any and the daemon never needs them.

The test takes about 40 s on a loaded 2-core machine (load average 11), 25 s of it two daemon
starts and the verification run, which are what it is about.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from asnd.config import Config
from asnd.core.portfolio import DaemonState
from asnd.runtime import core_config
from journal.events import (
    DaemonStarted,
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderReconciled,
    PositionReconciled,
    TradingHalted,
)
from journal.reader import Follower

from .harness import REPO, DaemonProcess, fold, journal_events, make_config, wait_for

SLOTS = 6


@pytest.fixture(scope="module")
def local_bybit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The local venue's URLs, from the JSON line it prints once it listens. One venue for
    the module: its market keeps moving, each test's daemon subscribes afresh."""
    tmp_path = tmp_path_factory.mktemp("local-bybit")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("ASN_BYBIT_API_KEY", "ASN_BYBIT_API_SECRET"):
        env.pop(name, None)
    with (
        (tmp_path / "local-bybit.log").open("w") as log,
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "asnd.venues.bybit.local",
                "--symbols",
                "all",
                "--moving",
                "--step-ms",
                "100",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "the local venue printed no URLs within 30 s"
            urls: dict[str, str] = json.loads(proc.stdout.readline())
            yield urls
        finally:
            proc.kill()


def paper_config(root: Path, urls: dict[str, str]) -> Path:
    return make_config(
        root,
        config_file="asnd-paper.toml",
        rest_url=json.dumps(urls["rest_url"]),
        ws_public_url=json.dumps(urls["public_ws_url"]),
        fsync="false",  # a throwaway journal; fsync would only slow the test
    )


def wait_trading(
    config: Config,
    *,
    accepted_slots: int,
    filled_slots: int,
    timeout: float = 60.0,
    from_seq: int = 0,
) -> None:
    """Until ``accepted_slots`` slots have an order accepted by the paper venue and
    ``filled_slots`` have fills (which slots fill first is the market's luck)."""
    accepted: set[int] = set()
    filled: set[int] = set()

    def trading(event: Event) -> bool:
        if isinstance(event, OrderAccepted):
            accepted.add(event.slot)
        elif isinstance(event, Fill):
            filled.add(event.slot)
        return len(accepted) >= accepted_slots and len(filled) >= filled_slots

    try:
        wait_for(config, trading, timeout=timeout, from_seq=from_seq)
    except TimeoutError:
        what = f"orders accepted in slots {sorted(accepted)}, fills in slots {sorted(filled)}"
        raise TimeoutError(what) from None


def assert_no_anomaly(notes: list[str]) -> None:
    """The core's notes hold nothing but the one benign race a live venue has too: a taker's
    fills (on the stream) journaled before ``place``'s acceptance, which then finds the
    order already finished."""
    odd = [n for n in notes if "order accepted for unknown order" not in n]
    assert not odd, odd


def held_at_stake(state: DaemonState) -> tuple[dict[str, int], dict[str, int]]:
    """(link_id -> leaves of every resting order, symbol -> position lots) of a fold."""
    resting = {
        o.link_id: o.leaves_lots
        for s in state.slots
        for o in s.orders.values()
        if o.state == "open"
    }
    positions = {s.symbol: s.ledger.position_lots if s.ledger else 0 for s in state.slots}
    return resting, positions


def test_paper_daemon_trades_survives_sigkill_and_its_journal_verifies(
    tmp_path: Path, local_bybit: dict[str, str]
) -> None:
    """Six slots trade on paper; asnctl shows their PnL; after SIGKILL the restarted daemon
    finds at the new paper venue the resting orders and positions its journal holds (the
    paper venue's state is a function of the journal) and trades on; SIGTERM exits 0; and
    the whole journal, across the kill, re-decides identically."""
    daemon = DaemonProcess(paper_config(tmp_path, local_bybit))
    config = daemon.config
    try:
        daemon.start()
        daemon.wait_notify("READY=1", timeout=90)
        wait_trading(config, accepted_slots=SLOTS, filled_slots=3)
        traded = {e.slot for e in journal_events(config) if isinstance(e, Fill)}
        status = daemon.status()  # after those fills were journaled, so folded
        assert status["daemon"]["venue"] == "bybit-paper"
        assert status["daemon"]["state"] == "trading"
        rows = status["slots"]
        assert [r["symbol"] for r in rows] == [s.symbol for s in config.slots]
        for row, slot in zip(rows, config.slots, strict=True):
            assert Decimal(row["pnl"]) == Decimal(row["equity"]) - slot.capital, row
        # Slots that traded have paid fees and moved with the market: PnL shows it (one may
        # be back at 0.00 by chance, not three).
        assert any(Decimal(rows[i]["pnl"]) != 0 for i in traded), rows

        # The journal's fold, followed as the daemon writes it, until something is at stake:
        # a resting order and a position.
        state = DaemonState(core_config(config))
        follower = Follower(config.journal.directory)
        deadline = time.monotonic() + 60
        try:
            while True:
                for event in follower.poll():
                    state.apply(event)
                resting, positions = held_at_stake(state)
                if resting and any(positions.values()):
                    break
                assert time.monotonic() < deadline, "no position and resting order in 60 s"
                time.sleep(0.05)  # polling a journal another process writes (deadline bound)
            daemon.kill()
            for event in follower.poll():  # to the end of what is on disk: the truth
                state.apply(event)
        finally:
            follower.close()
        resting, positions = held_at_stake(state)
        assert resting
        restart_seq = state.last_seq + 1

        daemon.start()
        daemon.wait_notify("READY=1", timeout=90)
        wait_trading(config, accepted_slots=0, filled_slots=1, from_seq=restart_seq)
        assert daemon.terminate() == 0
    finally:
        daemon.close()

    events = journal_events(config)
    assert [e.venue for e in events if isinstance(e, DaemonStarted)] == ["bybit-paper"] * 2
    assert {e.venue for e in events if isinstance(e, InstrumentInfo)} == {"bybit-paper"}
    fills = [e for e in events if isinstance(e, Fill)]
    assert len({f.exec_id for f in fills}) == len(fills)  # none dropped as a duplicate
    assert not [e for e in events if isinstance(e, TradingHalted)]
    assert_no_anomaly(fold(config, events).anomalies)

    after = [e for e in events if e.seq >= restart_seq]
    reconciled: dict[str, OrderReconciled] = {}
    for e in after:  # the start-up lookups come first; later ones (shutdown) do not count
        if isinstance(e, OrderReconciled):
            reconciled.setdefault(e.link_id, e)
    for link_id, leaves in resting.items():
        assert reconciled[link_id].status == "open", reconciled[link_id]
        assert reconciled[link_id].leaves_lots == leaves
    at_venue = {e.symbol: e.position_lots for e in after if isinstance(e, PositionReconciled)}
    assert at_venue == positions

    # Both tools on the paper journal, side by side (each is a process of its own).
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    asnd = [sys.executable, "-m", "asnd.daemon", "backtest", "--config", str(config.path)]
    journal = str(config.journal.directory)
    runs = {
        mode: subprocess.Popen(
            [*asnd, f"--{mode}", journal, "--quiet", "--out", str(tmp_path / mode)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for mode in ("verify-against-live", "calibrate")
    }
    out = {mode: proc.communicate(timeout=120)[0] for mode, proc in runs.items()}
    assert runs["verify-against-live"].returncode == 0, out["verify-against-live"]
    assert out["verify-against-live"].rstrip().endswith("identical"), out
    assert "OrderIntent" in out["verify-against-live"]  # orders were decided, and alike
    # The replay re-fills the paper orders with latencies sampled from the journal: the
    # same fill model, so it is comparable order by order.
    assert runs["calibrate"].returncode == 0, out["calibrate"]
    assert "fill_rate" in out["calibrate"]
