"""Adversarial fitness: the strategy trades in the agent market (``asnd.core.agent_market``) whose
genome Chimera calibrated to the real journal.

The market is seeded with the run's seed, so every individual meets the same agents (common
random numbers: differences in fitness come from the strategies, not from luck). Each step
the market moves, the strategy sees the features of the market kernel, folded one event at a
time as live (``MarketKernel.fold_event``), decides under the execution policy of
``evolution.fitness`` and sends an IOC at the touch into the market, where it does move
prices and the agents react. Equity is marked at the mid after every step and scored with
``ttt_score``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asnd.core.agent_market import AgentMarket, Genome, SimConfig
from asnd.core.features import FEATURE_NAMES, FeatureConfig
from asnd.core.kernel import MarketKernel
from asnd.core.strategy import StrategyDocument, compile_strategy
from evolution.fitness import TradingRules, decisions_from_outputs, ttt_score
from journal.events import BookDelta, BookSnapshot, Event, Fill, Trade

__all__ = ["AdversarialSetup", "adversarial_fitness"]


@dataclass(frozen=True, slots=True)
class AdversarialSetup:
    """The calibrated market: where it starts, how its agents behave, how long it runs."""

    sim: SimConfig
    genome: Genome
    seed: int
    steps: int = 600
    features: FeatureConfig = FeatureConfig()


def adversarial_fitness(
    doc: StrategyDocument, setup: AdversarialSetup, rules: TradingRules
) -> float:
    """TTT fitness of ``doc`` over ``setup.steps`` steps of the agent market."""
    compiled = compile_strategy(doc, FEATURE_NAMES)
    market = AgentMarket(setup.sim, setup.genome, setup.seed)
    symbol = setup.sim.symbol
    kernel = MarketKernel(setup.features, row_capacity=1)  # one event per call
    equity_x2 = np.zeros(setup.steps, dtype=np.int64)
    cash = rules.capital_tick_lots
    pos = 0
    held = 0
    next_link = 1
    row: tuple[float, ...] | None = None

    def feed(events: list[Event]) -> None:
        nonlocal cash, pos, row
        for e in events:
            if isinstance(e, Fill):
                notional = e.qty_lots * e.price_ticks
                cash -= e.side * notional + -((-notional * rules.fee_ppm) // 1_000_000)
                pos += e.side * e.qty_lots
                continue
            if isinstance(e, BookSnapshot | BookDelta | Trade) and e.symbol == symbol:
                r = kernel.fold_event(e)
                if r is not None:
                    row = r

    step_ns = setup.sim.step_ns
    feed(market.step(0))  # the opening snapshot
    for i in range(setup.steps):
        ts = (i + 1) * step_ns
        feed(market.step(ts))
        bid, ask = market.engine.best_bid, market.engine.best_ask
        if row is not None and bid is not None and ask is not None:
            signal, size_out = compiled.evaluate(row)
            sig = np.array([signal])
            size = np.array([size_out])
            d = decisions_from_outputs(
                doc, sig, size, np.array([bid[0]]), np.array([ask[0]]), rules
            )
            side = int(d.side[0])
            if side not in (0, held):
                held = side
                want = side * int(d.qty_lots[0]) - pos
                if want != 0:
                    price = ask[0] if want > 0 else bid[0]
                    answer, events = market.place(
                        ts,
                        0,
                        f"evo-{next_link}",
                        1 if want > 0 else -1,
                        "limit",
                        "IOC",
                        price,
                        abs(want),
                    )
                    next_link += 1
                    feed([answer, *events])
            bid, ask = market.engine.best_bid, market.engine.best_ask
        mid_x2 = (bid[0] + ask[0]) if bid is not None and ask is not None else 0
        equity_x2[i] = 2 * cash + pos * mid_x2 if mid_x2 else (equity_x2[i - 1] if i else 2 * cash)
    return ttt_score(equity_x2, rules)[0]
