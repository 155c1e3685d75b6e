"""Causal fitness through ``asnd.core.l2replay.L2Replay``: the ground truth for finalists.

The same decisions as the vectorised screen (``evolution.fitness``: one per feature row,
same execution policy), but each order is an IOC at the touch sent to the L2 replay of the
real journal: it arrives after ``latency_ns``, takes only displayed depth not already used,
and the position and cash follow the replay's ``Fill``s (partial fills included). While an
order is in flight no new one is sent. Equity is marked at each feature row, as in the
screen, and scored with the same ``ttt_score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asnd.core.l2replay import ConstantLatency, L2Replay
from asnd.core.matching import IOC
from asnd.core.strategy import StrategyDocument
from evolution.dataset import Dataset, read_market
from evolution.fitness import Decisions, TradingRules, decisions_for, ttt_score
from journal.events import Event, Fill

__all__ = ["ReplayResult", "causal_fitness_replay"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    fitness: float  # mean over the journals
    orders: int
    fills: int


def causal_fitness_replay(
    doc: StrategyDocument, dataset: Dataset, rules: TradingRules, *, latency_ns: int = 0
) -> ReplayResult:
    """Mean TTT fitness over the dataset's journals with execution in the L2 replay."""
    names = doc.features
    d = decisions_for(
        doc, dataset.columns(names), names, dataset.bid_ticks, dataset.ask_ticks, rules
    )
    scores = []
    orders = fills = 0
    for journal, (lo, hi) in zip(dataset.journals, dataset.segments, strict=True):
        part = Decisions(d.side[lo:hi], d.qty_lots[lo:hi])
        score, o, f = _replay_one(Path(journal), dataset, lo, hi, part, rules, latency_ns)
        scores.append(score)
        orders += o
        fills += f
    return ReplayResult(float(np.mean(scores)), orders, fills)


def _replay_one(
    journal: Path,
    ds: Dataset,
    lo: int,
    hi: int,
    d: Decisions,
    rules: TradingRules,
    latency_ns: int,
) -> tuple[float, int, int]:
    replay = L2Replay(ds.symbol, latency=ConstantLatency(latency_ns))
    seqs = ds.seq[lo:hi]
    n = hi - lo
    equity_x2 = np.empty(n, dtype=np.int64)
    cash = rules.capital_tick_lots
    pos = 0
    held = 0
    k = 0
    next_oid = 1
    orders = fills = 0

    def settle(events: list[Event]) -> None:
        nonlocal cash, pos, fills
        for e in events:
            if isinstance(e, Fill):
                notional = e.qty_lots * e.price_ticks
                cash -= e.side * notional + -((-notional * rules.fee_ppm) // 1_000_000)
                pos += e.side * e.qty_lots
                fills += 1

    for event in read_market(journal, ds.symbol):
        settle(replay.on_market(event))
        if k >= n or event.seq != seqs[k]:
            continue
        side = int(d.side[k])
        if side not in (0, held) and replay.in_flight == 0:
            held = side
            want = side * int(d.qty_lots[k]) - pos
            if want != 0:
                price = int(ds.ask_ticks[lo + k] if want > 0 else ds.bid_ticks[lo + k])
                orders += 1
                settle(
                    replay.submit(
                        event.ts_local_ns,
                        next_oid,
                        0,
                        f"evo-{next_oid}",
                        1 if want > 0 else -1,
                        price,
                        abs(want),
                        IOC,
                    )
                )
                next_oid += 1
        equity_x2[k] = 2 * cash + pos * int(ds.bid_ticks[lo + k] + ds.ask_ticks[lo + k])
        k += 1
    if k < n:
        raise ValueError(f"journal {journal} changed since its dataset was built")
    return ttt_score(equity_x2, rules)[0], orders, fills
