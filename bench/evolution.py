"""Evolution speed: vectorised causal-fitness evaluations per second, the L2-replay ground
truth for comparison (same strategy, same data), and the wall time of a standard small run.

Run as ``python -m bench.evolution``; prints JSON lines via ``bench._common.emit``.
"""

from __future__ import annotations

import tempfile
import time
from decimal import Decimal
from pathlib import Path

from asnd.core.strategy import Call, Const, FeatureRef, StrategyDocument
from bench._common import emit
from evolution.dataset import load_dataset
from evolution.evaluate import LocalMap
from evolution.fitness import causal_fitness_vectorised
from evolution.replay_fitness import causal_fitness_replay
from evolution.run import RunSettings, SlotSizing, _rules, evolve
from evolution.search import SearchSettings
from tests.evolution.journals import planted_journal

BENCH = "evolution"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = planted_journal(Path(tmp) / "j", rows=5000)
        ds = load_dataset([journal])
        rules = _rules(ds, SlotSizing(leverage=Decimal(10)))
        doc = StrategyDocument(
            "bench",
            ("imbalance", "ofi"),
            Call("mul", (Call("sub", (FeatureRef("imbalance"), Const(0.5))), Const(4.0))),
            Call("tanh", (FeatureRef("ofi"),)),
        )
        n = 200
        t0 = time.perf_counter()
        for _ in range(n):
            causal_fitness_vectorised(doc, ds, rules)
        vec = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        causal_fitness_replay(doc, ds, rules)
        replay = 1 / (time.perf_counter() - t0)
        emit(
            BENCH,
            "causal_fitness_vectorised",
            value=round(vec, 1),
            unit="evaluations/s",
            rows=len(ds),
            reference="causal_fitness_replay",
            reference_value=round(replay, 2),
            ratio=round(vec / replay, 1),
        )
        search = SearchSettings(population=40, generations=10, seed=1)
        settings = RunSettings(
            (journal,),
            Path(tmp) / "out",
            0,
            search=search,
            sizing=SlotSizing(leverage=Decimal(10)),
            causal_weight=1.0,
        )
        t0 = time.perf_counter()
        with LocalMap(2) as mapper:
            result = evolve(settings, mapper)
        wall = time.perf_counter() - t0
        emit(
            BENCH,
            "standard_small_run",
            value=round(wall, 2),
            unit="s",
            rows=len(ds),
            population=40,
            generations=10,
            workers=2,
            evaluations=result.search.evaluations,
            best_fitness=result.search.best_fitness,
        )


if __name__ == "__main__":
    main()
