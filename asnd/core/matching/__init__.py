"""A deterministic price-time-priority matching engine for one symbol.

Prices are integer ticks, sizes integer lots; there are no floats and no clock. Time comes
in as ``ts_ns`` on every call and is stamped on the events the call returns. The engine
never raises for a bad order: it answers with an ``OrderRejected`` event whose ``code`` is
one of the negative ``REJECT_*`` constants and whose ``reason`` says what was wrong.

Public API (every operation returns ``list[Event]``, in the order things happened)::

    engine = MatchingEngine("XRPUSDT", price_step_ticks=1, lot_step=1, stp=STP_CANCEL_TAKER)
    engine.submit(ts_ns, order_id, owner, link_id, side, price_ticks, qty_lots, tif=GTC)
    engine.market(ts_ns, order_id, owner, link_id, side, qty_lots, protection_ticks=0)
    engine.cancel(ts_ns, order_id, reason="cancelled")
    engine.amend(ts_ns, order_id, price_ticks=..., qty_lots=...)   # either or both
    engine.reduce(ts_ns, order_id, by_lots)                        # partial cancel, keeps place
    engine.execute(ts_ns, order_id, qty_lots, taker_side)          # order-level replay only
    engine.best_bid / best_ask / bids(n) / asks(n) / bid_size_at(p) / ask_size_at(p)
    engine.order(order_id) / queue(side, price) / open_orders() / would_cross(side, price)
    engine.stats / resting_lots / take_changes()                   # totals; changed levels

``MatchingEngine(..., fee=FeeModel, track_changes=True)``: ``fee(price_ticks, qty_lots,
is_maker) -> fee_e8`` fills ``Fill.fee_e8`` (default 0); ``track_changes`` makes
``take_changes()`` return the levels changed since the last call (for ``BookDelta``s).

- ``order_id`` is chosen by the caller (any int, unique among live orders; a duplicate is
  rejected). Events carry it as ``venue_order_id=str(order_id)`` and echo ``link_id``.
- ``owner`` identifies an account; it is the ``slot`` of every event and the key of
  self-trade prevention (STP): when a taker would match a resting order of the same owner,
  ``STP_CANCEL_TAKER`` (the default; Bybit's ``CancelTaker``) cancels the taker's
  remainder, ``STP_CANCEL_MAKER`` cancels the resting order and keeps matching,
  ``STP_CANCEL_BOTH`` does both, and ``STP_NONE`` lets them trade.
- ``side`` is ``BUY`` (1) or ``SELL`` (-1) from ``journal.events``.
- ``tif``: ``GTC`` rests the remainder; ``IOC`` cancels it; ``FOK`` fills completely or not
  at all (checked before any fill, counting only liquidity the taker can reach under STP);
  ``POST_ONLY`` is rejected (``REJECT_WOULD_CROSS``) if it would take liquidity.
- A market order is an IOC whose limit is its protection price (``0`` = no limit).

Events of an order entry: ``OrderAccepted``; then per match, maker first: ``Trade`` (the
public print, ``side`` = taker side), ``Fill`` for the maker (``is_maker=True``), ``Fill`` for
the taker; then ``OrderCancelled`` for an IOC/market/FOK/STP remainder (``remaining_lots``).
``Fill.leaves_lots`` is what is left of that order after the fill. Trade ids count up from 1
(``trade_id=str(n)``); exec ids are ``f"{n}m"`` (maker) and ``f"{n}t"`` (taker).

Amend: ``qty_lots`` is the new *remaining* size. A size decrease at the same price keeps the
order's place in the queue; a size increase or a price change moves it to the back of its
(new) level, and a new price may match at once (a post-only order whose new price would cross
is rejected and left unchanged).

Determinism: orders are kept in per-level ``deque``s (FIFO) and price levels in sorted lists;
dicts are used only for lookups by key, never iterated to decide an outcome. The same calls
give the same events, byte for byte once encoded.

Conservation: for every order, ``submitted = filled + resting + cancelled`` (amend size
changes count as submitting or cancelling the difference); ``stats`` keeps the totals.

Speed: a cancelled order is only marked dead (``leaves == 0``) and skipped when it reaches
the head of its queue, so cancel is O(1) apart from dropping an emptied level; a level is
compacted when dead entries outnumber live ones.
"""

from asnd.core.matching.engine import MatchingEngine
from asnd.core.matching.rules import (
    FOK,
    GTC,
    IOC,
    POST_ONLY,
    REJECT_BAD_PRICE,
    REJECT_BAD_SIDE,
    REJECT_BAD_SIZE,
    REJECT_BAD_TIF,
    REJECT_DUPLICATE_ID,
    REJECT_OFF_GRID,
    REJECT_UNKNOWN_ORDER,
    REJECT_WOULD_CROSS,
    STP_CANCEL_BOTH,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
    STP_NONE,
    TIF_BY_NAME,
    EngineStats,
    FeeModel,
    OrderView,
)

__all__ = [
    "FOK",
    "GTC",
    "IOC",
    "POST_ONLY",
    "REJECT_BAD_PRICE",
    "REJECT_BAD_SIDE",
    "REJECT_BAD_SIZE",
    "REJECT_BAD_TIF",
    "REJECT_DUPLICATE_ID",
    "REJECT_OFF_GRID",
    "REJECT_UNKNOWN_ORDER",
    "REJECT_WOULD_CROSS",
    "STP_CANCEL_BOTH",
    "STP_CANCEL_MAKER",
    "STP_CANCEL_TAKER",
    "STP_NONE",
    "TIF_BY_NAME",
    "EngineStats",
    "FeeModel",
    "MatchingEngine",
    "OrderView",
]
