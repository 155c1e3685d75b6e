"""Watchtower invariants over drawn markets, strategies and limits: whatever the models want,
no approved order can take a slot past its notional limit or out of its state."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.drive import Loop
from asnd.core.instrument import E8
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig, SlotStatus
from asnd.core.watchtower import RiskLimits
from journal.events import BUY, SELL, Event, Kill, Resume, RiskVerdict

from .scenario import ScriptedVenue, const_strategy, loaded, run, synthetic_market


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    signals=st.lists(st.floats(-2, 2), min_size=3, max_size=3),
    sizes=st.lists(st.floats(-5, 5), min_size=3, max_size=3),
    max_notional=st.integers(50, 3000),
    max_orders=st.integers(1, 3),
    kill_at=st.integers(0, 80),
)
def test_approved_orders_respect_limits_and_states(
    *,
    seed: int,
    signals: list[float],
    sizes: list[float],
    max_notional: int,
    max_orders: int,
    kill_at: int,
) -> None:
    limits = RiskLimits(max_notional_e8=max_notional * E8, max_open_orders=max_orders)
    config = CoreConfig(
        tuple(
            SlotConfig("XRPUSDT", "10", "800", leverage=10, order_style=style)
            for style in ("join", "cross", "join")
        ),
        risk=limits,
    )
    loop = Loop(DaemonState(config))
    venue = ScriptedVenue(loop)
    market = list(synthetic_market(seed, 100))
    inputs: list[Event] = [market[0]]
    inputs += [loaded(i, const_strategy(signals[i], sizes[i], f"s{i}")) for i in range(3)]
    body = market[1:]
    inputs += [*body[:kill_at], Kill(0, 0, 1, "test"), *body[kill_at : kill_at + 20]]
    inputs += [Resume(0, 0, 1, "test"), *body[kill_at + 20 :]]
    run(loop, venue, inputs)

    shadow = DaemonState(config)
    for event in loop.journal:
        if isinstance(event, RiskVerdict) and event.approved:
            _check_approval(shadow, event, limits)
        shadow.apply(event)


def _check_approval(state: DaemonState, verdict: RiskVerdict, limits: RiskLimits) -> None:
    slot = state.slots[verdict.slot]
    order = next((o for o in slot.orders.values() if o.intent_seq == verdict.intent_seq), None)
    if order is None:
        return  # a cancel: always passes
    assert slot.ledger is not None
    assert slot.instrument is not None
    pos = slot.ledger.position_lots
    if order.liquidation or order.reduce_only:
        assert order.side == (SELL if pos > 0 else BUY)
        assert order.qty_lots <= abs(pos)
        return
    assert slot.status is SlotStatus.ACTIVE, "only an active slot may add risk"
    assert not state.watchtower.halted
    assert len(slot.orders) <= limits.max_open_orders
    buys = sum(o.leaves_lots for o in slot.orders.values() if o.side == BUY)
    sells = sum(o.leaves_lots for o in slot.orders.values() if o.side == SELL)
    worst = max(abs(pos + buys), abs(pos - sells))
    notional = slot.instrument.notional_e8(worst * order.price_ticks)
    assert notional <= Fraction(limits.max_notional_e8)
