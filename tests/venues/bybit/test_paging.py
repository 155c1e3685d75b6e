"""Paging: the local venue pages its lists as Bybit does (``limit`` capped per path, a
default when absent, ``nextPageCursor``), and the client follows every page, so no order or
fill is lost past page one: the 150-fill private-stream outage journals each fill once."""

from __future__ import annotations

import pytest
import trio

from asnd.core.link_id import make_link_id
from asnd.venues.bybit.local.exchange import Exchange, ExchangeError
from asnd.venues.bybit.local.faults import Faults
from asnd.venues.bybit.local.lists import answer_list
from asnd.venues.bybit.rest import PAGE_LIMITS
from journal.events import BUY, SELL, FeedLost, Fill, OrderAccepted, OrderIntent, OrderReconciled

from .bybit_helpers import INSTRUMENTS, WAIT_S, local_bybit, running_client

EXECUTIONS = "/v5/execution/list"
OUTAGE_FILLS = 150  # more than one page of /v5/execution/list (100)


def intent(seq: int, side: int, price_ticks: int, qty_lots: int) -> OrderIntent:
    link = make_link_id(3, seq)
    return OrderIntent(
        0, 0, 3, "BTCUSDT", link, side, "limit", "GTC", price_ticks, qty_lots, False, seq
    )


def exchange_with_fills(n: int) -> Exchange:
    clock = iter(range(1_000, 10**9))
    ex = Exchange(INSTRUMENTS, clock_ms=lambda: next(clock))
    ex.create(
        symbol="BTCUSDT", side=SELL, order_type="Limit", qty_lots=n, price_ticks=100_001,
        tif="GTC", link_id="asn-3-1",
    )  # fmt: skip
    for _ in range(n):
        ex.crowd_trade("BTCUSDT", BUY, 100_001, 1)
    return ex


def walk(ex: Exchange, path: str, params: dict[str, str]) -> tuple[list[str], int]:
    """Every execId over all pages, and how many pages it took."""
    ids: list[str] = []
    cursor, pages = "", 0
    while True:
        page = answer_list(ex, Faults(), path, {**params, "cursor": cursor})
        pages += 1
        ids.extend(r["execId"] for r in page["list"])
        cursor = page["nextPageCursor"]
        if not cursor:
            return ids, pages


def test_local_venue_pages_like_bybit() -> None:
    ex = exchange_with_fills(230)
    first = answer_list(ex, Faults(), EXECUTIONS, {"symbol": "BTCUSDT"})
    assert len(first["list"]) == 50  # Bybit's default limit for execution/list
    assert first["nextPageCursor"]
    ids, pages = walk(ex, EXECUTIONS, {"symbol": "BTCUSDT", "limit": "100"})
    assert pages == 3
    assert len(ids) == len(set(ids)) == 230
    seqs = [int(i.removeprefix("exec-")) for i in ids]
    assert seqs == sorted(seqs, reverse=True)  # newest first, as Bybit lists them
    for limit in ("0", "101", "ten"):
        with pytest.raises(ExchangeError) as info:
            answer_list(ex, Faults(), EXECUTIONS, {"limit": limit})
        assert info.value.code == 10001
    with pytest.raises(ExchangeError):
        answer_list(ex, Faults(), EXECUTIONS, {"cursor": "not-ours"})


def test_rows_added_while_paging_do_not_shift_the_pages() -> None:
    ex = exchange_with_fills(120)
    page = answer_list(ex, Faults(), EXECUTIONS, {"limit": "100"})
    seen = [r["execId"] for r in page["list"]]
    ex.set_level("BTCUSDT", SELL, 100_002, 0)
    ex.create(
        symbol="BTCUSDT", side=SELL, order_type="Limit", qty_lots=5, price_ticks=100_001,
        tif="GTC", link_id="asn-3-2",
    )  # fmt: skip
    ex.crowd_trade("BTCUSDT", BUY, 100_001, 5)  # a new fill lands between two pages
    rest = answer_list(ex, Faults(), EXECUTIONS, {"limit": "100", "cursor": page["nextPageCursor"]})
    seen += [r["execId"] for r in rest["list"]]
    assert len(seen) == len(set(seen)) == 120  # the old ones, each once; the new one next time


