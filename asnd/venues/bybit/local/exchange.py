"""The state of the local Bybit-compatible venue, on ``asnd.core.matching.MatchingEngine``.

One engine per symbol holds the whole public book: the crowd's liquidity (one crowd order
per level, owner ``CROWD``) and our account's orders (owner ``ACCOUNT``), matched by price
and time with integer ticks and lots. This module keeps what the engine does not: Bybit's
order records (status, cumulative fills, ``orderLinkId`` uniqueness), executions, positions,
and the translation of engine events into Bybit-shaped messages published through
``publish(topic, message)``: ``orderbook.50.{symbol}`` deltas (one per operation, ``u`` + 1,
from the engine's changed levels), ``publicTrade.{symbol}``, and the private ``order``,
``execution``, ``position`` and ``wallet`` topics, with the fields Bybit sends (the shapes of
``shared/data/bybit/messages``). Orders are found by ``orderId`` or ``orderLinkId``; an order
placed without a link id has an empty one, as on Bybit. Synchronous and deterministic; the
servers do the I/O.

A test plays the market with ``set_level`` (the crowd's resting size at a price) and
``crowd_trade`` (a crowd taker sweeping the book, filling our resting orders in time order).
"""

from __future__ import annotations

from collections import deque
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
from asnd.venues.bybit.local.account_mode import AccountMode
from asnd.venues.bybit.local.ledger import LEVERAGE, LocalPosition, Wallet, money_text
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
RECENT_TRADES: Final = 1000  # what /v5/market/recent-trade can answer at most

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
    cum_value: Decimal = Decimal(0)  # sum of price * qty of the fills, in USDT
    cum_fee: Decimal = Decimal(0)
    last_price_on_created: str = "0"

    @property
    def leaves_lots(self) -> int:
        if self.status not in ("New", "PartiallyFilled"):
            return 0
        return self.qty_lots - self.filled_lots


