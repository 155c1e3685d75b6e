"""SimVenue through the Venue interface: streaming, orders, pace and reproducibility."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from asnd.core.agent_market import Genome, SimConfig
from asnd.venues.base import NeedsHumanError, RetryableVenueError, Venue
from asnd.venues.sim import SimVenue
from asnd.venues.sim.venue import REJECT_REDUCE_ONLY
from journal.codec import encode
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Event,
    FeedConnected,
    Fill,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    Trade,
)
from journal.writer import JournalWriter


def intent(  # noqa: PLR0917 - reads like the order it builds
    link: str,
    side: int,
    order_type: str,
    tif: str,
    price: int,
    qty: int,
    *,
    reduce_only: bool = False,
) -> OrderIntent:
    return OrderIntent(0, 0, 1, "SIMUSDT", link, side, order_type, tif, price, qty,
                       reduce_only, 0)  # fmt: skip


async def collect_fast(seed: int, steps: int) -> list[Event]:
    venue = SimVenue(seed=seed, pace="fast", max_steps=steps)
    send, recv = trio.open_memory_channel[Event](64)
    out: list[Event] = []
    async with trio.open_nursery() as nursery:

        async def drain() -> None:
            async for ev in recv:
                out.append(ev)

        nursery.start_soon(drain)
        async with send:
            await venue.run(send)
    return out


async def test_fast_runs_with_the_same_seed_give_identical_journals() -> None:
    with trio.fail_after(30):
        a = await collect_fast(5, 200)
        b = await collect_fast(5, 200)
    assert b"".join(map(encode, a)) == b"".join(map(encode, b))
    assert [type(e) for e in a[:3]] == [FeedConnected, FeedConnected, BookSnapshot]
    assert any(isinstance(e, Trade) for e in a)
    deltas = [e.update_id for e in a if isinstance(e, BookDelta)]
    assert deltas == list(range(2, 2 + len(deltas)))


async def test_two_seeded_runs_write_byte_identical_journals(tmp_path: Path) -> None:
    journals = []
    for name in ("a", "b"):
        with trio.fail_after(30):
            events = await collect_fast(9, 150)
        # A fixed header clock: the segment header is the only wall-clock field on disk.
        with JournalWriter.open(tmp_path / name, fsync=False, clock_ns=lambda: 0) as journal:
            for ev in events:
                journal.append(ev)
        files = sorted((tmp_path / name).glob("*"))
        journals.append({f.name: f.read_bytes() for f in files if f.name != "LOCK"})
    assert journals[0] == journals[1]
    assert sum(map(len, journals[0].values())) > 10_000


async def test_orders_round_trip_through_the_venue_interface() -> None:
    venue: Venue = SimVenue(seed=1, pace="fast")
    send, recv = trio.open_memory_channel[Event](10_000)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run, send)
            (info,) = await venue.instruments(["SIMUSDT"])
            assert (info.tick_size, info.lot_size) == ("0.0001", "1")
            # Let the market run a little and learn the touch from the stream.
            seen: list[Event] = []
            while len([e for e in seen if isinstance(e, BookDelta)]) < 20:
                seen.append(await recv.receive())
            rest = await venue.place(intent("rest-1", BUY, "limit", "PostOnly", 19_000, 3))
            assert isinstance(rest, OrderAccepted)
            assert await venue.place(intent("rest-1", BUY, "limit", "PostOnly", 19_000, 3)) == rest
            taker = await venue.place(intent("take-1", SELL, "market", "IOC", 0, 4))
            assert isinstance(taker, OrderAccepted)
            bad = await venue.place(intent("bad-1", BUY, "limit", "GTC", 19_000, 0))
            assert isinstance(bad, OrderRejected)

            status = await venue.lookup("SIMUSDT", "take-1")
            assert (status.status, status.filled_lots, status.leaves_lots) == ("filled", 4, 0)
            open_orders, positions = await venue.reconcile(["SIMUSDT"])
            assert [o.link_id for o in open_orders] == ["rest-1"]
            assert positions[0].position_lots == -4
            assert positions[0].avg_price_ticks > 0

            # Reduce-only: cannot grow the short, and is cut to the 4 lots it can close.
            grow = await venue.place(intent("ro-1", SELL, "market", "IOC", 0, 1, reduce_only=True))
            assert isinstance(grow, OrderRejected)
            assert grow.code == REJECT_REDUCE_ONLY
            close = await venue.place(intent("ro-2", BUY, "market", "IOC", 0, 9, reduce_only=True))
            assert isinstance(close, OrderAccepted)
            assert (await venue.lookup("SIMUSDT", "ro-2")).filled_lots == 4
            _, positions = await venue.reconcile(["SIMUSDT"])
            assert positions[0].position_lots == 0

            cancelled = await venue.cancel("SIMUSDT", "rest-1")
            assert isinstance(cancelled, OrderCancelled)
            again = await venue.cancel("SIMUSDT", "rest-1")
            assert isinstance(again, OrderReconciled)
            assert again.status == "cancelled"
            unknown = await venue.cancel("SIMUSDT", "never")
            assert isinstance(unknown, OrderReconciled)
            assert unknown.status == "not_found"
            nursery.cancel_scope.cancel()
    fills = []
    while True:
        try:
            ev = recv.receive_nowait()
        except trio.WouldBlock:
            break
        if isinstance(ev, Fill):
            fills.append(ev)
    assert sum(f.qty_lots for f in fills if f.link_id == "take-1") == 4


async def test_wall_pace_steps_with_trio_time(autojump_clock: trio.testing.MockClock) -> None:
    venue = SimVenue((SimConfig(step_ns=250_000_000),), Genome(), seed=2, pace="wall",
                     wall_ns=lambda: int(trio.current_time() * 1e9), max_steps=8)  # fmt: skip
    send, recv = trio.open_memory_channel[Event](10_000)
    start = trio.current_time()
    with trio.fail_after(60):
        await venue.run(send)
    assert trio.current_time() - start == 8 * 0.25
    stamps = []
    while True:
        try:
            ev = recv.receive_nowait()
        except trio.WouldBlock:
            break
        if isinstance(ev, BookSnapshot | BookDelta):
            stamps.append(ev.ts_local_ns)
    assert stamps[0] == int(start * 1e9)
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] >= 6 * 250_000_000


async def test_requests_fail_clearly() -> None:
    venue = SimVenue(seed=1, pace="fast")
    with pytest.raises(RetryableVenueError, match="not running"):
        await venue.place(intent("x", BUY, "limit", "GTC", 100, 1))
    with pytest.raises(NeedsHumanError, match="BTCUSDT"):
        await venue.instruments(["BTCUSDT"])


async def test_the_default_configs_symbols_trade_on_their_own_grids() -> None:
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "NEWUSDT"]
    venue = SimVenue.for_symbols(symbols, seed=3, pace="fast", max_steps=30)
    infos = await venue.instruments(symbols)
    assert (infos[0].symbol, infos[0].tick_size) == ("BTCUSDT", "0.1")
    assert infos[-1].lot_size == "1"
    send, recv = trio.open_memory_channel[Event](100_000)
    with trio.fail_after(30):
        await venue.run(send)
    snapshots = []
    while True:
        try:
            ev = recv.receive_nowait()
        except trio.WouldBlock:
            break
        if isinstance(ev, BookSnapshot):
            snapshots.append(ev)
    assert [s.symbol for s in snapshots] == symbols
    btc = snapshots[0]
    assert 590_000 < btc.bid_ticks[0] < btc.ask_ticks[0] < 610_000


async def test_two_symbols_orders_with_the_same_id_stay_apart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Each market numbers its orders from 1: cancelling BTC's order "1000" must not touch
    DOGE's order "1000", whose fills and state the venue keeps tracking (issue 14)."""
    configs = (SimConfig("BTCUSDT", step_ns=10**9), SimConfig("DOGEUSDT", step_ns=10**9))
    venue = SimVenue(configs, Genome(), seed=4, pace="wall",
                     wall_ns=lambda: int(trio.current_time() * 1e9))  # fmt: skip
    send, recv = trio.open_memory_channel[Event](100_000)
    events: list[Event] = []

    def drain() -> None:
        while True:
            try:
                events.append(recv.receive_nowait())
            except trio.WouldBlock:
                return

    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run, send)
            while sum(isinstance(e, BookSnapshot) for e in events) < 2:
                await trio.lowlevel.checkpoint()  # step 1 builds both books; step 2 is 1 s away
                drain()
            for market in venue._markets.values():  # force the collision the daemon hit by chance
                market._next_order_id = 1000
            orders = {}
            for symbol in ("BTCUSDT", "DOGEUSDT"):
                best_bid = venue._markets[symbol].engine.best_bid
                assert best_bid is not None
                order = OrderIntent(0, 0, 1, symbol, f"{symbol}-rest", BUY, "limit", "GTC",
                                    best_bid[0], 5, False, 0)  # fmt: skip
                orders[symbol] = await venue.place(order)
            btc, doge = orders["BTCUSDT"], orders["DOGEUSDT"]
            assert isinstance(btc, OrderAccepted)
            assert isinstance(doge, OrderAccepted)
            assert btc.venue_order_id == doge.venue_order_id == "1000"

            assert isinstance(await venue.cancel("BTCUSDT", "BTCUSDT-rest"), OrderCancelled)
            assert (await venue.lookup("BTCUSDT", "BTCUSDT-rest")).status == "cancelled"
            assert (await venue.lookup("DOGEUSDT", "DOGEUSDT-rest")).status == "open"
            # Another symbol's order is not found, as on Bybit.
            assert (await venue.lookup("BTCUSDT", "DOGEUSDT-rest")).status == "not_found"
            open_orders, _ = await venue.reconcile(["BTCUSDT", "DOGEUSDT"])
            assert [o.link_id for o in open_orders] == ["DOGEUSDT-rest"]

            while not any(isinstance(e, Fill) and e.link_id == "DOGEUSDT-rest" for e in events):
                await trio.sleep(1)  # agents trade; DOGE's resting bid is hit in time
                drain()
            _, positions = await venue.reconcile(["BTCUSDT", "DOGEUSDT"])
            nursery.cancel_scope.cancel()
    drain()
    doge_fills = [e for e in events if isinstance(e, Fill) and e.link_id == "DOGEUSDT-rest"]
    assert [p.position_lots for p in positions] == [0, sum(f.qty_lots for f in doge_fills)]
    cancelled = [e for e in events if isinstance(e, OrderCancelled)]
    assert all(e.link_id != "DOGEUSDT-rest" for e in cancelled)


