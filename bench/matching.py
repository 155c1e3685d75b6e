"""Matching-engine, L2-replay and book-maintenance speed, as JSON lines on stdout.

Measurements (all in one run, each line: name, value, unit, reference, reference_value,
ratio, peak_rss_kb, plus details):

1. ``engine_ops_per_s``: ``MatchingEngine`` on a seeded realistic mix (60% limit adds near
   the touch, 30% cancels of live orders, 10% marketable), generated against a live engine
   so that the book holds steady at about ``BOOK_ORDERS`` resting orders, as a real book
   does. Reference: the bare per-operation cost of pure Python (a loop doing one dict
   insert or pop per operation), which bounds what any pure-Python engine can reach.
2. ``l2_replay_events_per_s``: ``L2Replay`` on a long Bybit-shaped stream that starts from
   the real XRPUSDT snapshot (``../shared/data/bybit/xrpusdt-ob500.data.zip``, first line)
   and continues with seeded synthetic deltas and trades, while our orders rest near the
   touch and are replaced. Reference: the market kernel's book alone (``MarketKernel``)
   folding the same stream.
3. ``book_maintenance_msgs_per_s``: fold each delta into the market kernel (one call per
   event, ``MarketKernel.fold_one``, as the daemon does), then read best bid/ask
   and the top-5 sizes per side. Reference: the ``order-book`` C library (PyPI) doing the
   same on the same messages.

Run: ``python -m bench.matching`` (``make bench``). Set ``ASN_SHARED_DATA`` if the shared
data folder does not sit beside the checkout.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from order_book import OrderBook

from asnd.core.kernel import MarketKernel
from asnd.core.kernel.views import BookView
from asnd.core.l2replay import WORST_CASE, ConstantLatency, L2Replay
from asnd.core.matching import MatchingEngine
from bench._common import emit as emit_line
from journal.bybit_archive import read_archive
from journal.codec import encode
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    OrderCancelled,
    Trade,
)

ENGINE_OPS = 1_000_000
BOOK_ORDERS = 2_000  # resting orders the engine mix keeps in the book
STREAM_DELTAS = 150_000
REPEATS = 3  # best of, to damp noise from other processes
# Timings are CPU time of this process (time.process_time): on a shared 2-core machine wall
# time mostly measures the neighbours.


def shared_data() -> Path:
    """``$ASN_SHARED_DATA``, else ``<repo>/../shared/data``, else (from a nested git
    worktree) ``<repo>/../../shared/data``."""
    env = os.environ.get("ASN_SHARED_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    beside = repo.parent / "shared" / "data"
    return beside if beside.is_dir() else repo.parent.parent / "shared" / "data"


def emit(
    name: str, value: float, unit: str, reference: str, ref_value: float, **extra: object
) -> None:
    emit_line("matching", name, value=round(value, 1), unit=unit, reference=reference,
              reference_value=round(ref_value, 1),
              ratio=round(value / ref_value, 3) if ref_value else None,
              timing="best-of-3 CPU time", **extra)  # fmt: skip


def best_of(fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(REPEATS))


# ----------------------------------------------------------------------------- engine


def engine_mix(n: int, seed: int) -> list[tuple[int, ...]]:
    """(0, id, owner, side, price, qty) orders and (1, id, 0, 0, 0, 0) cancels, made against a live
    engine so that adds really rest near the touch, marketables really cross and cancels
    name live orders."""
    rng = random.Random(seed)
    shadow = MatchingEngine("MIX")
    ops: list[tuple[int, ...]] = []
    live: list[int] = []
    where: dict[int, int] = {}  # order id -> index in live
    oid = 0

    def drop(i: int) -> None:
        j = where.pop(i)
        last = live.pop()
        if last != i:
            live[j] = last
            where[last] = j

    for _ in range(n):
        x = rng.random()
        bid, ask = shadow.best_bid, shadow.best_ask
        bb = bid[0] if bid else (ask[0] - 2 if ask else 100_000)
        ba = ask[0] if ask else bb + 2
        side = BUY if rng.random() < 0.5 else SELL
        if x < 0.3 and live:
            i = live[rng.randrange(len(live))]
            op: tuple[int, ...] = (1, i, 0, 0, 0, 0)  # same width as an order: cheap unpacking
        elif x < 0.4:
            oid += 1
            # Takers eat more when the book is deep, so that adds balance cancels plus fills
            # and the book holds about BOOK_ORDERS orders instead of growing without end.
            big = len(live) > BOOK_ORDERS
            op = (0, oid, rng.randrange(64), side, ba + 2 if side == BUY else bb - 2,
                  rng.randint(20, 60) if big else rng.randint(1, 20))  # fmt: skip
        else:
            oid += 1
            off = int(rng.expovariate(0.4)) - (1 if ba - bb > 1 and rng.random() < 0.2 else 0)
            px = min(bb - off, ba - 1) if side == BUY else max(ba + off, bb + 1)
            op = (0, oid, rng.randrange(64), side, px, rng.randint(1, 20))
        ops.append(op)
        if op[0]:
            out = shadow.cancel(0, op[1])
            drop(op[1])
        else:
            out = shadow.submit(0, op[1], op[2], "", op[3], op[4], op[5])
            if shadow.order(op[1]) is not None:
                where[op[1]] = len(live)
                live.append(op[1])
        for ev in out:
            if isinstance(ev, Fill | OrderCancelled):
                done = ev.leaves_lots == 0 if isinstance(ev, Fill) else True
                if done and int(ev.venue_order_id) in where:
                    drop(int(ev.venue_order_id))
    return ops


def run_engine(ops: list[tuple[int, ...]]) -> float:
    engine = MatchingEngine("BENCH")
    submit, cancel = engine.submit, engine.cancel
    t0 = time.process_time()
    ts = 0
    for kind, oid, owner, side, price, qty in ops:
        if kind:
            cancel(ts, oid)
        else:
            submit(ts, oid, owner, "", side, price, qty)
        ts += 1000
    return time.process_time() - t0


def run_floor(ops: list[tuple[int, ...]]) -> float:
    store: dict[int, tuple[int, ...]] = {}
    t0 = time.process_time()
    for op in ops:
        kind, oid, _, _, _, _ = op
        if kind:
            store.pop(oid, None)
        else:
            store[oid] = op
    return time.process_time() - t0


def bench_engine() -> None:
    ops = engine_mix(ENGINE_OPS, seed=7)
    engine_s = best_of(lambda: run_engine(ops))
    floor_s = best_of(lambda: run_floor(ops))
    emit("engine_ops_per_s", len(ops) / engine_s, "ops/s",
         "pure-Python floor: one dict insert/pop per op", len(ops) / floor_s,
         goal=1_000_000, ops=len(ops), book_orders=BOOK_ORDERS,
         mix="60% adds near the touch, 30% cancels, 10% marketable")  # fmt: skip


# ----------------------------------------------------------------------------- stream


def real_snapshot() -> BookSnapshot:
    """The first message of the real XRPUSDT archive (a 500 x 500 snapshot)."""
    path = shared_data() / "bybit" / "xrpusdt-ob500.data.zip"
    if not path.exists():
        sys.exit(f"bench/matching.py: {path} not found (set ASN_SHARED_DATA)")
    for event in read_archive(path):
        if isinstance(event, BookSnapshot):
            return event
    sys.exit(f"bench/matching.py: no snapshot in {path}")


def synthetic_stream(snap: BookSnapshot, n: int, seed: int) -> list[Event]:
    """Deltas with contiguous update ids (10-35 levels each, mostly near the touch, about
    15% deletions), a trade every few deltas, and the touch wandering; never crossed."""
    rng = random.Random(seed)
    bids = dict(zip(snap.bid_ticks, snap.bid_lots, strict=True))
    asks = dict(zip(snap.ask_ticks, snap.ask_lots, strict=True))
    u, ts, ms = snap.update_id, snap.ts_local_ns, snap.venue_ts_ms
    out: list[Event] = [snap]
    for i in range(n):
        u += 1
        ts += 20_000_000
        ms += 20
        bb, ba = max(bids), min(asks)
        ch_b: dict[int, int] = {}
        ch_a: dict[int, int] = {}
        r = rng.random()
        if r < 0.04 and len(asks) > 50:  # the best ask is taken
            ch_a[ba] = 0
            out.append(Trade(0, ts, snap.symbol, f"s{i}", BUY, ba, asks[ba], ms))
        elif r < 0.08 and len(bids) > 50:
            ch_b[bb] = 0
            out.append(Trade(0, ts, snap.symbol, f"s{i}", SELL, bb, bids[bb], ms))
        elif r < 0.12 and ba - bb > 1:  # a new level inside the spread
            if rng.random() < 0.5:
                ch_b[bb + 1] = rng.randint(1, 5000)
            else:
                ch_a[ba - 1] = rng.randint(1, 5000)
        elif r < 0.35:  # a partial fill at the touch
            side = rng.choice((BUY, SELL))
            book, px = (asks, ba) if side == BUY else (bids, bb)
            q = rng.randint(1, max(1, book[px] // 2))
            out.append(Trade(0, ts, snap.symbol, f"s{i}", side, px, q, ms))
            (ch_a if side == BUY else ch_b)[px] = book[px] - q
        for _ in range(rng.randint(10, 35)):
            off = int(rng.expovariate(0.08))
            if rng.random() < 0.5:
                p = bb - off
                if p in ch_b or p <= 0:
                    continue
                delete = p in bids and p != bb and rng.random() < 0.15
                ch_b[p] = 0 if delete else rng.randint(1, 60_000)
            else:
                p = ba + off
                if p in ch_a:
                    continue
                delete = p in asks and p != ba and rng.random() < 0.15
                ch_a[p] = 0 if delete else rng.randint(1, 60_000)
        for p, q in ch_b.items():
            if q:
                bids[p] = q
            else:
                bids.pop(p, None)
        for p, q in ch_a.items():
            if q:
                asks[p] = q
            else:
                asks.pop(p, None)
        bs = sorted(ch_b.items(), reverse=True)
        as_ = sorted(ch_a.items())
        out.append(BookDelta(0, ts, snap.symbol, u, snap.venue_seq + i + 1, ms, ms,
                             [p for p, _ in bs], [q for _, q in bs],
                             [p for p, _ in as_], [q for _, q in as_]))  # fmt: skip
    return out


# ----------------------------------------------------------------------------- book


def run_kernel_book(deltas: list[BookDelta], snap: BookSnapshot) -> float:
    kernel = MarketKernel()
    book = BookView(kernel, snap.symbol)
    kernel.fold_one(encode(snap))
    fold = kernel.fold_one
    payloads = [encode(d) for d in deltas]  # the journal's bytes, as the live core has them
    t0 = time.process_time()
    for payload in payloads:
        fold(payload)
        book.best_bid  # noqa: B018 - the read is what is measured
        book.best_ask  # noqa: B018
        book.bids(5)
        book.asks(5)
    elapsed = time.process_time() - t0
    if book.stale:
        sys.exit(f"bench/matching.py: the kernel's book went stale: {book.stale_reason}")
    return elapsed


def run_order_book(deltas: list[BookDelta], snap: BookSnapshot) -> float:
    ob = OrderBook()
    bids, asks = ob.bids, ob.asks
    for p, q in zip(snap.bid_ticks, snap.bid_lots, strict=True):
        bids[p] = q
    for p, q in zip(snap.ask_ticks, snap.ask_lots, strict=True):
        asks[p] = q
    t0 = time.process_time()
    for d in deltas:
        for p, q in zip(d.bid_ticks, d.bid_lots, strict=True):
            if q:
                bids[p] = q
            else:
                del bids[p]
        for p, q in zip(d.ask_ticks, d.ask_lots, strict=True):
            if q:
                asks[p] = q
            else:
                del asks[p]
        bids.index(0)  # best bid, then the top-5 sizes per side (the same reads as the kernel's)
        asks.index(0)
        [bids.index(i) for i in range(min(5, len(bids)))]
        [asks.index(i) for i in range(min(5, len(asks)))]
    return time.process_time() - t0


def check_same_top(deltas: list[BookDelta], snap: BookSnapshot) -> None:
    """Both books must agree, or the race is meaningless."""
    kernel = MarketKernel()
    book = BookView(kernel, snap.symbol)
    kernel.fold_one(encode(snap))
    ob = OrderBook()
    for p, q in zip(snap.bid_ticks, snap.bid_lots, strict=True):
        ob.bids[p] = q
    for p, q in zip(snap.ask_ticks, snap.ask_lots, strict=True):
        ob.asks[p] = q
    for d in deltas:
        kernel.fold_one(encode(d))
        for p, q in zip(d.bid_ticks, d.bid_lots, strict=True):
            if q:
                ob.bids[p] = q
            else:
                del ob.bids[p]
        for p, q in zip(d.ask_ticks, d.ask_lots, strict=True):
            if q:
                ob.asks[p] = q
            else:
                del ob.asks[p]
    theirs = [ob.bids.index(i) for i in range(5)], [ob.asks.index(i) for i in range(5)]
    if (book.bids(5), book.asks(5)) != (
        [tuple(x) for x in theirs[0]],
        [tuple(x) for x in theirs[1]],
    ):
        sys.exit("bench/matching.py: the kernel and order-book disagree on the final top 5")


def bench_book(stream: list[Event]) -> None:
    snap = stream[0]
    assert isinstance(snap, BookSnapshot)
    deltas = [e for e in stream if isinstance(e, BookDelta)]
    check_same_top(deltas, snap)
    ours = best_of(lambda: run_kernel_book(deltas, snap))
    theirs = best_of(lambda: run_order_book(deltas, snap))
    levels = sum(len(d.bid_ticks) + len(d.ask_ticks) for d in deltas)
    emit("book_maintenance_msgs_per_s", len(deltas) / ours, "msgs/s",
         "order-book (C, PyPI) on the same messages", len(deltas) / theirs,
         messages=len(deltas), level_updates=levels,
         reads="best bid/ask + top-5 sizes per side after each delta")  # fmt: skip


# ----------------------------------------------------------------------------- replay


def run_replay(stream: list[Event]) -> float:
    replay = L2Replay(stream[0].symbol if isinstance(stream[0], BookSnapshot) else "",
                      queue=WORST_CASE, latency=ConstantLatency(5_000_000))  # fmt: skip
    on_market = replay.on_market
    oid = 0
    t0 = time.process_time()
    for i, ev in enumerate(stream):
        on_market(ev)
        if i % 50 == 0:  # a strategy re-quoting around the touch every ~50 events
            bid = replay.book.best_bid
            ask = replay.book.best_ask
            if bid is not None and ask is not None:
                if oid:
                    replay.cancel(ev.ts_local_ns, oid - 1)
                    replay.cancel(ev.ts_local_ns, oid)
                oid += 2
                replay.submit(ev.ts_local_ns, oid - 1, 0, "b", BUY, bid[0], 100)
                replay.submit(ev.ts_local_ns, oid, 0, "a", SELL, ask[0], 100)
    return time.process_time() - t0


def run_replay_reference(stream: list[Event]) -> float:
    kernel = MarketKernel()
    t0 = time.process_time()
    for ev in stream:
        if isinstance(ev, BookSnapshot | BookDelta):
            kernel.fold_event(ev)
    return time.process_time() - t0


def bench_replay(stream: list[Event]) -> None:
    ours = best_of(lambda: run_replay(stream))
    ref = best_of(lambda: run_replay_reference(stream))
    emit("l2_replay_events_per_s", len(stream) / ours, "events/s",
         "the kernel's book alone on the same stream", len(stream) / ref,
         events=len(stream), trades=sum(isinstance(e, Trade) for e in stream),
         orders="2 resting orders re-quoted every 50 events, 5 ms latency")  # fmt: skip


def main() -> None:
    t0 = time.perf_counter()
    bench_engine()
    stream = synthetic_stream(real_snapshot(), STREAM_DELTAS, seed=11)
    bench_replay(stream)
    bench_book(stream)
    emit_line("matching", "bench_wall_s", value=round(time.perf_counter() - t0, 1), unit="s")


if __name__ == "__main__":
    main()
