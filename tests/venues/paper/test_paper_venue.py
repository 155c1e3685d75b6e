"""``PaperVenue`` against the local Bybit-compatible venue's public REST and WebSocket, over
real loopback sockets: orders answered by the L2 replay, journaled like a live venue's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from asnd.core.slot import WorkingOrder
from asnd.venues.base import EmbeddedVenue, JournaledVenue
from asnd.venues.bybit import codes
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.paper import PaperConfig, PaperVenue
from asnd.venues.paper.venue import REJECT_REDUCE_ONLY
from journal.events import (
    BUY,
    SELL,
    BookSnapshot,
    Event,
    Fill,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
)

from ..bybit.bybit_helpers import FAST, FAST_RETRY, SYMBOLS, WAIT_S, Collector, local_bybit

BEST_BID, BEST_ASK = 100_000, 100_001  # BTCUSDT ticks of bybit_helpers.seed_book (1000 lots)


def intent(
    n: int, side: int, price: int, qty: int, *, tif: str = "GTC", reduce_only: bool = False
) -> OrderIntent:
    order_type = "market" if tif == "market" else "limit"
    return OrderIntent(0, 0, 0, "BTCUSDT", f"asn-0-{n}", side, order_type,
                       "IOC" if tif == "market" else tif, price, qty, reduce_only, 0)  # fmt: skip


@asynccontextmanager
async def paper(
    local: LocalBybit, *, before_run: list[object] | None = None, **overrides: object
) -> AsyncIterator[tuple[PaperVenue, Collector]]:
    config = PaperConfig(
        local.rest_url, local.public_url, SYMBOLS, latency_ns=(0, 0), timing=FAST,
        policy=FAST_RETRY, **overrides,  # type: ignore[arg-type]
    )  # fmt: skip
    venue = PaperVenue(config)
    send, receive = trio.open_memory_channel[Event](100_000)
    collector = Collector(receive)
    async with venue, trio.open_nursery() as nursery:
        await venue.instruments(SYMBOLS)
        for prepare in before_run or []:
            assert callable(prepare)
            prepare(venue)
        with trio.fail_after(WAIT_S):
            await nursery.start(venue.run, send)
            for _ in SYMBOLS:
                await collector.first(BookSnapshot)
        yield venue, collector
        nursery.cancel_scope.cancel()


async def test_a_taker_order_fills_against_the_displayed_book_once() -> None:
    async with local_bybit() as local, paper(local) as (venue, stream):
        assert isinstance(venue, EmbeddedVenue)
        assert isinstance(venue, JournaledVenue)
        order = intent(1, BUY, BEST_ASK, 10)
        answer = await venue.place(order)
        assert isinstance(answer, OrderAccepted)
        fills = stream.of(Fill)
        assert [(f.price_ticks, f.qty_lots, f.is_maker, f.leaves_lots) for f in fills] == [
            (BEST_ASK, 10, False, 0)
        ]
        assert fills[0].venue_order_id == answer.venue_order_id
        assert fills[0].exec_id.startswith("BTCUSDT-")
        assert fills[0].fee_e8 > 0
        assert await venue.place(order) == answer  # idempotent: no second order, no fill
        assert len(stream.of(Fill)) == 1
        _orders, positions = await venue.reconcile(SYMBOLS)
        assert [(p.symbol, p.position_lots) for p in positions] == [("BTCUSDT", 10), ("ETHUSDT", 0)]
        assert (await venue.lookup("BTCUSDT", order.link_id)).status == "filled"


async def test_a_resting_order_waits_behind_the_queue_and_fills_on_a_trade_through() -> None:
    async with local_bybit() as local, paper(local) as (venue, stream):
        order = intent(2, BUY, BEST_BID, 5)
        assert isinstance(await venue.place(order), OrderAccepted)
        assert not stream.of(Fill)
        found = await venue.lookup("BTCUSDT", order.link_id)
        assert (found.status, found.leaves_lots) == ("open", 5)
        # The crowd sells the whole best bid (1000 lots, all ahead of us) and 5 lots below:
        # the trade below our price went through us.
        local.exchange.crowd_trade("BTCUSDT", SELL, BEST_BID - 1, 1005)
        fill = await stream.first(Fill)
        assert (fill.link_id, fill.price_ticks, fill.qty_lots, fill.is_maker) == (
            order.link_id, BEST_BID, 5, True,
        )  # fmt: skip
        gone = await venue.cancel("BTCUSDT", order.link_id)  # too late: say what became of it
        assert isinstance(gone, OrderReconciled)
        assert (gone.status, gone.filled_lots) == ("filled", 5)


async def test_cancel_answers_the_replay_and_a_second_cancel_says_it_is_gone() -> None:
    async with local_bybit() as local, paper(local) as (venue, _stream):
        order = intent(3, BUY, BEST_BID - 10, 3)
        assert isinstance(await venue.place(order), OrderAccepted)
        cancelled = await venue.cancel("BTCUSDT", order.link_id)
        assert isinstance(cancelled, OrderCancelled)
        assert cancelled.remaining_lots == 3
        again = await venue.cancel("BTCUSDT", order.link_id)
        assert isinstance(again, OrderReconciled)
        assert again.status == "cancelled"
        unknown = await venue.lookup("BTCUSDT", "asn-4-99")
        assert (unknown.slot, unknown.status) == (4, "not_found")
        orders, _positions = await venue.reconcile(SYMBOLS)
        assert orders == []


async def test_reduce_only_is_cut_to_the_position_and_a_spent_wallet_refuses_exposure() -> None:
    async with local_bybit() as local, paper(local, balance_e8=1) as (venue, stream):
        flat = await venue.place(intent(4, SELL, 0, 5, tif="market", reduce_only=True))
        assert isinstance(flat, OrderRejected)
        assert flat.code == REJECT_REDUCE_ONLY
        assert isinstance(await venue.place(intent(5, BUY, BEST_ASK, 4)), OrderAccepted)
        # The taker fee has used up the 1e-8 USDT wallet: no more exposure.
        spent = await venue.place(intent(6, BUY, BEST_ASK, 1))
        assert isinstance(spent, OrderRejected)
        assert spent.code == codes.INSUFFICIENT_BALANCE
        closing = await venue.place(intent(7, SELL, 0, 9, tif="market", reduce_only=True))
        assert isinstance(closing, OrderAccepted)
        assert sum(f.qty_lots for f in stream.of(Fill) if f.link_id == "asn-0-7") == 4
        _orders, positions = await venue.reconcile(["BTCUSDT"])
        assert positions[0].position_lots == 0


async def test_after_a_restart_the_journal_s_orders_and_positions_keep_working() -> None:
    working = WorkingOrder(
        "asn-0-8", BUY, "limit", "GTC", BEST_BID - 10, 4, 3, False, 1, "open", "old-1"
    )
    never_arrived = WorkingOrder(
        "asn-0-9", BUY, "limit", "GTC", BEST_BID - 10, 4, 4, False, 2, "sent"
    )

    def restore(venue: PaperVenue) -> None:
        venue.carry_over({"BTCUSDT": (5, BEST_BID)})
        venue.resume_orders([(0, "BTCUSDT", working), (0, "BTCUSDT", never_arrived)])

    async with (
        local_bybit() as local,
        paper(local, before_run=[restore]) as (venue, stream),
    ):
        found = await venue.lookup("BTCUSDT", "asn-0-8")
        assert (found.status, found.filled_lots, found.leaves_lots) == ("open", 1, 3)
        assert (await venue.lookup("BTCUSDT", "asn-0-9")).status == "not_found"
        # It rests again (behind nothing at a price without crowd): a trade below fills it.
        local.exchange.set_level("BTCUSDT", BUY, BEST_BID - 11, 50)
        local.exchange.crowd_trade("BTCUSDT", SELL, BEST_BID - 11, 6000 + 3)
        fill = await stream.first(Fill, lambda f: f.link_id == "asn-0-8")
        assert (fill.venue_order_id, fill.qty_lots, fill.leaves_lots) == ("old-1", 3, 0)
        assert not stream.of(OrderAccepted)  # its acceptance is the journal's, not news
        _orders, positions = await venue.reconcile(["BTCUSDT"])
        assert positions[0].position_lots == 8


async def test_a_resumed_order_cancelled_before_its_book_arrives_is_cancelled_at_once() -> None:
    working = WorkingOrder(
        "asn-0-10", SELL, "limit", "PostOnly", BEST_ASK + 5, 2, 2, False, 1, "open", "old-2"
    )
    async with local_bybit() as local:
        config = PaperConfig(local.rest_url, local.public_url, SYMBOLS, policy=FAST_RETRY)
        async with PaperVenue(config) as venue:
            await venue.instruments(SYMBOLS)
            venue.resume_orders([(0, "BTCUSDT", working)])
            with trio.fail_after(WAIT_S):
                cancelled = await venue.cancel("BTCUSDT", "asn-0-10")
            assert isinstance(cancelled, OrderCancelled)
            assert (cancelled.venue_order_id, cancelled.remaining_lots) == ("old-2", 2)
            assert (await venue.lookup("BTCUSDT", "asn-0-10")).status == "cancelled"