def test_position_and_order_lists_page_too() -> None:
    ex = exchange_with_fills(3)
    one = answer_list(ex, Faults(), "/v5/position/list", {"limit": "1"})
    two = answer_list(
        ex, Faults(), "/v5/position/list", {"limit": "1", "cursor": one["nextPageCursor"]}
    )
    assert [r["symbol"] for r in one["list"] + two["list"]] == ["BTCUSDT", "ETHUSDT"]
    assert two["nextPageCursor"] == ""
    assert PAGE_LIMITS == {
        "/v5/order/realtime": 50,
        "/v5/order/history": 50,
        "/v5/execution/list": 100,
        "/v5/position/list": 200,
    }


async def test_client_reads_every_page_of_open_orders_and_history() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, _events):
        for seq in range(130):
            answer = await client.place(intent(seq, BUY, 99_000 - seq % 40, 1))
            assert isinstance(answer, OrderAccepted)
        with trio.fail_after(WAIT_S):
            open_orders = await client.rest.open_orders("BTCUSDT")
        assert len({o.order_link_id for o in open_orders}) == len(open_orders) == 130
        assert venue.rest.by_path["/v5/order/realtime"] == 3  # 50 + 50 + 30, limit sent
        for seq in range(60):
            await client.cancel("BTCUSDT", make_link_id(3, seq))
        with trio.fail_after(WAIT_S):
            history = await client.rest.order_history("BTCUSDT")
            _orders, positions = await client.reconcile(["BTCUSDT"])
        assert {o.order_link_id for o in history} == {make_link_id(3, s) for s in range(60)}
        assert len(_orders) == 70
        assert [p.symbol for p in positions] == ["BTCUSDT"]


async def test_private_stream_outage_with_150_fills_journals_each_once() -> None:
    """Twice, the private stream drops and 150 executions of our order happen while it
    is down (more than one page of ``/v5/execution/list``). After each reconnect every one
    is journaled exactly once: the catch-up pages to the end and dedupes by execId (the
    second catch-up's window overlaps the first's fills)."""
    fills = OUTAGE_FILLS
    async with local_bybit() as venue, running_client(venue) as (client, events):
        assert client.private is not None
        ex = venue.exchange
        ex.set_level("BTCUSDT", SELL, 100_001, 0)  # our order is alone at the best ask
        total = 0
        for round_ in range(2):
            link = make_link_id(3, 900 + round_)
            placed = await client.place(intent(900 + round_, SELL, 100_001, fills))
            assert isinstance(placed, OrderAccepted)
            await events.for_link(OrderAccepted, link)
            assert venue.hub.drop("private") == 1
            for _ in range(fills):  # while the stream is down: each frame is lost
                ex.crowd_trade("BTCUSDT", BUY, 100_001, 1)
            total += fills
            done = await events.for_link(OrderReconciled, link)  # after the catch-up
            assert (done.status, done.filled_lots) == ("filled", fills)
            journaled = events.of(Fill)
            assert len(journaled) == len({f.exec_id for f in journaled}) == total
            assert sum(f.qty_lots for f in journaled if f.link_id == link) == fills
            ours = [f for f in journaled if f.link_id == link]
            assert [f.leaves_lots for f in ours] == list(range(fills - 1, -1, -1))  # in order
        assert client.private.caught_up_fills == total
        assert {f.exec_id for f in events.of(Fill)} == {r["execId"] for r in ex.executions}
        assert venue.rest.by_path["/v5/execution/list"] >= 4  # two pages per catch-up at least


async def test_catch_up_that_fails_is_retried_on_the_next_connection() -> None:
    """The REST catch-up after an outage fails (the venue answers 502 to every try): the
    stream does not go live without it; it reconnects and the next catch-up journals every
    fill once."""
    async with local_bybit() as venue, running_client(venue) as (client, events):
        assert client.private is not None
        ex = venue.exchange
        ex.set_level("BTCUSDT", SELL, 100_001, 0)
        link = make_link_id(3, 950)
        assert isinstance(await client.place(intent(950, SELL, 100_001, 120)), OrderAccepted)
        await events.for_link(OrderAccepted, link)
        venue.faults.http_5xx = 1_000
        assert venue.hub.drop("private") == 1
        for _ in range(120):
            ex.crowd_trade("BTCUSDT", BUY, 100_001, 1)
        failed = await events.first(
            FeedLost, lambda e: e.stream == "private" and "RetryableVenueError" in e.reason
        )
        assert "HTTP 502" in failed.reason
        venue.faults.http_5xx = 0
        done = await events.for_link(OrderReconciled, link)
        assert (done.status, done.filled_lots) == ("filled", 120)
        fills = events.of(Fill)
        assert len(fills) == len({f.exec_id for f in fills}) == 120
