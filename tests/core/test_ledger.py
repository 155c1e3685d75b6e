"""The slot ledger: hand-checked fees, partial fills, flips and marks; invariants by property."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.instrument import E8, Instrument
from asnd.core.ledger import AVG_DENOMINATOR, FeeSchedule, Ledger, conservative_mark
from journal.events import BUY, SELL, InstrumentInfo

# XRPUSDT: tick 0.0001 USDT, lot 1 XRP: one tick-lot is 0.0001 USDT = 10_000 e8.
XRP = Instrument("XRPUSDT", "0.0001", "1")
CAPITAL = 200 * E8


def test_instrument_unit_and_notional_are_exact() -> None:
    assert XRP.notional_e8(19537 * 100) == 19_537_000_000  # 100 XRP at 1.9537 = 195.37 USDT
    btc = Instrument("BTCUSDT", "0.1", "0.001")
    assert btc.notional_e8(965_000 * 5) == 4825 * 10**7  # 0.005 BTC at 96500.0 = 482.5 USDT
    odd = Instrument("X", "0.000001", "0.001")  # 1e-9 USDT per tick-lot: a tenth of an e8
    assert odd.notional_e8(3) == Fraction(3, 10)
    assert odd.floor_e8(-1) == -1, "rounding never overstates money"
    assert odd.floor_e8(19) == 1


def test_instrument_from_info_rounds_minimums_up() -> None:
    inst = Instrument.from_info(
        InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.1", "0.001", "0.0015", "5.000000001")
    )
    assert inst.min_qty_lots == 2
    assert inst.min_notional_e8 == 500_000_001


def test_bybit_default_fees_maker_and_taker() -> None:
    ledger = Ledger(XRP, CAPITAL)
    # 100 XRP at 1.9537 = 195.37 USDT; maker 0.02 % = 0.039074 USDT.
    assert ledger.apply_fill(BUY, 19537, 100, is_maker=True) == 3_907_400
    # taker 0.055 % of 195.37 = 0.10745350 USDT.
    assert ledger.apply_fill(SELL, 19537, 100, is_maker=False) == 10_745_350
    assert ledger.position_lots == 0
    assert ledger.fees_e8 == 14_652_750
    assert ledger.realised_pnl_e8 == 0
    assert ledger.cash_e8 == CAPITAL - 14_652_750


def test_fee_is_rounded_up_and_a_rebate_down() -> None:
    # one lot at one tick of XRP is 10_000 e8: 550 ppm of that is 5.5 e8 -> 6.
    assert FeeSchedule().fee_e8(Fraction(10_000), is_maker=False) == 6
    rebate = FeeSchedule(maker_ppm=-125)
    assert rebate.fee_e8(Fraction(10_000), is_maker=True) == -1  # -1.25 -> -1: less rebate


def test_venue_fees_can_be_charged_instead_of_the_schedule() -> None:
    ledger = Ledger(XRP, CAPITAL, FeeSchedule(source="venue"))
    assert ledger.apply_fill(BUY, 19537, 100, is_maker=True, venue_fee_e8=4_000_000) == 4_000_000
    assert ledger.fees_e8 == 4_000_000
    assert ledger.state.venue_fees_e8 == 4_000_000


def test_partial_fills_average_the_entry_and_reducing_keeps_it() -> None:
    ledger = Ledger(XRP, CAPITAL, FeeSchedule(0, 0))
    ledger.apply_fill(BUY, 100, 10, is_maker=True)
    ledger.apply_fill(BUY, 110, 10, is_maker=True)
    assert ledger.avg_entry_ticks == 105
    ledger.apply_fill(SELL, 120, 5, is_maker=True)
    assert ledger.position_lots == 15
    assert ledger.avg_entry_ticks == 105, "reducing does not move the entry"
    assert ledger.realised_units == 5 * 15
    assert ledger.realised_pnl_e8 == 75 * 10_000


def test_a_flip_through_zero_realises_the_old_side_and_opens_at_the_fill() -> None:
    ledger = Ledger(XRP, CAPITAL, FeeSchedule(0, 0))
    ledger.apply_fill(BUY, 100, 10, is_maker=True)
    ledger.apply_fill(BUY, 110, 10, is_maker=True)
    ledger.apply_fill(SELL, 120, 5, is_maker=True)
    ledger.apply_fill(SELL, 90, 25, is_maker=False)  # closes 15 at a loss, opens 10 short
    assert ledger.position_lots == -10
    assert ledger.avg_entry_ticks == 90
    assert ledger.realised_units == 75 + 15 * (90 - 105)  # -150 tick-lots
    assert ledger.realised_pnl_e8 == -150 * 10_000
    ledger.apply_fill(BUY, 80, 10, is_maker=True)  # the short closes 10 ticks better
    assert ledger.position_lots == 0
    assert ledger.avg_entry_ticks == 0
    assert ledger.realised_units == -150 + 100


def test_an_uneven_average_stays_exact() -> None:
    ledger = Ledger(XRP, CAPITAL, FeeSchedule(0, 0))
    ledger.apply_fill(BUY, 100, 1, is_maker=True)
    ledger.apply_fill(BUY, 101, 2, is_maker=True)
    assert ledger.avg_entry_ticks == Fraction(302, 3)
    ledger.apply_fill(SELL, 101, 1, is_maker=True)
    assert ledger.realised_units == Fraction(1, 3)
    assert ledger.realised_pnl_e8 == 3333  # 1/3 of a 10_000 e8 tick-lot, rounded down


def test_equity_marks_a_long_at_the_bid_and_a_short_at_the_ask() -> None:
    ledger = Ledger(XRP, CAPITAL, FeeSchedule(0, 0))
    ledger.apply_fill(BUY, 19537, 100, is_maker=True)
    bid, ask = 19530, 19534
    mark = conservative_mark(ledger.position_lots, bid, ask)
    assert mark == bid
    assert ledger.equity_e8(mark) == CAPITAL - 100 * 7 * 10_000  # 0.07 USDT under water
    assert ledger.mid_equity_e8(bid, ask) == CAPITAL - 100 * 5 * 10_000
    short = Ledger(XRP, CAPITAL, FeeSchedule(0, 0))
    short.apply_fill(SELL, 19537, 100, is_maker=True)
    assert conservative_mark(short.position_lots, bid, ask) == ask
    assert short.equity_e8(ask) == CAPITAL + 100 * 3 * 10_000
    assert conservative_mark(5, None, ask) is None, "a long cannot be marked without bids"


def test_nonsense_fills_are_refused_and_change_nothing() -> None:
    ledger = Ledger(XRP, CAPITAL)
    for side, price, qty in ((0, 100, 1), (BUY, 0, 1), (SELL, 100, 0), (BUY, 100, -3)):
        with pytest.raises(ValueError, match="fill"):
            ledger.apply_fill(side, price, qty, is_maker=True)
    assert ledger.state.fill_count == 0
    assert ledger.cash_e8 == CAPITAL


def test_fee_schedule_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="source"):
        FeeSchedule(source="guess")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rates"):
        FeeSchedule(taker_ppm=-1)


# ------------------------------------------------------------------------------ properties

fills = st.lists(
    st.tuples(
        st.sampled_from((BUY, SELL)),
        st.integers(1, 10**6),  # price ticks
        st.integers(1, 10**4),  # lots
        st.booleans(),  # maker
    ),
    max_size=40,
)
instruments = st.sampled_from(
    (XRP, Instrument("BTCUSDT", "0.1", "0.001"), Instrument("X", "0.000001", "0.001"))
)


def _oracle_realised(seq: list[tuple[int, int, int, bool]]) -> Fraction:
    """Average-cost realised PnL (tick-lots), computed closing fill by closing fill."""
    pos, avg, realised = 0, Fraction(0), Fraction(0)
    for side, price, qty, _ in seq:
        if pos == 0 or (pos > 0) == (side > 0):
            avg = (avg * abs(pos) + price * qty) / (abs(pos) + qty)
            pos += side * qty
            continue
        closed = min(qty, abs(pos))
        realised += closed * (price - avg) * (1 if pos > 0 else -1)
        pos += side * qty
        if pos == 0:
            avg = Fraction(0)
        elif (pos > 0) == (side > 0):
            avg = Fraction(price)
    return realised


@settings(max_examples=60, deadline=None)
@given(seq=fills, instrument=instruments, mark=st.integers(1, 10**6))
def test_ledger_invariants(
    seq: list[tuple[int, int, int, bool]], instrument: Instrument, mark: int
) -> None:
    schedule = FeeSchedule()
    ledger = Ledger(instrument, CAPITAL, schedule)
    fees = 0
    for side, price, qty, maker in seq:
        charged = ledger.apply_fill(side, price, qty, is_maker=maker)
        assert charged == schedule.fee_e8(instrument.notional_e8(price * qty), is_maker=maker)
        fees += charged
    # Position is the signed sum of fills; fees the sum of per-fill fees.
    assert ledger.position_lots == sum(side * qty for side, _, qty, _ in seq)
    assert ledger.fees_e8 == fees
    # Realised PnL agrees with an independent average-cost computation, to the precision the
    # average is kept at (a millionth of a tick per fill, per lot held).
    error = abs(ledger.realised_units - _oracle_realised(seq))
    assert error <= Fraction(abs(ledger.position_lots) * len(seq), AVG_DENOMINATOR)
    # Equity = capital + every fill's cash flow + position at the mark - fees (floored once).
    flow = sum(-side * qty * price for side, price, qty, _ in seq)
    exact = Fraction(flow + ledger.position_lots * mark) * instrument.notional_e8(1)
    assert ledger.equity_e8(mark) == CAPITAL - fees + (exact.numerator // exact.denominator)
    # ... and cash + unrealised differs from it only by rounding (at most 1e-8 each way).
    assert 0 <= ledger.equity_e8(mark) - (ledger.cash_e8 + ledger.unrealised_e8(mark)) <= 1
    if ledger.position_lots == 0:
        assert ledger.realised_units == flow
    else:
        prices = [p for _, p, _, _ in seq]
        assert min(prices) <= ledger.avg_entry_ticks <= max(prices)


def test_the_average_entry_stays_bounded_through_endless_add_and_reduce() -> None:
    """Regression: adding after partial closes grew the exact average's denominator until the
    state snapshot could not encode it (bench/daemon.py found it after ~40k fills)."""
    ledger = Ledger(XRP, CAPITAL)
    for i in range(5000):
        ledger.apply_fill(BUY, 10_000 + i % 7, 3 + i % 5, is_maker=True)
        ledger.apply_fill(SELL, 10_000 + i % 11, 1 + i % 3, is_maker=False)
    assert ledger.state.avg_entry_den <= AVG_DENOMINATOR
    assert abs(ledger.state.avg_entry_num) < 2**63
    flow = ledger.state.flow_units
    mark = 10_005
    exact = Fraction(flow + ledger.position_lots * mark) * ledger.instrument.notional_e8(1)
    assert ledger.equity_e8(mark) == CAPITAL - ledger.fees_e8 + exact.numerator // exact.denominator
