"""Models and the watchtower, as specifications: given events, when X, then state Y.

Instrument: XRPUSDT-like, tick 0.0001, lot 1, so 20000 ticks = 2.0000 USDT and one lot at one
tick is 0.0001 USDT.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import pytest

from asnd.core.drive import Loop
from asnd.core.instrument import E8
from asnd.core.ledger import FeeSchedule
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig, SlotStatus, strategy_loaded
from asnd.core.strategy import StrategyError
from asnd.core.views import slot_views
from asnd.core.watchtower import RiskLimits
from journal.events import (
    BUY,
    SELL,
    BookStale,
    CancelIntent,
    Event,
    Fill,
    Kill,
    Liquidation,
    ModelDead,
    OrderAmended,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderUnresolved,
    PositionReconciled,
    Resume,
    RiskVerdict,
    Signal,
    Swap,
    TradingHalted,
)

from .scenario import ScriptedVenue, const_strategy, delta, info, loaded, run, snapshot

BOOK = snapshot(1, [(20000, 500), (19999, 500)], [(20001, 500), (20002, 500)])


def setup(
    *,
    slots: int = 1,
    style: Literal["join", "cross"] = "join",
    signal: float = 1.0,
    size: float = 0.0,
    leverage: int = 10,
    risk: RiskLimits | None = None,
) -> tuple[Loop, ScriptedVenue]:
    config = CoreConfig(
        tuple(
            SlotConfig(
                "XRPUSDT", min_qty="10", max_qty="1000", leverage=leverage, order_style=style
            )
            for _ in range(slots)
        ),
        risk=risk or RiskLimits(max_notional_e8=5000 * E8),
        fees=FeeSchedule(),
    )
    loop = Loop(DaemonState(config))
    venue = ScriptedVenue(loop)
    run(loop, venue, [info(), *(loaded(i, const_strategy(signal, size)) for i in range(slots))])
    return loop, venue


def of(kind: type[Event], events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def intents(events: list[Event]) -> list[OrderIntent]:
    return [e for e in events if isinstance(e, OrderIntent)]


def verdicts(events: list[Event]) -> list[RiskVerdict]:
    return [e for e in events if isinstance(e, RiskVerdict)]


# ----------------------------------------------------------------------------- the policy


def test_a_buy_signal_joins_the_best_bid_for_the_target_and_waits_for_it() -> None:
    loop, _ = setup()  # size 0 -> half of [10, 1000]: 505 lots (10x: 2000 USDT buys 999)
    made = loop.feed(BOOK)
    (signal,) = of(Signal, made)
    assert isinstance(signal, Signal)
    assert (signal.signal, signal.trigger_seq, signal.strategy_id) == (1.0, 3, "const")
    (intent,) = intents(made)
    assert (intent.link_id, intent.side, intent.order_type, intent.tif) == (
        "asn-0-0", BUY, "limit", "GTC",
    )  # fmt: skip
    assert (intent.price_ticks, intent.qty_lots, intent.reduce_only) == (20000, 505, False)
    (verdict,) = verdicts(made)
    assert verdict.approved
    assert verdict.intent_seq == intent.seq
    slot = loop.state.slots[0]
    assert slot.orders["asn-0-0"].state == "approved"
    assert slot.last_signal is not None
    assert slot.last_signal.trigger_seq == 3
    # Same touch, same mind: nothing new while the order works (no stacking).
    made = loop.feed(delta(2, [(19999, 400)], []))
    assert intents(made) == []
    assert of(CancelIntent, made) == []
    assert len(of(Signal, made)) == 1


def test_a_resting_order_left_behind_by_the_touch_is_cancelled_then_replaced() -> None:
    loop, venue = setup()
    run(loop, venue, [BOOK])
    assert loop.state.slots[0].orders["asn-0-0"].state == "open"
    moved = delta(2, [(20002, 100)], [(20001, 0), (20002, 0), (20004, 100)])  # bid moved up
    made = run(loop, venue, [moved])
    (cancel,) = of(CancelIntent, made)
    assert isinstance(cancel, CancelIntent)
    assert (cancel.link_id, cancel.reason) == ("asn-0-0", "touch moved")
    assert all(v.approved for v in verdicts(made))
    assert "asn-0-0" not in loop.state.slots[0].orders  # the venue confirmed the cancel
    made = run(loop, venue, [delta(3, [(19999, 0)], [])])
    (intent,) = intents(made)
    assert (intent.link_id, intent.price_ticks) == ("asn-0-1", 20002)


def test_the_target_position_is_reached_once_and_a_flip_goes_through_zero() -> None:
    loop, venue = setup(style="cross")
    made = run(loop, venue, [BOOK])
    (intent,) = intents(made)
    assert (intent.tif, intent.price_ticks, intent.qty_lots) == ("IOC", 20001, 505)
    ledger = loop.state.slots[0].ledger
    assert ledger is not None
    assert ledger.position_lots == 505
    made = run(loop, venue, [delta(2, [(19999, 10)], [])])
    assert intents(made) == [], "already at the target: no pyramiding"
    made = run(loop, venue, [loaded(0, const_strategy(-1.0, 0.0, "short")), delta(3, [], [])])
    (flip,) = intents(made)
    assert (flip.side, flip.qty_lots, flip.price_ticks) == (SELL, 1010, 20000)
    assert ledger.position_lots == -505
    assert loop.state.slots[0].strategy is not None
    assert loop.state.slots[0].strategy.document.id == "short"


def test_no_trading_on_a_stale_book_and_injected_intents_are_refused() -> None:
    loop, venue = setup()
    run(loop, venue, [BookStale(0, 0, "XRPUSDT", "feed lost")])
    made = run(loop, venue, [delta(2, [(19999, 1)], [])])  # ignored while stale: no row
    assert made == []
    rogue = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-9", BUY, "limit", "GTC", 20000, 10, False, 0)
    (verdict,) = loop.feed(rogue)
    assert isinstance(verdict, RiskVerdict)
    assert not verdict.approved
    assert verdict.reason == "book stale: feed lost"
    assert "asn-0-9" not in loop.state.slots[0].orders


def test_watchtower_refusals_name_their_reason() -> None:
    loop, venue = setup(risk=RiskLimits(max_notional_e8=100 * E8, max_open_orders=1))
    made = run(loop, venue, [BOOK])
    (verdict,) = verdicts(made)  # 505 lots at 2.0 = 1010 USDT > 100
    assert not verdict.approved
    assert verdict.reason == "notional 1010.00 USDT would exceed the slot's max 100.00 USDT"
    small = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-1", BUY, "limit", "GTC", 20000, 10, False, 0)
    assert verdicts(loop.feed(small))[0].approved
    second = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-2", BUY, "limit", "GTC", 20000, 10, False, 0)
    assert verdicts(loop.feed(second))[0].reason == "1 open orders (max 1)"
    wrong = OrderIntent(0, 0, 0, "BTCUSDT", "asn-0-3", BUY, "limit", "GTC", 20000, 1, False, 0)
    assert "not the slot's" in verdicts(loop.feed(wrong))[0].reason
    bad = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-4", BUY, "stop", "GTC", 20000, 1, False, 0)
    assert verdicts(loop.feed(bad))[0].reason == "malformed intent: order type 'stop'"
    stray = OrderIntent(0, 0, 7, "XRPUSDT", "asn-7-0", BUY, "limit", "GTC", 20000, 1, False, 0)
    assert verdicts(loop.feed(stray))[0].reason == "unknown slot 7"
    assert "order intent for unknown slot 7" in loop.state.anomalies


def test_a_crossed_book_refuses_new_risk() -> None:
    loop, venue = setup()
    run(loop, venue, [snapshot(1, [(20005, 5)], [(20001, 5)])])
    rogue = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-0", BUY, "limit", "GTC", 20000, 10, False, 0)
    reason = verdicts(loop.feed(rogue))[0].reason
    assert reason == "book stale: crossed snapshot"


def test_unresolved_orders_block_new_intents_until_reconciled() -> None:
    loop, venue = setup(style="cross")
    loop.feed(BOOK)  # intent approved, the venue never answers
    assert loop.state.orders_to_reconcile() == [(0, "XRPUSDT", "asn-0-0")]
    run(loop, venue, [OrderUnresolved(0, 0, 0, "asn-0-0", "timeout")])
    assert loop.state.slots[0].orders["asn-0-0"].state == "unresolved"
    assert intents(run(loop, venue, [delta(2, [(19999, 1)], [])])) == []
    run(loop, venue, [OrderReconciled(0, 0, 0, "asn-0-0", "", "not_found", 0, 0)])
    assert loop.state.slots[0].orders == {}
    assert loop.state.orders_to_reconcile() == []
    (intent,) = intents(run(loop, venue, [delta(3, [(19999, 2)], [])]))
    assert intent.link_id == "asn-0-1", "a link id is never reused"


def test_a_fill_delivered_twice_is_booked_once() -> None:
    loop, venue = setup(style="cross")
    run(loop, venue, [BOOK])
    ledger = loop.state.slots[0].ledger
    assert ledger is not None
    fill = Fill(0, 0, 0, "asn-0-0", "v", "x1", "XRPUSDT", BUY, 20001, 505, 0, False, 0, 0)
    run(loop, venue, [fill])
    assert ledger.position_lots == 505
    assert loop.state.anomalies[-1] == "slot 0: duplicate fill x1 ignored"


def test_a_position_the_venue_disagrees_with_halts_trading() -> None:
    loop, venue = setup(style="cross")
    run(loop, venue, [BOOK])
    assert run(loop, venue, [PositionReconciled(0, 0, "XRPUSDT", 505, 20001)]) == []
    made = run(loop, venue, [PositionReconciled(0, 0, "XRPUSDT", 500, 20001)])
    (halt,) = of(TradingHalted, made)
    assert isinstance(halt, TradingHalted)
    assert halt.reason == "position mismatch on XRPUSDT: venue 500 lots, slots 505 lots"
    assert loop.state.watchtower.halted


# ---------------------------------------------------------------------- sudden death


def test_sudden_death_on_a_crash_kills_liquidates_and_silences_the_model() -> None:
    # 20x leverage: the slot may hold 1000 lots (2000 USDT) on 200 USDT of capital.
    loop, venue = setup(style="cross", size=50.0, leverage=20)
    run(loop, venue, [BOOK])
    slot = loop.state.slots[0]
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 1000
    # Taker fee 550 ppm of 2000.1 USDT = 1.100055; marked at the bid, 0.1 USDT of spread.
    assert loop.state.equity_e8(slot) == 200 * E8 - 110_005_500 - 1000 * 1 * 10_000
    assert slot.status is SlotStatus.ACTIVE

    # The book crashes: the bid falls 2200 ticks (0.22 USDT x 1000 lots = 220 USDT).
    crash = delta(
        2,
        [(20000, 0), (19999, 0), (17800, 50)],
        [(20001, 0), (20002, 0), (17801, 50)],
    )
    made = run(loop, venue, [crash])
    (dead,) = of(ModelDead, made)
    assert isinstance(dead, ModelDead)
    assert dead.slot == 0
    assert dead.equity_e8 == 200 * E8 - 110_005_500 - 1000 * 2201 * 10_000
    (liq,) = of(Liquidation, made)
    assert isinstance(liq, Liquidation)
    (flatten,) = intents(made)
    assert (flatten.link_id, flatten.side, flatten.order_type, flatten.tif) == (
        liq.link_id, SELL, "market", "IOC",
    )  # fmt: skip
    assert flatten.reduce_only
    assert flatten.qty_lots == 1000
    assert verdicts(made)[0].approved
    assert verdicts(made)[0].reason == "ok"
    assert of(Signal, made) == [], "a dying model does not get to speak on its death tick"
    assert slot.ledger.position_lots == 0
    assert slot.status.value == "dead"

    # Afterwards: the model still thinks (signals) but nothing reaches the venue.
    made = run(loop, venue, [delta(3, [(17800, 60)], [])])
    assert len(of(Signal, made)) == 1
    assert intents(made) == []
    rogue = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-99", BUY, "limit", "GTC", 17800, 10, False, 0)
    (verdict,) = loop.feed(rogue)
    assert isinstance(verdict, RiskVerdict)
    assert not verdict.approved
    assert verdict.reason == "slot 0 is dead"
    # Resume cannot revive it.
    run(loop, venue, [Resume(0, 0, 0, "operator")])
    assert slot.status.value == "dead"
    assert loop.state.can_resume(0) == "slot 0 is dead (sudden death is final)"


def test_sudden_death_cancels_working_orders_and_retries_a_partial_liquidation() -> None:
    loop, venue = setup(style="cross", size=50.0, leverage=20)
    run(loop, venue, [BOOK])
    slot = loop.state.slots[0]
    extra = OrderIntent(0, 0, 0, "XRPUSDT", "asn-0-1", SELL, "limit", "GTC", 20050, 10, False, 0)
    run(loop, venue, [extra])
    assert slot.orders["asn-0-1"].state == "open"
    loop_only = delta(
        2, [(20000, 0), (19999, 0), (17800, 50)], [(20001, 0), (20002, 0), (17801, 50)]
    )
    made = loop.feed(loop_only)  # the venue does not answer: watch the decisions alone
    assert [type(e).__name__ for e in made] == [
        "ModelDead", "CancelIntent", "Liquidation", "OrderIntent", "RiskVerdict", "RiskVerdict",
    ]  # fmt: skip
    assert slot.status is SlotStatus.REDUCING
    assert slot.goal is SlotStatus.DEAD
    # Scripted by hand: the venue cancels the resting order and fills only 400 of the
    # 1000-lot liquidation, cancelling the rest.
    liq = intents(made)[0]
    partial = Fill(0, 0, 0, liq.link_id, "v", "p1", "XRPUSDT", SELL, 17800, 400, 0, False, 0, 0)
    run(loop, venue, [OrderCancelled(0, 0, 0, "asn-0-1", "v", "kill"), partial])
    run(loop, venue, [OrderCancelled(0, 0, 0, liq.link_id, "v", "IOC rest", 600)])
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 600
    assert slot.status is SlotStatus.REDUCING
    made = run(loop, venue, [delta(3, [(17800, 70)], [])])  # next book event: try again
    (again,) = intents(made)
    assert again.reduce_only
    assert again.qty_lots == 600
    assert again.link_id == "asn-0-3"
    assert slot.status.value == "dead"
    assert slot.ledger.position_lots == 0


# ----------------------------------------------------------------------- kill and resume


def test_kill_all_flattens_and_halts_everything_and_resume_restores_trading() -> None:
    loop, venue = setup(slots=3, style="cross")
    run(loop, venue, [BOOK])
    assert [s.ledger.position_lots for s in loop.state.slots if s.ledger] == [505] * 3
    made = run(loop, venue, [Kill(0, 0, -1, "operator")])
    assert of(TradingHalted, made)
    assert len(of(Liquidation, made)) == 3
    assert all(v.approved for v in verdicts(made)), "liquidations pass the halt"
    assert [s.status for s in loop.state.slots] == [SlotStatus.HALTED] * 3
    assert all(s.ledger is not None and s.ledger.position_lots == 0 for s in loop.state.slots)
    made = run(loop, venue, [delta(2, [(19999, 1)], [])])
    assert intents(made) == []
    assert len(of(Signal, made)) == 3
    rogue = OrderIntent(0, 0, 1, "XRPUSDT", "asn-1-50", BUY, "limit", "GTC", 20000, 10, False, 0)
    assert verdicts(loop.feed(rogue))[0].reason == "trading halted: kill all: operator"

    run(loop, venue, [Resume(0, 0, 2, "operator")])
    assert loop.state.slots[2].status is SlotStatus.ACTIVE
    assert intents(run(loop, venue, [delta(3, [(19999, 2)], [])])) == [], "still halted"
    run(loop, venue, [Resume(0, 0, -1, "operator")])
    made = run(loop, venue, [delta(4, [(19999, 3)], [])])
    assert len(intents(made)) == 3
    assert all(v.approved for v in verdicts(made))


def test_kill_one_slot_leaves_the_others_trading() -> None:
    loop, venue = setup(slots=2, style="cross")
    run(loop, venue, [BOOK, Kill(0, 0, 1, "operator")])
    assert [s.status for s in loop.state.slots] == [SlotStatus.ACTIVE, SlotStatus.HALTED]
    assert not loop.state.watchtower.halted
    assert loop.state.can_resume(1) == ""
    assert loop.state.can_resume(0) != ""


def test_kill_in_cancel_mode_keeps_the_position() -> None:
    loop, venue = setup(
        style="cross", risk=RiskLimits(max_notional_e8=5000 * E8, kill_mode="cancel")
    )
    run(loop, venue, [BOOK, Kill(0, 0, 0, "operator")])
    slot = loop.state.slots[0]
    assert slot.status is SlotStatus.HALTED
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 505


def test_a_flattening_swap_closes_the_position_and_keeps_trading() -> None:
    loop, venue = setup(style="cross")
    run(loop, venue, [BOOK])
    swap = Swap(0, 0, 0, "const", "calm", "flatten", "operator")
    made = run(loop, venue, [loaded(0, const_strategy(0.0, 0.0, "calm")), swap])
    assert len(of(Liquidation, made)) == 1
    slot = loop.state.slots[0]
    assert slot.status is SlotStatus.ACTIVE
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 0


def test_a_strategy_that_fails_validation_is_refused_and_the_old_one_stays() -> None:
    loop, venue = setup()
    run(loop, venue, [loaded(0, '{"format": "asn-strategy", "version": 1, "id": "x"}')])
    slot = loop.state.slots[0]
    assert slot.strategy is not None
    assert slot.strategy.document.id == "const"
    assert slot.strategy_error == "features: missing"
    assert loop.state.anomalies[-1] == "slot 0: strategy refused: features: missing"


def test_a_swap_in_an_unknown_mode_keeps_everything_and_says_so() -> None:
    loop, venue = setup(style="cross")
    run(loop, venue, [BOOK, Swap(0, 0, 0, "const", "const", "sideways", "operator")])
    slot = loop.state.slots[0]
    assert slot.status is SlotStatus.ACTIVE
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 505
    assert loop.state.anomalies[-1] == "slot 0: swap mode 'sideways' unknown; kept as inherit"


def test_status_views_show_what_asnctl_prints() -> None:
    loop, venue = setup(style="cross")
    run(loop, venue, [BOOK])
    (view,) = slot_views(loop.state)
    assert (view.slot, view.symbol, view.strategy_id, view.status) == (
        0,
        "XRPUSDT",
        "const",
        "active",
    )
    assert (view.position_lots, view.position, view.avg_entry_ticks) == (505, "505", 20001.0)
    # Taker fee: 550 ppm of 1010.0505 USDT = 0.555527775 -> 0.55552778 (rounded up); one
    # tick of spread on 505 lots costs 0.0505 at the bid, half of it at the mid.
    assert view.fees_e8 == 55_552_778
    assert view.equity_e8 == 200 * E8 - 55_552_778 - 505 * 10_000
    assert view.equity == "199.39"
    assert view.mid_equity_e8 == 200 * E8 - 55_552_778 - 505 * 5_000
    assert (view.open_orders, view.intents, view.last_signal) == (0, 1, 1.0)
    assert view.as_dict()["status"] == "active"


def test_a_live_swap_keeps_the_working_order_and_books_its_fill() -> None:
    loop, venue = setup()
    run(loop, venue, [BOOK])  # a GTC bid rests at 20000
    swap = Swap(0, 0, 0, "const", "other", "inherit", "operator")
    run(loop, venue, [loaded(0, const_strategy(1.0, 0.0, "other")), swap])
    slot = loop.state.slots[0]
    assert slot.strategy is not None
    assert slot.strategy.document.id == "other"
    assert slot.orders["asn-0-0"].state == "open"
    fill = Fill(0, 0, 0, "asn-0-0", "v", "f1", "XRPUSDT", BUY, 20000, 505, 0, True, 0, 0)
    run(loop, venue, [fill])
    assert slot.orders == {}
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 505
    assert slot.ledger.fees_e8 == 20_200_000  # maker 200 ppm of 1010 USDT


def test_strategy_loaded_events_are_validated_before_they_exist() -> None:
    doc = const_strategy(0.7, 0.0, "fresh")
    event = strategy_loaded(0, doc.encode(), "etc/strategies/fresh.json", 42)
    assert (event.slot, event.strategy_id, event.source, event.ts_local_ns) == (
        0, "fresh", "etc/strategies/fresh.json", 42,
    )  # fmt: skip
    assert event.document == doc
    assert event.digest == hashlib.sha256(doc.encode()).hexdigest()
    with pytest.raises(StrategyError, match="features: missing"):
        strategy_loaded(0, '{"format": "asn-strategy", "version": 1, "id": "x"}', "f", 0)


def test_trading_resumes_on_the_snapshot_after_a_stale_book() -> None:
    loop, venue = setup(style="cross")
    run(loop, venue, [BookStale(0, 0, "XRPUSDT", "feed lost")])
    made = run(loop, venue, [snapshot(50, [(20010, 5)], [(20011, 5)])])
    (intent,) = intents(made)
    assert intent.price_ticks == 20011
    assert loop.state.touch["XRPUSDT"] == (20010, 20011)


def test_an_amended_order_keeps_what_already_filled() -> None:
    loop, venue = setup()
    run(loop, venue, [BOOK])
    part = Fill(0, 0, 0, "asn-0-0", "v", "f1", "XRPUSDT", BUY, 20000, 5, 0, True, 0, 500)
    run(loop, venue, [part, OrderAmended(0, 0, 0, "asn-0-0", 19999, 300)])
    order = loop.state.slots[0].orders["asn-0-0"]
    assert (order.price_ticks, order.qty_lots, order.leaves_lots) == (19999, 300, 295)
