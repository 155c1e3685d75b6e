"""The control desk: the daemon's answers to ``asnctl`` (the ``ControlHandler`` of
``asnd.control``).

Every command is journaled as an ``OperatorCommand`` before it acts, in the same submission
as its effect, so the journal shows who asked for what right before it happened:

- ``swap SLOT`` journals ``Swap`` (mode from ``[promotion] swap_mode``) and ``StrategyLoaded``
  with the new document; the core swaps at that point of the event stream, which is a safe
  point by construction (no event is half-applied). The document is validated first; an
  invalid one is refused, and the refusal is journaled too.
- ``kill SLOT|all`` journals ``Kill``; ``resume SLOT|all`` journals ``Resume`` unless the core
  says it would change nothing or be reversed (a dead slot, an active one, a daily-loss brake
  on the same UTC day, a liquidation that failed ``max_liquidation_attempts`` times:
  ``asnd.core.halts``), which is refused with the reason. Their answers (and ``swap``'s) carry
  a one-line ``message`` for a person ("slot 3 (ETHUSDT) killed: operator ...").
- ``status`` is journaled too (a no-op for the fold) and reads the state; for the daemon and
  each slot it gives why it does not trade, since when and what clears it.
- ``challengers`` lists the pit lane's challengers (``asnd.core.pitlane``): each one's slot,
  champion, status (shadowing, promoted, rejected with the reason), windows compared, mean
  PnL difference per window, the promotion test's p-value, and each side's time-to-target
  (seconds since the standing began, None until reached).
- ``swap`` and a promotion build their events with the same ``swap_events``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from asnd.actors.core import CoreActor
from asnd.config import Config
from asnd.control import ControlError
from asnd.control.protocol import (
    ChallengersRequest,
    KillRequest,
    ResumeRequest,
    StatusRequest,
    SwapRequest,
)
from asnd.control.status import BookStatus, DaemonStatus, SlotStatus, StatusReport
from asnd.core.halts import daemon_halt, slot_halt
from asnd.core.pitlane import swap_events
from asnd.core.portfolio import DaemonState
from asnd.core.strategy.validate import StrategyError, parse_strategy
from asnd.core.views import slot_views
from journal.events import (
    ChallengerRejected,
    Event,
    Kill,
    OperatorCommand,
    Resume,
)
from journal.texts import e8_text, utc_text

# utc_text: defined in journal.texts, still importable from here as before.
__all__ = ["Desk", "Health", "utc_text"]


@dataclass(slots=True)
class Health:
    """What the shell knows about the outside world (wall-clock times, ns)."""

    started_ns: int
    phase: str = "starting"  # starting | reconciling | trading | halted | stopping
    feed_state: str = "lost"
    last_market_ns: int = 0
    book_ns: dict[str, int] = field(default_factory=dict)


class Desk:
    def __init__(
        self,
        config: Config,
        core: CoreActor,
        health: Health,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.core = core
        self.health = health
        self._clock_ns = clock_ns

    @property
    def state(self) -> DaemonState:
        return self.core.state

    async def _act(self, command: OperatorCommand, *effects: Event) -> list[Event]:
        return await self.core.submit(command, *effects, wait=True)

    # ------------------------------------------------------------------------------ status

    async def status(self, command: OperatorCommand, request: StatusRequest) -> StatusReport:
        await self.core.submit(command)  # journaled like every command; no need to wait
        return self.report()

    def report(self) -> StatusReport:
        """The status as of now; ``asnd.metrics`` exports the same report, so they agree."""
        now = self._clock_ns()
        state, health = self.state, self.health
        slots: list[SlotStatus] = []
        for view in slot_views(state):
            capital = state.slots[view.slot].config.capital_e8
            equity = view.equity_e8 if view.equity_e8 is not None else capital
            row = SlotStatus(
                slot=view.slot,
                symbol=view.symbol,
                strategy_id=view.strategy_id or "-",
                state=view.status,
                equity=e8_text(equity),
                position=view.position or "0",
                pnl=e8_text(equity - capital),
                open_orders=view.open_orders,
                last_signal=view.last_signal,
                reason=view.halt_reason,
                since=utc_text(view.halt_since_ns),
                clears=view.halt_clears,
            )
            slots.append(row)
        books: list[BookStatus] = []
        for symbol in sorted(state.books):
            book = state.book(symbol)
            seen = health.book_ns.get(symbol)
            books.append(
                BookStatus(
                    symbol=symbol,
                    state="stale" if book is None or book.stale else "synced",
                    age_ms=None if seen is None else (now - seen) // 1_000_000,
                )
            )
        journal = self.core.journal
        last = journal.next_seq - 1
        halt = daemon_halt(state)
        daemon: DaemonStatus = {
            "venue": self.config.venue.kind,
            "state": "halted" if halt is not None else health.phase,
            "uptime_s": round((now - health.started_ns) / 1e9, 1),
        }
        if halt is not None:
            daemon["reason"] = halt.reason
            daemon["since"] = utc_text(halt.since_ns)
            daemon["clears"] = halt.clears
        return StatusReport(
            daemon=daemon,
            slots=slots,
            feed={
                "state": health.feed_state,
                "last_message_age_ms": (
                    (now - health.last_market_ns) // 1_000_000 if health.last_market_ns else None
                ),
            },
            books=books,
            journal={
                "seq": last,
                "durable_seq": journal.durable_seq,
                "lag": last - journal.durable_seq,
            },
        )

    # ---------------------------------------------------------------------------- commands

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < len(self.state.slots):
            last = len(self.state.slots) - 1
            raise ControlError("no_such_slot", f"no slot {slot}; slots are 0 to {last}")

    async def swap(self, command: OperatorCommand, request: SwapRequest) -> object:
        self._check_slot(request.slot)
        now = self._clock_ns()
        try:
            doc = parse_strategy(request.document)
        except StrategyError as exc:
            await self._act(command, ChallengerRejected(0, now, request.source, str(exc)))
            raise ControlError("invalid_strategy", f"{request.source}: {exc}") from None
        slot = self.state.slots[request.slot]
        if slot.status.value == "dead":
            await self._act(command)
            raise ControlError("dead", f"slot {request.slot} is dead (sudden death is final)")
        old = slot.strategy.document.id if slot.strategy else ""
        mode = self.config.promotion.swap_mode
        swap = swap_events(
            self.state, request.slot, request.document, strategy_id=doc.id,
            digest=request.digest, source=request.source, mode=mode, cause="operator",
            ts_local_ns=now,
        )  # fmt: skip
        await self._act(command, *swap)
        if slot.strategy_error:
            raise ControlError("invalid_strategy", slot.strategy_error)
        message = f"{self._name(request.slot)} swapped: {old or '(none)'} -> {doc.id} ({mode})"
        if slot.status.value == "reducing":
            message += f"; {self._phase(request.slot)}"
        return {"slot": request.slot, "old": old, "new": doc.id, "mode": mode, "message": message}

    def _name(self, index: int) -> str:
        return f"slot {index} ({self.state.slots[index].symbol})"

    def _phase(self, index: int) -> str:
        """A slot's state after a kill, in words."""
        slot = self.state.slots[index]
        if slot.status.value != "reducing":
            return slot.status.value
        doing = "flattening" if slot.flatten else "cancelling its orders"
        return f"{doing}, then {slot.goal.value}"

    async def kill(self, command: OperatorCommand, request: KillRequest) -> object:
        slot = -1 if request.slot is None else request.slot
        if slot >= 0:
            self._check_slot(slot)
        await self._act(command, Kill(0, self._clock_ns(), slot, "operator: asnctl kill"))
        if slot >= 0:
            message = f"{self._name(slot)} killed: operator; {self._phase(slot)}"
        else:
            phases = "; ".join(f"{i} {self._phase(i)}" for i in range(len(self.state.slots)))
            message = f"all slots killed: operator; trading halted (slots: {phases})"
        return {"killed": "all" if slot < 0 else slot, "message": message}

    async def resume(self, command: OperatorCommand, request: ResumeRequest) -> object:
        slot = -1 if request.slot is None else request.slot
        if slot >= 0:
            self._check_slot(slot)
        now = self._clock_ns()
        why_not = self.state.can_resume(slot, now)
        if why_not:
            await self._act(command)
            raise ControlError("not_resumable", why_not)
        await self._act(command, Resume(0, now, slot, "operator: asnctl resume"))
        state = self.state
        stopped = [
            (s, h)
            for s in state.slots
            if s.status.value != "active" and (h := slot_halt(state, s)) is not None
        ]
        kept = [
            {"slot": s.index, "symbol": s.symbol, "state": s.status.value, "reason": h.reason}
            for s, h in stopped
        ]
        if slot >= 0:
            message = f"{self._name(slot)} resumed: {self._phase(slot)}"
            halt = daemon_halt(state)
            if halt is not None:
                message += f"; trading stays halted for all: {halt.reason} ({halt.clears})"
        else:
            message = "trading resumed"
            if stopped:
                message += "; still stopped: " + "; ".join(
                    f"{self._name(s.index)} {s.status.value}: {h.reason}" for s, h in stopped
                )
        return {"resumed": "all" if slot < 0 else slot, "message": message, "kept": kept}

    async def challengers(self, command: OperatorCommand, request: ChallengersRequest) -> object:
        await self.core.submit(command)  # journaled like every command; no need to wait
        pit = self.core.pit
        return [] if pit is None else pit.standings(self.state)
