"""L2 replay: queue position, taking displayed liquidity once, latency."""

from __future__ import annotations

import pytest

from asnd.core.l2replay import (
    PROPORTIONAL,
    WORST_CASE,
    ConstantLatency,
    L2Replay,
    SampledLatency,
)
from asnd.core.matching import FOK, IOC, POST_ONLY, REJECT_UNKNOWN_ORDER, REJECT_WOULD_CROSS
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Trade,
)

MS = 1_000_000


def snap(
    ts: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], u: int = 1
) -> BookSnapshot:
    return BookSnapshot(0, ts, "X", u, 0, ts // MS, ts // MS,
                        [p for p, _ in bids], [q for _, q in bids],
                        [p for p, _ in asks], [q for _, q in asks])  # fmt: skip


def delta(
    ts: int,
    u: int,
    bids: tuple[tuple[int, int], ...] = (),
    asks: tuple[tuple[int, int], ...] = (),
) -> BookDelta:
    return BookDelta(0, ts, "X", u, 0, ts // MS, ts // MS,
                     [p for p, _ in bids], [q for _, q in bids],
                     [p for p, _ in asks], [q for _, q in asks])  # fmt: skip


def trade(ts: int, side: int, price: int, qty: int) -> Trade:
    return Trade(0, ts, "X", f"t{ts}", side, price, qty, ts // MS)


def fills(events: list[Event]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def start(**kw: object) -> L2Replay:
    r = L2Replay("X", **kw)  # type: ignore[arg-type]
    r.on_market(snap(0, [(100, 50), (99, 80)], [(101, 40), (102, 60)]))
    return r


def test_resting_order_fills_only_after_the_queue_ahead_has_traded() -> None:
    r = start()
    assert r.submit(1, 1, 0, "a", BUY, 100, 10) == [OrderAccepted(0, 1, 0, "a", "1")]
    assert r.order(1) == (10, 50)  # behind the 50 displayed at 100
    assert r.on_market(trade(2, SELL, 100, 30)) == []
    assert r.order(1) == (10, 20)
    r.on_market(delta(3, 2, bids=((100, 20),)))
    out = r.on_market(trade(4, SELL, 100, 25))  # 20 ahead, then 5 for us
    assert [(f.qty_lots, f.price_ticks, f.is_maker, f.leaves_lots) for f in fills(out)] == [
        (5, 100, True, 5)
    ]
    out = r.on_market(trade(5, SELL, 100, 9))
    assert [f.qty_lots for f in fills(out)] == [5]
    assert r.order(1) is None


def test_worst_case_queue_ignores_cancels_until_the_level_is_smaller() -> None:
    r = start(queue=WORST_CASE)
    r.submit(1, 1, 0, "", BUY, 100, 10)
    r.on_market(delta(2, 2, bids=((100, 30),)))  # 20 cancelled: assumed behind us
    assert r.order(1) == (10, 30)
    r.on_market(delta(3, 3, bids=((100, 60),)))  # joins behind us
    assert r.order(1) == (10, 30)


def test_proportional_queue_spreads_cancels_and_does_not_double_count_trades() -> None:
    r = start(queue=PROPORTIONAL)
    r.submit(1, 1, 0, "", BUY, 100, 10)
    r.on_market(delta(2, 2, bids=((100, 70),)))  # 20 join behind us: ahead stays 50
    assert r.order(1) == (10, 50)
    r.on_market(delta(3, 3, bids=((100, 35),)))  # half the level cancelled
    assert r.order(1) == (10, 25)
    r.on_market(trade(4, SELL, 100, 10))  # the trade shrinks the queue ...
    assert r.order(1) == (10, 15)
    r.on_market(delta(5, 4, bids=((100, 25),)))  # ... and this decrease is that trade
    assert r.order(1) == (10, 15)


def test_marketable_order_walks_levels_without_taking_the_same_lots_twice() -> None:
    r = start()
    out = r.submit(1, 1, 0, "t", BUY, 102, 70)
    assert [(f.price_ticks, f.qty_lots, f.is_maker) for f in fills(out)] == [
        (101, 40, False),
        (102, 30, False),
    ]
    out = r.submit(2, 2, 0, "t", BUY, 102, 50, IOC)  # only 30 left at 102 in this state
    assert [(f.price_ticks, f.qty_lots) for f in fills(out)] == [(102, 30)]
    assert out[-1] == OrderCancelled(0, 2, 0, "t", "2", "IOC remainder", 20)
    # A delta rewriting level 101 makes it available again (the recording ignores our impact).
    r.on_market(delta(3, 2, asks=((101, 5),)))
    out = r.submit(4, 3, 0, "t", BUY, 102, 10, IOC)
    assert [(f.price_ticks, f.qty_lots) for f in fills(out)] == [(101, 5)]


def test_fok_and_post_only_and_market() -> None:
    r = start()
    out = r.submit(1, 1, 0, "f", BUY, 101, 41, FOK)
    assert [type(e).__name__ for e in out] == ["OrderAccepted", "OrderCancelled"]
    out = r.submit(1, 2, 0, "p", SELL, 100, 1, POST_ONLY)
    assert isinstance(out[0], OrderRejected)
    assert out[0].code == REJECT_WOULD_CROSS
    out = r.submit(1, 3, 0, "m", SELL, 0, 60, IOC)  # market sell, no protection
    assert [(f.price_ticks, f.qty_lots) for f in fills(out)] == [(100, 50), (99, 10)]


def test_with_latency_an_order_cannot_fill_against_a_book_older_than_its_arrival() -> None:
    r = start(latency=ConstantLatency(10 * MS))
    assert r.submit(1 * MS, 1, 0, "l", BUY, 101, 40, IOC) == []  # in flight
    assert r.in_flight == 1
    # The ask at 101 is gone 5 ms later, before the order arrives at 11 ms.
    assert r.on_market(delta(6 * MS, 2, asks=((101, 0),))) == []
    out = r.on_market(delta(20 * MS, 3, bids=((99, 81),)))
    assert fills(out) == []
    assert out[0] == OrderAccepted(0, 11 * MS, 0, "l", "1")
    assert out[-1] == OrderCancelled(0, 11 * MS, 0, "l", "1", "IOC remainder", 40)


def test_without_latency_the_same_order_fills() -> None:
    r = start()
    out = r.submit(1 * MS, 1, 0, "l", BUY, 101, 40, IOC)
    assert sum(f.qty_lots for f in fills(out)) == 40


def test_an_order_fills_while_its_cancel_is_in_flight() -> None:
    r = start(latency=ConstantLatency(0), cancel_latency=ConstantLatency(5 * MS))
    r.submit(0, 1, 0, "c", SELL, 101, 10)  # behind 40
    assert r.cancel(1 * MS, 1) == []
    out = r.on_market(trade(2 * MS, BUY, 101, 45))
    assert [f.qty_lots for f in fills(out)] == [5]
    out = r.advance(10 * MS)
    assert out == [OrderCancelled(0, 6 * MS, 0, "c", "1", "cancelled", 5)]


def test_cancel_of_a_filled_or_unknown_order_is_rejected() -> None:
    r = start()
    out = r.cancel(1, 99)
    assert isinstance(out[0], OrderRejected)
    assert out[0].code == REJECT_UNKNOWN_ORDER


def test_trade_through_and_book_crossing_fill_resting_orders() -> None:
    r = start()
    r.submit(1, 1, 0, "", SELL, 103, 10)
    out = r.on_market(trade(2, BUY, 104, 4))  # a buyer paid 104: it met our 103 first
    assert [(f.price_ticks, f.qty_lots) for f in fills(out)] == [(103, 4)]
    r.submit(3, 2, 0, "", BUY, 100, 10)
    # Sellers come down to 100: our bid (at the back of 100) is reached.
    r.on_market(delta(4, 2, bids=((100, 0),)))
    out = r.on_market(delta(5, 3, asks=((100, 7),)))
    assert [(f.price_ticks, f.qty_lots, f.is_maker) for f in fills(out)] == [(100, 7, True)]


def test_bad_orders_are_rejected_at_arrival() -> None:
    r = start()
    for args in [(BUY, 100, 0), (BUY, -1, 5), (0, 100, 5)]:
        out = r.submit(1, 50, 0, "", *args)
        assert len(out) == 1
        assert isinstance(out[0], OrderRejected)
    r.submit(1, 1, 0, "", BUY, 90, 1)
    assert isinstance(r.submit(1, 1, 0, "", BUY, 90, 1)[0], OrderRejected)


def test_sampled_latency_is_seeded() -> None:
    a = SampledLatency([1, 2, 3, 4, 5], seed=7)
    b = SampledLatency([1, 2, 3, 4, 5], seed=7)
    assert [a.next() for _ in range(20)] == [b.next() for _ in range(20)]
    with pytest.raises(ValueError, match="sample"):
        SampledLatency([], seed=1)


def test_unknown_queue_model_is_refused() -> None:
    with pytest.raises(ValueError, match="queue model"):
        L2Replay("X", queue="optimistic")
