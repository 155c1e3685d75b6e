"""``report.html``: one self-contained page per backtest (tables and the PNG plots embedded as
base64 data URIs; no script, no stylesheet or font fetched), readable offline and mailable.

It shows the run (inputs, span, fill model, how ratios are annualised), the per-slot summary
(the table ``asnd backtest`` prints), each slot beside its buy-and-hold, the first
``MAX_TRADE_ROWS`` round trips (all of them are in ``trades.csv``) and the plots.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Final

from asnd.backtest.slot_report import SUMMARY_HEAD, summary_row
from journal.htmlpage import html_page, image, table

__all__ = ["MAX_TRADE_ROWS", "write_html"]

MAX_TRADE_ROWS: Final = 200

_COMPARED: Final = (
    ("equity", "equity"), ("pnl", "PnL"), ("return_pct", "return %"),
    ("max_drawdown", "max drawdown"), ("max_drawdown_pct", "max drawdown %"),
    ("max_drawdown_duration_s", "max drawdown duration (s)"),
    ("max_drawdown_recovered", "recovered from it"), ("sharpe", "Sharpe (annualised)"),
    ("sortino", "Sortino (annualised)"), ("sharpe_per_sample", "Sharpe per sample"),
    ("sortino_per_sample", "Sortino per sample"),
)  # fmt: skip
_SLOT_ONLY: Final = (
    ("fills", "fills"), ("maker_fills", "maker fills"), ("fees", "fees"),
    ("traded_notional", "traded notional"), ("turnover", "turnover (x capital)"),
    ("round_trips", "round trips"), ("win_rate_pct", "win rate %"),
    ("profit_factor", "profit factor"), ("avg_trade_pnl", "mean trade net PnL"),
    ("open_position", "open position at the end"), ("time_in_market_pct", "time in market %"),
    ("exposure_pct", "mean gross exposure % of equity"), ("time_to_2x_s", "time to 2x (s)"),
)  # fmt: skip


def _shown(value: object) -> object:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _slot_rows(m: dict[str, Any]) -> list[tuple[object, ...]]:
    hold = {k: _shown(v) for k, v in (m["buy_hold"] or {}).items()}
    m = {k: _shown(v) for k, v in m.items()}
    rows: list[tuple[object, ...]] = [("capital", m["capital"], m["capital"])]
    rows += [(label, m[key], hold.get(key)) for key, label in _COMPARED]
    rows += [(label, m[key], None) for key, label in _SLOT_ONLY]
    if hold:
        rows.insert(1, ("bought", "-", f"{hold['qty']} at {hold['entry_price']}"))
    return rows


def _trade_rows(path: Path) -> tuple[list[str], list[list[str]], int]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        head = next(reader)
        rows: list[list[str]] = []
        total = 0
        for row in reader:
            total += 1
            if len(rows) < MAX_TRADE_ROWS:
                rows.append(row)
    shown = head.index("net_pnl") + 2  # the readable columns, up to held_s
    return head[:shown], [r[:shown] for r in rows], total


def write_html(path: Path, report: dict[str, Any], plots: list[Path], trades: Path) -> None:
    """``report.html`` for a finished backtest ``report`` (its plots and ``trades.csv``)."""
    model = report["fill_model"]
    sampling = report["sampling"]
    run = [
        ("inputs", ", ".join(report["inputs"])),
        ("from", report["start"]), ("to", report["end"]), ("span (s)", report["span_s"]),
        ("market events", report["market_events"]),
        ("fill model", f"{model['engine']}, queue {model['queue']}, "
                       f"latency {model['latency_ms']} ms"),
        ("equity samples", f"{sampling['samples']} every {sampling['equity_step_s']:g} s, "
                           f"{sampling['equity_mark']} mark"),
        ("ratios", sampling["annualisation"]),
        ("buy and hold", sampling["buy_hold"]), ("trades", sampling["trades"]),
    ]  # fmt: skip
    parts = [
        table("run", ("", ""), run),
        table("slots", SUMMARY_HEAD, (summary_row(m) for m in report["slots"])),
    ]
    for m in report["slots"]:
        if m["strategy"]:
            caption = f"slot {m['slot']} {m['symbol']} ({m['strategy']})"
            parts.append(table(caption, ("", "strategy", "buy and hold"), _slot_rows(m)))
    head, rows, total = _trade_rows(trades)
    parts.append(table(f"round trips ({min(total, MAX_TRADE_ROWS)} of {total})", head, rows))
    if total > MAX_TRADE_ROWS:
        parts.append(f'<p class="note">all {total} round trips are in trades.csv</p>')
    parts += [image(p, p.stem.replace("_", " ")) for p in plots]
    path.write_text(html_page("asnd backtest", parts), encoding="utf-8")
