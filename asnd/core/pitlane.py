"""The pit lane: the shadow challengers of every slot, folded from the journal.

``PitLane.apply(event, state) -> decisions`` is a second fold next to ``DaemonState``: the
core actor applies every journaled event to both, in journal order, and journals the
decisions of both (``DaemonState``'s first). It reads the ``DaemonState`` (champions, live
books, slot configs) but never changes it: a promotion changes the daemon only through the
``Swap`` and ``StrategyLoaded`` it journals, exactly as ``asnctl swap`` does
(``swap_events``: one code path for both).

Events:

- ``ChallengerLoaded``: validated again (hostile input: the file may have been crafted to
  pass the pit crew's checks, or the journal edited); a challenger for a slot that does not
  exist, an invalid document, the id of the champion in force or of another challenger is
  refused with a ``ChallengerRejected`` decision carrying the reason. Otherwise the
  challenger starts shadowing its slot (``asnd.core.shadow``), and the champion's twin is
  started if the slot had none.
- ``ChallengerRejected`` (from the pit crew, or the decision above): recorded for
  ``asnctl challengers``.
- Market events (``asnd.core.shadow.MARKET_KINDS``): first, if the event opens a later
  window (``asnd.core.promotion``), the window that ended is scored for every challenger of
  its symbol and the promotion rule is applied -- at most one promotion per slot, the best
  passing challenger (lowest p, then largest PnL difference, then id) -- as the decisions
  ``Promotion``, ``Swap`` (cause "promotion", mode ``[promotion] swap_mode``) and
  ``StrategyLoaded``. Then the event is fed to the shadows, and each side whose equity
  now first reaches its target (``[promotion] target_multiple`` x the slot's capital for a
  fresh shadow; see ``asnd.core.promotion``) has the event's time recorded as its
  time-to-target in the challenger's standing (a challenger with a worse time-to-target
  than the champion's twin is not promoted).
- ``Promotion``: the challenger is marked promoted and stops shadowing.

The swap happens at a safe point by construction: between two journaled events, none
half-applied. With "flatten" the slot cancels and closes its position first (the
``DaemonState``'s ``Swap`` handling); with "inherit" the new champion takes over its
position and working orders.

When a slot's champion changes (the promotion, an operator swap), at the next window
boundary its twin restarts on the new champion and every challenger's standing on that slot
restarts from zero, time-to-target included (the window in which the change happened is
not scored).

Restart: the pit lane is not part of the state snapshot. After a restart it is empty, the
pit crew rescans the directory and every challenger file is loaded (and shadowed) afresh:
standing is earned on continuous live data of one daemon run. Its decisions (promotions,
swaps) are in the journal, so the daemon's state after a restart has the new champion.

Pure and deterministic: given the same journaled events (and the same ``DaemonState``
they fold into), the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from asnd.core.portfolio import DaemonState
from asnd.core.promotion import PromotionRule, Standing, TargetRace
from asnd.core.shadow import MARKET_KINDS, Shadow
from asnd.core.slot import SlotStatus
from asnd.core.strategy import StrategyError, parse_strategy
from journal.events import (
    ChallengerLoaded,
    ChallengerRejected,
    Event,
    InstrumentInfo,
    Promotion,
    StrategyLoaded,
    Swap,
)

__all__ = ["Challenger", "PitLane", "swap_events"]

#: Rejections kept for ``asnctl challengers`` (the most recent).
MAX_REJECTIONS: Final = 50


def swap_events(
    state: DaemonState,
    slot: int,
    document: str,
    *,
    strategy_id: str,
    digest: str,
    source: str,
    mode: str,
    cause: str,
    ts_local_ns: int,
) -> list[Event]:
    """The events that put ``document`` (validated) in force on ``slot``: ``Swap`` (which
    flattens first when ``mode`` is "flatten") then ``StrategyLoaded``. Used by the control
    desk's ``swap`` and by promotions alike."""
    champion = state.slots[slot].strategy
    old = champion.document.id if champion is not None else ""
    return [
        Swap(0, ts_local_ns, slot, old, strategy_id, mode, cause),
        StrategyLoaded(0, ts_local_ns, slot, strategy_id, digest, source, document),
    ]


@dataclass(slots=True)
class Challenger:
    slot: int
    strategy_id: str
    source: str
    document: str
    digest: str
    shadow: Shadow | None
    status: str = "shadowing"  # shadowing | promoted | failed: <reason>
    standing: Standing = field(default_factory=Standing)
    start_e8: int | None = None  # virtual equity when the current window began


@dataclass(slots=True)
class _Twin:
    """The champion in force, as a shadow."""

    document: str
    shadow: Shadow
    start_e8: int | None = None