@dataclass(slots=True)
class _Market:
    info: InstrumentInfo
    tick: Scale
    lot: Scale
    engine: MatchingEngine
    position: LocalPosition
    update_id: int = 0
    last_price_ticks: int = 0
    trades: deque[Message] = field(default_factory=lambda: deque(maxlen=RECENT_TRADES))
    crowd: dict[tuple[int, int], int] = field(default_factory=dict)  # (side, price) -> oid

    def mark(self) -> Decimal:
        """The mark price: the mid of the book, else its one side, else the last trade
        (Bybit marks on an index; a local book has only itself)."""
        bids, asks = self.engine.bids(1), self.engine.asks(1)
        step = Decimal(self.tick.text(1))
        if bids and asks:
            return (step * (bids[0][0] + asks[0][0]) / 2).normalize()
        if bids or asks:
            return step * (bids or asks)[0][0]
        return step * self.last_price_ticks

    def last_price(self) -> str:
        """The last traded price; before the first trade, the mark (a real market always has
        a last price, and clients divide by it)."""
        if self.last_price_ticks:
            return self.tick.text(self.last_price_ticks)
        return format(self.mark(), "f")


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
                LocalPosition(Scale(i.tick_size), Scale(i.lot_size)),
            )
            for i in instruments
        }
        self.clock_ms = clock_ms
        self.publish = publish
        self.wallet = Wallet()
        self.mode = AccountMode()  # position mode, account type, symbol states
        self.orders: dict[str, LocalOrder] = {}  # by orderLinkId, of the orders that have one
        self.by_order_id: dict[str, LocalOrder] = {}  # every order, in the order placed
        self.executions: list[Message] = []
        self.creates_accepted = 0
        #: the orderLinkId of every create that reached the exchange, accepted or not
        self.create_requests: list[str] = []
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
                self._execute(m, self.by_order_id[e.venue_order_id], e)
            elif isinstance(e, OrderCancelled) and e.slot == ACCOUNT:
                order = self.by_order_id[e.venue_order_id]
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
        position_idx: int = 0,
    ) -> LocalOrder:
        m = self.market(symbol)
        self.create_requests.append(link_id)
        if link_id and link_id in self.orders:
            raise ExchangeError(codes.DUPLICATE_LINK_ID, "OrderLinkedID is duplicate")
        if qty_lots < max(1, m.lot.count(m.info.min_qty)):
            raise ExchangeError(codes.PARAMS_ERROR, "Qty invalid: below the minimum order qty")
        if tif not in TIF_BY_NAME:
            raise ExchangeError(codes.PARAMS_ERROR, f"timeInForce invalid: {tif}")
        if self.mode.hedge:  # Bybit refuses a one-way order on a hedge-mode account
            if position_idx not in (1, 2):
                raise ExchangeError(codes.PARAMS_ERROR, "position idx not match position mode")
            raise ExchangeError(codes.PARAMS_ERROR, "the local venue does not trade hedge mode")
        pos = m.position.lots
        if reduce_only and (pos == 0 or (pos > 0) == (side == BUY)):
            raise ExchangeError(
                110017, "current position is zero, cannot fix reduce-only order qty"
            )
        now = self.clock_ms()
        oid = self._next_oid()
        order = LocalOrder(
            str(oid), link_id, symbol, side, order_type,
            "IOC" if order_type == "Market" else tif, price_ticks, qty_lots, reduce_only, now,
            updated_ms=now, last_price_on_created=m.last_price(),
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
        if link_id:
            self.orders[link_id] = order
        self.by_order_id[order.order_id] = order
        self.creates_accepted += 1
        self._publish_order(order)
        if rejected is not None:  # Bybit accepts a crossing post-only order, then cancels it
            order.status, order.cancel_type = "Cancelled", "EC_PostOnlyWillTakeLiquidity"
            self._publish_order(order)
            return order
        self._apply(m, events)
        return order

    def find(self, symbol: str, link_id: str = "", order_id: str = "") -> LocalOrder | None:
        """The order with ``orderId`` or ``orderLinkId`` (both given: both must match), on
        ``symbol``; ``None`` when there is none."""
        if not (link_id or order_id):
            raise ExchangeError(codes.PARAMS_ERROR, "orderId or orderLinkId is required")
        order = self.by_order_id.get(order_id) if order_id else self.orders.get(link_id)
        if order is None or order.symbol != symbol or (link_id and order.link_id != link_id):
            return None
        return order

    def cancel(self, symbol: str, link_id: str = "", *, order_id: str = "") -> LocalOrder:
        order = self.find(symbol, link_id, order_id)
        if order is None or order.leaves_lots == 0:
            raise ExchangeError(codes.ORDER_NOT_FOUND, "order not exists or too late to cancel")
        m = self.market(symbol)
        self._apply(
            m, m.engine.cancel(self.clock_ms() * 1_000_000, int(order.order_id), "CancelByUser")
        )
        return order

    def amend(
        self,
        symbol: str,
        link_id: str = "",
        *,
        order_id: str = "",
        qty_lots: int | None,
        price_ticks: int | None,
    ) -> LocalOrder:
        """Bybit's amend: ``qty`` is the new *total* order size (not the remaining size)."""
        order = self.find(symbol, link_id, order_id)
        if order is None or order.leaves_lots == 0:
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
        m.last_price_ticks = trade.price_ticks
        m.trades.append(row)
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
        value = Decimal(m.tick.text(price)) * Decimal(m.lot.text(lots))
        fee_e6 = MAKER_FEE_E6 if fill.is_maker else TAKER_FEE_E6
        fee = (value * fee_e6 / 1_000_000).quantize(Decimal("0.00000001"))
        order.cum_value += value
        order.cum_fee += fee
        closed = m.position.apply_fill(order.side * lots, price, fee, now)
        mark = format(m.mark(), "f")
        n = self._next()
        row = {
            "symbol": m.info.symbol, "closedSize": m.lot.text(closed),
            "execFee": format(fee, "f"), "execId": f"exec-{n}", "execPrice": m.tick.text(price),
            "execQty": m.lot.text(lots), "execType": "Trade", "execValue": format(value, "f"),
            "feeRate": f"0.{fee_e6:06d}", "tradeIv": "", "markIv": "", "blockTradeId": "",
            "markPrice": mark, "indexPrice": mark, "underlyingPrice": "",
            "leavesQty": m.lot.text(order.leaves_lots), "orderId": order.order_id,
            "orderLinkId": order.link_id, "orderPrice": m.tick.text(order.price_ticks),
            "orderQty": m.lot.text(order.qty_lots), "orderType": order.order_type,
            "stopOrderType": "UNKNOWN", "side": _side_text(order.side), "execTime": str(now),
            "isMaker": fill.is_maker, "seq": n,
        }  # fmt: skip
        # The list and the topic differ in a few fields (the templates of shared/data).
        self.executions.append(row | {"createType": "CreateByUser", "feeCurrency": "USDT"})
        pushed = row | {"category": "linear", "isLeverage": "0"}
        self.publish(
            "execution",
            {"topic": "execution", "id": f"e{n}", "creationTime": now, "data": [pushed]},
        )
        self._publish_order(order)
        position = [self.position_row(m.info.symbol, ws=True)]
        self.publish(
            "position", {"topic": "position", "id": f"p{n}", "creationTime": now, "data": position}
        )
        wallet = self.wallet_row(ws=True)
        self.publish(
            "wallet", {"topic": "wallet", "id": f"w{n}", "creationTime": now, "data": [wallet]}
        )

    def _publish_order(self, order: LocalOrder) -> None:
        msg = {
            "topic": "order",
            "id": f"o{self._next()}",
            "creationTime": self.clock_ms(),
            "data": [self.order_row(order, ws=True)],
        }
        self.publish("order", msg)

    # -------------------------------------------------------------------------- views

    def order_row(self, order: LocalOrder, *, ws: bool = False) -> Message:
        """The order as ``/v5/order/realtime`` and ``/v5/order/history`` list it, or (``ws``)
        as the ``order`` topic pushes it. ``avgPrice`` is "0" before the first fill."""
        m = self.market(order.symbol)
        filled = Decimal(m.lot.text(order.filled_lots))
        avg = order.cum_value / filled if filled else Decimal(0)
        leaves_value = Decimal(m.tick.text(order.price_ticks)) * Decimal(
            m.lot.text(order.leaves_lots)
        )
        row = {
            "symbol": order.symbol, "orderId": order.order_id,
            "orderLinkId": order.link_id, "blockTradeId": "", "side": _side_text(order.side),
            "orderType": order.order_type, "price": m.tick.text(order.price_ticks),
            "qty": m.lot.text(order.qty_lots), "timeInForce": order.tif,
            "orderStatus": order.status, "cancelType": order.cancel_type or "UNKNOWN",
            "rejectReason": "EC_NoError", "avgPrice": money_text(avg),
            "leavesQty": m.lot.text(order.leaves_lots), "leavesValue": money_text(leaves_value),
            "cumExecQty": m.lot.text(order.filled_lots),
            "cumExecValue": money_text(order.cum_value),
            "cumExecFee": money_text(order.cum_fee),
            "reduceOnly": order.reduce_only, "closeOnTrigger": False, "positionIdx": 0,
            "lastPriceOnCreated": order.last_price_on_created, "orderIv": "",
            "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0", "tpTriggerBy": "",
            "slTriggerBy": "", "triggerBy": "", "triggerDirection": 0, "tpLimitPrice": "0",
            "slLimitPrice": "0", "stopOrderType": "", "tpslMode": "", "placeType": "",
            "smpType": "None", "smpGroup": 0, "smpOrderId": "",
            "createdTime": str(order.created_ms), "updatedTime": str(order.updated_ms),
        }  # fmt: skip
        if ws:
            return row | {"category": "linear", "createType": "CreateByUser", "feeCurrency": ""}
        return row | {"isLeverage": ""}

    def position_row(self, symbol: str, *, ws: bool = False) -> Message:
        m = self.market(symbol)
        return m.position.row(symbol, m.mark(), self._seq, ws=ws)

    def position_rows(self, symbol: str) -> list[Message]:
        """``/v5/position/list``'s rows of ``symbol``: one (``positionIdx`` 0) in one-way
        mode, the buy and the sell side (1, 2), flat, in hedge mode."""
        row = self.position_row(symbol)
        if not self.mode.hedge:
            return [row]
        flat = {"side": "", "size": "0", "positionValue": "0", "avgPrice": "0"}
        return [row | flat | {"positionIdx": i} for i in self.mode.position_indexes()]

    def wallet_row(self, account_type: str = "UNIFIED", *, ws: bool = False) -> Message:
        """The unified wallet, margins counted at each symbol's mark price."""
        positions = [(m.position, m.mark()) for m in self.markets.values()]
        order_margin = Decimal(0)
        for o in self.by_order_id.values():
            if o.leaves_lots and o.order_type == "Limit" and not o.reduce_only:
                m = self.markets[o.symbol]
                size = Decimal(m.lot.text(o.leaves_lots))
                order_margin += Decimal(m.tick.text(o.price_ticks)) * size / LEVERAGE
        return self.wallet.row(positions, order_margin, account_type, ws=ws)
