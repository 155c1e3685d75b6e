"""What a backtest writes while it runs: ``fills.csv``, ``equity.csv`` and per-slot metrics.

Rows are written as they happen, so memory does not grow with the journal. Times are event
times (``ts_local_ns`` of the recorded market), never the wall clock, so the same backtest
writes the same bytes.

Sampling (stated in the report): equity is sampled on a fixed grid of event time
(``EQUITY_STEP_NS``, 1 s): the first event at or after each grid point writes one row per
slot. Max drawdown and time to 2x capital are measured on those samples and after every fill;
Sharpe is the mean over the standard deviation of the equity's *returns between consecutive
samples*, annualised by sqrt(samples per year) (crypto trades 24/7: 365 days). Equity is the
conservative mark (long at the bid, short at the ask), as the watchtower uses it. Time in
market is the event time with a non-zero position, over the run's event time.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from asnd.core.instrument import E8
from asnd.core.portfolio import DaemonState
from journal.decimals import Scale
from journal.events import Fill

__all__ = ["EQUITY_STEP_NS", "Recorder", "SlotMetrics", "money"]

EQUITY_STEP_NS: Final = 1_000_000_000
_YEAR_NS: Final = 365 * 24 * 3600 * 1_000_000_000

FILL_COLUMNS: Final = (
    "seq", "ts_local_ns", "slot", "symbol", "side", "price", "qty", "fee", "is_maker",
    "link_id", "price_ticks", "qty_lots", "fee_e8",
)  # fmt: skip
EQUITY_COLUMNS: Final = (
    "ts_local_ns", "slot", "symbol", "equity", "equity_e8", "position_lots", "mid_ticks"
)  # fmt: skip


def money(e8: int) -> str:
    """Quote currency with two decimals, rounded towards -inf like the ledger."""
    sign, units = ("-", -e8) if e8 < 0 else ("", e8)
    cents = units // (E8 // 100) if sign == "" else -(-units // (E8 // 100))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@dataclass(slots=True)
class SlotMetrics:
    slot: int
    symbol: str
    strategy_id: str
    capital_e8: int
    equity_e8: int = 0
    peak_e8: int = 0
    max_drawdown_e8: int = 0
    fills: int = 0
    fees_e8: int = 0
    maker_fills: int = 0
    doubled_after_ns: int | None = None
    in_market_ns: int = 0
    position_lots: int = 0
    position_since_ns: int = 0
    last_sample_e8: int | None = None
    returns_n: int = 0
    returns_sum: float = 0.0
    returns_sq: float = 0.0

    def __post_init__(self) -> None:
        self.equity_e8 = self.peak_e8 = self.capital_e8

    def mark(self, equity_e8: int, at_ns: int, start_ns: int) -> None:
        self.equity_e8 = equity_e8
        self.peak_e8 = max(self.peak_e8, equity_e8)
        self.max_drawdown_e8 = max(self.max_drawdown_e8, self.peak_e8 - equity_e8)
        if self.doubled_after_ns is None and equity_e8 >= 2 * self.capital_e8:
            self.doubled_after_ns = at_ns - start_ns

    def sample(self, equity_e8: int) -> None:
        last = self.last_sample_e8
        if last is not None and last > 0:
            r = (equity_e8 - last) / last
            self.returns_n += 1
            self.returns_sum += r
            self.returns_sq += r * r
        self.last_sample_e8 = equity_e8

    def sharpe(self) -> float | None:
        """Annualised, from returns between equity samples (see the module docstring)."""
        n = self.returns_n
        if n < 2:
            return None
        mean = self.returns_sum / n
        var = (self.returns_sq - n * mean * mean) / (n - 1)
        if var <= 1e-24:
            return None
        return mean / math.sqrt(var) * math.sqrt(_YEAR_NS / EQUITY_STEP_NS)

    def report(self, span_ns: int) -> dict[str, Any]:
        pnl = self.equity_e8 - self.capital_e8
        sharpe = self.sharpe()
        return {
            "slot": self.slot,
            "symbol": self.symbol,
            "strategy": self.strategy_id,
            "capital": money(self.capital_e8),
            "equity": money(self.equity_e8),
            "pnl": money(pnl),
            "pnl_e8": pnl,
            "return_pct": round(100 * pnl / self.capital_e8, 4),
            "max_drawdown": money(self.max_drawdown_e8),
            "max_drawdown_pct": round(100 * self.max_drawdown_e8 / max(self.peak_e8, 1), 4),
            "trades": self.fills,
            "maker_trades": self.maker_fills,
            "fees": money(self.fees_e8),
            "fees_e8": self.fees_e8,
            "time_to_2x_s": (
                None if self.doubled_after_ns is None else round(self.doubled_after_ns / 1e9, 3)
            ),
            "sharpe": None if sharpe is None else round(sharpe, 4),
            "time_in_market_pct": round(100 * self.in_market_ns / span_ns, 4) if span_ns else 0.0,
        }


class Recorder:
    """Writes fills and equity samples for ``state``'s slots into ``out``; keeps metrics."""

    def __init__(self, state: DaemonState, out: Path, strategy_ids: dict[int, str]) -> None:
        self.state = state
        self.metrics = [
            SlotMetrics(s.index, s.symbol, strategy_ids.get(s.index, ""), s.config.capital_e8)
            for s in state.slots
        ]
        self._files: list[IO[str]] = []
        self._fills = self._open(out / "fills.csv", FILL_COLUMNS)
        self._equity = self._open(out / "equity.csv", EQUITY_COLUMNS)
        self.start_ns: int | None = None
        self.end_ns = 0
        self._next_sample_ns = 0
        self._sampled_ns: int | None = None
        self.samples = 0
        self.fill_rows = 0

    def _open(self, path: Path, columns: tuple[str, ...]) -> Any:
        f = path.open("w", newline="", encoding="utf-8")
        self._files.append(f)
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        return writer

    def close(self) -> None:
        for f in self._files:
            f.close()

    def on_fill(self, fill: Fill) -> None:
        m = self.metrics[fill.slot]
        instrument = self.state.instruments.get(fill.symbol)
        price = Scale(instrument.tick_size).text(fill.price_ticks) if instrument else ""
        qty = Scale(instrument.lot_size).text(fill.qty_lots) if instrument else ""
        fee = self._charged(fill)
        self._fills.writerow(
            (fill.seq, fill.ts_local_ns, fill.slot, fill.symbol, fill.side, price, qty,
             money(fee), int(fill.is_maker), fill.link_id, fill.price_ticks,
             fill.qty_lots, fee)
        )  # fmt: skip
        self.fill_rows += 1
        m.fills += 1
        m.maker_fills += fill.is_maker
        m.fees_e8 += fee
        slot = self.state.slots[fill.slot]
        position = slot.ledger.position_lots if slot.ledger is not None else 0
        if m.position_lots != 0:
            m.in_market_ns += fill.ts_local_ns - m.position_since_ns
        m.position_lots, m.position_since_ns = position, fill.ts_local_ns
        equity = self.state.equity_e8(slot)
        if equity is not None:
            m.mark(equity, fill.ts_local_ns, self.start_ns or fill.ts_local_ns)

    def _charged(self, fill: Fill) -> int:
        """The fee the slot's ledger charged for ``fill`` (its rule: the schedule's rate on
        the exact notional, or the venue's figure when the schedule says so)."""
        fees = self.state.config.fees
        instrument = self.state.instruments.get(fill.symbol)
        if fees.source == "venue" or instrument is None:
            return fill.fee_e8
        notional = instrument.notional_e8(fill.price_ticks * fill.qty_lots)
        return fees.fee_e8(notional, is_maker=fill.is_maker)

    def on_time(self, ts_ns: int) -> None:
        """The market reached ``ts_ns``: sample the equity when a grid point has passed."""
        if self.start_ns is None:
            self.start_ns = ts_ns
            self._next_sample_ns = ts_ns
        self.end_ns = max(self.end_ns, ts_ns)
        if ts_ns >= self._next_sample_ns:
            self._next_sample_ns = (ts_ns // EQUITY_STEP_NS + 1) * EQUITY_STEP_NS
            self._sample(ts_ns)

    def _sample(self, ts_ns: int) -> None:
        self._sampled_ns = ts_ns
        self.samples += 1
        start = ts_ns if self.start_ns is None else self.start_ns
        for slot, m in zip(self.state.slots, self.metrics, strict=True):
            equity = self.state.equity_e8(slot)
            if equity is None:
                continue
            m.mark(equity, ts_ns, start)
            m.sample(equity)
            touch = self.state.touch.get(slot.symbol)
            mid = str((touch[0] + touch[1]) // 2) if touch else ""  # "" before a book
            position = slot.ledger.position_lots if slot.ledger is not None else 0
            self._equity.writerow(
                (ts_ns, slot.index, slot.symbol, money(equity), equity, position, mid)
            )

    def finish(self) -> list[dict[str, Any]]:
        """Close the run (a last equity sample at its end): the per-slot metrics."""
        end = self.end_ns
        if self._sampled_ns != end and self.start_ns is not None:
            self._sample(end)
        for slot, m in zip(self.state.slots, self.metrics, strict=True):
            if slot.ledger is not None:
                m.fees_e8 = slot.ledger.fees_e8  # the ledger's own total is the truth
            if m.position_lots != 0:
                m.in_market_ns += end - m.position_since_ns
            equity = self.state.equity_e8(slot)
            if equity is not None:
                m.mark(equity, end, self.start_ns or end)
        span = end - (self.start_ns or end)
        return [m.report(span) for m in self.metrics]
