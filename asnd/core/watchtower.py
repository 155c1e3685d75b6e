"""The watchtower: pre-trade review of every intent, sudden death, kill and flatten.

Review (``review``), in this order; the first failing rule is the verdict's reason:

- A liquidation (an intent whose link id a ``Liquidation`` event named) passes if it is a
  reduce-only order against the slot's position and no larger than it, whatever the state,
  the halt or the book: taking risk off never waits.
- Everything else is refused when trading is halted, when the slot is not ACTIVE (dead,
  reducing or halted: "nothing a dead model does reaches the venue"), when the symbol is not
  the slot's, when the intent is malformed, when the instrument is unknown, when the book is
  stale, one-sided or crossed, when the slot already has ``max_open_orders`` other orders, or
  when the worst-case position after it (every working buy filled, or every sell) is worth
  more than ``max_notional_e8`` at the order's price (market orders: the far touch).
- A ``CancelIntent`` always passes (``review_cancel``).

Sudden death (``sudden_death``): a slot whose equity at the conservative mark is at or below
zero gets a ``ModelDead``, a ``CancelIntent`` for each working order and, if it holds a
position, a ``Liquidation`` plus a reduce-only market IOC ``OrderIntent`` for all of it. The
slot is then REDUCING towards DEAD; if the liquidation leaves a remainder (IOC partial, a
late fill), the next book event issues another, up to ``max_liquidation_attempts``, after
which trading halts for an operator.

Kill (``Kill``, slot or -1 = all) reduces towards HALTED the same way (flatten or only cancel
per ``kill_mode``); ``Resume`` re-activates a halted slot, never a dead one. A risk brake
(``asnd.core.brakes``: ``max_daily_loss``, ``max_drawdown``; ``brakes`` here are the daemon-wide
ones, each slot's are in its config) always flattens. Why and since when the daemon stopped is
``note`` (a ``HaltNote``); ``asnd.core.halts`` says what lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from asnd.core.brakes import NO_BRAKES, BrakeLimits, BrakeState, HaltNote
from asnd.core.instrument import E8
from asnd.core.kernel.views import BookView
from asnd.core.link_id import make_link_id
from asnd.core.slot import Slot, SlotStatus, cancel_intent, side_of
from journal.events import (
    BUY,
    SELL,
    CancelIntent,
    Event,
    Liquidation,
    ModelDead,
    OrderIntent,
    RiskVerdict,
)

__all__ = ["RiskLimits", "Watchtower"]

_ORDER_TYPES = frozenset({"limit", "market"})
_TIFS = frozenset({"GTC", "IOC", "FOK", "PostOnly"})


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Pre-trade limits. ``kill_mode``: "flatten" (cancel and close positions) or "cancel"."""

    max_notional_e8: int = 1000 * E8
    max_open_orders: int = 4
    kill_mode: Literal["flatten", "cancel"] = "flatten"
    max_liquidation_attempts: int = 3
    brakes: BrakeLimits = NO_BRAKES  # daemon-wide: on the sum of the slots' equities

    def __post_init__(self) -> None:
        if self.max_notional_e8 <= 0 or self.max_open_orders < 1:
            raise ValueError("RiskLimits: max_notional_e8 > 0 and max_open_orders >= 1")
        if self.kill_mode not in ("flatten", "cancel"):
            raise ValueError("RiskLimits.kill_mode must be 'flatten' or 'cancel'")
        if self.max_liquidation_attempts < 1:
            raise ValueError("RiskLimits.max_liquidation_attempts must be at least 1")

    @classmethod
    def from_decimals(
        cls,
        *,
        max_notional: Decimal,
        max_open_orders: int,
        kill_mode: Literal["flatten", "cancel"] = "flatten",
        brakes: BrakeLimits = NO_BRAKES,
    ) -> RiskLimits:
        """From the daemon config (``max_notional`` in quote currency); rounded down to e8."""
        return cls(int(max_notional * E8), max_open_orders, kill_mode, brakes=brakes)


