"""What an alert says: journaled events (and the daily figures) as short human messages.

Pure: an event in, an ``Alert`` (or None) out; no clock, no I/O. Money is USDT text from the
one money formatter (``asnd.core.brakes.money_text``); halt kinds come from
``asnd.core.halts.halt_kind``, the values the metrics label halts with.

Alerted: ``TradingHalted`` (every halt, a kill-all included), ``RiskHalt`` (a brake), a
slot's ``Kill`` (an operator's or an anomaly), ``Resume``, ``ModelDead``, ``Liquidation`` and
``Promotion``; the feed lost for too long and back, and the daily summary (made by the
alerts actor, which knows the time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from asnd.core.brakes import day_text, money_text
from asnd.core.halts import HaltKind, halt_kind
from asnd.core.portfolio import DaemonState
from journal.events import (
    Event,
    Kill,
    Liquidation,
    ModelDead,
    Promotion,
    Resume,
    RiskHalt,
    TradingHalted,
)

__all__ = [
    "ALERTED",
    "Alert",
    "Severity",
    "alert_for",
    "daily_summary",
    "feed_back",
    "feed_lost",
]

Severity = Literal["critical", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One notification. ``kind``: halt, brake, kill, resume, death, liquidation, promotion,
    feed_lost, feed_back, daily_summary. ``halt_kind``: the ``HaltKind`` value, for halts."""

    kind: str
    severity: Severity
    title: str  # one line
    text: str  # the title's detail, one or more lines
    ts_ns: int  # event time (the daily summary: when it was made)
    seq: int | None = None  # the journal seq of the event, None for the actor's own alerts
    slot: int | None = None
    halt_kind: str | None = None

    def message(self) -> str:
        """Plain text for a chat: the title, then the detail."""
        return f"{self.title}\n{self.text}" if self.text else self.title

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        body: dict[str, Any] = {
            "source": "asnd",
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "text": self.text,
            "ts_ns": self.ts_ns,
        }
        for key, value in (("seq", self.seq), ("slot", self.slot), ("halt_kind", self.halt_kind)):
            if value is not None:
                body[key] = value
        return body


def _who(index: int, symbols: Sequence[str]) -> str:
    if index == -1:
        return "all slots"
    if 0 <= index < len(symbols):
        return f"slot {index} ({symbols[index]})"
    return f"slot {index}"


def _halted(e: Any, symbols: Sequence[str]) -> Alert:
    kind = halt_kind(e) or HaltKind.OTHER
    return Alert(
        "halt", "critical", f"ASN: trading halted ({kind})", e.reason, e.ts_local_ns, e.seq,
        halt_kind=kind.value,
    )  # fmt: skip


def _brake(e: Any, symbols: Sequence[str]) -> Alert:
    kind = halt_kind(e) or HaltKind.OTHER
    who = _who(e.slot, symbols)
    return Alert(
        "brake", "critical", f"ASN: risk brake {e.rule} stopped {who}", e.reason, e.ts_local_ns,
        e.seq, e.slot, kind.value,
    )  # fmt: skip


def _kill(e: Any, symbols: Sequence[str]) -> Alert | None:
    kind = halt_kind(e)
    if kind is None:  # a kill of all slots: its TradingHalted is the alert
        return None
    title = "anomaly killed" if kind is HaltKind.ANOMALY else "killed"
    return Alert(
        "kill", "critical", f"ASN: {_who(e.slot, symbols)} {title}", e.reason, e.ts_local_ns,
        e.seq, e.slot, kind.value,
    )  # fmt: skip


def _resume(e: Any, symbols: Sequence[str]) -> Alert:
    return Alert(
        "resume", "info", f"ASN: {_who(e.slot, symbols)} resumed", e.reason, e.ts_local_ns,
        e.seq, e.slot,
    )  # fmt: skip


def _dead(e: Any, symbols: Sequence[str]) -> Alert:
    return Alert(
        "death", "critical", f"ASN: {_who(e.slot, symbols)} is dead (sudden death)",
        f"equity {money_text(e.equity_e8)} USDT <= 0; its position is being liquidated",
        e.ts_local_ns, e.seq, e.slot,
    )  # fmt: skip


def _liquidation(e: Any, symbols: Sequence[str]) -> Alert:
    return Alert(
        "liquidation", "warning", f"ASN: {_who(e.slot, symbols)} liquidating",
        f"reduce-only order {e.link_id} for {e.qty_lots} lots of {e.symbol}",
        e.ts_local_ns, e.seq, e.slot,
    )  # fmt: skip


def _promotion(e: Any, symbols: Sequence[str]) -> Alert:
    return Alert(
        "promotion", "info", f"ASN: {_who(e.slot, symbols)}: challenger {e.challenger_id} promoted",
        f"challenger {e.challenger_id} beat champion {e.champion_id} over {e.windows} windows "
        f"(p = {e.p_value:.4g})",
        e.ts_local_ns, e.seq, e.slot,
    )  # fmt: skip


_MAKERS: Final[dict[type[Event], Callable[[Any, Sequence[str]], Alert | None]]] = {
    TradingHalted: _halted,
    RiskHalt: _brake,
    Kill: _kill,
    Resume: _resume,
    ModelDead: _dead,
    Liquidation: _liquidation,
    Promotion: _promotion,
}


#: The kinds of event that raise an alert.
ALERTED: Final = frozenset(_MAKERS)


def alert_for(event: Event, symbols: Sequence[str] = ()) -> Alert | None:
    """The alert a journaled ``event`` raises, if any. ``symbols[i]`` names slot ``i``."""
    maker = _MAKERS.get(type(event))
    return None if maker is None else maker(event, symbols)


def feed_lost(stream: str, reason: str, lost_s: float, ts_ns: int) -> Alert:
    return Alert(
        "feed_lost", "critical", f"ASN: {stream} feed lost for {lost_s:.0f} s",
        f"{reason}; its books are stale: no new orders on them until it is back", ts_ns,
    )  # fmt: skip


def feed_back(stream: str, lost_s: float, ts_ns: int) -> Alert:
    return Alert("feed_back", "info", f"ASN: {stream} feed back after {lost_s:.0f} s", "", ts_ns)


def _figures(equity_e8: int, capital_e8: int) -> str:
    pnl = equity_e8 - capital_e8
    sign = "+" if pnl >= 0 else ""
    return f"equity {money_text(equity_e8)} USDT, PnL {sign}{money_text(pnl)} USDT"


def daily_summary(state: DaemonState, day: int, ts_ns: int) -> Alert:
    """Per slot equity and PnL (against its capital) in USDT, and the total, as of now."""
    lines: list[str] = []
    total_equity = total_capital = 0
    marked = True
    for slot in state.slots:
        capital = slot.config.capital_e8
        equity = state.equity_e8(slot)
        where = f"slot {slot.index} {slot.symbol} ({slot.status.value})"
        if equity is None:
            marked = False
            lines.append(f"{where}: equity unknown (no book yet), capital {money_text(capital)}")
            continue
        total_equity += equity
        total_capital += capital
        lines.append(f"{where}: {_figures(equity, capital)}")
    if marked:
        pnl = total_equity - total_capital
        sign = "+" if pnl >= 0 else ""
        lines.append(
            f"total: equity {money_text(total_equity)} USDT, PnL {sign}{money_text(pnl)} USDT"
        )
    halted = " (trading halted)" if state.watchtower.halted else ""
    return Alert(
        "daily_summary", "info", f"ASN: daily summary {day_text(day)}{halted}",
        "\n".join(lines), ts_ns,
    )  # fmt: skip
