"""Features over a whole event stream at once: the backtest and evolution path.

One pass folds the events through an ``L2Book`` (a book can only be rebuilt in order) and
records exact integers per row; numpy then computes every feature column from those integers
with the same formulas, in the same rounding, as ``incremental`` (see the package doc), so the
two paths give identical floats.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from asnd.core.book import L2Book, Update
from asnd.core.features.frame import FeatureFrame
from asnd.core.features.spec import FEATURE_NAMES, FeatureConfig
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade

__all__ = ["FeatureFrame", "compute_features"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def compute_features(
    events: Iterable[Event], symbol: str | None = None, config: FeatureConfig | None = None
) -> FeatureFrame:
    """Feature rows of ``symbol`` over ``events`` (any iterable: a journal reader, an archive).

    ``symbol`` None means the symbol of the first ``InstrumentInfo`` or book event.
    """
    config = config or FeatureConfig()
    depth = config.depth
    book: L2Book | None = None if symbol is None else L2Book(symbol)
    bid_px: list[int] = []
    bid_qty: list[int] = []
    ask_px: list[int] = []
    ask_qty: list[int] = []
    bid_sum: list[int] = []
    ask_sum: list[int] = []
    starts: list[bool] = []  # the row starts a run
    last_px: list[int] = []  # last trade price before the row (0 before any trade)
    n_trades: list[int] = []  # trades seen before the row
    seqs: list[int] = []
    local_ns: list[int] = []
    venue_ms: list[int] = []
    trade_flow: list[int] = []
    trade_qty: list[int] = []
    last = 0
    continuous = False
    for event in events:
        if book is None:
            if isinstance(event, InstrumentInfo | BookSnapshot | BookDelta | Trade):
                book = L2Book(event.symbol)
            else:
                continue
        if isinstance(event, BookSnapshot | BookDelta):
            if event.symbol != book.symbol:
                continue
            snapshot = book.apply(event) is Update.SNAPSHOT
            best_bid, best_ask = book.best_bid, book.best_ask
            if book.stale or best_bid is None or best_ask is None:
                continuous = False
                continue
            starts.append(snapshot or not continuous)
            continuous = True
            bid_px.append(best_bid[0])
            bid_qty.append(best_bid[1])
            ask_px.append(best_ask[0])
            ask_qty.append(best_ask[1])
            bid_sum.append(sum(q for _, q in book.bids(depth)))
            ask_sum.append(sum(q for _, q in book.asks(depth)))
            last_px.append(last)
            n_trades.append(len(trade_qty))
            seqs.append(event.seq)
            local_ns.append(event.ts_local_ns)
            venue_ms.append(event.venue_ts_ms)
        elif isinstance(event, Trade) and event.symbol == book.symbol:
            last = event.price_ticks
            trade_flow.append(event.side * event.qty_lots)
            trade_qty.append(event.qty_lots)

    def ints(values: list[int]) -> Ints:
        return np.asarray(values, dtype=np.int64)

    bid = ints(bid_px)
    ask = ints(ask_px)
    values = _columns(
        bid_px=bid,
        bid_qty=ints(bid_qty),
        ask_px=ask,
        ask_qty=ints(ask_qty),
        bid_sum=ints(bid_sum),
        ask_sum=ints(ask_sum),
        start=np.asarray(starts, dtype=bool),
        last_px=ints(last_px),
        n_trades=ints(n_trades),
        flow=ints(trade_flow),
        qty=ints(trade_qty),
        config=config,
    )
    return FeatureFrame(
        symbol=book.symbol if book is not None else (symbol or ""),
        names=FEATURE_NAMES,
        values=values,
        mid_x2_ticks=bid + ask,
        seq=ints(seqs),
        ts_local_ns=ints(local_ns),
        venue_ts_ms=ints(venue_ms),
    )


def _window_sum(values: Ints, lo: Ints) -> Ints:
    """Sum of ``values[lo[i] : i + 1]`` for every row i, exactly (int64 prefix sums)."""
    prefix = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    sums: Ints = prefix[np.arange(1, values.size + 1)] - prefix[lo]  # typed for older numpy stubs
    return sums


def _columns(
    *,
    bid_px: Ints,
    bid_qty: Ints,
    ask_px: Ints,
    ask_qty: Ints,
    bid_sum: Ints,
    ask_sum: Ints,
    start: npt.NDArray[np.bool_],
    last_px: Ints,
    n_trades: Ints,
    flow: Ints,
    qty: Ints,
    config: FeatureConfig,
) -> Floats:
    n = bid_px.size
    out = np.empty((n, len(FEATURE_NAMES)), dtype=np.float64)
    if n == 0:
        return out
    spread = ask_px - bid_px
    top_depth = bid_qty + ask_qty
    f = np.float64
    out[:, 0] = bid_qty.astype(f) / top_depth.astype(f)
    out[:, 1] = bid_sum.astype(f) / (bid_sum + ask_sum).astype(f)
    clv = (last_px - bid_px).astype(f) / spread.astype(f)
    clv = np.where(clv < 0.0, 0.0, np.where(clv > 1.0, 1.0, clv))
    out[:, 2] = np.where(n_trades == 0, 0.5, clv)
    out[:, 3] = spread.astype(f)
    out[:, 4] = (spread * (bid_qty - ask_qty)).astype(f) / (2 * top_depth).astype(f)

    # Per-row OFI term and mid change against the previous row; both 0 where a run starts.
    p_bid_px, p_bid_qty = np.roll(bid_px, 1), np.roll(bid_qty, 1)
    p_ask_px, p_ask_qty = np.roll(ask_px, 1), np.roll(ask_qty, 1)
    e = (
        np.where(bid_px >= p_bid_px, bid_qty, 0)
        - np.where(bid_px <= p_bid_px, p_bid_qty, 0)
        - np.where(ask_px <= p_ask_px, ask_qty, 0)
        + np.where(ask_px >= p_ask_px, p_ask_qty, 0)
    )
    r = bid_px + ask_px - p_bid_px - p_ask_px
    e[start] = 0
    r[start] = 0
    index = np.arange(n, dtype=np.int64)
    run_start = np.maximum.accumulate(np.where(start, index, 0))
    lo = np.maximum(run_start, index - (config.book_window - 1))
    out[:, 5] = _window_sum(e, lo).astype(f) / _window_sum(top_depth, lo).astype(f)
    count = (index + 1 - lo).astype(f)
    out[:, 6] = np.sqrt(_window_sum(r * r, lo).astype(f) / count) * 0.5

    prefix_flow = np.concatenate(([0], np.cumsum(flow, dtype=np.int64)))
    prefix_qty = np.concatenate(([0], np.cumsum(qty, dtype=np.int64)))
    t_lo = np.maximum(n_trades - config.trade_window, 0)
    sum_flow = prefix_flow[n_trades] - prefix_flow[t_lo]
    sum_qty = prefix_qty[n_trades] - prefix_qty[t_lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        tf = sum_flow.astype(f) / sum_qty.astype(f)
    out[:, 7] = np.where(sum_qty != 0, tf, 0.0)
    return out
