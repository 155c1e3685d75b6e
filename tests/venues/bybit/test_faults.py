"""Every fault the local venue can inject, repeated: the client recovers by itself, the book
after recovery equals the venue's book, no order is duplicated, every unresolved order is
resolved. Real loopback sockets with short real timeouts; every wait is bounded."""

from __future__ import annotations

import logging
import random

import pytest

from asnd.backoff import Backoff
from asnd.core.link_id import make_link_id
from asnd.venues.base import OrderOutcomeUnknown
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.bybit.retry import RetryPolicy
from asnd.venues.bybit.venue import BybitVenue
from journal.events import (
    BUY,
    SELL,
    BookStale,
    BookSynced,
    FeedConnected,
    FeedLost,
    Fill,
    OrderAccepted,
    OrderIntent,
    OrderReconciled,
    OrderUnresolved,
    PositionReconciled,
)

from .bybit_helpers import (
    SYMBOLS,
    Collector,
    client_levels,
    local_bybit,
    running_client,
    synced,
    venue_levels,
)

REPEATS = 3


def intent(seq: int, side: int = BUY, price_ticks: int = 99_990, qty_lots: int = 5) -> OrderIntent:
    link = make_link_id(1, seq)
    return OrderIntent(
        0, 0, 1, "BTCUSDT", link, side, "limit", "GTC", price_ticks, qty_lots, False, seq
    )


async def books_equal_after_recovery(
    client: BybitVenue, events: Collector, venue: LocalBybit
) -> None:
    for symbol in SYMBOLS:
        await synced(client, events, venue, symbol)
        assert client_levels(client, symbol) == venue_levels(venue, symbol)


async def test_dropped_public_connection_reconnects_resubscribes_and_resyncs() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        for round_ in range(REPEATS):
            assert venue.hub.drop("public") == 1
            venue.exchange.set_level("BTCUSDT", BUY, 99_000 - round_, 7)  # while we are away
            await events.first(FeedLost, lambda e: e.stream == "public")
            await events.first(FeedConnected, lambda e: e.stream == "public")
            await books_equal_after_recovery(client, events, venue)
        stale = [e for e in events.drain() if isinstance(e, BookStale)]
        synced_ = [e for e in events.drain() if isinstance(e, BookSynced)]
        assert len(stale) >= REPEATS * len(SYMBOLS)
        assert len(synced_) >= REPEATS * len(SYMBOLS)


async def test_silent_venue_is_declared_dead_and_reconnected() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        for round_ in range(REPEATS):
            venue.faults.silent = True
            venue.exchange.set_level("ETHUSDT", SELL, 300_100 + round_, 3)  # not delivered
            lost = await events.first(FeedLost, lambda e: e.stream == "public")
            assert isinstance(lost, FeedLost)
            assert "no data or pong" in lost.reason
            await events.first(FeedLost, lambda e: e.stream == "private")  # both went quiet
            venue.faults.silent = False
            await events.first(FeedConnected, lambda e: e.stream == "private")
            await books_equal_after_recovery(client, events, venue)


async def test_skipped_update_id_marks_stale_and_resubscribes() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        assert client.public is not None
        for round_ in range(REPEATS):
            venue.faults.skip_u = 1
            venue.exchange.set_level("BTCUSDT", BUY, 99_500 + round_, 11)  # this delta is lost
            venue.exchange.set_level("BTCUSDT", BUY, 99_600 + round_, 12)  # this one shows the gap
            stale = await events.first(BookStale)
            assert isinstance(stale, BookStale)
            assert "gap" in stale.reason
            await events.first(BookSynced, lambda e: e.symbol == "BTCUSDT")
            await books_equal_after_recovery(client, events, venue)
        assert client.public.resubscribes == REPEATS
        assert venue.hub.connections_served == 2  # one public, one private: no reconnects


async def test_venue_book_restart_u1_marks_stale_and_resyncs() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        for round_ in range(REPEATS):
            venue.exchange.restart_book_ids("ETHUSDT")
            venue.exchange.set_level("ETHUSDT", SELL, 300_050 + round_, 2)  # arrives with u = 1
            stale = await events.first(BookStale, lambda e: e.symbol == "ETHUSDT")
            assert "u=1" in stale.reason
            await events.first(BookSynced, lambda e: e.symbol == "ETHUSDT")
            await books_equal_after_recovery(client, events, venue)


