"""A deterministic price-time-priority matching engine for one symbol.

Prices are integer ticks, sizes integer lots; there are no floats and no clock. Time comes
in as ``ts_ns`` on every call and is stamped on the events the call returns. The engine
never raises for a bad order: it answers with an ``OrderRejected`` event whose ``code`` is
one of the negative ``REJECT_*`` constants and whose ``reason`` says what was wrong.

Public API (every operation returns ``list[Event]``, in the order things happened)::

    engine = MatchingEngine("XRPUSDT", price_step_ticks=1, lot_step=1, stp=STP_CANCEL_TAKER)
    engine.submit(ts_ns, order_id, owner, link_id, side, price_ticks, qty_lots, tif=GTC)
    engine.market(ts_ns, order_id, owner, link_id, side, qty_lots, protection_ticks=0)
    engine.cancel(ts_ns, order_id, reason="cancelled")
    engine.amend(ts_ns, order_id, price_ticks=..., qty_lots=...)   # either or both
    engine.execute(ts_ns, order_id, qty_lots, taker_side=...)      # order-level replay only
    engine.best_bid / best_ask / bids(n) / asks(n) / order(order_id) / queue(side, price)

- ``order_id`` is chosen by the caller (any int, unique among live orders; a duplicate is
  rejected). Events carry it as ``venue_order_id=str(order_id)`` and echo ``link_id``.
- ``owner`` identifies an account; it is the ``slot`` of every event and the key of
  self-trade prevention (STP): when a taker would match a resting order of the same owner,
  ``STP_CANCEL_TAKER`` (Bybit's default) cancels the taker's remainder, ``STP_CANCEL_MAKER``
  cancels the resting order and keeps matching, ``STP_CANCEL_BOTH`` does both, and
  ``STP_NONE`` lets them trade.
- ``side`` is ``BUY`` (1) or ``SELL`` (-1) from ``journal.events``.
- ``tif``: ``GTC`` rests the remainder; ``IOC`` cancels it; ``FOK`` fills completely or not
  at all (checked before any fill, counting only liquidity the taker can reach under STP);
  ``POST_ONLY`` is rejected (``REJECT_WOULD_CROSS``) if it would take liquidity.
- A market order is an IOC whose limit is its protection price (``0`` = no limit).

Events of an order entry: ``OrderAccepted``; then per match, maker first: ``Trade`` (the
public print, ``side`` = taker side), ``Fill`` for the maker (``is_maker=True``), ``Fill`` for
the taker; then ``OrderCancelled`` for an IOC/market/FOK/STP remainder (``remaining_lots``).
``Fill.leaves_lots`` is what is left of that order after the fill. Trade ids count up from 1
(``trade_id=str(n)``); exec ids are ``f"{n}m"`` (maker) and ``f"{n}t"`` (taker).

Amend: ``qty_lots`` is the new *remaining* size. A size decrease at the same price keeps the
order's place in the queue; a size increase or a price change moves it to the back of its
(new) level, and a new price may match at once (a post-only order whose new price would cross
is rejected and left unchanged).

Determinism: orders are kept in per-level ``deque``s (FIFO) and price levels in sorted lists;
dicts are used only for lookups by key, never iterated to decide an outcome. The same calls
give the same events, byte for byte once encoded.

Conservation: for every order, ``submitted = filled + resting + cancelled`` (amend size
changes count as submitting or cancelling the difference); ``stats`` keeps the totals.

Speed: a cancelled order is only marked dead (``leaves == 0``) and skipped when it reaches
the head of its queue, so cancel is O(1) apart from dropping an emptied level; a level is
compacted when dead entries outnumber live ones.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from journal.events import (
    BUY,
    SELL,
    Event,
    Fill,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    Trade,
)

__all__ = [
    "FOK",
    "GTC",
    "IOC",
    "POST_ONLY",
    "REJECT_BAD_PRICE",
    "REJECT_BAD_SIDE",
    "REJECT_BAD_SIZE",
    "REJECT_BAD_TIF",
    "REJECT_DUPLICATE_ID",
    "REJECT_OFF_GRID",
    "REJECT_UNKNOWN_ORDER",
    "REJECT_WOULD_CROSS",
    "STP_CANCEL_BOTH",
    "STP_CANCEL_MAKER",
    "STP_CANCEL_TAKER",
    "STP_NONE",
    "TIF_BY_NAME",
    "EngineStats",
    "FeeModel",
    "MatchingEngine",
    "OrderView",
]

# Time in force. Plain ints, not an Enum: they are compared on every order.
GTC: Final = 0
IOC: Final = 1
FOK: Final = 2
POST_ONLY: Final = 3
#: ``OrderIntent.tif`` strings to engine constants.
TIF_BY_NAME: Final[dict[str, int]] = {"GTC": GTC, "IOC": IOC, "FOK": FOK, "PostOnly": POST_ONLY}

STP_NONE: Final = 0
STP_CANCEL_TAKER: Final = 1
STP_CANCEL_MAKER: Final = 2
STP_CANCEL_BOTH: Final = 3

# ASN-local reject codes (negative, so they never collide with a venue's retCode).
REJECT_BAD_SIZE: Final = -101
REJECT_BAD_PRICE: Final = -102
REJECT_OFF_GRID: Final = -103
REJECT_UNKNOWN_ORDER: Final = -104
REJECT_WOULD_CROSS: Final = -105
REJECT_DUPLICATE_ID: Final = -106
REJECT_BAD_SIDE: Final = -107
REJECT_BAD_TIF: Final = -108

#: ``fee(price_ticks, qty_lots, is_maker) -> fee_e8`` (negative = rebate). Default: no fees.
FeeModel = Callable[[int, int, bool], int]


class _Order:
    __slots__ = ("leaves", "link_id", "oid", "owner", "price", "side", "tif")

    def __init__(  # noqa: PLR0917 - built on the hot path, where positional calls are cheaper
        self, oid: int, owner: int, link_id: str, side: int, price: int, leaves: int, tif: int
    ) -> None:
        self.oid = oid
        self.owner = owner
        self.link_id = link_id
        self.side = side
        self.price = price
        self.leaves = leaves
        self.tif = tif


class _Level:
    __slots__ = ("live", "queue", "total")

    def __init__(self) -> None:
        self.queue: deque[_Order] = deque()
        self.total = 0  # lots of live orders
        self.live = 0  # number of live orders


@dataclass(frozen=True, slots=True)
class OrderView:
    """A resting order as the engine sees it."""

    order_id: int
    owner: int
    link_id: str
    side: int
    price_ticks: int
    leaves_lots: int


@dataclass(slots=True)
class EngineStats:
    """Running totals in lots, for conservation checks: submitted = filled + resting + cancelled."""

    submitted_lots: int = 0
    filled_lots: int = 0  # counted once per side of each match (maker and taker)
    cancelled_lots: int = 0


class MatchingEngine:
    """An order book with matching for one symbol. See the module docstring for the contract."""

    __slots__ = (
        "_ask_px",
        "_asks",
        "_bid_px",
        "_bids",
        "_changed_asks",
        "_changed_bids",
        "_fee",
        "_lot_step",
        "_orders",
        "_px_step",
        "_stp",
        "_trade_n",
        "stats",
        "symbol",
    )

    def __init__(
        self,
        symbol: str,
        *,
        price_step_ticks: int = 1,
        lot_step: int = 1,
        stp: int = STP_CANCEL_TAKER,
        fee: FeeModel | None = None,
        track_changes: bool = False,
    ) -> None:
        """``price_step_ticks``/``lot_step``: the grid prices and sizes must sit on.

        ``track_changes``: remember which price levels changed, for ``take_changes`` (the
        simulated venue turns them into ``BookDelta``s).
        """
        if price_step_ticks <= 0 or lot_step <= 0:
            raise ValueError("price_step_ticks and lot_step must be positive")
        if stp not in (STP_NONE, STP_CANCEL_TAKER, STP_CANCEL_MAKER, STP_CANCEL_BOTH):
            raise ValueError(f"unknown self-trade prevention mode {stp}")
        self.symbol = symbol
        self._px_step = price_step_ticks
        self._lot_step = lot_step
        self._stp = stp
        self._fee = fee
        self._bids: dict[int, _Level] = {}
        self._asks: dict[int, _Level] = {}
        self._bid_px: list[int] = []  # ascending; best bid is the last
        self._ask_px: list[int] = []  # ascending; best ask is the first
        self._orders: dict[int, _Order] = {}
        self._trade_n = 0
        # Ordered "sets" (dict keys keep insertion order); sorted before they are handed out.
        self._changed_bids: dict[int, None] | None = {} if track_changes else None
        self._changed_asks: dict[int, None] | None = {} if track_changes else None
        self.stats = EngineStats()

    # ------------------------------------------------------------------------- entering

    def submit(  # noqa: PLR0917 - mirrors OrderIntent; positional calls are cheaper per order
        self,
        ts_ns: int,
        order_id: int,
        owner: int,
        link_id: str,
        side: int,
        price_ticks: int,
        qty_lots: int,
        tif: int = GTC,
    ) -> list[Event]:
        """Enter a limit order. Returns accepted/rejected, fills and any cancelled remainder."""
        if qty_lots <= 0 or qty_lots % self._lot_step:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_SIZE, qty_lots, "size")]
        if price_ticks <= 0:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_PRICE, price_ticks, "price")]
        if price_ticks % self._px_step:
            return [self._reject(ts_ns, owner, link_id, REJECT_OFF_GRID, price_ticks, "price")]
        if order_id in self._orders:
            return [self._reject(ts_ns, owner, link_id, REJECT_DUPLICATE_ID, order_id, "order id")]
        if side == BUY:
            crosses = bool(self._ask_px) and self._ask_px[0] <= price_ticks
        elif side == SELL:
            crosses = bool(self._bid_px) and self._bid_px[-1] >= price_ticks
        else:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_SIDE, side, "side")]
        if not crosses:
            if tif in (GTC, POST_ONLY):
                self.stats.submitted_lots += qty_lots
                self._rest(_Order(order_id, owner, link_id, side, price_ticks, qty_lots, tif))
                return [OrderAccepted(0, ts_ns, owner, link_id, str(order_id))]
            if tif not in (IOC, FOK):
                return [self._reject(ts_ns, owner, link_id, REJECT_BAD_TIF, tif, "tif")]
            self.stats.submitted_lots += qty_lots
            self.stats.cancelled_lots += qty_lots
            return [
                OrderAccepted(0, ts_ns, owner, link_id, str(order_id)),
                OrderCancelled(0, ts_ns, owner, link_id, str(order_id), _UNFILLED[tif], qty_lots),
            ]
        if tif == POST_ONLY:
            return [
                OrderRejected(
                    0,
                    ts_ns,
                    owner,
                    link_id,
                    REJECT_WOULD_CROSS,
                    f"post-only order at {price_ticks} would take liquidity",
                )
            ]
        if tif not in _TIFS:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_TIF, tif, "tif")]
        return self._take(ts_ns, _Order(order_id, owner, link_id, side, price_ticks, qty_lots, tif))

    def market(  # noqa: PLR0917 - same shape as submit
        self,
        ts_ns: int,
        order_id: int,
        owner: int,
        link_id: str,
        side: int,
        qty_lots: int,
        protection_ticks: int = 0,
    ) -> list[Event]:
        """A market order: IOC limited by ``protection_ticks`` (0 = walk the whole book)."""
        if protection_ticks < 0 or protection_ticks % self._px_step:
            code = REJECT_BAD_PRICE if protection_ticks < 0 else REJECT_OFF_GRID
            return [self._reject(ts_ns, owner, link_id, code, protection_ticks, "protection price")]
        if protection_ticks == 0:
            protection_ticks = _NO_LIMIT if side == BUY else 1
        return self.submit(ts_ns, order_id, owner, link_id, side, protection_ticks, qty_lots, IOC)

    # ---------------------------------------------------------------------- managing

    def cancel(self, ts_ns: int, order_id: int, reason: str = "cancelled") -> list[Event]:
        """Cancel a resting order; an unknown (or already finished) id is rejected."""
        o = self._orders.pop(order_id, None)
        if o is None:
            return [self._unknown(ts_ns, order_id)]
        left = o.leaves
        self._kill(o)
        self.stats.cancelled_lots += left
        return [OrderCancelled(0, ts_ns, o.owner, o.link_id, str(order_id), reason, left)]

    def reduce(self, ts_ns: int, order_id: int, by_lots: int) -> list[Event]:
        """Cancel part of a resting order, keeping its priority (order-level replay's partial
        cancel). Reducing by the whole remaining size cancels the order."""
        o = self._orders.get(order_id)
        if o is None:
            return [self._unknown(ts_ns, order_id)]
        if by_lots <= 0 or by_lots % self._lot_step:
            return [self._reject(ts_ns, o.owner, o.link_id, REJECT_BAD_SIZE, by_lots, "size")]
        if by_lots >= o.leaves:
            return self.cancel(ts_ns, order_id)
        return self.amend(ts_ns, order_id, qty_lots=o.leaves - by_lots)

    def amend(
        self,
        ts_ns: int,
        order_id: int,
        *,
        price_ticks: int | None = None,
        qty_lots: int | None = None,
    ) -> list[Event]:
        """Change a resting order's price and/or remaining size (see the module docstring)."""
        o = self._orders.get(order_id)
        if o is None:
            return [self._unknown(ts_ns, order_id)]
        new_qty = o.leaves if qty_lots is None else qty_lots
        new_px = o.price if price_ticks is None else price_ticks
        if new_qty <= 0 or new_qty % self._lot_step:
            return [self._reject(ts_ns, o.owner, o.link_id, REJECT_BAD_SIZE, new_qty, "size")]
        if new_px <= 0:
            return [self._reject(ts_ns, o.owner, o.link_id, REJECT_BAD_PRICE, new_px, "price")]
        if new_px % self._px_step:
            return [self._reject(ts_ns, o.owner, o.link_id, REJECT_OFF_GRID, new_px, "price")]
        amended = OrderAmended(0, ts_ns, o.owner, o.link_id, new_px, new_qty)
        stats = self.stats
        if new_px == o.price:
            if new_qty <= o.leaves:
                # Keeps priority: shrink in place.
                diff = o.leaves - new_qty
                o.leaves = new_qty
                book = self._bids if o.side == BUY else self._asks
                book[o.price].total -= diff
                stats.cancelled_lots += diff
                self._touch(o.side, o.price)
                return [amended]
        elif o.tif == POST_ONLY and self._would_cross(o.side, new_px):
            return [
                OrderRejected(
                    0,
                    ts_ns,
                    o.owner,
                    o.link_id,
                    REJECT_WOULD_CROSS,
                    f"post-only order amended to {new_px} would take liquidity",
                )
            ]
        # Loses priority: leave the queue and re-enter at the back of the (new) level.
        del self._orders[order_id]
        old = o.leaves
        self._kill(o)
        stats.cancelled_lots += old
        fresh = _Order(order_id, o.owner, o.link_id, o.side, new_px, new_qty, o.tif)
        if self._would_cross(o.side, new_px):
            events = self._take(ts_ns, fresh)  # counts the new size as submitted
            events[0] = amended  # the re-entry is not a new acceptance: the amend reports it
            return events
        stats.submitted_lots += new_qty
        self._rest(fresh)
        return [amended]

    def execute(self, ts_ns: int, order_id: int, qty_lots: int, taker_side: int) -> list[Event]:
        """Execute ``qty_lots`` of a resting order against an outside taker (order-level
        replay: the venue reported an execution). Emits ``Trade`` and the maker's ``Fill``."""
        o = self._orders.get(order_id)
        if o is None:
            return [self._unknown(ts_ns, order_id)]
        if qty_lots <= 0 or qty_lots > o.leaves:
            return [self._reject(ts_ns, o.owner, o.link_id, REJECT_BAD_SIZE, qty_lots, "size")]
        self._trade_n += 1
        n = self._trade_n
        ms = ts_ns // 1_000_000
        o.leaves -= qty_lots
        book = self._bids if o.side == BUY else self._asks
        book[o.price].total -= qty_lots
        self.stats.filled_lots += qty_lots
        fee = self._fee(o.price, qty_lots, True) if self._fee is not None else 0
        events: list[Event] = [
            Trade(0, ts_ns, self.symbol, str(n), taker_side, o.price, qty_lots, ms),
            Fill(0, ts_ns, o.owner, o.link_id, str(order_id), f"{n}m", self.symbol, o.side,
                 o.price, qty_lots, fee, True, ms, o.leaves),
        ]  # fmt: skip
        if o.leaves == 0:
            del self._orders[order_id]
            self._kill(o)
        else:
            self._touch(o.side, o.price)
        return events

    # ---------------------------------------------------------------------- reading

    @property
    def best_bid(self) -> tuple[int, int] | None:
        """(price_ticks, lots) of the best bid, or None."""
        if not self._bid_px:
            return None
        p = self._bid_px[-1]
        return p, self._bids[p].total

    @property
    def best_ask(self) -> tuple[int, int] | None:
        if not self._ask_px:
            return None
        p = self._ask_px[0]
        return p, self._asks[p].total

    def bids(self, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` bid levels (price, total lots), best first."""
        b = self._bids
        return [(p, b[p].total) for p in self._bid_px[: -depth - 1 : -1]]

    def asks(self, depth: int) -> list[tuple[int, int]]:
        a = self._asks
        return [(p, a[p].total) for p in self._ask_px[:depth]]

    def bid_size_at(self, price_ticks: int) -> int:
        lvl = self._bids.get(price_ticks)
        return 0 if lvl is None else lvl.total

    def ask_size_at(self, price_ticks: int) -> int:
        lvl = self._asks.get(price_ticks)
        return 0 if lvl is None else lvl.total

    def would_cross(self, side: int, price_ticks: int) -> bool:
        """True if an order at this price would take liquidity now."""
        return self._would_cross(side, price_ticks)

    def order(self, order_id: int) -> OrderView | None:
        o = self._orders.get(order_id)
        if o is None:
            return None
        return OrderView(o.oid, o.owner, o.link_id, o.side, o.price, o.leaves)

    def queue(self, side: int, price_ticks: int) -> list[OrderView]:
        """The live orders at one level, in time priority."""
        lvl = (self._bids if side == BUY else self._asks).get(price_ticks)
        if lvl is None:
            return []
        return [
            OrderView(o.oid, o.owner, o.link_id, o.side, o.price, o.leaves)
            for o in lvl.queue
            if o.leaves
        ]

    def open_orders(self) -> list[OrderView]:
        """Every resting order, bids best first then asks best first, FIFO within a level."""
        out: list[OrderView] = []
        for p in reversed(self._bid_px):
            out.extend(self.queue(BUY, p))
        for p in self._ask_px:
            out.extend(self.queue(SELL, p))
        return out

    @property
    def resting_lots(self) -> int:
        return sum(lvl.total for lvl in self._bids.values()) + sum(
            lvl.total for lvl in self._asks.values()
        )

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._orders)

    def take_changes(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Levels changed since the last call as (price, lots; 0 = gone), bids descending and
        asks ascending. Needs ``track_changes=True``."""
        if self._changed_bids is None or self._changed_asks is None:
            raise RuntimeError("MatchingEngine was created without track_changes=True")
        b, a = self._bids, self._asks
        bids = [(p, b[p].total if p in b else 0) for p in sorted(self._changed_bids, reverse=True)]
        asks = [(p, a[p].total if p in a else 0) for p in sorted(self._changed_asks)]
        self._changed_bids.clear()
        self._changed_asks.clear()
        return bids, asks

    # ---------------------------------------------------------------------- internals

    def _would_cross(self, side: int, price: int) -> bool:
        if side == BUY:
            return bool(self._ask_px) and self._ask_px[0] <= price
        return bool(self._bid_px) and self._bid_px[-1] >= price

    def _rest(self, o: _Order) -> None:
        if o.side == BUY:
            book, prices, changed = self._bids, self._bid_px, self._changed_bids
        else:
            book, prices, changed = self._asks, self._ask_px, self._changed_asks
        lvl = book.get(o.price)
        if lvl is None:
            lvl = book[o.price] = _Level()
            insort(prices, o.price)
        lvl.queue.append(o)
        lvl.total += o.leaves
        lvl.live += 1
        self._orders[o.oid] = o
        if changed is not None:
            changed[o.price] = None

    def _kill(self, o: _Order) -> None:
        """Take a live order (already removed from ``_orders``) out of its level."""
        if o.side == BUY:
            book, prices, changed = self._bids, self._bid_px, self._changed_bids
        else:
            book, prices, changed = self._asks, self._ask_px, self._changed_asks
        lvl = book[o.price]
        lvl.total -= o.leaves
        lvl.live -= 1
        o.leaves = 0
        if changed is not None:
            changed[o.price] = None
        if lvl.live == 0:
            del book[o.price]
            del prices[bisect_left(prices, o.price)]
        elif len(lvl.queue) > 2 * lvl.live + 8:
            lvl.queue = deque(x for x in lvl.queue if x.leaves)

    def _touch(self, side: int, price: int) -> None:
        changed = self._changed_bids if side == BUY else self._changed_asks
        if changed is not None:
            changed[price] = None

    def _fillable(self, t: _Order) -> int:
        """Lots a FOK taker could fill right now (up to its size), honouring STP."""
        need = t.leaves
        got = 0
        stp = self._stp
        book = self._asks if t.side == BUY else self._bids
        order: Iterable[int] = self._ask_px if t.side == BUY else reversed(self._bid_px)
        for p in order:
            if (p > t.price) if t.side == BUY else (p < t.price):
                break
            for m in book[p].queue:
                if not m.leaves:
                    continue
                if m.owner == t.owner and stp != STP_NONE:
                    if stp == STP_CANCEL_MAKER:
                        continue
                    return got
                got += m.leaves
                if got >= need:
                    return need
        return got

    def _take(self, ts_ns: int, t: _Order) -> list[Event]:
        """Match an incoming crossing order, then rest or cancel its remainder."""
        stats = self.stats
        stats.submitted_lots += t.leaves
        oid_s = str(t.oid)
        events: list[Event] = [OrderAccepted(0, ts_ns, t.owner, t.link_id, oid_s)]
        if t.tif == FOK and self._fillable(t) < t.leaves:
            stats.cancelled_lots += t.leaves
            events.append(
                OrderCancelled(0, ts_ns, t.owner, t.link_id, oid_s, _UNFILLED[FOK], t.leaves)
            )
            return events
        buy = t.side == BUY
        if buy:
            book, prices, changed = self._asks, self._ask_px, self._changed_asks
        else:
            book, prices, changed = self._bids, self._bid_px, self._changed_bids
        orders = self._orders
        symbol = self.symbol
        fee = self._fee
        stp = self._stp
        ms = ts_ns // 1_000_000
        limit = t.price
        stp_stop = False
        while t.leaves and prices:
            p = prices[0] if buy else prices[-1]
            if (p > limit) if buy else (p < limit):
                break
            lvl = book[p]
            q = lvl.queue
            while t.leaves and q:
                m = q[0]
                if not m.leaves:
                    q.popleft()
                    continue
                if m.owner == t.owner and stp != STP_NONE:
                    if stp != STP_CANCEL_TAKER:
                        del orders[m.oid]
                        left = m.leaves
                        q.popleft()
                        lvl.total -= left
                        lvl.live -= 1
                        m.leaves = 0
                        stats.cancelled_lots += left
                        events.append(
                            OrderCancelled(
                                0, ts_ns, m.owner, m.link_id, str(m.oid),
                                "self-trade prevention", left,
                            )
                        )  # fmt: skip
                    if stp != STP_CANCEL_MAKER:
                        stp_stop = True
                        break
                    continue
                x = m.leaves if m.leaves < t.leaves else t.leaves
                m.leaves -= x
                t.leaves -= x
                lvl.total -= x
                stats.filled_lots += 2 * x
                self._trade_n += 1
                n = self._trade_n
                mfee = fee(p, x, True) if fee is not None else 0
                tfee = fee(p, x, False) if fee is not None else 0
                events.append(Trade(0, ts_ns, symbol, str(n), t.side, p, x, ms))
                events.append(
                    Fill(0, ts_ns, m.owner, m.link_id, str(m.oid), f"{n}m", symbol, m.side,
                         p, x, mfee, True, ms, m.leaves)
                )  # fmt: skip
                events.append(
                    Fill(0, ts_ns, t.owner, t.link_id, oid_s, f"{n}t", symbol, t.side,
                         p, x, tfee, False, ms, t.leaves)
                )  # fmt: skip
                if not m.leaves:
                    q.popleft()
                    lvl.live -= 1
                    del orders[m.oid]
            if changed is not None:
                changed[p] = None
            if lvl.live == 0:
                del book[p]
                if buy:
                    del prices[0]
                else:
                    prices.pop()
            if stp_stop:
                break
        if t.leaves:
            if t.tif == GTC and not stp_stop:
                self._rest(t)
            else:
                stats.cancelled_lots += t.leaves
                reason = "self-trade prevention" if stp_stop else _UNFILLED[t.tif]
                events.append(OrderCancelled(0, ts_ns, t.owner, t.link_id, oid_s, reason, t.leaves))
        return events

    def _reject(  # noqa: PLR0917 - private helper with one caller shape
        self, ts_ns: int, owner: int, link_id: str, code: int, value: int, what: str
    ) -> OrderRejected:
        reason = {
            REJECT_BAD_SIZE: f"{what} {value} lots is not a positive multiple of {self._lot_step}",
            REJECT_BAD_PRICE: f"{what} {value} ticks is not positive",
            REJECT_OFF_GRID: f"{what} {value} ticks is off the {self._px_step}-tick grid",
            REJECT_DUPLICATE_ID: f"{what} {value} is already live",
            REJECT_BAD_SIDE: f"{what} {value} is neither BUY (1) nor SELL (-1)",
            REJECT_BAD_TIF: f"{what} {value} is not GTC, IOC, FOK or POST_ONLY",
        }[code]
        return OrderRejected(0, ts_ns, owner, link_id, code, reason)

    def _unknown(self, ts_ns: int, order_id: int) -> OrderRejected:
        return OrderRejected(
            0, ts_ns, -1, "", REJECT_UNKNOWN_ORDER, f"order {order_id} is not live in the book"
        )


_TIFS: Final = frozenset({GTC, IOC, FOK})
_UNFILLED: Final[dict[int, str]] = {
    IOC: "IOC remainder",
    FOK: "FOK not fillable",
    GTC: "cancelled",
    POST_ONLY: "cancelled",
}
#: A buy "market" limit above any real price (ticks are far below 2**62).
_NO_LIMIT: Final = 1 << 62
