"""Bybit v5 WebSocket frames and REST rows -> journal events, exactly.

Every number the venue sends as a decimal string goes through one helper, ``units``: a plain
decimal (no exponent, no "Infinity"/"NaN", at most 40 characters) counted exactly in steps of
the instrument's ``Scale`` (off-grid raises), non-negative unless the field can be (fees,
rebates), and within what the journal can hold (int64). Values that are legitimately off-grid
at the venue (average entry prices, fees) are rounded half-even to the nearest tick / 1e-8 and
say so at their call, the only difference.

A frame that cannot be understood raises ``MalformedFrameError`` (naming the field for a bad
number) with a short excerpt; the feeds log it and skip the frame, they never die of it. No
other exception leaves ``parse_public``/``parse_private``, nor the row converters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import msgspec

from asnd.core.link_id import parse_link_id
from asnd.venues.bybit.wire import (
    BookData,
    Envelope,
    ExecutionRow,
    InstrumentRow,
    OrderRow,
    PositionRow,
    TradeRow,
)
from journal.codec import INT64_MAX, INT64_MIN
from journal.decimals import OffGridError, Scale, decimals_of, to_units
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderCancelled,
    OrderReconciled,
    OrderRejected,
    PositionReconciled,
    Trade,
)

__all__ = [
    "ORDER_STATUS",
    "MalformedFrameError",
    "OpAnswer",
    "SymbolScales",
    "fill_from_row",
    "instrument_from_row",
    "parse_private",
    "parse_public",
    "position_from_row",
    "reconciled_from_row",
    "side_of",
    "units",
]

_DECODE_ENVELOPE = msgspec.json.Decoder(Envelope)
_DECODE_BOOK = msgspec.json.Decoder(BookData)
_DECODE_TRADES = msgspec.json.Decoder(list[TradeRow])
_DECODE_EXECS = msgspec.json.Decoder(list[ExecutionRow])
_DECODE_ORDERS = msgspec.json.Decoder(list[OrderRow])
_DECODE_POSITIONS = msgspec.json.Decoder(list[PositionRow])
#: Fees are journaled in 1e-8 of the quote currency; timestamps in whole milliseconds.
_FEE_STEP: Final = Scale("0.00000001")
_MS: Final = Scale("1")


class MalformedFrameError(ValueError):
    """A venue frame that does not parse; the message says why and shows an excerpt."""


#: A plain decimal as Bybit writes numbers; anything else ("1e999", "Infinity") is refused.
_DECIMAL: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
#: Longer than any value the journal can hold plus a generous fraction: refused unread.
_MAX_DECIMAL_CHARS: Final = 40


def units(
    field: str, text: str, step: Scale, *, rounded: bool = False, signed: bool = False
) -> int:
    """The venue's decimal ``text`` for ``field`` as a whole number of ``step``s.

    Exact unless ``rounded`` (then half-even to the nearest step); negative only if
    ``signed``; always within int64. Anything else is a ``MalformedFrameError`` naming
    ``field``. The one conversion of venue numbers: every field goes through here.
    """
    if not isinstance(text, str):  # a JSON number or null where Bybit writes strings
        raise MalformedFrameError(f"{field}: {type(text).__name__} where a decimal string belongs")
    shown = text if len(text) <= 24 else f"{text[:24]}... ({len(text)} chars)"
    if len(text) > _MAX_DECIMAL_CHARS or _DECIMAL.fullmatch(text) is None:
        raise MalformedFrameError(f"{field}: {shown!r} is not a plain decimal number")
    decimals = max(step.decimals, decimals_of(text))
    per_step = to_units(step.step, decimals)
    if per_step <= 0:
        raise MalformedFrameError(f"{field}: the step {step.step!r} is not positive")
    whole, rest = divmod(to_units(text, decimals), per_step)
    if rest:
        if not rounded:
            raise MalformedFrameError(f"{field}: {shown!r} is not a multiple of {step.step!r}")
        # Floor division leaves 0 < rest < per_step, for negative values too.
        if 2 * rest > per_step or (2 * rest == per_step and whole % 2):
            whole += 1
    if whole < 0 and not signed:
        raise MalformedFrameError(f"{field}: {shown!r} is negative")
    if not INT64_MIN <= whole <= INT64_MAX:
        raise MalformedFrameError(f"{field}: {shown!r} is beyond what the journal can hold")
    return whole


@dataclass(frozen=True, slots=True)
class SymbolScales:
    """The grid of one symbol, from its ``InstrumentInfo``."""

    tick: Scale
    lot: Scale

    @classmethod
    def of(cls, info: InstrumentInfo) -> SymbolScales:
        return cls(Scale(info.tick_size), Scale(info.lot_size))


@dataclass(frozen=True, slots=True)
class OpAnswer:
    """The venue's answer to one of our ops (subscribe, ping, auth)."""

    op: str
    success: bool
    message: str


