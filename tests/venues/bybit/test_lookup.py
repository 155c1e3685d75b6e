"""Order lookup that finds closed orders: realtime, then history (Bybit after a restart keeps
a unified account's closed orders only in history), fills of a found order journaled from
``/v5/execution/list``, and a lost create answer never turned into a second order."""

from __future__ import annotations

import pytest
import trio

from asnd.core.link_id import make_link_id
from asnd.venues.base import RetryableVenueError
from journal.events import (
    BUY,
    FeedConnected,
    FeedLost,
    Fill,
    OrderAccepted,
    OrderIntent,
    OrderReconciled,
    OrderUnresolved,
)

from .bybit_helpers import WAIT_S, local_bybit, running_client

CREATE = "/v5/order/create"


def market_buy(seq: int, qty_lots: int, protection_ticks: int) -> OrderIntent:
    link = make_link_id(4, seq)
    return OrderIntent(
        0, 0, 4, "BTCUSDT", link, BUY, "market", "IOC", protection_ticks, qty_lots, False, seq
    )


@pytest.mark.parametrize("stream_up", [False, True], ids=["stream-silent", "stream-up"])
async def test_create_answer_lost_after_the_fill_is_one_order_with_its_fills(
    stream_up: bool,
) -> None:
    """A market buy fills at once; its answer never comes back; after a venue restart the
    realtime list no longer shows closed orders. The client finds it in history, journals
    its fills from the execution list (the private stream is silent, or delivers them too:
    either way each fill once), and never sends it again."""
    async with (
        local_bybit() as venue,
        running_client(venue, rest_timeout_s=0.3) as (client, events),
    ):
        order = market_buy(1, 1500, 100_003)  # takes 1000 @ 100_001 and 500 @ 100_002
        faults = venue.faults
        faults.timeout_after_accept = 1
        faults.realtime_hides_closed = True
        faults.silent = not stream_up
        with trio.fail_after(WAIT_S):
            answer = await client.place(order)
        assert isinstance(answer, OrderAccepted)
        at_venue = venue.exchange.orders[order.link_id]
        assert answer.venue_order_id == at_venue.order_id
        assert at_venue.status == "Filled"
        assert venue.exchange.creates_accepted == 1
        assert venue.rest.by_path[CREATE] == 1  # never re-sent
        assert venue.rest.by_path["/v5/order/history"] >= 1
        unresolved = await events.for_link(OrderUnresolved, order.link_id)
        assert "timed out" in unresolved.reason
        venue_execs = {r["execId"] for r in venue.exchange.executions}
        assert len(venue_execs) == 2
        if stream_up:
            await events.until(lambda e: {f.exec_id for f in events.of(Fill)} == venue_execs)
        else:
            # Nothing came over the (silent) stream: the lookup journaled them.
            assert {f.exec_id for f in events.of(Fill)} == venue_execs
            await events.first(FeedLost, lambda e: e.stream == "private")
            faults.silent = False
            await events.first(FeedConnected, lambda e: e.stream == "private")  # caught up
        fills = events.of(Fill)
        assert len(fills) == 2  # each once, whichever path saw it first
        assert [(f.price_ticks, f.qty_lots) for f in fills] == [(100_001, 1000), (100_002, 500)]
        reconciled = [e for e in events.of(OrderReconciled) if e.link_id == order.link_id]
        assert reconciled
        assert (reconciled[0].status, reconciled[0].filled_lots) == ("filled", 1500)
        assert client.unresolved == {}


async def test_lookup_finds_a_closed_order_only_in_history() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, _events):
        resting = OrderIntent(
            0, 0, 4, "BTCUSDT", make_link_id(4, 2), BUY, "limit", "GTC", 99_000, 7, False, 2
        )
        assert isinstance(await client.place(resting), OrderAccepted)
        venue.exchange.cancel("BTCUSDT", resting.link_id)  # closed by the venue
        venue.faults.realtime_hides_closed = True  # ... which then restarts
        with trio.fail_after(WAIT_S):
            found = await client.lookup("BTCUSDT", resting.link_id)
        assert (found.status, found.filled_lots, found.leaves_lots) == ("cancelled", 0, 0)
        assert venue.rest.by_path["/v5/order/history"] == 1
        with trio.fail_after(WAIT_S):
            assert await client.rest.open_orders("BTCUSDT") == []


async def test_a_miss_is_not_final_before_the_recv_window_has_passed() -> None:
    """A create can still arrive within the recv window: a lookup that misses the order in
    both lists before then is retryable, and the order found later is what counts."""
    async with (
        local_bybit() as venue,
        running_client(venue, recv_window_ms=1000) as (client, _events),
    ):
        link = make_link_id(4, 3)
        with trio.fail_after(WAIT_S), pytest.raises(RetryableVenueError) as early:
            await client.lookup("BTCUSDT", link)
        assert "recv window" in str(early.value)
        assert venue.rest.by_path["/v5/order/history"] == 1  # both lists were asked
        # The late create arrives.
        venue.exchange.create(
            symbol="BTCUSDT", side=BUY, order_type="Limit", qty_lots=2, price_ticks=99_000,
            tif="GTC", link_id=link,
        )  # fmt: skip
        with trio.fail_after(WAIT_S):
            found = await client.lookup("BTCUSDT", link)
        assert (found.status, found.leaves_lots) == ("open", 2)