async def test_malformed_frames_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    async with local_bybit() as venue, running_client(venue) as (client, events):
        assert client.public is not None
        venue.faults.malformed = REPEATS
        for round_ in range(REPEATS):
            venue.exchange.set_level("ETHUSDT", BUY, 299_000 + round_, 4)
        await books_equal_after_recovery(client, events, venue)
        assert client.public.malformed == REPEATS
        assert not events.of(FeedLost)  # the feed never died of it
    messages = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(messages) == REPEATS
    assert all("not a Bybit frame" in m for m in messages)


async def test_delayed_frames_and_answers_still_converge() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        venue.faults.delay_s = 0.02
        for round_ in range(REPEATS):
            venue.exchange.set_level("BTCUSDT", SELL, 100_010 + round_, 9)
            answer = await client.place(intent(100 + round_))
            assert isinstance(answer, OrderAccepted)
        await books_equal_after_recovery(client, events, venue)


async def test_5xx_rate_limit_and_clock_drift_are_retried_without_duplicates() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, events):
        syncs = client.rest.time_syncs
        for round_ in range(REPEATS):
            venue.faults.http_5xx = 2
            venue.faults.rate_limited = 2
            venue.faults.time_window = 1
            answer = await client.place(intent(200 + round_))
            assert isinstance(answer, OrderAccepted)
        assert client.rest.time_syncs >= syncs + REPEATS  # each 10002 resynchronised the clock
        links = [o.link_id for o in venue.exchange.orders.values()]
        assert sorted(links) == [make_link_id(1, 200 + r) for r in range(REPEATS)]
        assert client.unresolved == {}
        # A 502 on a create left it unresolved for a moment; every one was resolved.
        unresolved = events.of(OrderUnresolved)
        assert len({e.link_id for e in unresolved}) == REPEATS
        reconciled = events.of(OrderReconciled)
        assert {e.link_id for e in unresolved} == {e.link_id for e in reconciled} == set(links)


async def test_timeout_after_accept_is_resolved_by_link_id_never_duplicated() -> None:
    async with (
        local_bybit() as venue,
        running_client(venue, rest_timeout_s=0.3) as (client, events),
    ):
        for round_ in range(REPEATS):
            venue.faults.timeout_after_accept = 1
            link = make_link_id(1, 300 + round_)
            answer = await client.place(intent(300 + round_))
            assert isinstance(answer, OrderAccepted)
            assert answer.venue_order_id == venue.exchange.orders[link].order_id
            unresolved = await events.for_link(OrderUnresolved, link)
            assert "timed out" in unresolved.reason
            resolved = await events.for_link(OrderReconciled, link)
            assert isinstance(resolved, OrderReconciled)
            assert resolved.status == "open"
        assert venue.exchange.creates_accepted == REPEATS  # exactly one order per intent
        assert client.unresolved == {}


async def test_unresolved_order_is_resolved_in_the_background() -> None:
    """The venue fails every request for a while: ``place`` cannot find out what became of
    the create and says so; the resolver keeps asking, and once the recv window has passed
    a create that is not at the venue is final: ``not_found``."""
    impatient = RetryPolicy(attempts=2, backoff=Backoff(base_s=0.01, cap_s=0.02))
    async with (
        local_bybit() as venue,
        running_client(venue, rest_timeout_s=0.3, policy=impatient, recv_window_ms=300) as (
            client,
            events,
        ),
    ):
        link = make_link_id(1, 400)
        venue.faults.http_5xx = 1_000
        with pytest.raises(OrderOutcomeUnknown):
            await client.place(intent(400))
        assert link in client.unresolved
        unresolved = await events.first(OrderUnresolved)
        assert unresolved.link_id == link
        venue.faults.http_5xx = 0
        resolved = await events.for_link(OrderReconciled, link)
        assert isinstance(resolved, OrderReconciled)
        assert resolved.status == "not_found"
        assert client.unresolved == {}
        assert venue.exchange.creates_accepted == 0


async def test_same_intent_twice_is_one_order() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, _events):
        first = await client.place(intent(500))
        second = await client.place(intent(500))
        assert isinstance(first, OrderAccepted)
        assert isinstance(second, OrderAccepted)
        assert first.venue_order_id == second.venue_order_id
        assert venue.exchange.creates_accepted == 1


