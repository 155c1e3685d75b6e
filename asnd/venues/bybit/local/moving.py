"""A moving market on the local venue: ``python -m asnd.venues.bybit.local --moving``.

The default config's six symbols, on the sim venue's grids and start prices
(``asnd.venues.sim.instruments.PRESETS``), each a seeded random walk of a one-tick-wide book
``DEPTH`` levels deep. Every step, per symbol, the crowd either moves the price (a taker
sweeps the best level and part of the next, the book shifts a tick) or trades part of a touch
level, and a few levels get new sizes. Each symbol has a regime that changes now and then:
buyers or sellers heavier (that side's levels larger), or neither. So the public feed
carries trades, deltas and imbalance, pressure and order flow that persist for a while, and
orders resting at the touch are reached by trades and by the book: what the paper venue and
the daemon's strategies need to trade. Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import trio

from asnd.venues.bybit.local.exchange import Exchange
from asnd.venues.sim.instruments import PRESETS
from journal.events import BUY, SELL, InstrumentInfo

__all__ = ["DEPTH", "INSTRUMENTS", "MovingMarket"]

DEPTH: Final = 8
#: A level holds 1..12 units; a unit is about this many USDT of notional.
UNIT_USDT: Final = Decimal(50)
#: Per step: chance the price moves (half up, half down); else a trade at the touch.
MOVE_P: Final = 0.4
#: Per step: chance the regime (heavier side) is drawn anew.
REGIME_P: Final = 0.1

INSTRUMENTS: Final = [
    InstrumentInfo(0, 0, "bybit", symbol, tick, lot, lot, "5")
    for symbol, (tick, lot, _start) in PRESETS.items()
]


@dataclass(slots=True)
class _Walk:
    symbol: str
    bid: int  # best bid, ticks; the best ask is one tick above
    unit: int  # lots per size unit
    heavy: int = 0  # BUY, SELL or 0: the side whose levels are larger in this regime


class MovingMarket:
    """The crowd of every symbol of ``INSTRUMENTS`` on ``exchange``."""

    def __init__(self, exchange: Exchange, seed: int) -> None:
        self.exchange = exchange
        self.rng = random.Random(seed)
        self.walks = []
        for info in INSTRUMENTS:
            start = PRESETS[info.symbol][2]
            lot_usdt = Decimal(info.tick_size) * start * Decimal(info.lot_size)
            unit = max(1, int(UNIT_USDT / lot_usdt))
            self.walks.append(_Walk(info.symbol, start, unit))

    def _size(self, walk: _Walk, side: int) -> int:
        if walk.heavy == 0:
            units = self.rng.randint(1, 12)
        else:
            units = self.rng.randint(6, 12) if side == walk.heavy else self.rng.randint(1, 4)
        return units * walk.unit

    def seed_books(self) -> None:
        for walk in self.walks:
            for i in range(DEPTH):
                self.exchange.set_level(walk.symbol, BUY, walk.bid - i, self._size(walk, BUY))
                self.exchange.set_level(walk.symbol, SELL, walk.bid + 1 + i, self._size(walk, SELL))

    def step(self) -> None:
        for walk in self.walks:
            self._step(walk)

    def _step(self, walk: _Walk) -> None:
        ex, rng, symbol = self.exchange, self.rng, walk.symbol
        if rng.random() < REGIME_P:
            walk.heavy = rng.choice((BUY, SELL, 0))
        bids, asks = ex.levels(symbol, 2)
        r = rng.random()
        if r < MOVE_P and len(bids) == 2 and len(asks) == 2:
            up = r < MOVE_P / 2
            levels = asks if up else bids
            # Sweep the touch and part of the next level: the book moves one tick.
            lots = levels[0][1] + rng.randint(1, levels[1][1])
            ex.crowd_trade(symbol, BUY if up else SELL, levels[1][0], lots)
            walk.bid += 1 if up else -1
            # Refill the side that was taken and drop what fell off the far end.
            if up:
                ex.set_level(symbol, SELL, walk.bid + 1, self._size(walk, SELL))
                ex.set_level(symbol, SELL, walk.bid + DEPTH, self._size(walk, SELL))
                ex.set_level(symbol, BUY, walk.bid, self._size(walk, BUY))
                ex.set_level(symbol, BUY, walk.bid - DEPTH, 0)
            else:
                ex.set_level(symbol, BUY, walk.bid, self._size(walk, BUY))
                ex.set_level(symbol, BUY, walk.bid - DEPTH + 1, self._size(walk, BUY))
                ex.set_level(symbol, SELL, walk.bid + 1, self._size(walk, SELL))
                ex.set_level(symbol, SELL, walk.bid + 1 + DEPTH, 0)
        elif bids and asks:
            taker = BUY if rng.random() < 0.5 else SELL
            price, size = asks[0] if taker == BUY else bids[0]
            ex.crowd_trade(symbol, taker, price, max(1, size * rng.randint(1, 3) // 4))
        # New sizes at the touch: the imbalance the strategies read changes every step.
        ex.set_level(symbol, BUY, walk.bid, self._size(walk, BUY))
        ex.set_level(symbol, SELL, walk.bid + 1, self._size(walk, SELL))

    async def run(self, step_s: float) -> None:
        while True:
            await trio.sleep(step_s)
            self.step()
