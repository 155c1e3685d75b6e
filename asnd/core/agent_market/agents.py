"""Agents of the simulated market and the genome that parameterises them.

The genome extends the blueprint's Dominant Strategy Genome ``[order_prob, aggressiveness]``
(its first two genes keep that meaning, so a DSG vector from the blueprint's CMA-ES still
works) with the population mix and each trader type's knobs. Agents decide with floats (they
are strategies); every price and size they send is an integer of ticks or lots.

Each agent sees a ``MarketView`` and returns ``Action``s; it never touches the engine, so the
market applies actions in a fixed order and stays deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

from journal.events import BUY, SELL

__all__ = [
    "Action",
    "Agent",
    "Genome",
    "MarketMaker",
    "MarketView",
    "MeanReversionTrader",
    "MomentumTrader",
    "NoiseTrader",
]


@dataclass(frozen=True, slots=True)
class Genome:
    """How the simulated market behaves. ``from_vector`` maps a CMA-ES vector onto it."""

    order_prob: float = 0.6  # chance that an agent acts on a step (blueprint gene 0)
    aggressiveness: float = 0.3  # 0 = passive quotes far out, 1 = takes liquidity (gene 1)
    market_makers: int = 3
    noise_traders: int = 8
    momentum_traders: int = 2
    mean_reversion_traders: int = 2
    mm_half_spread_ticks: int = 2
    mm_levels: int = 3
    mm_size_lots: int = 40
    trader_size_lots: int = 10
    cancel_prob: float = 0.15  # chance per step that a trader cancels its oldest order
    momentum_lookback: int = 20
    reversion_lookback: int = 60
    signal_threshold_ticks: int = 3

    #: Bounds of each gene when a vector in [0, 1] is scaled onto the genome.
    BOUNDS: ClassVar[dict[str, tuple[float, float]]] = {
        "order_prob": (0.05, 1.0),
        "aggressiveness": (0.0, 1.0),
        "market_makers": (1, 8),
        "noise_traders": (0, 20),
        "momentum_traders": (0, 8),
        "mean_reversion_traders": (0, 8),
        "mm_half_spread_ticks": (1, 10),
        "mm_levels": (1, 6),
        "mm_size_lots": (1, 200),
        "trader_size_lots": (1, 100),
        "cancel_prob": (0.0, 0.6),
        "momentum_lookback": (2, 100),
        "reversion_lookback": (5, 300),
        "signal_threshold_ticks": (1, 20),
    }

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi = self.BOUNDS[f.name]
            if not lo <= value <= hi:
                raise ValueError(f"genome gene {f.name}={value} is outside [{lo}, {hi}]")

    @classmethod
    def from_vector(cls, vector: Sequence[float]) -> Genome:
        """Genes in [0, 1] (clipped), in field order; missing trailing genes keep defaults.
        ``[order_prob, aggressiveness]`` alone is the blueprint's DSG."""
        names = [f.name for f in fields(cls)]
        if len(vector) > len(names):
            raise ValueError(f"genome has {len(names)} genes, got a vector of {len(vector)}")
        values: dict[str, float | int] = {}
        for name, x in zip(names, vector, strict=False):
            lo, hi = cls.BOUNDS[name]
            scaled = lo + min(max(float(x), 0.0), 1.0) * (hi - lo)
            is_int = isinstance(getattr(cls(), name), int)
            values[name] = round(scaled) if is_int else scaled
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class MarketView:
    """What an agent sees before acting."""

    step: int
    best_bid: int | None
    best_ask: int | None
    mids2: Sequence[int]  # recent (bid + ask) in ticks, oldest first; 2 x mid, exact
    reference_ticks: int  # where the market started, for an empty book


@dataclass(frozen=True, slots=True)
class Action:
    """``kind``: "limit" (GTC), "ioc" or "cancel" (of ``order_id``, or the oldest if 0)."""

    kind: str
    side: int = 0
    price_ticks: int = 0
    qty_lots: int = 0
    order_id: int = 0


class Agent:
    """Base agent: an owner id, its open order ids (oldest first) and its inventory."""

    def __init__(self, owner: int, genome: Genome) -> None:
        self.owner = owner
        self.genome = genome
        self.open_orders: list[int] = []
        self.inventory_lots = 0

    def act(self, view: MarketView, rng: random.Random) -> list[Action]:
        raise NotImplementedError

    @staticmethod
    def mid(view: MarketView, rng: random.Random | None = None) -> int:
        """Mid in ticks, falling back to one side or the reference. A half-tick mid rounds
        up or down at random (with ``rng``): always rounding down would drift the market."""
        if view.best_bid is not None and view.best_ask is not None:
            mid2 = view.best_bid + view.best_ask
            up = mid2 % 2 if rng is not None and rng.random() < 0.5 else 0
            return mid2 // 2 + up
        if view.best_bid is not None:
            return view.best_bid
        if view.best_ask is not None:
            return view.best_ask
        return view.reference_ticks


