"""An instrument's grid and the exact value of its integer units in quote money.

Prices are integer ticks, sizes integer lots, money integer quote currency * 1e8 (``*_e8``).
One lot at one tick is worth ``tick_size * lot_size * 1e8`` e8: a rational kept as an integer
numerator and denominator (``unit_num / unit_den``), so a notional is one multiplication and
any rounding happens once, where the caller says (never silently per fill).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from journal.decimals import Scale, to_units
from journal.events import InstrumentInfo

__all__ = ["E8", "Instrument", "ceil_div", "e8_of"]

E8 = 10**8


def ceil_div(num: int, den: int) -> int:
    """``ceil(num / den)`` in exact integers (``den`` > 0)."""
    return -((-num) // den)


def e8_of(text: str) -> int:
    """A decimal amount of quote currency ("200", "0.5") as an integer * 1e8. Exact or fails."""
    return to_units(text, 8)


@dataclass(frozen=True, slots=True)
class Instrument:
    """The trading rules of one symbol, as integers."""

    symbol: str
    tick_size: str
    lot_size: str
    min_qty_lots: int = 0
    min_notional_e8: int = 0
    unit_num: int = field(init=False, repr=False, compare=False)
    unit_den: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unit = Fraction(self.tick_size) * Fraction(self.lot_size) * E8
        if unit <= 0:
            raise ValueError(f"{self.symbol}: tick_size and lot_size must be positive")
        object.__setattr__(self, "unit_num", unit.numerator)
        object.__setattr__(self, "unit_den", unit.denominator)

    @classmethod
    def from_info(cls, info: InstrumentInfo) -> Instrument:
        """From the journaled ``InstrumentInfo``; raises ValueError on an unusable grid."""
        # A minimum off the lot grid is rounded up: the minimum may grow, never shrink.
        q, step = Fraction(info.min_qty), Fraction(info.lot_size)
        min_lots = ceil_div(q.numerator * step.denominator, q.denominator * step.numerator)
        # min_notional likewise: rounded up to whole e8.
        n = Fraction(info.min_notional) * E8
        return cls(
            info.symbol,
            info.tick_size,
            info.lot_size,
            max(min_lots, 0),
            max(ceil_div(n.numerator, n.denominator), 0),
        )

    def lots(self, qty: str) -> int:
        """A quantity in base currency ("0.001") as whole lots; off-grid raises."""
        return Scale(self.lot_size).count(qty)

    def notional_e8(self, units: int | Fraction) -> Fraction:
        """The exact e8 value of ``units`` tick-lots (price_ticks * qty_lots)."""
        return Fraction(units * self.unit_num, self.unit_den)

    def floor_e8(self, units: int | Fraction) -> int:
        """``units`` tick-lots in e8, rounded down (towards -inf): never overstates money."""
        if isinstance(units, int):  # the common case (an integer mark): no Fraction
            return (units * self.unit_num) // self.unit_den
        value = units * self.unit_num
        return value.numerator // (value.denominator * self.unit_den)
