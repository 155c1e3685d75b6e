"""One evolution run, end to end: journals in, challenger files and a report out.

dataset -> PCMCI parents -> (Chimera genome, when adversarial fitness is on) -> GP search
with the oracle -> finalists re-scored with causal fitness through the L2 replay -> best
``export`` written as challengers -> report.

Everything that can reject the input (dataset, causal selection, calibration) runs before
the search, and the challengers are written last, all or none: a failed run leaves no
challenger file behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from asnd.core.agent_market import SimConfig
from asnd.core.features import FeatureConfig
from asnd.core.strategy import Metadata, StrategyDocument
from evolution.adversarial import AdversarialSetup
from evolution.causal import CausalSelection, select_features
from evolution.chimera import DEFAULT_GENES, Calibration, calibrate
from evolution.dataset import Dataset, load_dataset, read_market
from evolution.evaluate import EvaluationMap
from evolution.export import write_challengers
from evolution.fitness import TradingRules, combined_fitness
from evolution.gp import individual_key
from evolution.replay_fitness import causal_fitness_replay
from evolution.search import EvalContext, GenerationStats, SearchResult, SearchSettings, run_search

__all__ = ["Finalist", "RunResult", "RunSettings", "SlotSizing", "evolve"]


@dataclass(frozen=True, slots=True)
class SlotSizing:
    """The slot in the config's units (decimal strings of the base currency)."""

    capital: Decimal = Decimal(200)
    leverage: Decimal = Decimal(1)
    min_qty: Decimal | None = None  # default: one lot
    max_qty: Decimal | None = None  # default: what capital x leverage buys at the first mid


@dataclass(frozen=True, slots=True)
class RunSettings:
    journals: tuple[Path, ...]
    out: Path
    slot: int
    symbol: str | None = None
    search: SearchSettings = SearchSettings()
    sizing: SlotSizing = SlotSizing()
    causal_weight: float = 0.7
    horizon_rows: int = 1
    tau_max: int = 3
    alpha: float = 0.01
    features: FeatureConfig = FeatureConfig()
    cache_dir: Path | None = None
    calibration_steps: int = 600
    calibration_evaluations: int = 48
    adversarial_steps: int = 600
    finalists: int = 5
    export: int = 3
    replay_latency_ns: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.causal_weight <= 1.0:
            raise ValueError("causal weight must be in [0, 1]")
        if self.export < 1 or self.finalists < self.export:
            raise ValueError("need 1 <= export <= finalists")


@dataclass(frozen=True, slots=True)
class Finalist:
    doc: StrategyDocument
    screen: float  # search fitness (vectorised causal + adversarial)
    causal_vectorised: float
    causal_replay: float
    adversarial: float | None
    final: float  # with the replayed causal fitness


@dataclass(slots=True)
class RunResult:
    dataset: Dataset
    causal: CausalSelection
    calibration: Calibration | None
    search: SearchResult
    finalists: list[Finalist]
    challengers: list[Path] = field(default_factory=list)


def _rules(ds: Dataset, sizing: SlotSizing) -> TradingRules:
    lot = Fraction(ds.lot_size)
    tick = Fraction(ds.tick_size)
    min_lots = 1 if sizing.min_qty is None else int(Fraction(sizing.min_qty) / lot)
    if sizing.max_qty is None:
        mid = Fraction(int(ds.mid_x2_ticks[0]), 2) * tick
        max_lots = int(Fraction(sizing.capital) * Fraction(sizing.leverage) / (mid * lot))
    else:
        max_lots = int(Fraction(sizing.max_qty) / lot)
    if min_lots < 1 or max_lots < min_lots:
        raise ValueError(
            f"slot sizing gives [{min_lots}, {max_lots}] lots of {ds.lot_size}: "
            "min_qty must be at least one lot and max_qty at least min_qty"
        )
    return TradingRules(
        ds.tick_size,
        ds.lot_size,
        capital=sizing.capital,
        leverage=sizing.leverage,
        min_qty_lots=min_lots,
        max_qty_lots=max_lots,
    )


