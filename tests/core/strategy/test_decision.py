"""Decision mapping: signal to side, size to an affordable whole-lot quantity, or a reason."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asnd.core.strategy import Decision, SlotSizing, StrategyParams, decide, squash
from journal.events import BUY, SELL

PARAMS = StrategyParams()
# XRPUSDT-like: tick 0.0001, lot 1 XRP; slot of $1000 (not binding), orders of 10..110 XRP.
SLOT = SlotSizing(
    min_qty_lots=10, max_qty_lots=110, capital_e8=1000 * 10**8, tick_size="0.0001", lot_size="1"
)
PRICE = 19537  # 1.9537 USDT


@pytest.mark.parametrize(
    ("signal", "side"),
    [(0.51, BUY), (0.5, 0), (0.0, 0), (-0.5, 0), (-0.51, SELL), (1e300, BUY), (-math.inf, 0)],
)
def test_signal_beyond_the_entry_thresholds_picks_the_side(signal: float, side: int) -> None:
    assert decide(signal, 0.0, PARAMS, SLOT, PRICE).side == side


def test_non_finite_signal_and_nan_size_send_nothing_and_say_why() -> None:
    assert decide(math.nan, 0.0, PARAMS, SLOT, PRICE) == Decision(0, 0, "signal is not finite")
    assert decide(math.inf, 0.0, PARAMS, SLOT, PRICE).reason == "signal is not finite"
    assert decide(1.0, math.nan, PARAMS, SLOT, PRICE) == Decision(0, 0, "size is NaN")
    assert decide(0.1, 0.0, PARAMS, SLOT, PRICE).reason == "signal inside the entry band"


def test_size_is_squashed_into_the_slots_range_and_rounded_down() -> None:
    assert decide(1.0, -math.inf, PARAMS, SLOT, PRICE) == Decision(BUY, 10)
    assert decide(1.0, math.inf, PARAMS, SLOT, PRICE) == Decision(BUY, 110)
    # squash(0) = 0.5 -> 10 + floor(0.5 * 100) = 60
    assert decide(-1.0, 0.0, PARAMS, SLOT, PRICE) == Decision(SELL, 60)
    # squash(1) = 0.7310585... -> 10 + floor(73.10585...) = 83
    assert decide(1.0, 1.0, PARAMS, SLOT, PRICE) == Decision(BUY, 83)


def test_strategy_size_range_narrows_the_fraction() -> None:
    params = StrategyParams(size_min=0.2, size_max=0.4)
    assert decide(1.0, -math.inf, params, SLOT, PRICE).qty_lots == 30
    assert decide(1.0, math.inf, params, SLOT, PRICE).qty_lots == 50


def test_quantity_is_capped_by_capital_times_leverage_exactly() -> None:
    # $200 buys floor(200 / 1.9537) = 102 XRP; 1000 wanted.
    slot = SlotSizing(10, 1000, 200 * 10**8, "0.0001", "1")
    assert decide(1.0, math.inf, PARAMS, slot, PRICE).qty_lots == 102
    levered = SlotSizing(10, 1000, 200 * 10**8, "0.0001", "1", leverage=Fraction(5, 2))
    assert decide(1.0, math.inf, PARAMS, levered, PRICE).qty_lots == 255  # 500 / 1.9537
    # Exactly affordable: $2 at 2.0000 is 1 lot, not 0 through float rounding.
    exact = SlotSizing(1, 5, 2 * 10**8, "0.0001", "1")
    assert decide(1.0, math.inf, PARAMS, exact, 20000).qty_lots == 1


def test_nothing_below_the_minimum_order_size_or_notional_is_sent() -> None:
    poor = SlotSizing(10, 110, 5 * 10**8, "0.0001", "1", min_order_lots=5)
    assert decide(1.0, math.inf, PARAMS, poor, PRICE) == Decision(
        0, 0, "2 lots is below the minimum order size"
    )
    min_notional = SlotSizing(10, 200, 200 * 10**8, "0.0001", "1", min_notional_e8=50 * 10**8)
    assert decide(1.0, -math.inf, PARAMS, min_notional, PRICE).reason == (
        "10 lots is below the minimum notional"
    )
    assert decide(1.0, math.inf, PARAMS, min_notional, PRICE).qty_lots == 102
    broke = SlotSizing(0, 110, 0, "0.0001", "1")
    assert not decide(1.0, 5.0, PARAMS, broke, PRICE).is_order


def test_fractional_lot_size_uses_the_instruments_units() -> None:
    # BTC: tick 0.5, lot 0.001 BTC; price 27451.0 = 54902 ticks; $200 -> 0.007 BTC = 7 lots.
    btc = SlotSizing(1, 100, 200 * 10**8, "0.5", "0.001")
    assert decide(1.0, math.inf, PARAMS, btc, 54902).qty_lots == 7


def test_invalid_slot_sizing_is_refused() -> None:
    with pytest.raises(ValueError, match="min_qty_lots"):
        SlotSizing(5, 1, 1, "0.1", "1")
    with pytest.raises(ValueError, match="leverage"):
        SlotSizing(1, 5, 1, "0.1", "1", leverage=0)


@given(st.floats(allow_nan=False))
def test_squash_stays_in_the_unit_interval_without_overflow(x: float) -> None:
    assert 0.0 <= squash(x) <= 1.0


@given(
    signal=st.floats(allow_nan=True),
    size=st.floats(allow_nan=True),
    capital=st.integers(0, 10**13),
    price=st.integers(-5, 10**7),
)
def test_every_order_respects_the_slot_and_the_capital(
    signal: float, size: float, capital: int, price: int
) -> None:
    slot = SlotSizing(3, 50, capital, "0.0001", "1", min_order_lots=2)
    d = decide(signal, size, PARAMS, slot, price)
    if d.is_order:
        assert 2 <= d.qty_lots <= 50
        assert d.qty_lots * price * 10**4 <= capital  # notional in e8: qty * price * 1e-4 * 1e8
    else:
        assert d.qty_lots == 0
        assert d.reason


@given(
    capital=st.integers(min_value=0, max_value=10**15),
    leverage=st.sampled_from([1, 3, Fraction(5, 2), 10]),
    price=st.integers(min_value=1, max_value=10**7),
)
def test_with_capital_sizes_exactly_as_a_freshly_built_sizing(
    capital: int, leverage: Fraction | int, price: int
) -> None:
    base = SlotSizing(
        min_qty_lots=1, max_qty_lots=10**6, capital_e8=7, tick_size="0.0001", lot_size="0.1",
        leverage=leverage,
    )  # fmt: skip
    fresh = SlotSizing(
        min_qty_lots=1, max_qty_lots=10**6, capital_e8=capital, tick_size="0.0001",
        lot_size="0.1", leverage=leverage,
    )  # fmt: skip
    moved = base.with_capital(capital)
    assert moved == fresh
    assert base.capital_e8 == 7  # a copy: the original is untouched
    assert moved.affordable_lots(price) == fresh.affordable_lots(price)
    exact = Fraction(capital) * Fraction(leverage) / fresh.lot_notional_e8(price)
    assert moved.affordable_lots(price) == math.floor(exact)
