"""Shutdown's cancels are made from the core's state at their turn in its inbox.

The race (seen as ``cancel of unknown order`` in the paper process test, and possible with
any venue): SIGTERM's drain listed the open orders from the state while a fill (or a
cancel's answer) that ends one of them was already queued in the core's inbox; the cancel
for it was then journaled after the order had finished. Given a real core and journal with
two resting orders and such a fill queued, when shutdown's cancels are submitted, then only
the order still open is cancelled and the core notes nothing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import trio

from asnd.actors.core import CoreActor
from asnd.core.drive import Loop
from asnd.core.instrument import E8
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig
from asnd.core.watchtower import RiskLimits
from asnd.runtime import shutdown_cancels
from journal.events import (
    BUY,
    CancelIntent,
    Event,
    Fill,
    OrderAccepted,
    OrderIntent,
    OrderSent,
    RiskVerdict,
)
from journal.reader import JournalReader
from journal.service import JournalService
from journal.writer import JournalWriter
from tests.core.scenario import SYMBOL, const_strategy, info, loaded, snapshot

CONFIG = CoreConfig(
    (SlotConfig(SYMBOL, min_qty="10", max_qty="400", leverage=10),),
    risk=RiskLimits(max_notional_e8=20_000 * E8),
)
FILLED, RESTING = "asn-0-0", "asn-0-1"


def _resting_orders() -> list[Event]:
    """Inputs that leave slot 0 (whose model never trades) with two resting buy orders."""
    out: list[Event] = [info(), loaded(0, const_strategy(0.0))]
    out.append(snapshot(1, [(19_999, 500)], [(20_001, 500)]))
    for link in (FILLED, RESTING):
        out.append(OrderIntent(0, 0, 0, SYMBOL, link, BUY, "limit", "GTC", 19_999, 10, False, 0))
    return out


def _fill(link: str) -> Fill:
    """The whole of ``link`` filled: it ends the order."""
    return Fill(0, 0, 0, link, "7", "e1", SYMBOL, BUY, 19_999, 10, 0, True, 0, 0)


async def _open(core: CoreActor) -> None:
    """Feed the resting orders through the core, answering each approved intent."""
    for event in _resting_orders():
        for made in await core.feed(event):
            if isinstance(made, RiskVerdict) and made.approved:
                intent = next(
                    e
                    for e in core.state.slots[0].orders.values()
                    if e.intent_seq == made.intent_seq
                )
                await core.feed(OrderSent(0, 0, 0, intent.link_id, made.intent_seq))
                await core.feed(OrderAccepted(0, 0, 0, intent.link_id, intent.link_id))
    assert [o.state for o in core.state.slots[0].orders.values()] == ["open", "open"]


async def test_a_fill_queued_ahead_of_shutdown_leaves_nothing_to_cancel(tmp_path: Path) -> None:
    writer = JournalWriter.open(tmp_path, fsync=False)
    service = JournalService(writer)
    core = CoreActor(DaemonState(CONFIG), service, snapshot_every=1_000_000)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await _open(core)
            # The venue's fill is in the inbox before shutdown asks (the core not yet at it).
            core.inbox.send_nowait(_fill(FILLED))
            nursery.start_soon(core.run)
            await core.submit_built(partial(shutdown_cancels, ts_ns=5))
            nursery.cancel_scope.cancel()
    writer.close()
    journaled = list(JournalReader(tmp_path).events())
    cancels = [e.link_id for e in journaled if isinstance(e, CancelIntent)]
    assert cancels == [RESTING]
    assert core.state.anomalies == []
    assert list(core.state.slots[0].orders) == [RESTING]
    assert core.state.slots[0].orders[RESTING].cancel_requested


def test_an_order_already_being_cancelled_is_not_cancelled_again() -> None:
    loop = Loop(DaemonState(CONFIG))
    loop.feed_all(_resting_orders())
    slot = loop.state.slots[0]
    slot.orders[FILLED].cancel_requested = True  # a "touch moved" cancel is on its way
    assert [c.link_id for c in shutdown_cancels(loop.state, 5)] == [RESTING]
