"""``SimVenue``: the agent market behind the ``asnd.venues.base.Venue`` interface.

The embedded default venue: no network, no keys. ``run`` drives one ``AgentMarket`` per
symbol and streams its events on ``emit``: ``FeedConnected`` (public, then private), then per
symbol the ``BookSnapshot`` and, every step, ``Trade``s and one ``BookDelta`` with contiguous
``update_id``, exactly the kinds and order the Bybit venue emits; plus our private events
(``Fill``, ``OrderCancelled`` for IOC/FOK remainders) as they happen.

Pace: ``"wall"`` steps every ``SimConfig.step_ns`` of trio time and stamps events with the
wall clock (``wall_ns``); ``"fast"`` steps as fast as the consumer takes events (the channel
applies backpressure) and stamps them with a simulated clock starting at ``start_ns``, so a
fast run is reproducible byte for byte. ``max_steps`` ends ``run`` after that many steps.

``place`` returns the immediate answer (``OrderAccepted``/``OrderRejected``) and is
idempotent on ``link_id``; a reduce-only order is cut down to the position, or rejected if
it cannot reduce it. The answer is not repeated on the stream; the fills that follow are.
``cancel`` of an order that is already gone returns an ``OrderReconciled`` saying so.

Our fills' ``exec_id``s are unique across symbols and across venues (each market counts its
executions from 1, and a restarted daemon builds a new venue): ``SYMBOL-session-n``, where
the session is the venue's clock when it was built. The journal drops a fill whose exec id
it has seen as a duplicate, so a repeated one would lose a real fill.

One lock orders the market's writers, so ``update_id``s reach ``emit`` in sequence. It is
held while sending, so ``place``/``cancel`` wait while the stream is backpressured: the task
that drains ``emit`` must not be the one that places orders.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import trio

from asnd.core.agent_market.agents import Genome
from asnd.core.agent_market.market import AgentMarket, SimConfig
from asnd.venues.base import NeedsHumanError, RetryableVenueError, VenueDefaults
from asnd.venues.sim.instruments import sim_config_for
from journal.events import (
    Event,
    FeedConnected,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    PositionReconciled,
)

__all__ = ["REJECT_REDUCE_ONLY", "SimVenue"]

#: A reduce-only order that would open or grow a position.
REJECT_REDUCE_ONLY: Final = -110


@dataclass(slots=True)
class _Tracked:
    symbol: str
    slot: int
    link_id: str
    answer: OrderAccepted | OrderRejected
    qty_lots: int
    filled_lots: int = 0
    status: str = "open"  # open | filled | cancelled | rejected

    @property
    def order_id(self) -> str:
        return self.answer.venue_order_id if isinstance(self.answer, OrderAccepted) else ""


@dataclass(slots=True)
class _Position:
    lots: int = 0  # signed
    cost: int = 0  # ticks x lots of the open position


class SimVenue(VenueDefaults):
    """See the module docstring."""

    name = "sim"

    def __init__(
        self,
        configs: Sequence[SimConfig] = (SimConfig(),),
        genome: Genome | None = None,
        seed: int = 0,
        *,
        pace: str = "wall",
        start_ns: int = 1_700_000_000_000_000_000,
        max_steps: int | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if pace not in ("wall", "fast"):
            raise ValueError(f"pace must be 'wall' or 'fast', not {pace!r}")
        if len({c.symbol for c in configs}) != len(configs):
            raise ValueError("each simulated symbol needs its own config")
        genome = genome or Genome()
        self._markets = {c.symbol: AgentMarket(c, genome, seed + i) for i, c in enumerate(configs)}
        self._pace = pace
        self._sim_ns = start_ns
        self._max_steps = max_steps
        self._wall_ns = wall_ns
        self._session = f"{self._now():x}"  # fast runs stay reproducible: start_ns is fixed
        self._emit: trio.MemorySendChannel[Event] | None = None
        self._lock = trio.Lock()  # one writer at a time keeps update_ids in stream order
        self._orders: dict[str, _Tracked] = {}  # link_id -> order
        # Each symbol's market numbers its orders from 1, so an order id alone is ambiguous:
        # BTCUSDT's order "129" is not DOGEUSDT's.
        self._by_order_id: dict[tuple[str, str], _Tracked] = {}
        self._positions: dict[str, _Position] = {}

    @classmethod
    def for_symbols(
        cls, symbols: Sequence[str], seed: int = 0, genome: Genome | None = None, **kwargs: Any
    ) -> SimVenue:
        """A venue simulating each of ``symbols`` on its preset grid (``sim.instruments``);
        ``kwargs`` go to the constructor (``pace``, ``max_steps``, ...)."""
        return cls([sim_config_for(s) for s in symbols], genome, seed, **kwargs)

    def _now(self) -> int:
        return self._wall_ns() if self._pace == "wall" else self._sim_ns

    def carry_over(self, positions: dict[str, tuple[int, int]]) -> None:
        """Take over ``{symbol: (lots, avg_price_ticks)}`` that the journal says we hold.

        The embedded market restarts with the daemon, while a real venue would still hold
        our positions; carrying them over keeps reduce-only liquidation and reconciliation
        truthful after a restart. Orders are not carried: they are gone, and a lookup says so.
        """
        for symbol, (lots, avg_ticks) in positions.items():
            self._positions[symbol] = _Position(lots, abs(lots) * avg_ticks)

    # ---------------------------------------------------------------------- streaming

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        self._emit = emit
        step_ns = min(c.config.step_ns for c in self._markets.values())
        try:
            async with self._lock:
                for stream in ("public", "private"):
                    await emit.send(FeedConnected(0, self._now(), self.name, stream, 1))
            task_status.started()
            steps = 0
            while self._max_steps is None or steps < self._max_steps:
                async with self._lock:
                    ts = self._now()
                    for market in self._markets.values():
                        for ev in market.step(ts):
                            await emit.send(self._track(market.config.symbol, ev))
                steps += 1
                if self._pace == "wall":
                    await trio.sleep(step_ns / 1e9)
                else:
                    self._sim_ns += step_ns
                    await trio.lowlevel.checkpoint()
        finally:
            self._emit = None

    # ---------------------------------------------------------------------- requests

    async def instruments(self, symbols: Sequence[str]) -> list[InstrumentInfo]:
        out = []
        for s in symbols:
            m = self._market(s)
            out.append(InstrumentInfo(0, self._now(), self.name, s, m.config.tick_size,
                                      m.config.lot_size, m.config.lot_size))  # fmt: skip
        return out

    async def place(self, intent: OrderIntent) -> OrderAccepted | OrderRejected:
        known = self._orders.get(intent.link_id)
        if known is not None:
            return known.answer  # idempotent: a retry never makes a second order
        market = self._market(intent.symbol)
        emit = self._emit
        if emit is None:
            raise RetryableVenueError("sim venue is not running (start run() first)")
        async with self._lock:
            qty = intent.qty_lots
            if intent.reduce_only:
                # As Bybit: a reduce-only order may only shrink the position, and is cut down
                # to it; one that cannot reduce anything is rejected.
                pos = self._positions.get(intent.symbol, _Position()).lots
                if pos == 0 or (pos > 0) == (intent.side > 0):
                    answer: OrderAccepted | OrderRejected = OrderRejected(
                        0, self._now(), intent.slot, intent.link_id, REJECT_REDUCE_ONLY,
                        f"reduce-only {intent.side:+d} order with position {pos} lots",
                    )  # fmt: skip
                    self._orders[intent.link_id] = _Tracked(
                        intent.symbol, intent.slot, intent.link_id, answer, qty, status="rejected"
                    )
                    return answer
                qty = min(qty, abs(pos))
            answer, events = market.place(self._now(), intent.slot, intent.link_id, intent.side,
                                          intent.order_type, intent.tif, intent.price_ticks,
                                          qty)  # fmt: skip
            tracked = _Tracked(intent.symbol, intent.slot, intent.link_id, answer, qty)
            if isinstance(answer, OrderRejected):
                tracked.status = "rejected"
            self._orders[intent.link_id] = tracked
            if isinstance(answer, OrderAccepted):
                self._by_order_id[intent.symbol, answer.venue_order_id] = tracked
            for ev in events:
                await emit.send(self._track(intent.symbol, ev))
        return answer

    async def cancel(self, symbol: str, link_id: str) -> Event:
        tracked = self._ours(symbol, link_id)
        if tracked is None or tracked.status != "open":
            return self._reconciled(symbol, link_id, tracked)
        emit = self._emit
        if emit is None:
            raise RetryableVenueError("sim venue is not running (start run() first)")
        async with self._lock:
            if tracked.status != "open":  # it filled while we waited for the market
                return self._reconciled(symbol, link_id, tracked)
            events = self._market(symbol).cancel(self._now(), int(tracked.order_id))
            answer: Event = events[0]
            for ev in events:
                self._track(symbol, ev)
            for ev in events[1:]:
                await emit.send(ev)
        return answer

    async def lookup(self, symbol: str, link_id: str) -> OrderReconciled:
        return self._reconciled(symbol, link_id, self._ours(symbol, link_id))

    async def reconcile(
        self, symbols: Sequence[str]
    ) -> tuple[list[OrderReconciled], list[PositionReconciled]]:
        wanted = set(symbols)
        orders = [
            self._reconciled(t.symbol, t.link_id, t)
            for t in self._orders.values()
            if t.symbol in wanted and t.status == "open"
        ]
        positions = []
        for s in symbols:
            p = self._positions.get(s, _Position())
            avg = p.cost // abs(p.lots) if p.lots else 0
            positions.append(PositionReconciled(0, self._now(), s, p.lots, avg))
        return orders, positions

    # ---------------------------------------------------------------------- internals

    def _market(self, symbol: str) -> AgentMarket:
        market = self._markets.get(symbol)
        if market is None:
            known = ", ".join(self._markets)
            raise NeedsHumanError(f"the sim venue has no symbol {symbol!r} (it has {known})")
        return market

    def _ours(self, symbol: str, link_id: str) -> _Tracked | None:
        """Our order ``link_id`` on ``symbol``; as on Bybit, another symbol's is not found."""
        tracked = self._orders.get(link_id)
        return tracked if tracked is not None and tracked.symbol == symbol else None

    def _reconciled(self, symbol: str, link_id: str, t: _Tracked | None) -> OrderReconciled:
        if t is None:
            return OrderReconciled(0, self._now(), -1, link_id, "", "not_found", 0, 0)
        leaves = t.qty_lots - t.filled_lots if t.status == "open" else 0
        return OrderReconciled(0, self._now(), t.slot, link_id, t.order_id, t.status,
                               t.filled_lots, leaves)  # fmt: skip

    def _track(self, symbol: str, ev: Event) -> Event:
        """Keep our orders' state and positions from an event ``symbol``'s market produced;
        the event as it goes out (our fills with their unique exec ids)."""
        if isinstance(ev, Fill):
            t = self._by_order_id.get((symbol, ev.venue_order_id))
            if t is None:
                return ev
            t.filled_lots += ev.qty_lots
            if ev.leaves_lots == 0:
                t.status = "filled"
            _add_fill(self._positions.setdefault(ev.symbol, _Position()), ev)
            return msgspec.structs.replace(ev, exec_id=f"{symbol}-{self._session}-{ev.exec_id}")
        if isinstance(ev, OrderCancelled):
            t = self._by_order_id.get((symbol, ev.venue_order_id))
            if t is not None:
                t.status = "cancelled"
        return ev


def _add_fill(p: _Position, f: Fill) -> None:
    qty = f.qty_lots
    if p.lots == 0 or (p.lots > 0) == (f.side > 0):
        p.lots += f.side * qty
        p.cost += f.price_ticks * qty
        return
    close = min(qty, abs(p.lots))
    p.cost -= p.cost * close // abs(p.lots)
    p.lots += f.side * close
    rest = qty - close
    if rest:
        p.lots = f.side * rest
        p.cost = f.price_ticks * rest
    elif p.lots == 0:
        p.cost = 0
