"""The L2 book of every symbol, in ``MarketState``'s level arrays: the product's only book
(the differential tests hold it to the pre-kernel Python book, ``tests/core/kernel/oracle``).

- A snapshot replaces the whole book (levels of size <= 0 dropped, a repeated price keeps its
  last size); a crossed snapshot leaves the book stale.
- A delta applies only to a valid book, and only with ``update_id == previous + 1``; anything
  else is a gap (``u = 1``: the venue restarted its book) and the book goes stale until the
  next snapshot. A size of 0 deletes the level, any other size sets it.
- A book whose best bid >= best ask after a delta is crossed: stale.

Each side is sorted ascending by key (bids: price, asks: -price), best level last, so a
change near the touch moves only the levels between it and the touch. Callers make sure the
side has room first (``room_needed``): nothing here allocates.

Functions take the arrays they use, not ``MarketState``: numba keeps a reference count per
array of a tuple it reads in a function that branches, and those atomic updates per call made
the fold 10x slower. ``keys``/``lots``/``counts`` are ``level_key``/``level_lots``/``level_n``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.jit import kernel
from asnd.core.kernel.layout import (
    ASK,
    BID,
    L_ASK_LOTS,
    L_ASK_TICKS,
    L_BID_LOTS,
    L_BID_TICKS,
    R_ASKS,
    R_BIDS,
    R_UPDATE_ID,
    RS_CROSSED_DELTA,
    RS_CROSSED_SNAPSHOT,
    RS_GAP,
    RS_NONE,
    RS_VENUE_RESTART,
    S_REASON,
    S_REASON_A,
    S_REASON_B,
    S_REASON_C,
    S_STALE,
    S_UPDATE_ID,
    V_APPLIED,
    V_CROSSED,
    V_GAP,
    V_IGNORED_STALE,
    V_SNAPSHOT,
)

__all__ = ["apply_delta", "apply_snapshot", "best", "is_crossed", "mark_stale", "room_needed"]

Ints = npt.NDArray[np.int64]


@kernel
def room_needed(rec: Ints, counts: Ints, s: int, snapshot: bool) -> int:
    """Levels per side the book of ``s`` may need for the record in ``rec``."""
    nb: int = rec[R_BIDS]
    na: int = rec[R_ASKS]
    if snapshot:
        return max(nb, na)
    bids: int = counts[BID, s]
    asks: int = counts[ASK, s]
    return max(bids + nb, asks + na)


@kernel
def best(keys: Ints, lots: Ints, counts: Ints, side: int, s: int, k: int) -> tuple[int, int]:
    """(price, lots) of the k-th best level of a side (k = 0: the touch); (0, 0) past the end."""
    n = counts[side, s]
    if k >= n:
        return 0, 0
    key = keys[side, s, n - 1 - k]
    return (key if side == BID else -key), lots[side, s, n - 1 - k]


@kernel
def is_crossed(keys: Ints, counts: Ints, s: int) -> bool:
    nb = counts[BID, s]
    na = counts[ASK, s]
    if nb == 0 or na == 0:
        return False
    bid: int = keys[BID, s, nb - 1]
    ask: int = -keys[ASK, s, na - 1]
    return bid >= ask


#: Levels scanned from the touch before a binary search: changes cluster near the touch,
#: where a short predictable scan beats a search's mispredicted branches.
_NEAR = 32


@kernel
def _position(keys: Ints, side: int, s: int, n: int, key: int) -> int:
    """Index of the first key >= ``key`` among the ``n`` levels of a side."""
    lo = n
    stop = max(n - _NEAR, 0)
    while lo > stop and keys[side, s, lo - 1] >= key:
        lo -= 1
    if lo > stop or stop == 0:
        return lo
    hi = stop  # keys[stop] >= key > keys[stop - 1] is not known: search [0, stop)
    lo = 0
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[side, s, mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def _set_level(
    keys: Ints, lots: Ints, counts: Ints, side: int, s: int, key: int, size: int
) -> None:
    n = counts[side, s]
    lo = _position(keys, side, s, n, key)
    found = lo < n and keys[side, s, lo] == key
    if size != 0:
        if found:
            lots[side, s, lo] = size
            return
        for i in range(n, lo, -1):
            keys[side, s, i] = keys[side, s, i - 1]
            lots[side, s, i] = lots[side, s, i - 1]
        keys[side, s, lo] = key
        lots[side, s, lo] = size
        counts[side, s] = n + 1
    elif found:
        for i in range(lo, n - 1):
            keys[side, s, i] = keys[side, s, i + 1]
            lots[side, s, i] = lots[side, s, i + 1]
        counts[side, s] = n - 1


@kernel
def _replace_side(
    keys: Ints, lots: Ints, counts: Ints, lists: Ints, side: int, s: int, row: int, n: int
) -> None:
    """A side from a snapshot's lists (prices in ``lists[row]``, sizes in the next row)."""
    sign = 1 if side == BID else -1
    # The venue sends levels best first, i.e. keys strictly descending: written in reverse
    # that is the sorted side in one pass. Any other order goes through insertion.
    canonical = True
    last = 0
    kept = 0
    for i in range(n):
        if lists[row + 1, i] > 0:
            key = sign * lists[row, i]
            if kept > 0 and key >= last:
                canonical = False
                break
            last = key
            kept += 1
    counts[side, s] = 0
    if canonical:
        at = kept - 1
        for i in range(n):
            q = lists[row + 1, i]
            if q > 0:
                keys[side, s, at] = sign * lists[row, i]
                lots[side, s, at] = q
                at -= 1
        counts[side, s] = kept
        return
    for i in range(n):
        q = lists[row + 1, i]
        if q > 0:
            _set_level(keys, lots, counts, side, s, sign * lists[row, i], q)