def _excerpt(frame: bytes | str) -> str:
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    return text[:120] + ("..." if len(text) > 120 else "")


def side_of(text: str) -> int:
    if text == "Buy":
        return BUY
    if text == "Sell":
        return SELL
    raise MalformedFrameError(f"unknown side {text!r}")


def _scales(scales: dict[str, SymbolScales], symbol: str) -> SymbolScales:
    try:
        return scales[symbol]
    except KeyError:
        raise MalformedFrameError(f"no instrument info for symbol {symbol!r}") from None


def _envelope(frame: bytes | str) -> Envelope:
    try:
        return _DECODE_ENVELOPE.decode(frame)
    except msgspec.DecodeError as exc:
        raise MalformedFrameError(f"not a Bybit frame ({exc}): {_excerpt(frame)}") from exc


def _op_answer(env: Envelope) -> OpAnswer:
    success = env.success if env.success is not None else env.retCode == 0
    if env.op == "pong":  # private stream pong has no success flag
        success = True
    return OpAnswer(env.op, success, env.ret_msg or env.retMsg)


def parse_public(
    frame: bytes | str, scales: dict[str, SymbolScales], ts_local_ns: int
) -> list[Event] | OpAnswer:
    """One public frame: ``orderbook.*`` -> BookSnapshot/BookDelta, ``publicTrade.*`` -> Trades."""
    env = _envelope(frame)
    if not env.topic:
        if env.op:
            return _op_answer(env)
        raise MalformedFrameError(f"frame with neither topic nor op: {_excerpt(frame)}")
    try:
        if env.topic.startswith("orderbook."):
            return [_book_event(env, scales, ts_local_ns)]
        # Bybit v5 says ``publicTrade.{symbol}``; recorded fixtures also show ``trade.*``.
        if env.topic.startswith(("publicTrade.", "trade.")):
            return _trades(env, scales, ts_local_ns)
    except (msgspec.DecodeError, ValueError) as exc:
        raise MalformedFrameError(f"bad {env.topic} frame ({exc}): {_excerpt(frame)}") from exc
    raise MalformedFrameError(f"unexpected topic {env.topic!r}: {_excerpt(frame)}")


def _levels(
    side: str, rows: list[tuple[str, str]], sc: SymbolScales
) -> tuple[list[int], list[int]]:
    ticks = [units(f"{side} price", p, sc.tick) for p, _ in rows]
    return ticks, [units(f"{side} size", q, sc.lot) for _, q in rows]


