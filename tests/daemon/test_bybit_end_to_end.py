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

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from asnd.config import Config
from journal.events import (
    DaemonStopped,
    Event,
    Fill,
    InstrumentInfo,
    OrderIntent,
    OrderSent,
    OrderUnresolved,
)

from .bybit_process import SECRET, LocalVenueProcess, bybit_config, credentials_env
from .harness import DaemonProcess, fold, journal_events, wait_for

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
    process = DaemonProcess(bybit_config(tmp_path, venue))
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


def test_daemon_starts_on_bybit_trades_six_slots_and_stops_cleanly(
    daemon: DaemonProcess, venue: LocalVenueProcess
) -> None:
    daemon.start()
    daemon.wait_notify("READY=1")
    config = daemon.config
    loaded = {e.symbol for e in journal_events(config) if isinstance(e, InstrumentInfo)}
    assert loaded == set(SIX)
    wait_for_slots(config, OrderSent, 6)  # every slot trades
    wait_for(config, lambda e: isinstance(e, Fill))

    status = daemon.status()
    assert status["daemon"]["state"] == "trading"
    assert [s["symbol"] for s in status["slots"]] == list(SIX)

    assert daemon.terminate() == 0
    events = journal_events(config)
    assert isinstance(events[-1], DaemonStopped)
    account = venue.state()
    assert not [o for o in account["orders"] if o["leaves_lots"]], "an order was left open"
    check_against_venue(config, account)
    assert SECRET not in daemon.log_path.read_text()
    journal = b"".join(p.read_bytes() for p in config.journal.directory.iterdir())
    assert SECRET.encode() not in journal
