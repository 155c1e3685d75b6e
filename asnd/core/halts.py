"""Why a slot or the daemon does not trade, since when, and what lifts it.

Two users, one set of rules:

- ``asnctl status`` shows ``slot_halt`` / ``daemon_halt`` for every slot and the daemon: the
  reason (the ``HaltNote`` the fold kept from the kill, death, brake or halt event, or a
  condition such as a stale book), since when (event time, ns), and what clears it in words
  an operator can act on ("asnctl resume 3", "next book snapshot").
- ``resume_refusal`` is the one judge of whether a ``Resume`` can take effect: the control
  desk asks before journaling it (and refuses with the reason), and the fold asks again when
  applying it, so a resume that would be reversed at once (a liquidation that already failed
  ``max_liquidation_attempts`` times would halt trading again on the next book update; a
  daily-loss brake on the same UTC day) changes nothing, live and in replay alike.

- ``HaltKind`` / ``halt_kind``: what kind of halt an event starts (a kill, an anomaly, a
  brake, a position mismatch, a stuck liquidation, a venue that needs a person, an IP ban, a
  crashed critical actor), the one small, fixed set of values that the metrics' ``halts by
  kind`` and the alerts both read. Every producer of a halt reason writes its wording with
  ``halt_text(kind, detail)``, so the wording and its kind are defined once, here.

Pure functions of the state (and the resume's event time): no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from asnd.core.brakes import DAILY_LOSS, DRAWDOWN, day_text, utc_day
from asnd.core.slot import Slot, SlotStatus
from journal.events import Event, Kill, RiskHalt, TradingHalted

if TYPE_CHECKING:
    from asnd.core.portfolio import DaemonState

__all__ = [
    "HaltKind",
    "HaltView",
    "daemon_halt",
    "halt_kind",
    "halt_text",
    "resume_refusal",
    "slot_halt",
    "stuck_liquidation",
]


class HaltKind(StrEnum):
    """What stopped trading, as a fixed label (a metric label, an alert's title)."""

    KILL_ALL = "kill_all"  # asnctl kill all
    KILL = "kill"  # asnctl kill N
    ANOMALY = "anomaly"  # the core killed a slot: the venue reported an order it does not hold
    DAILY_LOSS = DAILY_LOSS  # a RiskHalt's rule: the config key
    DRAWDOWN = DRAWDOWN
    POSITION_MISMATCH = "position_mismatch"
    LIQUIDATION = "liquidation"  # liquidations left a position: a person must close it
    IP_BAN = "ip_ban"
    VENUE = "venue"  # the venue needs a person (keys, permissions)
    ACTOR_CRASHED = "actor_crashed"
    OTHER = "other"  # a TradingHalted written without halt_text (e.g. an older journal's)


#: The wording that starts each kind's reason. ``halt_text`` writes it, ``halt_kind`` reads it
#: back; nothing else spells these out, so a reworded reason cannot lose its kind.
_LEAD: Final[dict[HaltKind, str]] = {
    HaltKind.KILL_ALL: "kill all: ",
    HaltKind.KILL: "kill: ",
    HaltKind.ANOMALY: "anomaly: ",
    HaltKind.POSITION_MISMATCH: "position mismatch on ",
    HaltKind.LIQUIDATION: "liquidation failed: ",
    HaltKind.IP_BAN: "IP banned ",
    HaltKind.VENUE: "venue needs an operator: ",
    HaltKind.ACTOR_CRASHED: "critical actor ",
}


def halt_text(kind: HaltKind, detail: str) -> str:
    """The reason of a halt of ``kind``: its fixed lead, then ``detail``."""
    return _LEAD[kind] + detail


def _led(reason: str) -> HaltKind:
    for kind, lead in _LEAD.items():
        if reason.startswith(lead):
            return kind
    return HaltKind.OTHER


def halt_kind(event: Event) -> HaltKind | None:
    """The kind of halt ``event`` starts, or None if it starts none.

    ``RiskHalt`` by its rule; ``TradingHalted`` by its reason's lead (``halt_text``); a slot's
    ``Kill`` is an operator's kill or, from the core, an anomaly. A kill of *all* slots is
    None: the ``TradingHalted`` it leads to (the same fold) carries the halt, counted once.
    """
    kind = type(event)
    if kind is TradingHalted:
        assert isinstance(event, TradingHalted)
        return _led(event.reason)
    if kind is RiskHalt:
        assert isinstance(event, RiskHalt)
        return HaltKind(event.rule) if event.rule in (DAILY_LOSS, DRAWDOWN) else HaltKind.OTHER
    if kind is Kill:
        assert isinstance(event, Kill)
        if event.slot == -1:
            return None
        return (
            HaltKind.ANOMALY if event.reason.startswith(_LEAD[HaltKind.ANOMALY]) else HaltKind.KILL
        )
    return None


@dataclass(frozen=True, slots=True)
class HaltView:
    reason: str
    since_ns: int | None  # event time the halt began; None for a condition (stale book)
    clears: str


def stuck_liquidation(state: DaemonState, slot: Slot) -> str:
    """Why ``slot`` cannot finish reducing by itself ("" if it can): every liquidation the
    watchtower may try has been tried and a position is left."""
    ledger = slot.ledger
    if slot.status is not SlotStatus.REDUCING or not slot.flatten or slot.orders:
        return ""
    if ledger is None or ledger.position_lots == 0:
        return ""
    if slot.liquidation_attempts < state.config.risk.max_liquidation_attempts:
        return ""
    return (
        f"slot {slot.index} ({slot.symbol}) still holds {ledger.position_lots} lots after "
        f"{slot.liquidation_attempts} liquidations: close the position by hand or "
        f"asnctl kill {slot.index} (liquidates again)"
    )


def _daily_holds(rule: str, day: int, ts_ns: int | None) -> bool:
    return rule == DAILY_LOSS and (ts_ns is None or utc_day(ts_ns) <= day)


def _until(day: int) -> str:
    return f"{day_text(day + 1)} 00:00 UTC"


def resume_refusal(state: DaemonState, index: int, ts_ns: int | None = None) -> str:
    """Why ``Resume(index)`` at event time ``ts_ns`` would change nothing or be reversed
    ("" if it can take effect). ``index`` -1 is "all". Without ``ts_ns`` a daily-loss brake
    is taken to hold."""
    tower = state.watchtower
    if index == -1:
        note = tower.note
        if tower.halted and _daily_holds(note.rule, note.day, ts_ns):
            return f"trading is halted by {note.reason}; it holds until {_until(note.day)}"
        for slot in state.slots:
            stuck = stuck_liquidation(state, slot)
            if stuck:
                return f"{stuck}; then asnctl resume all"
        return ""
    if not 0 <= index < len(state.slots):
        return f"no slot {index}"
    slot = state.slots[index]
    if slot.status is SlotStatus.DEAD or slot.goal is SlotStatus.DEAD:
        return f"slot {index} is dead (sudden death is final)"
    if slot.status is SlotStatus.ACTIVE:
        if tower.halted:
            return f"slot {index} is already active; trading is halted for all: asnctl resume all"
        return f"slot {index} is already active"
    if _daily_holds(slot.halt.rule, slot.halt.day, ts_ns):
        until = _until(slot.halt.day)
        return f"slot {index} is halted by {slot.halt.reason}; it holds until {until}"
    stuck = stuck_liquidation(state, slot)
    if stuck:
        return f"{stuck}; then asnctl resume {index}"
    return ""


_DONE = "its orders are gone and it is flat"


def _resume_hint(slot: Slot) -> str:
    note = slot.halt
    if note.rule == DAILY_LOSS:
        return f"asnctl resume {slot.index} from {_until(note.day)} (the day's loss limit)"
    if note.rule == DRAWDOWN:
        return f"asnctl resume {slot.index} (re-bases its high-water mark to the current equity)"
    if note.rule == "kill_all":
        return "asnctl resume all"
    return f"asnctl resume {slot.index}"


def daemon_halt(state: DaemonState) -> HaltView | None:
    """Why trading is halted for every slot, or None if it is not."""
    tower = state.watchtower
    if not tower.halted:
        return None
    note = tower.note
    if note.rule == DAILY_LOSS:
        clears = f"asnctl resume all from {_until(note.day)} (the day's loss limit)"
    elif note.rule == DRAWDOWN:
        clears = "asnctl resume all (re-bases the high-water mark to the current equity)"
    else:
        stuck = next(filter(None, (stuck_liquidation(state, s) for s in state.slots)), "")
        clears = f"{stuck}, then asnctl resume all" if stuck else "asnctl resume all"
    return HaltView(tower.halt_reason, note.since_ns or None, clears)


def slot_halt(state: DaemonState, slot: Slot) -> HaltView | None:
    """Why ``slot`` does not trade (or None if nothing stops it)."""
    note = slot.halt
    since = note.since_ns or None
    if slot.status is SlotStatus.DEAD:
        return HaltView(note.reason or "sudden death", since, "nothing: sudden death is final")
    if slot.status is SlotStatus.REDUCING:
        stuck = stuck_liquidation(state, slot)
        if slot.goal is SlotStatus.DEAD:
            clears = stuck or f"nothing: it is dead (final) once {_DONE}"
        elif slot.goal is SlotStatus.HALTED:
            first = f"{stuck}, then" if stuck else f"it halts once {_DONE};"
            clears = f"{first} {_resume_hint(slot)}"
        else:
            clears = stuck or f"nothing to do: it trades again once {_DONE}"
        return HaltView(note.reason or "reducing", since, clears)
    if slot.status is SlotStatus.HALTED:
        return HaltView(note.reason or "halted", since, _resume_hint(slot))
    daemon = daemon_halt(state)
    if daemon is not None:
        return HaltView(f"trading halted: {daemon.reason}", daemon.since_ns, daemon.clears)
    book = state.book(slot.symbol)
    if book is not None and book.stale:
        return HaltView(f"book stale: {book.stale_reason}", None, "next book snapshot")
    return None
