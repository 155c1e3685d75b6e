"""``asnd.backtest.metrics`` and ``asnd.backtest.trades`` against figures worked out by hand
(or by the standard library's ``statistics``, an independent implementation)."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np
import pytest

from asnd.backtest.metrics import (
    annualisation,
    exposure,
    max_drawdown,
    returns,
    sharpe,
    sortino,
    trade_stats,
)
from asnd.backtest.trades import RoundTrip, RoundTrips
from asnd.core.instrument import E8, Instrument

S = 1_000_000_000


def ints(*values: int) -> np.ndarray:  # type: ignore[type-arg]
    return np.array(values, dtype=np.int64)


def test_a_minutes_long_run_is_not_annualised_and_says_why() -> None:
    year = annualisation(np.arange(0, 300 * S + 1, S, dtype=np.int64))
    assert (year.interval_s, year.factor) == (1.0, None)
    assert year.periods_per_year == 365 * 86400
    assert year.note == (
        "not annualised: the samples span 300 s, under 86400 s; ratios are per 1 s sample"
    )
    assert year.apply(0.5) is None


def test_annualisation_uses_the_actual_sampling_interval() -> None:
    ts = np.arange(0, 2 * 86400 * S + 1, 60 * S, dtype=np.int64)  # two days of minutes
    ts[5] += 7 * S  # one late sample does not move the median gap
    year = annualisation(ts)
    assert year.interval_s == 60.0
    assert year.factor == math.sqrt(525_600)
    assert year.note == "annualised from 60 s samples: x sqrt(525600 per year of 365 d)"
    assert year.apply(0.01) == pytest.approx(0.01 * math.sqrt(525_600))


def test_too_few_samples_give_no_ratios() -> None:
    year = annualisation(np.arange(0, 10 * S, S, dtype=np.int64))
    assert year.note == "not annualised: 9 returns (under 30)"
    r = returns(ints(*range(100, 120)))
    assert len(r) == 19
    assert sharpe(r) is None
    assert sortino(r) is None


def test_returns_are_simple_returns_between_samples() -> None:
    assert returns(ints(100, 110, 99, 0, 50)).tolist() == pytest.approx([0.1, -0.1, -1.0])


def test_sharpe_and_sortino_match_the_hand_formulas() -> None:
    r = [0.01, -0.005, 0.002, -0.012, 0.007] * 8
    mean = statistics.fmean(r)
    assert sharpe(np.array(r)) == pytest.approx(mean / statistics.stdev(r), rel=1e-12)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    assert sortino(np.array(r)) == pytest.approx(mean / downside, rel=1e-12)
    assert sharpe(np.full(40, 0.001)) is None, "no variation: no ratio"
    assert sortino(np.full(40, 0.001)) is None, "no downside: no ratio"


def test_max_drawdown_depth_and_duration_to_recovery() -> None:
    ts = ints(*(k * S for k in range(6)))
    dd = max_drawdown(ts, ints(10, 12, 9, 11, 12, 13))
    assert (dd.depth_e8, dd.depth_pct) == (3, 25.0)
    assert (dd.peak_ns, dd.trough_ns, dd.duration_ns, dd.recovered) == (S, 2 * S, 3 * S, True)
    open_dd = max_drawdown(ts, ints(12, 12, 8, 9, 10, 11))
    assert (open_dd.depth_e8, open_dd.peak_ns, open_dd.duration_ns) == (4, S, 4 * S)
    assert open_dd.recovered is False
    flat = max_drawdown(ts, ints(5, 5, 6, 7, 7, 8))
    assert (flat.depth_e8, flat.duration_ns, flat.recovered) == (0, 0, True)


def test_win_rate_and_profit_factor_of_net_trade_pnl() -> None:
    stats = trade_stats(ints(100, -50, 0, 30))
    assert (stats.count, stats.wins, stats.win_rate_pct) == (4, 2, 50.0)
    assert stats.profit_factor == pytest.approx(130 / 50)
    assert (stats.gross_profit_e8, stats.gross_loss_e8, stats.mean_net_e8) == (130, 50, 20.0)
    assert trade_stats(ints(5, 7)).profit_factor is None, "nothing lost: no factor"
    assert trade_stats(ints()).win_rate_pct is None


def test_exposure_is_the_mean_gross_share_of_equity_where_known() -> None:
    gross = np.array([0.0, 50.0, float("nan"), 100.0])
    assert exposure(gross, ints(100, 100, 100, 200)) == pytest.approx(100 * (0 + 0.5 + 0.5) / 3)
    assert exposure(np.array([float("nan")]), ints(100)) == 0.0


UNIT = Instrument("X", "1", "1")  # one tick-lot is one quote unit (1e8 e8)


def test_round_trips_are_fifo_with_partial_closes_a_flip_and_exact_fee_shares() -> None:
    trips = RoundTrips(UNIT)
    assert trips.fill(1, +1, 100, 3, 10) == []
    assert trips.fill(2, +1, 110, 2, 7) == []
    assert trips.fill(3, -1, 120, 4, 9) == [
        RoundTrip(+1, 1, 100, 3, 120, 3, 60 * E8, 10 + 9 * 3 // 4),
        RoundTrip(+1, 2, 110, 3, 120, 1, 10 * E8, 7 // 2 + (9 - 9 * 3 // 4)),
    ]
    assert trips.open_lots == 1
    flip = trips.fill(4, -1, 90, 3, 5)  # closes the last long lot, opens a short of 2
    assert flip == [RoundTrip(+1, 2, 110, 4, 90, 1, -20 * E8, (7 - 7 // 2) + 5 // 3)]
    assert trips.open_lots == -2
    assert trips.fill(5, +1, 95, 2, 2) == [RoundTrip(-1, 4, 90, 5, 95, 2, -10 * E8, 4 + 2)]
    assert trips.open_lots == 0


def test_round_trips_conserve_quantity_and_fees_on_random_fills() -> None:
    rng = random.Random(7)
    trips = RoundTrips(UNIT)
    position, fees, matched, closed = 0, 0, 0, []
    for ts in range(400):
        side, lots, fee = rng.choice((1, -1)), rng.randint(1, 9), rng.randint(-3, 40)
        closes = min(lots, abs(position)) if position * side < 0 else 0
        got = trips.fill(ts, side, rng.randint(90, 110), lots, fee)
        assert sum(t.qty_lots for t in got) == closes
        closed += got
        position += side * lots
        fees += fee
        matched += closes
        assert trips.open_lots == position
    while position:  # flatten: every fee ends up in some round trip
        side = -1 if position > 0 else 1
        closed += trips.fill(999, side, 100, abs(position), 0)
        position = 0
    assert sum(t.fees_e8 for t in closed) == fees
    assert sum(t.qty_lots for t in closed) == matched + sum(
        t.qty_lots for t in closed if t.exit_ns == 999
    )
