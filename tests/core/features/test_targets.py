"""Forward returns over a horizon in book updates or in venue time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asnd.core.features import FeatureFrame, forward_returns, forward_returns_ms
from asnd.core.features.spec import FEATURE_NAMES


def frame(mid_x2: list[int], ts_ms: list[int]) -> FeatureFrame:
    n = len(mid_x2)
    return FeatureFrame(
        symbol="X",
        names=FEATURE_NAMES,
        values=np.zeros((n, len(FEATURE_NAMES))),
        mid_x2_ticks=np.array(mid_x2, dtype=np.int64),
        seq=np.arange(n, dtype=np.int64),
        ts_local_ns=np.zeros(n, dtype=np.int64),
        venue_ts_ms=np.array(ts_ms, dtype=np.int64),
    )


def test_forward_returns_over_rows_end_in_nan_where_the_data_ends() -> None:
    f = frame([200, 202, 204, 200], [0, 1, 2, 3])
    got = forward_returns(f, 2)
    assert got[:2].tolist() == [204 / 200 - 1, 200 / 202 - 1]
    assert all(math.isnan(x) for x in got[2:])
    assert np.isnan(forward_returns(f, 4)).all()


def test_forward_returns_over_time_use_the_first_update_at_or_after_the_horizon() -> None:
    f = frame([200, 202, 204, 210], [0, 5, 10, 30])
    got = forward_returns_ms(f, 10)
    assert got[:3].tolist() == [204 / 200 - 1, 210 / 202 - 1, 210 / 204 - 1]
    assert math.isnan(got[3])


def test_bad_horizons_and_unordered_time_are_errors() -> None:
    f = frame([200, 202], [5, 1])
    with pytest.raises(ValueError, match="horizon_rows"):
        forward_returns(f, 0)
    with pytest.raises(ValueError, match="horizon_ms"):
        forward_returns_ms(f, 0)
    with pytest.raises(ValueError, match="backwards"):
        forward_returns_ms(f, 10)
