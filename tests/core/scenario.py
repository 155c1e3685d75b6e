"""Building blocks for tests of the daemon core: event builders, a synthetic market, and a
scripted venue that answers approved intents the way an exchange would (simply).

The scripted venue is not the matching engine (that is ``asnd.core.matching``'s job); it only
has to produce plausible execution events so that ledgers, working orders and recovery are
exercised: an approved order is accepted; IOC and market orders fill at once against the far
touch (taker, whole quantity) or are cancelled if the limit does not reach it; GTC orders rest
and fill whole (maker) once the far touch reaches their price; cancels cancel.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator

from asnd.core.drive import Loop
from asnd.core.portfolio import DaemonState
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    CancelIntent,
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    RiskVerdict,
    StrategyLoaded,
    Trade,
)

SYMBOL = "XRPUSDT"


def info(symbol: str = SYMBOL, tick: str = "0.0001", lot: str = "1") -> InstrumentInfo:
    return InstrumentInfo(0, 0, "bybit", symbol, tick, lot)


def snapshot(
    update_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], ts: int = 0
) -> BookSnapshot:
    return BookSnapshot(
        0, ts, SYMBOL, update_id, update_id, 0, 0,
        [p for p, _ in bids], [q for _, q in bids], [p for p, _ in asks], [q for _, q in asks],
    )  # fmt: skip


def delta(
    update_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], ts: int = 0
) -> BookDelta:
    return BookDelta(
        0, ts, SYMBOL, update_id, update_id, 0, 0,
        [p for p, _ in bids], [q for _, q in bids], [p for p, _ in asks], [q for _, q in asks],
    )  # fmt: skip


def const_strategy(signal: float, size: float = 0.0, strategy_id: str = "const") -> str:
    """A v1 document whose outputs are constants (a model whose mind is made up)."""
    return json.dumps(
        {
            "format": "asn-strategy",
            "version": 1,
            "id": strategy_id,
            "features": [],
            "signal": {"const": signal},
            "size": {"const": size},
        }
    )


def loaded(slot: int, document: str) -> StrategyLoaded:
    return StrategyLoaded(
        0, 0, slot, json.loads(document).get("id", "legacy"), "", "test", document
    )


def synthetic_market(seed: int, n: int, start_ticks: int = 20000) -> Iterator[Event]:
    """A seeded random walk of a 5-level book with trades: a snapshot then ``n`` deltas."""
    rng = random.Random(seed)
    mid = start_ticks
    uid = 1

    def levels() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids = [(mid - 1 - i, rng.randint(1, 500)) for i in range(5)]
        asks = [(mid + 1 + i, rng.randint(1, 500)) for i in range(5)]
        return bids, asks

    yield info()
    bids, asks = levels()
    yield snapshot(uid, bids, asks, ts=uid)
    for _ in range(n):
        uid += 1
        step = rng.choice((-2, -1, 0, 0, 1, 2))
        old_bids, old_asks = bids, asks
        mid += step
        bids, asks = levels()
        gone_b = [(p, 0) for p, _ in old_bids if p not in {q for q, _ in bids}]
        gone_a = [(p, 0) for p, _ in old_asks if p not in {q for q, _ in asks}]
        yield delta(uid, gone_b + bids, gone_a + asks, ts=uid)
        if rng.random() < 0.3:
            side = rng.choice((BUY, SELL))
            price = asks[0][0] if side == BUY else bids[0][0]
            yield Trade(0, uid, SYMBOL, f"t{uid}", side, price, rng.randint(1, 50), uid)


class ScriptedVenue:
    """Answers a ``Loop``'s approved intents with execution events (see the module doc)."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.intents: dict[int, OrderIntent | CancelIntent] = {}
        self.resting: dict[str, OrderIntent] = {}
        self.execs = 0

    @property
    def state(self) -> DaemonState:
        return self.loop.state

    def _fill(self, intent: OrderIntent, price: int, *, maker: bool) -> Fill:
        self.execs += 1
        return Fill(
            0, intent.ts_local_ns, intent.slot, intent.link_id, f"v{intent.link_id}",
            f"x{self.execs}", intent.symbol, intent.side, price, intent.qty_lots, 0, maker, 0, 0,
        )  # fmt: skip

    def answer(self, decisions: Iterable[Event]) -> list[Event]:
        out: list[Event] = []
        for event in decisions:
            if isinstance(event, OrderIntent | CancelIntent):
                self.intents[event.seq] = event
            if not isinstance(event, RiskVerdict) or not event.approved:
                continue
            intent = self.intents.pop(event.intent_seq)
            if isinstance(intent, CancelIntent):
                if self.resting.pop(intent.link_id, None) is not None:
                    out.append(
                        OrderCancelled(
                            0, intent.ts_local_ns, intent.slot, intent.link_id,
                            f"v{intent.link_id}", intent.reason,
                        )
                    )  # fmt: skip
                continue
            out.append(
                OrderAccepted(
                    0, intent.ts_local_ns, intent.slot, intent.link_id, f"v{intent.link_id}"
                )
            )
            book = self.state.book(intent.symbol)
            assert book is not None
            bid, ask = book.best_bid, book.best_ask
            far = (ask if intent.side == BUY else bid) if bid and ask else None
            crosses = far is not None and (
                intent.order_type == "market" or (far[0] - intent.price_ticks) * intent.side <= 0
            )
            if intent.tif in ("IOC", "FOK") or intent.order_type == "market":
                if crosses and far is not None:
                    out.append(self._fill(intent, far[0], maker=False))
                else:
                    out.append(
                        OrderCancelled(
                            0, intent.ts_local_ns, intent.slot, intent.link_id,
                            f"v{intent.link_id}", "IOC not filled", intent.qty_lots,
                        )
                    )  # fmt: skip
            else:
                self.resting[intent.link_id] = intent
        return out

    def match(self) -> list[Event]:
        """Fill resting orders the far touch has reached."""
        out: list[Event] = []
        for link, intent in list(self.resting.items()):
            book = self.state.book(intent.symbol)
            if book is None or book.stale or book.best_bid is None or book.best_ask is None:
                continue
            far = book.best_ask[0] if intent.side == BUY else book.best_bid[0]
            if (far - intent.price_ticks) * intent.side <= 0:
                del self.resting[link]
                out.append(self._fill(intent, intent.price_ticks, maker=True))
        return out


def run(loop: Loop, venue: ScriptedVenue, inputs: Iterable[Event]) -> list[Event]:
    """Feed ``inputs``; after each, let the venue answer until it has nothing to say."""
    made: list[Event] = []
    for event in inputs:
        pending = [event]
        while pending:
            answers: list[Event] = []
            for item in pending:
                start = len(loop.journal)
                made.extend(loop.feed(item))
                if isinstance(item, BookSnapshot | BookDelta):
                    # The market moved before any cancel decided on this update can arrive.
                    answers.extend(venue.match())
                answers.extend(venue.answer(loop.journal[start:]))
            pending = answers
    return made
