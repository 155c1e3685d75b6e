"""The state of the local Bybit-compatible venue, on ``asnd.core.matching.MatchingEngine``.

One engine per symbol holds the whole public book: the crowd's liquidity (one crowd order
per level, owner ``CROWD``) and our account's orders (owner ``ACCOUNT``), matched by price
and time with integer ticks and lots. This module keeps what the engine does not: Bybit's
order records (status, cumulative fills, ``orderLinkId`` uniqueness), executions, positions,
and the translation of engine events into Bybit-shaped messages published through
``publish(topic, message)``: ``orderbook.50.{symbol}`` deltas (one per operation, ``u`` + 1,
from the engine's changed levels), ``publicTrade.{symbol}``, and the private ``order``,
``execution`` and ``position`` topics. Synchronous and deterministic; the servers do the I/O.

A test plays the market with ``set_level`` (the crowd's resting size at a price) and
``crowd_trade`` (a crowd taker sweeping the book, filling our resting orders in time order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from asnd.core.matching import (
    GTC,
    IOC,
    REJECT_WOULD_CROSS,
    STP_NONE,
    TIF_BY_NAME,
    MatchingEngine,
)
from asnd.venues.bybit import codes
from journal.decimals import Scale
from journal.events import (
    BUY,
    Event,
    Fill,
    InstrumentInfo,
    OrderCancelled,
    OrderRejected,
    Trade,
)

__all__ = ["ACCOUNT", "CROWD", "Exchange", "ExchangeError", "LocalOrder"]

ACCOUNT: Final = 1  # the one account the local venue serves
CROWD: Final = 2  # everybody else
TAKER_FEE_E6 = 550  # 0.055 %, Bybit's default linear taker fee
MAKER_FEE_E6 = 200

Message = dict[str, Any]


class ExchangeError(Exception):
    """A request the venue refuses, with Bybit's retCode."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class LocalOrder:
    order_id: str
    link_id: str
    symbol: str
    side: int
    order_type: str
    tif: str
    price_ticks: int
    qty_lots: int
    reduce_only: bool
    created_ms: int
    filled_lots: int = 0
    status: str = "New"
    cancel_type: str = ""
    updated_ms: int = 0

    @property
    def leaves_lots(self) -> int:
        if self.status not in ("New", "PartiallyFilled"):
            return 0
        return self.qty_lots - self.filled_lots


@dataclass(slots=True)
class _Position:
    lots: int = 0
    cost_ticks_lots: int = 0  # sum of price * lots of the open position, for the entry price


@dataclass(slots=True)
class _Market:
    info: InstrumentInfo
    tick: Scale
    lot: Scale
    engine: MatchingEngine
    update_id: int = 0
    position: _Position = field(default_factory=_Position)
    crowd: dict[tuple[int, int], int] = field(default_factory=dict)  # (side, price) -> oid


def _side_text(side: int) -> str:
    return "Buy" if side == BUY else "Sell"