async def _our_exec_ids(start_ns: int) -> dict[str, list[str]]:
    """Exec ids of one market IOC of ours on each of two symbols, on a fresh fast venue."""
    symbols = ["BTCUSDT", "DOGEUSDT"]
    venue = SimVenue.for_symbols(symbols, seed=8, pace="fast", start_ns=start_ns)
    send, recv = trio.open_memory_channel[Event](100_000)
    seen: list[Event] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run, send)
            while sum(isinstance(e, BookDelta) for e in seen) < 20:
                seen.append(await recv.receive())
            for symbol in symbols:
                order = OrderIntent(0, 0, 1, symbol, f"{symbol}-take", BUY, "market", "IOC", 0,
                                    1, False, 0)  # fmt: skip
                assert isinstance(await venue.place(order), OrderAccepted)
            nursery.cancel_scope.cancel()
    while True:
        try:
            seen.append(recv.receive_nowait())
        except trio.WouldBlock:
            break
    return {s: [e.exec_id for e in seen if isinstance(e, Fill) and e.symbol == s] for s in symbols}


async def test_exec_ids_are_unique_across_symbols_and_restarted_venues() -> None:
    """Each market counts executions from 1, and a restarted daemon builds a new venue; the
    journal drops a fill whose exec id it has seen, so ids must never repeat."""
    first = await _our_exec_ids(1_700_000_000_000_000_000)
    again = await _our_exec_ids(1_700_000_000_000_000_000)
    later = await _our_exec_ids(1_700_000_000_500_000_000)
    assert first == again, "a fast run is reproducible"
    btc, doge = first["BTCUSDT"], first["DOGEUSDT"]
    assert btc
    assert doge
    assert not set(btc) & set(doge)
    assert all(e.startswith("BTCUSDT-") for e in btc)
    assert not set(btc + doge) & set(later["BTCUSDT"] + later["DOGEUSDT"])
