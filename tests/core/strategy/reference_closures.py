"""The closures the kernel stack machine replaced (asnd/core/strategy/compile.py and
operators.py before issue 15), kept only as the reference of the differential tests.

Their ``tanh`` is numpy's (``np.tanh`` in both forms); the kernel's is ``mathfn.tanh``. Every
other operator is the same IEEE arithmetic, so the machine must match these bit for bit on
any tree without ``tanh``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy.document import Const, FeatureRef, Node

Column: TypeAlias = npt.NDArray[np.float64]
ScalarFn = Callable[[Sequence[float]], float]
VectorFn = Callable[[npt.NDArray[np.float64]], Column]
_Cols = npt.NDArray[np.float64]
_VecNode = Callable[[_Cols, int], Column]
Table: TypeAlias = "Mapping[str, Operator]"


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    arity: int
    scalar: Callable[..., float]
    vector: Callable[..., Column]


# ------------------------------------------------------------------------------ scalar forms


def _add(a: float, b: float) -> float:
    return a + b


def _sub(a: float, b: float) -> float:
    return a - b


def _mul(a: float, b: float) -> float:
    return a * b


def _neg(a: float) -> float:
    return -a


def _protected_div(a: float, b: float) -> float:
    if b == 0.0:
        return 1.0
    q = a / b
    return q if math.isfinite(q) else 1.0


def _if_then_else(cond: float, then: float, other: float) -> float:
    return then if cond != 0.0 else other


def _min(a: float, b: float) -> float:
    return a if (a <= b or math.isnan(a)) else b


def _max(a: float, b: float) -> float:
    return a if (a >= b or math.isnan(a)) else b


def _abs(a: float) -> float:
    return abs(a)


def _tanh(a: float) -> float:
    return float(np.tanh(a))


def _lt(a: float, b: float) -> float:
    return 1.0 if a < b else 0.0


def _gt(a: float, b: float) -> float:
    return 1.0 if a > b else 0.0


# ------------------------------------------------------------------------------ vector forms
# The caller runs these under np.errstate(all="ignore"): overflow to inf is a value here.


def _v_add(a: Column, b: Column) -> Column:
    return a + b


def _v_sub(a: Column, b: Column) -> Column:
    return a - b


def _v_mul(a: Column, b: Column) -> Column:
    return a * b


def _v_neg(a: Column) -> Column:
    return -a


def _v_protected_div(a: Column, b: Column) -> Column:
    q: Column = a / b
    # a / 0 is always inf or NaN, so one finiteness test covers division by zero.
    q[~np.isfinite(q)] = 1.0
    return q


def _v_if_then_else(cond: Column, then: Column, other: Column) -> Column:
    return np.where(cond != 0.0, then, other)


def _v_min(a: Column, b: Column) -> Column:
    # np.minimum propagates NaN; only the sign of an equal zero is left to settle. (np.where
    # on a random mask is 15x slower: its inner loop mispredicts branches.)
    return _zero_from_a(np.minimum(a, b), a, b)


def _v_max(a: Column, b: Column) -> Column:
    return _zero_from_a(np.maximum(a, b), a, b)


def _zero_from_a(out: Column, a: Column, b: Column) -> Column:
    zeros = (a == 0.0) & (b == 0.0)
    if zeros.any():
        np.copyto(out, a, where=zeros)
    return out


def _v_abs(a: Column) -> Column:
    return np.abs(a)


def _v_tanh(a: Column) -> Column:
    # Contiguous input keeps numpy on the same kernel as the scalar form (a strided view
    # may fall back to libm).
    return np.tanh(np.ascontiguousarray(a))


def _v_lt(a: Column, b: Column) -> Column:
    return (a < b).astype(np.float64)


def _v_gt(a: Column, b: Column) -> Column:
    return (a > b).astype(np.float64)


def _table(*ops: Operator) -> Mapping[str, Operator]:
    return MappingProxyType({op.name: op for op in ops})


def with_tanh(scalar: Callable[[float], float], vector: Callable[[Column], Column]) -> Table:
    """The old table with another ``tanh`` (the kernel's), everything else unchanged."""
    return _table(
        *(op for op in OPERATORS.values() if op.name != "tanh"), Operator("tanh", 1, scalar, vector)
    )


OPERATORS: Mapping[str, Operator] = _table(
    Operator("add", 2, _add, _v_add),
    Operator("sub", 2, _sub, _v_sub),
    Operator("mul", 2, _mul, _v_mul),
    Operator("neg", 1, _neg, _v_neg),
    Operator("protectedDiv", 2, _protected_div, _v_protected_div),
    Operator("ifThenElse", 3, _if_then_else, _v_if_then_else),
    Operator("min", 2, _min, _v_min),
    Operator("max", 2, _max, _v_max),
    Operator("abs", 1, _abs, _v_abs),
    Operator("tanh", 1, _tanh, _v_tanh),
    Operator("lt", 2, _lt, _v_lt),
    Operator("gt", 2, _gt, _v_gt),
)


def _column_index(columns: Sequence[str], name: str) -> int:
    try:
        return list(columns).index(name)
    except ValueError:
        raise KeyError(f"feature {name!r} is not among the input columns") from None


# ------------------------------------------------------------------------------------ scalar


def compile_scalar(
    tree: Node, columns: Sequence[str] = FEATURE_NAMES, table: Table | None = None
) -> ScalarFn:
    """``tree`` as a function of one feature row (``row[j]`` is feature ``columns[j]``)."""
    return _scalar(tree, columns, OPERATORS if table is None else table)


def _scalar(node: Node, columns: Sequence[str], table: Table) -> ScalarFn:
    # The hot path: arithmetic is inlined into the closure instead of calling the operator's
    # function (same IEEE operation, one call fewer per node).
    if isinstance(node, Const):
        value = node.value
        return lambda row: value
    if isinstance(node, FeatureRef):
        j = _column_index(columns, node.name)
        return lambda row: float(row[j])
    kids = [_scalar(a, columns, table) for a in node.args]
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
    fn = table[name].scalar
    if len(kids) == 1:
        (a,) = kids
        return lambda row: fn(a(row))
    if len(kids) == 2:
        a, b = kids
        return lambda row: fn(a(row), b(row))
    return lambda row: fn(*(k(row) for k in kids))


# -------------------------------------------------------------------------------- vectorised


def compile_vector(
    tree: Node, columns: Sequence[str] = FEATURE_NAMES, table: Table | None = None
) -> VectorFn:
    """``tree`` as a function of a (rows, len(columns)) float64 matrix, one output per row."""
    width = len(columns)
    root = _vector(tree, columns, OPERATORS if table is None else table)

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


def _vector(node: Node, columns: Sequence[str], table: Table) -> _VecNode:
    if isinstance(node, Const):
        value = node.value
        return lambda cols, n: np.full(n, value)
    if isinstance(node, FeatureRef):
        j = _column_index(columns, node.name)
        return lambda cols, n: cols[j]
    kids = [_vector(a, columns, table) for a in node.args]
    fn = table[node.op].vector
    if len(kids) == 1:
        (a,) = kids
        return lambda cols, n: fn(a(cols, n))
    if len(kids) == 2:
        a, b = kids
        return lambda cols, n: fn(a(cols, n), b(cols, n))
    return lambda cols, n: fn(*(k(cols, n) for k in kids))
