"""A backtest: the daemon's own fold (``DaemonState``) against recorded market data.

The models, ledgers and watchtower are exactly the live ones; only the venue differs: each
symbol's orders go to an ``L2Replay`` (queue position, latency, fees: see its docstring for
the assumptions and their biases). The journal it writes (``journal``) has the same kinds in
the same order a live daemon would journal, so the journal tools, the determinism test and
recovery work on it unchanged.

Per recorded event: it is journaled and folded (decisions follow, as in ``drive.Loop``),
then handed to the replays, whose answers (fills, acceptances, cancels) are journaled and
folded as inputs, each one's decisions sent on in turn. An approved ``OrderIntent`` is
submitted at the time of the event that caused it; an approved ``CancelIntent`` cancels. A
cancel the replay refuses because the order is no longer live is not journaled as a
rejection of an order (none was rejected): the order's fill or cancel already said what
happened to it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final

from asnd.core.drive import Loop
from asnd.core.l2replay import WORST_CASE, ConstantLatency, L2Replay, LatencyModel
from asnd.core.matching import IOC, TIF_BY_NAME, FeeModel
from asnd.core.portfolio import CoreConfig, DaemonState
from journal.events import (
    CancelIntent,
    Event,
    OrderAccepted,
    OrderIntent,
    OrderRejected,
    RiskVerdict,
)

__all__ = ["Backtest", "replay_terms"]

#: The journaled kinds the replays answer (recorded market data never needs routing).
_ROUTED: Final = frozenset({OrderIntent, CancelIntent, RiskVerdict})


def replay_terms(intent: OrderIntent) -> tuple[int, int]:
    """(price_ticks, tif) an ``L2Replay`` is given for ``intent``: a market order is an IOC
    without a limit (price 0), whatever its protection price; an unknown tif is -1 (the
    replay rejects it). One rule for backtests, shadows and paper trading."""
    if intent.order_type == "market":
        return 0, IOC
    return intent.price_ticks, TIF_BY_NAME.get(intent.tif, -1)


class Backtest:
    """``DaemonState`` + one ``L2Replay`` per traded symbol. Feed recorded events in order."""

    def __init__(
        self,
        config: CoreConfig,
        *,
        latency: LatencyModel | None = None,
        queue: str = WORST_CASE,
        fee: FeeModel | None = None,
    ) -> None:
        self.loop = Loop(DaemonState(config))
        symbols = sorted({s.symbol for s in config.slots})
        self.replays = {
            s: L2Replay(s, queue=queue, latency=latency or ConstantLatency(0), fee=fee)
            for s in symbols
        }
        self._reviewing: dict[int, OrderIntent | CancelIntent] = {}
        self._order_ids: dict[str, int] = {}
        self._accepted: set[str] = set()

    @property
    def state(self) -> DaemonState:
        return self.loop.state

    @property
    def journal(self) -> list[Event]:
        return self.loop.journal

    def run(self, events: Iterable[Event]) -> list[Event]:
        """Feed every event; the journal."""
        for event in events:
            self.feed(event)
        return self.journal

    def feed(self, event: Event) -> None:
        """Journal and fold one recorded event, then let the venue answer until it is quiet."""
        ts = event.ts_local_ns
        feed, route, journal = self.loop.feed, self._route, self.loop.journal
        inputs: deque[Event] = deque([event])
        while inputs:
            item = inputs.popleft()
            at = len(journal)
            made = feed(item)
            if type(item) in _ROUTED:  # an intent or verdict fed as an input: as journaled
                inputs.extend(route(journal[at], ts))
            for decision in made:
                if type(decision) in _ROUTED:  # most decisions (signals) need no answer
                    inputs.extend(route(decision, ts))
            if item is event:
                for replay in self.replays.values():
                    inputs.extend(self._answers(replay.on_market(event)))

    def _route(self, event: Event, ts: int) -> list[Event]:
        """The replay's answers to one journaled decision (most decisions need none)."""
        if isinstance(event, OrderIntent | CancelIntent):
            self._reviewing[event.seq] = event
            return []
        if not isinstance(event, RiskVerdict):
            return []
        intent = self._reviewing.pop(event.intent_seq, None)
        if intent is None or not event.approved:
            return []
        replay = self.replays.get(intent.symbol)
        if replay is None:
            return []
        if isinstance(intent, OrderIntent):
            oid = len(self._order_ids) + 1
            self._order_ids[intent.link_id] = oid
            price, tif = replay_terms(intent)
            return self._answers(
                replay.submit(
                    ts, oid, intent.slot, intent.link_id, intent.side, price, intent.qty_lots, tif
                )
            )
        return self._answers(replay.cancel(ts, self._order_ids.get(intent.link_id, 0)))

    def _answers(self, events: list[Event]) -> list[Event]:
        """The replay's events as the venue's answers. A cancel that finds its order no longer
        live comes back as an ``OrderRejected`` (for no order, or for one already accepted):
        not a rejection of the order, whose fill or cancel is journaled already; dropped."""
        out: list[Event] = []
        for e in events:
            if isinstance(e, OrderAccepted):
                self._accepted.add(e.link_id)
            elif isinstance(e, OrderRejected) and (e.slot < 0 or e.link_id in self._accepted):
                continue
            out.append(e)
        return out