async def test_fills_missed_while_private_stream_was_down_are_caught_up_once() -> None:
    """While the private stream is down, one of our orders fills and another is cancelled by
    the venue; after the reconnect the fill is journaled exactly once and both orders and the
    position are reconciled from REST."""
    async with local_bybit() as venue, running_client(venue) as (client, events):
        assert client.private is not None
        for round_ in range(REPEATS):
            link = make_link_id(1, 600 + round_)
            other = make_link_id(1, 700 + round_)
            # Joins the best ask; the other rests far below; both confirmed by the stream.
            assert isinstance(
                await client.place(intent(600 + round_, SELL, 100_001, 10)), OrderAccepted
            )
            assert isinstance(
                await client.place(intent(700 + round_, BUY, 99_000, 3)), OrderAccepted
            )
            await events.for_link(OrderAccepted, link)
            await events.for_link(OrderAccepted, other)
            assert venue.hub.drop("private") == 1
            # While the private stream is down: their frames are lost with the connection.
            venue.exchange.crowd_trade("BTCUSDT", BUY, 100_001, 10_000)
            venue.exchange.cancel("BTCUSDT", other)
            fill = await events.for_link(Fill, link)
            assert (fill.qty_lots, fill.is_maker) == (10, True)
            filled = await events.for_link(OrderReconciled, link)
            assert (filled.status, filled.filled_lots, filled.leaves_lots) == ("filled", 10, 0)
            cancelled = await events.for_link(OrderReconciled, other)
            assert (cancelled.status, cancelled.filled_lots) == ("cancelled", 0)
            position = next(
                e
                for e in reversed(events.drain())
                if isinstance(e, PositionReconciled) and e.symbol == "BTCUSDT"
            )
            assert position.position_lots == -10 * (round_ + 1)
            venue.exchange.set_level("BTCUSDT", SELL, 100_001, 1000)  # the crowd refills the level
        fills = [e for e in events.drain() if isinstance(e, Fill)]
        assert len({f.exec_id for f in fills}) == len(fills) == REPEATS  # each fill exactly once
        assert client.private.caught_up_fills == REPEATS
        await books_equal_after_recovery(client, events, venue)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_market_with_random_faults_converges(seed: int) -> None:
    """A seeded random walk of crowd updates, crowd trades and our orders, interleaved with
    every public-feed fault; at the end the client's books equal the venue's and every order
    the client placed exists exactly once."""
    rng = random.Random(seed)
    async with local_bybit() as venue, running_client(venue) as (client, events):
        placed = 0
        for step in range(150):
            symbol = rng.choice(SYMBOLS)
            best_bid, best_ask = (99_995, 100_006) if symbol == "BTCUSDT" else (299_995, 300_006)
            roll = rng.random()
            if roll < 0.55:
                side = rng.choice((BUY, SELL))
                price = (
                    rng.randrange(best_bid - 5, best_bid + 1)
                    if side == BUY
                    else rng.randrange(best_ask - 1, best_ask + 5)
                )
                venue.exchange.set_level(symbol, side, price, rng.choice((0, 1, 5, 50, 500)))
            elif roll < 0.7:
                side = rng.choice((BUY, SELL))
                venue.exchange.crowd_trade(
                    symbol,
                    side,
                    best_ask + 3 if side == BUY else best_bid - 3,
                    rng.randrange(1, 300),
                )
            elif roll < 0.8 and symbol == "BTCUSDT":
                placed += 1
                side = rng.choice((BUY, SELL))
                price = rng.randrange(99_990, 100_012)
                answer = await client.place(intent(1000 + step, side, price, rng.randrange(1, 20)))
                assert isinstance(answer, OrderAccepted)
            else:
                fault = rng.choice(("skip_u", "malformed", "drop", "delay"))
                if fault == "skip_u":
                    venue.faults.skip_u += 1
                elif fault == "malformed":
                    venue.faults.malformed += 1
                elif fault == "drop":
                    venue.hub.drop("public")
                else:
                    venue.faults.delay_s = rng.choice((0.0, 0.002))
        venue.faults.delay_s = 0.0
        venue.faults.skip_u = 0
        # One last update per symbol, so a pending gap is noticed and repaired.
        venue.exchange.set_level("BTCUSDT", BUY, 99_000, 1)
        venue.exchange.set_level("ETHUSDT", BUY, 299_000, 1)
        await books_equal_after_recovery(client, events, venue)
        assert venue.exchange.creates_accepted == placed
        assert client.unresolved == {}
        assert events.of(BookStale)  # the faults did bite: books went stale and recovered
        assert events.of(BookSynced)
