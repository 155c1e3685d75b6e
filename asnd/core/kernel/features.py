"""The eight features of ``asnd.core.features`` (definitions in its package doc), one book event
or trade at a time, over ``MarketState``'s windows.

This is the only computation of the features in the kernel: the live path calls it once per
event, backtests and evolution's columns are the same calls looped inside the kernel
(``fold``), so incremental and batch agree by construction. The values equal the pre-kernel
Python engine's (``tests/core/kernel/oracle``) bit for bit: exact int64 sums, then one IEEE
division or square root.
Functions take the arrays they use (see ``book`` for why); names as in ``MarketState``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.book import best
from asnd.core.kernel.jit import kernel
from asnd.core.kernel.layout import (
    ASK,
    BID,
    O_ASK_LOTS,
    O_ASK_PRICE,
    O_BID_LOTS,
    O_BID_PRICE,
    O_MID_X2,
    O_STALE,
    O_VALID,
    S_CONTINUOUS,
    S_HAS_LAST,
    S_LAST_PRICE,
    S_PREV_ASK,
    S_PREV_ASK_LOTS,
    S_PREV_BID,
    S_PREV_BID_LOTS,
    S_ROW_HEAD,
    S_ROW_N,
    S_STALE,
    S_SUM_DEPTH,
    S_SUM_E,
    S_SUM_FLOW,
    S_SUM_QTY,
    S_SUM_R2,
    S_TRADE_HEAD,
    S_TRADE_N,
    TOP,
)

__all__ = ["on_book", "on_trade"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@kernel
def on_trade(sym: Ints, trades: Ints, s: int, side: int, price: int, qty: int) -> None:
    """A public trade of ``s``: the last price and the trade window."""
    window = trades.shape[1]
    sym[s, S_HAS_LAST] = 1
    sym[s, S_LAST_PRICE] = price
    flow = side * qty
    head = sym[s, S_TRADE_HEAD]
    n = sym[s, S_TRADE_N]
    if n == window:
        sym[s, S_SUM_FLOW] -= trades[s, head, 0]
        sym[s, S_SUM_QTY] -= trades[s, head, 1]
        trades[s, head, 0] = flow
        trades[s, head, 1] = qty
        sym[s, S_TRADE_HEAD] = (head + 1) % window
    else:
        at = (head + n) % window
        trades[s, at, 0] = flow
        trades[s, at, 1] = qty
        sym[s, S_TRADE_N] = n + 1
    sym[s, S_SUM_FLOW] += flow
    sym[s, S_SUM_QTY] += qty


@kernel
def _top(keys: Ints, lots: Ints, counts: Ints, s: int, out: Ints, r: int) -> None:
    """The book's best ``TOP`` levels and twice its mid into row ``r``."""
    for k in range(TOP):
        price, size = best(keys, lots, counts, BID, s, k)
        out[r, O_BID_PRICE + k] = price
        out[r, O_BID_LOTS + k] = size
        price, size = best(keys, lots, counts, ASK, s, k)
        out[r, O_ASK_PRICE + k] = price
        out[r, O_ASK_LOTS + k] = size
    both = counts[BID, s] > 0 and counts[ASK, s] > 0
    out[r, O_MID_X2] = out[r, O_BID_PRICE] + out[r, O_ASK_PRICE] if both else 0


@kernel
def _side_sum(lots: Ints, counts: Ints, side: int, s: int, depth: int) -> int:
    n = counts[side, s]
    total = 0
    for i in range(max(n - depth, 0), n):
        total += lots[side, s, i]
    return total


