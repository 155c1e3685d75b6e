"""One model slot: a symbol, a champion strategy, its sizing, its ledger and working orders.

The trading policy (what a model does with each feature row of its symbol):

1. Evaluate the strategy (scalar path) and emit a ``Signal`` -- on every row, whatever the
   slot's state, so the journal shows what the model thought even when it may not trade.
2. Trade only when the slot is ACTIVE, trading is not halted, the instrument is known and the
   book is valid (rows only exist for a valid book: not stale, both sides present).
3. The decision is a *target position*, not a trade: ``decide()`` gives the side and the
   quantity; the slot wants ``side * qty`` lots and orders the difference from its position
   (a flip is one order through zero). Inside the entry band the slot holds. So a stream of
   buy signals cannot pyramid a position past the slot's max quantity.
4. At most one working order per slot, and no new intent while any order is awaiting review,
   acceptance, a cancel, or is unresolved: the slot never stacks intents.
5. Order style (per slot config): "join" -- a GTC limit at the own-side touch (best bid to
   buy, best ask to sell), a maker order; when the touch moves away from it, or the signal
   turns to the other side, the slot asks to cancel it and re-decides once it is gone.
   "cross" -- an IOC limit at the far touch (best ask to buy), a taker order that fills what
   it can at once and never rests.
6. Sizing is against the best ask (the dearer touch), with the slot's equity (conservative
   mark, floored at 0) as capital: a losing slot trades smaller.

Link ids: ``asn-{namespace}-{slot}-{n}`` with ``n`` the slot's intent counter
(``asnd.core.link_id``); ``prefix`` in the trading calls is the journal's namespace.

State changes only when an event is applied (``apply_*`` below), never when a decision is
made: a decision becomes state when it comes back through the journal (``DaemonState``).
"""

from __future__ import annotations

import enum
import hashlib
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import msgspec

from asnd.core.brakes import NO_BRAKES, BrakeLimits, BrakeState, HaltNote
from asnd.core.features import FeatureRow
from asnd.core.instrument import E8, Instrument
from asnd.core.kernel.views import BookView
from asnd.core.ledger import FeeSchedule, Ledger, LedgerState, conservative_mark
from asnd.core.link_id import make_link_id
from asnd.core.strategy import (
    CompiledStrategy,
    SlotSizing,
    StrategyError,
    compile_strategy,
    decide,
    parse_strategy,
)
from journal.events import BUY, SELL, CancelIntent, Event, OrderIntent, Signal, StrategyLoaded

__all__ = [
    "LastSignal",
    "FinishedOrder",
    "Slot",
    "SlotConfig",
    "SlotState",
    "SlotStatus",
    "WorkingOrder",
    "cancel_intent",
    "side_of",
    "strategy_loaded",
]

#: How many recent exec ids a slot remembers to drop a fill the venue sends twice.
EXEC_ID_MEMORY = 4096
#: How many finished orders a slot remembers, to tell a late event for one from an anomaly.
FINISHED_MEMORY = 256


class SlotStatus(enum.Enum):
    ACTIVE = "active"  # trading
    REDUCING = "reducing"  # cancelling and (maybe) flattening; then ``goal``
    DEAD = "dead"  # sudden death: never trades again
    HALTED = "halted"  # killed by an operator: ``Resume`` re-activates it


