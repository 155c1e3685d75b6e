"""A moving crowd for the local venue: a seeded random walk of each symbol's book, with crowd
takers sweeping the touch, so a daemon joining the touch sees its orders filled.

``Crowd.step()`` is synchronous and deterministic given the seed (``python -m
asnd.venues.bybit.local --moving`` calls it on a wall-clock pace). Per symbol, each step:

- the best bid moves by one tick down, not at all, or up (the ask is one tick above it);
- levels that left the window are removed first (so a new bid never meets a stale crowd ask),
  then the touch sizes are drawn afresh (the imbalance a strategy reads moves), the deeper
  levels keep their size;
- with probability ``sweep_p`` a crowd taker takes the whole of one touch level, our
  account's resting orders there included (a fill for the daemon when it rests at the touch).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from asnd.venues.bybit.local.exchange import Exchange
from journal.events import BUY, SELL

__all__ = ["Crowd"]


@dataclass
class Crowd:
    exchange: Exchange
    #: symbol -> the best bid at start, in ticks (the ask is one tick above)
    start_ticks: dict[str, int]
    rng: random.Random
    depth: int = 8
    #: the crowd's touch size is 1..touch_lots x the symbol's minimum order; a deeper level
    #: holds 2..20 times that, so the book can absorb a slot's largest order (a flatten)
    touch_lots: int = 20
    sweep_p: float = 0.35
    bids: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.bids = dict(self.start_ticks)
        for symbol in sorted(self.bids):
            self._levels(symbol, self.bids[symbol])

    def _unit(self, symbol: str) -> int:
        m = self.exchange.market(symbol)
        return max(1, m.lot.count(m.info.min_qty))

    def _levels(self, symbol: str, bid: int) -> None:
        """Make the crowd's book a window of ``depth`` levels a side around ``bid``."""
        ex, unit = self.exchange, self._unit(symbol)
        wanted = {(BUY, bid - i) for i in range(self.depth)}
        wanted |= {(SELL, bid + 1 + i) for i in range(self.depth)}
        for side, price in sorted(set(ex.market(symbol).crowd) - wanted):
            ex.set_level(symbol, side, price, 0)
        held = ex.market(symbol).crowd
        for side, price in sorted(wanted):
            touch = price in (bid, bid + 1)
            if touch or (side, price) not in held:
                most = self.touch_lots
                lots = unit * (
                    self.rng.randint(1, most) if touch else self.rng.randint(2 * most, 20 * most)
                )
                ex.set_level(symbol, side, price, lots)

    def step(self) -> None:
        for symbol in sorted(self.bids):
            bid = self.bids[symbol] = max(
                self.depth + 1, self.bids[symbol] + self.rng.randint(-1, 1)
            )
            self._levels(symbol, bid)
            if self.rng.random() < self.sweep_p:
                taker = self.rng.choice((BUY, SELL))
                bids, asks = self.exchange.levels(symbol, 1)
                touch = asks if taker == BUY else bids
                if touch:
                    price, lots = touch[0]
                    self.exchange.crowd_trade(symbol, taker, price, lots)
