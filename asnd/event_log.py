"""Log lines from the journal: one structlog event for each journaled event an operator needs
to see -- halts, brakes, kills, resumes, deaths, liquidations, orders sent, fills, rejections
(the venue's and the watchtower's), challengers loaded and rejected, promotions and swaps.

The shell calls ``log_event`` for every event as the core actor journals it, input or
decision (``asnd.actors.core``), so the log says what the journal says, in the same order, and
the deterministic fold stays free of logging. Replay (recovery, backtests) does not pass
here: a restart does not log the past again. Market data, signals and approvals are not
logged (they are the bulk of the journal; ``asn-journal`` shows them).

Each line has a dotted event name and the facts as keys (``slot``, ``reason``, ``link_id``,
...) plus ``seq``, the journal position to look the event up by. Money is in USDT text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import structlog

from asnd.core.brakes import money_text
from journal.events import (
    ChallengerLoaded,
    ChallengerRejected,
    Event,
    Fill,
    Kill,
    Liquidation,
    ModelDead,
    OrderRejected,
    OrderSent,
    Promotion,
    Resume,
    RiskHalt,
    RiskVerdict,
    Swap,
    TradingHalted,
)

__all__ = ["log_event"]

_log = structlog.get_logger("asnd.events")


def _slot(index: int) -> int | str:
    return "all" if index == -1 else index


def _halted(e: Any) -> None:
    _log.error("trading.halted", reason=e.reason, seq=e.seq)


def _brake(e: Any) -> None:
    _log.error("risk.brake", slot=_slot(e.slot), rule=e.rule, reason=e.reason, seq=e.seq)


def _kill(e: Any) -> None:
    _log.warning("slot.killed", slot=_slot(e.slot), reason=e.reason, seq=e.seq)


def _resume(e: Any) -> None:
    _log.warning("slot.resumed", slot=_slot(e.slot), reason=e.reason, seq=e.seq)


def _dead(e: Any) -> None:
    _log.error("slot.dead", slot=e.slot, equity=money_text(e.equity_e8), seq=e.seq)


def _liquidation(e: Any) -> None:
    _log.warning(
        "slot.liquidation", slot=e.slot, symbol=e.symbol, link_id=e.link_id,
        qty_lots=e.qty_lots, seq=e.seq,
    )  # fmt: skip


def _sent(e: Any) -> None:
    _log.info("order.sent", slot=e.slot, link_id=e.link_id, attempt=e.attempt, seq=e.seq)


def _fill(e: Any) -> None:
    _log.info(
        "order.filled", slot=e.slot, symbol=e.symbol, link_id=e.link_id,
        side="buy" if e.side > 0 else "sell", price_ticks=e.price_ticks, qty_lots=e.qty_lots,
        leaves_lots=e.leaves_lots, fee=money_text(e.fee_e8), maker=e.is_maker, seq=e.seq,
    )  # fmt: skip


def _rejected(e: Any) -> None:
    _log.warning(
        "order.rejected", slot=e.slot, link_id=e.link_id, code=e.code, reason=e.reason,
        seq=e.seq,
    )  # fmt: skip


def _verdict(e: Any) -> None:
    if not e.approved:
        _log.warning(
            "order.refused", slot=e.slot, intent_seq=e.intent_seq, reason=e.reason, seq=e.seq
        )


def _challenger(e: Any) -> None:
    _log.info(
        "challenger.loaded", slot=e.slot, strategy_id=e.strategy_id, source=e.source,
        seq=e.seq,
    )  # fmt: skip


def _challenger_rejected(e: Any) -> None:
    _log.warning("challenger.rejected", source=e.source, reason=e.reason, seq=e.seq)


def _promotion(e: Any) -> None:
    _log.warning(
        "challenger.promoted", slot=e.slot, challenger_id=e.challenger_id,
        champion_id=e.champion_id, p_value=e.p_value, windows=e.windows, seq=e.seq,
    )  # fmt: skip


def _swap(e: Any) -> None:
    _log.warning(
        "slot.swapped", slot=e.slot, old=e.old_strategy_id, new=e.new_strategy_id,
        mode=e.mode, cause=e.cause, seq=e.seq,
    )  # fmt: skip


_WRITERS: Final[dict[type[Event], Callable[[Any], None]]] = {
    TradingHalted: _halted,
    RiskHalt: _brake,
    Kill: _kill,
    Resume: _resume,
    ModelDead: _dead,
    Liquidation: _liquidation,
    OrderSent: _sent,
    Fill: _fill,
    OrderRejected: _rejected,
    RiskVerdict: _verdict,
    ChallengerLoaded: _challenger,
    ChallengerRejected: _challenger_rejected,
    Promotion: _promotion,
    Swap: _swap,
}


def log_event(event: Event) -> None:
    """Write ``event``'s log line, if it is a kind an operator needs to see."""
    writer = _WRITERS.get(type(event))
    if writer is not None:
        writer(event)
