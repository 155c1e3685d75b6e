"""Read-only views of a ``DaemonState`` for ``asnctl status`` and logs: plain, JSON-ready.

Money is given both exactly (``*_e8`` integers) and as display text in quote currency (two
decimals, rounded down like the ledger); quantities in lots and as the venue's decimal text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from asnd.core.halts import slot_halt
from asnd.core.instrument import E8
from asnd.core.portfolio import DaemonState
from asnd.core.slot import Slot
from journal.decimals import Scale

__all__ = ["SlotView", "slot_views"]


@dataclass(frozen=True, slots=True)
class SlotView:
    slot: int
    symbol: str
    strategy_id: str
    status: str  # active | reducing | dead | halted
    goal: str  # where "reducing" ends
    position_lots: int
    position: str  # in base currency, "" before the instrument is known
    avg_entry_ticks: float
    equity_e8: int | None  # conservative mark (long at the bid, short at the ask)
    mid_equity_e8: int | None  # mid mark, for display
    cash_e8: int | None
    realised_pnl_e8: int | None
    fees_e8: int | None
    equity: str  # conservative equity in quote currency, 2 decimals ("" if unknown)
    open_orders: int
    intents: int
    last_signal: float | None
    last_signal_seq: int | None
    strategy_error: str
    # Why it does not trade ("" if nothing stops it), since when (event time), what clears it.
    halt_reason: str
    halt_since_ns: int | None
    halt_clears: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _money(e8: int | None) -> str:
    if e8 is None:
        return ""
    cents = e8 // (E8 // 100)  # rounded down, as the ledger rounds
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _view(state: DaemonState, slot: Slot) -> SlotView:
    ledger = slot.ledger
    touch = state.touch.get(slot.symbol)
    strategy_id = slot.strategy.document.id if slot.strategy is not None else ""
    signal = slot.last_signal
    equity = state.equity_e8(slot)
    mid = None
    if ledger is not None and touch is not None:
        mid = ledger.mid_equity_e8(*touch)
    halt = slot_halt(state, slot)
    return SlotView(
        slot=slot.index,
        symbol=slot.symbol,
        strategy_id=strategy_id,
        status=slot.status.value,
        goal=slot.goal.value,
        position_lots=ledger.position_lots if ledger else 0,
        position=Scale(ledger.instrument.lot_size).text(ledger.position_lots) if ledger else "",
        avg_entry_ticks=float(ledger.avg_entry_ticks) if ledger else 0.0,
        equity_e8=equity,
        mid_equity_e8=mid,
        cash_e8=ledger.cash_e8 if ledger else None,
        realised_pnl_e8=ledger.realised_pnl_e8 if ledger else None,
        fees_e8=ledger.fees_e8 if ledger else None,
        equity=_money(equity),
        open_orders=len(slot.orders),
        intents=slot.intents,
        last_signal=signal.signal if signal else None,
        last_signal_seq=signal.trigger_seq if signal else None,
        strategy_error=slot.strategy_error,
        halt_reason=halt.reason if halt else "",
        halt_since_ns=halt.since_ns if halt else None,
        halt_clears=halt.clears if halt else "",
    )


def slot_views(state: DaemonState) -> list[SlotView]:
    """One view per slot, in slot order."""
    return [_view(state, s) for s in state.slots]
