"""The parts a state snapshot stores: books, feature windows, slot configuration checks."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from asnd.core.kernel import MarketKernel
from asnd.core.kernel.views import BookView, export_windows, load_windows, restore_book
from asnd.core.slot import SlotConfig
from asnd.core.watchtower import RiskLimits
from journal.events import BookDelta, BookSnapshot, Event, Trade

from .scenario import synthetic_market

SYM = "XRPUSDT"


def fold(kernel: MarketKernel, event: Event) -> tuple[float, ...] | None:
    if isinstance(event, BookSnapshot | BookDelta | Trade) and event.symbol == SYM:
        return kernel.fold_event(event)
    return None


def test_a_book_and_its_feature_windows_restored_mid_stream_continue_identically() -> None:
    events: list[Event] = list(synthetic_market(11, 120))
    live = MarketKernel()
    live_book = BookView(live, SYM)
    for event in events[:70]:
        fold(live, event)
    bids, asks = live_book.levels()
    copy = MarketKernel()
    copy.add_symbol("OTHER")  # a different symbol id: the restore goes by name
    restore_book(copy, SYM, live_book.update_id, bids, asks, None)
    load_windows(copy, SYM, export_windows(live, SYM))
    assert BookView(copy, SYM).levels() == live_book.levels()
    assert export_windows(copy, SYM) == export_windows(live, SYM)
    rows = 0
    for event in events[70:]:
        row = fold(copy, event)
        assert row == fold(live, event)
        rows += row is not None
    assert rows > 10


def test_a_deep_book_is_restored_beyond_the_kernels_level_capacity() -> None:
    kernel = MarketKernel(levels=4)
    bids = [(p, 1) for p in range(1, 11)]
    asks = [(p, 2) for p in range(20, 31)]
    restore_book(kernel, SYM, 5, bids, asks, None)
    book = BookView(kernel, SYM)
    assert book.levels() == (bids, asks)
    assert (book.best_bid, book.best_ask, book.depth) == ((10, 1), (20, 2), (10, 11))
    assert [book.bid_size_at(3), book.ask_size_at(25), book.ask_size_at(31)] == [1, 2, 0]


def test_a_stale_book_is_restored_stale_with_its_reason() -> None:
    kernel = MarketKernel()
    restore_book(kernel, SYM, 9, [(1, 2)], [(3, 4)], "gap: expected u=10, got u=12")
    book = BookView(kernel, SYM)
    assert book.stale
    assert book.stale_reason == "gap: expected u=10, got u=12"
    assert book.best_bid == (1, 2)


def test_stored_levels_without_size_are_refused() -> None:
    with pytest.raises(ValueError, match="size <= 0"):
        restore_book(MarketKernel(), SYM, 1, [(1, 0)], [], None)


def test_feature_windows_longer_than_the_configuration_are_refused() -> None:
    kernel = MarketKernel()
    windows = export_windows(kernel, SYM)
    windows.rows = [(0, 1, 0)] * 21  # the default book window is 20
    with pytest.raises(ValueError, match="longer"):
        load_windows(kernel, SYM, windows)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_qty": "x", "max_qty": "1"}, "decimals"),
        ({"min_qty": "2", "max_qty": "1"}, "min_qty <= max_qty"),
        ({"min_qty": "0", "max_qty": "0"}, "max_qty > 0"),
        ({"min_qty": "1", "max_qty": "1", "leverage": 0}, "leverage"),
        ({"min_qty": "1", "max_qty": "1", "capital_e8": 0}, "capital"),
        ({"min_qty": "1", "max_qty": "1", "order_style": "yolo"}, "order_style"),
    ],
)
def test_slot_configuration_errors_name_the_problem(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SlotConfig("XRPUSDT", **kwargs)  # type: ignore[arg-type]


def test_configuration_from_the_daemon_configs_decimals() -> None:
    slot = SlotConfig.from_decimals(
        "BTCUSDT",
        capital=Decimal("200.5"),
        min_qty=Decimal("1E-3"),
        max_qty=Decimal("0.005"),
        leverage=Decimal("2.5"),
    )
    assert slot == SlotConfig("BTCUSDT", "0.001", "0.005", 20_050_000_000, Fraction(5, 2))
    with pytest.raises(ValueError, match="8 decimals"):
        SlotConfig.from_decimals(
            "X", capital=Decimal("0.000000001"), min_qty=Decimal(1), max_qty=Decimal(1)
        )
    limits = RiskLimits.from_decimals(max_notional=Decimal("1000.5"), max_open_orders=4)
    assert limits == RiskLimits(100_050_000_000, 4)
