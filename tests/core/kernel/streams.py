"""Event streams for the differential tests: LOBSTER's level-10 sample as L2 deltas, and a
hypothesis strategy for books with gaps, crosses, stale books and resyncs."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import strategies as st

from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Event,
    InstrumentInfo,
    TimerFired,
    Trade,
)

LOBSTER_TICK = 100  # LOBSTER prices are dollars x 10,000; AAPL's tick is one cent


def _levels(row: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    asks = {row[i] // LOBSTER_TICK: row[i + 1] for i in range(0, len(row), 4)}
    bids = {row[i + 2] // LOBSTER_TICK: row[i + 3] for i in range(0, len(row), 4)}
    return bids, asks


def lobster_l2(base: Path) -> list[Event]:
    """Each order-book row after the first as the delta from the row before (changed and new
    levels, removed ones with size 0), the first as a snapshot; executions as trades."""
    with Path(f"{base}_orderbook_10.csv").open() as f:
        rows = [[int(x) for x in r] for r in csv.reader(f)]
    with Path(f"{base}_message_10.csv").open() as f:
        messages = list(csv.reader(f))
    symbol = "AAPL"
    ts0 = 1_340_236_800_000_000_000  # 2012-06-21 00:00 UTC
    events: list[Event] = [InstrumentInfo(0, ts0, "lobster", symbol, "0.01", "1")]
    prev_bids: dict[int, int] = {}
    prev_asks: dict[int, int] = {}
    for k, (row, msg) in enumerate(zip(rows, messages, strict=True)):
        ts = ts0 + int(float(msg[0]) * 1e9)
        ms = ts // 1_000_000
        bids, asks = _levels(row)
        if msg[1] in {"4", "5"}:
            side = SELL if msg[5] == "1" else BUY  # a resting buy executed: the taker sold
            events.append(Trade(0, ts, symbol, f"t{k}", side, int(msg[4]) // LOBSTER_TICK,
                                int(msg[3]), ms))  # fmt: skip
        u = k + 1
        if k == 0:
            b, a = sorted(bids, reverse=True), sorted(asks)
            events.append(BookSnapshot(0, ts, symbol, u, u, ms, ms, b, [bids[p] for p in b],
                                       a, [asks[p] for p in a]))  # fmt: skip
        else:
            cb = {p: bids.get(p, 0) for p in bids.keys() | prev_bids.keys()
                  if bids.get(p, 0) != prev_bids.get(p, 0)}  # fmt: skip
            ca = {p: asks.get(p, 0) for p in asks.keys() | prev_asks.keys()
                  if asks.get(p, 0) != prev_asks.get(p, 0)}  # fmt: skip
            b, a = sorted(cb, reverse=True), sorted(ca)
            events.append(BookDelta(0, ts, symbol, u, u, ms, ms, b, [cb[p] for p in b],
                                    a, [ca[p] for p in a]))  # fmt: skip
        prev_bids, prev_asks = bids, asks
    return events


_sizes = st.integers(1, 10**6)


@st.composite
def book_streams(draw: st.DrawFn, max_events: int = 60) -> list[Event]:
    """One or two symbols; snapshots (sometimes crossed, unsorted, with zero or repeated
    levels), deltas that mostly continue ``u`` (sometimes a gap, ``u = 1``, a stale delta, a
    cross through the touch), trades and a non-market event now and then."""
    symbols = draw(st.sampled_from([["BTCUSDT"], ["BTCUSDT", "ETHUSDT"]]))
    u = dict.fromkeys(symbols, 0)
    mid = dict.fromkeys(symbols, 1000)
    events: list[Event] = []
    ts = 1_700_000_000_000_000_000
    for i in range(draw(st.integers(1, max_events))):
        ts += 1_000_000
        ms = ts // 1_000_000
        symbol = draw(st.sampled_from(symbols))
        what = draw(
            st.sampled_from(["snapshot", "delta", "delta", "delta", "delta", "trade", "other"])
        )
        m = mid[symbol]
        if what == "other":
            events.append(TimerFired(0, ts, "mark"))
        elif what == "trade":
            side = draw(st.sampled_from([BUY, SELL]))
            events.append(Trade(0, ts, symbol, f"t{i}", side, m + draw(st.integers(-5, 5)),
                                draw(_sizes), ms, draw(st.booleans())))  # fmt: skip
        elif what == "snapshot":
            crossed = draw(st.integers(0, 9)) == 0
            nb, na = draw(st.integers(0, 12)), draw(st.integers(0, 12))
            bids = [m - draw(st.integers(0 if crossed else 1, 20)) for _ in range(nb)]
            asks = [m + draw(st.integers(-3 if crossed else 0, 20)) for _ in range(na)]
            if draw(st.booleans()):
                bids, asks = sorted(set(bids), reverse=True), sorted(set(asks))
            u[symbol] = draw(st.integers(1, 10**6))
            events.append(BookSnapshot(0, ts, symbol, u[symbol], i, ms, ms, bids,
                                       [draw(st.integers(0, 10**6)) for _ in bids], asks,
                                       [draw(st.integers(0, 10**6)) for _ in asks]))  # fmt: skip
        else:
            step = draw(st.sampled_from([1] * 12 + [0, 2, -5]))
            nxt = 1 if draw(st.integers(0, 30)) == 0 else u[symbol] + step
            u[symbol] = max(nxt, 1)
            mid[symbol] = m = m + draw(st.integers(-2, 2))
            reach = 6 if draw(st.integers(0, 8)) == 0 else 0  # sometimes through the touch
            nb, na = draw(st.integers(0, 6)), draw(st.integers(0, 6))
            bids = [m - draw(st.integers(1 - reach, 15)) for _ in range(nb)]
            asks = [m + draw(st.integers(1 - reach, 15)) for _ in range(na)]
            lots = st.sampled_from([0, 0, 1, 5, 900])  # 0 deletes the level
            events.append(BookDelta(0, ts, symbol, u[symbol], i, ms, ms, bids,
                                    [draw(lots) for _ in bids], asks,
                                    [draw(lots) for _ in asks]))  # fmt: skip
    return events