@dataclass(frozen=True, slots=True)
class SlotConfig:
    """A slot's configuration. Quantities are decimal strings in base currency (as the config
    file states them); they become lots once the instrument's lot size is known."""

    symbol: str
    min_qty: str
    max_qty: str
    capital_e8: int = 200 * E8
    leverage: Fraction | int = 1
    order_style: Literal["join", "cross"] = "join"
    brakes: BrakeLimits = NO_BRAKES  # the slot's max_daily_loss / max_drawdown

    def __post_init__(self) -> None:
        if self.capital_e8 <= 0:
            raise ValueError(f"slot {self.symbol}: capital must be positive")
        if self.order_style not in ("join", "cross"):
            raise ValueError(f"slot {self.symbol}: order_style must be 'join' or 'cross'")
        try:
            lo, hi = Fraction(self.min_qty), Fraction(self.max_qty)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"slot {self.symbol}: min_qty and max_qty must be decimals") from None
        if not 0 <= lo <= hi or hi == 0:
            raise ValueError(f"slot {self.symbol}: needs 0 <= min_qty <= max_qty and max_qty > 0")
        if self.leverage <= 0:
            raise ValueError(f"slot {self.symbol}: leverage must be positive")

    @classmethod
    def from_decimals(
        cls,
        symbol: str,
        *,
        capital: Decimal,
        min_qty: Decimal,
        max_qty: Decimal,
        leverage: Decimal = Decimal(1),
        order_style: Literal["join", "cross"] = "join",
        brakes: BrakeLimits = NO_BRAKES,
    ) -> SlotConfig:
        """From the daemon config's decimals (capital in quote currency, quantities in base
        currency); ValueError if the capital has more than 8 decimals."""
        capital_e8 = capital * E8
        if capital_e8 != capital_e8.to_integral_value():
            raise ValueError(f"slot {symbol}: capital {capital} has more than 8 decimals")
        return cls(
            symbol,
            format(min_qty, "f"),
            format(max_qty, "f"),
            int(capital_e8),
            Fraction(leverage),
            order_style,
            brakes,
        )


class WorkingOrder(msgspec.Struct, array_like=True, gc=False):
    """One of the slot's orders from intent to its end (filled, cancelled, rejected).

    ``state``: "review" (journaled, awaiting the watchtower), "approved", "sent", "open"
    (accepted by the venue), "unresolved" (outcome unknown until reconciled).
    """

    link_id: str
    side: int
    order_type: str
    tif: str
    price_ticks: int
    qty_lots: int
    leaves_lots: int
    reduce_only: bool
    intent_seq: int
    state: str = "review"
    venue_order_id: str = ""
    cancel_requested: bool = False
    liquidation: bool = False


class FinishedOrder(msgspec.Struct, array_like=True, gc=False):
    """An order that ended, remembered so a later event for it is judged, not guessed.

    ``how``: "filled", "cancelled", "rejected", "refused" (by the watchtower: never sent) or
    the venue's word in an ``OrderReconciled`` ("not_found", ...). ``owed_lots``: what the
    venue may still report filled -- a fill that raced our cancel, or one the venue counted
    (a cancel or lookup said so) that has not reached us yet. Nothing more can be legitimate.
    """

    link_id: str
    how: str
    owed_lots: int


class LastSignal(msgspec.Struct, array_like=True, gc=False):
    signal: float
    size: float
    trigger_seq: int


class SlotState(msgspec.Struct, array_like=True, gc=False):
    """Everything a slot must remember across a restart (the snapshot form)."""

    status: str
    goal: str
    flatten: bool
    intents: int
    liquidation_attempts: int
    ledger: LedgerState | None
    orders: list[WorkingOrder]
    liquidations: list[str]
    strategy_document: str
    strategy_error: str
    last_signal: LastSignal | None
    exec_ids: list[str]
    halt: HaltNote
    brake: BrakeState
    finished: list[FinishedOrder] = []


