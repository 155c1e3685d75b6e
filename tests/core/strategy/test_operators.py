"""The shared operator table: blueprint semantics, and the kernel's operators per row and
over columns equal to the closures they replaced on every special combination."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from asnd.core.strategy import OPERATORS, Call, FeatureRef, compile_scalar, compile_vector
from tests.core.strategy import reference_closures as ref
from tests.core.strategy.trees import SPECIAL_FLOATS


def same(a: float, b: float) -> bool:
    """Bit-identical, or both NaN (NaN payloads carry no meaning)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return np.float64(a).tobytes() == np.float64(b).tobytes()


def test_blueprint_operators_are_present_with_their_arities() -> None:
    arities = {name: op.arity for name, op in OPERATORS.items()}
    assert arities["add"] == arities["sub"] == arities["mul"] == arities["protectedDiv"] == 2
    assert arities["neg"] == 1
    assert arities["ifThenElse"] == 3
    assert {"min", "max", "abs", "tanh", "lt", "gt"} <= arities.keys()
    assert all(op.doc for op in OPERATORS.values())


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (6.0, 3.0, 2.0),
        (1.0, 0.0, 1.0),
        (-1.0, -0.0, 1.0),
        (0.0, 0.0, 1.0),
        (1e308, 1e-308, 1.0),  # overflows to inf
        (math.inf, 2.0, 1.0),
        (math.nan, 2.0, 1.0),
        (-3.0, 2.0, -1.5),
    ],
)
def test_protected_div_is_one_where_the_quotient_is_not_finite(
    a: float, b: float, expected: float
) -> None:
    assert OPERATORS["protectedDiv"].scalar(a, b) == expected
    tree = Call("protectedDiv", (FeatureRef("imbalance"), FeatureRef("pressure")))
    assert compile_vector(tree, ("imbalance", "pressure"))(np.array([[a, b]]))[0] == expected


def test_if_then_else_takes_the_first_branch_on_non_zero_including_nan() -> None:
    op = OPERATORS["ifThenElse"]
    assert op.scalar(2.0, 10.0, 20.0) == 10.0
    assert op.scalar(0.0, 10.0, 20.0) == 20.0
    assert op.scalar(-0.0, 10.0, 20.0) == 20.0
    assert op.scalar(math.nan, 10.0, 20.0) == 10.0


def test_min_max_propagate_nan_from_either_side() -> None:
    for name in ("min", "max"):
        op = OPERATORS[name]
        assert math.isnan(op.scalar(math.nan, 1.0))
        assert math.isnan(op.scalar(1.0, math.nan))
    assert OPERATORS["min"].scalar(1.0, 2.0) == 1.0
    assert OPERATORS["max"].scalar(1.0, 2.0) == 2.0


def test_comparisons_return_one_or_zero() -> None:
    assert OPERATORS["lt"].scalar(1.0, 2.0) == 1.0
    assert OPERATORS["lt"].scalar(2.0, 1.0) == 0.0
    assert OPERATORS["gt"].scalar(math.nan, 1.0) == 0.0


_ARGS = ("imbalance", "pressure", "clv")


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_kernel_operators_equal_the_old_closures_on_every_special_combination(name: str) -> None:
    op = OPERATORS[name]
    combos = list(itertools.product(SPECIAL_FLOATS, repeat=op.arity))
    columns = _ARGS[: op.arity]
    matrix = np.array(combos, dtype=np.float64).reshape(len(combos), op.arity)
    tree = Call(name, tuple(FeatureRef(c) for c in columns))
    over_columns = compile_vector(tree, columns)(matrix).tolist()
    per_row = [compile_scalar(tree, columns)(row) for row in combos]
    old = ref.OPERATORS[name]
    with np.errstate(all="ignore"):
        old_vector = old.vector(*(matrix[:, i].copy() for i in range(op.arity))).tolist()
    for row, got, live, old_v in zip(combos, over_columns, per_row, old_vector, strict=True):
        assert same(got, live), (name, row)
        assert same(op.scalar(*row), got), (name, row)
        if name == "tanh":  # numpy's before, fdlibm's on expm1 now: within an ulp of libm
            assert got == pytest.approx(math.tanh(row[0]), rel=2.3e-16, nan_ok=True)
        else:
            assert same(old.scalar(*row), got), (name, row)
            assert same(old_v, got), (name, row)


@pytest.mark.parametrize("name", ["min", "max"])
def test_min_max_take_the_zero_of_the_first_argument(name: str) -> None:
    op = OPERATORS[name]
    a = [0.0, -0.0, 0.0, -0.0]
    b = [-0.0, 0.0, 0.0, -0.0]
    tree = Call(name, (FeatureRef("imbalance"), FeatureRef("pressure")))
    got = compile_vector(tree, ("imbalance", "pressure"))(np.array([a, b]).T)
    assert np.signbit(got).tolist() == np.signbit(a).tolist()
    assert [math.copysign(1, op.scalar(x, y)) for x, y in zip(a, b, strict=True)] == [
        1.0, -1.0, 1.0, -1.0
    ]  # fmt: skip
