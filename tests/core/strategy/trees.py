"""Hypothesis strategies for GP trees and feature matrices (shared by the strategy tests)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy import OPERATORS, Call, Const, FeatureRef, Node

#: Values that break naive float code: zeros of both signs, huge, tiny, subnormal, non-finite.
SPECIAL_FLOATS: tuple[float, ...] = (
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1e308,
    -1e308,
    1.7976931348623157e308,
    1e-308,
    -1e-308,
    5e-324,
    1e-12,
    1e12,
    math.inf,
    -math.inf,
    math.nan,
)

finite_consts = st.one_of(
    st.sampled_from([v for v in SPECIAL_FLOATS if math.isfinite(v)]),
    st.floats(allow_nan=False, allow_infinity=False),
)

leaves: st.SearchStrategy[Node] = st.one_of(
    st.builds(FeatureRef, st.sampled_from(FEATURE_NAMES)),
    st.builds(Const, finite_consts),
)


def _calls(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.sampled_from(sorted(OPERATORS)).flatmap(
        lambda name: st.lists(
            children, min_size=OPERATORS[name].arity, max_size=OPERATORS[name].arity
        ).map(lambda args: Call(name, tuple(args)))
    )


#: Random valid trees (well inside the depth and size limits).
trees: st.SearchStrategy[Node] = st.recursive(leaves, _calls, max_leaves=40)

#: Larger trees, towards validate.py's limits (filter on them: a few exceed the depth).
big_trees: st.SearchStrategy[Node] = st.recursive(leaves, _calls, max_leaves=250)

feature_values = st.one_of(
    st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True)
)


@st.composite
def matrices(draw: st.DrawFn, max_rows: int = 12) -> npt.NDArray[np.float64]:
    rows = draw(st.integers(1, max_rows))
    values = draw(
        st.lists(
            feature_values, min_size=rows * len(FEATURE_NAMES), max_size=rows * len(FEATURE_NAMES)
        )
    )
    return np.array(values, dtype=np.float64).reshape(rows, len(FEATURE_NAMES))
