"""``async with venue``: BybitVenue opens its REST client on entry and closes it on every way
out (issue 13: the daemon called ``instruments`` on a client nobody had opened)."""

from __future__ import annotations

import time

import pytest
import trio

from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.venue import BybitVenue
from journal.events import BUY, Event, Fill, OrderAccepted

from .bybit_helpers import KEY, SECRET, SYMBOLS, WAIT_S, config_for, local_bybit
from .test_end_to_end import intent


async def test_calls_work_inside_and_the_client_is_closed_on_exit() -> None:
    async with local_bybit() as venue:
        client = BybitVenue(config_for(venue), Credentials(KEY, SECRET))
        with trio.fail_after(WAIT_S):
            async with client:
                assert client.rest.is_open
                assert client.rest.time_syncs == 1  # the clock offset is measured on entry
                infos = await client.instruments(SYMBOLS)  # before run(): start-up order
                assert [i.symbol for i in infos] == list(SYMBOLS)
                _orders, positions = await client.reconcile(SYMBOLS)
                assert {p.symbol for p in positions} == set(SYMBOLS)
            assert not client.rest.is_open


async def test_closed_on_an_error_and_on_cancellation() -> None:
    async with local_bybit() as venue:
        client = BybitVenue(config_for(venue), Credentials(KEY, SECRET))
        with pytest.raises(ValueError, match="boom"), trio.fail_after(WAIT_S):
            async with client:
                raise ValueError("boom")
        assert not client.rest.is_open
        with trio.move_on_after(WAIT_S) as scope:
            async with client:
                scope.cancel()
                await trio.sleep_forever()
        assert scope.cancelled_caught
        assert not client.rest.is_open


async def test_run_outside_async_with_says_so() -> None:
    async with local_bybit() as venue:
        client = BybitVenue(config_for(venue), Credentials(KEY, SECRET))
        send, _receive = trio.open_memory_channel[Event](100)
        with pytest.raises(RuntimeError, match="outside 'async with venue'"):
            await client.run(send)


async def test_start_up_lookups_keep_their_fills_for_the_daemon_and_never_repeat_one() -> None:
    """Found end to end (issue 13): a start-up lookup (before ``run``) found a filled order
    and kept its fills where nobody read them before the position check, which then halted
    trading on a mismatch. They wait in ``take_backlog``; and a fill the journal already holds
    (``remember_fills``) is not journaled again by the next run's lookup."""
    async with local_bybit() as venue:
        first = BybitVenue(config_for(venue), Credentials(KEY, SECRET))
        with trio.fail_after(WAIT_S):
            async with first:
                await first.instruments(SYMBOLS)
                ioc = intent(2, 11, BUY, price_ticks=100_001, qty_lots=700, tif="IOC")
                assert isinstance(await first.place(ioc), OrderAccepted)
                found = await first.lookup("BTCUSDT", ioc.link_id)
                assert (found.status, found.filled_lots) == ("filled", 700)
                fills = first.take_backlog()
                assert [(f.link_id, f.qty_lots) for f in fills if isinstance(f, Fill)] == [
                    (ioc.link_id, 700)
                ]
                assert first.take_backlog() == []
        again = BybitVenue(config_for(venue), Credentials(KEY, SECRET))
        with trio.fail_after(WAIT_S):
            async with again:
                await again.instruments(SYMBOLS)
                again.remember_fills(f.exec_id for f in fills if isinstance(f, Fill))
                found = await again.lookup("BTCUSDT", ioc.link_id)
                assert found.status == "filled"
                assert again.take_backlog() == []


async def test_missed_fills_are_the_executions_since_a_time_that_no_one_journaled() -> None:
    """At start-up: a fill of the previous run whose frame never reached the journal (its
    order already finished there, so no lookup asks for it) is found, once."""
    async with local_bybit() as venue:
        client = BybitVenue(config_for(venue), Credentials(KEY, SECRET))
        with trio.fail_after(WAIT_S):
            async with client:
                await client.instruments(SYMBOLS)
                since_ns = time.time_ns() - 1_000_000_000
                first = intent(1, 3, BUY, price_ticks=100_001, qty_lots=300, tif="IOC")
                second = intent(1, 4, BUY, price_ticks=100_001, qty_lots=200, tif="IOC")
                assert isinstance(await client.place(first), OrderAccepted)
                assert isinstance(await client.place(second), OrderAccepted)
                known = [x["execId"] for x in venue.exchange.executions[:1]]
                client.remember_fills(known)  # the journal holds the first one
                missed = await client.missed_fills(since_ns)
                assert [(f.link_id, f.qty_lots) for f in missed] == [(second.link_id, 200)]
                assert await client.missed_fills(since_ns) == []  # remembered now
                assert await client.missed_fills(time.time_ns() + 10**10) == []
