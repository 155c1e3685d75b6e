"""Market orders keep their protection price: a market intent's ``price_ticks`` reaches the
venue as a Limit IOC at that price, so on a thin book it fills only up to it; without a
protection price (0: a liquidation) it is a plain Market order that walks the book."""

from __future__ import annotations

from typing import Any

import trio

from asnd.core.link_id import make_link_id
from asnd.venues.bybit.local.server import LocalBybit
from journal.events import BUY, SELL, Fill, OrderAccepted, OrderIntent

from .bybit_helpers import WAIT_S, local_bybit, running_client

#: The seeded asks: 1000 @ 100_001, 1100 @ 100_002, 1200, 1300, 1400 up to 100_005.
PROTECTION = 100_002


def fill_ticks(venue: LocalBybit, row: dict[str, Any]) -> int:
    """A venue execution's price in ticks."""
    return venue.exchange.markets["BTCUSDT"].tick.count(row["execPrice"])


def market(seq: int, side: int, qty_lots: int, protection_ticks: int) -> OrderIntent:
    link = make_link_id(5, seq)
    return OrderIntent(
        0, 0, 5, "BTCUSDT", link, side, "market", "IOC", protection_ticks, qty_lots, False, seq
    )


async def test_thin_book_market_buy_fills_only_up_to_its_protection_price() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        order = market(1, BUY, 5000, PROTECTION)  # the book would fill it up to 100_005
        with trio.fail_after(WAIT_S):
            assert isinstance(await client.place(order), OrderAccepted)
        at_venue = venue.exchange.orders[order.link_id]
        assert (at_venue.order_type, at_venue.tif, at_venue.price_ticks) == (
            "Limit",
            "IOC",
            PROTECTION,
        )
        assert (at_venue.filled_lots, at_venue.status) == (2100, "PartiallyFilledCanceled")
        prices = [fill_ticks(venue, r) for r in venue.exchange.executions]
        assert prices == [100_001, 100_002]
        await events.until(lambda e: sum(f.qty_lots for f in events.of(Fill)) == 2100)
        assert max(f.price_ticks for f in events.of(Fill)) == PROTECTION
        assert venue.exchange.levels("BTCUSDT")[1][0] == (100_003, 1200)  # the rest untouched


async def test_market_sell_is_protected_from_below() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, _events):
        order = market(2, SELL, 3000, 99_999)  # bids: 1000 @ 100_000, 1100 @ 99_999, ...
        with trio.fail_after(WAIT_S):
            assert isinstance(await client.place(order), OrderAccepted)
        assert venue.exchange.orders[order.link_id].filled_lots == 2100
        assert min(fill_ticks(venue, r) for r in venue.exchange.executions) == 99_999


async def test_unprotected_market_order_walks_the_book() -> None:
    """The contrast: a market intent without protection (price 0) is Bybit's Market order
    and the same thin book fills it past the price the protected one stopped at."""
    async with local_bybit() as venue, running_client(venue) as (client, _events):
        order = market(3, BUY, 5000, 0)
        with trio.fail_after(WAIT_S):
            assert isinstance(await client.place(order), OrderAccepted)
        at_venue = venue.exchange.orders[order.link_id]
        assert (at_venue.order_type, at_venue.filled_lots) == ("Market", 5000)
        top = max(fill_ticks(venue, r) for r in venue.exchange.executions)
        assert top > PROTECTION
