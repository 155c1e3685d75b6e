"""Time-to-target fitness (the blueprint's "velocity fitness") and its vectorised causal form.

Scoring (``ttt_score``). A strategy starts with the slot's capital and is scored on its
equity path over ``n`` ticks (feature rows for causal fitness, agent-market steps for
adversarial fitness):

- it reaches the target (``target_multiple`` x capital, 2x by default) first at tick ``t``
  (1-based): fitness = ``n / t``, the inverse of the time to target as a fraction of the
  horizon, so >= 1, and larger the sooner it gets there;
- it never reaches it: the documented penalty is fitness = ``max(0, final equity) /
  target``, in [0, 1): any strategy that reaches the target ranks above any that does not,
  and among the rest more money is better (standing still scores ``1 / target_multiple``);
- its equity touches zero first (the sudden-death rule): fitness 0.

The final fitness is ``causal_weight * causal + (1 - causal_weight) * adversarial``.

Execution policy (shared by the vectorised screen, the L2 replay and the agent market, so
the three measure the same strategy): each tick the strategy's ``signal`` and ``size`` give
a ``Decision`` (``asnd.core.strategy.decide``'s rules: entry band, logistic size into the
slot's [min, max] lots, capped by capital x leverage at the order price). A decision whose
side differs from the side currently held turns the position into ``side x qty`` with an
immediate-or-cancel order at the touch (buy at the best ask, sell at the best bid); a
decision on the side already held, or no decision, holds. Sizing uses the starting capital
(no compounding: TTT measures the edge, not the leverage of reinvested gains). Taker fees
are charged in ``fee_ppm`` of notional, rounded up.

Money is exact: cash and equity are integers of "tick-lots" (one lot at one tick, the
instrument's ``tick_size * lot_size`` of quote currency); equity is kept doubled
(``2 * cash + position * (bid + ask)``) so the mid never needs a fraction.

The vectorised screen (``causal_fitness_vectorised``) fills every order in full at the touch
of the row that decided it (no latency, no depth, no queue). ``evolution.replay_fitness``
runs the same decisions through ``asnd.core.l2replay.L2Replay`` (latency, displayed depth)
as the ground truth for the finalists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from asnd.core.strategy import StrategyDocument, compile_strategy
from evolution.dataset import Dataset

__all__ = [
    "Decisions",
    "TradingRules",
    "causal_fitness_vectorised",
    "combined_fitness",
    "decisions_for",
    "positions_from_decisions",
    "ttt_score",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TradingRules:
    """The slot a strategy is evolved for, in the instrument's exact units."""

    tick_size: str
    lot_size: str
    capital: Decimal = Decimal(200)  # quote currency
    leverage: Decimal = Decimal(1)
    min_qty_lots: int = 1
    max_qty_lots: int = 100
    fee_ppm: int = 550  # taker fee, parts per million of notional (Bybit linear: 0.055 %)
    target_multiple: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if self.capital <= 0 or self.leverage <= 0:
            raise ValueError("capital and leverage must be positive")
        if not 1 <= self.min_qty_lots <= self.max_qty_lots:
            raise ValueError("need 1 <= min_qty_lots <= max_qty_lots")
        if self.target_multiple <= 1:
            raise ValueError("target_multiple must exceed 1")
        if self.fee_ppm < 0:
            raise ValueError("fee_ppm must be >= 0")

    @property
    def capital_tick_lots(self) -> int:
        """The capital in tick-lots (rounded down: never credit money that is not there)."""
        unit = Fraction(self.tick_size) * Fraction(self.lot_size)
        return math.floor(Fraction(self.capital) / unit)

    @property
    def target_tick_lots(self) -> int:
        return math.ceil(self.capital_tick_lots * Fraction(self.target_multiple))


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per tick: side (-1, 0, 1) and quantity in lots (0 where side is 0)."""

    side: Ints
    qty_lots: Ints


def _logistic(x: Floats) -> Floats:
    out = np.empty_like(x)
    pos = x >= 0.0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    z = np.exp(x[~pos])
    out[~pos] = z / (1.0 + z)
    return out


def decisions_for(
    doc: StrategyDocument,
    features: Floats,
    names: tuple[str, ...],
    bid: Ints,
    ask: Ints,
    rules: TradingRules,
) -> Decisions:
    """The strategy's decision on every row of ``features`` (columns ``names``)."""
    signal, size = compile_strategy(doc, names).evaluate_batch(features)
    return decisions_from_outputs(doc, signal, size, bid, ask, rules)


