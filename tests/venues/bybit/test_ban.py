"""HTTP 403 (Bybit bans an IP that sent too many requests, for about ten minutes): trading
halts with the reason, nothing is sent until a long jittered backoff has passed, and the
executor's lookups wait that backoff instead of asking every second."""

from __future__ import annotations

import random

import pytest
import trio

from asnd.actors.executor import Executor
from asnd.backoff import Backoff
from asnd.core.link_id import make_link_id
from asnd.venues.base import BannedError
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.rest import BAN_BACKOFF, BybitRest
from journal.events import (
    BUY,
    CancelIntent,
    Event,
    OrderIntent,
    OrderReconciled,
    OrderUnresolved,
    TradingHalted,
)

from .bybit_helpers import FAST_RETRY, KEY, SECRET, WAIT_S, local_bybit, running_client

QUICK_BAN = Backoff(base_s=0.4, cap_s=0.8)  # the same rule, scaled down for a real-time test


def test_the_ban_backoff_is_minutes_jittered_and_grows() -> None:
    for seed in range(5):
        rng = random.Random(seed)
        delays = [BAN_BACKOFF.delay(n, rng) for n in range(1, 6)]
        assert all(600 <= d <= 3600 for d in delays)  # at least Bybit's ten minutes
        assert delays[0] < 1200 <= delays[2]
    firsts = {BAN_BACKOFF.delay(1, random.Random(s)) for s in range(5)}
    assert len(firsts) == 5  # clients banned together do not come back together


async def test_banned_client_sends_nothing_until_the_backoff_has_passed() -> None:
    async with (
        local_bybit() as venue,
        BybitRest(
            venue.rest_url, Credentials(KEY, SECRET), policy=FAST_RETRY, ban_backoff=QUICK_BAN
        ) as rest,
    ):
        bans: list[str] = []

        async def on_ban(reason: str) -> None:
            bans.append(reason)

        rest.on_ban = on_ban
        venue.faults.http_statuses = [403]
        with trio.fail_after(WAIT_S):
            with pytest.raises(BannedError) as first:
                await rest.positions("BTCUSDT")
            wait = first.value.retry_after_s
            assert wait is not None
            assert 0.2 <= wait < 0.4
            assert "HTTP 403" in str(first.value)
            assert venue.rest.requests == 1  # not retried inside the request loop
            for _ in range(20):  # a caller in a hurry gets the gate, the venue hears nothing
                with pytest.raises(BannedError) as again:
                    await rest.open_orders("BTCUSDT")
                assert again.value.retry_after_s is not None
                assert again.value.retry_after_s <= wait
            assert venue.rest.requests == 1
            await trio.sleep(wait)  # the client's own deadline, not a guess at ordering
            assert [p.symbol for p in await rest.positions("BTCUSDT")] == ["BTCUSDT"]
        assert venue.rest.requests == 2
        assert rest.bans == 0
        assert len(bans) == 1
        assert "trading halted" in bans[0]
        assert "asnctl resume" in bans[0]


async def test_repeated_bans_back_off_longer_and_halt_once() -> None:
    async with (
        local_bybit() as venue,
        BybitRest(
            venue.rest_url, Credentials(KEY, SECRET), policy=FAST_RETRY, ban_backoff=QUICK_BAN
        ) as rest,
    ):
        halts = 0

        async def on_ban(reason: str) -> None:
            nonlocal halts
            halts += 1

        rest.on_ban = on_ban
        venue.faults.http_statuses = [403, 403]
        waits = []
        with trio.fail_after(WAIT_S):
            for _ in range(2):
                with pytest.raises(BannedError) as info:
                    await rest.positions("BTCUSDT")
                assert info.value.retry_after_s is not None
                waits.append(info.value.retry_after_s)
                await trio.sleep(info.value.retry_after_s)
            await rest.positions("BTCUSDT")
        assert 0.2 <= waits[0] < 0.4 <= waits[1] < 0.8  # attempt 2 of the same backoff
        assert (rest.bans, halts, venue.rest.requests) == (0, 1, 3)


class Desk:
    """The core as the executor sees it: approved orders in, inputs recorded."""

    def __init__(self) -> None:
        self.approve, self.orders = trio.open_memory_channel[OrderIntent | CancelIntent](16)
        self.events: list[Event] = []
        self.resolved = trio.Event()

    async def submit(self, *events: Event, wait: bool = False) -> list[Event]:
        self.events.extend(events)
        if any(isinstance(e, OrderReconciled) for e in events):
            self.resolved.set()
        await trio.lowlevel.checkpoint()
        return []


async def test_executor_waits_out_the_ban_then_resolves_the_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The assembled path: the executor sends a create, the venue answers 403; trading
    halts (journaled by the venue), the order is unresolved, and the executor asks about it
    once during the ban, then waits the ban's backoff (not its own second-scale backoff)
    before it resolves the order."""
    async with (
        local_bybit() as venue,
        running_client(venue, ban_backoff=QUICK_BAN, recv_window_ms=300) as (client, events),
    ):
        desk = Desk()
        executor = Executor(client, desk, backoff_initial_s=0.01)
        lookups: list[float] = []
        lookup = client.lookup

        async def counted(symbol: str, link_id: str) -> OrderReconciled:
            lookups.append(trio.current_time())
            return await lookup(symbol, link_id)

        monkeypatch.setattr(client, "lookup", counted)
        link = make_link_id(6, 1)
        order = OrderIntent(0, 0, 6, "BTCUSDT", link, BUY, "limit", "GTC", 99_000, 3, False, 1)
        venue.faults.http_statuses = [403]
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            await desk.approve.send(order)
            halted = await events.first(TradingHalted)
            assert "IP banned" in halted.reason
            with trio.fail_after(WAIT_S):
                await desk.resolved.wait()
            nursery.cancel_scope.cancel()
        ban_end = client.rest.banned_until
        assert len([t for t in lookups if t < ban_end]) == 1  # one ask, then the ban's wait
        kinds = [type(e) for e in desk.events if getattr(e, "link_id", None) == link]
        assert OrderUnresolved in kinds
        resolved = next(e for e in desk.events if isinstance(e, OrderReconciled))
        assert resolved.status == "not_found"  # a 403 never reached the matching engine
        assert venue.exchange.orders == {}
