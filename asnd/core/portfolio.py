"""The whole daemon state as a fold over journal events: slots, books, features, watchtower.

``DaemonState.apply(event) -> decisions`` is the one entry point, for the live daemon, the
backtester and recovery alike. The contract that makes it event-sourced:

- State changes only when an event is applied -- inputs (market data, venue responses,
  operator commands) *and* decisions (signals, intents, verdicts, model deaths). Making a
  decision changes nothing: it becomes state when it is journaled and applied in turn.
- So a caller journals each decision ``apply`` returns and applies it (in the order returned,
  first in first out: ``asnd.core.drive.Loop``) before the next input. Replaying the journal
  then rebuilds exactly the live state, and the decisions ``apply`` returns during replay are
  exactly the ones the journal holds after their cause (the determinism test) -- recovery
  discards them (``drive.replay``). A decision lost in a crash before it was journaled was
  never sent (write-ahead), and the next input decides afresh.
- The watchtower reviews an ``OrderIntent``/``CancelIntent`` when the journaled intent is
  applied, so its ``RiskVerdict`` names the intent's journal seq.
- Decisions carry ``seq=0`` (the journal stamps it) and the ``ts_local_ns`` of the event that
  caused them: the core reads no clock, so replay makes byte-identical decisions.
- Nothing here raises on a well-typed event: an event that cannot apply (a fill for an unknown
  slot, a duplicate exec id, a strategy that fails validation) is recorded in ``anomalies``
  with the reason, and changes nothing else.
- A fill, cancel or amend for an order the slot does not hold open (unknown, or finished:
  ``Slot.finished``) is a disagreement with the venue: noted, and the slot is killed by a
  ``Kill`` decision with the reason. Such a fill is still booked (it happened; flattening must
  close it). Not anomalies: a fill within what a finished order may still owe
  (``FinishedOrder.owed_lots``: it raced our cancel), a cancel reported twice (Bybit does).

For the executor: a ``RiskVerdict`` with ``approved`` names (``intent_seq``) the journaled
``OrderIntent`` to place or ``CancelIntent`` to cancel (``Venue.cancel(symbol, link_id)``);
nothing else goes to the venue. Its answers come back as inputs (``OrderSent``,
``OrderAccepted``/``OrderRejected``, ``Fill``, ``OrderCancelled``, ``OrderUnresolved``,
``OrderReconciled``). After a restart, ``orders_to_reconcile()`` lists the orders whose fate
the journal does not know (approved, sent, unresolved, or open): look each up and journal
an ``OrderReconciled`` (and any missed ``Fill``) before trading resumes.

``snapshot()`` encodes the state (msgpack via msgspec, ``SNAPSHOT_SCHEMA``); ``restore`` on a
fresh state built with the same config continues from it exactly, so recovery replays only
the events after the latest ``StateSnapshot``. Events handled: see ``_HANDLERS``; any other
kind (timers, feed health, lifecycle notes) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from asnd.core.brakes import (
    DAILY_LOSS,
    DRAWDOWN,
    HaltNote,
    daemon_brake,
    money_text,
    roll_days,
    slot_brake,
    utc_day,
)
from asnd.core.features import FeatureConfig, FeatureRow
from asnd.core.halts import HaltKind, halt_text, resume_refusal
from asnd.core.instrument import Instrument
from asnd.core.kernel import BadMarketRecord, MarketKernel
from asnd.core.kernel.layout import O_ASK_PRICE, O_BID_PRICE, O_VALID
from asnd.core.kernel.views import BookView
from asnd.core.ledger import FeeSchedule
from asnd.core.link_id import owns
from asnd.core.slot import Slot, SlotConfig, SlotStatus
from asnd.core.state_codec import SNAPSHOT_SCHEMA, SnapshotError, encode_state, load_state
from asnd.core.watchtower import RiskLimits, Watchtower
from journal.codec import encode
from journal.events import (
    BookDelta,
    BookSnapshot,
    BookStale,
    CancelIntent,
    Event,
    Fill,
    InstrumentInfo,
    Kill,
    LinkNamespace,
    Liquidation,
    ModelDead,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    OrderSent,
    OrderUnresolved,
    PositionReconciled,
    Resume,
    RiskHalt,
    RiskVerdict,
    Signal,
    StateSnapshot,
    StrategyLoaded,
    Swap,
    Trade,
    TradingHalted,
)

__all__ = ["SNAPSHOT_SCHEMA", "CoreConfig", "DaemonState", "SnapshotError"]

#: Anomalies kept (the most recent); ``anomaly_count`` counts all of them.
MAX_ANOMALIES: Final = 100


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """What the fold needs besides events. The same config must be used to restore."""

    slots: tuple[SlotConfig, ...]
    risk: RiskLimits = field(default_factory=RiskLimits)
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    features: FeatureConfig = field(default_factory=FeatureConfig)


class DaemonState:
    """Six (or any number of) slots and everything they read, folded from events."""

    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.slots = [Slot(i, c, config.fees) for i, c in enumerate(config.slots)]
        symbols = sorted({c.symbol for c in config.slots})
        #: The market kernel: every traded symbol's book and features (one per symbol, shared
        #: by everything that reads them); ``books`` are views of its books.
        self.market = MarketKernel(config.features, row_capacity=1)  # one event per call
        self.books = {s: BookView(self.market, s) for s in symbols}
        self.by_symbol = {s: [x for x in self.slots if x.symbol == s] for s in symbols}
        self.instruments: dict[str, Instrument] = {}
        #: Last valid (best bid, best ask) per symbol: the marks while a book is stale.
        self.touch: dict[str, tuple[int, int]] = {}
        capital = sum(c.capital_e8 for c in config.slots)
        self.watchtower = Watchtower(config.risk, capital)
        #: The journal's link-id namespace (``LinkNamespace``); "" for a journal without one.
        self.link_namespace = ""
        # Whether any risk brake (any daily one) is configured: the hot path skips them if not.
        brakes = [c.brakes for c in config.slots] + [config.risk.brakes]
        self._brakes = any(b.any for b in brakes)
        self._daily = any(b.max_daily_loss_e8 is not None for b in brakes)
        self.last_seq = 0
        self.anomalies: list[str] = []
        self.anomaly_count = 0

    # ------------------------------------------------------------------------------- folding

    def apply(self, event: Event) -> list[Event]:
        """Fold one journaled event in; the decisions it leads to (to journal and apply)."""
        self.last_seq = max(self.last_seq, event.seq)
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return []
        if type(event) in _VENUE_ORDER_EVENTS:
            link_id: str = event.link_id  # type: ignore[attr-defined]  # every one has it
            if not owns(link_id, self.link_namespace):
                return self._foreign(event)
        return handler(self, event)

    def owns(self, link_id: str) -> bool:
        """Whether ``link_id`` is of this journal's namespace (``asnd.core.link_id.owns``)."""
        return owns(link_id, self.link_namespace)

    def book(self, symbol: str) -> BookView | None:
        return self.books.get(symbol)

    def equity_e8(self, slot: Slot) -> int | None:
        """The slot's equity at the conservative mark (None before it can be marked)."""
        return slot.equity_e8(self.touch.get(slot.symbol))

    def can_resume(self, slot: int, ts_local_ns: int | None = None) -> str:
        """Why ``Resume(slot)`` at event time ``ts_local_ns`` would change nothing or be
        reversed ("" if it can take effect): ``asnd.core.halts.resume_refusal``."""
        return resume_refusal(self, slot, ts_local_ns)

    def total_equity_e8(self) -> int | None:
        """The sum of the slots' equities (None while any cannot be marked)."""
        total = 0
        for slot in self.slots:
            equity = self.equity_e8(slot)
            if equity is None:
                return None
            total += equity
        return total

    def orders_to_reconcile(self) -> list[tuple[int, str, str]]:
        """(slot, symbol, link_id) of every order the venue may know more about than the
        journal: all working orders past review. Look them up at start-up."""
        return [
            (slot.index, slot.symbol, order.link_id)
            for slot in self.slots
            for order in slot.orders.values()
            if order.state != "review"
        ]

    def _note(self, text: str) -> None:
        self.anomaly_count += 1
        self.anomalies.append(text)
        if len(self.anomalies) > MAX_ANOMALIES:
            del self.anomalies[0]

    def _anomaly(self, slot: Slot, trigger: Event, text: str) -> list[Event]:
        """Note ``text`` and kill ``slot`` with it as the reason, unless it is already
        halting (or dead): one journaled reason per disagreement is enough."""
        self._note(text)
        goal = slot.goal if slot.status is SlotStatus.REDUCING else slot.status
        if goal in (SlotStatus.HALTED, SlotStatus.DEAD) and slot.status is not SlotStatus.HALTED:
            return []
        return [Kill(0, trigger.ts_local_ns, slot.index, halt_text(HaltKind.ANOMALY, text))]

    def _slot(self, index: int, what: str) -> Slot | None:
        if 0 <= index < len(self.slots):
            return self.slots[index]
        self._note(f"{what} for unknown slot {index}")
        return None

    # -------------------------------------------------------------------------- market data

    def _on_instrument(self, event: Event) -> list[Event]:
        assert isinstance(event, InstrumentInfo)
        if event.symbol not in self.books:
            return []
        try:
            instrument = Instrument.from_info(event)
        except ValueError as exc:
            self._note(f"instrument {event.symbol} refused: {exc}")
            return []
        self.instruments.setdefault(event.symbol, instrument)
        for slot in self.by_symbol[event.symbol]:
            error = slot.set_instrument(instrument)
            if error:
                self._note(error)
        return []

    def _on_book(self, event: Event) -> list[Event]:
        assert isinstance(event, BookSnapshot | BookDelta)
        book = self.books.get(event.symbol)
        if book is None:
            return []
        slots = self.by_symbol[event.symbol]
        if self._daily:
            roll_days(self, slots, event.ts_local_ns)
        row: FeatureRow | None = None
        market = self.market
        if self._fold(event):
            ints = market.rows.ints[0].tolist()
            if ints[O_VALID]:  # features were computed: the book is valid and two-sided
                row = tuple(market.rows.values[0].tolist())
                self.touch[event.symbol] = (ints[O_BID_PRICE], ints[O_ASK_PRICE])
        # First every marked slot's death and brakes, then the models: a slot that dies on
        # this event does not get to speak, one that brakes (or all, for the daemon's brake)
        # does not trade on it.
        out: list[Event] = []
        stopped: dict[int, bool] = {}  # slot -> dying (True) or braked (False)
        marked = False
        for slot in slots:
            if slot.ledger is not None and slot.ledger.position_lots != 0:
                marked = True
                death = self._death_check(slot, event)
                if death:
                    out.extend(death)
                    stopped[slot.index] = True
                elif self._brakes:
                    brake = slot_brake(self, slot, event)
                    if brake:
                        out.extend(brake)
                        stopped[slot.index] = False
        if marked and self._brakes:
            out.extend(daemon_brake(self, event))
        halted = self.watchtower.halted or (bool(out) and any(isinstance(e, RiskHalt) for e in out))
        prefix = self.link_namespace  # the journal's link-id namespace ("": none)
        for slot in slots:
            dying = stopped.get(slot.index) if stopped else None
            if dying:
                continue
            if slot.status is SlotStatus.REDUCING:
                out.extend(self._continue_reducing(slot, event))
            if row is not None:
                may_trade = not halted and dying is None
                out.extend(slot.on_row(event, row, book, may_trade=may_trade, prefix=prefix))
        return out

    def _on_trade(self, event: Event) -> list[Event]:
        assert isinstance(event, Trade)
        if event.symbol in self.books:
            self._fold(event)
        return []

    def _on_book_stale(self, event: Event) -> list[Event]:
        assert isinstance(event, BookStale)
        if event.symbol in self.books:
            self.market.mark_stale(event.symbol, event.reason)
        return []

    def _fold(self, event: Event) -> int:
        """One market event into the kernel: the rows it wrote (``market.rows``). A record the
        kernel cannot fold (a value outside int64) is an anomaly and changes nothing."""
        try:
            return self.market.fold_one(encode(event))
        except BadMarketRecord as exc:
            self._note(f"{type(event).__name__} seq {event.seq} not folded: {exc}")
            return 0

    # ---------------------------------------------------------------- death and reduction

    def _death_check(self, slot: Slot, trigger: Event) -> list[Event]:
        if slot.status is SlotStatus.DEAD or slot.goal is SlotStatus.DEAD:
            return []
        equity = self.equity_e8(slot)
        if equity is None or equity > 0:
            return []
        return self.watchtower.sudden_death(slot, trigger, equity)

    def _continue_reducing(self, slot: Slot, trigger: Event) -> list[Event]:
        """A reduction whose liquidation left a position (and no order works): try again."""
        ledger = slot.ledger
        if not slot.flatten or slot.orders or ledger is None or ledger.position_lots == 0:
            return []
        if slot.liquidation_attempts >= self.config.risk.max_liquidation_attempts:
            if self.watchtower.halted:
                return []
            reason = halt_text(
                HaltKind.LIQUIDATION,
                f"slot {slot.index}: {slot.liquidation_attempts} liquidations left "
                f"{ledger.position_lots} lots open; an operator must close them",
            )
            return [TradingHalted(0, trigger.ts_local_ns, reason)]
        return self.watchtower.liquidate(slot, trigger)

    # ------------------------------------------------------------------------- decisions

    def _on_signal(self, event: Event) -> list[Event]:
        assert isinstance(event, Signal)
        slot = self._slot(event.slot, "signal")
        if slot is not None:
            slot.apply_signal(event)
        return []

    def _on_intent(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderIntent)
        slot = self._slot(event.slot, "order intent")
        if slot is not None:
            if event.link_id in slot.orders:
                self._note(f"slot {slot.index}: intent reuses working link id {event.link_id}")
                return [
                    RiskVerdict(
                        0, event.ts_local_ns, event.slot, event.seq, False,
                        f"link id {event.link_id} is already working",
                    )
                ]  # fmt: skip
            slot.apply_intent(event)
        return [self.watchtower.review(event, slot, self.book(event.symbol))]

    def _on_cancel_intent(self, event: Event) -> list[Event]:
        assert isinstance(event, CancelIntent)
        slot = self._slot(event.slot, "cancel intent")
        if slot is not None:
            order = slot.orders.get(event.link_id)
            if order is None:
                self._note(f"slot {slot.index}: cancel of unknown order {event.link_id}")
            else:
                order.cancel_requested = True
        return [self.watchtower.review_cancel(event)]

    def _on_verdict(self, event: Event) -> list[Event]:
        assert isinstance(event, RiskVerdict)
        slot = self._slot(event.slot, "risk verdict")
        if slot is None:
            return []
        for order in slot.orders.values():
            if order.intent_seq == event.intent_seq:
                if not event.approved:
                    slot.finish(order.link_id, "refused")
                elif order.state == "review":
                    order.state = "approved"
                break
        return []  # a verdict on a cancel changes nothing: the venue's answer will

    def _on_model_dead(self, event: Event) -> list[Event]:
        assert isinstance(event, ModelDead)
        slot = self._slot(event.slot, "model dead")
        if slot is not None and slot.status is not SlotStatus.DEAD:
            reason = f"sudden death: equity {money_text(event.equity_e8)} USDT <= 0"
            slot.halt = _note(reason, event, "sudden_death")
            slot.start_reducing(SlotStatus.DEAD, flatten=True)
        return []

    def _on_liquidation(self, event: Event) -> list[Event]:
        assert isinstance(event, Liquidation)
        slot = self._slot(event.slot, "liquidation")
        if slot is not None:
            slot.liquidations.append(event.link_id)
            del slot.liquidations[:-16]  # only recent ones can still be reviewed
            slot.liquidation_attempts += 1
        return []

    def _on_halted(self, event: Event) -> list[Event]:
        assert isinstance(event, TradingHalted)
        self.watchtower.halt(_note(event.reason, event, "halt"))
        return []

    def _on_risk_halt(self, event: Event) -> list[Event]:
        assert isinstance(event, RiskHalt)
        note = HaltNote(event.reason, event.ts_local_ns, event.rule, event.utc_day)
        if event.slot == -1:
            self.watchtower.halt(note)
            targets = self.slots
        else:
            slot = self._slot(event.slot, "risk halt")
            targets = [] if slot is None else [slot]
        out: list[Event] = []
        for slot in targets:
            if slot.status is SlotStatus.DEAD or slot.goal is SlotStatus.DEAD:
                continue
            slot.halt = note
            out.extend(self.watchtower.flatten(slot, event, event.rule, close=True))
            slot.start_reducing(SlotStatus.HALTED, flatten=True)
        return out

    # -------------------------------------------------------------------------- operators

    def _on_kill(self, event: Event) -> list[Event]:
        assert isinstance(event, Kill)
        close = self.config.risk.kill_mode == "flatten"
        out: list[Event] = []
        if event.slot == -1:
            targets = self.slots
            note = _note(halt_text(HaltKind.KILL_ALL, event.reason), event, "kill_all")
            self.watchtower.halt(note)
            out.append(TradingHalted(0, event.ts_local_ns, note.reason))
        else:
            slot = self._slot(event.slot, "kill")
            targets = [] if slot is None else [slot]
            note = _note(halt_text(HaltKind.KILL, event.reason), event, "kill")
        for slot in targets:
            if slot.status is SlotStatus.DEAD:
                continue
            if slot.goal is SlotStatus.DEAD:  # dying: a kill only tries the liquidation again
                slot.liquidation_attempts = 0
                out.extend(self.watchtower.flatten(slot, event, "kill: liquidate", close=True))
                continue
            slot.halt = note
            out.extend(self.watchtower.flatten(slot, event, note.reason, close=close))
            slot.start_reducing(SlotStatus.HALTED, flatten=close)
        return out

    def _on_resume(self, event: Event) -> list[Event]:
        """A resume the watchtower's rules refuse (``asnd.core.halts``) changes nothing; the
        control desk asked the same question before journaling it. "All" resumes every slot
        that can be, leaving a dead slot or one whose own daily brake holds as it is."""
        assert isinstance(event, Resume)
        ts = event.ts_local_ns
        refusal = self.can_resume(event.slot, ts)
        if refusal:
            self._note(f"resume {'all' if event.slot == -1 else event.slot} refused: {refusal}")
            return []
        if event.slot == -1:
            tower = self.watchtower
            if tower.note.rule in _BRAKES:
                tower.brake.rebase(ts, self.total_equity_e8())
            tower.lift()
            targets = [s for s in self.slots if not self.can_resume(s.index, ts)]
        else:
            targets = [self.slots[event.slot]]
        for slot in targets:
            if slot.status is SlotStatus.HALTED:
                slot.status = slot.goal = SlotStatus.ACTIVE
            else:  # reducing towards halted: it trades again once flat
                slot.goal = SlotStatus.ACTIVE
            if slot.halt.rule in _BRAKES:
                slot.brake.rebase(ts, self.equity_e8(slot))
            slot.halt = HaltNote()
        return []

    def _on_strategy(self, event: Event) -> list[Event]:
        assert isinstance(event, StrategyLoaded)
        slot = self._slot(event.slot, "strategy loaded")
        if slot is not None:
            error = slot.load_strategy(event.document)
            if error:
                self._note(error)
        return []

    def _on_swap(self, event: Event) -> list[Event]:
        assert isinstance(event, Swap)
        slot = self._slot(event.slot, "swap")
        if slot is None or event.mode == "inherit":
            return []
        if event.mode != "flatten":
            self._note(f"slot {slot.index}: swap mode {event.mode!r} unknown; kept as inherit")
            return []
        if slot.status in (SlotStatus.ACTIVE, SlotStatus.HALTED):
            goal = slot.status
            out = self.watchtower.flatten(slot, event, "swap: flatten", close=True)
            slot.start_reducing(goal, flatten=True)
            return out
        return []

    # -------------------------------------------------------------------------- execution

    def _order_event(self, event: Any, what: str) -> tuple[Slot | None, str]:
        slot = self._slot(event.slot, what)
        if slot is not None and event.link_id not in slot.orders:
            self._note(f"slot {slot.index}: {what} for unknown order {event.link_id}")
            return None, event.link_id
        return slot, event.link_id

    def _on_sent(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderSent)
        slot, link = self._order_event(event, "order sent")
        if slot is not None and slot.orders[link].state in ("review", "approved"):
            slot.orders[link].state = "sent"
        return []

    def _on_accepted(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderAccepted)
        slot, link = self._order_event(event, "order accepted")
        if slot is not None:
            order = slot.orders[link]
            order.state = "open"
            order.venue_order_id = event.venue_order_id
        return []

    def _on_gone(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderRejected | OrderCancelled)
        if isinstance(event, OrderCancelled):
            return self._on_cancelled(event)
        slot, link = self._order_event(event, "OrderRejected")
        if slot is not None:
            slot.finish(link, "rejected")
        return []

    def _on_cancelled(self, event: OrderCancelled) -> list[Event]:
        slot = self._slot(event.slot, "OrderCancelled")
        if slot is None:
            return []
        order = slot.orders.get(event.link_id)
        if order is not None:
            # What the venue filled before the cancel that has not reached us yet; a cancel
            # that does not state its remainder (0) may have been preceded by any fill.
            slot.finish(event.link_id, "cancelled", order.leaves_lots - event.remaining_lots)
            return []
        done = slot.finished.get(event.link_id)
        if done is not None and done.how == "cancelled":
            self._note(f"slot {slot.index}: order {event.link_id} cancelled again (ignored)")
            return []
        how = "unknown" if done is None else done.how
        return self._anomaly(
            slot, event, f"slot {slot.index}: cancel of order {event.link_id} not held open ({how})"
        )

    def _on_unresolved(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderUnresolved)
        slot, link = self._order_event(event, "order unresolved")
        if slot is not None:
            slot.orders[link].state = "unresolved"
        return []

    def _on_amended(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderAmended)
        slot = self._slot(event.slot, "order amended")
        if slot is None:
            return []
        link = event.link_id
        if link not in slot.orders:
            done = slot.finished.get(link)
            how = "unknown" if done is None else done.how
            return self._anomaly(
                slot, event, f"slot {slot.index}: amend of order {link} not held open ({how})"
            )
        order = slot.orders[link]
        filled = order.qty_lots - order.leaves_lots
        order.price_ticks = event.price_ticks
        order.qty_lots = event.qty_lots
        order.leaves_lots = max(event.qty_lots - filled, 0)
        return []

    def _on_reconciled(self, event: Event) -> list[Event]:
        assert isinstance(event, OrderReconciled)
        slot = self._slot(event.slot, "order reconciled")
        if slot is None:
            return []
        order = slot.orders.get(event.link_id)
        if event.status == "open":
            if order is None:
                self._note(f"slot {slot.index}: venue has order {event.link_id} we do not know")
                return []
            order.state = "open"
            order.leaves_lots = event.leaves_lots
            order.venue_order_id = event.venue_order_id
            order.cancel_requested = False  # the venue's truth: it rests; ask again if need be
        elif order is not None:  # filled, cancelled, rejected or never arrived
            owed = event.filled_lots - (order.qty_lots - order.leaves_lots)
            slot.finish(event.link_id, event.status, owed)
        return []

    def position_mismatch(self, event: PositionReconciled) -> str | None:
        """Why the venue's position of ``event.symbol`` is not the sum of our slots' there
        (None when they agree)."""
        slots = self.by_symbol.get(event.symbol, [])
        ours = sum(s.ledger.position_lots for s in slots if s.ledger is not None)
        if ours == event.position_lots:
            return None
        return halt_text(
            HaltKind.POSITION_MISMATCH,
            f"{event.symbol}: venue {event.position_lots} lots, slots {ours} lots",
        )

    def _on_position(self, event: Event) -> list[Event]:
        assert isinstance(event, PositionReconciled)
        reason = self.position_mismatch(event)
        if reason is None or self.watchtower.halted:
            return []
        return [TradingHalted(0, event.ts_local_ns, reason)]

    def _on_fill(self, event: Event) -> list[Event]:
        assert isinstance(event, Fill)
        slot = self._slot(event.slot, "fill")
        if slot is None:
            return []
        if event.symbol != slot.symbol or slot.ledger is None:
            self._note(f"slot {slot.index}: fill {event.exec_id} on {event.symbol} not booked")
            return []
        if not slot.remember_exec(event.exec_id):
            self._note(f"slot {slot.index}: duplicate fill {event.exec_id} ignored")
            return []
        if self._daily:
            roll_days(self, [slot], event.ts_local_ns)
        try:
            slot.ledger.apply_fill(
                event.side, event.price_ticks, event.qty_lots,
                is_maker=event.is_maker, venue_fee_e8=event.fee_e8,
            )  # fmt: skip
        except ValueError as exc:
            self._note(f"slot {slot.index}: fill {event.exec_id} refused: {exc}")
            return []
        order = slot.orders.get(event.link_id)
        out: list[Event] = []
        if order is None:
            out = self._stray_fill(slot, event)
        elif event.leaves_lots <= 0:
            slot.finish(event.link_id, "filled")
        else:
            order.leaves_lots = event.leaves_lots
        slot.settle()
        death = self._death_check(slot, event)
        if death or not self._brakes:
            return [*out, *death]
        return [*out, *slot_brake(self, slot, event), *daemon_brake(self, event)]

    def _stray_fill(self, slot: Slot, event: Fill) -> list[Event]:
        """A booked fill for an order the slot does not hold: late, or an anomaly."""
        done = slot.finished.get(event.link_id)
        if done is not None and event.qty_lots <= done.owed_lots:
            done.owed_lots -= event.qty_lots
            self._note(
                f"slot {slot.index}: late fill {event.exec_id} for {done.how} order "
                f"{event.link_id} (booked)"
            )
            return []
        how = "unknown" if done is None else done.how
        return self._anomaly(
            slot,
            event,
            f"slot {slot.index}: fill {event.exec_id} for order {event.link_id} not held open "
            f"({how}; booked)",
        )

    def _on_link_namespace(self, event: Event) -> list[Event]:
        assert isinstance(event, LinkNamespace)
        if self.link_namespace and event.namespace != self.link_namespace:
            self._note(f"second link namespace {event.namespace!r} ignored")
        elif not self.link_namespace:
            self.link_namespace = self.watchtower.namespace = event.namespace
        return []

    def _foreign(self, event: Event) -> list[Event]:
        """A venue update for an order not of this journal (another journal's namespace, a
        person's order): never adopted, never booked. A foreign *fill* on a symbol a slot
        trades moves the venue position away from the slots' ledgers: trading halts."""
        if not isinstance(event, Fill) or event.symbol not in self.by_symbol:
            return []
        if self.watchtower.halted:
            return []
        reason = (
            f"fill {event.exec_id} on {event.symbol} for order {event.link_id!r} not of this "
            "journal: something else trades this account's symbol; close it there, then resume"
        )
        return [TradingHalted(0, event.ts_local_ns, reason)]

    # --------------------------------------------------------------------------- snapshot

    def snapshot(self) -> bytes:
        """The whole state as msgpack bytes (``SNAPSHOT_SCHEMA``)."""
        return encode_state(self)

    def snapshot_event(self, ts_local_ns: int) -> StateSnapshot:
        """A ``StateSnapshot`` of the state as of the last applied seq (seq=0: to journal)."""
        return StateSnapshot(0, ts_local_ns, self.last_seq, SNAPSHOT_SCHEMA, self.snapshot())

    @classmethod
    def restore(cls, config: CoreConfig, payload: bytes) -> DaemonState:
        """A state equal to the one ``snapshot()`` encoded. Raises ``SnapshotError``."""
        state = cls(config)
        load_state(state, payload)
        return state


