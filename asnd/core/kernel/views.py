"""Python views over the market kernel's state: one symbol's book, and its feature windows as
snapshot data.

Nothing here folds market data: ``BookView`` reads the arrays the kernel keeps (levels,
``update_id``, staleness) with the reading API the policy, watchtower, shadows and status use;
``export_windows``/``load_windows`` and ``restore_book`` move one symbol's state to and from
plain data (the daemon's state snapshot, ``asnd.core.state_codec``), so recovery continues
exactly where the kernel was. A view holds the ``MarketKernel``, not its arrays: growth
replaces the arrays, and the view must read the current ones.
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from asnd.core.kernel.book import mark_stale
from asnd.core.kernel.layout import (
    ASK,
    BID,
    RS_NONE,
    S_CONTINUOUS,
    S_HAS_LAST,
    S_LAST_PRICE,
    S_PREV_ASK,
    S_PREV_ASK_LOTS,
    S_PREV_BID,
    S_PREV_BID_LOTS,
    S_ROW_HEAD,
    S_ROW_N,
    S_STALE,
    S_SUM_DEPTH,
    S_SUM_E,
    S_SUM_FLOW,
    S_SUM_QTY,
    S_SUM_R2,
    S_TRADE_HEAD,
    S_TRADE_N,
    S_UPDATE_ID,
    grow_levels,
)
from asnd.core.kernel.market import MarketKernel

__all__ = ["BookView", "FeatureWindows", "export_windows", "load_windows", "restore_book"]


class BookView:
    """The kernel's L2 book of one symbol, read-only: prices in ticks, sizes in lots."""

    __slots__ = ("_kernel", "_s", "symbol")

    def __init__(self, kernel: MarketKernel, symbol: str) -> None:
        self._kernel = kernel
        self.symbol = symbol
        self._s = kernel.add_symbol(symbol)

    @property
    def update_id(self) -> int:
        return int(self._kernel.state.sym[self._s, S_UPDATE_ID])

    @property
    def stale(self) -> bool:
        return bool(self._kernel.state.sym[self._s, S_STALE])

    @property
    def stale_reason(self) -> str:
        """Why the book is stale ("" when it is valid)."""
        return self._kernel.stale_reason(self.symbol)

    @property
    def best_bid(self) -> tuple[int, int] | None:
        """(price_ticks, lots) of the best bid, or None when the side is empty."""
        st = self._kernel.state
        n = int(st.level_n[BID, self._s])
        if not n:
            return None
        return int(st.level_key[BID, self._s, n - 1]), int(st.level_lots[BID, self._s, n - 1])

    @property
    def best_ask(self) -> tuple[int, int] | None:
        st = self._kernel.state
        n = int(st.level_n[ASK, self._s])
        if not n:
            return None
        return -int(st.level_key[ASK, self._s, n - 1]), int(st.level_lots[ASK, self._s, n - 1])

    def bids(self, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` bid levels, best first."""
        return self._side(BID, depth, 1)

    def asks(self, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` ask levels, best first."""
        return self._side(ASK, depth, -1)

    def _side(self, side: int, depth: int, sign: int) -> list[tuple[int, int]]:
        st = self._kernel.state
        n = int(st.level_n[side, self._s])
        lo = max(n - depth, 0)
        keys = st.level_key[side, self._s, lo:n][::-1].tolist()
        lots = st.level_lots[side, self._s, lo:n][::-1].tolist()
        return [(sign * k, q) for k, q in zip(keys, lots, strict=True)]

    def bid_size_at(self, price_ticks: int) -> int:
        return self._size_at(BID, price_ticks)

    def ask_size_at(self, price_ticks: int) -> int:
        return self._size_at(ASK, -price_ticks)

    def _size_at(self, side: int, key: int) -> int:
        st = self._kernel.state
        n = int(st.level_n[side, self._s])
        keys = st.level_key[side, self._s, :n]
        i = int(np.searchsorted(keys, key))
        return int(st.level_lots[side, self._s, i]) if i < n and keys[i] == key else 0

    @property
    def depth(self) -> tuple[int, int]:
        """Number of (bid, ask) levels."""
        st = self._kernel.state
        return int(st.level_n[BID, self._s]), int(st.level_n[ASK, self._s])

    def levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Every (price_ticks, lots) level, ascending by price on both sides (for snapshots)."""
        return self._kernel.levels(self.symbol)


class FeatureWindows(msgspec.Struct, array_like=True, gc=False):
    """One symbol's feature windows as plain data, oldest first (a state snapshot's form)."""

    continuous: bool
    prev: tuple[int, int, int, int]
    rows: list[tuple[int, int, int]]  # (OFI e, b + a, (2 dmid)**2) of the current run
    trades: list[tuple[int, int]]  # (side * qty, qty)
    last_trade_ticks: int | None


def _ring(ring: npt.NDArray[np.int64], head: int, n: int) -> list[tuple[int, ...]]:
    window = ring.shape[0]
    return [tuple(ring[(head + i) % window].tolist()) for i in range(n)]


def export_windows(kernel: MarketKernel, symbol: str) -> FeatureWindows:
    """The feature windows of ``symbol``; ``load_windows`` of them continues exactly here."""
    s = kernel.add_symbol(symbol)
    st = kernel.state
    row = st.sym[s].tolist()
    rows = _ring(st.book_rows[s], row[S_ROW_HEAD], row[S_ROW_N])
    trades = _ring(st.trades[s], row[S_TRADE_HEAD], row[S_TRADE_N])
    return FeatureWindows(
        bool(row[S_CONTINUOUS]),
        (row[S_PREV_BID], row[S_PREV_BID_LOTS], row[S_PREV_ASK], row[S_PREV_ASK_LOTS]),
        [(r[0], r[1], r[2]) for r in rows],
        [(t[0], t[1]) for t in trades],
        row[S_LAST_PRICE] if row[S_HAS_LAST] else None,
    )


def load_windows(kernel: MarketKernel, symbol: str, windows: FeatureWindows) -> None:
    """Replace the feature windows of ``symbol`` (their sums are recomputed from them)."""
    s = kernel.add_symbol(symbol)
    st = kernel.state
    if len(windows.rows) > st.book_rows.shape[1] or len(windows.trades) > st.trades.shape[1]:
        raise ValueError("stored feature windows are longer than this configuration's")
    sym = st.sym
    sym[s, S_CONTINUOUS] = int(windows.continuous)
    sym[s, [S_PREV_BID, S_PREV_BID_LOTS, S_PREV_ASK, S_PREV_ASK_LOTS]] = windows.prev
    st.book_rows[s] = 0
    for i, r in enumerate(windows.rows):
        st.book_rows[s, i] = r
    sym[s, S_ROW_HEAD], sym[s, S_ROW_N] = 0, len(windows.rows)
    sym[s, S_SUM_E] = sum(r[0] for r in windows.rows)
    sym[s, S_SUM_DEPTH] = sum(r[1] for r in windows.rows)
    sym[s, S_SUM_R2] = sum(r[2] for r in windows.rows)
    st.trades[s] = 0
    for i, t in enumerate(windows.trades):
        st.trades[s, i] = t
    sym[s, S_TRADE_HEAD], sym[s, S_TRADE_N] = 0, len(windows.trades)
    sym[s, S_SUM_FLOW] = sum(t[0] for t in windows.trades)
    sym[s, S_SUM_QTY] = sum(t[1] for t in windows.trades)
    last = windows.last_trade_ticks
    sym[s, S_HAS_LAST], sym[s, S_LAST_PRICE] = (0, 0) if last is None else (1, last)


def restore_book(
    kernel: MarketKernel,
    symbol: str,
    update_id: int,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    stale_reason: str | None,
) -> None:
    """Set the book of ``symbol`` exactly as ``BookView.levels()`` and its fields described
    it (``stale_reason`` None for a valid book). Levels with size <= 0 are refused: they
    cannot have been stored."""
    if any(q <= 0 for _, q in bids) or any(q <= 0 for _, q in asks):
        raise ValueError(f"{symbol}: a stored book level has a size <= 0")
    s = kernel.add_symbol(symbol)
    bid_keys = sorted(dict(bids).items())
    ask_keys = sorted({-p: q for p, q in asks}.items())  # asks keyed by -price, ascending
    needed = max(len(bid_keys), len(ask_keys))
    if needed > kernel.state.level_key.shape[2]:
        kernel.state = grow_levels(kernel.state, needed)
    st = kernel.state
    for side, levels in ((BID, bid_keys), (ASK, ask_keys)):
        st.level_key[side, s] = 0
        st.level_lots[side, s] = 0
        st.level_n[side, s] = len(levels)
        for i, (key, lots) in enumerate(levels):
            st.level_key[side, s, i] = key
            st.level_lots[side, s, i] = lots
    st.sym[s, S_UPDATE_ID] = update_id
    if stale_reason is None:
        mark_stale(st.sym, s, RS_NONE)
    else:
        kernel.mark_stale(symbol, stale_reason)
