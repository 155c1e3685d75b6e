"""The per-slot figures of ``report.json``, from a finished ``SlotRecord``
(``asnd.backtest.metrics`` says how each is computed), with buy-and-hold beside them.

Money is an exact decimal string (``money``) with its ``*_e8`` integer where a program would
add it up; ratios are rounded to 4 decimals; a figure that cannot be computed is ``None``
(``sharpe`` when the run is too short to annualise: ``sharpe_per_sample`` still says it).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from asnd.backtest.metrics import (
    Annualisation,
    Drawdown,
    Ints,
    annualisation,
    exposure,
    max_drawdown,
    returns,
    sharpe,
    sortino,
    trade_stats,
)
from asnd.backtest.record import EQUITY_STEP_NS, Recorder, SlotRecord, mid_text, money
from asnd.core.instrument import Instrument
from journal.decimals import Scale
from journal.texts import utc_text

__all__ = ["SUMMARY_HEAD", "annualisation_of", "run_figures", "slot_report", "summary_row"]


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _seconds(ns: int | None) -> float | None:
    return None if ns is None else round(ns / 1e9, 3)


def annualisation_of(sample_ns: Any) -> Annualisation:
    """The annualisation of a run sampled at ``sample_ns`` (the recorder's grid)."""
    return annualisation(_ints(sample_ns))


def _equity_figures(
    final_e8: int, capital_e8: int, dd: Drawdown, samples: Ints, year: Annualisation
) -> dict[str, Any]:
    """What the slot and its buy-and-hold share: PnL, return, drawdown, ratios."""
    pnl = final_e8 - capital_e8
    r = returns(samples)
    per_sharpe, per_sortino = sharpe(r), sortino(r)
    return {
        "equity": money(final_e8),
        "pnl": money(pnl),
        "pnl_e8": pnl,
        "return_pct": round(100 * pnl / capital_e8, 4),
        "max_drawdown": money(dd.depth_e8),
        "max_drawdown_e8": dd.depth_e8,
        "max_drawdown_pct": round(dd.depth_pct, 4),
        "max_drawdown_duration_s": _seconds(dd.duration_ns),
        "max_drawdown_recovered": dd.recovered,
        "sharpe": _r(year.apply(per_sharpe)),
        "sortino": _r(year.apply(per_sortino)),
        "sharpe_per_sample": _r(per_sharpe, 6),
        "sortino_per_sample": _r(per_sortino, 6),
    }


def _ints(values: Any) -> Ints:
    return np.asarray(values, dtype=np.int64)


def slot_report(
    r: SlotRecord, instrument: Instrument | None, span_ns: int, year: Annualisation
) -> dict[str, Any]:
    """``r``'s figures for ``report.json`` (``span_ns``: the run's event time)."""
    sample_ts, samples = _ints(r.sample_ns), _ints(r.sample_e8)
    # The slot's drawdown is measured on the samples and after every fill: it misses no dip.
    dd = max_drawdown(_ints(r.mark_ns), _ints(r.mark_e8))
    figures = _equity_figures(r.equity_e8, r.capital_e8, dd, samples, year)
    trades = trade_stats(np.asarray(r.trade_net_e8, dtype=np.int64))
    lots = Scale(instrument.lot_size) if instrument is not None else None
    hold: dict[str, Any] | None = None
    held = _ints(r.buy_hold_e8)
    if r.buy_hold is not None and lots is not None and instrument is not None and len(held):
        hold = {
            "qty": lots.text(r.buy_hold.qty_lots),
            "entry_price": _mid(instrument, r.buy_hold.entry_mid2),
            **_equity_figures(
                int(held[-1]), r.capital_e8, max_drawdown(sample_ts, held), held, year
            ),
        }
    return {
        "slot": r.slot,
        "symbol": r.symbol,
        "strategy": r.strategy_id,
        "capital": money(r.capital_e8),
        **figures,
        "fills": r.fills,
        "maker_fills": r.maker_fills,
        "fees": money(r.fees_e8),
        "fees_e8": r.fees_e8,
        "traded_notional": money(r.traded_e8),
        "turnover": round(r.traded_e8 / r.capital_e8, 4),
        "round_trips": trades.count,
        "win_rate_pct": _r(trades.win_rate_pct),
        "profit_factor": _r(trades.profit_factor),
        "avg_trade_pnl": None if trades.mean_net_e8 is None else money(int(trades.mean_net_e8)),
        "open_position": lots.text(r.position_lots) if lots is not None else "0",
        "time_to_2x_s": _seconds(r.doubled_after_ns),
        "time_in_market_pct": round(100 * r.in_market_ns / span_ns, 4) if span_ns else 0.0,
        "exposure_pct": round(
            exposure(np.asarray(r.sample_gross_e8, dtype=np.float64), samples), 4
        ),
        "buy_hold": hold,
    }


def run_figures(recorder: Recorder, instruments: dict[str, Instrument]) -> dict[str, Any]:
    """The report's time span, ``sampling`` (how every figure was computed) and ``slots``."""
    year = annualisation_of(recorder.sample_ns)
    slots = [
        slot_report(r, instruments.get(r.symbol), recorder.span_ns, year) for r in recorder.slots
    ]
    periods = year.periods_per_year
    return {
        "sampling": {
            "equity_step_s": EQUITY_STEP_NS / 1e9,
            "samples": recorder.samples,
            "interval_s": year.interval_s,
            "periods_per_year": None if periods is None else round(periods),
            "annualised": year.factor is not None,
            "annualisation": year.note,
            "equity_mark": "conservative (long at the bid, short at the ask)",
            "sharpe": "mean/std(ddof=1) of returns between equity samples",
            "sortino": "mean/sqrt(mean(min(r, 0)^2)) of the same returns",
            "buy_hold": "the slot's capital in whole lots at its first mid, no fee, same mark",
            "trades": "FIFO round trips; PnL net of both fills' fee shares",
        },
        "start": utc_text(recorder.start_ns),
        "end": utc_text(recorder.end_ns if recorder.start_ns is not None else None),
        "span_s": round(recorder.span_ns / 1e9, 3),
        "slots": slots,
    }


def _mid(instrument: Instrument, mid2: int) -> str:
    return mid_text(Scale(instrument.tick_size), mid2 // 2, mid2 - mid2 // 2)


SUMMARY_HEAD: Final = (
    "slot", "symbol", "pnl", "return%", "hold%", "max dd", "dd (s)", "fills", "trips", "win%",
    "pf", "fees", "sharpe", "sortino", "in mkt%",
)  # fmt: skip


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def summary_row(m: dict[str, Any]) -> tuple[str, ...]:
    """One slot's row of ``SUMMARY_HEAD`` (the HTML report shows the same)."""
    hold = m["buy_hold"]
    return (
        str(m["slot"]), m["symbol"], m["pnl"], f"{m['return_pct']:.2f}",
        "-" if hold is None else f"{hold['return_pct']:.2f}", m["max_drawdown"],
        _num(m["max_drawdown_duration_s"], ".0f"), str(m["fills"]), str(m["round_trips"]),
        _num(m["win_rate_pct"], ".1f"), _num(m["profit_factor"], ".2f"), m["fees"],
        _num(m["sharpe"] if m["sharpe"] is not None else m["sharpe_per_sample"], ".3g"),
        _num(m["sortino"] if m["sortino"] is not None else m["sortino_per_sample"], ".3g"),
        f"{m['time_in_market_pct']:.1f}",
    )  # fmt: skip