def evolve(
    settings: RunSettings,
    mapper: EvaluationMap,
    progress: Callable[[GenerationStats], None] | None = None,
) -> RunResult:
    ds = load_dataset(
        settings.journals,
        symbol=settings.symbol,
        config=settings.features,
        horizon_rows=settings.horizon_rows,
        cache_dir=settings.cache_dir,
    )
    rules = _rules(ds, settings.sizing)
    causal = select_features(ds, tau_max=settings.tau_max, alpha=settings.alpha)
    calibration = None
    market = None
    if settings.causal_weight < 1.0:
        sim = SimConfig(
            symbol=ds.symbol,
            tick_size=ds.tick_size,
            lot_size=ds.lot_size,
            start_price_ticks=int(ds.mid_x2_ticks[0]) // 2,
        )
        events = (e for j in settings.journals for e in read_market(j, ds.symbol))
        calibration = calibrate(
            events,
            sim,
            mapper,
            genes=DEFAULT_GENES,
            seed=settings.search.seed,
            steps=settings.calibration_steps,
            max_evaluations=settings.calibration_evaluations,
        )
        market = AdversarialSetup(
            sim,
            calibration.genome,
            settings.search.seed,
            settings.adversarial_steps,
            settings.features,
        )
    ctx = EvalContext(ds, rules, market, settings.causal_weight)
    search = run_search(causal.features, ctx, mapper, settings.search, progress)
    finalists = _finalists(settings, ctx, search, mapper)
    docs = [f.doc for f in finalists[: settings.export]]
    result = RunResult(ds, causal, calibration, search, finalists)
    result.challengers = write_challengers(docs, settings.out, settings.slot)
    return result


@dataclass(frozen=True, slots=True)
class _ReplayJob:
    ctx: EvalContext
    latency_ns: int


def _replay(job: _ReplayJob, doc: StrategyDocument) -> float:
    return causal_fitness_replay(
        doc, job.ctx.dataset, job.ctx.rules, latency_ns=job.latency_ns
    ).fitness


def _finalists(
    settings: RunSettings, ctx: EvalContext, search: SearchResult, mapper: EvaluationMap
) -> list[Finalist]:
    gp = search.gp
    ds = ctx.dataset
    chosen = search.hall_of_fame[: settings.finalists]
    docs = []
    for ind in chosen:
        doc = gp.document(ind)
        doc_id = f"s{settings.slot}-g{ind.generation}-{individual_key(doc)}"
        docs.append(replace(doc, id=doc_id))
    replayed = mapper.map(_replay, _ReplayJob(ctx, settings.replay_latency_ns), docs)
    out = []
    for ind, doc, causal_replay in zip(chosen, docs, replayed, strict=True):
        comp = ind.components
        final = combined_fitness(causal_replay, comp.adversarial, settings.causal_weight)
        fitness = {
            "final": final,
            "causal_replay": causal_replay,
            "causal_vectorised": comp.causal,
            "screen": comp.final,
        }
        if comp.adversarial is not None:
            fitness["adversarial"] = comp.adversarial
        parents = tuple(_parent_id(settings.slot, p) for p in ind.parents)
        meta = Metadata(
            lineage=parents,
            fitness=fitness,
            data_start=ds.data_start,
            data_end=ds.data_end,
            seed=settings.search.seed,
        )
        out.append(
            Finalist(
                replace(doc, metadata=meta),
                comp.final,
                comp.causal,
                causal_replay,
                comp.adversarial,
                final,
            )
        )
    out.sort(key=lambda f: -f.final)  # stable: ties keep the hall-of-fame order
    return out


def _parent_id(slot: int, uid: str) -> str:
    """A parent's search label ``g<gen>-<n>`` as an id in the challenger id scheme."""
    return f"s{slot}-{uid}"


def journals_of(paths: Sequence[str | Path]) -> tuple[Path, ...]:
    return tuple(Path(p) for p in paths)
