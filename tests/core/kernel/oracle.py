"""The test oracle: the pre-kernel Python book and features, kept verbatim for the
differential tests only (no production path imports it).

``asnd.core.kernel`` is the one implementation of the book and the eight features; this is
the code it replaced (``asnd/core/book.py``, ``asnd/core/features/incremental.py`` and
``batch.py`` as of the kernel switch), so the differential tests can still hold the kernel to
it on real and generated streams (hypothesis streams cannot be stored as golden files). It
is a reference model: simple, slow, obviously right, and never used to trade.
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from asnd.core.features.frame import FeatureFrame
from asnd.core.features.spec import FEATURE_NAMES, FeatureConfig, FeatureRow
from asnd.core.kernel.views import FeatureWindows
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade

__all__ = ["FeatureEngine", "FeatureState", "L2Book", "Update", "compute_features"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class Update(enum.Enum):
    APPLIED = "applied"
    SNAPSHOT = "snapshot"
    GAP = "gap"  # this delta broke the update_id chain: book now stale
    IGNORED_STALE = "ignored_stale"  # delta while stale: waiting for a snapshot
    CROSSED = "crossed"  # applying it crossed the book: book now stale
    WRONG_SYMBOL = "wrong_symbol"


class L2Book:
    """Price levels in integer ticks, sizes in integer lots."""

    __slots__ = (
        "_ask_px",
        "_asks",
        "_bid_px",
        "_bids",
        "stale",
        "stale_reason",
        "symbol",
        "update_id",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.update_id = 0
        self.stale = True
        self.stale_reason = "no snapshot yet"
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self._bid_px: list[int] = []
        self._ask_px: list[int] = []

    # ---------------------------------------------------------------- applying market data

    def apply(self, event: BookSnapshot | BookDelta) -> Update:
        if event.symbol != self.symbol:
            return Update.WRONG_SYMBOL
        if isinstance(event, BookSnapshot):
            return self.apply_snapshot(event)
        return self.apply_delta(event)

    def apply_snapshot(self, snap: BookSnapshot) -> Update:
        self._bids = {p: q for p, q in zip(snap.bid_ticks, snap.bid_lots, strict=True) if q > 0}
        self._asks = {p: q for p, q in zip(snap.ask_ticks, snap.ask_lots, strict=True) if q > 0}
        self._bid_px = sorted(self._bids)
        self._ask_px = sorted(self._asks)
        self.update_id = snap.update_id
        if self._is_crossed():
            return self._mark_stale("crossed snapshot", Update.CROSSED)
        self.stale = False
        self.stale_reason = ""
        return Update.SNAPSHOT

    def apply_delta(self, delta: BookDelta) -> Update:
        if self.stale:
            return Update.IGNORED_STALE
        if delta.update_id != self.update_id + 1:
            reason = (
                "venue restarted its book (u=1)"
                if delta.update_id == 1
                else f"gap: expected u={self.update_id + 1}, got u={delta.update_id}"
            )
            return self._mark_stale(reason, Update.GAP)
        self.update_id = delta.update_id
        _apply_side(self._bids, self._bid_px, delta.bid_ticks, delta.bid_lots)
        _apply_side(self._asks, self._ask_px, delta.ask_ticks, delta.ask_lots)
        if self._is_crossed():
            return self._mark_stale(
                f"crossed at u={delta.update_id}: bid {self._bid_px[-1]} >= ask {self._ask_px[0]}",
                Update.CROSSED,
            )
        return Update.APPLIED

    def mark_stale(self, reason: str) -> None:
        """From outside (reconnect, silence): distrust the book until the next snapshot."""
        self._mark_stale(reason, Update.GAP)

    def _mark_stale(self, reason: str, verdict: Update) -> Update:
        self.stale = True
        self.stale_reason = reason
        return verdict

    def _is_crossed(self) -> bool:
        return bool(self._bid_px and self._ask_px and self._bid_px[-1] >= self._ask_px[0])

    # ----------------------------------------------------------------------------- reading

    @property
    def best_bid(self) -> tuple[int, int] | None:
        """(price_ticks, lots) of the best bid, or None when the side is empty."""
        if not self._bid_px:
            return None
        p = self._bid_px[-1]
        return p, self._bids[p]

    @property
    def best_ask(self) -> tuple[int, int] | None:
        if not self._ask_px:
            return None
        p = self._ask_px[0]
        return p, self._asks[p]

    def bids(self, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` bid levels, best first."""
        px = self._bid_px
        sizes = self._bids
        return [(p, sizes[p]) for p in px[: -depth - 1 : -1]]

    def asks(self, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` ask levels, best first."""
        sizes = self._asks
        return [(p, sizes[p]) for p in self._ask_px[:depth]]

    def bid_size_at(self, price_ticks: int) -> int:
        return self._bids.get(price_ticks, 0)

    def ask_size_at(self, price_ticks: int) -> int:
        return self._asks.get(price_ticks, 0)

    @property
    def depth(self) -> tuple[int, int]:
        """Number of (bid, ask) levels."""
        return len(self._bid_px), len(self._ask_px)

    # ---------------------------------------------------------------------------- snapshot

    def levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Every (price_ticks, lots) level, ascending by price on both sides (for snapshots)."""
        bids, asks = self._bids, self._asks
        return [(p, bids[p]) for p in self._bid_px], [(p, asks[p]) for p in self._ask_px]

    @classmethod
    def restore(
        cls,
        symbol: str,
        update_id: int,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        stale_reason: str | None,
    ) -> L2Book:
        """A book exactly as ``levels()`` and its fields described it (``stale_reason`` None
        for a valid book). Levels with size <= 0 are refused: they cannot have been stored."""
        if any(q <= 0 for _, q in bids) or any(q <= 0 for _, q in asks):
            raise ValueError(f"{symbol}: a stored book level has a size <= 0")
        book = cls(symbol)
        book._bids = dict(bids)
        book._asks = dict(asks)
        book._bid_px = sorted(book._bids)
        book._ask_px = sorted(book._asks)
        book.update_id = update_id
        book.stale = stale_reason is not None
        book.stale_reason = stale_reason or ""
        return book


def _apply_side(
    sizes: dict[int, int], prices: list[int], ticks: list[int], lots: list[int]
) -> None:
    for p, q in zip(ticks, lots, strict=True):
        if q:
            if p not in sizes:
                insort(prices, p)
            sizes[p] = q
        elif p in sizes:
            del sizes[p]
            del prices[bisect_left(prices, p)]


class FeatureState:
    """The windows behind the features of one symbol (definitions in the package doc)."""

    __slots__ = (
        "_book_window",
        "_continuous",
        "_depth",
        "_prev",
        "_rows",
        "_sum_depth",
        "_sum_e",
        "_sum_r2",
        "_sum_trade_flow",
        "_sum_trade_qty",
        "_trade_window",
        "_trades",
        "last_trade_ticks",
    )

    def __init__(self, config: FeatureConfig | None = None) -> None:
        config = config or FeatureConfig()
        self._depth = config.depth
        self._book_window = config.book_window
        self._trade_window = config.trade_window
        self._continuous = False  # did the previous book event emit a row (same run)?
        self._prev = (0, 0, 0, 0)  # previous row's (B, b, A, a)
        self._rows: deque[tuple[int, int, int]] = deque()  # (e, b + a, r**2) per row
        self._sum_e = 0
        self._sum_depth = 0
        self._sum_r2 = 0
        self._trades: deque[tuple[int, int]] = deque()  # (side * qty, qty) per trade
        self._sum_trade_flow = 0
        self._sum_trade_qty = 0
        #: Price (ticks) of the last trade seen, None before the first.
        self.last_trade_ticks: int | None = None

    def export(self) -> FeatureWindows:
        """The windows as data; ``load`` of it continues exactly where this state is."""
        return FeatureWindows(
            self._continuous,
            self._prev,
            list(self._rows),
            list(self._trades),
            self.last_trade_ticks,
        )

    def load(self, windows: FeatureWindows) -> None:
        """Replace this state's windows with ``windows`` (sums are recomputed from them)."""
        if len(windows.rows) > self._book_window or len(windows.trades) > self._trade_window:
            raise ValueError("stored feature windows are longer than this configuration's")
        self._continuous = windows.continuous
        self._prev = windows.prev
        self._rows = deque(windows.rows)
        self._sum_e = sum(r[0] for r in self._rows)
        self._sum_depth = sum(r[1] for r in self._rows)
        self._sum_r2 = sum(r[2] for r in self._rows)
        self._trades = deque(windows.trades)
        self._sum_trade_flow = sum(t[0] for t in self._trades)
        self._sum_trade_qty = sum(t[1] for t in self._trades)
        self.last_trade_ticks = windows.last_trade_ticks

    def on_trade(self, trade: Trade) -> None:
        """Record a public trade of the symbol."""
        self.last_trade_ticks = trade.price_ticks
        qty = trade.qty_lots
        flow = trade.side * qty
        trades = self._trades
        if len(trades) == self._trade_window:
            old_flow, old_qty = trades.popleft()
            self._sum_trade_flow -= old_flow
            self._sum_trade_qty -= old_qty
        trades.append((flow, qty))
        self._sum_trade_flow += flow
        self._sum_trade_qty += qty

    def on_book(self, book: L2Book, *, snapshot: bool) -> FeatureRow | None:
        """The row after ``book`` applied one event (``snapshot``: that event was a snapshot),
        or None when the book is not valid (the current run then ends)."""
        best_bid = book.best_bid
        best_ask = book.best_ask
        if book.stale or best_bid is None or best_ask is None:
            self._continuous = False
            return None
        bid_px, bid_qty = best_bid
        ask_px, ask_qty = best_ask
        rows = self._rows
        if snapshot or not self._continuous:
            rows.clear()
            self._sum_e = self._sum_depth = self._sum_r2 = 0
            e = r2 = 0
            self._continuous = True
        else:
            p_bid_px, p_bid_qty, p_ask_px, p_ask_qty = self._prev
            e = 0
            if bid_px >= p_bid_px:
                e += bid_qty
            if bid_px <= p_bid_px:
                e -= p_bid_qty
            if ask_px <= p_ask_px:
                e -= ask_qty
            if ask_px >= p_ask_px:
                e += p_ask_qty
            r = bid_px + ask_px - p_bid_px - p_ask_px  # change of twice the mid
            r2 = r * r
            if len(rows) == self._book_window:
                old_e, old_depth, old_r2 = rows.popleft()
                self._sum_e -= old_e
                self._sum_depth -= old_depth
                self._sum_r2 -= old_r2
        self._prev = (bid_px, bid_qty, ask_px, ask_qty)
        top_depth = bid_qty + ask_qty
        rows.append((e, top_depth, r2))
        self._sum_e += e
        self._sum_depth += top_depth
        self._sum_r2 += r2

        spread = ask_px - bid_px
        bid_sum = sum([q for _, q in book.bids(self._depth)])
        ask_sum = sum([q for _, q in book.asks(self._depth)])
        last = self.last_trade_ticks
        if last is None:
            clv = 0.5
        else:
            clv = float(last - bid_px) / float(spread)
            clv = 0.0 if clv < 0.0 else 1.0 if clv > 1.0 else clv
        trade_qty = self._sum_trade_qty
        return (
            float(bid_qty) / float(top_depth),
            float(bid_sum) / float(bid_sum + ask_sum),
            clv,
            float(spread),
            float(spread * (bid_qty - ask_qty)) / float(2 * top_depth),
            float(self._sum_e) / float(self._sum_depth),
            math.sqrt(float(self._sum_r2) / float(len(rows))) * 0.5,
            float(self._sum_trade_flow) / float(trade_qty) if trade_qty else 0.0,
        )


class FeatureEngine:
    """A book and its feature state for one symbol: feed every event in, get rows out."""

    __slots__ = ("book", "state", "symbol")

    def __init__(self, symbol: str, config: FeatureConfig | None = None) -> None:
        self.symbol = symbol
        self.book = L2Book(symbol)
        self.state = FeatureState(config)

    def on_event(self, event: Event) -> FeatureRow | None:
        """Apply one event; the feature row if it was a book event that left the book valid."""
        if isinstance(event, BookSnapshot | BookDelta):
            if event.symbol != self.symbol:
                return None
            verdict = self.book.apply(event)
            return self.state.on_book(self.book, snapshot=verdict is Update.SNAPSHOT)
        if isinstance(event, Trade) and event.symbol == self.symbol:
            self.state.on_trade(event)
        return None


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
