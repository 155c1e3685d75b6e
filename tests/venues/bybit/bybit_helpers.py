"""Shared pieces of the Bybit tests: a running local venue, fast timings, an event collector."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import trio

from asnd.backoff import Backoff
from asnd.venues.bybit.connection import FeedTiming
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.bybit.retry import RetryPolicy
from asnd.venues.bybit.venue import BybitConfig, BybitVenue
from journal.events import BUY, SELL, Event, InstrumentInfo

KEY = "test-key-0001"
SECRET = "TOPSECRET-9f8e7d6c5b4a3f2e1d0c"  # a made-up secret the tests hunt for in every output
SYMBOLS = ("BTCUSDT", "ETHUSDT")
INSTRUMENTS = [
    InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5"),
    InstrumentInfo(0, 0, "bybit", "ETHUSDT", "0.01", "0.01", "0.01", "5"),
]
#: Short real timeouts: the tests run over real sockets, where an autojump clock cannot help.
FAST = FeedTiming(
    ping_interval_s=0.2,
    dead_after_s=0.6,
    connect_timeout_s=1.0,
    healthy_after_s=0.5,
    resync_after_s=0.5,
    backoff=Backoff(base_s=0.02, cap_s=0.2),
)
FAST_RETRY = RetryPolicy(attempts=6, backoff=Backoff(base_s=0.01, cap_s=0.1))
E = TypeVar("E", bound=Event)
WAIT_S = 10.0  # upper bound of any single wait in these tests (fail_after)


def seed_book(venue: LocalBybit) -> None:
    """Five crowd levels a side on both symbols, around 50000 and 3000."""
    ex = venue.exchange
    for i in range(5):
        ex.set_level("BTCUSDT", BUY, 100_000 - i, 1000 + 100 * i)  # 50000.0 - 0.5 i
        ex.set_level("BTCUSDT", SELL, 100_001 + i, 1000 + 100 * i)
        ex.set_level("ETHUSDT", BUY, 300_000 - i, 500 + i)
        ex.set_level("ETHUSDT", SELL, 300_001 + i, 500 + i)


@asynccontextmanager
async def local_bybit(**kwargs: object) -> AsyncIterator[LocalBybit]:
    async with trio.open_nursery() as nursery:
        venue = LocalBybit(INSTRUMENTS, api_keys={KEY: SECRET}, **kwargs)  # type: ignore[arg-type]
        await nursery.start(venue.serve)
        seed_book(venue)
        yield venue
        nursery.cancel_scope.cancel()


def config_for(venue: LocalBybit, **overrides: object) -> BybitConfig:
    base: dict[str, object] = {
        "rest_url": venue.rest_url,
        "public_ws_url": venue.public_url,
        "private_ws_url": venue.private_url,
        "symbols": SYMBOLS,
        "rest_timeout_s": 1.0,
        "resolve_interval_s": 0.05,
        "timing": FAST,
        "policy": FAST_RETRY,
    }
    base.update(overrides)
    return BybitConfig(**base)  # type: ignore[arg-type]


@dataclass
class Collector:
    """Everything a venue emitted, in order, plus a way to wait for a condition on it."""

    receive: trio.MemoryReceiveChannel[Event]
    events: list[Event] = field(default_factory=list)

    async def until(self, predicate: Callable[[Event], bool], timeout_s: float = WAIT_S) -> Event:
        """Read events until one satisfies ``predicate``; fail after ``timeout_s``."""
        with trio.fail_after(timeout_s):
            async for event in self.receive:
                self.events.append(event)
                if predicate(event):
                    return event
        raise AssertionError("event stream ended")

    def drain(self) -> list[Event]:
        """Take every event already emitted (without waiting) and return all seen so far."""
        while True:
            try:
                self.events.append(self.receive.receive_nowait())
            except trio.WouldBlock:
                return self.events

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.drain() if isinstance(e, kind)]

    async def first(
        self,
        kind: type[E],
        predicate: Callable[[E], bool] = lambda e: True,
        timeout_s: float = WAIT_S,
    ) -> E:
        """The next event of ``kind`` satisfying ``predicate``."""
        event = await self.until(lambda e: isinstance(e, kind) and predicate(e), timeout_s)
        assert isinstance(event, kind)
        return event

    async def for_link(self, kind: type[E], link_id: str) -> E:
        """The next event of ``kind`` about order ``link_id``."""
        return await self.first(kind, lambda e: getattr(e, "link_id", None) == link_id)


@asynccontextmanager
async def running_client(
    venue: LocalBybit, *, credentials: bool = True, **overrides: object
) -> AsyncIterator[tuple[BybitVenue, Collector]]:
    send, receive = trio.open_memory_channel[Event](100_000)
    creds = Credentials(KEY, SECRET) if credentials else None
    client = BybitVenue(config_for(venue, **overrides), creds, seed=7)
    async with client, trio.open_nursery() as nursery:
        with trio.fail_after(WAIT_S):
            await nursery.start(client.run, send)
        yield client, Collector(receive)
        nursery.cancel_scope.cancel()


def venue_levels(
    venue: LocalBybit, symbol: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return venue.exchange.levels(symbol, 50)


def client_levels(
    client: BybitVenue, symbol: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    assert client.public is not None
    book = client.public.books[symbol]
    return book.bids(50), book.asks(50)


async def synced(client: BybitVenue, collector: Collector, venue: LocalBybit, symbol: str) -> None:
    """Wait until the client's book of ``symbol`` is fresh and at the venue's update id."""
    assert client.public is not None
    book = client.public.books[symbol]
    target = venue.exchange.markets[symbol].update_id
    if book.stale or book.update_id != target:
        await collector.until(lambda e: not book.stale and book.update_id == target)
