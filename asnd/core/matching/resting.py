"""What rests in the book: one live order and one price level's FIFO queue."""

from __future__ import annotations

from collections import deque

import msgspec

from asnd.core.matching.rules import OrderView

__all__ = ["Level", "Order", "view"]


class Order(msgspec.Struct, gc=False):
    """A live order. A msgspec struct: built in C, about twice as fast as a slots class."""

    oid: int
    owner: int
    link_id: str
    side: int
    price: int
    leaves: int
    tif: int


class Level(msgspec.Struct):
    queue: deque[Order]
    total: int = 0  # lots of live orders
    live: int = 0  # number of live orders


def view(o: Order) -> OrderView:
    """The read-only view of an order that the engine hands out."""
    return OrderView(o.oid, o.owner, o.link_id, o.side, o.price, o.leaves)
