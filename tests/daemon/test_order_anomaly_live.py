"""The assembled daemon on the sim venue when the venue trades an order the journal never
sent (a rogue order, as the colliding order ids of issue 14 made): the slot is killed with
the reason, the fill is booked, and flattening closes it at the venue."""

from __future__ import annotations

from pathlib import Path

from asnd.core.link_id import make_link_id
from asnd.core.slot import SlotStatus
from journal.events import BUY, Fill, Kill, OrderAccepted, OrderIntent

from .harness import fold, journal_events, make_config
from .test_daemon_live import running, until


async def test_a_fill_for_an_order_not_held_kills_the_slot_and_flattens_it(
    tmp_path: Path,
) -> None:
    path = make_config(tmp_path)
    async with running(path) as (daemon, venue):
        assert daemon.core is not None
        state = daemon.core.state
        slot = state.slots[3]
        await until(daemon, lambda: slot.ledger is not None and state.book(slot.symbol) is not None)
        assert slot.ledger is not None
        # An id of this journal's namespace that it never made (a colliding id).
        assert state.link_namespace, "a fresh journal draws its namespace"
        link = make_link_id(3, 999999, state.link_namespace)
        rogue = OrderIntent(0, 0, 3, slot.symbol, link, BUY, "market", "IOC", 0, 7, False, 0)
        # Straight to the venue: the journal never sent it.
        assert isinstance(await venue.inner.place(rogue), OrderAccepted)
        await until(daemon, lambda: slot.status is SlotStatus.HALTED and not slot.orders)
        assert slot.ledger.position_lots == 0, "the rogue fill was booked, then flattened"
        _orders, positions = await venue.reconcile([slot.symbol])
        assert positions[0].position_lots == 0
    events = journal_events(daemon.config)
    rogue_fills = [e for e in events if isinstance(e, Fill) and e.link_id == link]
    assert sum(f.qty_lots for f in rogue_fills) == 7
    (kill,) = [e for e in events if isinstance(e, Kill)]
    assert kill.slot == 3
    assert kill.seq > rogue_fills[0].seq
    assert kill.reason == (
        f"anomaly: slot 3: fill {rogue_fills[0].exec_id} for order {link} not held open "
        "(unknown; booked)"
    )
    replayed = fold(daemon.config, events).slots[3]
    assert replayed.status is SlotStatus.HALTED
    assert replayed.ledger is not None
    assert replayed.ledger.position_lots == 0
    assert all(s.status is SlotStatus.ACTIVE for s in state.slots if s.index != 3)
