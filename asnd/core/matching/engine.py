"""``MatchingEngine``: the order book and matching of one symbol (contract: see the package
docstring of ``asnd.core.matching``)."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable

from asnd.core.matching.resting import Level, Order, view
from asnd.core.matching.rules import (
    FOK,
    GTC,
    IOC,
    NO_LIMIT,
    POST_ONLY,
    REJECT_BAD_PRICE,
    REJECT_BAD_SIDE,
    REJECT_BAD_SIZE,
    REJECT_BAD_TIF,
    REJECT_DUPLICATE_ID,
    REJECT_OFF_GRID,
    REJECT_UNKNOWN_ORDER,
    REJECT_WOULD_CROSS,
    RESTING,
    STP_CANCEL_BOTH,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
    STP_NONE,
    TIFS,
    UNFILLED,
    EngineStats,
    FeeModel,
    OrderView,
    reject_reason,
)
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

__all__ = ["MatchingEngine"]


class MatchingEngine:
    """An order book with matching for one symbol. See the module docstring for the contract."""

    __slots__ = (
        "_ask_px",
        "_asks",
        "_bid_px",
        "_bids",
        "_cancelled",
        "_changed_asks",
        "_changed_bids",
        "_fee",
        "_filled",
        "_lot_step",
        "_orders",
        "_px_step",
        "_stp",
        "_submitted",
        "_trade_n",
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
        self._bids: dict[int, Level] = {}
        self._asks: dict[int, Level] = {}
        self._bid_px: list[int] = []  # ascending; best bid is the last
        self._ask_px: list[int] = []  # ascending; best ask is the first
        self._orders: dict[int, Order] = {}
        self._trade_n = 0
        # Ordered "sets" (dict keys keep insertion order); sorted before they are handed out.
        self._changed_bids: dict[int, None] | None = {} if track_changes else None
        self._changed_asks: dict[int, None] | None = {} if track_changes else None
        self._submitted = 0
        self._filled = 0
        self._cancelled = 0

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
        if qty_lots <= 0 or (self._lot_step != 1 and qty_lots % self._lot_step):
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_SIZE, qty_lots, "size")]
        if price_ticks <= 0:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_PRICE, price_ticks, "price")]
        if self._px_step != 1 and price_ticks % self._px_step:
            return [self._reject(ts_ns, owner, link_id, REJECT_OFF_GRID, price_ticks, "price")]
        orders = self._orders
        if order_id in orders:
            return [self._reject(ts_ns, owner, link_id, REJECT_DUPLICATE_ID, order_id, "order id")]
        # The common case (a resting limit order) is inlined: it is most of the traffic.
        if side == BUY:
            opp = self._ask_px
            if opp and opp[0] <= price_ticks:
                return self._crossing(ts_ns, order_id, owner, link_id, side, price_ticks,
                                      qty_lots, tif)  # fmt: skip
            book, prices, changed = self._bids, self._bid_px, self._changed_bids
        elif side == SELL:
            opp = self._bid_px
            if opp and opp[-1] >= price_ticks:
                return self._crossing(ts_ns, order_id, owner, link_id, side, price_ticks,
                                      qty_lots, tif)  # fmt: skip
            book, prices, changed = self._asks, self._ask_px, self._changed_asks
        else:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_SIDE, side, "side")]
        if tif not in RESTING:
            if tif not in TIFS:
                return [self._reject(ts_ns, owner, link_id, REJECT_BAD_TIF, tif, "tif")]
            self._submitted += qty_lots
            self._cancelled += qty_lots
            return [
                OrderAccepted(0, ts_ns, owner, link_id, str(order_id)),
                OrderCancelled(0, ts_ns, owner, link_id, str(order_id), UNFILLED[tif], qty_lots),
            ]
        self._submitted += qty_lots
        o = Order(order_id, owner, link_id, side, price_ticks, qty_lots, tif)
        lvl = book.get(price_ticks)
        if lvl is None:
            lvl = book[price_ticks] = Level(deque())
            insort(prices, price_ticks)
        lvl.queue.append(o)
        lvl.total += qty_lots
        lvl.live += 1
        orders[order_id] = o
        if changed is not None:
            changed[price_ticks] = None
        return [OrderAccepted(0, ts_ns, owner, link_id, str(order_id))]

    def _crossing(  # noqa: PLR0917 - submit's arguments, passed on
        self,
        ts_ns: int,
        order_id: int,
        owner: int,
        link_id: str,
        side: int,
        price_ticks: int,
        qty_lots: int,
        tif: int,
    ) -> list[Event]:
        if tif == POST_ONLY:
            return [self._reject(ts_ns, owner, link_id, REJECT_WOULD_CROSS, price_ticks, "price")]
        if tif not in TIFS:
            return [self._reject(ts_ns, owner, link_id, REJECT_BAD_TIF, tif, "tif")]
        return self._take(ts_ns, Order(order_id, owner, link_id, side, price_ticks, qty_lots, tif))

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
            protection_ticks = NO_LIMIT if side == BUY else 1
        return self.submit(ts_ns, order_id, owner, link_id, side, protection_ticks, qty_lots, IOC)

    # ---------------------------------------------------------------------- managing

    def cancel(self, ts_ns: int, order_id: int, reason: str = "cancelled") -> list[Event]:
        """Cancel a resting order; an unknown (or already finished) id is rejected."""
        o = self._orders.pop(order_id, None)
        if o is None:
            return [self._unknown(ts_ns, order_id)]
        # _kill, inlined: cancels are a third of the traffic.
        left = o.leaves
        price = o.price
        if o.side == BUY:
            book, prices, changed = self._bids, self._bid_px, self._changed_bids
        else:
            book, prices, changed = self._asks, self._ask_px, self._changed_asks
        lvl = book[price]
        lvl.total -= left
        lvl.live -= 1
        o.leaves = 0
        if changed is not None:
            changed[price] = None
        if not lvl.live:
            del book[price]
            del prices[bisect_left(prices, price)]
        elif len(lvl.queue) > 2 * lvl.live + 8:
            lvl.queue = deque([x for x in lvl.queue if x.leaves])
        self._cancelled += left
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
        if new_px == o.price:
            if new_qty <= o.leaves:
                # Keeps priority: shrink in place.
                diff = o.leaves - new_qty
                o.leaves = new_qty
                book = self._bids if o.side == BUY else self._asks
                book[o.price].total -= diff
                self._cancelled += diff
                self._touch(o.side, o.price)
                return [amended]
        elif o.tif == POST_ONLY and self._would_cross(o.side, new_px):
            return [self._reject(ts_ns, o.owner, o.link_id, REJECT_WOULD_CROSS, new_px, "price")]
        # Loses priority: leave the queue and re-enter at the back of the (new) level.
        del self._orders[order_id]
        old = o.leaves
        self._kill(o)
        self._cancelled += old
        fresh = Order(order_id, o.owner, o.link_id, o.side, new_px, new_qty, o.tif)
        if self._would_cross(o.side, new_px):
            events = self._take(ts_ns, fresh)  # counts the new size as submitted
            events[0] = amended  # the re-entry is not a new acceptance: the amend reports it
            return events
        self._submitted += new_qty
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
        self._filled += qty_lots
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
        return view(o)

    def queue(self, side: int, price_ticks: int) -> list[OrderView]:
        """The live orders at one level, in time priority."""
        lvl = (self._bids if side == BUY else self._asks).get(price_ticks)
        if lvl is None:
            return []
        return [view(o) for o in lvl.queue if o.leaves]

    def open_orders(self) -> list[OrderView]:
        """Every resting order, bids best first then asks best first, FIFO within a level."""
        out: list[OrderView] = []
        for p in reversed(self._bid_px):
            out.extend(self.queue(BUY, p))
        for p in self._ask_px:
            out.extend(self.queue(SELL, p))
        return out

    @property
    def stats(self) -> EngineStats:
        """Running totals: submitted = filled + resting + cancelled (in lots)."""
        return EngineStats(self._submitted, self._filled, self._cancelled)

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

    def _rest(self, o: Order) -> None:
        if o.side == BUY:
            book, prices, changed = self._bids, self._bid_px, self._changed_bids
        else:
            book, prices, changed = self._asks, self._ask_px, self._changed_asks
        lvl = book.get(o.price)
        if lvl is None:
            lvl = book[o.price] = Level(deque())
            insort(prices, o.price)
        lvl.queue.append(o)
        lvl.total += o.leaves
        lvl.live += 1
        self._orders[o.oid] = o
        if changed is not None:
            changed[o.price] = None

    def _kill(self, o: Order) -> None:
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

    def _fillable(self, t: Order) -> int:
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

    def _take(self, ts_ns: int, t: Order) -> list[Event]:
        """Match an incoming crossing order, then rest or cancel its remainder."""
        self._submitted += t.leaves
        oid_s = str(t.oid)
        events: list[Event] = [OrderAccepted(0, ts_ns, t.owner, t.link_id, oid_s)]
        if t.tif == FOK and self._fillable(t) < t.leaves:
            self._cancelled += t.leaves
            events.append(
                OrderCancelled(0, ts_ns, t.owner, t.link_id, oid_s, UNFILLED[FOK], t.leaves)
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
        # Hot loop: the taker's state lives in locals and is written back once at the end.
        side, owner, link = t.side, t.owner, t.link_id
        left = t.leaves
        n = self._trade_n
        filled = 0
        stp_stop = False
        while left and prices:
            p = prices[0] if buy else prices[-1]
            if (p > limit) if buy else (p < limit):
                break
            lvl = book[p]
            q = lvl.queue
            while left and q:
                m = q[0]
                mleft = m.leaves
                if not mleft:
                    q.popleft()
                    continue
                if m.owner == owner and stp != STP_NONE:
                    if stp != STP_CANCEL_TAKER:
                        del orders[m.oid]
                        q.popleft()
                        lvl.total -= mleft
                        lvl.live -= 1
                        m.leaves = 0
                        self._cancelled += mleft
                        events.append(
                            OrderCancelled(
                                0, ts_ns, m.owner, m.link_id, str(m.oid),
                                "self-trade prevention", mleft,
                            )
                        )  # fmt: skip
                    if stp != STP_CANCEL_MAKER:
                        stp_stop = True
                        break
                    continue
                x = mleft if mleft < left else left
                mleft -= x
                m.leaves = mleft
                left -= x
                lvl.total -= x
                filled += x
                n += 1
                ns = str(n)
                mfee = tfee = 0
                if fee is not None:
                    mfee = fee(p, x, True)
                    tfee = fee(p, x, False)
                events += (
                    Trade(0, ts_ns, symbol, ns, side, p, x, ms),
                    Fill(0, ts_ns, m.owner, m.link_id, str(m.oid), ns + "m", symbol, m.side,
                         p, x, mfee, True, ms, mleft),
                    Fill(0, ts_ns, owner, link, oid_s, ns + "t", symbol, side,
                         p, x, tfee, False, ms, left),
                )  # fmt: skip
                if not mleft:
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
        t.leaves = left
        self._trade_n = n
        self._filled += 2 * filled
        if left:
            if t.tif == GTC and not stp_stop:
                self._rest(t)
            else:
                self._cancelled += left
                reason = "self-trade prevention" if stp_stop else UNFILLED[t.tif]
                events.append(OrderCancelled(0, ts_ns, owner, link, oid_s, reason, left))
        return events

    def _reject(  # noqa: PLR0917 - private helper with one caller shape
        self, ts_ns: int, owner: int, link_id: str, code: int, value: int, what: str
    ) -> OrderRejected:
        reason = reject_reason(code, value, what, self._lot_step, self._px_step)
        return OrderRejected(0, ts_ns, owner, link_id, code, reason)

    def _unknown(self, ts_ns: int, order_id: int) -> OrderRejected:
        return OrderRejected(
            0, ts_ns, -1, "", REJECT_UNKNOWN_ORDER, f"order {order_id} is not live in the book"
        )
