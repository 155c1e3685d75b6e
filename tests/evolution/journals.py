"""Small synthetic journals for the evolution tests, written with the real JournalWriter.

``planted_journal`` writes a book whose top-of-book imbalance *causes* the next mid move
(the mid moves ``move_ticks * (2 * imbalance - 1)`` ticks, rounded, on the next row), while
the deeper levels make ``pressure`` correlated with imbalance without any effect of their
own. Every row is a full ``BookSnapshot`` (5 levels a side, spread 1-3 ticks) followed
by one public ``Trade`` at the touch (unless ``trades=False``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from journal.events import BUY, SELL, BookSnapshot, InstrumentInfo, Trade
from journal.writer import JournalWriter

SYMBOL = "TESTUSDT"
T0_NS = 1_733_011_200_000_000_000  # 2024-12-01T00:00:00Z
STEP_NS = 100_000_000


def planted_journal(
    path: Path,
    rows: int = 600,
    *,
    seed: int = 3,
    move_ticks: int = 100,
    trades: bool = True,
    start_ticks: int = 10_000,
    flat: bool = False,
) -> Path:
    """``flat``: the same book on every row (no feature varies)."""
    rng = np.random.default_rng(seed)
    imbalance = np.full(rows, 0.5) if flat else rng.uniform(0.05, 0.95, rows)
    mid = start_ticks
    with JournalWriter.open(path, fsync=False) as journal:
        journal.append(InstrumentInfo(0, T0_NS, "sim", SYMBOL, "0.01", "1"))
        for t in range(rows):
            ts = T0_NS + t * STEP_NS
            top = 100
            b = max(1, round(top * imbalance[t]))
            a = max(1, top - b)
            # Deeper levels follow the top (correlated) plus their own noise (no effect).
            jitter = [1.0] * 8 if flat else list(rng.uniform(0.5, 1.5, 8))
            deep_b = [max(1, round(b * j)) for j in jitter[:4]]
            deep_a = [max(1, round(a * j)) for j in jitter[4:]]
            bid = mid
            ask = mid + (1 if flat else int(rng.integers(1, 4)))
            ms = ts // 1_000_000
            journal.append(
                BookSnapshot(
                    0,
                    ts,
                    SYMBOL,
                    t + 1,
                    t + 1,
                    ms,
                    ms,
                    [bid - i for i in range(5)],
                    [b, *deep_b],
                    [ask + i for i in range(5)],
                    [a, *deep_a],
                )
            )
            if trades and not flat:
                side = BUY if rng.random() < 0.5 else SELL
                price = ask if side == BUY else bid
                qty = int(rng.integers(1, 20))
                journal.append(Trade(0, ts + 1, SYMBOL, f"t{t}", side, price, qty, ms))
            mid += round(move_ticks * (2.0 * imbalance[t] - 1.0)) + (
                0 if flat else int(rng.integers(-1, 2))
            )
    return path