def _book_event(
    env: Envelope, scales: dict[str, SymbolScales], ts_local_ns: int
) -> BookSnapshot | BookDelta:
    data = _DECODE_BOOK.decode(env.data)
    sc = _scales(scales, data.s)
    bid_ticks, bid_lots = _levels("b", data.b, sc)
    ask_ticks, ask_lots = _levels("a", data.a, sc)
    if env.type == "snapshot":
        cls: type[BookSnapshot] | type[BookDelta] = BookSnapshot
    elif env.type == "delta":
        cls = BookDelta
    else:
        raise MalformedFrameError(f"unknown book message type {env.type!r}")
    return cls(
        0,
        ts_local_ns,
        data.s,
        data.u,
        data.seq,
        env.ts,
        env.cts,
        bid_ticks,
        bid_lots,
        ask_ticks,
        ask_lots,
    )


def _trades(env: Envelope, scales: dict[str, SymbolScales], ts_local_ns: int) -> list[Event]:
    out: list[Event] = []
    for row in _DECODE_TRADES.decode(env.data):
        sc = _scales(scales, row.s)
        out.append(
            Trade(
                0,
                ts_local_ns,
                row.s,
                row.i,
                side_of(row.S),
                units("p", row.p, sc.tick),
                units("v", row.v, sc.lot),
                row.T,
                row.BT,
            )
        )
    return out


# ---------------------------------------------------------------------------------- private


def _slot_of(link_id: str) -> int:
    parsed = parse_link_id(link_id)
    return -1 if parsed is None else parsed.slot  # -1: an order we did not place


def fill_from_row(row: ExecutionRow, scales: dict[str, SymbolScales], ts_local_ns: int) -> Fill:
    """An execution (WS ``execution`` topic or REST ``/v5/execution/list``) as a ``Fill``."""
    sc = _scales(scales, row.symbol)
    return Fill(
        0,
        ts_local_ns,
        _slot_of(row.order_link_id),
        row.order_link_id,
        row.order_id,
        row.exec_id,
        row.symbol,
        side_of(row.side),
        units("execPrice", row.exec_price, sc.tick),
        units("execQty", row.exec_qty, sc.lot),
        # Fees are off the 1e-8 grid at times (a rate times a value); negative is a rebate.
        units("execFee", row.exec_fee, _FEE_STEP, rounded=True, signed=True),
        row.is_maker,
        units("execTime", row.exec_time, _MS),
        units("leavesQty", row.leaves_qty or "0", sc.lot),
    )


def _order_event(row: OrderRow, scales: dict[str, SymbolScales], ts_local_ns: int) -> Event | None:
    slot = _slot_of(row.order_link_id)
    status = row.order_status
    if status in ("New", "Untriggered"):
        return OrderAccepted(0, ts_local_ns, slot, row.order_link_id, row.order_id)
    if status in ("Cancelled", "PartiallyFilledCanceled", "Deactivated"):
        lot = _scales(scales, row.symbol).lot
        # The cancelled remainder is qty - cumExecQty: venues differ on leavesQty after a cancel.
        leaves = units("qty", row.qty or "0", lot) - units(
            "cumExecQty", row.cum_exec_qty or "0", lot
        )
        reason = row.cancel_type or status
        return OrderCancelled(0, ts_local_ns, slot, row.order_link_id, row.order_id, reason, leaves)
    if status == "Rejected":
        return OrderRejected(0, ts_local_ns, slot, row.order_link_id, -1, row.reject_reason)
    return None  # PartiallyFilled / Filled: the fills arrive on the execution topic


def position_from_row(
    row: PositionRow, scales: dict[str, SymbolScales], ts_local_ns: int
) -> PositionReconciled:
    sc = _scales(scales, row.symbol)
    lots = units("size", row.size or "0", sc.lot)  # the side gives the sign
    if row.side == "Sell":
        lots = -lots
    elif row.side not in ("Buy", "", "None"):
        raise MalformedFrameError(f"unknown position side {row.side!r}")
    price = row.avg_price if row.avg_price not in ("", "0") else row.entry_price
    # Average prices are off the tick grid: round.
    avg_ticks = units("avgPrice", price or "0", sc.tick, rounded=True)
    return PositionReconciled(0, ts_local_ns, row.symbol, lots, avg_ticks)


