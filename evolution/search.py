"""The evolutionary search: (mu + lambda) over two-tree individuals, with the oracle's screen.

Per generation: parents by double tournament, offspring by crossover/mutation
(``evolution.gp``), full evaluations through the pluggable map (``evolution.evaluate``),
survivors = the best ``population`` of parents and evaluated offspring (elitist; NSGA-II
over (fitness, size) when asked). Without the oracle every one of the ``population``
offspring is evaluated; with it, ``oversample x population`` candidates are drawn and only
the ``keep x population`` the oracle ranks best are evaluated. Generation 0 is always
evaluated in full (it is the oracle's first training set).

Fitness here is the *screening* fitness: the vectorised causal fitness plus, when a market
is given, the adversarial fitness in the agent market, weighted. Finalists are re-scored
through the L2 replay by ``evolution.run``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from asnd.core.strategy import StrategyDocument
from evolution.adversarial import AdversarialSetup, adversarial_fitness
from evolution.dataset import Dataset
from evolution.evaluate import EvaluationMap
from evolution.fitness import TradingRules, causal_fitness_vectorised, combined_fitness
from evolution.gp import Individual, StrategyGP, individual_key, seeded, size_of
from evolution.oracle import FitnessOracle, OracleStats

__all__ = [
    "EvalContext",
    "Evaluated",
    "GenerationStats",
    "SearchResult",
    "SearchSettings",
    "evaluate_strategy",
    "run_search",
]


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Everything a worker needs to score a strategy (pickled once per worker per call)."""

    dataset: Dataset
    rules: TradingRules
    market: AdversarialSetup | None
    causal_weight: float


@dataclass(frozen=True, slots=True)
class Evaluated:
    causal: float
    adversarial: float | None
    final: float


def evaluate_strategy(ctx: EvalContext, doc: StrategyDocument) -> Evaluated:
    causal = causal_fitness_vectorised(doc, ctx.dataset, ctx.rules)
    adv = adversarial_fitness(doc, ctx.market, ctx.rules) if ctx.market is not None else None
    return Evaluated(causal, adv, combined_fitness(causal, adv, ctx.causal_weight))


@dataclass(frozen=True, slots=True)
class SearchSettings:
    population: int = 30
    generations: int = 10
    seed: int = 1
    cx_prob: float = 0.6
    mut_prob: float = 0.4
    max_height: int = 6
    nsga2: bool = False
    oracle: bool = True
    oversample: int = 2
    keep: float = 0.4
    reference_rows: int = 64
    hall_of_fame: int = 10

    def __post_init__(self) -> None:
        if self.population < 4 or self.generations < 0:
            raise ValueError("population must be >= 4 and generations >= 0")
        if not 0 < self.keep <= 1 or self.oversample < 1:
            raise ValueError("keep must be in (0, 1] and oversample >= 1")


@dataclass(frozen=True, slots=True)
class GenerationStats:
    generation: int
    best: float
    mean: float
    median: float
    evaluations: int  # full evaluations in this generation
    mean_size: float


@dataclass(slots=True)
class SearchResult:
    hall_of_fame: list[Individual]
    history: list[GenerationStats]
    evaluations: int
    oracle: OracleStats | None
    gp: StrategyGP
    docs: dict[str, StrategyDocument] = field(default_factory=dict)

    @property
    def best_fitness(self) -> float:
        return float(self.hall_of_fame[0].fitness.values[0]) if self.hall_of_fame else 0.0


def run_search(
    features: tuple[str, ...],
    ctx: EvalContext,
    mapper: EvaluationMap,
    settings: SearchSettings,
    progress: Callable[[GenerationStats], None] | None = None,
) -> SearchResult:
    """Evolve strategies over ``features``; deterministic for a seed whatever the map."""
    engine = StrategyGP(features, max_height=settings.max_height, nsga2=settings.nsga2)
    rng = np.random.default_rng(settings.seed)
    ds = ctx.dataset
    ref_idx = np.sort(
        rng.choice(len(ds), size=min(settings.reference_rows, len(ds)), replace=False)
    )
    oracle = (
        FitnessOracle(ds.features[ref_idx], ds.names, settings.seed) if settings.oracle else None
    )
    hof: dict[str, Individual] = {}
    history: list[GenerationStats] = []
    evaluations = 0
    counter = 0

    def label(ind: Individual, generation: int, parents: tuple[str, ...]) -> None:
        nonlocal counter
        counter += 1
        ind.generation = generation
        ind.parents = parents
        ind.uid = f"g{generation}-{counter}"

    def evaluate(inds: list[Individual]) -> list[float]:
        nonlocal evaluations
        docs = [engine.document(i) for i in inds]
        results = mapper.map(evaluate_strategy, ctx, docs)
        evaluations += len(inds)
        for ind, doc, res in zip(inds, docs, results, strict=True):
            engine.set_fitness(ind, res.final)
            ind.components = res
            key = individual_key(doc)
            if key not in hof or hof[key].fitness.values[0] < res.final:
                hof[key] = ind
        if oracle is not None:
            oracle.learn([oracle.describe(d) for d in docs], [r.final for r in results])
        return [r.final for r in results]

    def record(generation: int, pop: list[Individual], n_eval: int) -> None:
        fit = np.asarray([i.fitness.values[0] for i in pop])
        stats = GenerationStats(
            generation,
            float(fit.max()),
            float(fit.mean()),
            float(np.median(fit)),
            n_eval,
            float(np.mean([size_of(i) for i in pop])),
        )
        history.append(stats)
        if progress is not None:
            progress(stats)

    with seeded(settings.seed):
        pop = [engine.new() for _ in range(settings.population)]
        for ind in pop:
            label(ind, 0, ())
        evaluate(pop)
        record(0, pop, len(pop))
        for gen in range(1, settings.generations + 1):
            use_oracle = oracle is not None and oracle.ready
            n_cand = settings.population * (settings.oversample if use_oracle else 1)
            parents = engine.select_parents(pop, 2 * n_cand)
            cands = []
            for j in range(n_cand):
                a, b = parents[2 * j], parents[2 * j + 1]
                child = engine.vary(a, b, settings.cx_prob, settings.mut_prob)
                label(child, gen, (a.uid, b.uid))
                cands.append(child)
            if use_oracle:
                assert oracle is not None
                keep = max(1, math.ceil(settings.keep * settings.population))
                descs = [oracle.describe(engine.document(c)) for c in cands]
                chosen, pred = oracle.screen(descs, keep)
                offspring = [cands[i] for i in chosen]
                actual = evaluate(offspring)
                oracle.record([float(pred[i]) for i in chosen], actual)
            else:
                offspring = cands
                evaluate(offspring)
            pop = engine.select_survivors(pop + offspring, settings.population)
            record(gen, pop, len(offspring))
    ranked = sorted(hof.values(), key=lambda i: (-i.fitness.values[0], size_of(i), i.uid))
    return SearchResult(
        ranked[: settings.hall_of_fame],
        history,
        evaluations,
        oracle.stats if oracle is not None else None,
        engine,
    )