class Exchange:
    def __init__(
        self,
        instruments: list[InstrumentInfo],
        *,
        clock_ms: Callable[[], int],
        publish: Callable[[str, Message], None] = lambda topic, msg: None,
    ) -> None:
        self.markets = {
            i.symbol: _Market(
                i,
                Scale(i.tick_size),
                Scale(i.lot_size),
                # The crowd is many accounts: no self-trade prevention between its levels.
                MatchingEngine(i.symbol, stp=STP_NONE, track_changes=True),
            )
            for i in instruments
        }
        self.clock_ms = clock_ms
        self.publish = publish
        self.orders: dict[str, LocalOrder] = {}  # by orderLinkId
        self._by_oid: dict[str, LocalOrder] = {}
        self.executions: list[Message] = []
        self.creates_accepted = 0
        self._seq = 0
        self._oids = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _next_oid(self) -> int:
        self._oids += 1
        return self._oids

    def market(self, symbol: str) -> _Market:
        try:
            return self.markets[symbol]
        except KeyError:
            raise ExchangeError(codes.PARAMS_ERROR, f"symbol invalid: {symbol}") from None

    def levels(
        self, symbol: str, depth: int = 50
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The public book: (bids best first, asks best first) as (price_ticks, lots)."""
        engine = self.market(symbol).engine
        return engine.bids(depth), engine.asks(depth)

    # ------------------------------------------------------------------------ public book

    def book_message(self, symbol: str, depth: int = 50) -> Message:
        m = self.market(symbol)
        bids, asks = self.levels(symbol, depth)
        return self._book_msg(m, "snapshot", bids, asks)

    def _book_msg(
        self, m: _Market, kind: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
    ) -> Message:
        now = self.clock_ms()
        return {
            "topic": f"orderbook.50.{m.info.symbol}",
            "type": kind,
            "ts": now,
            "data": {
                "s": m.info.symbol,
                "b": [[m.tick.text(p), m.lot.text(q)] for p, q in bids],
                "a": [[m.tick.text(p), m.lot.text(q)] for p, q in asks],
                "u": m.update_id,
                "seq": self._seq,
            },
            "cts": now,
        }

    def _apply(self, m: _Market, events: list[Event]) -> list[Event]:
        """Publish what one engine operation did: the public trades, the book delta, and our
        account's order/execution/position updates. Returns the events for the caller."""
        for e in events:
            if isinstance(e, Trade):
                self._public_trade(m, e)
        bids, asks = m.engine.take_changes()
        if bids or asks:
            m.update_id += 1
            self._next()
            self.publish(f"orderbook.50.{m.info.symbol}", self._book_msg(m, "delta", bids, asks))
        for e in events:
            if isinstance(e, Fill) and e.slot == ACCOUNT:
                self._execute(m, self._by_oid[e.venue_order_id], e)
            elif isinstance(e, OrderCancelled) and e.slot == ACCOUNT:
                order = self._by_oid[e.venue_order_id]
                order.status = "PartiallyFilledCanceled" if order.filled_lots else "Cancelled"
                order.cancel_type = e.reason
                order.updated_ms = self.clock_ms()
                self._publish_order(order)
        return events

    def restart_book_ids(self, symbol: str) -> None:
        """As after a restart of the venue's book: the next delta of ``symbol`` has ``u = 1``."""
        self.market(symbol).update_id = 0

    def set_level(self, symbol: str, side: int, price_ticks: int, lots: int) -> None:
        """The crowd's resting size at one level becomes ``lots`` (0 removes it). A smaller
        size keeps the crowd's place in the queue; a larger one joins at the back."""
        m = self.market(symbol)
        now_ns = self.clock_ms() * 1_000_000
        oid = m.crowd.get((side, price_ticks))
        view = m.engine.order(oid) if oid is not None else None
        if view is None:
            m.crowd.pop((side, price_ticks), None)
            if lots:
                oid = self._next_oid()
                m.crowd[(side, price_ticks)] = oid
                self._apply(
                    m, m.engine.submit(now_ns, oid, CROWD, "", side, price_ticks, lots, GTC)
                )
            return
        assert oid is not None
        if lots == 0:
            del m.crowd[(side, price_ticks)]
            self._apply(m, m.engine.cancel(now_ns, oid))
        else:
            self._apply(m, m.engine.amend(now_ns, oid, qty_lots=lots))

    def crowd_trade(self, symbol: str, taker_side: int, price_ticks: int, lots: int) -> None:
        """A crowd taker sweeps the other side up to ``price_ticks`` for up to ``lots``."""
        m = self.market(symbol)
        now_ns = self.clock_ms() * 1_000_000
        self._apply(
            m,
            m.engine.submit(
                now_ns, self._next_oid(), CROWD, "", taker_side, price_ticks, lots, IOC
            ),
        )
        for key, oid in list(m.crowd.items()):
            if m.engine.order(oid) is None:  # a crowd level traded away entirely
                del m.crowd[key]

    # ---------------------------------------------------------------------------- orders

    def create(
        self,
        *,
        symbol: str,
        side: int,
        order_type: str,
        qty_lots: int,
        price_ticks: int,
        tif: str,
        link_id: str,
        reduce_only: bool = False,
    ) -> LocalOrder:
        m = self.market(symbol)
        if link_id and link_id in self.orders:
            raise ExchangeError(codes.DUPLICATE_LINK_ID, "OrderLinkedID is duplicate")
        if qty_lots < max(1, m.lot.count(m.info.min_qty)):
            raise ExchangeError(codes.PARAMS_ERROR, "Qty invalid: below the minimum order qty")
        if tif not in TIF_BY_NAME:
            raise ExchangeError(codes.PARAMS_ERROR, f"timeInForce invalid: {tif}")
        pos = m.position.lots
        if reduce_only and (pos == 0 or (pos > 0) == (side == BUY)):
            raise ExchangeError(
                110017, "current position is zero, cannot fix reduce-only order qty"
            )
        now = self.clock_ms()
        oid = self._next_oid()
        order = LocalOrder(
            str(oid), link_id or f"auto-{oid}", symbol, side, order_type,
            "IOC" if order_type == "Market" else tif, price_ticks, qty_lots, reduce_only, now,
            updated_ms=now,
        )  # fmt: skip
        now_ns = now * 1_000_000
        if order_type == "Market":
            events = m.engine.market(now_ns, oid, ACCOUNT, order.link_id, side, qty_lots)
        else:
            tif_code = TIF_BY_NAME[tif]
            events = m.engine.submit(
                now_ns, oid, ACCOUNT, order.link_id, side, price_ticks, qty_lots, tif_code
            )
        rejected = next((e for e in events if isinstance(e, OrderRejected)), None)
        if rejected is not None and rejected.code != REJECT_WOULD_CROSS:
            raise ExchangeError(codes.PARAMS_ERROR, f"order invalid: {rejected.reason}")
        self.orders[order.link_id] = order
        self._by_oid[order.order_id] = order
        self.creates_accepted += 1
        self._publish_order(order)
        if rejected is not None:  # Bybit accepts a crossing post-only order, then cancels it
            order.status, order.cancel_type = "Cancelled", "EC_PostOnlyWillTakeLiquidity"
            self._publish_order(order)
            return order
        self._apply(m, events)
        return order

    def cancel(self, symbol: str, link_id: str) -> LocalOrder:
        order = self.orders.get(link_id)
        if order is None or order.symbol != symbol or order.leaves_lots == 0:
            raise ExchangeError(codes.ORDER_NOT_FOUND, "order not exists or too late to cancel")
        m = self.market(symbol)
        self._apply(
            m, m.engine.cancel(self.clock_ms() * 1_000_000, int(order.order_id), "CancelByUser")
        )
        return order

    def amend(
        self, symbol: str, link_id: str, *, qty_lots: int | None, price_ticks: int | None
    ) -> LocalOrder:
        """Bybit's amend: ``qty`` is the new *total* order size (not the remaining size)."""
        order = self.orders.get(link_id)
        if order is None or order.symbol != symbol or order.leaves_lots == 0:
            raise ExchangeError(codes.ORDER_NOT_FOUND, "order not exists or too late to replace")
        if qty_lots is not None and qty_lots <= order.filled_lots:
            raise ExchangeError(codes.PARAMS_ERROR, "Qty invalid: not above the filled qty")
        m = self.market(symbol)
        remaining = None if qty_lots is None else qty_lots - order.filled_lots
        events = m.engine.amend(
            self.clock_ms() * 1_000_000,
            int(order.order_id),
            price_ticks=price_ticks,
            qty_lots=remaining,
        )
        rejected = next((e for e in events if isinstance(e, OrderRejected)), None)
        if rejected is not None:
            raise ExchangeError(codes.PARAMS_ERROR, f"amend invalid: {rejected.reason}")
        if qty_lots is not None:
            order.qty_lots = qty_lots
        if price_ticks is not None:
            order.price_ticks = price_ticks
        order.updated_ms = self.clock_ms()
        self._publish_order(order)
        self._apply(m, events)
        return order

    # ----------------------------------------------------------------- messages we send

    def _public_trade(self, m: _Market, trade: Trade) -> None:
        now = self.clock_ms()
        row = {
            "T": now, "s": m.info.symbol, "S": _side_text(trade.side),
            "v": m.lot.text(trade.qty_lots), "p": m.tick.text(trade.price_ticks),
            "i": f"trade-{self._next()}", "BT": False,
        }  # fmt: skip
        msg = {
            "topic": f"publicTrade.{m.info.symbol}",
            "type": "snapshot",
            "ts": now,
            "data": [row],
        }
        self.publish(f"publicTrade.{m.info.symbol}", msg)

    def _execute(self, m: _Market, order: LocalOrder, fill: Fill) -> None:
        price, lots = fill.price_ticks, fill.qty_lots
        order.filled_lots += lots
        order.status = "Filled" if order.filled_lots == order.qty_lots else "PartiallyFilled"
        order.updated_ms = now = self.clock_ms()
        pos = m.position
        signed = order.side * lots
        if pos.lots == 0 or (pos.lots > 0) == (signed > 0):
            pos.cost_ticks_lots += price * lots
        else:  # reducing: what remains keeps its entry price
            closed = min(lots, abs(pos.lots))
            pos.cost_ticks_lots -= pos.cost_ticks_lots * closed // abs(pos.lots)
            if lots > closed:
                pos.cost_ticks_lots = price * (lots - closed)
        pos.lots += signed
        if pos.lots == 0:
            pos.cost_ticks_lots = 0
        value = format(Decimal(m.tick.text(price)) * Decimal(m.lot.text(lots)), "f")
        fee_e6 = MAKER_FEE_E6 if fill.is_maker else TAKER_FEE_E6
        fee = (Decimal(value) * fee_e6 / 1_000_000).quantize(Decimal("0.00000001"))
        n = self._next()
        row = {
            "category": "linear", "symbol": m.info.symbol, "execFee": format(fee, "f"),
            "execId": f"exec-{n}", "execPrice": m.tick.text(price), "execQty": m.lot.text(lots),
            "execType": "Trade", "execValue": value, "feeRate": f"0.{fee_e6:06d}",
            "leavesQty": m.lot.text(order.leaves_lots), "orderId": order.order_id,
            "orderLinkId": order.link_id, "orderPrice": m.tick.text(order.price_ticks),
            "orderQty": m.lot.text(order.qty_lots), "orderType": order.order_type,
            "side": _side_text(order.side), "execTime": str(now), "isMaker": fill.is_maker,
            "seq": n,
        }  # fmt: skip
        self.executions.append(row)
        self.publish(
            "execution", {"topic": "execution", "id": f"e{n}", "creationTime": now, "data": [row]}
        )
        self._publish_order(order)
        position = [self.position_row(m.info.symbol)]
        self.publish(
            "position", {"topic": "position", "id": f"p{n}", "creationTime": now, "data": position}
        )

    def _publish_order(self, order: LocalOrder) -> None:
        msg = {
            "topic": "order",
            "id": f"o{self._next()}",
            "creationTime": self.clock_ms(),
            "data": [self.order_row(order)],
        }
        self.publish("order", msg)

    # -------------------------------------------------------------------------- views

    def order_row(self, order: LocalOrder) -> Message:
        m = self.market(order.symbol)
        return {
            "category": "linear", "symbol": order.symbol, "orderId": order.order_id,
            "orderLinkId": order.link_id, "side": _side_text(order.side),
            "orderType": order.order_type, "price": m.tick.text(order.price_ticks),
            "qty": m.lot.text(order.qty_lots), "timeInForce": order.tif,
            "orderStatus": order.status, "cancelType": order.cancel_type or "UNKNOWN",
            "rejectReason": "EC_NoError", "leavesQty": m.lot.text(order.leaves_lots),
            "cumExecQty": m.lot.text(order.filled_lots), "reduceOnly": order.reduce_only,
            "positionIdx": 0, "createdTime": str(order.created_ms),
            "updatedTime": str(order.updated_ms),
        }  # fmt: skip

    def position_row(self, symbol: str) -> Message:
        m = self.market(symbol)
        pos = m.position
        lots = abs(pos.lots)
        avg = "0"
        if lots:
            avg = format((Decimal(m.tick.text(pos.cost_ticks_lots)) / lots).normalize(), "f")
        return {
            "category": "linear", "symbol": symbol, "positionIdx": 0,
            "side": "" if pos.lots == 0 else ("Buy" if pos.lots > 0 else "Sell"),
            "size": m.lot.text(lots), "avgPrice": avg, "entryPrice": avg, "leverage": "10",
            "positionStatus": "Normal", "seq": self._seq, "updatedTime": str(self.clock_ms()),
        }  # fmt: skip
