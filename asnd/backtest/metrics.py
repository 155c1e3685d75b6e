"""Performance statistics of one backtest slot: pure functions of numpy arrays (no I/O, no
clock), so every figure in a report can be recomputed by hand from ``equity.csv`` and
``trades.csv``.

Conventions (empyrical's, the statistics library behind zipline and pyfolio, so the figures
compare with what a quant already uses; the formulas are kept here, in a few lines each, because
empyrical-reloaded would bring pandas, scipy, bottleneck and peewee into the backtest for a
dozen lines of numpy. Checked once by hand against empyrical-reloaded 0.7.1 on 500 random
returns: Sharpe, Sortino and max drawdown agree to 1e-14; the tests pin the formulas against
hand-computed and ``statistics`` values):

- returns are simple returns between consecutive equity samples, ``e_i / e_{i-1} - 1``;
- Sharpe is ``mean(r) / std(r, ddof=1)``, Sortino ``mean(r) / sqrt(mean(min(r, 0)^2))``
  (downside deviation over *all* samples), both without a risk-free rate;
- annualised by ``sqrt(periods per year)``, a period being the *actual* sampling interval
  (the median gap between samples) and a year 365 days (crypto trades every day). A series
  spanning less than ``MIN_ANNUALISE_S`` (one day) or with fewer than ``MIN_RETURNS`` returns is
  not annualised: the per-sample figure is reported and the annualised one is ``None`` with
  the reason, since three minutes of 1 s returns times sqrt(31.5 million) says nothing about
  a year;
- max drawdown is the largest fall from a running peak; its duration runs from that peak to
  the first later time equity is back at the peak (or to the end of the run, ``recovered``
  false);
- a trade wins when its PnL net of fees is positive; profit factor is the winners' net PnL
  over the losers' (``None`` when nothing lost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_ANNUALISE_S",
    "MIN_RETURNS",
    "Annualisation",
    "Drawdown",
    "TradeStats",
    "annualisation",
    "exposure",
    "max_drawdown",
    "returns",
    "sharpe",
    "sortino",
    "trade_stats",
]

YEAR_S: Final = 365 * 24 * 3600
#: Shortest span of samples that is annualised (one day).
MIN_ANNUALISE_S: Final = 24 * 3600
#: Fewest returns a ratio is computed from at all.
MIN_RETURNS: Final = 30

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Annualisation:
    """How per-sample ratios become yearly ones, and the sentence that says so."""

    interval_s: float | None  # median gap between samples
    periods_per_year: float | None
    factor: float | None  # sqrt(periods per year); None: not annualised
    note: str

    def apply(self, per_sample: float | None) -> float | None:
        if per_sample is None or self.factor is None:
            return None
        return per_sample * self.factor


def _seconds(s: float) -> str:
    return f"{s:g} s"


def annualisation(ts_ns: Ints, *, min_span_s: float = MIN_ANNUALISE_S) -> Annualisation:
    """The annualisation of ratios computed on samples taken at ``ts_ns`` (sorted)."""
    if len(ts_ns) < MIN_RETURNS + 1:
        return Annualisation(
            None, None, None, f"not annualised: {max(len(ts_ns) - 1, 0)} returns (under "
            f"{MIN_RETURNS})",
        )  # fmt: skip
    gaps = np.diff(ts_ns)
    interval = float(np.median(gaps)) / 1e9
    span = float(ts_ns[-1] - ts_ns[0]) / 1e9
    periods = YEAR_S / interval
    if span < min_span_s:
        return Annualisation(
            interval, periods, None,
            f"not annualised: the samples span {_seconds(round(span, 3))}, under "
            f"{_seconds(min_span_s)}; ratios are per {_seconds(interval)} sample",
        )  # fmt: skip
    return Annualisation(
        interval, periods, math.sqrt(periods),
        f"annualised from {_seconds(interval)} samples: x sqrt({periods:.0f} per year of 365 d)",
    )  # fmt: skip


def returns(equity: Ints) -> Floats:
    """Simple returns between consecutive samples (a sample at or below zero starts none)."""
    e = equity.astype(np.float64)
    prev, cur = e[:-1], e[1:]
    ok = prev > 0
    return np.asarray((cur[ok] - prev[ok]) / prev[ok], dtype=np.float64)


def sharpe(r: Floats) -> float | None:
    """Per-sample Sharpe ratio; ``None`` for too few returns or no variation."""
    if len(r) < MIN_RETURNS:
        return None
    std = float(np.std(r, ddof=1))
    if std <= 1e-15:
        return None
    return float(np.mean(r)) / std


def sortino(r: Floats) -> float | None:
    """Per-sample Sortino ratio; ``None`` for too few returns or no downside at all."""
    if len(r) < MIN_RETURNS:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside <= 1e-15:
        return None
    return float(np.mean(r)) / downside


@dataclass(frozen=True, slots=True)
class Drawdown:
    depth_e8: int  # peak minus trough, in quote * 1e8
    depth_pct: float  # of the peak
    peak_ns: int | None
    trough_ns: int | None
    duration_ns: int  # peak to recovery, or to the end of the series when not recovered
    recovered: bool


def max_drawdown(ts_ns: Ints, equity: Ints) -> Drawdown:
    """The deepest fall from a running peak of ``equity`` (sampled at ``ts_ns``)."""
    if len(equity) == 0:
        return Drawdown(0, 0.0, None, None, 0, True)
    peaks = np.maximum.accumulate(equity)
    falls = peaks - equity
    trough = int(np.argmax(falls))
    depth = int(falls[trough])
    if depth == 0:
        return Drawdown(0, 0.0, None, None, 0, True)
    peak_value = int(peaks[trough])
    peak = int(np.flatnonzero(equity[: trough + 1] == peak_value)[-1])
    back = np.flatnonzero(equity[trough:] >= peak_value)
    recovered = len(back) > 0
    end_ns = int(ts_ns[trough + int(back[0])]) if recovered else int(ts_ns[-1])
    return Drawdown(
        depth,
        100.0 * depth / peak_value if peak_value > 0 else 0.0,
        int(ts_ns[peak]),
        int(ts_ns[trough]),
        end_ns - int(ts_ns[peak]),
        recovered,
    )


def exposure(notional_e8: Floats, equity: Ints) -> float:
    """Mean gross exposure over the samples, in % of equity (|position| x mid / equity);
    samples with no equity or no mid are left out (``notional_e8`` NaN)."""
    ok = (equity > 0) & ~np.isnan(notional_e8)
    if not ok.any():
        return 0.0
    return float(np.mean(np.abs(notional_e8[ok]) / equity[ok])) * 100.0


@dataclass(frozen=True, slots=True)
class TradeStats:
    count: int
    wins: int
    win_rate_pct: float | None
    profit_factor: float | None
    gross_profit_e8: int
    gross_loss_e8: int  # as a positive amount
    mean_net_e8: float | None


def trade_stats(net_e8: Ints) -> TradeStats:
    """Win rate and profit factor of closed trades' net PnL (``net_e8``)."""
    n = len(net_e8)
    if n == 0:
        return TradeStats(0, 0, None, None, 0, 0, None)
    wins = net_e8[net_e8 > 0]
    profit = int(wins.sum())
    loss = int(-net_e8[net_e8 < 0].sum())
    return TradeStats(
        n,
        len(wins),
        100.0 * len(wins) / n,
        profit / loss if loss > 0 else None,
        profit,
        loss,
        float(np.mean(net_e8)),
    )
