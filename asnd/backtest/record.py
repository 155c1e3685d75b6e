"""What a backtest writes while it runs: ``fills.csv``, ``equity.csv`` and ``trades.csv``,
and the series its per-slot report is computed from (``asnd.backtest.slot_report``).

Rows are written as they happen. Times are event times (``ts_local_ns`` of the recorded
market), never the wall clock, so the same backtest writes the same bytes. Every CSV has an
ISO 8601 UTC ``time`` column (to the millisecond) beside the exact ``ts_local_ns``, prices
and quantities in the instrument's units (exact decimals from its tick and lot sizes) beside
the integer ticks and lots, and money as exact decimals of USDT (to 1e-8, never rounded to
cents) beside the ``*_e8`` integers.

Sampling (stated in the report): equity is sampled on a fixed grid of event time
(``EQUITY_STEP_NS``, 1 s): the first event at or after each grid point writes one row per
slot. Equity is the conservative mark (long at the bid, short at the ask), as the watchtower
uses it. Buy-and-hold is the same capital spent on whole lots at the first mid the slot sees
(no fee) and marked the same way. Memory: the report's series cost 48 bytes per sample and
slot (about 4 MB a slot-day), plus 16 per fill and 8 per round trip; events are not kept.
"""

from __future__ import annotations

import csv
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from asnd.backtest.trades import RoundTrip, RoundTrips
from asnd.core.instrument import Instrument, ceil_div
from asnd.core.portfolio import DaemonState
from asnd.core.slot import Slot
from journal.decimals import Scale, units_to_str
from journal.events import Fill
from journal.texts import e8_text, utc_text

__all__ = [
    "EQUITY_COLUMNS",
    "EQUITY_STEP_NS",
    "FILL_COLUMNS",
    "TRADE_COLUMNS",
    "Recorder",
    "SlotRecord",
    "money",
]

EQUITY_STEP_NS: Final = 1_000_000_000

FILL_COLUMNS: Final = (
    "seq", "time", "slot", "symbol", "side", "price", "qty", "notional", "fee", "liquidity",
    "link_id", "ts_local_ns", "price_ticks", "qty_lots", "fee_e8",
)  # fmt: skip
EQUITY_COLUMNS: Final = (
    "time", "slot", "symbol", "equity", "position", "mid", "buy_hold_equity",
    "ts_local_ns", "equity_e8", "position_lots", "bid_ticks", "ask_ticks", "buy_hold_equity_e8",
)  # fmt: skip
TRADE_COLUMNS: Final = (
    "slot", "symbol", "direction", "entry_time", "entry_price", "exit_time", "exit_price", "qty",
    "pnl", "fees", "net_pnl", "held_s", "entry_ts_ns", "exit_ts_ns", "qty_lots", "net_pnl_e8",
)  # fmt: skip


def money(e8: int) -> str:
    """Quote money exactly, at least to the cent: 80000 -> "0.0008", 2e10 -> "200.00"."""
    return e8_text(e8, min_decimals=2)


def mid_text(scale: Scale, bid_ticks: int, ask_ticks: int) -> str:
    """The exact mid price (it may fall between two ticks) in the instrument's units."""
    text = units_to_str((bid_ticks + ask_ticks) * scale.step_units * 5, scale.decimals + 1)
    return text[:-1].rstrip(".") if text.endswith("0") else text


