"""The assembled daemon against the Bybit protocol, as real processes (issue 13, Build 1).

The local Bybit-compatible venue runs in its own process (``python -m
asnd.venues.bybit.local``: REST and both WebSocket streams on loopback, a moving book on the
default config's six symbols); ``asnd run`` runs as another with a real TOML config,
``venue.kind = "bybit-testnet"`` and its endpoints pointed at that venue, the key and secret
in the environment variables the daemon reads. Nothing is injected: this is the path a user's
daemon takes on Bybit.

The truth at the end of every scenario is the venue's own account (its admin channel):
- every execution the venue made is journaled as a ``Fill`` exactly once;
- every order the venue holds was an ``OrderIntent`` of the journal, each link id at most
  once, and a create was sent again for a link id only after the daemon had journaled that
  its first outcome was unknown;
- the journal's fold holds what the venue holds: each slot's position, and its cash
  (capital + realised PnL - fees) equals the capital plus the venue's realised PnL net of fees;
- after SIGTERM none of our orders is left open, and the daemon exits 0.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from asnd.config import Config
from journal.events import (
    BookDelta,
    BookSnapshot,
    DaemonStarted,
    DaemonStopped,
    Event,
    FeedConnected,
    FeedLost,
    Fill,
    InstrumentInfo,
    OrderIntent,
    OrderReconciled,
    OrderSent,
    OrderUnresolved,
    Trade,
    TradingHalted,
)
from journal.reader import JournalReader

from .bybit_process import SECRET, LocalVenueProcess, bybit_config, credentials_env
from .harness import DaemonProcess, fold, journal_events, slot_setting, wait_for

SIX = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT")


@pytest.fixture
def venue() -> Iterator[LocalVenueProcess]:
    process = LocalVenueProcess(seed=13)
    try:
        yield process
    finally:
        process.close()


@pytest.fixture
def daemon(
    tmp_path: Path, venue: LocalVenueProcess, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DaemonProcess]:
    for name, value in credentials_env().items():
        monkeypatch.setenv(name, value)  # the daemon subprocess inherits them
    path = bybit_config(tmp_path, venue)
    slot_setting(path, 4, "min_qty", '"200"')  # a DOGEUSDT order rests with >= 200 lots
    process = DaemonProcess(path)
    try:
        yield process
    finally:
        process.close()


def wait_for_slots(config: Config, kind: type[Event], count: int) -> None:
    """Until events of ``kind`` have been journaled for ``count`` different slots."""
    seen: set[int] = set()

    def new_slot(event: Event) -> bool:
        slot = getattr(event, "slot", None) if isinstance(event, kind) else None
        if slot is not None:
            seen.add(slot)
        return len(seen) >= count

    wait_for(config, new_slot)


def next_seq(config: Config) -> int:
    """The seq the next journaled event will get (0 for a journal not yet written)."""
    if not config.journal.directory.exists():
        return 0
    last = 0
    for event in JournalReader(config.journal.directory).events():
        last = event.seq
    return last + 1


def check_against_venue(config: Config, account: dict[str, Any]) -> None:
    """The journal agrees with the venue's account (the module docstring's list)."""
    events = journal_events(config)
    fills = Counter(e.exec_id for e in events if isinstance(e, Fill))
    executions = Counter(x["exec_id"] for x in account["executions"])
    assert set(fills) == set(executions), "a venue execution is missing from the journal"
    assert fills.most_common(1)[0][1] == 1, "an execution was journaled twice"
    assert executions.most_common(1)[0][1] == 1

    intents = Counter(e.link_id for e in events if isinstance(e, OrderIntent))
    assert not [link for link, n in intents.items() if n > 1], "two intents share a link id"
    orders = Counter(o["link_id"] for o in account["orders"])
    assert set(orders) <= set(intents), "the venue holds an order the journal never intended"
    assert orders.most_common(1)[0][1] == 1
    unresolved = {e.link_id for e in events if isinstance(e, OrderUnresolved)}
    resent = [link for link, n in Counter(account["create_requests"]).items() if n > 1]
    assert set(resent) <= unresolved, "a create was sent twice without an unknown outcome"

    state = fold(config, events)
    for slot in state.slots:
        venue_position = account["positions"][slot.symbol]
        assert slot.ledger is not None
        assert slot.ledger.position_lots == venue_position["lots"], slot.symbol
        ours = Decimal(slot.ledger.cash_e8 - slot.ledger.state.capital_e8) / 10**8
        theirs = Decimal(venue_position["realised"])
        # Per fill the ledger floors PnL to 1e-8 USDT; the venue keeps it exact.
        assert abs(ours - theirs) <= Decimal("0.00000001") * (len(fills) + 1), slot.symbol


def timeline(events: list[Event], account: dict[str, Any], reason: str) -> list[str]:
    """What the journal and the venue say about the symbol ``reason`` names (a diagnosis)."""
    symbol = next((s for s in SIX if s in reason), "")
    links = {e.link_id for e in events if isinstance(e, OrderIntent) and e.symbol == symbol}
    lines = []
    for e in events:
        about = getattr(e, "link_id", None) in links or getattr(e, "symbol", None) == symbol
        if isinstance(e, DaemonStarted | TradingHalted | FeedConnected) or (
            about and not isinstance(e, BookDelta | BookSnapshot | Trade | InstrumentInfo)
        ):
            lines.append(f"{e.ts_local_ns} {e!r}")
    lines += [f"venue {x}" for x in account["executions"] if x["symbol"] == symbol]
    return lines + [f"venue {o}" for o in account["orders"] if o["symbol"] == symbol]


def until_venue(venue: LocalVenueProcess, predicate: Callable[[dict[str, Any]], bool]) -> None:
    """Poll the venue's account (another process) until ``predicate`` holds."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if predicate(venue.state()):
            return
        time.sleep(0.05)  # polling another process; the deadline bounds it
    raise TimeoutError("the venue's account never got there")


