"""The one operator table of GP strategies, shared by the daemon and the evolution package.

Every operator has a scalar implementation (one decision per market event) and a numpy one
(a whole feature matrix at once). The two are written so that they give *identical* floats
for every input, including zeros, infinities and NaN, because a strategy that is evolved on
vectorised backtests must make the same decisions live. Rules that make that hold:

- Only IEEE-754 basic operations (+, -, *, /, comparisons) are used on both sides; numpy and
  CPython round those identically.
- ``tanh`` is the one transcendental. numpy's SIMD ``tanh`` differs from libm's
  (``math.tanh``) by an ulp on about a quarter of inputs, and mapping ``math.tanh`` over a
  column is 100x slower than numpy; so *both* forms call numpy's ufunc, on contiguous data
  (for a scalar the same inner loop runs with n = 1). The tests check the agreement.
- ``min``/``max`` are defined on both sides as: NaN if either is NaN, else the smaller
  (larger), and ``a`` when they are equal (which decides only the sign of a zero). Never the
  builtins, whose NaN handling depends on argument order.
- ``protectedDiv`` returns 1.0 wherever the quotient would be a division by zero, an infinity
  or NaN (the blueprint's rule), so a tree never produces an inf from a division.

Other operations may still overflow to inf or produce NaN (``mul(0, inf)``); the decision
mapping treats a non-finite output as "no trade".

Comparisons return 1.0 (true) or 0.0 (false), so they compose with ``ifThenElse``, which takes
its first branch when the condition is non-zero (NaN is non-zero, as in the blueprint).

Evolution builds its primitive set from ``OPERATORS`` (name, arity, ``scalar``), so both sides
agree by construction. Keep the set small: each operator widens the search space.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["OPERATORS", "Column", "Operator"]

#: A float64 column of the feature matrix (one value per row).
Column: TypeAlias = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Operator:
    """A GP primitive: ``scalar`` on floats, ``vector`` on equal-length float64 columns.

    Call ``vector`` under ``np.errstate(all="ignore")`` (``compile_vector`` does): overflow
    and division by zero are expected values here, not warnings. Give ``scalar`` Python floats
    (``compile_scalar`` converts its inputs): numpy scalars warn on overflow.
    """

    name: str
    arity: int
    scalar: Callable[..., float]
    vector: Callable[..., Column]
    doc: str


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


#: Name -> operator. The names are the blueprint's (``protectedDiv``, ``ifThenElse``) so its
#: files load unchanged.
OPERATORS: Mapping[str, Operator] = _table(
    Operator("add", 2, _add, _v_add, "a + b"),
    Operator("sub", 2, _sub, _v_sub, "a - b"),
    Operator("mul", 2, _mul, _v_mul, "a * b"),
    Operator("neg", 1, _neg, _v_neg, "-a"),
    Operator(
        "protectedDiv",
        2,
        _protected_div,
        _v_protected_div,
        "a / b, or 1.0 where b == 0 or the quotient is inf or NaN",
    ),
    Operator(
        "ifThenElse",
        3,
        _if_then_else,
        _v_if_then_else,
        "then if cond != 0 (NaN counts as non-zero) else other",
    ),
    Operator("min", 2, _min, _v_min, "the smaller of a and b; NaN if either is NaN"),
    Operator("max", 2, _max, _v_max, "the larger of a and b; NaN if either is NaN"),
    Operator("abs", 1, _abs, _v_abs, "|a|"),
    Operator("tanh", 1, _tanh, _v_tanh, "hyperbolic tangent: squashes a into (-1, 1)"),
    Operator("lt", 2, _lt, _v_lt, "1.0 if a < b else 0.0 (0.0 when either is NaN)"),
    Operator("gt", 2, _gt, _v_gt, "1.0 if a > b else 0.0 (0.0 when either is NaN)"),
)
