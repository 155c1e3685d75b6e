"""Forward returns: what evolution asks a strategy to anticipate.

The return of row i over a horizon is ``mid[j] / mid[i] - 1`` where j is the row the horizon
reaches; NaN where the data ends before the horizon does (never a made-up zero).
"""

from __future__ import annotations

import numpy as np

from asnd.core.features.frame import FeatureFrame, Floats

__all__ = ["forward_returns", "forward_returns_ms"]


def forward_returns(frame: FeatureFrame, horizon_rows: int) -> Floats:
    """Return from each row to the row ``horizon_rows`` later (book updates, not time)."""
    if horizon_rows < 1:
        raise ValueError("horizon_rows must be at least 1")
    mid = frame.mid_x2_ticks.astype(np.float64)  # twice the mid: the factor 2 cancels
    out = np.full(mid.size, np.nan)
    if mid.size > horizon_rows:
        out[:-horizon_rows] = mid[horizon_rows:] / mid[:-horizon_rows] - 1.0
    return out


def forward_returns_ms(frame: FeatureFrame, horizon_ms: int) -> Floats:
    """Return from each row to the first row whose venue time is at least ``horizon_ms``
    later (the first book update at or after the horizon)."""
    if horizon_ms < 1:
        raise ValueError("horizon_ms must be at least 1")
    ts = frame.venue_ts_ms
    if ts.size > 1 and bool(np.any(np.diff(ts) < 0)):
        raise ValueError("venue timestamps go backwards: cannot use a time horizon")
    mid = frame.mid_x2_ticks.astype(np.float64)
    target = np.searchsorted(ts, ts + horizon_ms, side="left")
    out = np.full(mid.size, np.nan)
    ok = target < mid.size
    out[ok] = mid[target[ok]] / mid[ok] - 1.0
    return out
