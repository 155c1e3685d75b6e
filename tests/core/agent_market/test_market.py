"""The agent market: Bybit-shaped, deterministic, never crossed, and it trades with us."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.agent_market.agents import Genome
from asnd.core.agent_market.market import AgentMarket, SimConfig
from journal.codec import encode
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
from tests.core.kernel.oracle import L2Book, Update

STEP = 100_000_000


def run(seed: int, steps: int, genome: Genome | None = None) -> tuple[AgentMarket, list[Event]]:
    m = AgentMarket(SimConfig(), genome or Genome(), seed)
    out: list[Event] = []
    for i in range(steps):
        out += m.step(i * STEP)
    return m, out


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    _, a = run(42, 300)
    _, b = run(42, 300)
    _, c = run(43, 300)
    assert b"".join(map(encode, a)) == b"".join(map(encode, b))
    assert b"".join(map(encode, a)) != b"".join(map(encode, c))


def test_stream_is_bybit_shaped_and_rebuilds_the_book() -> None:
    m, events = run(7, 500)
    assert isinstance(events[0], BookSnapshot)
    assert {type(e) for e in events} == {BookSnapshot, BookDelta, Trade}
    book = L2Book("SIMUSDT")
    last_u = None
    for e in events:
        if isinstance(e, BookSnapshot | BookDelta):
            if last_u is not None:
                assert e.update_id == last_u + 1
            last_u = e.update_id
            assert book.apply(e) in (Update.SNAPSHOT, Update.APPLIED)
            assert all(q > 0 for q in (e.bid_lots if isinstance(e, BookSnapshot) else []))
        else:
            assert isinstance(e, Trade)
            assert e.qty_lots > 0
            assert e.side in (BUY, SELL)
    assert book.bids(50) == m.engine.bids(50)
    assert book.asks(50) == m.engine.asks(50)
    assert sum(isinstance(e, Trade) for e in events) > 100  # the market does trade


def test_our_resting_order_shows_in_the_book_and_can_be_cancelled() -> None:
    m, _ = run(3, 50)
    bid = m.engine.best_bid
    assert bid is not None
    answer, events = m.place(50 * STEP, 2, "ours-1", BUY, "limit", "PostOnly", bid[0] - 5, 7)
    assert isinstance(answer, OrderAccepted)
    assert answer.slot == 2
    delta = events[-1]
    assert isinstance(delta, BookDelta)
    assert bid[0] - 5 in delta.bid_ticks
    out = m.cancel(51 * STEP, int(answer.venue_order_id))
    assert isinstance(out[0], OrderCancelled)
    assert out[0].remaining_lots == 7
    assert isinstance(out[-1], BookDelta)


def test_our_marketable_order_fills_against_agents() -> None:
    m, _ = run(3, 50)
    ask = m.engine.best_ask
    assert ask is not None
    answer, events = m.place(50 * STEP, 0, "ours-2", BUY, "market", "IOC", 0, 5)
    assert isinstance(answer, OrderAccepted)
    mine = [e for e in events if isinstance(e, Fill)]
    assert sum(f.qty_lots for f in mine) == 5
    assert all(f.slot == 0 and not f.is_maker and f.price_ticks == ask[0] for f in mine)
    assert any(isinstance(e, Trade) for e in events)


def test_bad_orders_are_rejected_with_reasons() -> None:
    m, _ = run(3, 5)
    for args in [
        (0, "x", BUY, "stop", "GTC", 100, 1),
        (0, "x", BUY, "limit", "GTD", 100, 1),
        (5000, "x", BUY, "limit", "GTC", 100, 1),
        (0, "x", BUY, "limit", "GTC", 100, 0),
    ]:
        answer, events = m.place(STEP, *args)
        assert isinstance(answer, OrderRejected)
        assert answer.reason
        assert events == []
    assert isinstance(m.cancel(STEP, 999_999)[0], OrderRejected)


def test_genome_from_the_blueprint_dsg_vector() -> None:
    g = Genome.from_vector([1.0, 0.0])
    assert g.order_prob == 1.0
    assert g.aggressiveness == 0.0
    assert g.market_makers == Genome().market_makers
    with pytest.raises(ValueError, match="outside"):
        Genome(order_prob=1.5)
    with pytest.raises(ValueError, match="genes"):
        Genome.from_vector([0.5] * 30)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    vector=st.lists(st.floats(0, 1), min_size=2, max_size=14),
)
def test_any_genome_keeps_the_book_uncrossed_and_the_chain_unbroken(
    seed: int, vector: list[float]
) -> None:
    m, events = run(seed, 120, Genome.from_vector(vector))
    book = L2Book("SIMUSDT")
    for e in events:
        if isinstance(e, BookSnapshot | BookDelta):
            assert book.apply(e) in (Update.SNAPSHOT, Update.APPLIED), book.stale_reason
    bid, ask = m.engine.best_bid, m.engine.best_ask
    assert bid is None or ask is None or bid[0] < ask[0]