class Watchtower:
    """The risk rules and the global halt flag (with its ``note``) and daemon-wide brake."""

    __slots__ = ("brake", "halt_reason", "halted", "limits", "namespace", "note")

    def __init__(self, limits: RiskLimits, capital_e8: int = 0) -> None:
        self.limits = limits
        self.namespace = ""  # the journal's link-id namespace, once ``LinkNamespace`` is folded
        self.halted = False
        self.halt_reason = ""
        self.note = HaltNote()
        self.brake = BrakeState(capital_e8)

    def halt(self, note: HaltNote) -> None:
        """Halt all trading; a repeated halt with the same reason keeps the first time."""
        if not (self.halted and self.halt_reason == note.reason):
            self.note = note
        self.halted = True
        self.halt_reason = note.reason

    def lift(self) -> None:
        self.halted = False
        self.halt_reason = ""
        self.note = HaltNote()

    # -------------------------------------------------------------------------------- review

    def review(self, intent: OrderIntent, slot: Slot | None, book: BookView | None) -> RiskVerdict:
        """The verdict on a journaled intent (already registered in ``slot.orders``)."""
        reason = self._refusal(intent, slot, book)
        return RiskVerdict(
            0, intent.ts_local_ns, intent.slot, intent.seq, not reason, reason or "ok"
        )

    def review_cancel(self, intent: CancelIntent) -> RiskVerdict:
        return RiskVerdict(0, intent.ts_local_ns, intent.slot, intent.seq, True, "cancel")

    def _refusal(self, intent: OrderIntent, slot: Slot | None, book: BookView | None) -> str:
        if slot is None:
            return f"unknown slot {intent.slot}"
        if intent.link_id in slot.liquidations:
            return _liquidation_refusal(intent, slot)
        if self.halted:
            return f"trading halted: {self.halt_reason}"
        if slot.status is not SlotStatus.ACTIVE:
            return f"slot {slot.index} is {slot.status.value}"
        if intent.symbol != slot.symbol:
            return f"symbol {intent.symbol!r} is not the slot's {slot.symbol!r}"
        malformed = _malformed(intent)
        if malformed:
            return f"malformed intent: {malformed}"
        instrument = slot.instrument
        if instrument is None or slot.ledger is None:
            return f"no instrument info for {slot.symbol}"
        if book is None or book.stale:
            return f"book stale: {book.stale_reason if book else 'no book'}"
        best_bid, best_ask = book.best_bid, book.best_ask
        if best_bid is None or best_ask is None:
            return "book is one-sided"
        if best_bid[0] >= best_ask[0]:
            return "book crossed"
        others = len(slot.orders) - (intent.link_id in slot.orders)
        if others >= self.limits.max_open_orders:
            return f"{others} open orders (max {self.limits.max_open_orders})"
        pos = slot.ledger.position_lots
        if intent.reduce_only:
            if side_of(pos) != -intent.side or intent.qty_lots > abs(pos):
                return "reduce-only order would not reduce the position"
            return ""
        buys = sum(o.leaves_lots for o in slot.orders.values() if o.side == BUY)
        sells = sum(o.leaves_lots for o in slot.orders.values() if o.side == SELL)
        worst = max(abs(pos + buys), abs(pos - sells))
        if intent.order_type == "market":
            price = best_ask[0] if intent.side == BUY else best_bid[0]
        else:
            price = intent.price_ticks
        notional = instrument.notional_e8(worst * price)
        if notional > self.limits.max_notional_e8:
            return (
                f"notional {_usd(notional)} USDT would exceed the slot's max "
                f"{_usd(self.limits.max_notional_e8)} USDT"
            )
        return ""

    # ----------------------------------------------------------------- death, kill, flatten

    def sudden_death(self, slot: Slot, trigger: Event, equity_e8: int) -> list[Event]:
        """Decisions when ``slot``'s equity is at or below zero."""
        out: list[Event] = [ModelDead(0, trigger.ts_local_ns, slot.index, equity_e8)]
        out.extend(self.flatten(slot, trigger, "sudden death", close=True))
        return out

    def flatten(self, slot: Slot, trigger: Event, reason: str, *, close: bool) -> list[Event]:
        """Cancel every working order of ``slot`` (liquidations excepted) and, with
        ``close``, liquidate its position unless a liquidation is already working."""
        out: list[Event] = [
            cancel_intent(slot, o, trigger, reason)
            for o in slot.orders.values()
            if not o.cancel_requested and not o.liquidation
        ]
        if close and not any(o.liquidation for o in slot.orders.values()):
            out.extend(self.liquidate(slot, trigger))
        return out

    def liquidate(self, slot: Slot, trigger: Event) -> list[Event]:
        """A ``Liquidation`` and its reduce-only market IOC for the whole position."""
        ledger = slot.ledger
        if ledger is None or ledger.position_lots == 0:
            return []
        qty = abs(ledger.position_lots)
        link = make_link_id(slot.index, slot.intents, self.namespace)
        ts = trigger.ts_local_ns
        return [
            Liquidation(0, ts, slot.index, slot.symbol, link, qty),
            OrderIntent(
                0, ts, slot.index, slot.symbol, link, -side_of(ledger.position_lots),
                "market", "IOC", 0, qty, True, trigger.seq,
            ),
        ]  # fmt: skip


def _liquidation_refusal(intent: OrderIntent, slot: Slot) -> str:
    pos = 0 if slot.ledger is None else slot.ledger.position_lots
    if intent.symbol != slot.symbol:
        return f"liquidation on {intent.symbol!r}, not the slot's {slot.symbol!r}"
    if not intent.reduce_only:
        return "liquidation must be reduce-only"
    if side_of(pos) != -intent.side or not 0 < intent.qty_lots <= abs(pos):
        return f"liquidation of {intent.qty_lots} lots does not reduce a position of {pos}"
    return ""


def _malformed(intent: OrderIntent) -> str:
    if intent.side not in (BUY, SELL):
        return f"side {intent.side}"
    if intent.order_type not in _ORDER_TYPES:
        return f"order type {intent.order_type!r}"
    if intent.tif not in _TIFS:
        return f"time in force {intent.tif!r}"
    if intent.qty_lots <= 0:
        return f"quantity {intent.qty_lots}"
    if intent.order_type == "limit" and intent.price_ticks <= 0:
        return f"limit price {intent.price_ticks}"
    return ""


def _usd(e8: Fraction | int) -> str:
    return f"{float(Fraction(e8) / E8):.2f}"
