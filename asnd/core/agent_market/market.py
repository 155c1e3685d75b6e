"""The agent market: a pure, seeded simulation on the matching engine that speaks Bybit.

``AgentMarket.step(ts_ns)`` lets every agent act once (in an order shuffled by the seeded
RNG) and returns what the Bybit venue would emit for that moment: the public ``Trade``s as
they print, then one ``BookDelta`` with every level that changed (size 0 = gone) and the
next contiguous ``update_id``. The very first call returns a full ``BookSnapshot`` of the
book the market makers built before it. Our orders (``place``/``cancel``) answer with
``OrderAccepted``/``OrderRejected``/``OrderCancelled`` and produce ``Fill``s, ``Trade``s and
a ``BookDelta`` the same way.

No I/O, no clock, no global random: the same config, genome, seed and calls give the same
events, byte for byte. Owners below ``AGENT_OWNER_BASE`` are ours (the event's ``slot``);
agents use owners from ``AGENT_OWNER_BASE`` up. Self-trade prevention cancels the taker
(Bybit's ``CancelTaker``).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Final

from asnd.core.agent_market.agents import (
    Action,
    Agent,
    Genome,
    MarketMaker,
    MarketView,
    MeanReversionTrader,
    MomentumTrader,
    NoiseTrader,
)
from asnd.core.matching import (
    GTC,
    IOC,
    STP_CANCEL_TAKER,
    TIF_BY_NAME,
    MatchingEngine,
)
from journal.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Trade,
)

__all__ = ["AGENT_OWNER_BASE", "REJECT_BAD_ORDER_TYPE", "AgentMarket", "SimConfig"]

AGENT_OWNER_BASE: Final = 1000
#: ``OrderIntent.order_type`` other than "limit"/"market", or an unknown ``tif`` string.
REJECT_BAD_ORDER_TYPE: Final = -109
_MAX_OPEN_PER_TRADER: Final = 5


@dataclass(frozen=True, slots=True)
class SimConfig:
    symbol: str = "SIMUSDT"
    tick_size: str = "0.0001"
    lot_size: str = "1"
    start_price_ticks: int = 20_000
    step_ns: int = 100_000_000  # one agent round per 100 ms of simulated time
    history: int = 400  # mids kept for the momentum / mean-reversion agents


class AgentMarket:
    """One symbol's simulated market. See the module docstring for the contract."""

    def __init__(self, config: SimConfig, genome: Genome, seed: int) -> None:
        self.config = config
        self.genome = genome
        self.engine = MatchingEngine(config.symbol, stp=STP_CANCEL_TAKER, track_changes=True)
        self._rng = random.Random(seed)
        agents: list[Agent] = []
        kinds: list[tuple[type[Agent], int]] = [
            (MarketMaker, genome.market_makers),
            (NoiseTrader, genome.noise_traders),
            (MomentumTrader, genome.momentum_traders),
            (MeanReversionTrader, genome.mean_reversion_traders),
        ]
        for kind, count in kinds:
            for _ in range(count):
                agents.append(kind(AGENT_OWNER_BASE + len(agents), genome))
        self.agents = agents
        self._by_owner = {a.owner: a for a in agents}
        self._next_order_id = 1
        self._update_id = 0
        self._venue_seq = 0
        self._steps = 0
        self._mids2: deque[int] = deque(maxlen=config.history)
        self._started = False

    # ----------------------------------------------------------------------- stepping

    def step(self, ts_ns: int) -> list[Event]:
        """One round of agent actions at ``ts_ns``; the first call returns the snapshot."""
        if not self._started:
            return self._start(ts_ns)
        self._steps += 1
        out: list[Event] = []
        view = self._view()
        order = list(self.agents)
        self._rng.shuffle(order)
        for agent in order:
            for action in agent.act(view, self._rng):
                self._apply(ts_ns, agent, action, out)
        bid, ask = self.engine.best_bid, self.engine.best_ask
        if bid is not None and ask is not None:
            self._mids2.append(bid[0] + ask[0])
        self._flush(ts_ns, out)
        return out

    def snapshot(self, ts_ns: int) -> BookSnapshot:
        """The whole book now, as Bybit's ``type: snapshot`` (it does not advance ``u``)."""
        ms = ts_ns // 1_000_000
        bids = self.engine.bids(1 << 30)
        asks = self.engine.asks(1 << 30)
        return BookSnapshot(0, ts_ns, self.config.symbol, self._update_id, self._venue_seq, ms, ms,
                            [p for p, _ in bids], [q for _, q in bids],
                            [p for p, _ in asks], [q for _, q in asks])  # fmt: skip

    # ----------------------------------------------------------------------- our orders

    def place(  # noqa: PLR0917 - the fields of an OrderIntent, in its order
        self,
        ts_ns: int,
        slot: int,
        link_id: str,
        side: int,
        order_type: str,
        tif: str,
        price_ticks: int,
        qty_lots: int,
    ) -> tuple[OrderAccepted | OrderRejected, list[Event]]:
        """Our order (the fields of an ``OrderIntent``). Returns the venue's immediate answer
        and the events that follow it (fills, trades, the book delta), in order.

        The answer is the engine's first event: ``OrderAccepted``, or ``OrderRejected`` with
        a reason; later events include ``OrderCancelled`` for an IOC/FOK remainder.
        """
        if not 0 <= slot < AGENT_OWNER_BASE:
            return self._reject(ts_ns, slot, link_id, f"slot {slot} is not ours"), []
        code = TIF_BY_NAME.get(tif)
        if order_type not in ("limit", "market") or code is None:
            reason = f"order type {order_type!r} / time in force {tif!r} not supported"
            return self._reject(ts_ns, slot, link_id, reason), []
        oid = self._new_order_id()
        e = self.engine
        if order_type == "market":
            events = e.market(ts_ns, oid, slot, link_id, side, qty_lots, price_ticks)
        else:
            events = e.submit(ts_ns, oid, slot, link_id, side, price_ticks, qty_lots, code)
        out: list[Event] = []
        self._route(events, out)
        self._flush(ts_ns, out)
        answer = out.pop(0)
        if not isinstance(answer, OrderAccepted | OrderRejected):  # pragma: no cover
            raise TypeError(f"engine answered an order with {answer!r}")
        return answer, out

    def cancel(self, ts_ns: int, order_id: int) -> list[Event]:
        """Cancel one of our orders by its venue order id (``OrderRejected`` if not live)."""
        view = self.engine.order(order_id)
        if view is None or view.owner >= AGENT_OWNER_BASE:
            return [self._reject(ts_ns, -1, "", f"order {order_id} is not one of our live orders")]
        out: list[Event] = []
        self._route(self.engine.cancel(ts_ns, order_id), out)
        self._flush(ts_ns, out)
        return out

    # ----------------------------------------------------------------------- internals

    def _start(self, ts_ns: int) -> list[Event]:
        """Market makers quote around the start price, then the snapshot goes out."""
        self._started = True
        view = self._view()
        for agent in self.agents:
            if isinstance(agent, MarketMaker):
                for action in agent.act(view, self._rng):
                    self._apply(ts_ns, agent, action, [])
        self.engine.take_changes()
        self._update_id = 1
        self._venue_seq += 1
        return [self.snapshot(ts_ns)]

    def _view(self) -> MarketView:
        bid, ask = self.engine.best_bid, self.engine.best_ask
        return MarketView(self._steps, None if bid is None else bid[0],
                          None if ask is None else ask[0], tuple(self._mids2),
                          self.config.start_price_ticks)  # fmt: skip

    def _new_order_id(self) -> int:
        oid = self._next_order_id
        self._next_order_id += 1
        return oid

    def _apply(self, ts_ns: int, agent: Agent, action: Action, out: list[Event]) -> None:
        e = self.engine
        if action.kind == "cancel":
            if action.order_id in agent.open_orders:
                agent.open_orders.remove(action.order_id)
                self._route(e.cancel(ts_ns, action.order_id), out)
            return
        if action.qty_lots <= 0 or action.price_ticks <= 0:
            return
        if isinstance(agent, NoiseTrader) and len(agent.open_orders) >= _MAX_OPEN_PER_TRADER:
            self._route(e.cancel(ts_ns, agent.open_orders.pop(0)), out)
        oid = self._new_order_id()
        tif = GTC if action.kind == "limit" else IOC
        events = e.submit(ts_ns, oid, agent.owner, "", action.side, action.price_ticks,
                          action.qty_lots, tif)  # fmt: skip
        if e.order(oid) is not None:
            agent.open_orders.append(oid)
        self._route(events, out)

    def _route(self, events: list[Event], out: list[Event]) -> None:
        """Public prints and our private events go out; agents' own events update them."""
        for ev in events:
            if isinstance(ev, Trade):
                out.append(ev)
                continue
            slot = (
                ev.slot
                if isinstance(ev, OrderAccepted | OrderRejected | OrderCancelled | Fill)
                else -1
            )
            agent = self._by_owner.get(slot)
            if agent is None:
                out.append(ev)
                continue
            if isinstance(ev, Fill):
                agent.inventory_lots += ev.side * ev.qty_lots
                oid = int(ev.venue_order_id)
                if ev.leaves_lots == 0 and oid in agent.open_orders:
                    agent.open_orders.remove(oid)
            elif isinstance(ev, OrderCancelled):
                oid = int(ev.venue_order_id)
                if oid in agent.open_orders:
                    agent.open_orders.remove(oid)

    def _flush(self, ts_ns: int, out: list[Event]) -> None:
        bids, asks = self.engine.take_changes()
        if not bids and not asks:
            return
        self._update_id += 1
        self._venue_seq += 1
        ms = ts_ns // 1_000_000
        out.append(BookDelta(0, ts_ns, self.config.symbol, self._update_id, self._venue_seq, ms, ms,
                             [p for p, _ in bids], [q for _, q in bids],
                             [p for p, _ in asks], [q for _, q in asks]))  # fmt: skip

    def _reject(self, ts_ns: int, slot: int, link_id: str, reason: str) -> OrderRejected:
        return OrderRejected(0, ts_ns, slot, link_id, REJECT_BAD_ORDER_TYPE, reason)
