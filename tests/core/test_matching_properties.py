"""Properties of the matching engine over random operation sequences (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.matching import (
    FOK,
    GTC,
    IOC,
    POST_ONLY,
    STP_CANCEL_BOTH,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
    STP_NONE,
    MatchingEngine,
)
from journal.codec import encode
from journal.events import BUY, SELL, Event, Fill, OrderAccepted, OrderCancelled

T = 1_000_000_000

_submit = st.tuples(
    st.just("submit"),
    st.integers(0, 3),  # owner
    st.sampled_from([BUY, SELL]),
    st.integers(95, 105),  # price
    st.integers(-1, 8),  # size (bad sizes included)
    st.sampled_from([GTC, GTC, GTC, IOC, FOK, POST_ONLY]),
)
_market = st.tuples(
    st.just("market"), st.integers(0, 3), st.sampled_from([BUY, SELL]), st.integers(1, 12)
)
_cancel = st.tuples(st.just("cancel"), st.integers(0, 60))
_amend = st.tuples(
    st.just("amend"), st.integers(0, 60), st.one_of(st.none(), st.integers(95, 105)),
    st.integers(1, 8),
)  # fmt: skip
_ops = st.lists(st.one_of(_submit, _submit, _market, _cancel, _amend), max_size=80)
_stp = st.sampled_from([STP_NONE, STP_CANCEL_TAKER, STP_CANCEL_MAKER, STP_CANCEL_BOTH])


def run(ops: list[tuple[object, ...]], stp: int) -> tuple[MatchingEngine, list[Event]]:
    e = MatchingEngine("P", stp=stp)
    out: list[Event] = []
    for i, op in enumerate(ops):
        ts = T + i
        match op:
            case ("submit", int(owner), int(side), int(px), int(qty), int(tif)):
                out += e.submit(ts, i, owner, f"o{i}", side, px, qty, tif)
            case ("market", int(owner), int(side), int(qty)):
                out += e.market(ts, i, owner, f"o{i}", side, qty)
            case ("cancel", int(oid)):
                out += e.cancel(ts, oid)
            case ("amend", int(oid), px, int(qty)):
                out += e.amend(ts, oid, price_ticks=px if isinstance(px, int) else None,
                               qty_lots=qty)  # fmt: skip
            case _:
                raise AssertionError(op)
        bid, ask = e.best_bid, e.best_ask
        assert bid is None or ask is None or bid[0] < ask[0], "book crossed at rest"
    return e, out


@settings(max_examples=150, deadline=None)
@given(_ops, _stp)
def test_book_never_crossed_and_quantity_conserved(ops: list[tuple[object, ...]], stp: int) -> None:
    e, out = run(ops, stp)
    s = e.stats
    # Engine totals (a match fills two orders, so it counts on both sides).
    assert s.submitted_lots == s.filled_lots + e.resting_lots + s.cancelled_lots
    # The same, recomputed from the events alone.
    submitted = 0
    for i, op in enumerate(ops):
        if any(isinstance(x, OrderAccepted) and x.venue_order_id == str(i) for x in out):
            submitted += int(op[4]) if op[0] == "submit" else int(op[3])  # type: ignore[call-overload]
    filled_taker = sum(x.qty_lots for x in out if isinstance(x, Fill) and not x.is_maker)
    filled_maker = sum(x.qty_lots for x in out if isinstance(x, Fill) and x.is_maker)
    assert filled_maker == filled_taker
    assert s.filled_lots == filled_maker + filled_taker
    cancelled = sum(x.remaining_lots for x in out if isinstance(x, OrderCancelled))
    # Amends resize orders: count their effect through the engine's own totals.
    if not any(op[0] == "amend" for op in ops):
        assert submitted == filled_maker + filled_taker + e.resting_lots + cancelled
        assert submitted == s.submitted_lots


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 5)), min_size=1, max_size=30))
def test_fifo_within_a_level(orders: list[tuple[int, int]]) -> None:
    e = MatchingEngine("P", stp=STP_NONE)
    for i, (owner, qty) in enumerate(orders):
        e.submit(T, i, owner, "", SELL, 100, qty)
    total = sum(q for _, q in orders)
    out = e.market(T, 10_000, 9, "", BUY, total)
    makers = [int(x.venue_order_id) for x in out if isinstance(x, Fill) and x.is_maker]
    assert makers == list(range(len(orders)))
    assert e.best_ask is None


@settings(max_examples=50, deadline=None)
@given(_ops, _stp)
def test_same_operations_same_bytes(ops: list[tuple[object, ...]], stp: int) -> None:
    _, a = run(ops, stp)
    _, b = run(ops, stp)
    assert b"".join(map(encode, a)) == b"".join(map(encode, b))