class Slot:
    """The model of one slot. ``DaemonState`` routes events to it by slot index."""

    __slots__ = (
        "_exec_set",
        "_fees",
        "_sizing",
        "brake",
        "config",
        "exec_ids",
        "finished",
        "flatten",
        "goal",
        "halt",
        "index",
        "instrument",
        "intents",
        "last_signal",
        "ledger",
        "liquidation_attempts",
        "liquidations",
        "orders",
        "status",
        "strategy",
        "strategy_document",
        "strategy_error",
    )

    def __init__(self, index: int, config: SlotConfig, fees: FeeSchedule) -> None:
        self.index = index
        self.config = config
        self._fees = fees
        self.status = SlotStatus.ACTIVE
        self.goal = SlotStatus.ACTIVE  # where REDUCING ends
        self.flatten = False  # REDUCING also closes the position
        self.intents = 0
        self.liquidation_attempts = 0
        self.instrument: Instrument | None = None
        self.ledger: Ledger | None = None
        self.orders: dict[str, WorkingOrder] = {}
        self.finished: dict[str, FinishedOrder] = {}  # link_id -> how it ended, oldest first
        self.liquidations: list[str] = []  # link ids the watchtower issued as liquidations
        self.strategy: CompiledStrategy | None = None
        self.strategy_document = ""
        self.strategy_error = ""
        self.last_signal: LastSignal | Signal | None = None
        self.exec_ids: deque[str] = deque()
        self._exec_set: set[str] = set()
        self._sizing: SlotSizing | None = None
        #: Why the slot stopped (kill, death, brake); cleared when it trades again.
        self.halt = HaltNote()
        self.brake = BrakeState(config.capital_e8)

    @property
    def symbol(self) -> str:
        return self.config.symbol

    # ------------------------------------------------------------------------ configuration

    def set_instrument(self, instrument: Instrument) -> str:
        """Install the instrument (first ``InstrumentInfo``); returns an error text or ""."""
        if self.instrument is not None:
            if self.instrument != instrument:
                return f"slot {self.index}: instrument {instrument.symbol} changed its grid"
            return ""
        try:
            min_lots = instrument.lots(self.config.min_qty)
            max_lots = instrument.lots(self.config.max_qty)
            self._sizing = SlotSizing(
                min_qty_lots=min_lots,
                max_qty_lots=max_lots,
                capital_e8=self.config.capital_e8,
                tick_size=instrument.tick_size,
                lot_size=instrument.lot_size,
                leverage=self.config.leverage,
                min_order_lots=max(instrument.min_qty_lots, 1),
                min_notional_e8=instrument.min_notional_e8,
            )
        except ValueError as exc:
            return f"slot {self.index}: cannot size orders on {instrument.symbol}: {exc}"
        self.instrument = instrument
        if self.ledger is None:
            self.ledger = Ledger(instrument, self.config.capital_e8, self._fees)
        else:  # restored before the instrument: rebind the numbers to it
            self.ledger = _rebind(self.ledger.state, instrument, self._fees)
        return ""

    def load_strategy(self, document: str) -> str:
        """Parse and compile a strategy document; returns an error text or "" (the old
        strategy stays in force on error)."""
        try:
            doc = parse_strategy(document)
        except StrategyError as exc:
            self.strategy_error = str(exc)
            return f"slot {self.index}: strategy refused: {exc}"
        self.strategy = compile_strategy(doc)
        # The kernel compiles (or loads its cache) now, not on the first market event.
        self.strategy.evaluate((0.0,) * len(self.strategy.columns))
        self.strategy_document = document
        self.strategy_error = ""
        return ""

    # ------------------------------------------------------------------------------ reading

    def equity_e8(self, touch: tuple[int, int] | None) -> int | None:
        """Equity at the conservative mark of ``touch`` (best bid, best ask); None unknown."""
        ledger = self.ledger
        if ledger is None:
            return None
        if touch is None:
            return ledger.cash_e8 if ledger.position_lots == 0 else None
        mark = conservative_mark(ledger.position_lots, touch[0], touch[1])
        return None if mark is None else ledger.equity_e8(mark)

    # ------------------------------------------------------------------------------ policy

    def on_row(
        self, trigger: Event, row: FeatureRow, book: BookView, *, may_trade: bool, prefix: str
    ) -> list[Event]:
        """The slot's decisions on one feature row of its symbol (see the module doc)."""
        strategy = self.strategy
        if strategy is None:
            return []
        signal, size = strategy.evaluate(row)
        out: list[Event] = [
            Signal(
                0, trigger.ts_local_ns, self.index, self.symbol, strategy.document.id,
                signal, size, trigger.seq,
            )
        ]  # fmt: skip
        if may_trade and self.status is SlotStatus.ACTIVE:
            out.extend(self._trade(trigger, signal, size, book, prefix))
        return out

    def _trade(
        self, trigger: Event, signal: float, size: float, book: BookView, prefix: str
    ) -> list[Event]:
        ledger, sizing, strategy = self.ledger, self._sizing, self.strategy
        best_bid, best_ask = book.best_bid, book.best_ask
        if ledger is None or sizing is None or strategy is None:
            return []
        if best_bid is None or best_ask is None:
            return []
        bid, ask = best_bid[0], best_ask[0]
        params = strategy.document.params
        wanted = BUY if signal > params.entry_long else SELL if signal < params.entry_short else 0
        if self.orders:
            return self._manage(trigger, wanted, bid, ask)
        if not wanted:
            return []  # inside the entry band (or NaN): ``decide`` would say so; skip sizing
        equity = self.equity_e8((bid, ask))
        capital = max(equity or 0, 0)
        if sizing.capital_e8 != capital:
            sizing = self._sizing = sizing.with_capital(capital)
        decision = decide(signal, size, params, sizing, ask)
        if not decision.is_order:
            return []
        delta = decision.side * decision.qty_lots - ledger.position_lots
        if delta * decision.side <= 0:
            return []  # already at (or beyond) the target on that side
        join = self.config.order_style == "join"
        side = decision.side
        price = (bid if side == BUY else ask) if join else (ask if side == BUY else bid)
        link = make_link_id(self.index, self.intents, prefix)
        return [
            OrderIntent(
                0, trigger.ts_local_ns, self.index, self.symbol, link, side, "limit",
                "GTC" if join else "IOC", price, abs(delta), False, trigger.seq,
            )
        ]  # fmt: skip

    def _manage(self, trigger: Event, wanted_side: int, bid: int, ask: int) -> list[Event]:
        """With an order working: wait, or ask to cancel a resting order that went stale."""
        out: list[Event] = []
        for order in self.orders.values():
            if order.state != "open" or order.cancel_requested or order.liquidation:
                return []  # something is in flight: do nothing until it resolves
            touch = bid if order.side == BUY else ask
            if self.config.order_style == "join" and order.price_ticks != touch:
                out.append(cancel_intent(self, order, trigger, "touch moved"))
            elif wanted_side == -order.side:
                out.append(cancel_intent(self, order, trigger, "signal reversed"))
        return out

    # ---------------------------------------------------------------------- applying events

    def apply_signal(self, event: Signal) -> None:
        # The event itself (it has the three fields): one allocation fewer per signal.
        self.last_signal = event

    def apply_intent(self, intent: OrderIntent) -> None:
        """Journaled intent: the order exists (awaiting review) and the counter moves on."""
        self.intents += 1
        self.orders[intent.link_id] = WorkingOrder(
            intent.link_id,
            intent.side,
            intent.order_type,
            intent.tif,
            intent.price_ticks,
            intent.qty_lots,
            intent.qty_lots,
            intent.reduce_only,
            intent.seq,
            liquidation=intent.link_id in self.liquidations,
        )

    def remember_exec(self, exec_id: str) -> bool:
        """False if ``exec_id`` was seen already (a duplicate fill)."""
        if exec_id in self._exec_set:
            return False
        self._exec_set.add(exec_id)
        self.exec_ids.append(exec_id)
        if len(self.exec_ids) > EXEC_ID_MEMORY:
            self._exec_set.discard(self.exec_ids.popleft())
        return True

    def finish(self, link_id: str, how: str, owed_lots: int = 0) -> None:
        """The order ``link_id`` ended (``FinishedOrder``); it no longer works."""
        if self.orders.pop(link_id, None) is not None:
            self.finished.pop(link_id, None)
            self.finished[link_id] = FinishedOrder(link_id, how, max(owed_lots, 0))
            if len(self.finished) > FINISHED_MEMORY:
                del self.finished[next(iter(self.finished))]
        self.settle()

    def start_reducing(self, goal: SlotStatus, *, flatten: bool) -> None:
        if self.status is SlotStatus.DEAD:
            return
        self.status = SlotStatus.REDUCING
        self.goal = goal
        self.flatten = flatten
        self.liquidation_attempts = 0
        self.settle()

    def settle(self) -> None:
        """REDUCING ends at its goal once no order works and (if flattening) it is flat."""
        if self.status is not SlotStatus.REDUCING or self.orders:
            return
        if self.flatten and self.ledger is not None and self.ledger.position_lots != 0:
            return
        self.status = self.goal
        self.flatten = False

    # ----------------------------------------------------------------------------- snapshot

    def export(self) -> SlotState:
        return SlotState(
            self.status.value,
            self.goal.value,
            self.flatten,
            self.intents,
            self.liquidation_attempts,
            None if self.ledger is None else msgspec.structs.replace(self.ledger.state),
            [msgspec.structs.replace(o) for o in self.orders.values()],
            list(self.liquidations),
            self.strategy_document,
            self.strategy_error,
            _last_signal(self.last_signal),
            list(self.exec_ids),
            msgspec.structs.replace(self.halt),
            msgspec.structs.replace(self.brake),
            [msgspec.structs.replace(f) for f in self.finished.values()],
        )

    def load(self, state: SlotState) -> str:
        """Restore from ``export()``'s form; returns an error text or ""."""
        self.status = SlotStatus(state.status)
        self.goal = SlotStatus(state.goal)
        self.flatten = state.flatten
        self.intents = state.intents
        self.liquidation_attempts = state.liquidation_attempts
        self.ledger = None
        if state.ledger is not None:
            if self.instrument is None:
                return f"slot {self.index}: snapshot has a ledger but no instrument"
            self.ledger = _rebind(state.ledger, self.instrument, self._fees)
        self.orders = {o.link_id: o for o in state.orders}
        self.liquidations = list(state.liquidations)
        self.last_signal = state.last_signal
        self.exec_ids = deque(state.exec_ids)
        self._exec_set = set(state.exec_ids)
        self.finished = {f.link_id: f for f in state.finished}
        self.strategy_error = state.strategy_error
        self.halt = msgspec.structs.replace(state.halt)
        self.brake = msgspec.structs.replace(state.brake)
        self.strategy = None
        self.strategy_document = ""
        if state.strategy_document:
            return self.load_strategy(state.strategy_document)
        return ""


