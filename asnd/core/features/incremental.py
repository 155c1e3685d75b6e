"""Features updated one event at a time: the live path (one row per valid book update).

``FeatureState`` holds only the feature windows and reads an ``L2Book`` that the caller keeps
up to date; ``FeatureEngine`` bundles a book and a state for callers that just have events.
"""

from __future__ import annotations

import math
from collections import deque

import msgspec

from asnd.core.book import L2Book, Update
from asnd.core.features.spec import FeatureConfig, FeatureRow
from journal.events import BookDelta, BookSnapshot, Event, Trade

__all__ = ["FeatureEngine", "FeatureState", "FeatureWindows"]


class FeatureWindows(msgspec.Struct, array_like=True, gc=False):
    """A ``FeatureState``'s windows as plain data, so a state snapshot can carry them."""

    continuous: bool
    prev: tuple[int, int, int, int]
    rows: list[tuple[int, int, int]]
    trades: list[tuple[int, int]]
    last_trade_ticks: int | None


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
