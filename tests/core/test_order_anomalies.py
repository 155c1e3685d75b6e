"""Events for orders a slot does not hold open: late ones are booked, the rest kill the slot.

Given one slot with a resting order, when the venue reports a fill, cancel or amend for an
order the slot never had or that already finished, then the slot is killed with the reason
(journaled as a ``Kill`` decision) and the fill is still booked; a fill within what a
cancelled order may still owe (it raced the cancel) and a repeated cancel are not anomalies.
"""

from __future__ import annotations

from asnd.core.drive import Loop, replay
from asnd.core.instrument import E8
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig, SlotStatus
from asnd.core.watchtower import RiskLimits
from journal.events import (
    BUY,
    SELL,
    CancelIntent,
    Event,
    Fill,
    Kill,
    Liquidation,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderSent,
    RiskVerdict,
)

from .scenario import SYMBOL, const_strategy, info, loaded, snapshot

CONFIG = CoreConfig(
    (SlotConfig(SYMBOL, min_qty="10", max_qty="400", leverage=10),),
    risk=RiskLimits(max_notional_e8=20_000 * E8),
)
LINK = "asn-0-0"
_execs = iter(range(1, 1_000_000))


def resting(qty: int = 100) -> Loop:
    """A slot (whose model never trades by itself) with ``LINK`` resting: ``qty`` lots."""
    loop = Loop(DaemonState(CONFIG))
    loop.feed_all([
        info(),
        loaded(0, const_strategy(0.0)),
        snapshot(1, [(19_999, 500)], [(20_001, 500)]),
        OrderIntent(0, 0, 0, SYMBOL, LINK, BUY, "limit", "GTC", 19_999, qty, False, 0),
    ])  # fmt: skip
    verdict = loop.journal[-1]
    assert isinstance(verdict, RiskVerdict)
    assert verdict.approved, verdict.reason
    loop.feed_all([OrderSent(0, 0, 0, LINK, verdict.intent_seq), OrderAccepted(0, 0, 0, LINK, "7")])
    assert loop.state.slots[0].orders[LINK].state == "open"
    return loop


def fill(qty: int, leaves: int, link: str = LINK, side: int = BUY) -> Fill:
    return Fill(0, 0, 0, link, "7", f"e{next(_execs)}", SYMBOL, side, 19_999, qty, 0, True, 0,
                leaves)  # fmt: skip


def cancelled(remaining: int, link: str = LINK) -> OrderCancelled:
    return OrderCancelled(0, 0, 0, link, "7", "CancelByUser", remaining)


def kills(made: list[Event]) -> list[Kill]:
    return [e for e in made if isinstance(e, Kill)]


def position(loop: Loop) -> int:
    ledger = loop.state.slots[0].ledger
    assert ledger is not None
    return ledger.position_lots


def test_a_fill_for_a_cancelled_order_kills_the_slot_books_it_and_flattens() -> None:
    loop = resting()
    loop.feed(cancelled(100))
    made = loop.feed(fill(40, 60))
    (kill,) = kills(made)
    assert kill.slot == 0
    assert kill.reason.startswith("anomaly: slot 0: fill ")
    assert f"for order {LINK} not held open (cancelled; booked)" in kill.reason
    assert position(loop) == 40, "the venue's fill is booked: flattening must close it"
    liquidation = next(e for e in made if isinstance(e, Liquidation))
    assert liquidation.qty_lots == 40
    slot = loop.state.slots[0]
    assert slot.status is SlotStatus.REDUCING
    assert slot.goal is SlotStatus.HALTED
    assert any("not held open" in a for a in loop.state.anomalies)


def test_a_fill_for_an_order_never_known_kills_the_slot() -> None:
    loop = resting()
    (kill,) = kills(loop.feed(fill(5, 0, link="asn-0-77")))
    assert "order asn-0-77 not held open (unknown; booked)" in kill.reason
    assert position(loop) == 5


def test_a_fill_for_a_filled_order_kills_the_slot() -> None:
    loop = resting(10)
    assert kills(loop.feed(fill(10, 0))) == []
    (kill,) = kills(loop.feed(fill(10, 0)))
    assert "(filled; booked)" in kill.reason