def _last_signal(last: LastSignal | Signal | None) -> LastSignal | None:
    if last is None or isinstance(last, LastSignal):
        return last
    return LastSignal(last.signal, last.size, last.trigger_seq)


def _rebind(state: LedgerState, instrument: Instrument, fees: FeeSchedule) -> Ledger:
    ledger = Ledger(instrument, state.capital_e8, fees)
    ledger.state = msgspec.structs.replace(state)
    return ledger


def side_of(position_lots: int) -> int:
    """BUY for a long, SELL for a short, 0 when flat."""
    return (position_lots > 0) - (position_lots < 0)


def strategy_loaded(
    slot: int, document: bytes | str, source: str, ts_local_ns: int
) -> StrategyLoaded:
    """The ``StrategyLoaded`` input that installs ``document`` on ``slot`` -- after validating
    it, so a bad file is refused with ``StrategyError`` before anything is journaled. The
    event carries the whole text (replay needs no files) and its SHA-256."""
    doc = parse_strategy(document)
    raw = document.encode() if isinstance(document, str) else bytes(document)
    text = raw.decode("utf-8")  # parse_strategy accepted it, so it is UTF-8
    digest = hashlib.sha256(raw).hexdigest()
    return StrategyLoaded(0, ts_local_ns, slot, doc.id, digest, source, text)


def cancel_intent(slot: Slot, order: WorkingOrder, trigger: Event, reason: str) -> CancelIntent:
    """The request to cancel ``order`` of ``slot`` because of ``trigger``."""
    return CancelIntent(
        0, trigger.ts_local_ns, slot.index, slot.symbol, order.link_id, reason, trigger.seq
    )
