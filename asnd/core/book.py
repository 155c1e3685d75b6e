"""The L2 order book of one symbol, rebuilt from snapshots and deltas.

Rules (Bybit v5 ``orderbook.{depth}.{symbol}``):
- A snapshot replaces the whole book; it is never merged into the old one.
- A delta must carry ``update_id == previous + 1``. Anything else is a gap: the book becomes
  stale and ignores deltas until the next snapshot. ``update_id == 1`` on a delta means the
  venue restarted its book, which is a gap too.
- A level with size 0 is deleted.
- A book whose best bid >= best ask is crossed: it is marked stale, because trading on it
  would be trading on a lie.

The caller decides what a stale book means (the feed resubscribes; models stop trading), so
``apply`` returns an ``Update`` verdict instead of raising for these expected conditions.

Storage: per side a dict price -> size and a sorted list of prices (ascending on both sides;
the best bid is the last element). Deltas touch few levels near the touch, so ``bisect``
insertion into a list of a few hundred ints is cheaper than any tree.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, insort

from journal.events import BookDelta, BookSnapshot

__all__ = ["L2Book", "Update"]


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
