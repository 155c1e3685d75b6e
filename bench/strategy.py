"""Strategy and feature speed: scalar decisions, vectorised evaluation, feature updates.

Prints one JSON object per measurement (name, value, unit, reference, ratio, peak RSS).
Goals (issue 4): vectorised at least 50x the scalar rate per row; all features updated in
under 5 us per book event, measured on the real Bybit archive's events.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from asnd.core.book import L2Book, Update
from asnd.core.features import FEATURE_NAMES, FeatureState, compute_features
from asnd.core.strategy import (
    OPERATORS,
    Call,
    Const,
    FeatureRef,
    Node,
    SlotSizing,
    StrategyDocument,
    compile_strategy,
    decide,
    node_count,
)
from journal.bybit_archive import read_archive
from journal.events import BUY, SELL, BookDelta, BookSnapshot, Event, Trade

REPO = Path(__file__).resolve().parents[1]

ARCHIVES = [
    REPO.parent / "shared" / "data" / "bybit" / "xrpusdt-ob500.data.zip",
    REPO.parent.parent / "shared" / "data" / "bybit" / "xrpusdt-ob500.data.zip",
]


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"name": name, "value": value, "unit": unit, **extra,
                      "peak_rss_mib": round(peak_kib / 1024, 1)}))  # fmt: skip
    sys.stdout.flush()


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """Fastest wall time of ``runs`` calls, in seconds (least disturbed by other load)."""
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def tree_of_size(nodes: int, seed: int) -> Node:
    """A random tree of exactly ``nodes`` nodes over binary and unary operators (seeded)."""
    rng = random.Random(seed)
    binary = [n for n, op in OPERATORS.items() if op.arity == 2]
    unary = [n for n, op in OPERATORS.items() if op.arity == 1]

    def build(budget: int) -> Node:
        if budget == 1:
            if rng.random() < 0.7:
                return FeatureRef(rng.choice(FEATURE_NAMES))
            return Const(round(rng.uniform(-2, 2), 3))
        if budget == 2:
            return Call(rng.choice(unary), (build(1),))
        left = rng.randrange(1, budget - 1)
        return Call(rng.choice(binary), (build(left), build(budget - 1 - left)))

    return build(nodes)


def bench_strategy() -> None:
    tree = tree_of_size(30, seed=4)
    assert node_count(tree) == 30
    doc = StrategyDocument("bench", FEATURE_NAMES, tree, tree_of_size(9, seed=5))
    strategy = compile_strategy(doc)
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(200_000, len(FEATURE_NAMES)))
    rows = matrix[:20_000].tolist()
    sizing = SlotSizing(1, 1000, 200 * 10**8, "0.0001", "1")
    signal, size, params = strategy.signal, strategy.size, doc.params

    def scalar_signals() -> None:
        for row in rows:
            signal(row)

    def scalar_decisions() -> None:
        for row in rows:
            decide(signal(row), size(row), params, sizing, 19537)

    scalar_s = best_of(5, scalar_signals) / len(rows)
    decision_s = best_of(5, scalar_decisions) / len(rows)
    emit("strategy.scalar_signal_30_nodes", round(scalar_s * 1e9), "ns/row")
    emit("strategy.scalar_decision_30_nodes", round(decision_s * 1e9), "ns/decision",
         note="signal + size (9 nodes) + decide()")  # fmt: skip
    vector_s = best_of(5, lambda: strategy.signal_batch(matrix)) / matrix.shape[0]
    emit("strategy.vector_signal_30_nodes", round(1 / vector_s), "rows/s",
         reference="scalar rows/s", reference_value=round(1 / scalar_s),
         ratio=round(scalar_s / vector_s, 1), goal_ratio=50)  # fmt: skip


def bench_features(events: list[Event], source: str) -> None:
    book_events = [e for e in events if isinstance(e, BookSnapshot | BookDelta)]
    trades = [e for e in events if isinstance(e, Trade)]
    symbol = book_events[0].symbol
    replays = max(1, 40_000 // len(events))

    def book_only() -> None:
        for _ in range(replays):
            book = L2Book(symbol)
            for e in events:
                if isinstance(e, BookSnapshot | BookDelta):
                    book.apply(e)

    def book_and_features() -> None:
        for _ in range(replays):
            book = L2Book(symbol)
            state = FeatureState()
            for e in events:
                if isinstance(e, BookSnapshot | BookDelta):
                    state.on_book(book, snapshot=book.apply(e) is Update.SNAPSHOT)
                elif isinstance(e, Trade):
                    state.on_trade(e)

    n_book = len(book_events) * replays
    base = best_of(5, book_only)
    full = best_of(5, book_and_features)
    per_event_us = (full - base) / n_book * 1e6
    emit("features.incremental_update_per_book_event", round(per_event_us, 3), "us",
         source=source, book_events=len(book_events), trades=len(trades),
         reference="L2Book.apply per book event (us)",
         reference_value=round(base / n_book * 1e6, 3),
         ratio=round((full - base) / base, 3), goal_us=5,
         note="all 8 features; trade updates included, book apply excluded")  # fmt: skip
    batch = best_of(3, lambda: compute_features(events * replays, symbol=symbol))
    emit("features.batch_rows_per_s", round(n_book / batch), "rows/s", source=source,
         reference="incremental rows/s (book + features)", reference_value=round(n_book / full),
         ratio=round(full / batch, 2))  # fmt: skip


def with_trades(events: list[Event], seed: int = 7) -> list[Event]:
    """The archive's events with a seeded taker trade after about one book event in four
    (order-book archives carry no trades), so the trade path is measured too."""
    rng = random.Random(seed)
    out: list[Event] = []
    for e in events:
        out.append(e)
        if isinstance(e, BookDelta) and rng.random() < 0.25:
            side = BUY if rng.random() < 0.5 else SELL
            price = e.bid_ticks[0] if e.bid_ticks else 19537
            out.append(
                Trade(0, e.ts_local_ns, e.symbol, "t", side, price, rng.randrange(1, 5000), 0)
            )
    return out


def main() -> None:
    bench_strategy()
    archive = next((p for p in ARCHIVES if p.is_file()), None)
    if archive is None:
        print(f"real archive not found at {ARCHIVES[0]}; skipping its measurement", file=sys.stderr)
        return
    events = list(read_archive(archive))
    bench_features(events, "bybit xrpusdt-ob500 archive")
    bench_features(with_trades(events), "bybit archive + seeded trades after 1 in 4 deltas")


if __name__ == "__main__":
    main()