@dataclass(slots=True)
class BuyAndHold:
    """The slot's capital in whole lots bought at its first mid, held to the end."""

    qty_lots: int
    cash_e8: int
    entry_mid2: int  # bid + ask at entry (twice the mid, in ticks)

    @classmethod
    def at(cls, instrument: Instrument, capital_e8: int, bid: int, ask: int) -> BuyAndHold:
        mid2 = bid + ask
        per_lot2 = instrument.notional_e8(mid2)  # twice a lot's cost
        qty = int(capital_e8 * 2 // per_lot2) if per_lot2 > 0 else 0
        cost = instrument.notional_e8(qty * mid2) / 2
        return cls(qty, capital_e8 - ceil_div(cost.numerator, cost.denominator), mid2)

    def equity_e8(self, instrument: Instrument, bid: int) -> int:
        return self.cash_e8 + instrument.floor_e8(self.qty_lots * bid)  # long: at the bid


def _f64() -> array[float]:
    return array("d")


def _i64() -> array[int]:
    return array("q")


@dataclass(slots=True)
class SlotRecord:
    """One slot's running totals and the series its report is computed from."""

    slot: int
    symbol: str
    strategy_id: str
    capital_e8: int
    equity_e8: int = 0
    fills: int = 0
    maker_fills: int = 0
    fees_e8: int = 0
    traded_e8: int = 0
    doubled_after_ns: int | None = None
    in_market_ns: int = 0
    position_lots: int = 0
    position_since_ns: int = 0
    buy_hold: BuyAndHold | None = None
    trips: RoundTrips | None = None
    # Marks (every sample and after every fill) for drawdown and time to 2x.
    mark_ns: array[int] = field(default_factory=_i64)
    mark_e8: array[int] = field(default_factory=_i64)
    # Samples on the grid for returns, exposure and buy-and-hold.
    sample_ns: array[int] = field(default_factory=_i64)
    sample_e8: array[int] = field(default_factory=_i64)
    sample_gross_e8: array[float] = field(default_factory=_f64)  # |position| x mid; NaN unknown
    buy_hold_e8: array[int] = field(default_factory=_i64)
    trade_net_e8: array[int] = field(default_factory=_i64)

    def __post_init__(self) -> None:
        self.equity_e8 = self.capital_e8

    def mark(self, equity_e8: int, at_ns: int, start_ns: int) -> None:
        self.equity_e8 = equity_e8
        self.mark_ns.append(at_ns)
        self.mark_e8.append(equity_e8)
        if self.doubled_after_ns is None and equity_e8 >= 2 * self.capital_e8:
            self.doubled_after_ns = at_ns - start_ns


class Recorder:
    """Writes fills, equity samples and round trips for ``state``'s slots into ``out``."""

    def __init__(self, state: DaemonState, out: Path, strategy_ids: dict[int, str]) -> None:
        self.state = state
        self.slots = [
            SlotRecord(s.index, s.symbol, strategy_ids.get(s.index, ""), s.config.capital_e8)
            for s in state.slots
        ]
        self._files: list[IO[str]] = []
        self._fills = self._open(out / "fills.csv", FILL_COLUMNS)
        self._equity = self._open(out / "equity.csv", EQUITY_COLUMNS)
        self._trades = self._open(out / "trades.csv", TRADE_COLUMNS)
        self.start_ns: int | None = None
        self.end_ns = 0
        self._next_sample_ns = 0
        self._sampled_ns: int | None = None
        self.sample_ns: array[int] = array("q")
        self.fill_rows = 0
        self._not_holding = list(zip(state.slots, self.slots, strict=True))
        self._touched = 0

    def _buy_and_hold(self) -> None:
        """Each slot's buy-and-hold buys at the first touch of its symbol (checked whenever a
        symbol gets its first touch, until every slot has bought)."""
        waiting = []
        for slot, r in self._not_holding:
            touch = self.state.touch.get(slot.symbol)
            instrument = self.state.instruments.get(slot.symbol)
            if touch is None or instrument is None:
                waiting.append((slot, r))
            else:
                r.buy_hold = BuyAndHold.at(instrument, r.capital_e8, *touch)
        self._not_holding = waiting

    @property
    def samples(self) -> int:
        return len(self.sample_ns)

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
        r = self.slots[fill.slot]
        instrument = self.state.instruments.get(fill.symbol)
        fee = self._charged(fill)
        if instrument is None:  # a fill always follows its InstrumentInfo; kept readable
            price = qty = notional = ""
        else:
            price = Scale(instrument.tick_size).text(fill.price_ticks)
            qty = Scale(instrument.lot_size).text(fill.qty_lots)
            traded = instrument.floor_e8(fill.price_ticks * fill.qty_lots)
            notional = money(traded)
            r.traded_e8 += traded
            if r.trips is None:
                r.trips = RoundTrips(instrument)
            for trip in r.trips.fill(
                fill.ts_local_ns, fill.side, fill.price_ticks, fill.qty_lots, fee
            ):
                self._trade_row(r, instrument, trip)
        self._fills.writerow(
            (fill.seq, utc_text(fill.ts_local_ns), fill.slot, fill.symbol,
             "buy" if fill.side > 0 else "sell", price, qty, notional, money(fee),
             "maker" if fill.is_maker else "taker", fill.link_id, fill.ts_local_ns,
             fill.price_ticks, fill.qty_lots, fee)
        )  # fmt: skip
        self.fill_rows += 1
        r.fills += 1
        r.maker_fills += fill.is_maker
        r.fees_e8 += fee
        slot = self.state.slots[fill.slot]
        position = slot.ledger.position_lots if slot.ledger is not None else 0
        if r.position_lots != 0:
            r.in_market_ns += fill.ts_local_ns - r.position_since_ns
        r.position_lots, r.position_since_ns = position, fill.ts_local_ns
        equity = self.state.equity_e8(slot)
        if equity is not None:
            r.mark(equity, fill.ts_local_ns, self.start_ns or fill.ts_local_ns)

    def _trade_row(self, r: SlotRecord, instrument: Instrument, trip: RoundTrip) -> None:
        ticks, lots = Scale(instrument.tick_size), Scale(instrument.lot_size)
        self._trades.writerow(
            (r.slot, r.symbol, "long" if trip.direction > 0 else "short",
             utc_text(trip.entry_ns), ticks.text(trip.entry_ticks), utc_text(trip.exit_ns),
             ticks.text(trip.exit_ticks), lots.text(trip.qty_lots), money(trip.gross_e8),
             money(trip.fees_e8), money(trip.net_e8),
             f"{(trip.exit_ns - trip.entry_ns) / 1e9:.3f}", trip.entry_ns, trip.exit_ns,
             trip.qty_lots, trip.net_e8)
        )  # fmt: skip
        r.trade_net_e8.append(trip.net_e8)

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
        if self._not_holding and len(self.state.touch) != self._touched:
            self._touched = len(self.state.touch)  # a symbol has its first touch
            self._buy_and_hold()
        if ts_ns >= self._next_sample_ns:
            self._next_sample_ns = (ts_ns // EQUITY_STEP_NS + 1) * EQUITY_STEP_NS
            self._sample(ts_ns)

    def _sample(self, ts_ns: int) -> None:
        self._sampled_ns = ts_ns
        self.sample_ns.append(ts_ns)
        start = ts_ns if self.start_ns is None else self.start_ns
        for slot, r in zip(self.state.slots, self.slots, strict=True):
            equity = self.state.equity_e8(slot)
            if equity is not None:
                r.mark(equity, ts_ns, start)
                self._sample_slot(slot, r, equity, ts_ns)

    def _sample_slot(self, slot: Slot, r: SlotRecord, equity: int, ts_ns: int) -> None:
        touch = self.state.touch.get(slot.symbol)
        instrument = self.state.instruments.get(slot.symbol)
        position = slot.ledger.position_lots if slot.ledger is not None else 0
        mid = pos = ""
        gross = float("nan")
        bid: int | str = ""
        ask: int | str = ""
        if instrument is not None:
            pos = Scale(instrument.lot_size).text(position)
            if touch is not None:
                bid, ask = touch
                mid = mid_text(Scale(instrument.tick_size), bid, ask)
                gross = (
                    abs(position) * (bid + ask) * instrument.unit_num / (2 * instrument.unit_den)
                )
        hold = r.capital_e8
        if r.buy_hold is not None and instrument is not None and isinstance(bid, int):
            hold = r.buy_hold.equity_e8(instrument, bid)
        r.sample_ns.append(ts_ns)
        r.sample_e8.append(equity)
        r.sample_gross_e8.append(gross)
        r.buy_hold_e8.append(hold)
        self._equity.writerow(
            (utc_text(ts_ns), slot.index, slot.symbol, money(equity), pos, mid, money(hold),
             ts_ns, equity, position, bid, ask, hold)
        )  # fmt: skip

    def finish(self) -> None:
        """Close the run: a last equity sample at its end, the ledgers' own fee totals."""
        end = self.end_ns
        if self._sampled_ns != end and self.start_ns is not None:
            self._sample(end)
        for slot, r in zip(self.state.slots, self.slots, strict=True):
            if slot.ledger is not None:
                r.fees_e8 = slot.ledger.fees_e8  # the ledger's own total is the truth
            if r.position_lots != 0:
                r.in_market_ns += end - r.position_since_ns
            equity = self.state.equity_e8(slot)
            if equity is not None:
                r.mark(equity, end, self.start_ns or end)

    @property
    def span_ns(self) -> int:
        return self.end_ns - (self.start_ns or self.end_ns)