class PitLane:
    def __init__(self, rule: PromotionRule, swap_mode: str) -> None:
        self.rule = rule
        self.swap_mode = swap_mode
        self.challengers: dict[str, Challenger] = {}
        self.rejected: list[tuple[str, str]] = []  # (source, reason)
        self._twins: dict[int, _Twin] = {}
        self._infos: dict[str, InstrumentInfo] = {}
        self._window: dict[str, int] = {}

    # ------------------------------------------------------------------------------ folding

    def apply(self, event: Event, state: DaemonState) -> list[Event]:
        if isinstance(event, MARKET_KINDS):
            return self._on_market(event, state)
        if isinstance(event, InstrumentInfo):
            self._infos.setdefault(event.symbol, event)
        elif isinstance(event, ChallengerLoaded):
            return self._on_loaded(event, state)
        elif isinstance(event, ChallengerRejected):
            self.rejected.append((event.source, event.reason))
            del self.rejected[:-MAX_REJECTIONS]
        elif isinstance(event, Promotion):
            challenger = self.challengers.get(event.challenger_id)
            if challenger is not None:
                challenger.status = "promoted"
                challenger.shadow = None
        return []

    def _on_loaded(self, event: ChallengerLoaded, state: DaemonState) -> list[Event]:
        reason = self._refusal(event, state)
        if reason:
            return [ChallengerRejected(0, event.ts_local_ns, event.source, reason)]
        slot = state.slots[event.slot]
        shadow = Shadow(slot.config, state.config, event.strategy_id, event.document)
        shadow.start(self._infos.get(slot.symbol), state.book(slot.symbol), event.ts_local_ns)
        challenger = Challenger(
            event.slot, event.strategy_id, event.source, event.document, event.digest, shadow
        )
        self.challengers[event.strategy_id] = challenger
        self._sync_twin(event.slot, state, event.ts_local_ns)
        challenger.standing = self._standing(challenger, state, event.ts_local_ns)
        return []

    def _refusal(self, event: ChallengerLoaded, state: DaemonState) -> str:
        if not 0 <= event.slot < len(state.slots):
            return f"no slot {event.slot}; slots are 0 to {len(state.slots) - 1}"
        try:
            doc = parse_strategy(event.document)
        except StrategyError as exc:
            return f"invalid strategy: {exc}"
        if doc.id != event.strategy_id:
            return f"strategy id {event.strategy_id!r} does not match the document's {doc.id!r}"
        champion = state.slots[event.slot].strategy
        if champion is not None and champion.document.id == doc.id:
            return f"{doc.id} is already the champion of slot {event.slot}"
        known = self.challengers.get(doc.id)
        if known is not None:
            return f"duplicate id: {doc.id} is already a challenger of slot {known.slot}"
        return ""

    # -------------------------------------------------------------------------------- market

    def _on_market(self, event: Any, state: DaemonState) -> list[Event]:
        symbol: str = event.symbol
        out: list[Event] = []
        window = self.rule.window_of(event.ts_local_ns)
        current = self._window.setdefault(symbol, window)
        if window > current:
            self._window[symbol] = window
            out = self._close_window(symbol, state, event.ts_local_ns)
        for challenger in self.challengers.values():
            if challenger.shadow is not None and challenger.shadow.symbol == symbol:
                error = _feed(challenger.shadow, event)
                if error:  # the shadow's own problem: it stops; live trading goes on
                    challenger.status, challenger.shadow = f"failed: {error}", None
        for slot, twin in list(self._twins.items()):
            if twin.shadow.symbol == symbol and _feed(twin.shadow, event):
                del self._twins[slot]  # restarted (standings too) at the next window close
        self._note_targets(symbol, event.ts_local_ns)
        return out

    def _note_targets(self, symbol: str, ts: int) -> None:
        """Time-to-target: each side whose equity reaches its target at this event."""
        twin_equity: dict[int, int | None] = {}  # once per slot, shared by its challengers
        for challenger in self.challengers.values():
            own, standing = challenger.shadow, challenger.standing
            gain = standing.target_gain_e8
            if own is None or own.symbol != symbol or gain is None:
                continue
            # A side that has reached its target costs nothing more: its equity is not computed.
            if standing.challenger.reached_ns is None:
                standing.challenger.note(ts, own.equity_e8, gain)
            twin = self._twins.get(challenger.slot)
            if standing.champion.reached_ns is None and twin is not None:
                if challenger.slot not in twin_equity:
                    twin_equity[challenger.slot] = twin.shadow.equity_e8
                standing.champion.note(ts, twin_equity[challenger.slot], gain)

    def _standing(self, challenger: Challenger, state: DaemonState, ts: int) -> Standing:
        """A fresh standing from ``ts``: each side races from its equity now."""
        twin = self._twins.get(challenger.slot)
        own = challenger.shadow
        return Standing(
            began_ns=ts,
            target_gain_e8=self.rule.target_gain_e8(state.slots[challenger.slot].config.capital_e8),
            challenger=TargetRace(None if own is None else own.equity_e8),
            champion=TargetRace(None if twin is None else twin.shadow.equity_e8),
        )

    def _close_window(self, symbol: str, state: DaemonState, ts: int) -> list[Event]:
        out: list[Event] = []
        for slot in state.by_symbol.get(symbol, []):
            active = self._active(slot.index)
            if not active:
                continue
            if self._sync_twin(slot.index, state, ts) or slot.index not in self._twins:
                continue  # a new champion (standings restart from now), or none
            twin = self._twins[slot.index]
            twin_now = twin.shadow.equity_e8
            for challenger in active:
                assert challenger.shadow is not None
                now, start = challenger.shadow.equity_e8, challenger.start_e8
                if None not in (now, start, twin_now, twin.start_e8):
                    challenger.standing.add(_diff(now, start, twin_now, twin.start_e8))
                challenger.start_e8 = now
            twin.start_e8 = twin_now
            if slot.status is not SlotStatus.DEAD and slot.goal is not SlotStatus.DEAD:
                out.extend(self._promote(slot.index, active, state, ts))
        return out

    def _promote(
        self, slot: int, active: list[Challenger], state: DaemonState, ts: int
    ) -> list[Event]:
        passing = [
            c
            for c in active
            if c.standing.passes(self.rule, alive=(c.shadow is not None and _alive(c.shadow)))
        ]
        if not passing:
            return []
        best = min(
            passing, key=lambda c: (c.standing.p_value, -c.standing.sum_diff_e8, c.strategy_id)
        )
        champion = state.slots[slot].strategy
        standing = best.standing
        return [
            Promotion(
                0, ts, slot, best.strategy_id, champion.document.id if champion else "",
                standing.mean_diff_e8 / 1e8, standing.p_value, standing.windows,
            ),
            *swap_events(
                state, slot, best.document, strategy_id=best.strategy_id, digest=best.digest,
                source=f"promotion: {best.source}", mode=self.swap_mode, cause="promotion",
                ts_local_ns=ts,
            ),
        ]  # fmt: skip

    def _active(self, slot: int) -> list[Challenger]:
        return [c for c in self.challengers.values() if c.slot == slot and c.status == "shadowing"]

    def _sync_twin(self, slot: int, state: DaemonState, ts: int) -> bool:
        """(Re)start the champion's twin if the champion changed; True if it did."""
        live = state.slots[slot]
        twin = self._twins.get(slot)
        if twin is not None and twin.document == live.strategy_document:
            return False
        if live.strategy is None:
            self._twins.pop(slot, None)
            return twin is not None
        doc_id = live.strategy.document.id
        shadow = Shadow(live.config, state.config, doc_id, live.strategy_document)
        shadow.start(self._infos.get(live.symbol), state.book(live.symbol), ts)
        self._twins[slot] = _Twin(live.strategy_document, shadow, shadow.equity_e8)
        for challenger in self._active(slot):
            challenger.standing = self._standing(challenger, state, ts)
            own = challenger.shadow
            challenger.start_e8 = None if own is None else own.equity_e8
        return True

    # ------------------------------------------------------------------------------ reading

    def standings(self, state: DaemonState) -> list[dict[str, object]]:
        """Every challenger and rejection, for ``asnctl challengers``."""
        rows: list[dict[str, object]] = []
        for c in sorted(self.challengers.values(), key=lambda c: (c.slot, c.strategy_id)):
            champion = state.slots[c.slot].strategy
            s = c.standing
            rows.append({
                "slot": c.slot,
                "challenger": c.strategy_id,
                "champion": champion.document.id if champion else "-",
                "status": c.status,
                "windows": s.windows,
                "wins": s.wins,
                "losses": s.losses,
                "mean_pnl_diff": round(s.mean_diff_e8 / 1e8, 8),
                "p_value": round(s.p_value, 6),
                "challenger_ttt_s": s.ttt_s(s.challenger),
                "champion_ttt_s": s.ttt_s(s.champion),
                "reason": "",
            })  # fmt: skip
        for source, reason in self.rejected:
            rows.append({
                "slot": None, "challenger": source, "champion": None, "status": "rejected",
                "windows": 0, "wins": 0, "losses": 0, "mean_pnl_diff": None, "p_value": None,
                "challenger_ttt_s": None, "champion_ttt_s": None, "reason": reason,
            })  # fmt: skip
        return rows


def _alive(shadow: Shadow) -> bool:
    equity = shadow.equity_e8
    return equity is None or equity > 0


def _diff(now: int | None, start: int | None, twin_now: int | None, twin: int | None) -> int:
    """Challenger's window PnL minus the champion twin's (all known)."""
    assert now is not None
    assert start is not None
    assert twin_now is not None
    assert twin is not None
    return (now - start) - (twin_now - twin)


def _feed(shadow: Shadow, event: Event) -> str:
    """Feed one market event; the error text if the shadow broke ("" if not).

    A shadow is the same code as the live fold, so this should never fire; but a broken
    shadow must not take the core (and live trading) down with it. Deterministic: replaying
    the journal breaks it at the same event."""
    try:
        shadow.on_market(event)
    except Exception as exc:  # isolate a shadow's failure from the live core
        return f"{type(exc).__name__}: {exc}"
    return ""
