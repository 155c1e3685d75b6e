"""The state of the local Bybit-compatible venue: instruments, the public book, our orders,
executions and positions. Synchronous and deterministic; the servers around it do the I/O.

The public book is the crowd's liquidity plus our resting orders, so what the public feed
publishes is exactly what a client should rebuild. Matching is price-time with integer ticks
and lots: an incoming order takes the opposite side level by level up to its limit; at each
level the crowd's quantity trades before ours (we joined behind it). ``crowd_trade`` lets a
test play the other side (a crowd taker sweeping levels, filling our resting orders).

Every change is published through ``publish(topic, message)`` as a Bybit-shaped dict:
``orderbook.50.{symbol}`` deltas with ``u`` + 1, ``publicTrade.{symbol}``, and the private
``order``, ``execution`` and ``position`` topics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asnd.venues.bybit import codes
from journal.decimals import Scale
from journal.events import BUY, SELL, InstrumentInfo

__all__ = ["Exchange", "ExchangeError", "LocalOrder"]

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
        return (
            0 if self.status not in ("New", "PartiallyFilled") else self.qty_lots - self.filled_lots
        )


@dataclass(slots=True)
class _Position:
    lots: int = 0
    cost_ticks_lots: int = 0  # sum of price*lots of the open position, for the entry price


@dataclass(slots=True)
class _Market:
    info: InstrumentInfo
    tick: Scale
    lot: Scale
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    update_id: int = 0
    position: _Position = field(default_factory=_Position)


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
            i.symbol: _Market(i, Scale(i.tick_size), Scale(i.lot_size)) for i in instruments
        }
        self.clock_ms = clock_ms
        self.publish = publish
        self.orders: dict[str, LocalOrder] = {}  # by orderLinkId
        self.executions: list[Message] = []
        self.creates_accepted = 0
        self._seq = 0
        self._ids = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def market(self, symbol: str) -> _Market:
        try:
            return self.markets[symbol]
        except KeyError:
            raise ExchangeError(codes.PARAMS_ERROR, f"symbol invalid: {symbol}") from None

    # ------------------------------------------------------------------------ public book

    def book_message(self, symbol: str, depth: int = 50) -> Message:
        m = self.market(symbol)
        bids = sorted(m.bids.items(), reverse=True)[:depth]
        asks = sorted(m.asks.items())[:depth]
        return self._book_msg(m, "snapshot", bids, asks, depth)

    def _book_msg(
        self,
        m: _Market,
        kind: str,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        depth: int = 50,
    ) -> Message:
        now = self.clock_ms()
        return {
            "topic": f"orderbook.{depth}.{m.info.symbol}",
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

    def _change_levels(
        self, m: _Market, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
    ) -> None:
        """Apply absolute level sizes (0 deletes) and publish one delta."""
        for book, rows in ((m.bids, bids), (m.asks, asks)):
            for p, q in rows:
                if q:
                    book[p] = q
                else:
                    book.pop(p, None)
        m.update_id += 1
        self._next()
        self.publish(f"orderbook.50.{m.info.symbol}", self._book_msg(m, "delta", bids, asks))

    def set_level(self, symbol: str, side: int, price_ticks: int, lots: int) -> None:
        """The crowd changes its resting size at one level (absolute size, 0 removes)."""
        m = self.market(symbol)
        ours = self._our_resting(symbol, side, price_ticks)
        row = [(price_ticks, lots + ours)]
        self._change_levels(m, row if side == BUY else [], row if side == SELL else [])

    def _our_resting(self, symbol: str, side: int, price_ticks: int) -> int:
        return sum(
            o.leaves_lots
            for o in self.orders.values()
            if o.symbol == symbol and o.side == side and o.price_ticks == price_ticks
        )

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
        min_qty = m.lot.count(m.info.min_qty)
        if qty_lots < max(1, min_qty):
            raise ExchangeError(codes.PARAMS_ERROR, "Qty invalid: below the minimum order qty")
        if reduce_only and (m.position.lots == 0 or (m.position.lots > 0) == (side == BUY)):
            raise ExchangeError(
                110017, "current position is zero, cannot fix reduce-only order qty"
            )
        now = self.clock_ms()
        self._ids += 1
        order = LocalOrder(
            f"local-{self._ids:08d}", link_id or f"auto-{self._ids}", symbol, side, order_type,
            "IOC" if order_type == "Market" else tif, price_ticks, qty_lots, reduce_only, now,
            updated_ms=now,
        )  # fmt: skip
        self.orders[order.link_id] = order
        self.creates_accepted += 1
        self._publish_order(order)
        self._match(m, order)
        return order

    def _limit_ok(self, order: LocalOrder, price: int) -> bool:
        if order.order_type == "Market":
            return True
        return price <= order.price_ticks if order.side == BUY else price >= order.price_ticks

    def _match(self, m: _Market, order: LocalOrder) -> None:
        book = m.asks if order.side == BUY else m.bids
        prices = sorted(book, reverse=order.side == SELL)
        available = sum(book[p] for p in prices if self._limit_ok(order, p))
        if order.tif == "FOK" and available < order.qty_lots:
            return self._cancel(order, "CancelByFOK")
        if order.tif == "PostOnly" and prices and self._limit_ok(order, prices[0]):
            return self._cancel(order, "CancelByPostOnly")
        for price in prices:
            if order.leaves_lots == 0 or not self._limit_ok(order, price):
                break
            take = min(book[price], order.leaves_lots)
            remaining = book[price] - take
            self._change_levels(
                m,
                [(price, remaining)] if order.side == SELL else [],
                [(price, remaining)] if order.side == BUY else [],
            )
            self._public_trade(m, order.side, price, take)
            self._execute(m, order, price, take, is_maker=False)
        if order.leaves_lots and order.tif in ("IOC", "FOK"):
            self._cancel(order, "CancelByIOC")
        elif order.leaves_lots:
            level = (
                order.price_ticks,
                (m.bids if order.side == BUY else m.asks).get(order.price_ticks, 0)
                + order.leaves_lots,
            )
            self._change_levels(
                m, [level] if order.side == BUY else [], [level] if order.side == SELL else []
            )

    def crowd_trade(self, symbol: str, taker_side: int, price_ticks: int, lots: int) -> None:
        """A crowd taker sweeps the opposite side down to ``price_ticks`` for up to ``lots``;
        the crowd's size at each level trades first, then our resting orders in time order."""
        m = self.market(symbol)
        book = m.bids if taker_side == SELL else m.asks
        for price in sorted(book, reverse=taker_side == SELL):
            if lots == 0 or (price < price_ticks if taker_side == SELL else price > price_ticks):
                break
            resting = [
                o
                for o in self.orders.values()
                if o.symbol == symbol and o.side == -taker_side and o.price_ticks == price
            ]
            ours = sum(o.leaves_lots for o in resting)
            take = min(book[price], lots)
            crowd_part = min(take, book[price] - ours)
            our_part = take - crowd_part
            lots -= take
            self._change_levels(
                m,
                [(price, book[price] - take)] if taker_side == SELL else [],
                [(price, book[price] - take)] if taker_side == BUY else [],
            )
            self._public_trade(m, taker_side, price, take)
            for o in sorted(resting, key=lambda o: o.created_ms):
                if our_part == 0:
                    break
                if o.leaves_lots == 0:
                    continue
                q = min(our_part, o.leaves_lots)
                our_part -= q
                self._execute(m, o, price, q, is_maker=True)

    def cancel(self, symbol: str, link_id: str) -> LocalOrder:
        order = self.orders.get(link_id)
        if order is None or order.symbol != symbol or order.leaves_lots == 0:
            raise ExchangeError(codes.ORDER_NOT_FOUND, "order not exists or too late to cancel")
        m = self.market(symbol)
        book = m.bids if order.side == BUY else m.asks
        level = book.get(order.price_ticks, 0) - order.leaves_lots
        self._cancel(order, "CancelByUser")
        row = [(order.price_ticks, max(level, 0))]
        self._change_levels(m, row if order.side == BUY else [], row if order.side == SELL else [])
        return order

    def amend(
        self, symbol: str, link_id: str, *, qty_lots: int | None, price_ticks: int | None
    ) -> LocalOrder:
        order = self.orders.get(link_id)
        if order is None or order.symbol != symbol or order.leaves_lots == 0:
            raise ExchangeError(codes.ORDER_NOT_FOUND, "order not exists or too late to replace")
        m = self.market(symbol)
        side_book = m.bids if order.side == BUY else m.asks
        old_level = side_book.get(order.price_ticks, 0) - order.leaves_lots
        rows = [(order.price_ticks, max(old_level, 0))]
        if qty_lots is not None:
            if qty_lots <= order.filled_lots:
                raise ExchangeError(codes.PARAMS_ERROR, "Qty invalid: not above the filled qty")
            order.qty_lots = qty_lots
        if price_ticks is not None:
            order.price_ticks = price_ticks
        order.updated_ms = self.clock_ms()
        base = old_level if order.price_ticks == rows[0][0] else side_book.get(order.price_ticks, 0)
        rows = [r for r in rows if r[0] != order.price_ticks] + [
            (order.price_ticks, base + order.leaves_lots)
        ]
        self._change_levels(
            m, rows if order.side == BUY else [], rows if order.side == SELL else []
        )
        self._publish_order(order)
        return order

    def _cancel(self, order: LocalOrder, cancel_type: str) -> None:
        order.status = "PartiallyFilledCanceled" if order.filled_lots else "Cancelled"
        order.cancel_type = cancel_type
        order.updated_ms = self.clock_ms()
        self._publish_order(order)

    def _public_trade(self, m: _Market, taker_side: int, price: int, lots: int) -> None:
        n = self._next()
        self.publish(
            f"publicTrade.{m.info.symbol}",
            {
                "topic": f"publicTrade.{m.info.symbol}",
                "type": "snapshot",
                "ts": self.clock_ms(),
                "data": [
                    {
                        "T": self.clock_ms(),
                        "s": m.info.symbol,
                        "S": _side_text(taker_side),
                        "v": m.lot.text(lots),
                        "p": m.tick.text(price),
                        "i": f"trade-{n}",
                        "BT": False,
                    }
                ],
            },
        )

    def _execute(
        self, m: _Market, order: LocalOrder, price: int, lots: int, *, is_maker: bool
    ) -> None:
        order.filled_lots += lots
        order.status = "Filled" if order.filled_lots == order.qty_lots else "PartiallyFilled"
        order.updated_ms = now = self.clock_ms()
        pos = m.position
        signed = order.side * lots
        if pos.lots == 0 or (pos.lots > 0) == (signed > 0):
            pos.cost_ticks_lots += price * lots
        else:  # reducing: keep the entry price of what remains
            closed = min(lots, abs(pos.lots))
            pos.cost_ticks_lots -= pos.cost_ticks_lots * closed // abs(pos.lots)
            if lots > closed:
                pos.cost_ticks_lots = price * (lots - closed)
        pos.lots += signed
        if pos.lots == 0:
            pos.cost_ticks_lots = 0
        value = _decimal_product(m.tick.text(price), m.lot.text(lots))
        fee_e6 = MAKER_FEE_E6 if is_maker else TAKER_FEE_E6
        n = self._next()
        row = {
            "category": "linear", "symbol": m.info.symbol, "execFee": _fee_text(value, fee_e6),
            "execId": f"exec-{n}", "execPrice": m.tick.text(price), "execQty": m.lot.text(lots),
            "execType": "Trade", "execValue": value, "feeRate": f"0.{fee_e6:06d}",
            "leavesQty": m.lot.text(order.leaves_lots), "orderId": order.order_id,
            "orderLinkId": order.link_id, "orderPrice": m.tick.text(order.price_ticks),
            "orderQty": m.lot.text(order.qty_lots), "orderType": order.order_type,
            "side": _side_text(order.side), "execTime": str(now), "isMaker": is_maker, "seq": n,
        }  # fmt: skip
        self.executions.append(row)
        self.publish(
            "execution", {"topic": "execution", "id": f"e{n}", "creationTime": now, "data": [row]}
        )
        self._publish_order(order)
        self.publish(
            "position",
            {
                "topic": "position",
                "id": f"p{n}",
                "creationTime": now,
                "data": [self.position_row(m.info.symbol)],
            },
        )

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
            avg = _decimal_div(m.tick.text(pos.cost_ticks_lots), lots)
        return {
            "category": "linear", "symbol": symbol, "positionIdx": 0,
            "side": "" if pos.lots == 0 else ("Buy" if pos.lots > 0 else "Sell"),
            "size": m.lot.text(lots), "avgPrice": avg, "entryPrice": avg, "leverage": "10",
            "positionStatus": "Normal", "seq": self._seq,
            "updatedTime": str(self.clock_ms()),
        }  # fmt: skip

    def _publish_order(self, order: LocalOrder) -> None:
        self.publish(
            "order",
            {
                "topic": "order",
                "id": f"o{self._next()}",
                "creationTime": self.clock_ms(),
                "data": [self.order_row(order)],
            },
        )


def _decimal_product(a: str, b: str) -> str:
    return format(Decimal(a) * Decimal(b), "f")


def _decimal_div(a: str, n: int) -> str:
    return format((Decimal(a) / n).normalize(), "f")


def _fee_text(value: str, fee_e6: int) -> str:
    return format((Decimal(value) * fee_e6 / 1_000_000).quantize(Decimal("0.00000001")), "f")
