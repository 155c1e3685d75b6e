"""Evolution's columns from the kernel equal ``compute_features``' (today's batch path), and
the rows of one fold are the rows of the per-event path: incremental = batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings

from asnd.core.features import FeatureConfig, FeatureFrame, forward_returns
from asnd.core.kernel import MarketKernel
from asnd.core.kernel.frame import frame_from_blocks, frame_from_events
from journal.blocks import JournalBlocks
from journal.bybit_archive import read_archive
from journal.codec import encode
from journal.events import Event
from journal.writer import JournalWriter
from tests.core.kernel.oracle import compute_features
from tests.core.kernel.reference import AllRows
from tests.core.kernel.streams import book_streams


def assert_frames_equal(got: FeatureFrame, want: FeatureFrame) -> None:
    assert got.symbol == want.symbol
    assert got.names == want.names
    assert np.array_equal(got.values.view(np.int64), want.values.view(np.int64))
    for name in ("mid_x2_ticks", "seq", "ts_local_ns", "venue_ts_ms"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


@settings(max_examples=60, deadline=None)
@given(book_streams())
def test_frame_equals_compute_features(events: list[Event]) -> None:
    config = FeatureConfig(book_window=4, trade_window=3)
    assert_frames_equal(
        frame_from_events(events, None, config), compute_features(events, None, config)
    )
    assert_frames_equal(frame_from_events(events, "ETHUSDT"), compute_features(events, "ETHUSDT"))


def test_frame_from_a_journal(tmp_path: Path, bybit_archive: Path) -> None:
    events = list(read_archive(bybit_archive))
    with JournalWriter.open(tmp_path / "j", fsync=False) as journal:
        for e in events:
            journal.append(e)
    frame = frame_from_blocks(JournalBlocks(tmp_path / "j").blocks())
    assert_frames_equal(frame, compute_features(events))
    assert np.isfinite(forward_returns(frame, 5)[:-5]).all()


@settings(max_examples=40, deadline=None)
@given(book_streams())
def test_one_event_per_call_gives_the_rows_of_one_fold(events: list[Event]) -> None:
    payloads = [encode(e) for e in events]
    batch, live = AllRows(), AllRows()
    MarketKernel(sink=batch).fold_payloads(payloads)
    kernel = MarketKernel(sink=live)
    for p in payloads:
        kernel.fold_payloads([p])
    (bi, bv), (li, lv) = batch.arrays(), live.arrays()
    assert np.array_equal(bi, li)
    assert np.array_equal(bv.view(np.int64), lv.view(np.int64))