class MarketMaker(Agent):
    """Quotes ``mm_levels`` levels a side around the mid, leaning against its inventory."""

    def act(self, view: MarketView, rng: random.Random) -> list[Action]:
        g = self.genome
        if self.open_orders and rng.random() > g.order_prob:
            return []
        out = [Action("cancel", order_id=oid) for oid in self.open_orders]
        mid = self.mid(view, rng)
        skew = -self.inventory_lots // max(1, g.mm_size_lots * 2)  # lean to shed inventory
        half = max(1, round(g.mm_half_spread_ticks * (1.5 - g.aggressiveness)))
        for level in range(g.mm_levels):
            size = max(1, g.mm_size_lots + rng.randint(-g.mm_size_lots // 4, g.mm_size_lots // 4))
            bid = mid - half - level + skew
            ask = mid + half + level + skew
            if view.best_ask is not None:
                bid = min(bid, view.best_ask - 1)  # a maker does not cross
            if view.best_bid is not None:
                ask = max(ask, view.best_bid + 1)
            if bid > 0:
                out.append(Action("limit", BUY, bid, size))
            out.append(Action("limit", SELL, max(ask, bid + 1, 1), size))
        return out


class NoiseTrader(Agent):
    """Random side; takes liquidity with probability ``aggressiveness``, else joins near the
    touch; cancels its oldest resting order now and then."""

    def act(self, view: MarketView, rng: random.Random) -> list[Action]:
        g = self.genome
        out: list[Action] = []
        if self.open_orders and rng.random() < g.cancel_prob:
            out.append(Action("cancel", order_id=self.open_orders[0]))
        if rng.random() >= g.order_prob:
            return out
        side = BUY if rng.random() < 0.5 else SELL
        size = rng.randint(1, max(1, 2 * g.trader_size_lots))
        if rng.random() < g.aggressiveness:
            return [*out, _take(view, side, size)]
        mid = self.mid(view, rng)
        offset = 1 + int(rng.expovariate(0.5))
        price = mid - offset if side == BUY else mid + offset
        if side == BUY and view.best_ask is not None:
            price = min(price, view.best_ask - 1)
        if side == SELL and view.best_bid is not None:
            price = max(price, view.best_bid + 1)
        if price > 0:
            out.append(Action("limit", side, price, size))
        return out


class MomentumTrader(Agent):
    """Buys after the mid rose over ``momentum_lookback`` steps, sells after it fell."""

    def act(self, view: MarketView, rng: random.Random) -> list[Action]:
        g = self.genome
        n = g.momentum_lookback
        if len(view.mids2) <= n or rng.random() >= g.order_prob:
            return []
        move2 = view.mids2[-1] - view.mids2[-1 - n]
        if abs(move2) < 2 * g.signal_threshold_ticks:
            return []
        side = BUY if move2 > 0 else SELL
        return [_take(view, side, rng.randint(1, max(1, g.trader_size_lots)))]


class MeanReversionTrader(Agent):
    """Sells when the mid is above its ``reversion_lookback`` average, buys when below."""

    def act(self, view: MarketView, rng: random.Random) -> list[Action]:
        g = self.genome
        n = g.reversion_lookback
        if len(view.mids2) < n or rng.random() >= g.order_prob:
            return []
        window = view.mids2[-n:]
        dev2 = view.mids2[-1] * n - sum(window)  # n x (mid2 - mean2), exact
        if abs(dev2) < 2 * g.signal_threshold_ticks * n:
            return []
        side = SELL if dev2 > 0 else BUY
        size = rng.randint(1, max(1, g.trader_size_lots))
        if rng.random() < g.aggressiveness:
            return [_take(view, side, size)]
        if side == BUY and view.best_bid is not None:
            return [Action("limit", BUY, view.best_bid, size)]
        if side == SELL and view.best_ask is not None:
            return [Action("limit", SELL, view.best_ask, size)]
        return []


def _take(view: MarketView, side: int, size: int) -> Action:
    """An IOC that may walk a few ticks past the touch."""
    if side == BUY:
        ref = view.best_ask if view.best_ask is not None else Agent.mid(view) + 1
        return Action("ioc", BUY, ref + 2, size)
    ref = view.best_bid if view.best_bid is not None else Agent.mid(view) - 1
    return Action("ioc", SELL, max(1, ref - 2), size)
