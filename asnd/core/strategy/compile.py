"""Compile a validated tree into Python closures: a scalar callable and a vectorised one.

No source text is generated and nothing from the file is evaluated: each node becomes a
closure over its children's closures and its operator from ``OPERATORS``.

- ``compile_scalar(tree, columns)`` -> ``f(row) -> float`` where ``row[j]`` is the value of
  feature ``columns[j]`` (a ``FeatureRow`` with the default ``FEATURE_NAMES`` columns).
- ``compile_vector(tree, columns)`` -> ``f(matrix) -> column`` where ``matrix`` is
  (rows, len(columns)) float64; one output per row.

Both give identical floats for every row (see ``operators``). The vectorised form evaluates
both branches of ``ifThenElse`` and picks per row; the scalar form evaluates only the one it
takes. Operators are pure, so the results do not differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy.document import Const, FeatureRef, Node, StrategyDocument
from asnd.core.strategy.operators import OPERATORS, Column

__all__ = [
    "CompiledStrategy",
    "ScalarFn",
    "VectorFn",
    "compile_scalar",
    "compile_strategy",
    "compile_vector",
]

ScalarFn = Callable[[Sequence[float]], float]
VectorFn = Callable[[npt.NDArray[np.float64]], Column]
_Cols = npt.NDArray[np.float64]  # (features, rows): one contiguous row per feature
_VecNode = Callable[[_Cols, int], Column]  # (columns, row count) -> column


def _column_index(columns: Sequence[str], name: str) -> int:
    try:
        return list(columns).index(name)
    except ValueError:
        raise KeyError(f"feature {name!r} is not among the input columns") from None


# ------------------------------------------------------------------------------------ scalar


def compile_scalar(tree: Node, columns: Sequence[str] = FEATURE_NAMES) -> ScalarFn:
    """``tree`` as a function of one feature row (``row[j]`` is feature ``columns[j]``)."""
    return _scalar(tree, columns)


def _scalar(node: Node, columns: Sequence[str]) -> ScalarFn:
    # The hot path: arithmetic is inlined into the closure instead of calling the operator's
    # function (same IEEE operation, one call fewer per node).
    if isinstance(node, Const):
        value = node.value
        return lambda row: value
    if isinstance(node, FeatureRef):
        j = _column_index(columns, node.name)
        return lambda row: float(row[j])
    kids = [_scalar(a, columns) for a in node.args]
    name = node.op
    if name == "add":
        a, b = kids
        return lambda row: a(row) + b(row)
    if name == "sub":
        a, b = kids
        return lambda row: a(row) - b(row)
    if name == "mul":
        a, b = kids
        return lambda row: a(row) * b(row)
    if name == "neg":
        (a,) = kids
        return lambda row: -a(row)
    if name == "ifThenElse":
        cond, then, other = kids
        return lambda row: then(row) if cond(row) != 0.0 else other(row)
    fn = OPERATORS[name].scalar
    if len(kids) == 1:
        (a,) = kids
        return lambda row: fn(a(row))
    if len(kids) == 2:
        a, b = kids
        return lambda row: fn(a(row), b(row))
    return lambda row: fn(*(k(row) for k in kids))


# -------------------------------------------------------------------------------- vectorised


def compile_vector(tree: Node, columns: Sequence[str] = FEATURE_NAMES) -> VectorFn:
    """``tree`` as a function of a (rows, len(columns)) float64 matrix, one output per row."""
    width = len(columns)
    root = _vector(tree, columns)

    def evaluate(matrix: npt.NDArray[np.float64]) -> Column:
        data = np.asarray(matrix, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != width:
            raise ValueError(f"expected a (rows, {width}) matrix, got shape {data.shape}")
        # Contiguous columns: elementwise kernels on strided views are several times slower.
        cols = np.ascontiguousarray(data.T)
        with np.errstate(all="ignore"):  # inf and NaN are values here, as in the scalar path
            out = root(cols, data.shape[0])
        # A bare feature leaf returns a view of the input; never hand that out.
        return out.copy() if np.may_share_memory(out, cols) else out

    return evaluate


def _vector(node: Node, columns: Sequence[str]) -> _VecNode:
    if isinstance(node, Const):
        value = node.value
        return lambda cols, n: np.full(n, value)
    if isinstance(node, FeatureRef):
        j = _column_index(columns, node.name)
        return lambda cols, n: cols[j]
    kids = [_vector(a, columns) for a in node.args]
    fn = OPERATORS[node.op].vector
    if len(kids) == 1:
        (a,) = kids
        return lambda cols, n: fn(a(cols, n))
    if len(kids) == 2:
        a, b = kids
        return lambda cols, n: fn(a(cols, n), b(cols, n))
    return lambda cols, n: fn(*(k(cols, n) for k in kids))


# ------------------------------------------------------------------------------- strategies


@dataclass(frozen=True, slots=True)
class CompiledStrategy:
    """A document's two trees, compiled for one column layout."""

    document: StrategyDocument
    columns: tuple[str, ...]
    signal: ScalarFn
    size: ScalarFn
    signal_batch: VectorFn
    size_batch: VectorFn


def compile_strategy(
    doc: StrategyDocument, columns: Sequence[str] = FEATURE_NAMES
) -> CompiledStrategy:
    """Compile both trees of ``doc`` for rows laid out as ``columns``."""
    return CompiledStrategy(
        doc,
        tuple(columns),
        compile_scalar(doc.signal, columns),
        compile_scalar(doc.size, columns),
        compile_vector(doc.signal, columns),
        compile_vector(doc.size, columns),
    )
