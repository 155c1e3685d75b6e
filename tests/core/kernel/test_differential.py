"""Kernel rows (top-5 book, eight features, verdict, stale/valid flags) are bit-identical to
today's Python ``L2Book``/``FeatureEngine`` on real and generated streams.

Binance feeds (``shared/data/binance``) are not covered yet: their importer does not exist.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings

from asnd.core.features import FeatureConfig
from asnd.core.kernel import MarketKernel, Verdict
from asnd.core.kernel.layout import O_VALID, O_VERDICT
from bench.matching import synthetic_stream
from journal.blocks import JournalBlocks
from journal.bybit_archive import read_archive
from journal.events import BookDelta, BookSnapshot, Event, Signal, TimerFired
from journal.reader import JournalReader
from journal.writer import JournalWriter
from tests.core.kernel.reference import AllRows, assert_same, assert_same_rows, python_rows
from tests.core.kernel.streams import book_streams, lobster_l2


def test_real_bybit_archive(bybit_archive: Path) -> None:
    events = list(read_archive(bybit_archive))
    kernel = assert_same(events)
    assert kernel.stale("XRPUSDT") is False
    # The archive's documented end state (shared/data/README.md).
    bids, asks = kernel.levels("XRPUSDT")
    assert (len(bids), len(asks)) == (500, 500)
    assert kernel.update_id("XRPUSDT") == 20254918


def test_lobster_level_10_as_l2_deltas(shared_data: Path) -> None:
    base = shared_data / "lobster" / "AAPL_2012-06-21_34200000_57600000"
    if not Path(f"{base}_orderbook_10.csv").is_file():
        pytest.skip(f"{base}_orderbook_10.csv not found")
    events = lobster_l2(base)
    assert len(events) > 1000
    assert_same(events, levels=4)  # the books outgrow 4 levels: growth is exercised too


@settings(max_examples=100, deadline=None)
@given(book_streams())
def test_generated_streams_with_gaps_crosses_and_resyncs(events: list[Event]) -> None:
    assert_same(events, levels=2, row_capacity=3)


@settings(max_examples=30, deadline=None)
@given(book_streams(max_events=40))
def test_other_window_sizes(events: list[Event]) -> None:
    assert_same(events, FeatureConfig(depth=2, book_window=3, trade_window=2))


def test_the_generated_streams_reach_every_verdict() -> None:
    """The strategy above is not vacuous: its streams make every verdict happen."""
    seen: set[int] = set()

    @settings(max_examples=80, deadline=None, database=None)
    @given(book_streams())
    def collect(events: list[Event]) -> None:
        ints, _, _ = python_rows(events)
        seen.update(int(v) for v in ints[:, O_VERDICT])

    collect()
    assert seen == {int(v) for v in Verdict}


def test_long_stream_through_a_real_journal(tmp_path: Path, bybit_archive: Path) -> None:
    """Bench-shaped stream with non-market records, over several segments and read blocks:
    ``JournalBlocks`` + kernel against ``JournalReader`` + ``FeatureEngine``."""
    snap = next(e for e in read_archive(bybit_archive) if isinstance(e, BookSnapshot))
    stream = synthetic_stream(snap, 3000, seed=5)
    mixed: list[Event] = []
    for i, e in enumerate(stream):
        mixed.append(e)
        if i % 97 == 0:
            mixed.append(TimerFired(0, e.ts_local_ns, "mark"))
            mixed.append(Signal(0, e.ts_local_ns, 0, "XRPUSDT", "s", 0.5, 1.0, i))
    with JournalWriter.open(tmp_path / "j", segment_bytes=100_000, fsync=False) as journal:
        for i, e in enumerate(mixed):
            journal.append(msgspec.structs.replace(e))
            if i % 500 == 499:
                # Rotation happens between batches; committing here makes the segment count
                # independent of how fast the machine is (a slow one made a single batch).
                journal.commit()
    assert len(list((tmp_path / "j").glob("*.seg"))) >= 2
    want = python_rows(JournalReader(tmp_path / "j").events())
    rows = AllRows()
    kernel = MarketKernel(sink=rows, row_capacity=1000)
    kernel.fold_blocks(JournalBlocks(tmp_path / "j", read_block=50_000).blocks())
    assert_same_rows(rows.arrays(), want[:2])
    book_events = sum(isinstance(e, BookSnapshot | BookDelta) for e in stream)
    assert int(rows.arrays()[0][:, O_VALID].sum()) == book_events  # never stale
    marks = len(range(0, len(stream), 97))
    assert (kernel.state.kinds[9], kernel.state.kinds[20]) == (marks, marks)  # skipped, counted
