"""Risk brakes and halt reasons, as specifications: given events, when equity falls past a
brake, then the slot (or every slot) is reducing/halted with the reason; what a resume does.

Instrument: XRPUSDT-like, tick 0.0001, lot 1: one lot moving one tick is 0.0001 USDT, so the
505-lot position the constant model buys loses 0.0505 USDT per tick.
"""

from __future__ import annotations

import msgspec
import pytest

from asnd.backtest.parity import verify_decisions
from asnd.core.brakes import NS_PER_DAY, BrakeLimits, utc_day
from asnd.core.drive import Loop, recover
from asnd.core.halts import daemon_halt, slot_halt
from asnd.core.instrument import E8
from asnd.core.ledger import FeeSchedule
from asnd.core.portfolio import CoreConfig, DaemonState, SnapshotError
from asnd.core.slot import Slot, SlotConfig, SlotStatus
from asnd.core.watchtower import RiskLimits
from journal.events import (
    BookStale,
    Event,
    Fill,
    Kill,
    Liquidation,
    ModelDead,
    OrderCancelled,
    OrderIntent,
    Resume,
    RiskHalt,
    TradingHalted,
)

from .scenario import ScriptedVenue, const_strategy, delta, info, loaded, run, snapshot

#: 2026-12-02 00:00 UTC, and hours after it.
DAY = 20_789 * NS_PER_DAY
HOUR = 3_600 * 1_000_000_000


def book(ts: int) -> Event:
    return snapshot(1, [(20000, 500), (19999, 500)], [(20001, 500), (20002, 500)], ts=ts)


def bid_at(update_id: int, bid: int, ts: int) -> Event:
    """The whole book moves so that the best bid is ``bid`` (and the ask one tick above)."""
    return snapshot(update_id, [(bid, 500), (bid - 1, 500)], [(bid + 1, 500)], ts=ts)


def setup(
    *,
    slots: int = 1,
    slot_brakes: BrakeLimits | None = None,
    daemon_brakes: BrakeLimits | None = None,
    ts: int = DAY + HOUR,
) -> tuple[Loop, ScriptedVenue, CoreConfig]:
    """Cross-style constant buyers, positioned (505 lots each) on a first book at ``ts``."""
    config = CoreConfig(
        tuple(
            SlotConfig(
                "XRPUSDT",
                min_qty="10",
                max_qty="1000",
                leverage=10,
                order_style="cross",
                brakes=slot_brakes or BrakeLimits(),
            )
            for _ in range(slots)
        ),
        risk=RiskLimits(max_notional_e8=5000 * E8, brakes=daemon_brakes or BrakeLimits()),
        fees=FeeSchedule(),
    )
    loop = Loop(DaemonState(config))
    venue = ScriptedVenue(loop)
    run(loop, venue, [info(), *(loaded(i, const_strategy(1.0)) for i in range(slots))])
    run(loop, venue, [book(ts)])
    assert [s.ledger.position_lots for s in loop.state.slots if s.ledger] == [505] * slots
    return loop, venue, config


def status(slot: Slot) -> SlotStatus:
    """The slot's status now (a call: the type checker does not keep an old narrowing)."""
    return slot.status


