"""The compiler: postfix programs, no eval; per row and over columns give identical numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy import (
    Call,
    Const,
    FeatureRef,
    Node,
    compile_scalar,
    compile_vector,
    node_count,
)
from journal.bybit_archive import read_archive
from tests.core.kernel.oracle import FeatureEngine, compute_features
from tests.core.strategy.test_operators import same
from tests.core.strategy.trees import matrices, trees


@settings(max_examples=300, deadline=None)
@given(tree=trees, matrix=matrices())
def test_random_trees_give_identical_results_scalar_and_vectorised(
    tree: Node, matrix: npt.NDArray[np.float64]
) -> None:
    scalar = compile_scalar(tree)
    vector = compile_vector(tree)(matrix)
    assert vector.shape == (matrix.shape[0],)
    for row, got in zip(matrix.tolist(), vector.tolist(), strict=True):
        assert same(scalar(row), got)


@settings(max_examples=50, deadline=None)
@given(tree=trees, matrix=matrices())
def test_scalar_accepts_numpy_rows_without_warnings(
    tree: Node, matrix: npt.NDArray[np.float64]
) -> None:
    scalar = compile_scalar(tree)
    vector = compile_vector(tree)(matrix)
    for i in range(matrix.shape[0]):
        assert same(scalar(matrix[i]), float(vector[i]))


def test_tree_evaluates_the_expected_arithmetic() -> None:
    # (imbalance + pressure) * 2, protectedDiv(clv, 0) = 1
    tree = Call(
        "add",
        (
            Call(
                "mul", (Call("add", (FeatureRef("imbalance"), FeatureRef("pressure"))), Const(2.0))
            ),
            Call("protectedDiv", (FeatureRef("clv"), Const(0.0))),
        ),
    )
    row = [0.0] * len(FEATURE_NAMES)
    row[FEATURE_NAMES.index("imbalance")] = 3.0
    row[FEATURE_NAMES.index("pressure")] = 4.0
    assert compile_scalar(tree)(row) == 15.0
    assert compile_vector(tree)(np.array([row, row])).tolist() == [15.0, 15.0]


def test_columns_choose_the_input_layout() -> None:
    tree = Call("sub", (FeatureRef("ofi"), FeatureRef("clv")))
    columns = ("clv", "ofi")
    assert compile_scalar(tree, columns)([1.0, 5.0]) == 4.0
    assert compile_vector(tree, columns)(np.array([[1.0, 5.0], [2.0, 0.0]])).tolist() == [4.0, -2.0]
    with pytest.raises(KeyError, match="imbalance"):
        compile_scalar(FeatureRef("imbalance"), columns)


def test_vector_output_is_never_a_view_of_the_input() -> None:
    matrix = np.ones((3, len(FEATURE_NAMES)))
    out = compile_vector(FeatureRef("clv"))(matrix)
    out[:] = 7.0
    assert float(matrix.sum()) == matrix.size


def test_constant_tree_fills_every_row_and_empty_input_gives_empty_output() -> None:
    fn = compile_vector(Const(2.5))
    assert fn(np.zeros((4, len(FEATURE_NAMES)))).tolist() == [2.5] * 4
    assert fn(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)


def test_wrong_matrix_shape_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="rows, 8"):
        compile_vector(Const(1.0))(np.zeros((3, 2)))


@given(st.integers(1, 20))
def test_deep_chains_compile_and_evaluate(depth: int) -> None:
    tree: Node = FeatureRef("imbalance")
    for _ in range(depth):
        tree = Call("neg", (tree,))
    assert node_count(tree) == depth + 1
    row = [1.5] * len(FEATURE_NAMES)
    assert compile_scalar(tree)(row) == (-1.5 if depth % 2 else 1.5)
    assert not math.isnan(compile_vector(tree)(np.array([row]))[0])


def test_live_rows_and_backtest_matrix_give_the_same_signals_on_real_data(
    bybit_archive: Path,
) -> None:
    # Live: one incremental feature row per book event through the scalar callable.
    # Backtest: the batch feature matrix through the vectorised one. Same numbers.
    events = list(read_archive(bybit_archive))
    engine = FeatureEngine("XRPUSDT")
    rows = [row for e in events if (row := engine.on_event(e)) is not None]
    matrix = compute_features(events).values
    flow_per_vol = Call("protectedDiv", (FeatureRef("ofi"), FeatureRef("volatility_ticks")))
    tree = Call(
        "ifThenElse",
        (
            Call("gt", (FeatureRef("ofi"), Const(0.0))),
            Call("tanh", (flow_per_vol,)),
            Call("sub", (FeatureRef("imbalance"), FeatureRef("pressure"))),
        ),
    )
    live = [compile_scalar(tree)(row) for row in rows]
    assert live == compile_vector(tree)(matrix).tolist()
    assert len(set(live)) > 10