def decisions_from_outputs(
    doc: StrategyDocument,
    signal: Floats,
    size: Floats,
    bid: Ints,
    ask: Ints,
    rules: TradingRules,
) -> Decisions:
    p = doc.params
    with np.errstate(invalid="ignore"):
        side = np.where(signal > p.entry_long, 1, np.where(signal < p.entry_short, -1, 0))
    side[~np.isfinite(signal) | np.isnan(size)] = 0
    fraction = p.size_min + (p.size_max - p.size_min) * _logistic(np.nan_to_num(size))
    span = rules.max_qty_lots - rules.min_qty_lots
    qty = np.minimum(
        rules.min_qty_lots + np.floor(fraction * span).astype(np.int64), rules.max_qty_lots
    )
    price = np.where(side > 0, ask, bid)
    lev = Fraction(rules.leverage)
    affordable = (rules.capital_tick_lots * lev.numerator) // (
        lev.denominator * np.maximum(price, 1)
    )
    qty = np.minimum(qty, affordable)
    side = np.where(qty >= 1, side, 0).astype(np.int64)
    return Decisions(side, np.where(side != 0, qty, 0).astype(np.int64))


def positions_from_decisions(d: Decisions) -> Ints:
    """Position (signed lots) held after each tick under the execution policy."""
    n = d.side.size
    idx = np.arange(n)
    nz = np.where(d.side != 0, idx, -1)
    last_nz = np.maximum.accumulate(nz)  # index of the last decision at or before each tick
    held_before = np.zeros(n, dtype=np.int64)
    prev = np.concatenate(([-1], last_nz[:-1]))
    held_before[prev >= 0] = d.side[prev[prev >= 0]]
    change = (d.side != 0) & (d.side != held_before)
    last_change = np.maximum.accumulate(np.where(change, idx, -1))
    pos = np.zeros(n, dtype=np.int64)
    ok = last_change >= 0
    pos[ok] = (d.side * d.qty_lots)[last_change[ok]]
    return pos


def ttt_score(equity_x2: Ints, rules: TradingRules) -> tuple[float, int]:
    """(fitness, ticks to target or -1) of a doubled-equity path (see the module doc)."""
    n = int(equity_x2.size)
    if n == 0:
        return 0.0, -1
    target_x2 = 2 * rules.target_tick_lots
    reached = np.flatnonzero(equity_x2 >= target_x2)
    dead = np.flatnonzero(equity_x2 <= 0)
    first_reach = int(reached[0]) if reached.size else n
    first_dead = int(dead[0]) if dead.size else n
    if first_dead < first_reach:
        return 0.0, -1
    if first_reach < n:
        return n / (first_reach + 1), first_reach + 1
    return max(0.0, float(equity_x2[-1]) / float(target_x2)), -1


def equity_path(d: Decisions, bid: Ints, ask: Ints, rules: TradingRules) -> Ints:
    """Doubled equity after each tick when every order fills in full at that tick's touch."""
    pos = positions_from_decisions(d)
    delta = np.diff(pos, prepend=0)
    price = np.where(delta > 0, ask, bid)
    notional = np.abs(delta) * price
    fee = -((-notional * rules.fee_ppm) // 1_000_000)  # ceil
    cash = rules.capital_tick_lots - np.cumsum(delta * price + fee)
    equity_x2: Ints = 2 * cash + pos * (bid + ask)
    return equity_x2


def causal_fitness_vectorised(
    doc: StrategyDocument, dataset: Dataset, rules: TradingRules
) -> float:
    """Mean TTT fitness over the dataset's journals, every order filled at the touch."""
    names = doc.features
    x = dataset.columns(names)
    d = decisions_for(doc, x, names, dataset.bid_ticks, dataset.ask_ticks, rules)
    scores = []
    for lo, hi in dataset.segments:
        part = Decisions(d.side[lo:hi], d.qty_lots[lo:hi])
        eq = equity_path(part, dataset.bid_ticks[lo:hi], dataset.ask_ticks[lo:hi], rules)
        scores.append(ttt_score(eq, rules)[0])
    return float(np.mean(scores))


def combined_fitness(causal: float, adversarial: float | None, causal_weight: float) -> float:
    """``causal_weight * causal + (1 - causal_weight) * adversarial`` (causal alone when the
    adversarial part was not run)."""
    if adversarial is None:
        return causal
    return causal_weight * causal + (1.0 - causal_weight) * adversarial