@kernel
def on_book(
    sym: Ints,
    book_rows: Ints,
    keys: Ints,
    lots: Ints,
    counts: Ints,
    depth: int,
    s: int,
    snapshot: bool,
    out: Ints,
    values: Floats,
    r: int,
) -> bool:
    """Row ``r`` (``Rows.ints``/``values``) after the book of ``s`` applied one event
    (``snapshot``: its verdict was SNAPSHOT): top levels, flags and, when the book is valid,
    the eight features (NaN otherwise; the run then ends). Whether the features were
    computed. ``depth``: levels per side in ``pressure``."""
    _top(keys, lots, counts, s, out, r)
    stale = sym[s, S_STALE] != 0
    out[r, O_STALE] = 1 if stale else 0
    if stale or counts[BID, s] == 0 or counts[ASK, s] == 0:
        sym[s, S_CONTINUOUS] = 0
        out[r, O_VALID] = 0
        values[r, :] = math.nan
        return False
    out[r, O_VALID] = 1
    bid_px, bid_qty = best(keys, lots, counts, BID, s, 0)
    ask_px, ask_qty = best(keys, lots, counts, ASK, s, 0)
    window = book_rows.shape[1]
    e = 0
    r2 = 0
    if snapshot or sym[s, S_CONTINUOUS] == 0:
        sym[s, S_ROW_HEAD] = 0
        sym[s, S_ROW_N] = 0
        sym[s, S_SUM_E] = 0
        sym[s, S_SUM_DEPTH] = 0
        sym[s, S_SUM_R2] = 0
        sym[s, S_CONTINUOUS] = 1
    else:
        if bid_px >= sym[s, S_PREV_BID]:
            e += bid_qty
        if bid_px <= sym[s, S_PREV_BID]:
            e -= sym[s, S_PREV_BID_LOTS]
        if ask_px <= sym[s, S_PREV_ASK]:
            e -= ask_qty
        if ask_px >= sym[s, S_PREV_ASK]:
            e += sym[s, S_PREV_ASK_LOTS]
        d = bid_px + ask_px - sym[s, S_PREV_BID] - sym[s, S_PREV_ASK]  # twice the mid's change
        r2 = d * d
        if sym[s, S_ROW_N] == window:
            head = sym[s, S_ROW_HEAD]
            sym[s, S_SUM_E] -= book_rows[s, head, 0]
            sym[s, S_SUM_DEPTH] -= book_rows[s, head, 1]
            sym[s, S_SUM_R2] -= book_rows[s, head, 2]
            sym[s, S_ROW_HEAD] = (head + 1) % window
            sym[s, S_ROW_N] -= 1
    sym[s, S_PREV_BID] = bid_px
    sym[s, S_PREV_BID_LOTS] = bid_qty
    sym[s, S_PREV_ASK] = ask_px
    sym[s, S_PREV_ASK_LOTS] = ask_qty
    top_depth = bid_qty + ask_qty
    at = (sym[s, S_ROW_HEAD] + sym[s, S_ROW_N]) % window
    book_rows[s, at, 0] = e
    book_rows[s, at, 1] = top_depth
    book_rows[s, at, 2] = r2
    sym[s, S_ROW_N] += 1
    sym[s, S_SUM_E] += e
    sym[s, S_SUM_DEPTH] += top_depth
    sym[s, S_SUM_R2] += r2

    spread = ask_px - bid_px
    bid_sum = _side_sum(lots, counts, BID, s, depth)
    ask_sum = _side_sum(lots, counts, ASK, s, depth)
    clv = 0.5
    if sym[s, S_HAS_LAST] != 0:
        clv = float(sym[s, S_LAST_PRICE] - bid_px) / float(spread)
        clv = 0.0 if clv < 0.0 else 1.0 if clv > 1.0 else clv
    trade_qty = sym[s, S_SUM_QTY]
    values[r, 0] = float(bid_qty) / float(top_depth)
    values[r, 1] = float(bid_sum) / float(bid_sum + ask_sum)
    values[r, 2] = clv
    values[r, 3] = float(spread)
    values[r, 4] = float(spread * (bid_qty - ask_qty)) / float(2 * top_depth)
    values[r, 5] = float(sym[s, S_SUM_E]) / float(sym[s, S_SUM_DEPTH])
    values[r, 6] = math.sqrt(float(sym[s, S_SUM_R2]) / float(sym[s, S_ROW_N])) * 0.5
    values[r, 7] = float(sym[s, S_SUM_FLOW]) / float(trade_qty) if trade_qty else 0.0
    return True
