"""A fresh journal on an account that holds another journal's ``asn-`` orders never adopts
them: not at reconciliation, not by an id collision on its first order, not by their fills.
Real sockets to the local Bybit-compatible venue; the core folds what the venue said."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from asnd.core.drive import recover
from asnd.core.link_id import make_link_id
from asnd.core.portfolio import CoreConfig, DaemonState, SnapshotError
from asnd.core.slot import SlotConfig
from asnd.foreign import namespace_for, reconcile_foreign
from asnd.venues.bybit.local.server import LocalBybit
from journal.events import (
    BUY,
    SELL,
    Event,
    Fill,
    InstrumentInfo,
    LinkNamespace,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    TradingHalted,
)

from .venues.bybit.bybit_helpers import local_bybit, running_client

OURS = "aaaaaaaa"
OTHER = "zzzzzzzz"
#: What another journal left open: the first ids an old (no namespace) journal and another
#: namespaced journal make, exactly the first id a fresh journal would make in their shape.
FOREIGN = ("asn-0-0", f"asn-{OTHER}-0-0", f"asn-{OTHER}-0-1")


def fresh_state() -> DaemonState:
    slot = SlotConfig.from_decimals(
        "BTCUSDT", capital=Decimal(200), min_qty=Decimal("0.001"), max_qty=Decimal("0.01")
    )
    state = DaemonState(CoreConfig(slots=(slot,)))
    state.apply(LinkNamespace(1, 0, OURS))
    return state


def rest_foreign_orders(venue: LocalBybit) -> dict[str, str]:
    """The foreign orders resting far below the touch: link id -> venue order id."""
    ids = {}
    for link in FOREIGN:
        order = venue.exchange.create(
            symbol="BTCUSDT", side=BUY, order_type="Limit", qty_lots=2, price_ticks=99_990,
            tif="GTC", link_id=link,
        )  # fmt: skip
        ids[link] = order.order_id
    return ids


def fold(state: DaemonState, events: Sequence[Event]) -> list[Event]:
    """Apply ``events`` and, as the live core does, each decision before the next input."""
    decisions: list[Event] = []
    for event in events:
        pending = state.apply(event)
        while pending:
            decision = pending.pop(0)
            decisions.append(decision)
            pending.extend(state.apply(decision))
    return decisions


@pytest.mark.parametrize("mode", ["report", "cancel"])
async def test_reconciliation_reports_foreign_orders_and_adopts_none(mode: str) -> None:
    state = fresh_state()
    async with local_bybit() as venue:
        ids = rest_foreign_orders(venue)
        async with running_client(venue) as (client, _events):
            fold(state, await client.instruments(["BTCUSDT"]))
            found = await reconcile_foreign(client, state, ["BTCUSDT"], mode)  # type: ignore[arg-type]
        statuses = {link: venue.exchange.orders[link].status for link in FOREIGN}
    reports = [e for e in found if isinstance(e, OrderReconciled)]
    assert sorted(r.link_id for r in reports) == sorted(FOREIGN)
    assert {r.venue_order_id for r in reports} == set(ids.values())
    cancels = [e for e in found if isinstance(e, OrderCancelled)]
    if mode == "report":
        assert cancels == []
        assert set(statuses.values()) == {"New"}, "left alone"
    else:
        assert sorted(c.link_id for c in cancels) == sorted(FOREIGN)
        assert set(statuses.values()) == {"Cancelled"}
    assert fold(state, found) == []
    slot = state.slots[0]
    assert slot.orders == {}, "no foreign order is held as ours"
    assert state.anomalies == []
    assert not state.watchtower.halted


async def test_the_first_order_of_a_fresh_journal_is_a_new_order_not_a_takeover() -> None:
    async with local_bybit() as venue:
        ids = rest_foreign_orders(venue)
        async with running_client(venue) as (client, _events):
            ours = make_link_id(0, 0, OURS)
            answer = await client.place(intent(ours))
            # The old shape, for contrast: its first id collides with the resting order, the
            # venue refuses the duplicate and the lookup finds the *other* journal's order.
            taken = await client.place(intent("asn-0-0"))
    assert isinstance(answer, OrderAccepted)
    assert answer.venue_order_id not in ids.values()
    assert isinstance(taken, OrderAccepted)
    assert taken.venue_order_id == ids["asn-0-0"], "why link ids need a namespace"


async def test_fills_of_foreign_orders_are_never_booked_and_halt_trading() -> None:
    state = fresh_state()
    async with local_bybit() as venue:
        rest_foreign_orders(venue)
        async with running_client(venue) as (client, events):
            fold(state, await client.instruments(["BTCUSDT"]))
            # Through the crowd's five bid levels (6000 lots) into the three resting orders.
            venue.exchange.crowd_trade("BTCUSDT", SELL, 99_990, 6000 + 6)
            for link in FOREIGN:
                await events.for_link(Fill, link)
    fills = events.of(Fill)
    assert {f.link_id for f in fills} == set(FOREIGN)
    decisions = fold(state, fills)
    assert state.slots[0].ledger is not None
    assert state.slots[0].ledger.position_lots == 0, "nothing booked"
    (halt,) = decisions
    assert isinstance(halt, TradingHalted)
    assert "not of this journal" in halt.reason


def intent(link: str) -> OrderIntent:
    return OrderIntent(0, 0, 0, "BTCUSDT", link, BUY, "limit", "GTC", 99_000, 1, False, 1)


def test_a_namespace_is_drawn_once_for_a_new_journal_only() -> None:
    state = DaemonState(fresh_state().config)
    event = namespace_for(state, lambda n: bytes(range(n)), 5)
    assert event == LinkNamespace(0, 5, "aaaqeaye")
    state.apply(event)
    assert state.link_namespace == "aaaqeaye"
    assert namespace_for(state, lambda n: b"\xff" * n, 6) is None, "drawn once"
    state.apply(LinkNamespace(9, 7, "bbbbbbbb"))
    assert state.link_namespace == "aaaqeaye", "a second namespace changes nothing"
    old = DaemonState(state.config)
    old.slots[0].intents = 3  # a journal that traded before namespaces: keeps the old shape
    assert namespace_for(old, bytes, 8) is None


def test_snapshots_carry_the_namespace_and_old_ones_are_refused_by_name() -> None:
    state = fresh_state()
    state.apply(InstrumentInfo(2, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5"))
    restored = DaemonState.restore(state.config, state.snapshot())
    assert restored.link_namespace == OURS
    assert restored.watchtower.namespace == OURS
    old = msgspec.msgpack.encode(["asn-core/2", 12, False, ""])
    with pytest.raises(SnapshotError, match="'asn-core/2', expected 'asn-core/3'"):
        DaemonState.restore(state.config, old)


def test_recovery_from_an_old_snapshot_replays_and_keeps_the_namespace(tmp_path: Path) -> None:
    from journal.events import StateSnapshot

    state = fresh_state()
    config = state.config
    events: list[Event] = [LinkNamespace(1, 0, OURS)]
    old = StateSnapshot(2, 0, 1, "asn-core/2", msgspec.msgpack.encode(["asn-core/2", 1]))
    with pytest.raises(SnapshotError):
        recover(config, old, iter(events))
    replayed = recover(config, None, iter(events))
    assert replayed.link_namespace == OURS
