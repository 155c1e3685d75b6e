"""The parts a state snapshot stores: books, feature windows, slot configuration checks."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from asnd.core.book import L2Book
from asnd.core.features import FeatureEngine
from asnd.core.slot import SlotConfig
from asnd.core.watchtower import RiskLimits
from journal.events import Event

from .scenario import synthetic_market


def test_a_book_and_its_feature_windows_restored_mid_stream_continue_identically() -> None:
    events: list[Event] = list(synthetic_market(11, 120))
    live = FeatureEngine("XRPUSDT")
    for event in events[:70]:
        live.on_event(event)
    bids, asks = live.book.levels()
    copy = FeatureEngine("XRPUSDT")
    copy.book = L2Book.restore("XRPUSDT", live.book.update_id, bids, asks, None)
    copy.state.load(live.state.export())
    assert copy.book.levels() == live.book.levels()
    for event in events[70:]:
        assert copy.on_event(event) == live.on_event(event)


def test_a_stale_book_is_restored_stale_with_its_reason() -> None:
    book = L2Book.restore("XRPUSDT", 9, [(1, 2)], [(3, 4)], "gap: expected u=10, got u=12")
    assert book.stale
    assert book.stale_reason == "gap: expected u=10, got u=12"
    assert book.best_bid == (1, 2)


def test_stored_levels_without_size_are_refused() -> None:
    with pytest.raises(ValueError, match="size <= 0"):
        L2Book.restore("XRPUSDT", 1, [(1, 0)], [], None)


def test_feature_windows_longer_than_the_configuration_are_refused() -> None:
    engine = FeatureEngine("XRPUSDT")
    windows = engine.state.export()
    windows.rows = [(0, 1, 0)] * 21  # the default book window is 20
    with pytest.raises(ValueError, match="longer"):
        engine.state.load(windows)


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
