"""Round trips from one slot's fills: FIFO matching, in exact integers.

A fill that reduces the position closes the oldest open entries first; a close smaller than
an entry splits it (the rest stays open), one larger than the position flips it (the rest
opens a new entry). Each round trip carries its share of both fills' fees, split by
quantity with the remainder on the last share, so the round trips' fees add up to the
fills' fees exactly. Gross PnL is ``(exit - entry) x qty`` ticks x lots in quote money,
rounded down to 1e-8 (as the instrument's ``floor_e8``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from asnd.core.instrument import Instrument

__all__ = ["RoundTrip", "RoundTrips"]


@dataclass(frozen=True, slots=True)
class RoundTrip:
    direction: int  # +1 long (bought first), -1 short
    entry_ns: int
    entry_ticks: int
    exit_ns: int
    exit_ticks: int
    qty_lots: int
    gross_e8: int
    fees_e8: int

    @property
    def net_e8(self) -> int:
        return self.gross_e8 - self.fees_e8


@dataclass(slots=True)
class _Entry:
    ts_ns: int
    price_ticks: int
    lots: int
    fee_e8: int  # the part of the entry fill's fee not yet given to a round trip


def _share(fee_e8: int, lots: int, of_lots: int) -> int:
    """``lots`` of ``of_lots``'s share of ``fee_e8``; all of it for the last lots."""
    return fee_e8 if lots == of_lots else fee_e8 * lots // of_lots


class RoundTrips:
    """The open entries of one slot and the round trips its fills close."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self._open: deque[_Entry] = deque()
        self._direction = 0  # of the open entries

    @property
    def open_lots(self) -> int:
        """The open position by this matching (signed lots)."""
        return self._direction * sum(e.lots for e in self._open)

    def fill(
        self, ts_ns: int, side: int, price_ticks: int, qty_lots: int, fee_e8: int
    ) -> list[RoundTrip]:
        """Apply one fill (``side`` +1 buy, -1 sell); the round trips it closes."""
        closed: list[RoundTrip] = []
        lots, fee = qty_lots, fee_e8
        while lots > 0 and self._open and self._direction == -side:
            entry = self._open[0]
            k = min(lots, entry.lots)
            entry_fee = _share(entry.fee_e8, k, entry.lots)
            exit_fee = _share(fee, k, lots)
            units = self._direction * (price_ticks - entry.price_ticks) * k
            closed.append(
                RoundTrip(self._direction, entry.ts_ns, entry.price_ticks, ts_ns, price_ticks,
                          k, self.instrument.floor_e8(units), entry_fee + exit_fee)
            )  # fmt: skip
            entry.lots -= k
            entry.fee_e8 -= entry_fee
            lots -= k
            fee -= exit_fee
            if entry.lots == 0:
                self._open.popleft()
        if lots > 0:
            self._direction = side
            self._open.append(_Entry(ts_ns, price_ticks, lots, fee))
        elif not self._open:
            self._direction = 0
        return closed
