"""Backtests run the live fold against an L2 replay: same decisions on replay, exact ledgers."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import msgspec

from asnd.core.backtest import Backtest
from asnd.core.l2replay import ConstantLatency
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig
from journal.bybit_archive import read_archive
from journal.codec import encode
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    Event,
    Fill,
    StrategyLoaded,
    Trade,
)

from .scenario import synthetic_market

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ("btcusdt", "ethusdt", "solusdt", "xrpusdt", "dogeusdt", "bnbusdt")
DOCS = [(REPO / "etc" / "strategies" / f"champion_{s}.json").read_text() for s in SYMBOLS]
CONFIG = CoreConfig(
    tuple(
        SlotConfig(
            "XRPUSDT", "10", "400", leverage=10, order_style="join" if i % 2 == 0 else "cross"
        )
        for i in range(6)
    )
)


def _with_champions(events: list[Event]) -> list[Event]:
    loads = [StrategyLoaded(0, 0, i, f"champion-{i + 1}", "", "t", d) for i, d in enumerate(DOCS)]
    return [events[0], *loads, *events[1:]]


@cache
def _synthetic(latency_ns: int = 0) -> tuple[Event, ...]:
    backtest = Backtest(CONFIG, latency=ConstantLatency(latency_ns))
    market = list(synthetic_market(5, 1500))
    # Timestamps 1 ms apart, so a latency is a number of book updates.
    timed = [msgspec.structs.replace(e, ts_local_ns=i * 1_000_000) for i, e in enumerate(market)]
    return tuple(backtest.run(_with_champions(timed)))


def test_a_backtest_trades_and_every_ledger_is_the_sum_of_its_fills() -> None:
    journal = _synthetic(3_000_000)
    state = DaemonState(CONFIG)
    for event in journal:
        state.apply(event)
    fills = [e for e in journal if isinstance(e, Fill)]
    assert {f.slot for f in fills} == set(range(6)), "every champion traded"
    assert any(f.is_maker for f in fills)
    assert any(not f.is_maker for f in fills)
    for slot in state.slots:
        mine = [f for f in fills if f.slot == slot.index]
        assert slot.ledger is not None
        assert slot.ledger.position_lots == sum(f.side * f.qty_lots for f in mine)
        assert slot.ledger.state.fill_count == len(mine)
    assert state.anomaly_count == 0, state.anomalies


def test_replaying_a_backtest_journal_reproduces_its_decisions() -> None:
    journal = _synthetic(3_000_000)
    state = DaemonState(CONFIG)
    decided: list[bytes] = []
    for event in journal:
        decided += [encode(d) for d in state.apply(event)]
    expected = [
        encode(msgspec.structs.replace(e, seq=0))
        for e in journal
        if type(e).__name__ in ("Signal", "OrderIntent", "CancelIntent", "RiskVerdict")
    ]
    assert decided == expected


def test_backtests_are_deterministic() -> None:
    again = Backtest(CONFIG, latency=ConstantLatency(3_000_000))
    market = list(synthetic_market(5, 1500))
    timed = [msgspec.structs.replace(e, ts_local_ns=i * 1_000_000) for i, e in enumerate(market)]
    journal = again.run(_with_champions(timed))
    assert [encode(e) for e in journal] == [encode(e) for e in _synthetic(3_000_000)]


def test_the_real_archive_as_a_backtest(bybit_archive: Path) -> None:
    rng = random.Random(3)
    events: list[Event] = []
    for event in read_archive(bybit_archive):
        events.append(event)
        if isinstance(event, BookDelta) and rng.random() < 0.5:  # archives carry no trades
            side = BUY if rng.random() < 0.5 else SELL
            price = event.ask_ticks[0] if side == BUY and event.ask_ticks else 19537
            events.append(
                Trade(0, event.ts_local_ns, "XRPUSDT", "t", side, price, rng.randint(1, 9000), 0)
            )
    backtest = Backtest(CONFIG)
    first = backtest.run(_with_champions(events))
    second = Backtest(CONFIG).run(_with_champions(events))
    assert [encode(e) for e in first] == [encode(e) for e in second]
    kinds = {type(e).__name__ for e in first}
    assert {"Signal", "OrderIntent", "OrderAccepted", "Fill"} <= kinds
    fills = [e for e in first if isinstance(e, Fill)]
    for slot in backtest.state.slots:
        assert slot.ledger is not None
        expected = sum(f.side * f.qty_lots for f in fills if f.slot == slot.index)
        assert slot.ledger.position_lots == expected
    assert backtest.state.anomaly_count == 0, backtest.state.anomalies
