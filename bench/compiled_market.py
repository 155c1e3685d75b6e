"""What compiling the core would buy: book + features as one numba kernel (a measurement).

The backtest goal (``bench.backtest``: events/s at least hftbacktest's) is out of reach of
the pure-Python core: with no model at all, book, features, L2 replay and journal already
cost several times hftbacktest's whole per-event budget. This bench measures the other side
of that decision: the same market plumbing the core runs on every event -- the L2 book and
the eight features of ``asnd.core.features`` -- written once as a numba kernel over columnar
events, on the same Bybit-shaped stream as ``bench.backtest``, beside the Python
``FeatureEngine`` in the same run. The kernel's rows are checked to be *identical* (every
float, bit for bit) to the engine's: the formulas are exact integer sums then one IEEE
division or square root, which numba and CPython round the same way.

It is a measurement, not a product path: nothing in ``asnd`` uses this kernel. Its book is a
dense price ladder sized to the stream's price range (a real compiled core would need a
structure for any range, gaps and stale books: ``L2Book``'s rules). Converting the events to
columns is not timed (as for hftbacktest's input arrays in ``bench.backtest``).

Run: ``python -m bench.compiled_market``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from asnd.core.features import FeatureConfig, FeatureEngine
from bench._common import emit
from bench.matching import real_snapshot, synthetic_stream
from journal.events import BookDelta, BookSnapshot, Event, Trade

DELTAS = 40_000
REPEATS = 5

Ints = npt.NDArray[np.int64]


def columns(stream: list[Event]) -> dict[str, Ints]:
    """The stream as arrays: per event its kind (0 snapshot, 1 delta, 2 trade), its levels'
    span in the level arrays, and the trade fields."""
    n = len(stream)
    kind = np.zeros(n, np.int64)
    start = np.zeros(n + 1, np.int64)
    trade = np.zeros((3, n), np.int64)  # price, qty, side
    side: list[int] = []
    price: list[int] = []
    lots: list[int] = []
    for i, e in enumerate(stream):
        if isinstance(e, BookSnapshot | BookDelta):
            kind[i] = 0 if isinstance(e, BookSnapshot) else 1
            side += [1] * len(e.bid_ticks) + [-1] * len(e.ask_ticks)
            price += [*e.bid_ticks, *e.ask_ticks]
            lots += [*e.bid_lots, *e.ask_lots]
        elif isinstance(e, Trade):
            kind[i] = 2
            trade[:, i] = (e.price_ticks, e.qty_lots, e.side)
        else:
            kind[i] = 3  # ignored
        start[i + 1] = len(price)
    return {
        "kind": kind,
        "start": start,
        "side": np.asarray(side, np.int64),
        "price": np.asarray(price, np.int64),
        "lots": np.asarray(lots, np.int64),
        "trade_price": trade[0].copy(),
        "trade_qty": trade[1].copy(),
        "trade_side": trade[2].copy(),
    }


def build_kernel() -> Any:
    from numba import njit

    @njit(cache=True)
    def kernel(  # noqa: PLR0917 - numba kernels take their arrays positionally
        kind: Any, start: Any, side: Any, price: Any, lots: Any, trade_price: Any,
        trade_qty: Any, trade_side: Any, base: int, width: int, depth: int,
        book_window: int, trade_window: int, out: Any,
    ) -> int:  # fmt: skip
        bids = np.zeros(width, np.int64)
        asks = np.zeros(width, np.int64)
        best_bid, best_ask = -1, width
        win_e = np.zeros(book_window, np.int64)
        win_depth = np.zeros(book_window, np.int64)
        win_r2 = np.zeros(book_window, np.int64)
        n_rows = head = sum_e = sum_depth = sum_r2 = 0
        flows = np.zeros(trade_window, np.int64)
        qtys = np.zeros(trade_window, np.int64)
        n_trades = t_head = sum_flow = sum_qty = 0
        last = -1
        continuous = False
        p_bid = p_bid_q = p_ask = p_ask_q = 0
        rows = 0
        for i in range(kind.size):
            k = kind[i]
            if k == 3:
                continue
            if k == 2:
                last = trade_price[i] - base
                q = trade_qty[i]
                flow = trade_side[i] * q
                if n_trades == trade_window:
                    sum_flow -= flows[t_head]
                    sum_qty -= qtys[t_head]
                    flows[t_head] = flow
                    qtys[t_head] = q
                    t_head = (t_head + 1) % trade_window
                else:
                    at = (t_head + n_trades) % trade_window
                    flows[at] = flow
                    qtys[at] = q
                    n_trades += 1
                sum_flow += flow
                sum_qty += q
                continue
            if k == 0:
                bids[:] = 0
                asks[:] = 0
                best_bid, best_ask = -1, width
            for j in range(start[i], start[i + 1]):
                p = price[j] - base
                q = lots[j]
                if side[j] > 0:
                    bids[p] = q
                    if q > 0 and p > best_bid:
                        best_bid = p
                    elif q == 0 and p == best_bid:
                        while best_bid >= 0 and bids[best_bid] == 0:
                            best_bid -= 1
                else:
                    asks[p] = q
                    if q > 0 and p < best_ask:
                        best_ask = p
                    elif q == 0 and p == best_ask:
                        while best_ask < width and asks[best_ask] == 0:
                            best_ask += 1
            if best_bid < 0 or best_ask >= width or best_bid >= best_ask:
                continuous = False
                continue
            bid_q = bids[best_bid]
            ask_q = asks[best_ask]
            e = r2 = 0
            if k == 0 or not continuous:
                n_rows = head = sum_e = sum_depth = sum_r2 = 0
                continuous = True
            else:
                if best_bid >= p_bid:
                    e += bid_q
                if best_bid <= p_bid:
                    e -= p_bid_q
                if best_ask <= p_ask:
                    e -= ask_q
                if best_ask >= p_ask:
                    e += p_ask_q
                r = best_bid + best_ask - p_bid - p_ask
                r2 = r * r
                if n_rows == book_window:
                    sum_e -= win_e[head]
                    sum_depth -= win_depth[head]
                    sum_r2 -= win_r2[head]
                    head = (head + 1) % book_window
                    n_rows -= 1
            p_bid, p_bid_q, p_ask, p_ask_q = best_bid, bid_q, best_ask, ask_q
            top = bid_q + ask_q
            at = (head + n_rows) % book_window
            win_e[at] = e
            win_depth[at] = top
            win_r2[at] = r2
            n_rows += 1
            sum_e += e
            sum_depth += top
            sum_r2 += r2
            bid_sum = ask_sum = seen = 0
            p = best_bid
            while seen < depth and p >= 0:
                if bids[p] > 0:
                    bid_sum += bids[p]
                    seen += 1
                p -= 1
            seen = 0
            p = best_ask
            while seen < depth and p < width:
                if asks[p] > 0:
                    ask_sum += asks[p]
                    seen += 1
                p += 1
            spread = best_ask - best_bid
            clv = 0.5
            if last >= 0:
                clv = min(max(float(last - best_bid) / float(spread), 0.0), 1.0)
            out[rows, 0] = float(bid_q) / float(top)
            out[rows, 1] = float(bid_sum) / float(bid_sum + ask_sum)
            out[rows, 2] = clv
            out[rows, 3] = float(spread)
            out[rows, 4] = float(spread * (bid_q - ask_q)) / float(2 * top)
            out[rows, 5] = float(sum_e) / float(sum_depth)
            out[rows, 6] = np.sqrt(float(sum_r2) / float(n_rows)) * 0.5
            out[rows, 7] = float(sum_flow) / float(sum_qty) if sum_qty else 0.0
            rows += 1
        return rows

    return kernel


def main() -> None:
    config = FeatureConfig()
    snap = real_snapshot()
    stream = synthetic_stream(snap, DELTAS, seed=11)
    cols = columns(stream)
    base = int(cols["price"].min()) - 1
    width = int(cols["price"].max()) - base + 2
    out = np.zeros((len(stream), 8))
    kernel = build_kernel()

    def compiled() -> int:
        return int(
            kernel(*cols.values(), base, width, config.depth, config.book_window,
                   config.trade_window, out)
        )  # fmt: skip

    compiled()  # numba compiles here (or loads its cache), untimed
    theirs = ours = float("inf")
    reference: list[tuple[float, ...]] = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        rows = compiled()
        ours = min(ours, time.perf_counter() - t0)
        engine = FeatureEngine(snap.symbol, config)
        produced: list[tuple[float, ...]] = []
        t0 = time.perf_counter()
        for event in stream:
            row = engine.on_event(event)
            if row is not None:
                produced.append(row)
        theirs = min(theirs, time.perf_counter() - t0)
        reference = produced
    expected = np.asarray(reference, dtype=np.float64)
    identical = expected.shape == out[:rows].shape and bool(
        np.array_equal(expected.view(np.int64), out[:rows].view(np.int64))
    )
    emit(
        "compiled_market",
        "book_and_features_events_per_s",
        value=round(len(stream) / ours),
        unit="events/s",
        reference="asnd.core.features.FeatureEngine (pure Python, what the core runs)",
        reference_value=round(len(stream) / theirs),
        ratio=round(theirs / ours, 1),
        rows=rows,
        identical_rows=identical,
        events=len(stream),
    )
    if not identical:
        raise SystemExit("the compiled kernel's rows differ from FeatureEngine's")


if __name__ == "__main__":
    main()