@kernel
def _stale(sym: Ints, s: int, reason: int, a: int, b: int, c: int) -> None:
    sym[s, S_STALE] = 0 if reason == RS_NONE else 1
    sym[s, S_REASON] = reason
    sym[s, S_REASON_A] = a
    sym[s, S_REASON_B] = b
    sym[s, S_REASON_C] = c


@kernel
def mark_stale(sym: Ints, s: int, reason: int) -> None:
    """Distrust the book of ``s`` until its next snapshot (reconnect, silence, ...)."""
    _stale(sym, s, reason, 0, 0, 0)


@kernel
def apply_snapshot(
    sym: Ints, keys: Ints, lots: Ints, counts: Ints, rec: Ints, lists: Ints, s: int
) -> int:
    """Replace the book of ``s`` with the snapshot in ``rec``/``lists``: its verdict."""
    _replace_side(keys, lots, counts, lists, BID, s, L_BID_TICKS, rec[R_BIDS])
    _replace_side(keys, lots, counts, lists, ASK, s, L_ASK_TICKS, rec[R_ASKS])
    sym[s, S_UPDATE_ID] = rec[R_UPDATE_ID]
    if is_crossed(keys, counts, s):
        _stale(sym, s, RS_CROSSED_SNAPSHOT, 0, 0, 0)
        return V_CROSSED
    _stale(sym, s, RS_NONE, 0, 0, 0)
    return V_SNAPSHOT


@kernel
def apply_delta(
    sym: Ints, keys: Ints, lots: Ints, counts: Ints, rec: Ints, lists: Ints, s: int
) -> int:
    """Apply the delta in ``rec``/``lists`` to the book of ``s``: its verdict."""
    if sym[s, S_STALE] != 0:
        return V_IGNORED_STALE
    u = rec[R_UPDATE_ID]
    expected = sym[s, S_UPDATE_ID] + 1
    if u != expected:
        if u == 1:
            _stale(sym, s, RS_VENUE_RESTART, 0, 0, 0)
        else:
            _stale(sym, s, RS_GAP, expected, u, 0)
        return V_GAP
    sym[s, S_UPDATE_ID] = u
    for i in range(rec[R_BIDS]):
        _set_level(keys, lots, counts, BID, s, lists[L_BID_TICKS, i], lists[L_BID_LOTS, i])
    for i in range(rec[R_ASKS]):
        _set_level(keys, lots, counts, ASK, s, -lists[L_ASK_TICKS, i], lists[L_ASK_LOTS, i])
    if is_crossed(keys, counts, s):
        bid, _ = best(keys, lots, counts, BID, s, 0)
        ask, _ = best(keys, lots, counts, ASK, s, 0)
        _stale(sym, s, RS_CROSSED_DELTA, u, bid, ask)
        return V_CROSSED
    return V_APPLIED
