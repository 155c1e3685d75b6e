"""The matching engine as a specification: given orders, when X, then these events and book."""

from __future__ import annotations

from asnd.core.matching import (
    FOK,
    IOC,
    POST_ONLY,
    REJECT_BAD_PRICE,
    REJECT_BAD_SIDE,
    REJECT_BAD_SIZE,
    REJECT_BAD_TIF,
    REJECT_DUPLICATE_ID,
    REJECT_OFF_GRID,
    REJECT_UNKNOWN_ORDER,
    REJECT_WOULD_CROSS,
    STP_CANCEL_BOTH,
    STP_CANCEL_MAKER,
    STP_NONE,
    MatchingEngine,
)
from journal.codec import encode
from journal.events import (
    BUY,
    SELL,
    Event,
    Fill,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    Trade,
)

T = 1_700_000_000_000_000_000


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def fills(events: list[Event]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def book_with_asks() -> MatchingEngine:
    """Asks: 101 x 5 (id 1, owner 1), 101 x 3 (id 2, owner 2), 102 x 10 (id 3, owner 1)."""
    e = MatchingEngine("X")
    e.submit(T, 1, 1, "a", SELL, 101, 5)
    e.submit(T, 2, 2, "b", SELL, 101, 3)
    e.submit(T, 3, 1, "c", SELL, 102, 10)
    return e


def test_resting_limit_is_accepted_and_shows_in_the_book() -> None:
    e = MatchingEngine("X")
    out = e.submit(T, 7, 3, "L7", BUY, 100, 4)
    assert out == [OrderAccepted(0, T, 3, "L7", "7")]
    assert e.best_bid == (100, 4)
    assert e.best_ask is None


def test_marketable_limit_walks_levels_in_price_time_order() -> None:
    e = book_with_asks()
    out = e.submit(T + 5_000_000, 9, 5, "t", BUY, 102, 10)
    assert kinds(out) == ["OrderAccepted"] + ["Trade", "Fill", "Fill"] * 3
    trades = [x for x in out if isinstance(x, Trade)]
    assert [(x.price_ticks, x.qty_lots, x.side) for x in trades] == [
        (101, 5, BUY),
        (101, 3, BUY),
        (102, 2, BUY),
    ]
    assert [x.trade_id for x in trades] == ["1", "2", "3"]
    makers = [f for f in fills(out) if f.is_maker]
    assert [(f.venue_order_id, f.qty_lots, f.leaves_lots) for f in makers] == [
        ("1", 5, 0),
        ("2", 3, 0),
        ("3", 2, 8),
    ]
    takers = [f for f in fills(out) if not f.is_maker]
    assert [f.leaves_lots for f in takers] == [5, 2, 0]
    assert all(f.exec_ts_ms == (T + 5_000_000) // 1_000_000 for f in takers)
    assert e.best_ask == (102, 8)
    assert e.order(9) is None  # fully filled takers do not rest


def test_gtc_remainder_rests_at_its_limit() -> None:
    e = book_with_asks()
    e.submit(T, 9, 5, "t", BUY, 101, 10)
    assert e.best_bid == (101, 2)
    assert e.best_ask == (102, 10)


def test_ioc_remainder_is_cancelled() -> None:
    e = book_with_asks()
    out = e.submit(T, 9, 5, "t", BUY, 101, 10, IOC)
    assert out[-1] == OrderCancelled(0, T, 5, "t", "9", "IOC remainder", 2)
    assert e.best_bid is None


def test_fok_fills_fully_or_not_at_all() -> None:
    e = book_with_asks()
    out = e.submit(T, 9, 5, "t", BUY, 101, 9, FOK)
    assert kinds(out) == ["OrderAccepted", "OrderCancelled"]
    assert e.best_ask == (101, 8)  # untouched
    out = e.submit(T, 10, 5, "t", BUY, 102, 9, FOK)
    assert sum(f.qty_lots for f in fills(out) if not f.is_maker) == 9


def test_market_order_stops_at_protection_price() -> None:
    e = book_with_asks()
    out = e.market(T, 9, 5, "m", BUY, 20, protection_ticks=101)
    assert sum(f.qty_lots for f in fills(out) if not f.is_maker) == 8
    assert out[-1] == OrderCancelled(0, T, 5, "m", "9", "IOC remainder", 12)
    out = e.market(T, 10, 5, "m", BUY, 20)
    assert sum(f.qty_lots for f in fills(out) if not f.is_maker) == 10
    assert e.best_ask is None


def test_market_sell_without_protection_sweeps_bids() -> None:
    e = MatchingEngine("X")
    e.submit(T, 1, 1, "", BUY, 50, 2)
    e.submit(T, 2, 1, "", BUY, 3, 2)
    out = e.market(T, 3, 2, "", SELL, 4)
    assert [x.price_ticks for x in out if isinstance(x, Trade)] == [50, 3]


def test_post_only_that_would_cross_is_rejected() -> None:
    e = book_with_asks()
    out = e.submit(T, 9, 5, "p", BUY, 101, 1, POST_ONLY)
    assert len(out) == 1
    assert isinstance(out[0], OrderRejected)
    assert out[0].code == REJECT_WOULD_CROSS
    assert e.order(9) is None
    assert e.submit(T, 9, 5, "p", BUY, 100, 1, POST_ONLY)[0] == OrderAccepted(0, T, 5, "p", "9")


def test_bad_orders_are_rejected_with_reasons_never_raised() -> None:
    e = MatchingEngine("X", price_step_ticks=5, lot_step=10)
    e.submit(T, 1, 1, "", BUY, 100, 10)
    cases = [
        (e.submit(T, 2, 1, "z", BUY, 100, 0), REJECT_BAD_SIZE),
        (e.submit(T, 2, 1, "z", BUY, 100, -10), REJECT_BAD_SIZE),
        (e.submit(T, 2, 1, "z", BUY, 100, 15), REJECT_BAD_SIZE),
        (e.submit(T, 2, 1, "z", BUY, 0, 10), REJECT_BAD_PRICE),
        (e.submit(T, 2, 1, "z", BUY, -5, 10), REJECT_BAD_PRICE),
        (e.submit(T, 2, 1, "z", BUY, 101, 10), REJECT_OFF_GRID),
        (e.submit(T, 2, 1, "z", 0, 100, 10), REJECT_BAD_SIDE),
        (e.submit(T, 2, 1, "z", BUY, 100, 10, tif=42), REJECT_BAD_TIF),
        (e.submit(T, 1, 1, "z", BUY, 100, 10), REJECT_DUPLICATE_ID),
        (e.market(T, 2, 1, "z", BUY, 10, protection_ticks=7), REJECT_OFF_GRID),
        (e.cancel(T, 99), REJECT_UNKNOWN_ORDER),
        (e.amend(T, 99, qty_lots=10), REJECT_UNKNOWN_ORDER),
        (e.amend(T, 1, qty_lots=0), REJECT_BAD_SIZE),
        (e.amend(T, 1, price_ticks=103), REJECT_OFF_GRID),
        (e.execute(T, 99, 1, SELL), REJECT_UNKNOWN_ORDER),
        (e.execute(T, 1, 11, SELL), REJECT_BAD_SIZE),
        (e.reduce(T, 1, 0), REJECT_BAD_SIZE),
    ]
    for out, code in cases:
        assert len(out) == 1
        rej = out[0]
        assert isinstance(rej, OrderRejected)
        assert rej.code == code
        assert rej.reason
    # Nothing above changed the book.
    assert e.best_bid == (100, 10)
    assert len(e) == 1


def test_cancel_removes_order_and_empty_level() -> None:
    e = book_with_asks()
    out = e.cancel(T, 1)
    assert out == [OrderCancelled(0, T, 1, "a", "1", "cancelled", 5)]
    assert e.best_ask == (101, 3)
    e.cancel(T, 2)
    assert e.best_ask == (102, 10)
    assert kinds(e.cancel(T, 2)) == ["OrderRejected"]  # already gone


def test_amend_size_down_keeps_priority() -> None:
    e = book_with_asks()
    out = e.amend(T, 1, qty_lots=2)
    assert out == [OrderAmended(0, T, 1, "a", 101, 2)]
    assert [o.order_id for o in e.queue(SELL, 101)] == [1, 2]
    assert e.best_ask == (101, 5)
    taken = e.submit(T, 9, 5, "", BUY, 101, 1)
    assert [f.venue_order_id for f in fills(taken) if f.is_maker] == ["1"]


def test_amend_size_up_and_price_change_lose_priority() -> None:
    e = book_with_asks()
    e.amend(T, 1, qty_lots=6)
    assert [o.order_id for o in e.queue(SELL, 101)] == [2, 1]
    e.amend(T, 2, price_ticks=102)
    assert [o.order_id for o in e.queue(SELL, 102)] == [3, 2]
    assert e.best_ask == (101, 6)


def test_amend_to_a_crossing_price_matches() -> None:
    e = book_with_asks()
    e.submit(T, 8, 4, "bid", BUY, 100, 4)
    out = e.amend(T, 8, price_ticks=101)
    assert out[0] == OrderAmended(0, T, 4, "bid", 101, 4)
    assert [x.qty_lots for x in out if isinstance(x, Trade)] == [4]
    assert e.best_ask == (101, 4)
    assert e.order(8) is None


def test_post_only_amend_that_would_cross_is_rejected_and_order_kept() -> None:
    e = book_with_asks()
    e.submit(T, 8, 4, "bid", BUY, 100, 4, POST_ONLY)
    out = e.amend(T, 8, price_ticks=101)
    assert isinstance(out[0], OrderRejected)
    assert out[0].code == REJECT_WOULD_CROSS
    assert e.best_bid == (100, 4)


def test_self_trade_prevention_cancel_taker_is_default() -> None:
    e = book_with_asks()
    out = e.submit(T, 9, 1, "own", BUY, 102, 10)
    # Owner 1's order 1 is at the head: the taker is cancelled before any trade.
    assert kinds(out) == ["OrderAccepted", "OrderCancelled"]
    assert out[-1] == OrderCancelled(0, T, 1, "own", "9", "self-trade prevention", 10)
    assert e.best_ask == (101, 8)


def test_self_trade_prevention_cancel_maker_skips_own_orders() -> None:
    e = MatchingEngine("X", stp=STP_CANCEL_MAKER)
    e.submit(T, 1, 1, "a", SELL, 101, 5)
    e.submit(T, 2, 2, "b", SELL, 101, 3)
    out = e.submit(T, 9, 1, "own", BUY, 101, 4)
    assert kinds(out) == ["OrderAccepted", "OrderCancelled", "Trade", "Fill", "Fill"]
    assert e.best_bid == (101, 1)
    assert e.best_ask is None


def test_self_trade_prevention_cancel_both() -> None:
    e = MatchingEngine("X", stp=STP_CANCEL_BOTH)
    e.submit(T, 1, 1, "a", SELL, 101, 5)
    e.submit(T, 2, 2, "b", SELL, 101, 3)
    out = e.submit(T, 9, 1, "own", BUY, 101, 4)
    assert kinds(out) == ["OrderAccepted", "OrderCancelled", "OrderCancelled"]
    assert e.best_ask == (101, 3)
    assert e.best_bid is None


def test_stp_none_lets_an_owner_trade_with_itself() -> None:
    e = MatchingEngine("X", stp=STP_NONE)
    e.submit(T, 1, 1, "a", SELL, 101, 5)
    out = e.submit(T, 2, 1, "b", BUY, 101, 5)
    assert kinds(out) == ["OrderAccepted", "Trade", "Fill", "Fill"]


def test_fok_counts_only_liquidity_reachable_under_stp() -> None:
    e = book_with_asks()
    # Owner 2 can reach only... order 1 (owner 1) is fine for owner 2, but order 2 is its own.
    out = e.submit(T, 9, 2, "f", BUY, 102, 8, FOK)
    assert kinds(out) == ["OrderAccepted", "OrderCancelled"]
    assert e.best_ask == (101, 8)


def test_execute_and_reduce_drive_an_order_level_book() -> None:
    e = book_with_asks()
    out = e.execute(T, 1, 2, BUY)
    assert kinds(out) == ["Trade", "Fill"]
    assert e.best_ask == (101, 6)
    e.reduce(T, 1, 1)
    assert [o.leaves_lots for o in e.queue(SELL, 101)] == [2, 3]
    e.reduce(T, 1, 2)
    assert [o.order_id for o in e.queue(SELL, 101)] == [2]


def test_fee_model_is_applied_per_side() -> None:
    e = MatchingEngine("X", fee=lambda px, q, maker: (-1 if maker else 3) * px * q)
    e.submit(T, 1, 1, "", SELL, 10, 2)
    out = e.submit(T, 2, 2, "", BUY, 10, 2)
    assert [(f.is_maker, f.fee_e8) for f in fills(out)] == [(True, -20), (False, 60)]


def test_track_changes_reports_levels_for_deltas() -> None:
    e = MatchingEngine("X", track_changes=True)
    e.submit(T, 1, 1, "", SELL, 101, 5)
    e.submit(T, 2, 1, "", BUY, 99, 5)
    e.submit(T, 3, 1, "", BUY, 98, 5)
    assert e.take_changes() == ([(99, 5), (98, 5)], [(101, 5)])
    e.submit(T, 4, 2, "", BUY, 101, 5)
    e.cancel(T, 3)
    assert e.take_changes() == ([(98, 0)], [(101, 0)])
    assert e.take_changes() == ([], [])


def test_many_cancels_behind_the_head_are_compacted_and_fifo_kept() -> None:
    e = MatchingEngine("X")
    for i in range(100):
        e.submit(T, i, i, "", SELL, 101, 1)
    for i in range(1, 99):
        e.cancel(T, i)
    assert [o.order_id for o in e.queue(SELL, 101)] == [0, 99]
    out = e.submit(T, 500, 7, "", BUY, 101, 2)
    assert [f.venue_order_id for f in fills(out) if f.is_maker] == ["0", "99"]
    assert e.best_ask is None


def test_same_calls_give_byte_identical_events() -> None:
    def run() -> bytes:
        e = book_with_asks()
        out: list[Event] = []
        out += e.submit(T, 9, 5, "t", BUY, 102, 9)
        out += e.amend(T, 3, qty_lots=1)
        out += e.cancel(T, 3)
        return b"".join(encode(x) for x in out)

    assert run() == run()
