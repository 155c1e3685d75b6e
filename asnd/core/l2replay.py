"""L2 replay: our orders against recorded market data, for backtests and shadow challengers.

External liquidity is the recorded L2 book (``BookSnapshot``/``BookDelta``, folded by the
market kernel in a one-symbol ``MarketKernel`` of its own, read through a ``BookView``) and
the recorded public ``Trade``s. Our orders never enter the recorded market; the replay
estimates what would have happened to them. Use::

    replay = L2Replay("XRPUSDT", queue=WORST_CASE, latency=ConstantLatency(2_000_000))
    for event in journal:                       # market events, in journal order
        out += replay.on_market(event)          # our Fill / OrderAccepted / ... events
    out += replay.submit(ts_ns, order_id, slot, link_id, side, price_ticks, qty_lots, tif)
    out += replay.cancel(ts_ns, order_id)
    out += replay.advance(ts_ns)                # let time pass without market data

Every call returns the events that became true by its time, in order; nothing raises for
a bad order (``OrderRejected`` with a reason, codes from ``asnd.core.matching``).

Clock. The replay clock is ``ts_local_ns`` of the market events (when we saw them) and the
``ts_ns`` given to ``submit``/``cancel``/``advance``; it must not go backwards (an older time
is treated as the current one). ``Fill.exec_ts_ms`` is that clock in ms.

Assumptions, and which way each biases results
----------------------------------------------
1. Latency. An order or cancel sent at ``t`` acts at ``t + latency`` (``ConstantLatency``, or
   ``SampledLatency`` drawing with a seeded RNG from latencies measured in a journal by
   ``measured_latencies``). Before acting, all
   market events stamped at or before the arrival time are applied, so an order never fills
   against a book state older than its arrival, and an order can fill while its cancel is
   in flight. Unbiased if the latencies are representative; our receive-side feed delay is
   already inside the recorded ``ts_local_ns``.
2. No market impact. The recorded market never sees our orders: takers do not move later
   prices, and our resting orders do not deter or attract others. Optimistic for large
   orders, negligible for small ones.
3. Taking liquidity. A marketable order walks the displayed levels up to its limit. Lots it
   takes are marked used at that level until a delta or snapshot rewrites the level, so the
   same displayed liquidity is never taken twice within one book state. After a rewrite the
   level is taken at face value again (optimistic: the recording does not show our impact).
4. Joining the queue. A resting order joins behind all displayed size at its price (0 ahead
   at a new price). Pessimistic when part of that size is hidden behind us in reality.
5. Queue advance. A public trade of ``q`` at our price removes ``q`` from the queue ahead;
   what exceeds the queue ahead fills us, and trade volume is shared FIFO among our orders
   at that level (never counted twice). A size decrease not explained by trades is treated
   as cancellations: ``WORST_CASE`` assumes they all came from behind us (ahead only shrinks
   when the level becomes smaller than it), pessimistic; ``PROPORTIONAL`` spreads them
   evenly over the queue (ahead shrinks by ``decrease * ahead / size``, rounded in the
   queue's favour), closer to measured cancel behaviour and less pessimistic. Trade volume
   is matched against later decreases at that level so it is not counted twice; a trade
   recorded *after* the delta that removed its lots shrinks the queue twice (optimistic).
6. Trade-through. A trade at a price worse for the taker than our resting price fills us
   first (the taker would have met us before that level), up to the trade's size.
   Optimistic when the real taker would have stopped earlier.
7. Crossed by the book. If the recorded opposite side moves to or through our resting price,
   we fill as maker at our price against the crossing displayed size. Slightly optimistic
   (the crossing order might not have been sent had we been there).
8. Fills are at our limit price for resting orders and at the displayed level prices for
   takers; fees come from the same ``FeeModel`` as the engine.
9. A gap in the deltas makes the book stale (the kernel's book rules): until the next snapshot a
   marketable order finds nothing to take (its IOC/FOK part is cancelled, a GTC rests),
   while public trades still advance and fill resting orders. A snapshot keeps each resting
   order's queue estimate, clamped to the size then displayed. Pessimistic for takers
   during gaps.
"""

from __future__ import annotations

