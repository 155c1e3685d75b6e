"""``PaperVenue`` (``venue.kind = "bybit-paper"``): Bybit's public market data, our orders
filled by the L2 replay.

No keys and no private stream. ``run`` streams the public feed exactly as ``BybitVenue``
does (``public_ws.PublicFeed``: ``orderbook.50`` + ``publicTrade``, snapshots, gaps,
resubscribes), and hands every event, after journaling it, to one ``L2Replay`` per symbol:
the fill model of backtests and shadows (queue position behind the displayed size, latency,
fees; ``asnd.core.l2replay`` states its assumptions). Instruments come from the public
``/v5/market/instruments-info``.

Requests are answered by the replay, with the latency it drew (``UniformLatency``, seeded):

- ``place`` sends the order into the replay (intent -> replay terms: ``backtest.replay_terms``,
  the one rule) and returns its ``OrderAccepted``/``OrderRejected`` once the order has arrived,
  i.e. after the drawn latency of wall time, as a real venue's answer comes one round trip
  later. Fills and IOC/FOK remainders come on the stream, as Bybit's private stream would
  bring them, so a taker's fills are journaled before its acceptance (Bybit's stream can beat
  its REST answer too; the core books them and notes the late acceptance). Idempotent on
  ``link_id``. A reduce-only order is cut to the position (rejected,
  110017, if it cannot reduce it); an order that adds exposure is rejected (110007) once the
  paper wallet (``balance_e8`` + realised PnL - fees since start) is used up.
- ``cancel`` answers the replay's ``OrderCancelled``; an order already gone (filled, or its
  cancel arrived too late) is answered with an ``OrderReconciled`` saying what became of it.
- ``lookup``/``reconcile`` answer from the venue's own records and ledgers.

Restart. The paper venue's state is a function of the journal: what the journal does not hold
never happened. The daemon tells a new venue the positions (``carry_over``) and the orders
(``resume_orders``) its journal fold holds; resting ones enter the replay again, at the back
of the displayed queue, when their symbol's first snapshot arrives (lookups say "open" until
then), and an order that can no longer rest (a post-only that would now cross) is journaled
cancelled. The wallet restarts at ``balance_e8``.

Ids. ``venue_order_id`` is ``<session>-<n>`` and a fill's ``exec_id`` ``SYMBOL-<session>-rN``,
the session being the wall clock at construction (hex), so a restarted venue never repeats
an exec id (the core drops a repeated one as a duplicate).

One lock orders every change of a replay with the sending of what it produced, so fills
reach ``emit`` in order; it is held while sending: the task draining ``emit`` must not be
the one that places orders (as for the sim venue).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

import msgspec
import trio

from asnd.core.backtest import replay_terms
from asnd.core.instrument import Instrument
from asnd.core.l2replay import WORST_CASE, L2Replay
from asnd.core.ledger import FeeSchedule, Ledger
from asnd.core.link_id import parse_link_id
from asnd.core.matching import GTC, POST_ONLY, TIF_BY_NAME
from asnd.core.slot import WorkingOrder
from asnd.venues.base import OrderRejectedError, RetryableVenueError, VenueDefaults
from asnd.venues.bybit import codes
from asnd.venues.bybit.connection import FeedTiming
from asnd.venues.bybit.parse import SymbolScales, instrument_from_row
from asnd.venues.bybit.public_ws import PublicFeed
from asnd.venues.bybit.rest import BybitRest
from asnd.venues.bybit.retry import RetryPolicy
from asnd.venues.paper.latency import UniformLatency
from journal.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    PositionReconciled,
    Trade,
)

__all__ = ["PaperConfig", "PaperVenue"]

E8: Final = 100_000_000
#: Bybit's code for a reduce-only order that cannot reduce the position.
REJECT_REDUCE_ONLY: Final = 110017
#: The fee rates charged on paper fills: the core's schedule (Bybit linear, non-VIP).
FEES: Final = FeeSchedule()
#: Market events between the public feed and the replays (backpressure, never unbounded).
_PUMP_BUFFER: Final = 256


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """Where the market data comes from and how the replay fills (``[paper]`` in the config)."""

    rest_url: str
    public_ws_url: str
    symbols: tuple[str, ...]
    seed: int = 1
    latency_ns: tuple[int, int] = (0, 0)  # uniform range of order and cancel latency
    queue: str = WORST_CASE
    balance_e8: int = 10_000 * E8
    category: str = "linear"
    depth: int = 50
    rest_timeout_s: float = 5.0
    timing: FeedTiming = field(default_factory=FeedTiming)
    policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(slots=True, eq=False)
class _Order:
    symbol: str
    slot: int
    link_id: str
    oid: int
    vid: str  # venue_order_id
    side: int
    price_ticks: int
    tif: int
    qty_lots: int
    filled_lots: int = 0
    status: str = "pending"  # pending (in flight) | open | filled | cancelled | rejected
    answer: OrderAccepted | OrderRejected | None = None
    answered: trio.Event = field(default_factory=trio.Event)
    live: trio.Event = field(default_factory=trio.Event)  # in the replay, or finished
    due_ns: int = 0  # when the last request for it (entry, cancel) arrives
    cancelling: bool = False
    cancel_answer: OrderCancelled | None = None
    cancel_done: trio.Event = field(default_factory=trio.Event)
    resumed: bool = False  # carried over from the journal after a restart
    awaiting_book: bool = False  # resumed, to enter the replay at the next snapshot

    @property
    def leaves_lots(self) -> int:
        return self.qty_lots - self.filled_lots if self.status == "open" else 0

    def start_cancel(self) -> None:
        """A cancel is on its way: its answer is to come."""
        self.cancelling, self.cancel_answer = True, None
        self.cancel_done = trio.Event()


class PaperVenue(VenueDefaults):
    """See the module docstring. Use as ``async with PaperVenue(config) as venue:``, or
    without: each call opens the REST client it needs."""

    name = "bybit-paper"

    def __init__(self, config: PaperConfig, *, wall_ns: Callable[[], int] = time.time_ns) -> None:
        if not config.symbols:
            raise ValueError("the paper venue needs at least one symbol")
        self.config = config
        self.wall_ns = wall_ns
        rng = random.Random(config.seed)
        low, high = config.latency_ns
        self._latency = UniformLatency(low, high, rng.getrandbits(64))
        self._feed_rng = random.Random(rng.getrandbits(64))
        self.rest = BybitRest(
            config.rest_url,
            None,  # public endpoints only: no keys
            category=config.category,
            timeout_s=config.rest_timeout_s,
            policy=config.policy,
            rng=random.Random(rng.getrandbits(64)),
        )
        self._rest_users = 0
        self._session = f"{wall_ns():x}"
        self.scales: dict[str, SymbolScales] = {}
        self.infos: dict[str, InstrumentInfo] = {}
        self.replays: dict[str, L2Replay] = {}
        self.ledgers: dict[str, Ledger] = {}
        self._carried: dict[str, tuple[int, int]] = {}
        self._orders: dict[str, _Order] = {}  # link_id -> order
        self._oids = 0
        self._lock = trio.Lock()
        self._emit: trio.MemorySendChannel[Event] | None = None
        self._backlog: list[Event] = []  # produced while no stream was running
        self.public: PublicFeed | None = None

    # ------------------------------------------------------------------ the REST client

    async def __aenter__(self) -> PaperVenue:
        await self._open_rest()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close_rest()

    async def _open_rest(self) -> None:
        if self._rest_users == 0:
            await self.rest.__aenter__()
        self._rest_users += 1

    async def _close_rest(self) -> None:
        self._rest_users -= 1
        if self._rest_users == 0:
            await self.rest.__aexit__(None, None, None)

    @asynccontextmanager
    async def _using_rest(self) -> AsyncIterator[None]:
        await self._open_rest()
        try:
            yield
        finally:
            await self._close_rest()

    # ------------------------------------------------------------------------ service

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        cfg = self.config
        try:
            async with self._lock:
                self._emit = emit
                for event in self._backlog:
                    await emit.send(event)
                self._backlog.clear()
            missing = [s for s in cfg.symbols if s not in self.infos]
            if missing:
                for info in await self.instruments(missing):
                    await emit.send(info)
            send, receive = trio.open_memory_channel[Event](_PUMP_BUFFER)
            self.public = PublicFeed(
                cfg.public_ws_url, self.scales, depth=cfg.depth, timing=cfg.timing,
                rng=random.Random(self._feed_rng.random()), venue=self.name, wall_ns=self.wall_ns,
            )  # fmt: skip
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, receive, emit)
                await nursery.start(self.public.run, send)
                task_status.started()
        finally:
            self._emit = None

    async def _pump(
        self, receive: trio.MemoryReceiveChannel[Event], emit: trio.MemorySendChannel[Event]
    ) -> None:
        """Journal each market event, then let every replay see it (time passes for all)."""
        async for event in receive:
            async with self._lock:
                await emit.send(event)
                if not isinstance(event, BookSnapshot | BookDelta | Trade):
                    continue
                for replay in self.replays.values():
                    await self._deliver(replay.on_market(event))
                if isinstance(event, BookSnapshot):
                    await self._reenter(event.symbol, event.ts_local_ns)

    async def _send(self, event: Event) -> None:
        if self._emit is None:
            self._backlog.append(event)
        else:
            await self._emit.send(event)

    # ---------------------------------------------------------------- the replay's output

    async def _deliver(self, events: list[Event]) -> None:
        """Route the replay's events (the lock is held): answers to the waiting request,
        fills and remainders onto the stream."""
        for event in events:
            order = self._orders.get(getattr(event, "link_id", ""))
            if order is None:
                continue  # a refused cancel of an order we never had: nothing to say
            if isinstance(event, OrderAccepted):
                self._on_accepted(order, event)
            elif isinstance(event, OrderRejected):
                await self._on_rejected(order, event)
            elif isinstance(event, OrderCancelled):
                await self._on_cancelled(order, event)
            elif isinstance(event, Fill):
                await self._on_fill(order, event)

    def _on_accepted(self, order: _Order, event: OrderAccepted) -> None:
        order.status = "open"
        if not order.resumed:  # a resumed order's acceptance is old news
            order.answer = msgspec.structs.replace(event, venue_order_id=order.vid)
            order.answered.set()
        order.live.set()

    async def _on_rejected(self, order: _Order, event: OrderRejected) -> None:
        if order.live.is_set():
            # A cancel that found the order no longer live (filled while it was in flight):
            # not a rejection of the order; ``cancel`` says what became of it.
            order.cancel_done.set()
            return
        order.live.set()
        if order.resumed:
            order.status = "cancelled"
            await self._send(
                OrderCancelled(
                    0, event.ts_local_ns, order.slot, order.link_id, order.vid,
                    f"paper venue restart: the order could not rest again: {event.reason}",
                    order.qty_lots - order.filled_lots,
                )
            )  # fmt: skip
            return
        order.status = "rejected"
        order.answer = event
        order.answered.set()

    async def _on_cancelled(self, order: _Order, event: OrderCancelled) -> None:
        order.status = "cancelled"
        order.live.set()
        renamed = msgspec.structs.replace(event, venue_order_id=order.vid)
        if order.cancelling and event.reason == "cancelled":
            order.cancel_answer = renamed
            order.cancel_done.set()
        else:  # an IOC/FOK remainder: the venue tells it on its stream
            await self._send(renamed)

    async def _on_fill(self, order: _Order, event: Fill) -> None:
        fill = msgspec.structs.replace(
            event,
            venue_order_id=order.vid,
            exec_id=f"{event.symbol}-{self._session}-{event.exec_id}",
        )
        order.filled_lots += fill.qty_lots
        if fill.leaves_lots <= 0:
            order.status = "filled"
        self.ledgers[order.symbol].apply_fill(
            fill.side, fill.price_ticks, fill.qty_lots, is_maker=fill.is_maker,
            venue_fee_e8=fill.fee_e8,
        )  # fmt: skip
        await self._send(fill)

    async def _until(self, done: trio.Event, replay: L2Replay, due_ns: int) -> None:
        """Wait for ``done``: until ``due_ns`` of wall time, then let the replay's time reach
        it (no market event may come for a while; the order has arrived by then)."""
        while not done.is_set():
            with trio.move_on_after(max(due_ns - self.wall_ns(), 0) / 1e9):
                await done.wait()
            if done.is_set():
                return
            async with self._lock:
                await self._deliver(replay.advance(max(self.wall_ns(), due_ns)))

    # ----------------------------------------------------------------- request/answer

    async def instruments(self, symbols: Sequence[str]) -> list[InstrumentInfo]:
        infos: list[InstrumentInfo] = []
        async with self._using_rest():
            for symbol in symbols:
                rows = [r for r in await self.rest.instruments(symbol) if r.symbol == symbol]
                if not rows:
                    raise OrderRejectedError(
                        f"bybit has no {self.config.category} symbol {symbol!r}"
                    )
                info = instrument_from_row(rows[0], self.wall_ns(), self.name)
                self._set_up(info)
                infos.append(info)
        return infos

    def _set_up(self, info: InstrumentInfo) -> None:
        symbol = info.symbol
        self.infos[symbol] = info
        self.scales[symbol] = SymbolScales.of(info)
        if symbol in self.replays:
            return
        instrument = Instrument.from_info(info)

        def fee(price_ticks: int, qty_lots: int, is_maker: bool) -> int:
            notional = instrument.notional_e8(price_ticks * qty_lots)
            return FEES.fee_e8(notional, is_maker=is_maker)

        self.replays[symbol] = L2Replay(
            symbol, queue=self.config.queue, latency=self._latency, fee=fee
        )
        # The paper account's position; fees are the ones its fills state.
        self.ledgers[symbol] = Ledger(instrument, 0, FeeSchedule(source="venue"))
        if symbol in self._carried:
            self._carry(symbol, *self._carried.pop(symbol))

    def _carry(self, symbol: str, lots: int, avg_ticks: int) -> None:
        if lots and avg_ticks > 0:
            side = 1 if lots > 0 else -1
            self.ledgers[symbol].apply_fill(side, avg_ticks, abs(lots), is_maker=True)

    def carry_over(self, positions: dict[str, tuple[int, int]]) -> None:
        """Take over ``{symbol: (lots, avg_price_ticks)}`` that the journal says we hold
        (``EmbeddedVenue``): the paper account is made of the journal."""
        for symbol, (lots, avg_ticks) in positions.items():
            if symbol in self.ledgers and not self.ledgers[symbol].position_lots:
                self._carry(symbol, lots, avg_ticks)
            elif symbol not in self.ledgers:
                self._carried[symbol] = (lots, avg_ticks)

    def resume_orders(self, orders: Sequence[tuple[int, str, WorkingOrder]]) -> None:
        """Take over the orders the journal holds open after a restart (``JournaledVenue``):
        those that reached the book (accepted, or partly filled) keep working; any other
        never arrived, and a lookup says ``not_found``."""
        for slot, symbol, working in orders:
            filled = working.qty_lots - working.leaves_lots
            if working.state != "open" and filled == 0:
                continue
            tif = TIF_BY_NAME.get(working.tif, -1)
            rests = working.order_type == "limit" and tif in (GTC, POST_ONLY)
            self._oids += 1
            order = _Order(
                symbol, slot, working.link_id, self._oids,
                working.venue_order_id or f"{self._session}-{self._oids}", working.side,
                working.price_ticks, tif, working.qty_lots, filled,
                status="open" if rests and working.leaves_lots > 0 else "cancelled",
                resumed=True,
            )  # fmt: skip
            order.awaiting_book = order.status == "open"
            order.answer = OrderAccepted(0, self.wall_ns(), slot, working.link_id, order.vid)
            order.answered.set()
            if not order.awaiting_book:
                order.live.set()
            self._orders[working.link_id] = order

    async def _reenter(self, symbol: str, ts_ns: int) -> None:
        """Resumed orders of ``symbol`` join the replay's book now that it has a snapshot."""
        replay = self.replays.get(symbol)
        if replay is None:
            return
        for order in list(self._orders.values()):
            if order.symbol == symbol and order.awaiting_book and order.status == "open":
                order.awaiting_book = False
                out = replay.submit(
                    ts_ns, order.oid, order.slot, order.link_id, order.side, order.price_ticks,
                    order.qty_lots - order.filled_lots, order.tif,
                )  # fmt: skip
                order.due_ns = ts_ns + self._latency.last_ns
                await self._deliver(out)

    def _replay(self, symbol: str) -> L2Replay:
        replay = self.replays.get(symbol)
        if replay is None:
            raise OrderRejectedError(f"no instrument info for {symbol!r}; instruments() first")
        return replay

    def _refusal(self, intent: OrderIntent, now: int) -> tuple[int, OrderRejected | None]:
        """The quantity to send, or the venue's refusal (reduce-only rule, spent wallet)."""
        position = self.ledgers[intent.symbol].position_lots
        if intent.reduce_only:
            if position == 0 or (position > 0) == (intent.side > 0):
                text = f"reduce-only {intent.side:+d} order with position {position} lots"
                return 0, OrderRejected(
                    0, now, intent.slot, intent.link_id, REJECT_REDUCE_ONLY, text
                )
            return min(intent.qty_lots, abs(position)), None
        wallet = self.wallet_e8
        if wallet <= 0:
            text = f"paper wallet used up ({wallet / E8:.2f} USDT): no order may add exposure"
            return 0, OrderRejected(
                0, now, intent.slot, intent.link_id, codes.INSUFFICIENT_BALANCE, text
            )
        return intent.qty_lots, None

    @property
    def wallet_e8(self) -> int:
        """The paper wallet: starting balance + realised PnL - fees (e8 USDT)."""
        return self.config.balance_e8 + sum(ledger.cash_e8 for ledger in self.ledgers.values())

    async def place(self, intent: OrderIntent) -> OrderAccepted | OrderRejected:
        known = self._orders.get(intent.link_id)
        if known is not None:  # idempotent: a retry never makes a second order
            await known.answered.wait()
            assert known.answer is not None
            return known.answer
        replay = self._replay(intent.symbol)
        if self._emit is None:
            raise RetryableVenueError("paper venue is not running (start run() first)")
        async with self._lock:
            now = self.wall_ns()
            qty, refusal = self._refusal(intent, now)
            self._oids += 1
            price, tif = replay_terms(intent)
            order = _Order(
                intent.symbol, intent.slot, intent.link_id, self._oids,
                f"{self._session}-{self._oids}", intent.side, price, tif, qty,
            )  # fmt: skip
            self._orders[intent.link_id] = order
            if refusal is not None:
                order.status, order.answer = "rejected", refusal
                order.answered.set()
                order.live.set()
                return refusal
            out = replay.submit(
                now, order.oid, intent.slot, intent.link_id, intent.side, price, qty, tif
            )
            order.due_ns = now + self._latency.last_ns
            await self._deliver(out)
        await self._until(order.answered, replay, order.due_ns)
        assert order.answer is not None
        return order.answer

    async def cancel(self, symbol: str, link_id: str) -> Event:
        order = self._orders.get(link_id)
        if order is None or order.status not in ("pending", "open"):
            return self._reconciled(symbol, link_id, order)
        replay = self._replay(order.symbol)
        if order.awaiting_book:  # resumed, not in the replay yet: nothing to race
            remaining = order.leaves_lots
            order.status = "cancelled"
            order.live.set()
            return OrderCancelled(
                0, self.wall_ns(), order.slot, link_id, order.vid, "cancelled", remaining
            )
        await self._until(order.live, replay, order.due_ns)  # a cancel never overtakes
        async with self._lock:
            now = self.wall_ns()
            if order.status != "open":
                return self._reconciled(symbol, link_id, order)
            order.start_cancel()
            out = replay.cancel(now, order.oid)
            due = now + self._latency.last_ns
            await self._deliver(out)
        await self._until(order.cancel_done, replay, due)
        order.cancelling = False
        if order.cancel_answer is not None:
            return order.cancel_answer
        return self._reconciled(symbol, link_id, order)

    async def lookup(self, symbol: str, link_id: str) -> OrderReconciled:
        order = self._orders.get(link_id)
        if order is not None and order.status == "pending":
            raise RetryableVenueError(f"lookup {link_id}: the order is still in flight")
        return self._reconciled(symbol, link_id, order)

    def _reconciled(self, symbol: str, link_id: str, order: _Order | None) -> OrderReconciled:
        now = self.wall_ns()
        if order is None:
            parsed = parse_link_id(link_id)
            slot = -1 if parsed is None else parsed.slot
            return OrderReconciled(0, now, slot, link_id, "", "not_found", 0, 0)
        return OrderReconciled(
            0, now, order.slot, link_id, order.vid, order.status, order.filled_lots,
            order.leaves_lots,
        )  # fmt: skip

    async def reconcile(
        self, symbols: Sequence[str]
    ) -> tuple[list[OrderReconciled], list[PositionReconciled]]:
        wanted = set(symbols)
        orders = [
            self._reconciled(o.symbol, o.link_id, o)
            for o in self._orders.values()
            if o.symbol in wanted and o.status == "open"
        ]
        now = self.wall_ns()
        positions = []
        for symbol in symbols:
            ledger = self.ledgers.get(symbol)
            lots = 0 if ledger is None else ledger.position_lots
            avg = 0 if ledger is None or not lots else round(ledger.avg_entry_ticks)
            positions.append(PositionReconciled(0, now, symbol, lots, avg))
        return orders, positions
