"""A slot's money: position, average entry, realised PnL, fees and equity, in exact integers.

Accounting is that of a linear (USDT-margined) perpetual, as Bybit keeps it:

- ``position_lots`` is signed (long > 0). Buying adds, selling subtracts; a fill larger than
  the position flips it through zero.
- ``avg_entry_ticks`` is the size-weighted average price of the open position (a rational,
  kept to a millionth of a tick so that it stays bounded; equity does not depend on it).
  Adding to a position moves it; reducing leaves it; a flip restarts it at the fill price.
- ``flow_units`` is the signed cash flow of every fill, ``sum(-side * qty_lots * price_ticks)``,
  in tick-lots. It makes equity independent of how PnL is attributed:
  ``equity = capital + value(flow_units + position_lots * mark) - fees``, and the realised part
  is ``flow_units + position_lots * avg_entry_ticks`` (exactly ``flow_units`` when flat).
- Fees are charged per fill, in e8. By default from the ledger's ``FeeSchedule`` (maker/taker
  rates in parts per million of the fill's notional, rounded up to a whole e8: a fee is never
  understated, a rebate never overstated); with ``source="venue"`` the fill's own ``fee_e8``
  (what the venue says it charged) is used instead. The venue's figure is summed either way.

Rounding: tick-lots become e8 through the instrument's exact unit and are rounded down once,
on the total (``Instrument.floor_e8``), never per fill. So ``cash_e8`` and ``equity_e8`` never
overstate money, and equity differs from ``cash + unrealised`` by at most 1e-8 of rounding.

Marks: ``equity_e8(mark)`` at a price the caller picks. ``conservative_mark`` picks the side
the position would have to trade against to close: a long is worth the best bid, a short the
best ask. Marking at the mid would count half the spread as money the slot cannot get, and
the sudden-death rule must not keep a bankrupt slot alive on that half spread. The mid mark
is for display (``mid_equity_e8``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import msgspec

from asnd.core.instrument import Instrument, ceil_div
from journal.events import BUY, SELL

__all__ = ["FeeSchedule", "Ledger", "LedgerState", "conservative_mark"]

_PPM = 1_000_000
#: The average entry price is kept to 1/AVG_DENOMINATOR of a tick (see ``apply_fill``).
AVG_DENOMINATOR = 1_000_000


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Trading fees as integer parts per million of notional (negative maker = rebate).

    Defaults: Bybit linear perpetuals, non-VIP: 0.02 % maker (200 ppm), 0.055 % taker (550).
    ``source`` is "schedule" (charge these rates: exact and the same in live and backtest) or
    "venue" (charge the ``fee_e8`` each fill reports).
    """

    maker_ppm: int = 200
    taker_ppm: int = 550
    source: Literal["schedule", "venue"] = "schedule"

    def __post_init__(self) -> None:
        if self.source not in ("schedule", "venue"):
            raise ValueError(
                f"FeeSchedule.source must be 'schedule' or 'venue', not {self.source!r}"
            )
        if not -_PPM < self.maker_ppm < _PPM or not 0 <= self.taker_ppm < _PPM:
            raise ValueError("FeeSchedule rates must be below 1e6 ppm (taker not negative)")

    def fee_e8(self, notional_e8: Fraction, *, is_maker: bool) -> int:
        """The fee on ``notional_e8`` (exact), rounded up to a whole e8."""
        rate = self.maker_ppm if is_maker else self.taker_ppm
        value = notional_e8 * rate
        return ceil_div(value.numerator, value.denominator * _PPM)


class LedgerState(msgspec.Struct, array_like=True, gc=False):
    """The ledger's mutable numbers, as a snapshot stores them."""

    capital_e8: int
    position_lots: int = 0
    flow_units: int = 0
    avg_entry_num: int = 0
    avg_entry_den: int = 1
    fees_e8: int = 0
    venue_fees_e8: int = 0
    fill_count: int = 0
    volume_lots: int = 0


def conservative_mark(position_lots: int, best_bid: int | None, best_ask: int | None) -> int | None:
    """The price the position would close at: the best bid for a long, the best ask for a
    short (either for a flat position: it is not used). None when that side is empty."""
    if position_lots > 0:
        return best_bid
    if position_lots < 0:
        return best_ask
    return best_bid if best_bid is not None else best_ask


