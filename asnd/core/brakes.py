"""Risk brakes: stop a slot (or the whole daemon) well before sudden death.

Two rules, each off unless configured, per slot and for the daemon as a whole (the sum of the
slots' equities):

- ``max_daily_loss``: equity fell by at least this much since the UTC day began. "The day" is
  the UTC calendar day of the *event time* (``ts_local_ns``) -- the core reads no clock -- and
  its starting equity is the equity just before the first equity-changing event (a book update
  of the slot's symbol, or one of its fills) of that day.
- ``max_drawdown``: equity is at least this much below its high-water mark (the highest equity
  seen at those same events; it starts at the capital).

Equity is the conservative mark (long at the bid, short at the ask), as for sudden death. A
brake that fires is a ``RiskHalt`` decision; applied, it flattens the slot (or every slot)
towards HALTED with the reason (``DaemonState``). What lifts it (``asnd.core.halts``):

- ``max_daily_loss``: nothing on the same UTC day (a resume is refused with the reason); from
  the next UTC day on, ``asnctl resume``, which starts that day's count at the current equity.
- ``max_drawdown``: ``asnctl resume``, which re-bases the high-water mark to the current equity
  (the operator accepts the loss and gives the slot its full drawdown allowance again).

Sudden death (equity <= 0) is checked first and is unchanged: a brake never replaces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import msgspec

from asnd.core.instrument import E8
from journal.events import Event, RiskHalt

if TYPE_CHECKING:
    from asnd.core.portfolio import DaemonState
    from asnd.core.slot import Slot

__all__ = [
    "DAILY_LOSS",
    "DRAWDOWN",
    "NS_PER_DAY",
    "BrakeLimits",
    "BrakeState",
    "NO_BRAKES",
    "HaltNote",
    "daemon_brake",
    "day_text",
    "money_text",
    "roll_days",
    "slot_brake",
    "utc_day",
]

NS_PER_DAY: Final = 86_400 * 1_000_000_000
DAILY_LOSS: Final = "max_daily_loss"
DRAWDOWN: Final = "max_drawdown"


def utc_day(ts_ns: int) -> int:
    """Days since 1970-01-01 (UTC) of an event time."""
    return ts_ns // NS_PER_DAY


def day_text(day: int) -> str:
    """The UTC date of day number ``day``, e.g. "2026-12-02"."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def money_text(e8: int) -> str:
    """USDT with two decimals, rounded down like the ledger (for reasons and logs)."""
    cents = e8 // (E8 // 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass(frozen=True, slots=True)
class BrakeLimits:
    """Exact limits in 1e-8 USDT; None = that brake is off."""

    max_daily_loss_e8: int | None = None
    max_drawdown_e8: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_daily_loss_e8", "max_drawdown_e8"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"BrakeLimits.{name} must be positive (or None: off)")

    @classmethod
    def from_decimals(
        cls, *, max_daily_loss: Decimal | None, max_drawdown: Decimal | None
    ) -> BrakeLimits:
        """From the daemon config's USDT amounts (validated there: at most 8 decimals)."""

        def e8(value: Decimal | None) -> int | None:
            return None if value is None else int(value * E8)

        return cls(e8(max_daily_loss), e8(max_drawdown))

    @property
    def any(self) -> bool:
        return self.max_daily_loss_e8 is not None or self.max_drawdown_e8 is not None


#: Both brakes off (the default of a slot and of the daemon).
NO_BRAKES: Final = BrakeLimits()


class HaltNote(msgspec.Struct, array_like=True, gc=False):
    """Why a slot (or the daemon) stopped, since when (event time) and under which rule.

    ``rule``: "" (not halted), "kill", "kill_all", "sudden_death", "halt" (``TradingHalted``),
    ``DAILY_LOSS``, ``DRAWDOWN`` or another cause's name; ``day`` the UTC day it fired on.
    """

    reason: str = ""
    since_ns: int = 0
    rule: str = ""
    day: int = -1


