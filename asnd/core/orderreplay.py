"""Order-level (L3) replay: external add / partial cancel / delete / execute messages, by
order id, drive a ``MatchingEngine`` book.

The message model is LOBSTER's (Nasdaq ITCH): every visible order is added with its id, and
every later change names that id, so the book is rebuilt exactly, order by order.

Orders the message stream never added
-------------------------------------
Two kinds of orders are referenced (cancelled, executed) without ever being added:

- orders that rested before the recording began (LOBSTER starts at 09:30), and
- orders whose messages were filtered out: a LOBSTER *level-N* message file only holds
  messages that changed the top N levels, so an order added while its level sat deeper, a
  level's cancellations while it sat below the top, and ITCH "replace" messages that leave
  the top level unchanged (same price and size, new order id) are missing.

How they are handled (exact for the *aggregate* size of every level the messages show;
individual order identities are best effort):

- ``seed`` places the starting top of book (LOBSTER's first order-book row, which is the
  book after message 0, so replay starts at message 1) as one *outside* order per side
  (negative id, see ``_ghost_id``) holding all of that level's lots.
- ``resync_level(side, (price, lots))`` is for the moment a level becomes the top without a
  message saying why: the old top emptied and the next level, whose history the file does
  not carry, is now best. It drops our levels on that side strictly better than ``price``
  (they can only be stale) and, if the level at ``price`` does not hold exactly ``lots``,
  replaces its orders by one outside order of ``lots``. The caller decides when that is
  legitimate; the LOBSTER oracle test allows it only after the old top emptied in our book
  too, and counts it.
- A cancel, delete or execution takes its lots from the order it names. Lots that order does
  not hold (it is unknown, or was renamed by an unseen replace) come from the same level:
  the outside order first, then an order of exactly that size (a renamed one), then the rest
  of the queue (front first for executions, back first for cancels). A level with nothing
  counts in ``stats.unseen`` (the order sat at a level we do not hold); lots beyond what the
  level holds count in ``stats.overdrawn`` (inconsistent data). Nothing is raised.

Queue position does not matter here (every execution names its order), so ghosts and folded
orders are kept wherever the engine puts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from asnd.core.matching import GTC, STP_NONE, MatchingEngine
from journal.events import BUY, SELL, Event, OrderRejected, Trade

__all__ = [
    "ADD",
    "CANCEL_PARTIAL",
    "CROSS_TRADE",
    "DELETE",
    "EXECUTE_HIDDEN",
    "EXECUTE_VISIBLE",
    "HALT",
    "REJECT_BAD_MESSAGE",
    "OrderLevelReplay",
    "OrderMessage",
    "ReplayStats",
    "parse_lobster_message",
]

# LOBSTER event types.
ADD: Final = 1
CANCEL_PARTIAL: Final = 2
DELETE: Final = 3
EXECUTE_VISIBLE: Final = 4
EXECUTE_HIDDEN: Final = 5
CROSS_TRADE: Final = 6
HALT: Final = 7

_EXTERNAL_OWNER: Final = 0
#: Reject code for a message of a kind this replay does not know.
REJECT_BAD_MESSAGE: Final = -120


@dataclass(frozen=True, slots=True)
class OrderMessage:
    """One order-level message. ``side`` is the side of the *resting* order (BUY/SELL)."""

    ts_ns: int
    kind: int
    order_id: int
    size_lots: int
    price_ticks: int
    side: int


def parse_lobster_message(fields: list[str]) -> OrderMessage:
    """A LOBSTER message row (time s after midnight, type, id, size, price*10^4, direction).

    Time is converted exactly to ns after midnight; the price stays in LOBSTER's 1/10,000
    dollar ticks. Raises ``ValueError`` on a malformed row.
    """
    if len(fields) < 6:
        raise ValueError(f"LOBSTER message row needs 6 fields, got {len(fields)}: {fields!r}")
    secs, _, frac = fields[0].partition(".")
    if len(frac) > 9 or not (secs + frac).isdigit():
        raise ValueError(f"bad LOBSTER time {fields[0]!r}")
    ts_ns = int(secs) * 1_000_000_000 + int(frac.ljust(9, "0") or "0")
    direction = int(fields[5])
    if direction not in (BUY, SELL):
        raise ValueError(f"bad LOBSTER direction {fields[5]!r}")
    return OrderMessage(ts_ns, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[4]),
                        direction)  # fmt: skip


@dataclass(slots=True)
class ReplayStats:
    messages: int = 0
    unknown_refs: int = 0  # cancels/executions naming an order we do not hold
    unseen: int = 0  # lots owed at a level we do not hold
    overdrawn: int = 0  # a message named more lots than its level held (inconsistent data)
    resyncs: int = 0
    bad_messages: int = 0  # unknown message kinds (answered with OrderRejected)
    crossing_adds: int = 0  # adds that crossed our book (a LOBSTER add never should)


class OrderLevelReplay:
    """A book rebuilt from order-level messages. ``apply`` returns the engine's events."""

    def __init__(self, symbol: str) -> None:
        self.engine = MatchingEngine(symbol, stp=STP_NONE)
        self.stats = ReplayStats()
        self._prints = 0  # hidden/cross prints, numbered apart from the engine's trades

    def seed(self, ts_ns: int, bid: tuple[int, int] | None, ask: tuple[int, int] | None) -> None:
        """Start from a known top of book: (price, size) per side, or None for an empty side."""
        self.resync_level(ts_ns, BUY, bid)
        self.resync_level(ts_ns, SELL, ask)
        self.stats.resyncs = 0

    def apply(self, m: OrderMessage) -> list[Event]:
        self.stats.messages += 1
        e = self.engine
        kind = m.kind
        if kind == ADD:
            if e.would_cross(m.side, m.price_ticks):
                self.stats.crossing_adds += 1
            return e.submit(m.ts_ns, m.order_id, _EXTERNAL_OWNER, "", m.side, m.price_ticks,
                            m.size_lots, GTC)  # fmt: skip
        if kind in (CANCEL_PARTIAL, DELETE, EXECUTE_VISIBLE):
            return self._debit(m)
        if kind in (EXECUTE_HIDDEN, CROSS_TRADE):
            # Prints without touching the visible book. A hidden order's direction is the
            # resting side, as for visible ones; a cross trade has no aggressor (side 0).
            self._prints += 1
            taker = -m.side if kind == EXECUTE_HIDDEN else 0
            return [Trade(0, m.ts_ns, e.symbol, f"x{self._prints}", taker, m.price_ticks,
                          m.size_lots, m.ts_ns // 1_000_000)]  # fmt: skip
        if kind == HALT:
            return []
        self.stats.bad_messages += 1
        return [OrderRejected(0, m.ts_ns, _EXTERNAL_OWNER, "", REJECT_BAD_MESSAGE,
                              f"unknown order-level message kind {kind}")]  # fmt: skip

    def resync_level(self, ts_ns: int, side: int, top: tuple[int, int] | None) -> int:
        """Make ``top`` (price, lots), or None for empty, the best level of ``side``.

        Returns the number of our levels dropped for being better than ``top``.
        """
        e = self.engine
        self.stats.resyncs += 1
        dropped = 0
        while True:
            best = e.best_bid if side == BUY else e.best_ask
            if best is None:
                break
            better = top is None or (best[0] > top[0] if side == BUY else best[0] < top[0])
            if not better:
                break
            self._clear_level(ts_ns, side, best[0])
            dropped += 1
        if top is None:
            return dropped
        price, lots = top
        held = e.bid_size_at(price) if side == BUY else e.ask_size_at(price)
        if held != lots:
            self._clear_level(ts_ns, side, price)
            if lots > 0:
                e.submit(
                    ts_ns,
                    _ghost_id(side, price),
                    _EXTERNAL_OWNER,
                    "outside",
                    side,
                    price,
                    lots,
                    GTC,
                )
        return dropped

    # ---------------------------------------------------------------------- internals

    def _debit(self, m: OrderMessage) -> list[Event]:
        """Take a cancel/delete/execution's lots out of the level, named order first."""
        e = self.engine
        st = self.stats
        ts, oid, side, price = m.ts_ns, m.order_id, m.side, m.price_ticks
        execute = m.kind == EXECUTE_VISIBLE
        named = e.order(oid)
        if named is not None and (named.side != side or named.price_ticks != price):
            named = None  # an id reused elsewhere: not the order this message means
        events: list[Event] = []
        need = m.size_lots
        if named is None:
            st.unknown_refs += 1
        elif m.kind == DELETE:
            # A delete removes the whole order; lots it names beyond ours left elsewhere.
            events += e.cancel(ts, oid)
            need -= named.leaves_lots
        else:
            x = min(need, named.leaves_lots)
            events += e.execute(ts, oid, x, -side) if execute else e.reduce(ts, oid, x)
            need -= x
        if need > 0:
            events += self._take_from_level(ts, side, price, need, execute=execute)
        return events

    def _take_from_level(
        self, ts: int, side: int, price: int, need: int, *, execute: bool
    ) -> list[Event]:
        """Lots a message names but its order no longer holds: from the level's outside
        liquidity first, then an order of exactly that size (a renamed one), then the queue
        (front first for executions, back first for cancels)."""
        e = self.engine
        queue = e.queue(side, price)
        if not queue:
            self.stats.unseen += 1
            return []
        gid = _ghost_id(side, price)
        exact = [o for o in queue if o.leaves_lots == need and o.order_id != gid]
        rest = [o for o in queue if o.order_id != gid and o not in exact[:1]]
        order = [o for o in queue if o.order_id == gid] + exact[:1]
        order += rest if execute else rest[::-1]
        events: list[Event] = []
        for o in order:
            if need == 0:
                break
            x = min(need, o.leaves_lots)
            if execute:
                events += e.execute(ts, o.order_id, x, -side)
            else:
                events += e.reduce(ts, o.order_id, x)
            need -= x
        if need:
            self.stats.overdrawn += 1
        return events

    def _clear_level(self, ts_ns: int, side: int, price: int) -> None:
        for o in self.engine.queue(side, price):
            self.engine.cancel(ts_ns, o.order_id, reason="resync")


def _ghost_id(side: int, price: int) -> int:
    """A negative id per (side, price), never colliding with a venue's (positive) ids."""
    return -(2 * price + (side == SELL)) - 1