def of(kind: type[Event], events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def test_a_daily_loss_flattens_and_halts_the_slot_with_the_reason() -> None:
    loop, venue, _ = setup(slot_brakes=BrakeLimits(max_daily_loss_e8=20 * E8))
    slot = loop.state.slots[0]
    start = slot.brake.day_start_e8
    assert start is not None
    assert slot.brake.day == utc_day(DAY)
    # 300 ticks down: 15.15 USDT lost today, under the 20 USDT limit.
    made = run(loop, venue, [bid_at(2, 19700, DAY + 2 * HOUR)])
    assert of(RiskHalt, made) == []
    assert status(slot) is SlotStatus.ACTIVE
    # 500 ticks down from the start: past the limit.
    made = run(loop, venue, [bid_at(3, 19500, DAY + 3 * HOUR)])
    (halt,) = of(RiskHalt, made)
    assert isinstance(halt, RiskHalt)
    assert (halt.slot, halt.rule, halt.utc_day) == (0, "max_daily_loss", utc_day(DAY))
    assert halt.reason.startswith("max_daily_loss: slot 0 (XRPUSDT) lost 25.")
    assert "on 2026-12-02 (UTC) (limit 20.00 USDT)" in halt.reason
    assert of(ModelDead, made) == [], "a brake is not a death"
    (flatten,) = [e for e in made if isinstance(e, OrderIntent)]
    assert flatten.reduce_only
    assert flatten.qty_lots == 505
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 0
    assert status(slot) is SlotStatus.HALTED
    view = slot_halt(loop.state, slot)
    assert view is not None
    assert view.reason == halt.reason
    assert view.since_ns == DAY + 3 * HOUR
    assert view.clears == "asnctl resume 0 from 2026-12-03 00:00 UTC (the day's loss limit)"

    # The same UTC day: a resume is refused with the reason, and changes nothing if applied.
    later = DAY + 20 * HOUR
    why = loop.state.can_resume(0, later)
    assert why.startswith("slot 0 is halted by max_daily_loss: slot 0 (XRPUSDT) lost 25.")
    assert why.endswith("; it holds until 2026-12-03 00:00 UTC")
    run(loop, venue, [Resume(0, later, 0, "operator")])
    assert status(slot) is SlotStatus.HALTED
    assert loop.state.anomalies[-1] == f"resume 0 refused: {why}"
    made = run(loop, venue, [bid_at(4, 19500, later + 1)])
    assert [e for e in made if isinstance(e, OrderIntent)] == []

    # The next UTC day: the resume is accepted and the day's count starts at the equity now.
    tomorrow = DAY + NS_PER_DAY + HOUR
    assert loop.state.can_resume(0, tomorrow) == ""
    run(loop, venue, [Resume(0, tomorrow, 0, "operator")])
    assert status(slot) is SlotStatus.ACTIVE
    assert slot_halt(loop.state, slot) is None
    assert slot.brake.day == utc_day(tomorrow)
    assert slot.brake.day_start_e8 == loop.state.equity_e8(slot)
    made = run(loop, venue, [bid_at(5, 19500, tomorrow + 1)])
    assert len([e for e in made if isinstance(e, OrderIntent)]) == 1, "it trades again"


def test_the_day_is_the_utc_day_of_the_event_time() -> None:
    """15 USDT lost before midnight and 15 after: neither day reaches 20; 6 more does."""
    loop, venue, _ = setup(slot_brakes=BrakeLimits(max_daily_loss_e8=20 * E8), ts=DAY + 23 * HOUR)
    slot = loop.state.slots[0]
    made = run(loop, venue, [bid_at(2, 19703, DAY + NS_PER_DAY - 1)])  # 23:59:59.999999999
    assert of(RiskHalt, made) == []
    assert slot.brake.day == utc_day(DAY)
    made = run(loop, venue, [bid_at(3, 19406, DAY + NS_PER_DAY)])  # 00:00 the next day
    assert of(RiskHalt, made) == []
    assert slot.brake.day == utc_day(DAY) + 1
    made = run(loop, venue, [bid_at(4, 19286, DAY + NS_PER_DAY + HOUR)])
    (halt,) = of(RiskHalt, made)
    assert isinstance(halt, RiskHalt)
    assert halt.utc_day == utc_day(DAY) + 1
    assert "on 2026-12-03 (UTC)" in halt.reason


def test_a_drawdown_counts_from_the_high_water_mark_and_resume_rebases_it() -> None:
    loop, venue, _ = setup(slot_brakes=BrakeLimits(max_drawdown_e8=20 * E8))
    slot = loop.state.slots[0]
    # Up 1000 ticks (+50.5 USDT), then down 500 from there: still far above the capital,
    # but 25 USDT below the best equity seen.
    run(loop, venue, [bid_at(2, 21000, DAY + 2 * HOUR)])
    high = slot.brake.hwm_e8
    assert high == loop.state.equity_e8(slot)
    assert high > slot.config.capital_e8 + 45 * E8
    made = run(loop, venue, [bid_at(3, 20500, DAY + 3 * HOUR)])
    (halt,) = of(RiskHalt, made)
    assert isinstance(halt, RiskHalt)
    assert halt.rule == "max_drawdown"
    assert "below its high-water mark" in halt.reason
    assert status(slot) is SlotStatus.HALTED
    view = slot_halt(loop.state, slot)
    assert view is not None
    assert view.clears == "asnctl resume 0 (re-bases its high-water mark to the current equity)"
    # A drawdown brake does not expire; the operator's resume accepts the loss.
    assert loop.state.can_resume(0, DAY + 4 * HOUR) == ""
    run(loop, venue, [Resume(0, DAY + 4 * HOUR, 0, "operator")])
    assert status(slot) is SlotStatus.ACTIVE
    assert slot.brake.hwm_e8 == loop.state.equity_e8(slot)
    assert slot.brake.hwm_e8 < high


def test_a_daemon_wide_brake_halts_every_slot_with_the_reason() -> None:
    loop, venue, _ = setup(slots=2, daemon_brakes=BrakeLimits(max_drawdown_e8=30 * E8))
    # 400 ticks down: each slot loses 20.2 USDT (no slot brake), 40.4 in all.
    made = run(loop, venue, [bid_at(2, 19600, DAY + 2 * HOUR)])
    (halt,) = of(RiskHalt, made)
    assert isinstance(halt, RiskHalt)
    assert (halt.slot, halt.rule) == (-1, "max_drawdown")
    assert halt.reason.startswith("max_drawdown: all slots equity ")
    assert len(of(Liquidation, made)) == 2
    tower = loop.state.watchtower
    assert tower.halted
    assert tower.halt_reason == halt.reason
    assert [s.status for s in loop.state.slots] == [SlotStatus.HALTED] * 2
    daemon = daemon_halt(loop.state)
    assert daemon is not None
    assert (daemon.reason, daemon.since_ns) == (halt.reason, DAY + 2 * HOUR)
    assert daemon.clears == "asnctl resume all (re-bases the high-water mark to the current equity)"
    for slot in loop.state.slots:
        view = slot_halt(loop.state, slot)
        assert view is not None
        assert view.reason == halt.reason
    run(loop, venue, [Resume(0, DAY + 3 * HOUR, -1, "operator")])
    assert not loop.state.watchtower.halted, "resumed"
    assert [s.status for s in loop.state.slots] == [SlotStatus.ACTIVE] * 2
    assert tower.brake.hwm_e8 == loop.state.total_equity_e8()


def test_sudden_death_still_comes_first() -> None:
    """A crash straight through the brake to zero is a death, not a brake."""
    loop, venue, _ = setup(slot_brakes=BrakeLimits(max_drawdown_e8=20 * E8))
    made = run(loop, venue, [bid_at(2, 15000, DAY + 2 * HOUR)])
    assert of(RiskHalt, made) == []
    assert len(of(ModelDead, made)) == 1
    slot = loop.state.slots[0]
    assert status(slot) is SlotStatus.DEAD
    view = slot_halt(loop.state, slot)
    assert view is not None
    assert view.reason.startswith("sudden death: equity -")
    assert view.clears == "nothing: sudden death is final"


def test_replay_makes_the_same_brake_decisions_and_state() -> None:
    loop, venue, config = setup(
        slots=2,
        slot_brakes=BrakeLimits(max_daily_loss_e8=12 * E8),
        daemon_brakes=BrakeLimits(max_drawdown_e8=100 * E8),
    )
    steps = [
        bid_at(2, 19850, DAY + 2 * HOUR),
        bid_at(3, 19700, DAY + 3 * HOUR),  # both slots brake (15 USDT each)
        Resume(0, DAY + 4 * HOUR, -1, "operator"),  # refused: the day's brakes hold
        Resume(0, DAY + NS_PER_DAY + HOUR, 1, "operator"),
        bid_at(4, 19650, DAY + NS_PER_DAY + 2 * HOUR),
    ]
    for step in steps:
        run(loop, venue, [step])
    assert [s.status for s in loop.state.slots] == [SlotStatus.HALTED, SlotStatus.ACTIVE]
    assert len(of(RiskHalt, loop.journal)) == 2
    report = verify_decisions(config, loop.journal)
    assert report.identical, [str(d) for d in report.differences]
    assert report.decisions["RiskHalt"] == 2
    again = recover(config, None, loop.journal)
    assert again.snapshot() == loop.state.snapshot()
    restored = DaemonState.restore(config, loop.state.snapshot())
    assert restored.snapshot() == loop.state.snapshot()
    assert restored.slots[0].halt == loop.state.slots[0].halt
    assert restored.slots[0].halt.rule == "max_daily_loss"


def test_resume_all_is_refused_while_a_liquidation_is_stuck() -> None:
    """The issue's case: liquidations left a position; "resume all" would halt again at the
    next book update, so it is refused with the reason and what to do; a kill retries."""
    loop, venue, _ = setup()
    slot = loop.state.slots[0]
    made = loop.feed(Kill(0, DAY + 2 * HOUR, 0, "operator: asnctl kill"))
    for update in range(3):
        (liq,) = [e for e in made if isinstance(e, OrderIntent)]
        partial = Fill(
            0, 0, 0, liq.link_id, "v", f"p{update}", "XRPUSDT", -1, 20000, 10, 0, False, 0, 0
        )
        loop.feed(partial)
        loop.feed(OrderCancelled(0, 0, 0, liq.link_id, "v", "IOC rest", liq.qty_lots - 10))
        made = loop.feed(delta(10 + update, [(19999, 7 + update)], [], ts=DAY + 3 * HOUR))
    (halted,) = of(TradingHalted, made)
    assert isinstance(halted, TradingHalted)
    assert halted.reason == (
        "liquidation failed: slot 0: 3 liquidations left 475 lots open; an operator must close them"
    )
    stuck = (
        "slot 0 (XRPUSDT) still holds 475 lots after 3 liquidations: close the position by "
        "hand or asnctl kill 0 (liquidates again)"
    )
    assert loop.state.can_resume(-1, DAY + 4 * HOUR) == f"{stuck}; then asnctl resume all"
    assert loop.state.can_resume(0, DAY + 4 * HOUR) == f"{stuck}; then asnctl resume 0"
    daemon = daemon_halt(loop.state)
    assert daemon is not None
    assert daemon.reason == halted.reason
    assert daemon.clears == f"{stuck}, then asnctl resume all"
    view = slot_halt(loop.state, slot)
    assert view is not None
    assert view.reason == "kill: operator: asnctl kill"
    assert view.since_ns == DAY + 2 * HOUR
    loop.feed(Resume(0, DAY + 4 * HOUR, -1, "operator"))
    assert loop.state.watchtower.halted, "the refused resume changed nothing"
    # A kill tries the liquidation again; once flat, resume all is accepted.
    run(loop, venue, [Kill(0, DAY + 5 * HOUR, 0, "operator: asnctl kill")])
    assert slot.ledger is not None
    assert slot.ledger.position_lots == 0
    assert status(slot) is SlotStatus.HALTED
    assert loop.state.can_resume(-1, DAY + 6 * HOUR) == ""


def test_a_kill_retries_the_liquidation_of_a_dying_slot_that_got_stuck() -> None:
    loop, venue, _ = setup()
    slot = loop.state.slots[0]
    made = loop.feed(bid_at(2, 15000, DAY + 2 * HOUR))  # sudden death; the venue stays silent
    assert of(ModelDead, made)
    for attempt in range(3):
        (liq,) = [e for e in made if isinstance(e, OrderIntent)]
        loop.feed(OrderCancelled(0, 0, 0, liq.link_id, "v", "IOC not filled", liq.qty_lots))
        made = loop.feed(delta(10 + attempt, [(14999, 7 + attempt)], [], ts=DAY + 3 * HOUR))
    assert of(TradingHalted, made)
    assert status(slot) is SlotStatus.REDUCING
    assert slot.goal is SlotStatus.DEAD
    view = slot_halt(loop.state, slot)
    assert view is not None
    assert view.clears == (
        "slot 0 (XRPUSDT) still holds 505 lots after 3 liquidations: close the position by "
        "hand or asnctl kill 0 (liquidates again)"
    )
    made = run(loop, venue, [Kill(0, DAY + 4 * HOUR, 0, "operator: asnctl kill")])
    (again,) = [e for e in made if isinstance(e, OrderIntent)]
    assert again.reduce_only
    assert again.qty_lots == 505
    assert status(slot) is SlotStatus.DEAD, "flat now, and still dead"
    assert loop.state.can_resume(0, DAY + 5 * HOUR) == "slot 0 is dead (sudden death is final)"


def test_an_old_snapshot_is_refused_by_name_so_recovery_replays() -> None:
    _loop, _venue, config = setup()
    old = msgspec.msgpack.encode(["asn-core/1", 12, False, ""])
    with pytest.raises(SnapshotError, match="snapshot schema 'asn-core/1', expected 'asn-core/3'"):
        DaemonState.restore(config, old)


def test_an_active_slot_says_what_stops_it_a_halt_or_a_stale_book() -> None:
    loop, venue, _ = setup(slots=2)
    assert [slot_halt(loop.state, s) for s in loop.state.slots] == [None, None]
    run(loop, venue, [TradingHalted(0, DAY + 2 * HOUR, "position mismatch on XRPUSDT")])
    for slot in loop.state.slots:
        view = slot_halt(loop.state, slot)
        assert view is not None
        assert status(slot) is SlotStatus.ACTIVE
        assert view.reason == "trading halted: position mismatch on XRPUSDT"
        assert (view.since_ns, view.clears) == (DAY + 2 * HOUR, "asnctl resume all")
    run(loop, venue, [Resume(0, DAY + 3 * HOUR, -1, "operator")])
    assert daemon_halt(loop.state) is None
    run(loop, venue, [BookStale(0, DAY + 4 * HOUR, "XRPUSDT", "no data for 5000 ms")])
    view = slot_halt(loop.state, loop.state.slots[0])
    assert view is not None
    assert (view.reason, view.since_ns, view.clears) == (
        "book stale: no data for 5000 ms", None, "next book snapshot",
    )  # fmt: skip