def flat(account: dict[str, Any], symbols: Iterable[str]) -> bool:
    """No position and no open order of ours on ``symbols``."""
    wanted = set(symbols)
    open_orders = [o for o in account["orders"] if o["leaves_lots"] and o["symbol"] in wanted]
    return not open_orders and all(account["positions"][s]["lots"] == 0 for s in wanted)


def test_daemon_on_bybit_trades_survives_an_outage_obeys_asnctl_and_stops_cleanly(
    daemon: DaemonProcess, venue: LocalVenueProcess, tmp_path: Path
) -> None:
    """One daemon's life on Bybit: start-up and instruments, six slots trading, a 150-fill
    private-stream outage, asnctl kill/resume/swap acting on the venue, SIGTERM. (One story
    rather than four tests: each daemon start costs seconds of imports on a loaded CI.)"""
    daemon.start()
    daemon.wait_notify("READY=1")
    config = daemon.config
    loaded = {e.symbol for e in journal_events(config) if isinstance(e, InstrumentInfo)}
    assert loaded == set(SIX)
    wait_for_slots(config, OrderSent, 6)  # every slot trades
    wait_for_slots(config, Fill, 2)
    status = daemon.status()
    assert status["daemon"]["state"] == "trading"
    assert [s["symbol"] for s in status["slots"]] == list(SIX)

    private_stream_outage_with_150_fills(daemon, venue)
    asnctl_kill_resume_swap(daemon, venue, tmp_path)

    assert daemon.terminate() == 0
    assert isinstance(journal_events(config)[-1], DaemonStopped)
    account = venue.state()
    assert not [o for o in account["orders"] if o["leaves_lots"]], "an order was left open"
    check_against_venue(config, account)
    assert SECRET not in daemon.log_path.read_text()
    journal = b"".join(p.read_bytes() for p in config.journal.directory.iterdir())
    assert SECRET.encode() not in journal