import contextlib
import heapq
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from asnd.core.kernel import BadMarketRecord, MarketKernel
from asnd.core.kernel.views import BookView
from asnd.core.matching import (
    FOK,
    GTC,
    IOC,
    POST_ONLY,
    REJECT_BAD_PRICE,
    REJECT_BAD_SIDE,
    REJECT_BAD_SIZE,
    REJECT_BAD_TIF,
    REJECT_DUPLICATE_ID,
    REJECT_UNKNOWN_ORDER,
    REJECT_WOULD_CROSS,
    FeeModel,
)
from journal.codec import encode
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    Trade,
)

__all__ = [
    "PROPORTIONAL",
    "WORST_CASE",
    "ConstantLatency",
    "L2Replay",
    "LatencyModel",
    "SampledLatency",
    "measured_latencies",
]

WORST_CASE: Final = "worst_case"
PROPORTIONAL: Final = "proportional"


class LatencyModel:
    """Order-entry and cancel latency in ns; ``next()`` is called once per order or cancel."""

    def next(self) -> int:
        raise NotImplementedError


class ConstantLatency(LatencyModel):
    def __init__(self, ns: int) -> None:
        if ns < 0:
            raise ValueError("latency must be >= 0 ns")
        self.ns = ns

    def next(self) -> int:
        return self.ns


class SampledLatency(LatencyModel):
    """Draws from measured latencies (e.g. ``OrderSent`` -> ``OrderAccepted`` gaps in a
    journal) with its own seeded RNG, so a replay is reproducible."""

    def __init__(self, samples_ns: Sequence[int], seed: int) -> None:
        if not samples_ns or min(samples_ns) < 0:
            raise ValueError("need at least one latency sample, all >= 0 ns")
        self._samples = list(samples_ns)
        self._rng = random.Random(seed)

    def next(self) -> int:
        return self._samples[self._rng.randrange(len(self._samples))]


def measured_latencies(events: Iterable[Event]) -> list[int]:
    """Order-entry latencies (ns) measured in a journal: for each ``link_id``, the time from
    its first ``OrderSent`` to its ``OrderAccepted``/``OrderRejected`` (by ``ts_local_ns``),
    in journal order. Feed them to ``SampledLatency``. Answers without a send are skipped."""
    sent: dict[str, int] = {}
    out: list[int] = []
    for e in events:
        if isinstance(e, OrderSent):
            sent.setdefault(e.link_id, e.ts_local_ns)
        elif isinstance(e, OrderAccepted | OrderRejected):
            t0 = sent.pop(e.link_id, None)
            if t0 is not None and e.ts_local_ns >= t0:
                out.append(e.ts_local_ns - t0)
    return out


@dataclass(slots=True)
class _Ours:
    oid: int
    slot: int
    link_id: str
    side: int
    price: int
    leaves: int
    tif: int
    ahead: int = 0


@dataclass(frozen=True, slots=True)
class _Pending:
    oid: int
    slot: int
    link_id: str
    side: int
    price: int
    qty: int
    tif: int
    cancel: bool


_NO_LIMIT: Final = 1 << 62


