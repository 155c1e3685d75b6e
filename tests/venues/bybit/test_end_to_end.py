"""End to end over real loopback sockets: subscribe, build the book, place an order, receive
the fill over the private stream, see the position (local Bybit-compatible venue)."""

from __future__ import annotations

import pytest
import trio

from asnd.core.link_id import make_link_id
from asnd.venues.base import RetryableVenueError
from journal.events import (
    BUY,
    SELL,
    BookSnapshot,
    Fill,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    PositionReconciled,
    Trade,
)

from .bybit_helpers import (
    SYMBOLS,
    WAIT_S,
    client_levels,
    local_bybit,
    running_client,
    synced,
    venue_levels,
)


def intent(
    slot: int, seq: int, side: int, *, price_ticks: int, qty_lots: int, tif: str = "GTC"
) -> OrderIntent:
    return OrderIntent(
        0,
        0,
        slot,
        "BTCUSDT",
        make_link_id(slot, seq),
        side,
        "limit",
        tif,
        price_ticks,
        qty_lots,
        False,
        seq,
    )


async def test_subscribe_book_order_fill_position() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        for symbol in SYMBOLS:
            await synced(client, events, venue, symbol)
            assert client_levels(client, symbol) == venue_levels(venue, symbol)
        assert {e.symbol for e in events.of(BookSnapshot)} == set(SYMBOLS)

        # A marketable buy: takes 1000 lots at the best ask (100001 ticks = 50000.5).
        answer = await client.place(
            intent(2, 11, BUY, price_ticks=100_001, qty_lots=700, tif="IOC")
        )
        assert isinstance(answer, OrderAccepted)
        assert answer.link_id == "asn-2-11"
        fill = await events.first(Fill)
        assert isinstance(fill, Fill)
        assert (fill.slot, fill.side, fill.price_ticks, fill.qty_lots, fill.is_maker) == (
            2,
            BUY,
            100_001,
            700,
            False,
        )
        assert fill.fee_e8 == 1_925_019_250  # 0.700 BTC * 50000.5 * 0.055 % = 19.2501925 USDT
        position = await events.first(PositionReconciled, lambda e: e.symbol == "BTCUSDT")
        assert (position.position_lots, position.avg_price_ticks) == (700, 100_001)
        trade = next(e for e in events.events if isinstance(e, Trade))
        assert (trade.side, trade.price_ticks, trade.qty_lots) == (BUY, 100_001, 700)

        # A resting sell, filled by a crowd buyer sweeping through it: a maker fill.
        rest = await client.place(intent(3, 12, SELL, price_ticks=100_003, qty_lots=200))
        assert isinstance(rest, OrderAccepted)
        await synced(client, events, venue, "BTCUSDT")
        assert client_levels(client, "BTCUSDT") == venue_levels(venue, "BTCUSDT")
        venue.exchange.crowd_trade("BTCUSDT", BUY, 100_003, 300 + 1100 + 1200 + 200)
        maker = await events.for_link(Fill, "asn-3-12")
        assert isinstance(maker, Fill)
        assert (maker.is_maker, maker.qty_lots, maker.leaves_lots) == (True, 200, 0)
        await events.first(PositionReconciled, lambda e: e.position_lots == 500)
        await synced(client, events, venue, "BTCUSDT")
        assert client_levels(client, "BTCUSDT") == venue_levels(venue, "BTCUSDT")

        orders, positions = await client.reconcile(["BTCUSDT"])
        assert orders == []
        assert [(p.symbol, p.position_lots) for p in positions] == [("BTCUSDT", 500)]
        with trio.fail_after(WAIT_S):
            wallet = await client.rest.wallet_balance()
        assert wallet["list"][0]["accountType"] == "UNIFIED"


async def test_amend_cancel_and_cancel_again() -> None:
    async with (
        local_bybit() as venue,
        running_client(venue, recv_window_ms=1000) as (client, events),
    ):
        placed = await client.place(intent(5, 1, BUY, price_ticks=99_990, qty_lots=40))
        assert isinstance(placed, OrderAccepted)
        with trio.fail_after(WAIT_S):
            await client.rest.amend_order("BTCUSDT", "asn-5-1", qty="0.050", price="49996.0")
        order = venue.exchange.orders["asn-5-1"]
        assert (order.price_ticks, order.qty_lots, order.leaves_lots) == (99_992, 50, 50)
        await synced(client, events, venue, "BTCUSDT")
        assert client_levels(client, "BTCUSDT") == venue_levels(venue, "BTCUSDT")
        assert venue_levels(venue, "BTCUSDT")[0][0] == (100_000, 1000)
        assert (99_992, 50) in venue_levels(venue, "BTCUSDT")[0]

        cancelled = await client.cancel("BTCUSDT", "asn-5-1")
        assert isinstance(cancelled, OrderCancelled)
        streamed = await events.for_link(OrderCancelled, "asn-5-1")
        assert streamed.remaining_lots == 50
        again = await client.cancel("BTCUSDT", "asn-5-1")  # already gone: not an error
        assert isinstance(again, OrderReconciled)
        assert (again.status, again.filled_lots, again.leaves_lots) == ("cancelled", 0, 0)
        # Never created: a miss in realtime and history is final only after the recv window.
        with pytest.raises(RetryableVenueError) as early:
            await client.lookup("BTCUSDT", "asn-5-999")
        assert early.value.retry_after_s is not None
        assert 0 < early.value.retry_after_s <= 2.0
        with trio.fail_after(WAIT_S):
            await trio.sleep(early.value.retry_after_s)  # the venue's deadline, not a guess
            missing = await client.lookup("BTCUSDT", "asn-5-999")
        assert missing.status == "not_found"
        await synced(client, events, venue, "BTCUSDT")
        assert (99_992, 50) not in client_levels(client, "BTCUSDT")[0]
