"""PNG plots of a finished backtest, read back from its CSV files (downsampled, so a long run
plots in bounded memory): equity beside buy-and-hold and drawdown per slot, and price with
our fills marked.

Readable at a glance: prices and money in USDT as plain numbers (no offset or scientific
notation), the x axis in UTC wall-clock time of the recorded events, labelled by matplotlib's
date locator at whatever unit fits the run (seconds for a few seconds, days for weeks).
Deterministic bytes: the Agg backend and no ``Software`` metadata.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import ScalarFormatter

__all__ = ["plot_outputs", "plain_axes", "utc_time_axis"]

#: Points per line at most (a longer series is strided).
MAX_POINTS: Final = 4000
_META: Final = {"Software": None}
_DAY_NS: Final = 86_400 * 10**9
#: Tick labels per tick unit (years .. seconds): a clock time, never a bare "05" that could be
#: a day or a second; the offset text below the axis gives the date.
_FORMATS: Final = ["%Y", "%b", "%d", "%H:%M", "%H:%M", "%H:%M:%S"]
_ZERO_FORMATS: Final = ["", "%Y", "%b", "%b-%d", "%H:%M", "%H:%M:%S"]


def _days(ts_ns: int) -> float:
    """Event time as matplotlib's date number (days since 1970-01-01 UTC)."""
    return ts_ns / _DAY_NS


def utc_time_axis(ax: Axes) -> None:
    """The x axis as UTC wall-clock time, ticks at the unit that fits the span."""
    locator = mdates.AutoDateLocator(tz=dt.UTC, minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    concise = mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator, tz=dt.UTC, formats=_FORMATS, zero_formats=_ZERO_FORMATS
    )
    ax.xaxis.set_major_formatter(concise)


def plain_axes(ax: Axes) -> None:
    """The y axis in plain numbers: no ``+6e4`` offset, no ``1e5`` multiplier."""
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    ax.yaxis.set_major_formatter(formatter)


Series = tuple[list[float], list[float], list[float], list[float], str]


def plot_outputs(out: Path, slots: list[int], samples: int) -> list[Path]:
    """``equity_slot{N}.png`` for each of ``slots`` and ``price_fills.png``; their paths."""
    stride = max(1, samples // MAX_POINTS)
    series = _equity_series(out / "equity.csv", set(slots), stride)
    paths: list[Path] = []
    for slot in slots:
        paths.append(out / f"equity_slot{slot}.png")
        _plot_equity(paths[-1], slot, series.get(slot, ([], [], [], [], "")))
    paths.append(out / "price_fills.png")
    _plot_price(paths[-1], series, out / "fills.csv")
    return paths


def _equity_series(path: Path, slots: set[int], stride: int) -> dict[int, Series]:
    out: dict[int, Series] = {}
    seen: dict[int, int] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            slot = int(row["slot"])
            if slot not in slots:
                continue
            n = seen[slot] = seen.get(slot, -1) + 1
            if n % stride:
                continue
            t, equity, hold, mid, _ = out.setdefault(slot, ([], [], [], [], row["symbol"]))
            t.append(_days(int(row["ts_local_ns"])))
            equity.append(int(row["equity_e8"]) / 1e8)
            hold.append(int(row["buy_hold_equity_e8"]) / 1e8)
            mid.append(float(row["mid"]) if row["mid"] else float("nan"))
    return out


def _plot_equity(path: Path, slot: int, series: Series) -> None:
    t, equity, hold, _mid, symbol = series
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 5), sharex=True, height_ratios=(2, 1), layout="constrained"
    )
    peak: list[float] = []
    for v in equity:
        peak.append(max(v, peak[-1]) if peak else v)
    drawdown = [v - p for v, p in zip(equity, peak, strict=True)]
    top.plot(t, equity, lw=0.9, color="tab:blue", label="strategy")
    top.plot(t, hold, lw=0.8, color="0.5", ls="--", label="buy and hold")
    top.set_ylabel("equity (USDT)")
    top.set_title(f"slot {slot} {symbol}: equity")
    top.legend(loc="best", fontsize=8)
    bottom.fill_between(t, drawdown, 0, color="tab:red", alpha=0.5, lw=0)
    bottom.set_ylabel("drawdown (USDT)")
    bottom.set_xlabel("time (UTC)")
    for ax in (top, bottom):
        plain_axes(ax)
        ax.grid(alpha=0.3)
    utc_time_axis(bottom)
    fig.savefig(path, dpi=90, metadata=_META)
    plt.close(fig)


def _plot_price(path: Path, series: dict[int, Series], fills_path: Path) -> None:
    by_symbol: dict[str, Series] = {}
    for _slot, s in sorted(series.items()):
        by_symbol.setdefault(s[4], s)
    marks: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    with fills_path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            xs, ys = marks.setdefault((row["symbol"], row["side"]), ([], []))
            xs.append(_days(int(row["ts_local_ns"])))
            ys.append(float(row["price"]))
    symbols = sorted(by_symbol) or ["(no data)"]
    fig, axes = plt.subplots(
        len(symbols), 1, figsize=(9, 1.2 + 2.6 * len(symbols)), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    for ax, symbol in zip(axes[:, 0], symbols, strict=True):
        t, _eq, _hold, mid, _ = by_symbol.get(symbol, ([], [], [], [], symbol))
        ax.plot(t, mid, lw=0.7, color="0.3", label="mid")
        for side, colour, marker in (("buy", "tab:green", "^"), ("sell", "tab:red", "v")):
            xs, ys = marks.get((symbol, side), ([], []))
            ax.scatter(xs, ys, s=16, c=colour, marker=marker, zorder=3, alpha=0.7,
                       linewidths=0, label=f"our {side}s ({len(xs)})")  # fmt: skip
        ax.set_title(f"{symbol}: mid price with our fills")
        ax.set_ylabel("price (USDT)")
        ax.legend(loc="best", fontsize=7)
        ax.grid(alpha=0.3)
        plain_axes(ax)
        utc_time_axis(ax)
    axes[-1, 0].set_xlabel("time (UTC)")
    fig.savefig(path, dpi=90, metadata=_META)
    plt.close(fig)
