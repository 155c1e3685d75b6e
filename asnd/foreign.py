"""This journal's orders and everybody else's, at start-up.

- ``namespace_for``: a journal that has made no order yet gets its link-id namespace, drawn
  from ``entropy`` (an input, like the clock) and journaled as ``LinkNamespace``; from then on
  its link ids are ``asn-{namespace}-{slot}-{n}`` (``asnd.core.link_id``). A journal that
  already traded without one keeps the old shape (its orders must stay its own).
- ``reconcile_foreign``: the venue's open orders that are not of this journal (another
  journal's namespace, the old shape on a namespaced journal, a person's order) are reported:
  journaled as the venue's ``OrderReconciled`` (the core folds them as foreign: nothing
  adopted, nothing booked), logged once each, and left alone, or also cancelled when
  ``[venue] foreign_orders = "cancel"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from asnd.config import ForeignOrders
from asnd.core.link_id import NAMESPACE_BYTES, draw_namespace
from asnd.core.portfolio import DaemonState
from asnd.venues.base import Venue, VenueError
from journal.events import Event, LinkNamespace

__all__ = ["namespace_for", "reconcile_foreign"]

_log = structlog.get_logger("asnd.reconcile")


def namespace_for(
    state: DaemonState, entropy: Callable[[int], bytes], ts_local_ns: int
) -> LinkNamespace | None:
    """The ``LinkNamespace`` to journal now, or None (it has one, or traded without)."""
    if state.link_namespace or any(slot.intents for slot in state.slots):
        if not state.link_namespace:
            _log.warning(
                "journal has no link-id namespace (made before namespaces): its link ids "
                "stay asn-SLOT-N; start a fresh journal to get one"
            )
        return None
    return LinkNamespace(0, ts_local_ns, draw_namespace(entropy(NAMESPACE_BYTES)))


async def reconcile_foreign(
    venue: Venue, state: DaemonState, symbols: Sequence[str], mode: ForeignOrders
) -> list[Event]:
    """Events to journal about the venue's open orders not of this journal."""
    events: list[Event] = []
    for symbol in symbols:  # one symbol at a time: a cancel needs the order's symbol
        orders, _positions = await venue.reconcile([symbol])
        for order in orders:
            if order.status != "open" or state.owns(order.link_id):
                continue
            events.append(order)
            action = "left alone"
            if mode == "cancel" and order.link_id:
                try:
                    events.append(await venue.cancel(symbol, order.link_id))
                    action = "cancelled"
                except VenueError as exc:
                    action = f"cancel failed: {exc}"
            elif mode == "cancel":
                action = "left alone (no orderLinkId to cancel it by)"
            _log.warning(
                "open order not of this journal",
                symbol=symbol,
                link_id=order.link_id,
                venue_order_id=order.venue_order_id,
                action=action,
            )
    return events
