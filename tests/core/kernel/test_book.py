"""The kernel's L2 book for any depth and any number of symbols, against ``L2Book``.

Small on purpose: ``test_nojit`` also runs this file with ``NUMBA_DISABLE_JIT=1``."""

from __future__ import annotations

import random

from asnd.core.kernel.layout import O_VALID
from journal.codec import encode
from journal.events import BookDelta, BookSnapshot, Event, Trade
from tests.core.kernel.oracle import L2Book
from tests.core.kernel.reference import assert_same, kernel_rows


def deep_stream(symbol: str, levels: int, deltas: int, seed: int) -> list[Event]:
    """A ``levels``-deep book (Binance-like 5,000) and deltas anywhere in it."""
    rng = random.Random(seed)
    mid = 100_000
    bids = [mid - 1 - i for i in range(levels)]
    asks = [mid + 1 + i for i in range(levels)]
    events: list[Event] = [BookSnapshot(0, 1, symbol, 10, 0, 0, 0, bids,
                                        [rng.randint(1, 99) for _ in bids], asks,
                                        [rng.randint(1, 99) for _ in asks])]  # fmt: skip
    for u in range(11, 11 + deltas):
        b = [mid - rng.randint(1, levels + 50) for _ in range(rng.randint(0, 8))]
        a = [mid + rng.randint(1, levels + 50) for _ in range(rng.randint(0, 8))]
        events.append(BookDelta(0, u, symbol, u, 0, u, u, b, [rng.choice([0, 5]) for _ in b],
                                a, [rng.choice([0, 7]) for _ in a]))  # fmt: skip
        if u % 3 == 0:
            events.append(Trade(0, u, symbol, f"t{u}", 1, mid, 3, u))
    return events


def test_a_5000_level_book_grows_from_two_levels() -> None:
    kernel = assert_same(deep_stream("BTCUSDT", 5000, 200, seed=1), levels=2)
    bids, asks = kernel.levels("BTCUSDT")
    assert len(bids) > 4500
    assert len(asks) > 4500


def test_many_symbols_with_long_names_grow_the_symbol_table() -> None:
    streams = [deep_stream(f"SYMBOL-{i:02d}-" + "X" * i, 20, 30, seed=i) for i in range(12)]
    merged = [e for group in zip(*streams, strict=False) for e in group]
    kernel = assert_same(merged)
    assert len(kernel.symbols()) == 12


def test_unsorted_and_repeated_snapshot_levels_keep_the_last_positive_size() -> None:
    snap = BookSnapshot(0, 1, "X", 5, 0, 0, 0, [90, 99, 95, 99, 98], [1, 2, 3, 0, 4],
                        [101, 120, 101, 110], [5, 0, 6, 7])  # fmt: skip
    kernel = assert_same([snap])
    assert kernel.levels("X") == ([(90, 1), (95, 3), (98, 4), (99, 2)], [(101, 6), (110, 7)])


def test_marked_stale_from_outside_until_the_next_snapshot() -> None:
    snap = BookSnapshot(0, 1, "X", 5, 0, 0, 0, [99], [1], [101], [1])
    delta = BookDelta(0, 2, "X", 6, 0, 0, 0, [98], [3], [], [])
    ints, _, kernel = kernel_rows([snap])
    kernel.mark_stale("X", "feed reconnected")
    book = L2Book("X")
    book.apply(snap)
    book.mark_stale("feed reconnected")
    assert (kernel.stale("X"), kernel.stale_reason("X")) == (True, book.stale_reason)
    kernel.fold_payloads([encode(delta)])
    assert kernel.levels("X") == book.levels() == ([(99, 1)], [(101, 1)])  # ignored
    kernel.fold_payloads([encode(snap)])
    assert (kernel.stale("X"), kernel.stale_reason("X")) == (False, "")
    assert ints[0, O_VALID] == 1
