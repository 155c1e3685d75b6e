"""The kernel's one ``tanh``: within an ulp of libm's, the same jitted and as plain Python."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.kernel.mathfn import tanh
from asnd.core.kernel.strategy import run_columns, run_rows
from asnd.core.strategy import Call, FeatureRef
from asnd.core.strategy.compile import compile_program
from tests.core.kernel.jit_mode import examples
from tests.core.strategy.test_operators import same
from tests.core.strategy.trees import SPECIAL_FLOATS

Floats = npt.NDArray[np.float64]

#: Where the algorithm switches formula or saturates, and their neighbours.
_EDGES = (2.0**-55, 1.0, 22.0, 19.06154746539849, 0.5493061443340549)


def _sample() -> Floats:
    rng = np.random.default_rng(11)
    scales = (1e-300, 1e-17, 1e-9, 1e-3, 0.3, 1.0, 3.0, 10.0, 30.0, 1e300)
    parts = [rng.normal(scale=s, size=4000) for s in scales]
    edges = [np.nextafter(e, d) for e in _EDGES for d in (0.0, np.inf)] + list(_EDGES)
    parts.append(np.array(edges + list(SPECIAL_FLOATS) + [2.0**-1074, 2.0**-1022]))
    values = np.concatenate(parts)
    return np.concatenate([values, -values])


def _ulps(a: float, b: float) -> int:
    """Distance in units in the last place (0 for equal values, NaN == NaN)."""
    if math.isnan(a) or math.isnan(b):
        return 0 if math.isnan(a) and math.isnan(b) else 1 << 62
    ia = int(np.float64(a).view(np.int64))
    ib = int(np.float64(b).view(np.int64))
    # Map the sign-magnitude bit patterns onto one monotonic integer line.
    ia = ia if ia >= 0 else -(ia & 0x7FFFFFFFFFFFFFFF)
    ib = ib if ib >= 0 else -(ib & 0x7FFFFFFFFFFFFFFF)
    return abs(ia - ib)


def test_tanh_is_within_one_ulp_of_libm_on_a_wide_sample() -> None:
    values = _sample().tolist()
    worst = max(_ulps(tanh(v), math.tanh(v)) for v in values)
    assert worst <= 1


@settings(max_examples=examples(2000), deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_tanh_is_within_one_ulp_of_libm_on_any_float(x: float) -> None:
    assert _ulps(tanh(x), math.tanh(x)) <= 1


def test_tanh_edge_cases_are_exact() -> None:
    assert same(tanh(0.0), 0.0)
    assert same(tanh(-0.0), -0.0)
    assert math.isnan(tanh(math.nan))
    assert tanh(math.inf) == 1.0
    assert tanh(-math.inf) == -1.0
    assert tanh(1e308) == 1.0
    assert same(tanh(-5e-324), -5e-324)
    assert tanh(22.0) == 1.0
    assert -1.0 < tanh(-19.0) < -0.99


def test_jitted_tanh_equals_its_plain_python_source() -> None:
    plain = getattr(tanh, "py_func", tanh)  # the same function under NUMBA_DISABLE_JIT=1
    for v in _sample().tolist():
        assert same(tanh(v), plain(v)), v


def test_tanh_in_the_machine_is_the_same_per_row_and_over_columns() -> None:
    # The vector path used numpy's tanh, the scalar one too; both now run mathfn.tanh.
    values = _sample()
    matrix = np.ascontiguousarray(np.stack([values, values[::-1]], axis=1))
    tree = Call("tanh", (Call("sub", (FeatureRef("imbalance"), FeatureRef("pressure"))),))
    p = compile_program([tree], ("imbalance", "pressure"))
    cols = run_columns(p.code, p.consts, p.features, p.stack_depth, p.outputs, matrix)[0]
    rows = run_rows(p.code, p.consts, p.features, p.outputs, matrix)[0]
    assert cols.tobytes() == rows.tobytes()
    expected = [tanh(a - b) for a, b in matrix.tolist()]
    assert all(same(x, y) for x, y in zip(cols.tolist(), expected, strict=True))