def private_stream_outage_with_150_fills(daemon: DaemonProcess, venue: LocalVenueProcess) -> None:
    """150 fills (Bybit's execution list pages at 100) while the private stream is cut and
    refused; once it is back every one of them is journaled (once: checked at the end)."""
    config = daemon.config

    def resting_lots(account: dict[str, Any]) -> int:
        return sum(o["leaves_lots"] for o in account["orders"] if o["symbol"] == "DOGEUSDT")

    until_venue(venue, lambda account: resting_lots(account) >= 200)
    venue.command("crowd", moving=False)  # nothing else fills it meanwhile
    from_seq = next_seq(config)
    assert venue.command("private_down", on=True)["cut"] == 1
    wait_for(config, lambda e: isinstance(e, FeedLost) and e.stream == "private", from_seq=from_seq)
    before = {x["exec_id"] for x in venue.state()["executions"]}
    assert venue.command("fill_resting", fills=150)["fills"] == 150
    during = {x["exec_id"] for x in venue.state()["executions"]} - before
    assert len(during) == 150
    venue.command("private_down", on=False)
    wait_for(
        config, lambda e: isinstance(e, FeedConnected) and e.stream == "private", from_seq=from_seq
    )
    journaled: set[str] = set()

    def all_in(event: Event) -> bool:
        if isinstance(event, Fill):
            journaled.add(event.exec_id)
        return during <= journaled

    # Through the stream's REST catch-up, or a lookup of the order (a cancel the slot sent
    # meanwhile, answered "already gone"): each pages through the execution list.
    wait_for(config, all_in, from_seq=from_seq)
    venue.command("crowd", moving=True)


def asnctl_kill_resume_swap(daemon: DaemonProcess, venue: LocalVenueProcess, root: Path) -> None:
    config = daemon.config
    # kill all: every order cancelled and every position closed at the venue, then halted.
    done = daemon.ctl("kill", "all")
    assert done.returncode == 0, done.stderr
    until_venue(venue, lambda account: flat(account, SIX))
    status = daemon.status()
    assert {s["state"] for s in status["slots"]} == {"halted"}, status["slots"]
    from_seq = next_seq(config)
    done = daemon.ctl("resume", "all")
    assert done.returncode == 0, done.stderr
    wait_for(config, lambda e: isinstance(e, OrderSent), from_seq=from_seq)

    # One slot: killed and flattened alone, the others trade on; then resumed.
    done = daemon.ctl("kill", "3")
    assert done.returncode == 0, done.stderr
    until_venue(venue, lambda account: flat(account, ["XRPUSDT"]))
    states = [s["state"] for s in daemon.status()["slots"]]
    assert states == ["active"] * 3 + ["halted"] + ["active"] * 2
    assert daemon.ctl("resume", "3").returncode == 0
    assert daemon.status()["slots"][3]["state"] == "active"

    # swap: a new champion for slot 2, live.
    document = json.loads((config.path.parent / "strategies" / "champion_solusdt.json").read_text())
    document["id"] = "swapped-in-on-bybit"
    new = root / "swapped.json"
    new.write_text(json.dumps(document))
    done = daemon.ctl("swap", "2", str(new))
    assert done.returncode == 0, done.stderr
    assert daemon.status()["slots"][2]["strategy_id"] == "swapped-in-on-bybit"


def test_sigkill_at_random_moments_then_restart_reconciles_and_loses_nothing(
    daemon: DaemonProcess, venue: LocalVenueProcess
) -> None:
    """Ten SIGKILLs, each at a random moment (seeded) from the daemon's first journal write to
    a second past READY: during reconciliation, instrument load and trading. Each restart
    must reconcile without a position mismatch; at the end the journal and the venue agree."""
    rng = random.Random(1313)
    config = daemon.config
    window_s = 0.0
    for round_ in range(10):
        if round_ == 0:  # measures how long start-up takes, to spread the later kills over it
            daemon.start()
            daemon.wait_notify("READY=1")
            started = next(e for e in journal_events(config) if isinstance(e, DaemonStarted))
            window_s = (time.time_ns() - started.ts_local_ns) / 1e9 + 1.0
            time.sleep(rng.uniform(0, 1.0))
        else:
            from_seq = next_seq(config)
            daemon.start()
            wait_for(config, lambda e: isinstance(e, DaemonStarted), from_seq=from_seq)
            time.sleep(rng.uniform(0, window_s))  # the random moment itself
        daemon.kill()
    daemon.start()
    daemon.wait_notify("READY=1")
    assert daemon.terminate() == 0
    account = venue.state()
    starts = [e for e in journal_events(config) if isinstance(e, DaemonStarted)]
    assert len(starts) == 11
    events = journal_events(config)
    halts = [e for e in events if isinstance(e, TradingHalted)]
    # a position mismatch at a restart halts trading
    assert not halts, "\n".join([str(halts), *timeline(events, account, halts[0].reason)])
    assert [e for e in events if isinstance(e, OrderReconciled)], "no order was ever looked up"
    assert not [o for o in account["orders"] if o["leaves_lots"]], "an order was left open"
    check_against_venue(config, account)