class Ledger:
    """The money of one slot trading one instrument. Mutated only by ``apply_fill``."""

    __slots__ = ("fees", "instrument", "state")

    def __init__(
        self, instrument: Instrument, capital_e8: int, fees: FeeSchedule | None = None
    ) -> None:
        self.instrument = instrument
        self.fees = fees or FeeSchedule()
        self.state = LedgerState(capital_e8)

    # --------------------------------------------------------------------------- mutation

    def apply_fill(
        self, side: int, price_ticks: int, qty_lots: int, *, is_maker: bool, venue_fee_e8: int = 0
    ) -> int:
        """Book one execution; returns the fee charged (e8). Raises ValueError on nonsense
        (side not BUY/SELL, qty or price not positive): the ledger is then unchanged."""
        if side not in (BUY, SELL):
            raise ValueError(f"fill side must be BUY (1) or SELL (-1), not {side}")
        if qty_lots <= 0 or price_ticks <= 0:
            raise ValueError(f"fill needs positive qty and price, got {qty_lots} @ {price_ticks}")
        s = self.state
        pos = s.position_lots
        avg = Fraction(s.avg_entry_num, s.avg_entry_den)
        if pos == 0 or (pos > 0) == (side > 0):
            held = abs(pos)
            avg = (avg * held + price_ticks * qty_lots) / (held + qty_lots)
        elif qty_lots > abs(pos):
            avg = Fraction(price_ticks)  # flipped: the new position opened at this fill
        elif qty_lots == abs(pos):
            avg = Fraction(0)
        s.position_lots = pos + side * qty_lots
        # Adding after partial closes multiplies the exact average's denominator without end
        # (a long-running slot overflowed the 64-bit snapshot fields). Equity never reads the
        # average (it is flow + position x mark), only the realised/unrealised split does, so
        # a millionth of a tick is precision enough.
        avg = avg.limit_denominator(AVG_DENOMINATOR)
        s.avg_entry_num, s.avg_entry_den = avg.numerator, avg.denominator
        s.flow_units -= side * qty_lots * price_ticks
        if self.fees.source == "venue":
            fee = venue_fee_e8
        else:
            notional = self.instrument.notional_e8(price_ticks * qty_lots)
            fee = self.fees.fee_e8(notional, is_maker=is_maker)
        s.fees_e8 += fee
        s.venue_fees_e8 += venue_fee_e8
        s.fill_count += 1
        s.volume_lots += qty_lots
        return fee

    # ---------------------------------------------------------------------------- reading

    @property
    def position_lots(self) -> int:
        return self.state.position_lots

    @property
    def avg_entry_ticks(self) -> Fraction:
        """Average entry price of the open position (0 when flat), exact."""
        return Fraction(self.state.avg_entry_num, self.state.avg_entry_den)

    @property
    def realised_units(self) -> Fraction:
        """Realised PnL before fees, in tick-lots (exact)."""
        s = self.state
        return s.flow_units + s.position_lots * self.avg_entry_ticks

    @property
    def realised_pnl_e8(self) -> int:
        """Realised PnL before fees, e8, rounded down."""
        return self.instrument.floor_e8(self.realised_units)

    @property
    def fees_e8(self) -> int:
        return self.state.fees_e8

    @property
    def cash_e8(self) -> int:
        """Wallet balance: capital + realised PnL - fees (a perpetual's margin balance before
        unrealised PnL)."""
        return self.state.capital_e8 + self.realised_pnl_e8 - self.state.fees_e8

    def unrealised_e8(self, mark_ticks: int | Fraction) -> int:
        """PnL of the open position marked at ``mark_ticks``, e8, rounded down."""
        s = self.state
        return self.instrument.floor_e8(s.position_lots * (mark_ticks - self.avg_entry_ticks))

    def equity_e8(self, mark_ticks: int | Fraction) -> int:
        """Capital + every fill's cash flow + the position at ``mark_ticks`` - fees; e8,
        rounded down once on the exact total."""
        s = self.state
        total = self.instrument.floor_e8(s.flow_units + s.position_lots * mark_ticks)
        return s.capital_e8 + total - s.fees_e8

    def mid_equity_e8(self, best_bid: int, best_ask: int) -> int:
        """Equity marked at the mid (for display only: see the module doc)."""
        return self.equity_e8(Fraction(best_bid + best_ask, 2))

    def position_notional_e8(self, mark_ticks: int | Fraction) -> Fraction:
        """|position| valued at ``mark_ticks`` (exact)."""
        return self.instrument.notional_e8(abs(self.state.position_lots) * mark_ticks)
