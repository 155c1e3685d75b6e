"""From a strategy's two outputs to an order: side from ``signal``, quantity from ``size``.

- Side: ``signal > params.entry_long`` buys, ``signal < params.entry_short`` sells, anything
  in between (or a non-finite signal) does nothing.
- Quantity: ``size`` is squashed by the logistic function into (0, 1), mapped into the
  strategy's ``size_range`` fraction and from there into the slot's [min, max] quantity in lots,
  rounded down to whole lots; then capped so that its notional at ``price_ticks`` stays within
  the slot's capital times leverage (exact rational arithmetic: no float touches money).
- Nothing below the venue's minimum order quantity or minimum notional is sent.

Every "no order" carries its reason, so the model can journal why it stood still.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from asnd.core.strategy.document import StrategyParams
from journal.events import BUY, SELL

__all__ = ["Decision", "SlotSizing", "decide", "squash"]

_E8 = 10**8


@dataclass(frozen=True, slots=True)
class SlotSizing:
    """A slot's order-size rules, in the instrument's exact units.

    ``capital_e8`` is what the slot may commit, in quote currency * 1e8 (its equity);
    ``tick_size``/``lot_size`` are the instrument's decimal strings, which give the notional
    of one lot at a price in ticks.
    """

    min_qty_lots: int
    max_qty_lots: int
    capital_e8: int
    tick_size: str
    lot_size: str
    leverage: Fraction | int = 1
    min_order_lots: int = 1
    min_notional_e8: int = 0
    # One lot at one tick is worth _unit_num / _unit_den quote * 1e8: integers, so that sizing
    # is exact and cheap (no Fraction per decision).
    _unit_num: int = field(init=False, repr=False, compare=False)
    _unit_den: int = field(init=False, repr=False, compare=False)
    _lev_num: int = field(init=False, repr=False, compare=False)
    _lev_den: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.min_qty_lots <= self.max_qty_lots:
            raise ValueError("SlotSizing needs 0 <= min_qty_lots <= max_qty_lots")
        if self.leverage <= 0:
            raise ValueError("SlotSizing.leverage must be positive")
        unit = Fraction(self.tick_size) * Fraction(self.lot_size) * _E8
        if unit <= 0:
            raise ValueError("SlotSizing tick_size and lot_size must be positive")
        object.__setattr__(self, "_unit_num", unit.numerator)
        object.__setattr__(self, "_unit_den", unit.denominator)
        leverage = Fraction(self.leverage)
        object.__setattr__(self, "_lev_num", leverage.numerator)
        object.__setattr__(self, "_lev_den", leverage.denominator)

    def with_capital(self, capital_e8: int) -> SlotSizing:
        """The same rules with another capital (the slot's equity moves with every mark):
        a copy that keeps the derived unit instead of recomputing it with Fractions."""
        copy = object.__new__(SlotSizing)
        for name in _SIZING_FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "capital_e8", capital_e8)
        return copy

    def lot_notional_e8(self, price_ticks: int) -> Fraction:
        """Value of one lot at ``price_ticks``, in quote currency * 1e8 (exact)."""
        return Fraction(price_ticks * self._unit_num, self._unit_den)

    def affordable_lots(self, price_ticks: int) -> int:
        """Whole lots whose notional at ``price_ticks`` fits in capital times leverage."""
        return (self.capital_e8 * self._lev_num * self._unit_den) // (
            self._lev_den * price_ticks * self._unit_num
        )

    def below_min_notional(self, qty_lots: int, price_ticks: int) -> bool:
        return qty_lots * price_ticks * self._unit_num < self.min_notional_e8 * self._unit_den


_SIZING_FIELDS: tuple[str, ...] = SlotSizing.__slots__


@dataclass(frozen=True, slots=True)
class Decision:
    """``side`` BUY/SELL with ``qty_lots`` > 0 to send an order; side 0 and a reason if not."""

    side: int
    qty_lots: int
    reason: str = ""

    @property
    def is_order(self) -> bool:
        return self.side != 0 and self.qty_lots > 0


def squash(size: float) -> float:
    """The logistic function, 1 / (1 + e^-size), without overflow for any float."""
    if size >= 0.0:
        return 1.0 / (1.0 + math.exp(-size))
    z = math.exp(size)
    return z / (1.0 + z)


def decide(
    signal: float, size: float, params: StrategyParams, sizing: SlotSizing, price_ticks: int
) -> Decision:
    """The order (or the reason for none) for one evaluation of a strategy.

    ``price_ticks`` is the price the order would trade at (best ask to buy, best bid to sell).
    """
    if not math.isfinite(signal):
        return Decision(0, 0, "signal is not finite")
    if signal > params.entry_long:
        side = BUY
    elif signal < params.entry_short:
        side = SELL
    else:
        return Decision(0, 0, "signal inside the entry band")
    if math.isnan(size):
        return Decision(0, 0, "size is NaN")
    if price_ticks <= 0:
        return Decision(0, 0, "no positive price to size against")
    fraction = params.size_min + (params.size_max - params.size_min) * squash(size)
    span = sizing.max_qty_lots - sizing.min_qty_lots
    qty = min(sizing.min_qty_lots + math.floor(fraction * span), sizing.max_qty_lots)
    qty = min(qty, max(sizing.affordable_lots(price_ticks), 0))
    if qty < max(sizing.min_order_lots, 1):
        return Decision(0, 0, f"{qty} lots is below the minimum order size")
    if sizing.below_min_notional(qty, price_ticks):
        return Decision(0, 0, f"{qty} lots is below the minimum notional")
    return Decision(side, qty)
