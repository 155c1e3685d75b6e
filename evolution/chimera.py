"""Chimera: CMA-ES finds the agent-market genome whose stylized facts match a real journal's.

Stylized facts (``facts_of``), measured the same way on the journal and on a simulated run
(both through the market kernel, ``asnd.core.kernel.frame``; a tick is a feature row = a valid
book update, one per agent-market step):

==================== =====================================================================
volatility           standard deviation of the per-row mid return
spread               mean spread, ticks
autocorrelation      lag-1 autocorrelation of the per-row mid returns (0 if constant)
imbalance            distribution of top-of-book imbalance b / (b + a)
trade_size           distribution of public trade sizes, lots
==================== =====================================================================

Distance (``distance``), every term in [0, 1], 0 = identical:

- volatility, spread: symmetric relative difference ``|s - r| / (s + r)`` (0 if both 0);
- autocorrelation: ``|s - r| / 2``;
- imbalance, trade_size: the two-sample Kolmogorov-Smirnov statistic (1 if the simulation
  printed no trade);

and the distance is their mean. CMA-ES (``cma``) searches the chosen genes scaled into
[0, 1] by ``Genome.BOUNDS`` (integers rounded), every candidate simulated with the same seed
(common random numbers: the objective is deterministic), evaluations through the pluggable
map. A journal without trades cannot be calibrated (its trade-size distribution is empty):
``ChimeraError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt

from asnd.core.agent_market import AgentMarket, Genome, SimConfig
from asnd.core.kernel.frame import frame_from_events
from evolution.evaluate import EvaluationMap
from journal.events import Event, Trade
from journal.texttable import render_table

__all__ = [
    "DEFAULT_GENES",
    "Calibration",
    "ChimeraError",
    "StylizedFacts",
    "calibrate",
    "distance_terms",
    "facts_of",
    "genome_from",
    "simulate",
]

Floats = npt.NDArray[np.float64]
DEFAULT_GENES: Final = ("aggressiveness", "mm_half_spread_ticks", "trader_size_lots")
FACTS: Final = ("volatility", "spread", "autocorrelation", "imbalance", "trade_size")


class ChimeraError(ValueError):
    """The journal cannot be calibrated against (too short, no trades, ...)."""


@dataclass(frozen=True, slots=True)
class StylizedFacts:
    volatility: float
    spread: float
    autocorrelation: float
    imbalance: Floats
    trade_size: Floats

    def summary(self) -> dict[str, float]:
        def med(x: Floats) -> float:
            return float(np.median(x)) if x.size else float("nan")

        return {
            "volatility": self.volatility,
            "spread": self.spread,
            "autocorrelation": self.autocorrelation,
            "imbalance_median": med(self.imbalance),
            "trade_size_median": med(self.trade_size),
        }


def facts_of(events: Iterable[Event], symbol: str | None = None) -> StylizedFacts:
    sizes: list[int] = []

    def watch(it: Iterable[Event]) -> Iterator[Event]:
        for e in it:
            if isinstance(e, Trade) and (symbol is None or e.symbol == symbol):
                sizes.append(e.qty_lots)
            yield e

    frame = frame_from_events(watch(events), symbol)
    if len(frame) < 10:
        raise ChimeraError(f"only {len(frame)} book rows: too few to measure stylized facts")
    mid = frame.mid_x2_ticks.astype(np.float64)
    r = np.diff(mid) / mid[:-1]
    ac = 0.0
    if r.size > 2 and np.std(r[1:]) > 0 and np.std(r[:-1]) > 0:
        ac = float(np.corrcoef(r[1:], r[:-1])[0, 1])
    return StylizedFacts(
        volatility=float(np.std(r)),
        spread=float(np.mean(frame.column("spread_ticks"))),
        autocorrelation=ac,
        imbalance=frame.column("imbalance").copy(),
        trade_size=np.asarray(sizes, dtype=np.float64),
    )


def _ks(a: Floats, b: Floats) -> float:
    if a.size == 0 or b.size == 0:
        return 1.0
    from scipy.stats import ks_2samp

    return float(ks_2samp(a, b).statistic)


def _rel(s: float, r: float) -> float:
    return 0.0 if s + r == 0 else abs(s - r) / (abs(s) + abs(r))


def distance_terms(sim: StylizedFacts, real: StylizedFacts) -> dict[str, float]:
    return {
        "volatility": _rel(sim.volatility, real.volatility),
        "spread": _rel(sim.spread, real.spread),
        "autocorrelation": abs(sim.autocorrelation - real.autocorrelation) / 2.0,
        "imbalance": _ks(sim.imbalance, real.imbalance),
        "trade_size": _ks(sim.trade_size, real.trade_size),
    }


def genome_from(x: Sequence[float], genes: Sequence[str], base: Genome | None = None) -> Genome:
    """``base`` (default genome) with ``genes`` set from ``x`` in [0, 1] (clipped)."""
    base = base or Genome()
    types = {f.name: type(getattr(base, f.name)) for f in fields(base)}
    values = {f.name: getattr(base, f.name) for f in fields(base)}
    for name, v in zip(genes, x, strict=True):
        lo, hi = Genome.BOUNDS[name]
        scaled = lo + min(max(float(v), 0.0), 1.0) * (hi - lo)
        values[name] = round(scaled) if types[name] is int else scaled
    return Genome(**values)


def vector_of(genome: Genome, genes: Sequence[str]) -> list[float]:
    out = []
    for name in genes:
        lo, hi = Genome.BOUNDS[name]
        out.append((float(getattr(genome, name)) - lo) / (hi - lo))
    return out


def simulate(config: SimConfig, genome: Genome, seed: int, steps: int) -> list[Event]:
    market = AgentMarket(config, genome, seed)
    out: list[Event] = []
    for i in range(steps + 1):
        out += market.step(i * config.step_ns)
    return out


@dataclass(frozen=True, slots=True)
class _Objective:
    real: StylizedFacts
    config: SimConfig
    genes: tuple[str, ...]
    seed: int
    steps: int


def _distance_of(obj: _Objective, x: list[float]) -> float:
    genome = genome_from(x, obj.genes)
    sim = facts_of(simulate(obj.config, genome, obj.seed, obj.steps), obj.config.symbol)
    return float(np.mean(list(distance_terms(sim, obj.real).values())))


@dataclass(frozen=True, slots=True)
class Calibration:
    genome: Genome
    genes: tuple[str, ...]
    distance: float
    terms: dict[str, float]
    real: dict[str, float]
    sim: dict[str, float]
    evaluations: int
    history: list[float]  # best distance after each CMA-ES iteration

    def report(self) -> str:
        lines = [
            f"Chimera: CMA-ES over {', '.join(self.genes)}; {self.evaluations} simulations",
            f"distance {self.distance:.4f} (mean of the terms below; 0 = identical)",
        ]
        names = dict(zip(FACTS, self.real, strict=True))
        rows = [
            (names[fact], f"{self.real[names[fact]]:.6g}", f"{self.sim[names[fact]]:.6g}",
             f"{self.terms[fact]:.4f}")
            for fact in FACTS
        ]  # fmt: skip
        # Written into report.txt, never a terminal: plain columns.
        lines.append(render_table(("fact", "real", "sim", "term"), rows, tty=False))
        lines.append("genome: " + ", ".join(f"{g}={getattr(self.genome, g)}" for g in self.genes))
        return "\n".join(lines)


def calibrate(
    real_events: Iterable[Event],
    config: SimConfig,
    mapper: EvaluationMap,
    *,
    genes: Sequence[str] = DEFAULT_GENES,
    seed: int = 1,
    steps: int = 800,
    max_evaluations: int = 80,
    sigma0: float = 0.3,
) -> Calibration:
    """The genome (over ``genes``) whose simulated facts are closest to the journal's."""
    import cma

    unknown = [g for g in genes if g not in Genome.BOUNDS]
    if unknown:
        raise ChimeraError(f"unknown genes {unknown}")
    real = facts_of(real_events, config.symbol)
    if real.trade_size.size == 0:
        raise ChimeraError(
            f"the journal has no trades of {config.symbol}: the trade-size distribution "
            "cannot be matched (record trades, or evolve with --adversarial-weight 0)"
        )
    obj = _Objective(real, config, tuple(genes), seed, steps)
    x0 = vector_of(Genome(), genes)
    es = cma.CMAEvolutionStrategy(
        x0,
        sigma0,
        {
            "bounds": [0.0, 1.0],
            "seed": seed,
            "maxfevals": max_evaluations,
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
        },
    )
    best_x, best_f = list(x0), float("inf")
    history: list[float] = []
    evaluations = 0
    while not es.stop():
        xs = [list(map(float, x)) for x in es.ask()]
        fs = mapper.map(_distance_of, obj, xs)
        evaluations += len(xs)
        es.tell(xs, fs)
        for x, f in zip(xs, fs, strict=True):
            if f < best_f:
                best_x, best_f = x, f
        history.append(best_f)
    genome = genome_from(best_x, genes)
    sim = facts_of(simulate(config, genome, seed, steps), config.symbol)
    terms = distance_terms(sim, real)
    return Calibration(
        genome,
        tuple(genes),
        float(np.mean(list(terms.values()))),
        terms,
        real.summary(),
        sim.summary(),
        evaluations,
        history,
    )
