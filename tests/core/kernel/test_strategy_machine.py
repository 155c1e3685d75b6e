"""The stack machine against the closures it replaced: identical signals on generated trees
(NaN, infinities, signed zeros, huge and tiny values) and on the six champions over the real
Bybit archive; per row, over rows and over columns bit-identical."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.features import FEATURE_NAMES
from asnd.core.kernel import mathfn, strategy_ops
from asnd.core.kernel.strategy import BLOCK_ROWS, Program, run_columns, run_pair, run_rows
from asnd.core.strategy import (
    MAX_DEPTH,
    MAX_NODES,
    Call,
    Const,
    FeatureRef,
    Node,
    StrategyDocument,
    compile_scalar,
    compile_strategy,
    compile_vector,
    node_count,
    node_depth,
    parse_strategy,
    to_json,
)
from asnd.core.strategy.compile import compile_program
from journal.bybit_archive import read_archive
from journal.events import BookDelta, BookSnapshot, Event
from tests.core.kernel.jit_mode import JIT_DISABLED, examples
from tests.core.kernel.oracle import FeatureEngine, compute_features
from tests.core.strategy import reference_closures as ref
from tests.core.strategy.test_operators import same
from tests.core.strategy.trees import big_trees, matrices, trees

Floats = npt.NDArray[np.float64]
ETC = Path(__file__).resolve().parents[3] / "etc" / "strategies"
CHAMPIONS = sorted(ETC.glob("champion_*.json"))


def _kernel_tanh_column(a: Floats) -> Floats:
    return np.array([mathfn.tanh(v) for v in a.tolist()], dtype=np.float64)


#: The old closures with the kernel's tanh: they must match the machine on every tree.
KERNEL_TANH = ref.with_tanh(mathfn.tanh, _kernel_tanh_column)


def uses_tanh(node: Node) -> bool:
    return isinstance(node, Call) and (node.op == "tanh" or any(map(uses_tanh, node.args)))


def identical(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))


def columns_of(p: Program, matrix: Floats) -> Floats:
    out: Floats = run_columns(p.code, p.consts, p.features, p.stack_depth, p.outputs, matrix)
    return out


def rows_of(p: Program, matrix: Floats) -> Floats:
    out: Floats = run_rows(p.code, p.consts, p.features, p.outputs, matrix)
    return out


# --------------------------------------------------------------------------------- encoding


def test_the_documented_encoding() -> None:
    tree = Call("sub", (FeatureRef("imbalance"), Call("mul", (Const(0.5), FeatureRef("ofi")))))
    p = compile_program([tree], FEATURE_NAMES)
    ops = strategy_ops.OPCODES
    assert p.code.tolist() == [
        strategy_ops.FEATURE, strategy_ops.CONST, strategy_ops.FEATURE, ops["mul"], ops["sub"]
    ]  # fmt: skip
    assert p.consts.tolist() == [0.5]
    assert p.features.tolist() == [0, 5]
    assert (p.stack_depth, p.outputs, p.width) == (3, 1, len(FEATURE_NAMES))
    assert p.code.dtype == np.int64
    assert p.features.dtype == np.int64
    assert p.consts.dtype == np.float64


def test_a_strategy_is_one_program_leaving_signal_then_size() -> None:
    signal = Call("add", (FeatureRef("clv"), Const(1.0)))
    size = Call("neg", (FeatureRef("ofi"),))
    strategy = compile_strategy(StrategyDocument("s", ("clv", "ofi"), signal, size))
    assert strategy.program.outputs == 2
    row = tuple(float(i) for i in range(len(FEATURE_NAMES)))
    assert strategy.evaluate(row) == (3.0, -5.0)
    assert (strategy.signal(row), strategy.size(row)) == (3.0, -5.0)
    assert strategy.evaluate(list(row)) == (3.0, -5.0)
    assert strategy.evaluate(np.array(row)) == (3.0, -5.0)
    mixed = (0, 1, 2, 3, 4, 5, 6.0, 7.0)  # ints: converted, not a typing error
    assert strategy.evaluate(mixed) == (3.0, -5.0)
    matrix = np.array([row, row])
    assert strategy.evaluate_batch(matrix).tolist() == [[3.0, 3.0], [-5.0, -5.0]]


@given(trees, trees)
def test_stack_depth_is_what_the_program_needs(a: Node, b: Node) -> None:
    p = compile_program([a, b], FEATURE_NAMES)
    depth = max_depth = 0
    for op in p.code.tolist():
        depth += 1 - (int(strategy_ops.ARITY[op]) if op > strategy_ops.CONST else 0)
        max_depth = max(max_depth, depth)
    assert depth == 2
    assert p.stack_depth == max_depth


# ----------------------------------------------------------------------- differential: trees


@settings(max_examples=examples(300), deadline=None)
@given(tree=trees, matrix=matrices())
def test_machine_equals_the_old_closures_on_generated_trees(tree: Node, matrix: Floats) -> None:
    rows = matrix.tolist()
    live = compile_scalar(tree)
    per_row = [live(tuple(r)) for r in rows]
    batch = compile_vector(tree)(matrix).tolist()
    # One machine, three ways of running it: bit-identical whatever the tree.
    assert identical(per_row, batch)
    assert identical([live(np.array(r)) for r in rows], batch)
    assert identical(rows_of(compile_program([tree], FEATURE_NAMES), matrix)[0].tolist(), batch)
    # The old closures (with the kernel's tanh): the same numbers, scalar and vectorised.
    assert identical([ref.compile_scalar(tree, table=KERNEL_TANH)(r) for r in rows], batch)
    assert identical(ref.compile_vector(tree, table=KERNEL_TANH)(matrix).tolist(), batch)
    if not uses_tanh(tree):  # the closures exactly as they were (numpy's tanh)
        assert identical([ref.compile_scalar(tree)(r) for r in rows], batch)
        assert identical(ref.compile_vector(tree)(matrix).tolist(), batch)


def _within_limits(tree: Node) -> bool:
    return node_depth(tree) <= MAX_DEPTH and node_count(tree) <= MAX_NODES


def _chain(depth: int, ops: Sequence[str]) -> Node:
    """A tree exactly ``depth`` deep whose every level is a 2- or 3-ary op (deepest stack)."""
    node: Node = FeatureRef("ofi")
    for i in range(depth):
        op = ops[i % len(ops)]
        arity = int(strategy_ops.ARITY[strategy_ops.OPCODES[op]])
        node = Call(op, (*[FeatureRef(FEATURE_NAMES[i % 8])] * (arity - 1), node))
    return node


@settings(max_examples=examples(60), deadline=None)
@given(tree=big_trees.filter(_within_limits), matrix=matrices(max_rows=40))
def test_machine_equals_the_old_closures_up_to_the_validation_limits(
    tree: Node, matrix: Floats
) -> None:
    doc = parse_strategy(to_json(StrategyDocument("big", FEATURE_NAMES, tree, Const(0.0))))
    assert doc.signal == tree  # the validator accepts it
    batch = compile_vector(tree)(matrix).tolist()
    assert identical([compile_scalar(tree)(tuple(r)) for r in matrix.tolist()], batch)
    assert identical(ref.compile_vector(tree, table=KERNEL_TANH)(matrix).tolist(), batch)


@pytest.mark.parametrize("ops", [("ifThenElse",), ("sub", "ifThenElse", "protectedDiv", "max")])
def test_the_deepest_valid_tree_runs(ops: Sequence[str]) -> None:
    tree = _chain(MAX_DEPTH, ops)
    assert node_depth(tree) == MAX_DEPTH
    parse_strategy(to_json(StrategyDocument("deep", FEATURE_NAMES, tree, Const(0.0))))
    matrix = np.random.default_rng(5).normal(size=(50, len(FEATURE_NAMES)))
    matrix[::3, 2] = 0.0
    matrix[::7, 5] = np.nan
    assert identical(
        compile_vector(tree)(matrix).tolist(), ref.compile_vector(tree)(matrix).tolist()
    )


def test_if_then_else_picks_a_branch_whatever_the_other_computes() -> None:
    # The machine evaluates both branches; the one not taken (inf, NaN) must not leak.
    blowup = Call("mul", (FeatureRef("ofi"), Const(1e308)))
    nan = Call("mul", (FeatureRef("clv"), Call("sub", (FeatureRef("ofi"), FeatureRef("ofi")))))
    tree = Call("ifThenElse", (FeatureRef("imbalance"), nan, blowup))
    rows = np.zeros((4, len(FEATURE_NAMES)))
    rows[:, FEATURE_NAMES.index("ofi")] = [1e10, 1e10, np.inf, np.inf]
    rows[:, FEATURE_NAMES.index("imbalance")] = [0.0, 1.0, 0.0, 1.0]
    rows[:, FEATURE_NAMES.index("clv")] = 2.0
    got = compile_vector(tree)(rows).tolist()
    assert identical(got, [np.inf, 0.0, np.inf, np.nan])
    assert identical([compile_scalar(tree)(tuple(r)) for r in rows.tolist()], got)


# --------------------------------------------------------------------------- the three modes


@settings(max_examples=examples(40), deadline=None)
@given(tree=trees, seed=st.integers(0, 2**32 - 1))
def test_rows_and_columns_agree_across_block_boundaries(tree: Node, seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(scale=1e3, size=(2 * BLOCK_ROWS + 3, len(FEATURE_NAMES)))
    matrix[rng.random(matrix.shape) < 0.05] = np.nan
    matrix[rng.random(matrix.shape) < 0.05] = -0.0
    p = compile_program([tree, Call("neg", (tree,))], FEATURE_NAMES)
    cols = columns_of(p, matrix)
    assert cols.shape == (2, matrix.shape[0])
    assert identical(cols.ravel().tolist(), rows_of(p, matrix).ravel().tolist())
    pair = [run_pair(p.code, p.consts, p.features, tuple(r)) for r in matrix.tolist()]
    assert identical([v for pr in pair for v in pr], cols.T.ravel().tolist())


def test_empty_and_constant_inputs() -> None:
    fn = compile_vector(Const(2.5))
    assert fn(np.zeros((4, len(FEATURE_NAMES)))).tolist() == [2.5] * 4
    assert fn(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)
    # A Fortran-ordered or integer matrix is converted, not misread.
    matrix = np.asfortranarray(np.arange(16).reshape(2, 8))
    assert compile_vector(FeatureRef("pressure"))(matrix).tolist() == [1.0, 9.0]


def test_bad_shapes_are_clear_errors_and_never_reach_the_kernel() -> None:
    strategy = compile_strategy(StrategyDocument("s", ("ofi",), FeatureRef("ofi"), Const(0.0)))
    with pytest.raises(ValueError, match=r"row of 8 values, got shape \(3,\)"):
        strategy.evaluate((1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="row of 8 values"):
        strategy.evaluate(np.zeros((8, 2)))
    with pytest.raises(ValueError, match=r"\(rows, 8\) matrix"):
        strategy.evaluate_batch(np.zeros((3, 2)))


def test_the_kernels_are_compiled_unless_jit_is_disabled() -> None:
    assert hasattr(run_columns, "py_func") is not JIT_DISABLED


# ------------------------------------------------------------------ champions on real data


def lobster_top_of_book(path: Path, limit: int) -> list[Event]:
    """The first ``limit`` rows of LOBSTER's level-1 book file as one snapshot then
    top-of-book deltas (real quotes)."""
    events: list[Event] = []
    prev: list[int] | None = None
    with path.open() as f:
        for i, line in zip(range(limit), f, strict=False):
            ask, ask_qty, bid, bid_qty = (int(x) for x in line.split(","))
            if ask >= _LOBSTER_EMPTY or bid <= -_LOBSTER_EMPTY or bid >= ask:
                prev = None  # an empty or crossed side: start over with a snapshot
                continue
            if prev is None:
                events.append(
                    BookSnapshot(i, i, "AMZN", i, i, 0, 0, [bid], [bid_qty], [ask], [ask_qty])
                )
            else:
                bids, bid_lots = [bid], [bid_qty]
                if prev[2] != bid:
                    bids, bid_lots = [prev[2], bid], [0, bid_qty]
                asks, ask_lots = [ask], [ask_qty]
                if prev[0] != ask:
                    asks, ask_lots = [prev[0], ask], [0, ask_qty]
                events.append(BookDelta(i, i, "AMZN", i, i, 0, 0, bids, bid_lots, asks, ask_lots))
            prev = [ask, ask_qty, bid, bid_qty]
    return events


_LOBSTER_EMPTY = 9_999_999_999


def assert_champions_agree(events: list[Event], symbol: str, min_rows: int) -> None:
    # Live: one incremental FeatureEngine row per book event, one kernel call each. Research:
    # the batch feature matrix through the column kernel. And the old closures on that matrix.
    engine = FeatureEngine(symbol)
    live_rows = [row for e in events if (row := engine.on_event(e)) is not None]
    matrix = compute_features(events, symbol).values
    assert len(CHAMPIONS) == 6
    assert len(live_rows) == matrix.shape[0] >= min_rows
    distinct: set[float] = set()
    for path in CHAMPIONS:
        doc = parse_strategy(path.read_bytes())
        strategy = compile_strategy(doc)
        batch = strategy.evaluate_batch(matrix)
        live = np.array([strategy.evaluate(row) for row in live_rows]).T
        assert live.tobytes() == batch.tobytes(), path.name
        for k, tree in enumerate((doc.signal, doc.size)):
            table = KERNEL_TANH if uses_tanh(tree) else None
            old = ref.compile_vector(tree, table=table)(matrix)
            assert old.tobytes() == batch[k].tobytes(), (path.name, k)
            old_live = [ref.compile_scalar(tree, table=table)(row) for row in live_rows]
            assert identical(old_live, batch[k].tolist()), (path.name, k)
        distinct.update(batch[0].tolist())
    assert len(distinct) > 10  # the stream moves the signals: the comparison is not vacuous


def test_six_champions_agree_live_and_over_columns_on_the_bybit_archive(
    bybit_archive: Path,
) -> None:
    assert_champions_agree(list(read_archive(bybit_archive)), "XRPUSDT", 50)


def test_six_champions_agree_live_and_over_columns_on_lobster_quotes(shared_data: Path) -> None:
    path = shared_data / "lobster" / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    assert_champions_agree(lobster_top_of_book(path, 8_000), "AMZN", 7_000)
