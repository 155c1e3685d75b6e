"""The shared operator table: blueprint semantics and scalar == vectorised for every op."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from asnd.core.strategy import OPERATORS
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
    op = OPERATORS["protectedDiv"]
    assert op.scalar(a, b) == expected
    with np.errstate(all="ignore"):
        assert op.vector(np.array([a]), np.array([b]))[0] == expected


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


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_scalar_and_vector_agree_bit_for_bit_on_every_special_combination(name: str) -> None:
    op = OPERATORS[name]
    combos = list(itertools.product(SPECIAL_FLOATS, repeat=op.arity))
    columns = [np.array([c[i] for c in combos], dtype=np.float64) for i in range(op.arity)]
    with np.errstate(all="ignore"):
        vector = op.vector(*columns)
    for row, got in zip(combos, vector.tolist(), strict=True):
        assert same(op.scalar(*row), got), (name, row)


def test_tanh_scalar_and_vector_agree_on_a_large_sample() -> None:
    # numpy's tanh and libm's differ by an ulp on many inputs; both forms must use one.
    values = np.random.default_rng(3).normal(scale=4.0, size=20_000)
    values[::7] *= 1e-9
    vector = OPERATORS["tanh"].vector(values)
    scalar = [OPERATORS["tanh"].scalar(v) for v in values.tolist()]
    assert vector.tolist() == scalar
    strided = OPERATORS["tanh"].vector(np.repeat(values, 2)[::2])
    assert strided.tolist() == scalar


@pytest.mark.parametrize("name", ["min", "max"])
def test_min_max_take_the_zero_of_the_first_argument(name: str) -> None:
    op = OPERATORS[name]
    a = np.array([0.0, -0.0, 0.0, -0.0])
    b = np.array([-0.0, 0.0, 0.0, -0.0])
    got = op.vector(a, b)
    assert np.signbit(got).tolist() == np.signbit(a).tolist()
    assert [math.copysign(1, op.scalar(x, y)) for x, y in zip(a, b, strict=True)] == [
        1.0, -1.0, 1.0, -1.0
    ]  # fmt: skip
