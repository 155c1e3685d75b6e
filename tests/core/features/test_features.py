"""Features (the market kernel's): hand-checked values, and the live path (one kernel call per
event, ``MarketKernel.fold_event``) == the frames evolution reads (``frame_from_events``: the
kernel's loop over a block) on random and real event streams."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.features import FEATURE_NAMES, FeatureConfig, FeatureRow
from asnd.core.kernel import MarketKernel
from asnd.core.kernel.frame import frame_from_events
from journal.bybit_archive import read_archive
from journal.events import BUY, SELL, BookDelta, BookSnapshot, Event, InstrumentInfo, Trade
from journal.reader import JournalReader
from journal.writer import JournalWriter

SYM = "XRPUSDT"


def snapshot(u: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> BookSnapshot:
    return BookSnapshot(
        0, u, SYM, u, u, u, u, [p for p, _ in bids], [q for _, q in bids],
        [p for p, _ in asks], [q for _, q in asks],
    )  # fmt: skip


def delta(
    u: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], symbol: str = SYM
) -> BookDelta:
    return BookDelta(
        0, u, symbol, u, u, u, u, [p for p, _ in bids], [q for _, q in bids],
        [p for p, _ in asks], [q for _, q in asks],
    )  # fmt: skip


def trade(side: int, price: int, qty: int, symbol: str = SYM) -> Trade:
    return Trade(0, 0, symbol, "t", side, price, qty, 0)


def incremental(events: list[Event], config: FeatureConfig | None = None) -> list[FeatureRow]:
    """The rows of ``SYM``, one kernel call per event, as the daemon folds them."""
    kernel = MarketKernel(config)
    return [
        row
        for e in events
        if isinstance(e, BookSnapshot | BookDelta | Trade) and e.symbol == SYM
        if (row := kernel.fold_event(e)) is not None
    ]


def assert_identical(rows: list[FeatureRow], values: npt.NDArray[np.float64]) -> None:
    """Bit-for-bit equal (no NaN is ever produced by a feature)."""
    expected = np.array(rows, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
    assert values.shape == expected.shape
    assert not np.isnan(values).any()
    assert values.tobytes() == expected.tobytes()


BIDS = [(100, 10), (99, 20), (98, 5), (97, 1), (96, 1), (95, 100)]
ASKS = [(102, 30), (103, 10), (104, 1), (105, 1), (106, 1), (107, 100)]


def story() -> list[Event]:
    return [
        InstrumentInfo(0, 0, "bybit", SYM, "0.0001", "1"),
        snapshot(1, BIDS, ASKS),
        trade(BUY, 102, 4),
        trade(SELL, 100, 1),
        delta(2, [(100, 15)], [(102, 0)]),
        delta(4, [(101, 1)], []),  # gap: u 3 missing -> stale, no row
        trade(BUY, 150, 5),
        snapshot(10, BIDS, ASKS),
    ]


def test_hand_computed_values() -> None:
    rows = incremental(story())
    assert len(rows) == 3
    named = [dict(zip(FEATURE_NAMES, r, strict=True)) for r in rows]
    assert named[0] == {
        "imbalance": 10 / 40,
        "pressure": 37 / 80,
        "clv": 0.5,  # no trade yet
        "spread_ticks": 2.0,
        "microprice_dev_ticks": -0.5,  # microprice 100.5, mid 101
        "ofi": 0.0,
        "volatility_ticks": 0.0,
        "trade_flow": 0.0,
    }
    # After a 4-lot buy, a 1-lot sell at 100, bid 100 -> 15 lots and the 102 ask removed.
    assert named[1] == {
        "imbalance": 15 / 25,
        "pressure": 42 / 155,
        "clv": 0.0,  # last trade at the bid
        "spread_ticks": 3.0,
        "microprice_dev_ticks": 3 * (15 - 10) / (2 * 25),
        "ofi": (15 - 10 + 30) / (40 + 25),  # bid up 15, bid gone 10, ask retreated: +30
        "volatility_ticks": math.sqrt((0 + 1) / 2) * 0.5,  # mid moved half a tick once
        "trade_flow": (4 - 1) / 5,
    }
    # The snapshot after the gap starts a new run; the trade above the ask clips clv to 1.
    assert named[2]["ofi"] == 0.0
    assert named[2]["volatility_ticks"] == 0.0
    assert named[2]["clv"] == 1.0
    assert named[2]["trade_flow"] == (4 - 1 + 5) / 10


def test_clv_follows_the_last_trade_not_the_mid() -> None:
    values = []
    for price in (100, 101, 102, 90):
        rows = incremental([snapshot(1, BIDS, ASKS), trade(BUY, price, 1), delta(2, [], [])])
        values.append(rows[-1][FEATURE_NAMES.index("clv")])
    assert values == [0.0, 0.5, 1.0, 0.0]


def test_batch_matches_incremental_on_the_story() -> None:
    frame = frame_from_events(story())
    assert frame.symbol == SYM
    assert_identical(incremental(story()), frame.values)
    assert frame.mid_x2_ticks.tolist() == [202, 203, 202]
    assert frame.column("spread_ticks").tolist() == [2.0, 3.0, 2.0]


def test_one_sided_book_emits_no_row_and_ends_the_run() -> None:
    events: list[Event] = [
        snapshot(1, BIDS, ASKS),
        delta(2, [], [(p, 0) for p, _ in ASKS]),  # every ask deleted
        delta(3, [], [(103, 7)]),
    ]
    rows = incremental(events)
    assert len(rows) == 2
    assert rows[1][FEATURE_NAMES.index("ofi")] == 0.0  # new run: no flow across the hole
    assert_identical(rows, frame_from_events(events).values)


def test_window_sizes_are_configurable_and_validated() -> None:
    config = FeatureConfig(depth=1, book_window=1, trade_window=1)
    rows = incremental(story(), config)
    assert rows[0][FEATURE_NAMES.index("pressure")] == rows[0][FEATURE_NAMES.index("imbalance")]
    assert rows[1][FEATURE_NAMES.index("trade_flow")] == -1.0  # only the last (sell) trade
    assert rows[1][FEATURE_NAMES.index("ofi")] == 35 / 25
    assert_identical(rows, frame_from_events(story(), config=config).values)
    with pytest.raises(ValueError, match="book_window"):
        FeatureConfig(book_window=0)


def test_empty_stream_gives_an_empty_frame() -> None:
    frame = frame_from_events([], symbol=SYM)
    assert len(frame) == 0
    assert frame.values.shape == (0, len(FEATURE_NAMES))


# ------------------------------------------------------------------- random event streams

prices = st.integers(90, 110)
sizes = st.integers(0, 40)


@st.composite
def event_streams(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    u = 0
    for _ in range(draw(st.integers(1, 60))):
        kind = draw(
            st.sampled_from(["snapshot", "delta", "delta", "delta", "gap", "trade", "other"])
        )
        if kind == "snapshot":
            u += 1
            bid_px = draw(st.lists(st.integers(80, 100), unique=True, max_size=8))
            ask_px = draw(st.lists(st.integers(101, 120), unique=True, max_size=8))
            bids = [(p, draw(st.integers(1, 40))) for p in sorted(bid_px, reverse=True)]
            asks = [(p, draw(st.integers(1, 40))) for p in sorted(ask_px)]
            events.append(snapshot(u, bids, asks))
        elif kind in ("delta", "gap"):
            u += 1 if kind == "delta" else 2
            bids = draw(st.lists(st.tuples(prices, sizes), max_size=4, unique_by=lambda x: x[0]))
            asks = draw(st.lists(st.tuples(prices, sizes), max_size=4, unique_by=lambda x: x[0]))
            events.append(delta(u, bids, asks))
        elif kind == "trade":
            side = draw(st.sampled_from([BUY, SELL]))
            events.append(trade(side, draw(prices), draw(st.integers(1, 50))))
        else:
            events.append(delta(u + 1, [(100, 5)], [], symbol="BTCUSDT"))
            events.append(trade(BUY, 1, 1, symbol="BTCUSDT"))
    return events


@settings(max_examples=100, deadline=None)
@given(
    events=event_streams(),
    config=st.builds(FeatureConfig, st.integers(1, 6), st.integers(1, 8), st.integers(1, 8)),
)
def test_incremental_equals_batch_on_random_streams(
    events: list[Event], config: FeatureConfig
) -> None:
    frame = frame_from_events(events, symbol=SYM, config=config)
    assert_identical(incremental(events, config), frame.values)


# ----------------------------------------------------------------------- real Bybit data


def test_incremental_equals_batch_on_the_real_bybit_archive_replayed_from_a_journal(
    bybit_archive: Path, tmp_path: Path
) -> None:
    archive = bybit_archive
    with JournalWriter.open(tmp_path / "journal", fsync=False) as writer:
        for event in read_archive(archive):
            writer.append(event)
        writer.commit()
    reader = JournalReader(tmp_path / "journal")
    events = list(reader.events())
    assert reader.torn_tail is None
    assert len(events) == 51  # instrument info + 1 snapshot + 49 deltas

    frame = frame_from_events(reader.events())
    rows = incremental(events)
    assert len(rows) == 50  # one row per book event: the book never goes stale
    assert_identical(rows, frame.values)
    assert frame.seq.tolist() == [e.seq for e in events[1:]]

    # The archive's documented end state: best bid 1.9537 x 10605, best ask 1.9538 x 6702.
    last = dict(zip(FEATURE_NAMES, rows[-1], strict=True))
    assert last["spread_ticks"] == 1.0
    assert last["imbalance"] == 10605 / (10605 + 6702)
    assert last["clv"] == 0.5  # an order-book archive has no trades
    assert frame.mid_x2_ticks[-1] == 19537 + 19538
    # Real flow moves the book: the order-flow features are not constant.
    assert len(set(frame.column("ofi").tolist())) > 10
    assert frame.column("volatility_ticks").max() > 0.0