def parse_private(
    frame: bytes | str, scales: dict[str, SymbolScales], ts_local_ns: int
) -> list[Event] | OpAnswer:
    """One private frame: ``execution`` -> Fills (trades only), ``order`` -> accepted/cancelled/
    rejected, ``position`` -> PositionReconciled. Funding and other non-trade executions are
    not fills and yield nothing."""
    env = _envelope(frame)
    if not env.topic:
        if env.op:
            return _op_answer(env)
        raise MalformedFrameError(f"frame with neither topic nor op: {_excerpt(frame)}")
    try:
        if env.topic == "execution":
            rows = _DECODE_EXECS.decode(env.data)
            return [fill_from_row(r, scales, ts_local_ns) for r in rows if r.exec_type == "Trade"]
        if env.topic == "order":
            events = (_order_event(r, scales, ts_local_ns) for r in _DECODE_ORDERS.decode(env.data))
            return [e for e in events if e is not None]
        if env.topic == "position":
            rows_p = _DECODE_POSITIONS.decode(env.data)
            return [position_from_row(r, scales, ts_local_ns) for r in rows_p]
    except (msgspec.DecodeError, ValueError, OffGridError) as exc:
        raise MalformedFrameError(f"bad {env.topic} frame ({exc}): {_excerpt(frame)}") from exc
    if env.topic == "wallet":
        return []
    raise MalformedFrameError(f"unexpected topic {env.topic!r}: {_excerpt(frame)}")


def instrument_from_row(
    row: InstrumentRow, ts_local_ns: int, venue: str = "bybit"
) -> InstrumentInfo:
    lot = row.lot_size_filter
    step = lot.qty_step or lot.base_precision
    if not step:
        raise MalformedFrameError(f"instrument {row.symbol} has no qtyStep/basePrecision")
    min_notional = lot.min_notional_value if lot.min_notional_value != "0" else lot.min_order_amt
    return InstrumentInfo(
        0,
        ts_local_ns,
        venue,
        row.symbol,
        _decimal("tickSize", row.price_filter.tick_size, positive=True),
        _decimal("qtyStep", step, positive=True),
        _decimal("minOrderQty", lot.min_order_qty),
        _decimal("minNotionalValue", min_notional or "0"),
    )


def _decimal(field: str, text: str, *, positive: bool = False) -> str:
    """``text`` unchanged once ``units`` accepts it: the journal keeps instrument grids as the
    venue wrote them, and they become the ``Scale`` of every later number."""
    places = decimals_of(text)
    finest = "1" if places == 0 else f"0.{'0' * (places - 1)}1"
    if units(field, text, Scale(finest)) == 0 and positive:
        raise MalformedFrameError(f"{field}: {text!r} must be positive")
    return text


#: Bybit ``orderStatus`` -> ``OrderReconciled.status``.
ORDER_STATUS = {
    "New": "open",
    "PartiallyFilled": "open",
    "Untriggered": "open",
    "Filled": "filled",
    "Cancelled": "cancelled",
    "PartiallyFilledCanceled": "cancelled",
    "Deactivated": "cancelled",
    "Rejected": "rejected",
}


def reconciled_from_row(
    link_id: str, row: OrderRow | None, scales: dict[str, SymbolScales], ts_local_ns: int
) -> OrderReconciled:
    """The venue's record of one order (``None``: the venue does not know it)."""
    slot = _slot_of(link_id)
    if row is None:
        return OrderReconciled(0, ts_local_ns, slot, link_id, "", "not_found", 0, 0)
    lot = _scales(scales, row.symbol).lot
    status = ORDER_STATUS.get(row.order_status, "open")
    filled = units("cumExecQty", row.cum_exec_qty or "0", lot)
    leaves = units("leavesQty", row.leaves_qty or "0", lot) if status == "open" else 0
    return OrderReconciled(0, ts_local_ns, slot, link_id, row.order_id, status, filled, leaves)
