"""The local Bybit venue in its own thread, for third-party clients that bring their own event
loop (ccxt: asyncio; pybit: blocking ``requests``). The venue runs ``trio.run`` in a thread on
127.0.0.1; the test talks to it over real sockets, and reads or plays its market only through
``call`` (run on the venue's thread, so its state is never touched from two threads)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import trio

from asnd.venues.bybit.local.server import LocalBybit

from .bybit_helpers import WAIT_S, local_bybit

T = TypeVar("T")
TICK = Decimal("0.5")  # BTCUSDT's grid in bybit_helpers.INSTRUMENTS
LOT = Decimal("0.001")


@dataclass
class VenueThread:
    venue: LocalBybit
    token: trio.lowlevel.TrioToken
    done: trio.Event

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the venue's trio thread and return its result."""
        return trio.from_thread.run_sync(fn, trio_token=self.token)

    def book(self, symbol: str, depth: int) -> tuple[list[list[float]], list[list[float]]]:
        """The venue's book as ccxt writes one: ``[[price, size], ...]`` bids then asks."""
        bids, asks = self.call(lambda: self.venue.exchange.levels(symbol, depth))
        return _floats(bids), _floats(asks)


def _floats(levels: list[tuple[int, int]]) -> list[list[float]]:
    return [[float(price * TICK), float(lots * LOT)] for price, lots in levels]


@contextmanager
def venue_in_thread() -> Iterator[VenueThread]:
    """A seeded local venue (``bybit_helpers.seed_book``) serving until the block ends."""
    started: queue.Queue[VenueThread | BaseException] = queue.Queue()
    failures: list[BaseException] = []

    async def serve() -> None:
        async with local_bybit() as venue:
            done = trio.Event()
            started.put(VenueThread(venue, trio.lowlevel.current_trio_token(), done))
            await done.wait()

    def run() -> None:
        try:
            trio.run(serve)
        except BaseException as exc:  # reported to the test, which re-raises it
            failures.append(exc)
            started.put(exc)

    thread = threading.Thread(target=run, name="local-bybit", daemon=True)
    thread.start()
    first = started.get(timeout=WAIT_S)
    if isinstance(first, BaseException):
        raise first
    try:
        yield first
    finally:
        if thread.is_alive():
            first.call(first.done.set)
        thread.join(WAIT_S)
        assert not thread.is_alive(), "the local venue did not stop"
        if failures:
            raise failures[0]
