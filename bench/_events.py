"""Realistic market events for benchmarks: Bybit-shaped book deltas of 5-20 levels a side
and trades, seeded so every run measures the same stream."""

from __future__ import annotations

import random

from journal.events import BUY, SELL, BookDelta, Event, Trade


def market_events(n: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    mid = 19_537
    ts = 1_733_011_200_000_000_000
    u = 20_254_869
    for i in range(n):
        ts += rng.randrange(100_000, 5_000_000)
        if rng.random() < 0.2:
            events.append(
                Trade(
                    0, ts, "XRPUSDT", f"{i:016x}-trade", BUY if rng.random() < 0.5 else SELL,
                    mid + rng.randrange(-2, 3), rng.randrange(1, 50_000), ts // 1_000_000,
                )
            )  # fmt: skip
            continue
        u += 1
        mid += rng.choice((-1, 0, 0, 1))
        nb = rng.randrange(5, 21)
        na = rng.randrange(5, 21)
        events.append(
            BookDelta(
                0, ts, "XRPUSDT", u, 130_020_238_981 + i, ts // 1_000_000, ts // 1_000_000 - 2,
                sorted((mid - rng.randrange(0, 60) for _ in range(nb)), reverse=True),
                [rng.randrange(0, 30_000) for _ in range(nb)],
                sorted(mid + 1 + rng.randrange(0, 60) for _ in range(na)),
                [rng.randrange(0, 30_000) for _ in range(na)],
            )
        )  # fmt: skip
    return events