def test_a_fill_that_raced_the_cancel_is_booked_within_what_the_order_owed() -> None:
    loop = resting(100)
    loop.feed(CancelIntent(0, 0, 0, SYMBOL, LINK, "touch moved", 0))
    # "Cancel sent" is still open: a fill now is ordinary.
    assert kills(loop.feed(fill(20, 80))) == []
    # The venue filled 30 more before it saw our cancel: 50 cancelled, 30 still to come.
    assert kills(loop.feed(cancelled(50))) == []
    assert kills(loop.feed(fill(30, 50))) == []
    assert position(loop) == 50
    assert loop.state.slots[0].status is SlotStatus.ACTIVE
    assert any("late fill" in a for a in loop.state.anomalies)
    # Nothing more was owed.
    (kill,) = kills(loop.feed(fill(1, 49)))
    assert "(cancelled; booked)" in kill.reason


def test_a_cancel_without_its_remainder_may_be_followed_by_fills_up_to_the_leaves() -> None:
    loop = resting(100)
    loop.feed(cancelled(0))  # Bybit's REST answer does not say what was left
    assert kills(loop.feed(fill(100, 0))) == []
    assert kills(loop.feed(fill(1, 0))) != []


def test_a_lookup_that_counted_fills_we_have_not_seen_owes_them() -> None:
    loop = resting(100)
    loop.feed(OrderReconciled(0, 0, 0, LINK, "7", "filled", 100, 0))
    assert kills(loop.feed(fill(60, 40))) == []
    assert kills(loop.feed(fill(40, 0))) == []
    assert kills(loop.feed(fill(1, 0))) != []


def test_a_repeated_cancel_is_ignored_but_a_cancel_of_an_unknown_order_kills() -> None:
    loop = resting()
    loop.feed(cancelled(100))
    assert kills(loop.feed(cancelled(100))) == []  # Bybit answers the request and streams it
    assert loop.state.slots[0].status is SlotStatus.ACTIVE
    (kill,) = kills(loop.feed(cancelled(5, link="asn-0-99")))
    assert kill.reason == "anomaly: slot 0: cancel of order asn-0-99 not held open (unknown)"


def test_an_amend_of_an_order_not_held_kills_the_slot() -> None:
    loop = resting()
    loop.feed(OrderAmended(0, 0, 0, LINK, 19_998, 100))
    assert loop.state.slots[0].orders[LINK].price_ticks == 19_998
    loop.feed(cancelled(100))
    (kill,) = kills(loop.feed(OrderAmended(0, 0, 0, LINK, 19_997, 100)))
    assert kill.reason == f"anomaly: slot 0: amend of order {LINK} not held open (cancelled)"


def fill_liquidation(loop: Loop) -> int:
    """The venue takes the latest liquidation whole; its size."""
    liquidation = next(e for e in reversed(loop.journal) if isinstance(e, OrderIntent))
    assert liquidation.reduce_only
    loop.feed_all([OrderSent(0, 0, 0, liquidation.link_id, liquidation.seq),
                   OrderAccepted(0, 0, 0, liquidation.link_id, "8"),
                   fill(liquidation.qty_lots, 0, link=liquidation.link_id, side=SELL)])  # fmt: skip
    return liquidation.qty_lots


def test_a_slot_already_halting_is_not_killed_again_and_a_halted_one_is() -> None:
    loop = resting()
    loop.feed(cancelled(100))
    assert len(kills(loop.feed(fill(40, 60)))) == 1
    assert kills(loop.feed(fill(10, 50))) == [], "one journaled reason per disagreement"
    assert position(loop) == 50
    assert fill_liquidation(loop) == 40
    loop.feed(snapshot(2, [(19_999, 500)], [(20_001, 500)]))  # the next book: liquidate the rest
    assert fill_liquidation(loop) == 10
    assert position(loop) == 0
    assert loop.state.slots[0].status is SlotStatus.HALTED
    # Halted and flat, a new stray fill opens a position again: kill (and flatten) again.
    assert len(kills(loop.feed(fill(5, 45)))) == 1
    assert fill_liquidation(loop) == 5


def test_the_anomaly_replays_and_survives_a_snapshot() -> None:
    loop = resting()
    loop.feed(cancelled(100))
    restored = DaemonState.restore(CONFIG, loop.state.snapshot())
    assert restored.slots[0].finished == loop.state.slots[0].finished
    again = Loop(restored, next_seq=loop.next_seq)
    stray = fill(40, 60)
    live = loop.feed(stray)
    assert [type(e) for e in again.feed(stray)] == [type(e) for e in live]
    assert kills(live)
    fresh = DaemonState(CONFIG)
    replay(fresh, loop.journal)
    assert fresh.snapshot() == loop.state.snapshot()
