"""PNG plots of a finished backtest, read back from its CSV files (downsampled, so a long run
plots in bounded memory): equity and drawdown per slot, and price with our fills marked.

Deterministic bytes: the Agg backend, a fixed hash salt, and no ``Software`` metadata.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["plot_outputs"]

#: Points per line at most (a longer series is strided).
MAX_POINTS: Final = 4000
_META: Final = {"Software": None}


def plot_outputs(out: Path, slots: list[int], samples: int) -> None:
    """``equity_slot{N}.png`` for each of ``slots`` and ``price_fills.png``."""
    plt.rcParams["svg.hashsalt"] = "asnd-backtest"
    stride = max(1, samples // MAX_POINTS)
    series = _equity_series(out / "equity.csv", set(slots), stride)
    for slot in slots:
        t, equity, _mid, symbol = series.get(slot, ([], [], [], ""))
        _plot_equity(out / f"equity_slot{slot}.png", slot, symbol, t, equity)
    _plot_price(out / "price_fills.png", series, out / "fills.csv")


Series = tuple[list[float], list[float], list[float], str]


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
            t, equity, mid, _ = out.setdefault(slot, ([], [], [], row["symbol"]))
            t.append(int(row["ts_local_ns"]) / 1e9)
            equity.append(int(row["equity_e8"]) / 1e8)
            mid.append(float(row["mid_ticks"]) if row["mid_ticks"] else float("nan"))
    return out


def _plot_equity(path: Path, slot: int, symbol: str, t: list[float], equity: list[float]) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    peak: list[float] = []
    for v in equity:
        peak.append(max(v, peak[-1]) if peak else v)
    drawdown = [v - p for v, p in zip(equity, peak, strict=True)]
    hours = [(x - t[0]) / 3600 for x in t] if t else []
    top.plot(hours, equity, lw=0.8, color="tab:blue")
    top.set_ylabel("equity (USDT)")
    top.set_title(f"slot {slot} {symbol}")
    bottom.fill_between(hours, drawdown, 0, color="tab:red", alpha=0.5, lw=0)
    bottom.set_ylabel("drawdown (USDT)")
    bottom.set_xlabel("hours from start")
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata=_META)
    plt.close(fig)


def _plot_price(path: Path, series: dict[int, Series], fills_path: Path) -> None:
    by_symbol: dict[str, Series] = {}
    for _slot, s in sorted(series.items()):
        by_symbol.setdefault(s[3], s)
    buys: dict[str, tuple[list[float], list[float]]] = {}
    sells: dict[str, tuple[list[float], list[float]]] = {}
    with fills_path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            side = buys if int(row["side"]) > 0 else sells
            xs, ys = side.setdefault(row["symbol"], ([], []))
            xs.append(int(row["ts_local_ns"]) / 1e9)
            ys.append(int(row["price_ticks"]))
    symbols = sorted(by_symbol) or ["(no data)"]
    fig, axes = plt.subplots(len(symbols), 1, figsize=(9, 2.6 * len(symbols)), squeeze=False)
    for ax, symbol in zip(axes[:, 0], symbols, strict=True):
        t, _eq, mid, _ = by_symbol.get(symbol, ([], [], [], symbol))
        t0 = t[0] if t else 0.0
        ax.plot([(x - t0) / 3600 for x in t], mid, lw=0.7, color="0.3", label="mid")
        for marks, colour, marker, label in (
            (buys, "tab:green", "^", "buy"),
            (sells, "tab:red", "v", "sell"),
        ):
            xs, ys = marks.get(symbol, ([], []))
            ax.scatter([(x - t0) / 3600 for x in xs], ys, s=14, c=colour, marker=marker, zorder=3,
                       alpha=0.6, linewidths=0, label=label)  # fmt: skip
        ax.set_title(f"{symbol}: price (ticks) with our fills")
        ax.legend(loc="upper left", fontsize=7)
    axes[-1, 0].set_xlabel("hours from start")
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata=_META)
    plt.close(fig)