class BrakeState(msgspec.Struct, array_like=True, gc=False):
    """The numbers the brakes compare against: the day's start and the high-water mark."""

    hwm_e8: int
    day: int = -1
    day_start_e8: int | None = None

    def roll(self, ts_ns: int, equity_e8: int | None) -> None:
        """Before an equity-changing event: a new UTC day starts at the equity as it was."""
        day = utc_day(ts_ns)
        if day > self.day and equity_e8 is not None:
            self.day = day
            self.day_start_e8 = equity_e8

    def rebase(self, ts_ns: int, equity_e8: int | None) -> None:
        """An operator resumed: the day's count and the high-water mark start from now."""
        if equity_e8 is None:
            return
        self.day = utc_day(ts_ns)
        self.day_start_e8 = equity_e8
        self.hwm_e8 = equity_e8

    def check(
        self, limits: BrakeLimits, equity_e8: int, *, slot: int, ts_ns: int, who: str
    ) -> RiskHalt | None:
        """After an equity-changing event: raise the high-water mark, and the ``RiskHalt``
        if a limit is reached (``who`` names the slot or "all slots" in the reason)."""
        self.hwm_e8 = max(self.hwm_e8, equity_e8)
        day = utc_day(ts_ns)
        limit = limits.max_daily_loss_e8
        if limit is not None and self.day == day and self.day_start_e8 is not None:
            loss = self.day_start_e8 - equity_e8
            if loss >= limit:
                reason = (
                    f"{DAILY_LOSS}: {who} lost {money_text(loss)} USDT on {day_text(day)} (UTC) "
                    f"(limit {money_text(limit)} USDT)"
                )
                return RiskHalt(0, ts_ns, slot, DAILY_LOSS, reason, day)
        limit = limits.max_drawdown_e8
        if limit is not None:
            drawdown = self.hwm_e8 - equity_e8
            if drawdown >= limit:
                reason = (
                    f"{DRAWDOWN}: {who} equity {money_text(equity_e8)} USDT is "
                    f"{money_text(drawdown)} below its high-water mark "
                    f"{money_text(self.hwm_e8)} (limit {money_text(limit)} USDT)"
                )
                return RiskHalt(0, ts_ns, slot, DRAWDOWN, reason, day)
        return None


# ------------------------------------------------------------------ the fold's brake checks


def roll_days(state: DaemonState, slots: Sequence[Slot], ts_ns: int) -> None:
    """Before an equity-changing event of ``slots``: a new UTC day starts each daily-loss
    count (theirs and the daemon's) at the equity as it was."""
    day = utc_day(ts_ns)
    for slot in slots:
        if day > slot.brake.day and slot.config.brakes.max_daily_loss_e8 is not None:
            slot.brake.roll(ts_ns, state.equity_e8(slot))
    tower = state.watchtower
    if day > tower.brake.day and state.config.risk.brakes.max_daily_loss_e8 is not None:
        tower.brake.roll(ts_ns, state.total_equity_e8())


def slot_brake(state: DaemonState, slot: Slot, trigger: Event) -> list[Event]:
    """After ``slot``'s equity moved: its ``RiskHalt`` if it just passed one of its brakes
    (only while it is meant to trade: a halted or dying slot is already stopping)."""
    limits = slot.config.brakes
    if not limits.any or slot.goal.value != "active" or slot.status.value == "dead":
        return []
    equity = state.equity_e8(slot)
    if equity is None:
        return []
    who = f"slot {slot.index} ({slot.symbol})"
    halt = slot.brake.check(limits, equity, slot=slot.index, ts_ns=trigger.ts_local_ns, who=who)
    return [] if halt is None else [halt]


def daemon_brake(state: DaemonState, trigger: Event) -> list[Event]:
    """After any slot's equity moved: the daemon-wide ``RiskHalt`` if the slots' total
    equity just passed a brake (none while trading is halted anyway)."""
    limits = state.config.risk.brakes
    if not limits.any or state.watchtower.halted:
        return []
    total = state.total_equity_e8()
    if total is None:
        return []
    halt = state.watchtower.brake.check(
        limits, total, slot=-1, ts_ns=trigger.ts_local_ns, who="all slots"
    )
    return [] if halt is None else [halt]