def _note(reason: str, event: Event, rule: str) -> HaltNote:
    return HaltNote(reason, event.ts_local_ns, rule, utc_day(event.ts_local_ns))


#: The halt rules whose numbers a resume re-bases (``asnd.core.brakes``).
_BRAKES: Final = (DAILY_LOSS, DRAWDOWN)

_Handler = Callable[[DaemonState, Event], list[Event]]

#: What the venue says about orders, by link id: those of orders not ours are ``_foreign``.
_VENUE_ORDER_EVENTS: Final = frozenset(
    {OrderAccepted, OrderRejected, OrderCancelled, Fill, OrderReconciled, OrderAmended}
)

_HANDLERS: Final[dict[type[Event], _Handler]] = {
    InstrumentInfo: DaemonState._on_instrument,
    BookSnapshot: DaemonState._on_book,
    BookDelta: DaemonState._on_book,
    Trade: DaemonState._on_trade,
    BookStale: DaemonState._on_book_stale,
    Signal: DaemonState._on_signal,
    OrderIntent: DaemonState._on_intent,
    CancelIntent: DaemonState._on_cancel_intent,
    RiskVerdict: DaemonState._on_verdict,
    ModelDead: DaemonState._on_model_dead,
    Liquidation: DaemonState._on_liquidation,
    TradingHalted: DaemonState._on_halted,
    RiskHalt: DaemonState._on_risk_halt,
    Kill: DaemonState._on_kill,
    Resume: DaemonState._on_resume,
    StrategyLoaded: DaemonState._on_strategy,
    Swap: DaemonState._on_swap,
    OrderSent: DaemonState._on_sent,
    OrderAccepted: DaemonState._on_accepted,
    OrderRejected: DaemonState._on_gone,
    OrderCancelled: DaemonState._on_gone,
    OrderUnresolved: DaemonState._on_unresolved,
    OrderAmended: DaemonState._on_amended,
    OrderReconciled: DaemonState._on_reconciled,
    PositionReconciled: DaemonState._on_position,
    Fill: DaemonState._on_fill,
    LinkNamespace: DaemonState._on_link_namespace,
}
