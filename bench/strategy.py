"""Strategy and feature speed: the kernel stack machine over columns and per row, features.

Measurements (JSON lines via ``bench._common.emit``, each with the peak RSS so far):

1. ``strategy_rows_per_s``: the six champions of ``etc/strategies`` (signal and size) over the
   feature columns of a long Bybit-shaped stream (the real XRPUSDT snapshot continued by
   ``bench.matching.synthetic_stream``'s seeded deltas and trades, features from
   ``frame_from_events``: the kernel's rows), through ``CompiledStrategy.evaluate_batch``
   (the column kernel).
   One row is one champion's signal and size on one feature row. Reference in the same run:
   the numpy closures it replaced (``tests/core/strategy/reference_closures.py``,
   ``compile_vector`` per tree). Goal: ratio >= 1.0 (issue 15).
2. ``strategy_rows_per_s.per_row_machine``: the same programs through ``run_rows`` (the
   per-row machine looped inside the kernel): the other way to run over columns, measured
   against the column kernel in the same run (why research uses ``run_columns``).
3. ``strategy_live_evaluate_ns``: one live evaluation (signal and size of a 30-node and a
   9-node tree on one ``FeatureRow`` tuple, one kernel call) against the two old scalar
   closures on the same rows; ``strategy_decision_ns`` with ``decide()``; and ``.champions``,
   the same for the six (tiny) champions, where the call's fixed cost dominates.
4. ``strategy_kernel_first_call_s``: the first evaluation in this process (numba compiles, or
   loads its on-disk cache); untimed elsewhere.

The features themselves (journal bytes -> book -> eight features in the kernel) are measured
by ``bench.market``.

Run: ``python -m bench.strategy``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from asnd.core.features import FEATURE_NAMES
from asnd.core.kernel.frame import frame_from_events
from asnd.core.kernel.strategy import run_rows
from asnd.core.strategy import (
    OPERATORS,
    Call,
    Const,
    FeatureRef,
    Node,
    SlotSizing,
    StrategyDocument,
    compile_strategy,
    decide,
    node_count,
    parse_strategy,
)
from bench._common import best_of, emit
from bench.matching import real_snapshot, synthetic_stream
from tests.core.strategy import reference_closures as ref

BENCH = "strategy"
REPO = Path(__file__).resolve().parents[1]
CHAMPIONS = sorted((REPO / "etc" / "strategies").glob("champion_*.json"))
DELTAS = 100_000


def tree_of_size(nodes: int, seed: int) -> Node:
    """A random tree of exactly ``nodes`` nodes over binary and unary operators (seeded)."""
    rng = random.Random(seed)
    binary = [n for n, op in OPERATORS.items() if op.arity == 2]
    unary = [n for n, op in OPERATORS.items() if op.arity == 1]

    def build(budget: int) -> Node:
        if budget == 1:
            if rng.random() < 0.7:
                return FeatureRef(rng.choice(FEATURE_NAMES))
            return Const(round(rng.uniform(-2, 2), 3))
        if budget == 2:
            return Call(rng.choice(unary), (build(1),))
        left = rng.randrange(1, budget - 1)
        return Call(rng.choice(binary), (build(left), build(budget - 1 - left)))

    return build(nodes)


def bench_champions_over_columns() -> None:
    stream = synthetic_stream(real_snapshot(), DELTAS, seed=11)
    matrix = np.ascontiguousarray(frame_from_events(stream).values)
    docs = [parse_strategy(p.read_bytes()) for p in CHAMPIONS]
    kernels = [compile_strategy(d) for d in docs]
    old = [(ref.compile_vector(d.signal), ref.compile_vector(d.size)) for d in docs]
    t0 = time.perf_counter()
    for k in kernels:
        k.evaluate_batch(matrix[:10])
        p = k.program
        run_rows(p.code, p.consts, p.features, p.outputs, matrix[:10])
    first_call = time.perf_counter() - t0

    def columns() -> None:
        for k in kernels:
            k.evaluate_batch(matrix)

    def per_row_machine() -> None:
        for k in kernels:
            p = k.program
            run_rows(p.code, p.consts, p.features, p.outputs, matrix)

    def numpy_closures() -> None:
        for signal, size in old:
            signal(matrix)
            size(matrix)

    t_cols, t_rows, t_numpy = best_of(7, columns, per_row_machine, numpy_closures)
    rows = matrix.shape[0] * len(kernels)
    emit(BENCH, "strategy_kernel_first_call_s", value=round(first_call, 3), unit="s",
         note="numba compile or cache load of the column and per-row kernels")  # fmt: skip
    emit(BENCH, "strategy_rows_per_s", value=round(rows / t_cols), unit="rows/s",
         champions=len(kernels), feature_rows=matrix.shape[0],
         source=f"Bybit-shaped stream, real XRPUSDT snapshot + {DELTAS} seeded deltas",
         reference="numpy closures (the vectorised path replaced), rows/s",
         reference_value=round(rows / t_numpy), ratio=round(t_numpy / t_cols, 2),
         goal_ratio=1.0)  # fmt: skip
    emit(BENCH, "strategy_rows_per_s.per_row_machine", value=round(rows / t_rows),
         unit="rows/s", reference="column kernel rows/s", reference_value=round(rows / t_cols),
         ratio=round(t_cols / t_rows, 2))  # fmt: skip


def bench_live() -> None:
    tree = tree_of_size(30, seed=4)
    assert node_count(tree) == 30
    doc = StrategyDocument("bench", FEATURE_NAMES, tree, tree_of_size(9, seed=5))
    strategy = compile_strategy(doc)
    old_signal, old_size = ref.compile_scalar(doc.signal), ref.compile_scalar(doc.size)
    rng = np.random.default_rng(1)
    rows = [tuple(r) for r in rng.normal(size=(20_000, len(FEATURE_NAMES))).tolist()]
    strategy.evaluate(rows[0])  # compile or load, untimed
    sizing = SlotSizing(1, 1000, 200 * 10**8, "0.0001", "1")
    params, evaluate = doc.params, strategy.evaluate

    def kernel_rows() -> None:
        for row in rows:
            evaluate(row)

    def closure_rows() -> None:
        for row in rows:
            old_signal(row)
            old_size(row)

    def kernel_decisions() -> None:
        for row in rows:
            decide(*evaluate(row), params, sizing, 19537)

    def closure_decisions() -> None:
        for row in rows:
            decide(old_signal(row), old_size(row), params, sizing, 19537)

    t_new, t_old, d_new, d_old = best_of(
        5, kernel_rows, closure_rows, kernel_decisions, closure_decisions
    )
    n = len(rows)
    emit(BENCH, "strategy_live_evaluate_ns", value=round(t_new / n * 1e9), unit="ns/row",
         note="signal (30 nodes) + size (9 nodes), one kernel call on a FeatureRow tuple",
         reference="old scalar closures, ns/row", reference_value=round(t_old / n * 1e9),
         ratio=round(t_old / t_new, 2))  # fmt: skip
    emit(BENCH, "strategy_decision_ns", value=round(d_new / n * 1e9), unit="ns/decision",
         reference="old scalar closures + decide(), ns", reference_value=round(d_old / n * 1e9),
         ratio=round(d_old / d_new, 2))  # fmt: skip

    # The hand-written champions are tiny (5 to 8 nodes): there the call's fixed cost (numba
    # unboxing three arrays and the row) is most of it.
    docs = [parse_strategy(p.read_bytes()) for p in CHAMPIONS]
    champions = [compile_strategy(d).evaluate for d in docs]
    closures = [(ref.compile_scalar(d.signal), ref.compile_scalar(d.size)) for d in docs]
    few = rows[:5000]

    def kernel_champions() -> None:
        for f in champions:
            for row in few:
                f(row)

    def closure_champions() -> None:
        for signal, size in closures:
            for row in few:
                signal(row)
                size(row)

    t_new, t_old = best_of(5, kernel_champions, closure_champions)
    n = len(few) * len(docs)
    emit(BENCH, "strategy_live_evaluate_ns.champions", value=round(t_new / n * 1e9),
         unit="ns/row", note="the six champions, signal + size, one kernel call each",
         reference="old scalar closures, ns/row", reference_value=round(t_old / n * 1e9),
         ratio=round(t_old / t_new, 2))  # fmt: skip


def main() -> None:
    bench_champions_over_columns()
    bench_live()


if __name__ == "__main__":
    main()