class L2Replay:
    """Our orders against a recorded L2 market. See the module docstring for the contract."""

    def __init__(
        self,
        symbol: str,
        *,
        queue: str = WORST_CASE,
        latency: LatencyModel | None = None,
        cancel_latency: LatencyModel | None = None,
        fee: FeeModel | None = None,
    ) -> None:
        """``cancel_latency`` defaults to ``latency``; ``latency`` defaults to zero."""
        if queue not in (WORST_CASE, PROPORTIONAL):
            raise ValueError(f"queue model must be {WORST_CASE!r} or {PROPORTIONAL!r}")
        self.symbol = symbol
        # Its own kernel, not the fold's: orders must see the book before and after each
        # delta at the levels where they rest (``_on_delta``), and the backtest folds its
        # state first (see ``asnd.core.backtest``).
        self._market = MarketKernel(row_capacity=1)  # one event per call
        self.book = BookView(self._market, symbol)
        self._proportional = queue == PROPORTIONAL
        self._latency = latency or ConstantLatency(0)
        self._cancel_latency = cancel_latency or self._latency
        self._fee = fee
        self._now = 0
        self._pending: list[tuple[int, int, _Pending]] = []  # heap of (arrival, seq, what)
        self._seq = 0
        self._orders: dict[int, _Ours] = {}  # live (arrived, resting) orders, in arrival order
        self._used: dict[tuple[int, int], int] = {}  # (side, price) -> displayed lots taken
        self._traded: dict[tuple[int, int], int] = {}  # trade lots not yet seen in a delta
        self._exec_n = 0

    # ------------------------------------------------------------------------ inputs

    def on_market(self, event: Event) -> list[Event]:
        """Feed one recorded event. Book and trade events of this symbol move the market;
        any event moves the clock. Returns our events."""
        ts = max(event.ts_local_ns, self._now)
        out = self._arrive_until(ts) if self._pending else []
        self._now = ts
        if not isinstance(event, BookDelta | Trade | BookSnapshot) or event.symbol != self.symbol:
            return out  # time still passes: orders due by now have arrived
        if isinstance(event, BookDelta):
            if self._orders or self._used:
                self._on_delta(event)
            else:
                self._apply(event)
            if self._orders:
                out += self._crossed_by_book(ts)
        elif isinstance(event, Trade):
            if self._orders:
                out += self._on_trade(ts, event)
        elif isinstance(event, BookSnapshot):
            self._apply(event)
            self._used.clear()
            self._traded.clear()
            for o in self._orders.values():
                o.ahead = min(o.ahead, self._displayed(o.side, o.price))
            if self._orders:
                out += self._crossed_by_book(ts)
        return out

    def _apply(self, event: BookSnapshot | BookDelta) -> None:
        # A record the kernel cannot fold is the core's anomaly to note; the book stays.
        with contextlib.suppress(BadMarketRecord):
            self._market.fold_one(encode(event))

    def submit(  # noqa: PLR0917 - the engine's submit shape, so callers can switch
        self,
        ts_ns: int,
        order_id: int,
        slot: int,
        link_id: str,
        side: int,
        price_ticks: int,
        qty_lots: int,
        tif: int = GTC,
    ) -> list[Event]:
        """Send a limit order (``price_ticks`` 0 with IOC = market without protection)."""
        p = _Pending(order_id, slot, link_id, side, price_ticks, qty_lots, tif, cancel=False)
        return self._send(ts_ns, p, self._latency.next())

    def cancel(self, ts_ns: int, order_id: int) -> list[Event]:
        o = self._orders.get(order_id)
        slot, link = (o.slot, o.link_id) if o else (-1, "")
        p = _Pending(order_id, slot, link, 0, 0, 0, GTC, cancel=True)
        return self._send(ts_ns, p, self._cancel_latency.next())

    def advance(self, ts_ns: int) -> list[Event]:
        """Let time pass to ``ts_ns``: orders and cancels due by then act."""
        ts = max(ts_ns, self._now)
        out = self._arrive_until(ts)
        self._now = ts
        return out

    # ------------------------------------------------------------------------ reading

    def order(self, order_id: int) -> tuple[int, int] | None:
        """(leaves_lots, queue_ahead_lots) of a live resting order, or None."""
        o = self._orders.get(order_id)
        return None if o is None else (o.leaves, o.ahead)

    @property
    def in_flight(self) -> int:
        """Orders and cancels sent but not yet arrived."""
        return len(self._pending)

    # ------------------------------------------------------------------------ arrivals

    def _send(self, ts_ns: int, p: _Pending, latency: int) -> list[Event]:
        now = max(ts_ns, self._now)
        self._seq += 1
        heapq.heappush(self._pending, (now + latency, self._seq, p))
        out = self._arrive_until(now)
        self._now = now
        return out

    def _arrive_until(self, ts: int) -> list[Event]:
        out: list[Event] = []
        pending = self._pending
        while pending and pending[0][0] <= ts:
            at, _, p = heapq.heappop(pending)
            self._now = max(self._now, at)
            out += self._cancel_now(at, p) if p.cancel else self._enter_now(at, p)
        return out

    def _cancel_now(self, at: int, p: _Pending) -> list[Event]:
        o = self._orders.pop(p.oid, None)
        if o is None:
            return [OrderRejected(0, at, p.slot, p.link_id, REJECT_UNKNOWN_ORDER,
                                  f"order {p.oid} is not live (filled, cancelled or not yet "
                                  "arrived)")]  # fmt: skip
        return [OrderCancelled(0, at, o.slot, o.link_id, str(o.oid), "cancelled", o.leaves)]

    def _enter_now(self, at: int, p: _Pending) -> list[Event]:
        reason = self._invalid(p)
        if reason is not None:
            code, text = reason
            return [OrderRejected(0, at, p.slot, p.link_id, code, text)]
        buy = p.side == BUY
        limit = p.price if p.price else (_NO_LIMIT if buy else 1)
        crossing = self._crossing_levels(p.side, limit)
        if crossing and p.tif == POST_ONLY:
            text = f"post-only order at {p.price} would take liquidity"
            return [OrderRejected(0, at, p.slot, p.link_id, REJECT_WOULD_CROSS, text)]
        oid_s = str(p.oid)
        out: list[Event] = [OrderAccepted(0, at, p.slot, p.link_id, oid_s)]
        o = _Ours(p.oid, p.slot, p.link_id, p.side, p.price, p.qty, p.tif)
        if p.tif == FOK and sum(q for _, q in crossing) < p.qty:
            return [*out, OrderCancelled(0, at, p.slot, p.link_id, oid_s, "FOK not fillable",
                                         p.qty)]  # fmt: skip
        opp = -p.side
        for price, avail in crossing:
            if not o.leaves:
                break
            x = min(avail, o.leaves)
            self._used[(opp, price)] = self._used.get((opp, price), 0) + x
            o.leaves -= x
            out.append(self._fill(at, o, price, x, maker=False))
        if not o.leaves:
            return out
        if p.tif != GTC and p.tif != POST_ONLY:  # noqa: PLR1714 - reads as the two resting kinds
            return [*out, OrderCancelled(0, at, o.slot, o.link_id, oid_s, "IOC remainder",
                                         o.leaves)]  # fmt: skip
        o.ahead = self._displayed(o.side, o.price)
        self._orders[o.oid] = o
        return out

    def _invalid(self, p: _Pending) -> tuple[int, str] | None:
        if p.oid in self._orders:
            return REJECT_DUPLICATE_ID, f"order id {p.oid} is already live"
        if p.qty <= 0:
            return REJECT_BAD_SIZE, f"size {p.qty} lots is not positive"
        if p.side not in (BUY, SELL):
            return REJECT_BAD_SIDE, f"side {p.side} is neither BUY (1) nor SELL (-1)"
        if p.tif not in (GTC, IOC, FOK, POST_ONLY):
            return REJECT_BAD_TIF, f"tif {p.tif} is not GTC, IOC, FOK or POST_ONLY"
        if p.price < 0 or (p.price == 0 and p.tif != IOC):
            return REJECT_BAD_PRICE, f"price {p.price} ticks is not positive"
        return None

    def _crossing_levels(self, side: int, limit: int) -> list[tuple[int, int]]:
        """(price, unused displayed lots) on the opposite side within ``limit``, best first."""
        out: list[tuple[int, int]] = []
        if self.book.stale:
            return out  # an untrusted book offers nothing to take
        used = self._used
        opp = -side
        read = self.book.asks if side == BUY else self.book.bids
        n = 8  # most orders reach a level or two: read the book in growing slices
        while True:
            levels = read(n)
            for price, size in levels[n // 2 if n > 8 else 0 :]:
                if (price > limit) if side == BUY else (price < limit):
                    return out
                avail = size - used.get((opp, price), 0)
                if avail > 0:
                    out.append((price, avail))
            if len(levels) < n:
                return out
            n *= 2

    # ------------------------------------------------------------------------ market

    def _displayed(self, side: int, price: int) -> int:
        return self.book.bid_size_at(price) if side == BUY else self.book.ask_size_at(price)

    def _on_delta(self, d: BookDelta) -> None:
        book = self.book
        # Only levels where we rest, or hold used/traded bookkeeping, need before/after sizes;
        # C-level set intersections find them without a Python loop over the delta.
        watch_b: set[int] = set()
        watch_a: set[int] = set()
        for o in self._orders.values():
            (watch_b if o.side == BUY else watch_a).add(o.price)
        if self._traded:  # trade volume only matters where we still rest
            self._traded = {
                k: v
                for k, v in self._traded.items()
                if k[1] in (watch_b if k[0] == BUY else watch_a)
            }
        for side, price in self._used:
            (watch_b if side == BUY else watch_a).add(price)
        hit_b = watch_b.intersection(d.bid_ticks) if watch_b else set()
        hit_a = watch_a.intersection(d.ask_ticks) if watch_a else set()
        if not hit_b and not hit_a:
            self._apply(d)
            return
        new_b = dict(zip(d.bid_ticks, d.bid_lots, strict=True)) if hit_b else {}
        new_a = dict(zip(d.ask_ticks, d.ask_lots, strict=True)) if hit_a else {}
        before = [(BUY, p, book.bid_size_at(p), new_b[p]) for p in sorted(hit_b)]
        before += [(SELL, p, book.ask_size_at(p), new_a[p]) for p in sorted(hit_a)]
        self._apply(d)
        if book.stale:
            return
        used, traded = self._used, self._traded
        touched: dict[tuple[int, int], tuple[int, int]] = {}
        for side, price, old, new in before:
            used.pop((side, price), None)
            touched[(side, price)] = (old, new)
        for o in self._orders.values():
            change = touched.get((o.side, o.price))
            if change is None:
                continue
            old, new = change
            if self._proportional and new < old and old > 0:
                key = (o.side, o.price)
                explained = min(traded.get(key, 0), old - new)
                cancelled = old - new - explained
                o.ahead -= cancelled * o.ahead // old
            o.ahead = min(o.ahead, new)
        for side, price, old, new in before:
            if new < old and (side, price) in traded:
                left = traded[(side, price)] - (old - new)
                if left > 0:
                    traded[(side, price)] = left
                else:
                    del traded[(side, price)]

    def _on_trade(self, ts: int, t: Trade) -> list[Event]:
        maker_side = -t.side
        if maker_side not in (BUY, SELL):
            return []  # a print with no aggressor cannot tell whose queue it took from
        hit = [
            o
            for o in self._orders.values()
            if o.side == maker_side
            and ((o.price <= t.price_ticks) if maker_side == SELL else (o.price >= t.price_ticks))
        ]
        if not hit:
            return []
        if any(o.price == t.price_ticks for o in hit):  # remembered to pair with a delta
            key = (maker_side, t.price_ticks)
            self._traded[key] = self._traded.get(key, 0) + t.qty_lots
        # Better-priced (traded-through) orders first, then FIFO at the trade price.
        hit.sort(key=lambda o: o.price if maker_side == SELL else -o.price)
        volume = t.qty_lots
        out: list[Event] = []
        for o in hit:
            if o.price == t.price_ticks:
                x = min(o.leaves, max(0, volume - o.ahead))
                o.ahead = max(0, o.ahead - t.qty_lots)
            else:
                x = min(o.leaves, volume)
            if x <= 0:
                continue
            volume -= x
            o.leaves -= x
            out.append(self._fill(ts, o, o.price, x, maker=True))
            if not o.leaves:
                del self._orders[o.oid]
        return out

    def _crossed_by_book(self, ts: int) -> list[Event]:
        """Resting orders the recorded opposite side has reached: they fill as makers."""
        book = self.book
        if book.stale:
            return []
        bid, ask = book.best_bid, book.best_ask
        out: list[Event] = []
        for o in list(self._orders.values()):
            if o.side == BUY:
                if ask is None or ask[0] > o.price:
                    continue
            elif bid is None or bid[0] < o.price:
                continue
            for price, avail in self._crossing_levels(o.side, o.price):
                x = min(avail, o.leaves)
                key = (-o.side, price)
                self._used[key] = self._used.get(key, 0) + x
                o.leaves -= x
                out.append(self._fill(ts, o, o.price, x, maker=True))
                if not o.leaves:
                    del self._orders[o.oid]
                    break
        return out

    def _fill(self, ts: int, o: _Ours, price: int, qty: int, *, maker: bool) -> Fill:
        self._exec_n += 1
        fee = self._fee(price, qty, maker) if self._fee is not None else 0
        return Fill(0, ts, o.slot, o.link_id, str(o.oid), f"r{self._exec_n}", self.symbol,
                    o.side, price, qty, fee, maker, ts // 1_000_000, o.leaves)  # fmt: skip
