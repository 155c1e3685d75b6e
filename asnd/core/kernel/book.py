"""The L2 book of every symbol, in ``MarketState``'s level arrays: the rules of
``asnd.core.book`` (the reference the differential tests hold this to).

- A snapshot replaces the whole book (levels of size <= 0 dropped, a repeated price keeps its
  last size); a crossed snapshot leaves the book stale.
- A delta applies only to a valid book, and only with ``update_id == previous + 1``; anything
  else is a gap (``u = 1``: the venue restarted its book) and the book goes stale until the
  next snapshot. A size of 0 deletes the level, any other size sets it.
- A book whose best bid >= best ask after a delta is crossed: stale.

Each side is sorted ascending by key (bids: price, asks: -price), best level last, so a
change near the touch moves only the levels between it and the touch. Callers make sure the
side has room first (``room_needed``): nothing here allocates.
"""

from __future__ import annotations

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
    MarketState,
)

__all__ = ["apply_delta", "apply_snapshot", "best", "is_crossed", "mark_stale", "room_needed"]


@kernel
def room_needed(state: MarketState, s: int, snapshot: bool) -> int:
    """Levels per side the book of ``s`` may need for the record in ``state.rec``."""
    nb: int = state.rec[R_BIDS]
    na: int = state.rec[R_ASKS]
    if snapshot:
        return max(nb, na)
    bids: int = state.level_n[BID, s]
    asks: int = state.level_n[ASK, s]
    return max(bids + nb, asks + na)


@kernel
def best(state: MarketState, side: int, s: int, k: int) -> tuple[int, int]:
    """(price, lots) of the k-th best level of a side (k = 0: the touch); lots 0 past the end."""
    n = state.level_n[side, s]
    if k >= n:
        return 0, 0
    key = state.level_key[side, s, n - 1 - k]
    return (key if side == BID else -key), state.level_lots[side, s, n - 1 - k]


@kernel
def is_crossed(state: MarketState, s: int) -> bool:
    nb = state.level_n[BID, s]
    na = state.level_n[ASK, s]
    if nb == 0 or na == 0:
        return False
    bid: int = state.level_key[BID, s, nb - 1]
    ask: int = -state.level_key[ASK, s, na - 1]
    return bid >= ask


@kernel
def _set_level(state: MarketState, side: int, s: int, key: int, lots: int) -> None:
    keys = state.level_key
    sizes = state.level_lots
    n = state.level_n[side, s]
    # Binary search for the first key >= ``key``.
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[side, s, mid] < key:
            lo = mid + 1
        else:
            hi = mid
    found = lo < n and keys[side, s, lo] == key
    if lots != 0:
        if found:
            sizes[side, s, lo] = lots
            return
        for i in range(n, lo, -1):
            keys[side, s, i] = keys[side, s, i - 1]
            sizes[side, s, i] = sizes[side, s, i - 1]
        keys[side, s, lo] = key
        sizes[side, s, lo] = lots
        state.level_n[side, s] = n + 1
    elif found:
        for i in range(lo, n - 1):
            keys[side, s, i] = keys[side, s, i + 1]
            sizes[side, s, i] = sizes[side, s, i + 1]
        state.level_n[side, s] = n - 1


@kernel
def _replace_side(state: MarketState, side: int, s: int, ticks: int, lots: int, n: int) -> None:
    """A side from a snapshot's lists (``state.lists`` rows ``ticks``/``lots``, ``n`` long)."""
    lists = state.lists
    sign = 1 if side == BID else -1
    # The venue sends levels best first, i.e. keys strictly descending: written in reverse
    # that is the sorted side in one pass. Any other order goes through insertion.
    canonical = True
    last = 0
    kept = 0
    for i in range(n):
        if lists[lots, i] > 0:
            key = sign * lists[ticks, i]
            if kept > 0 and key >= last:
                canonical = False
                break
            last = key
            kept += 1
    state.level_n[side, s] = 0
    if canonical:
        at = kept - 1
        for i in range(n):
            q = lists[lots, i]
            if q > 0:
                state.level_key[side, s, at] = sign * lists[ticks, i]
                state.level_lots[side, s, at] = q
                at -= 1
        state.level_n[side, s] = kept
        return
    for i in range(n):
        q = lists[lots, i]
        if q > 0:
            _set_level(state, side, s, sign * lists[ticks, i], q)


@kernel
def _stale(state: MarketState, s: int, reason: int, a: int, b: int, c: int) -> None:
    sym = state.sym
    sym[s, S_STALE] = 1
    sym[s, S_REASON] = reason
    sym[s, S_REASON_A] = a
    sym[s, S_REASON_B] = b
    sym[s, S_REASON_C] = c


@kernel
def mark_stale(state: MarketState, s: int, reason: int) -> None:
    """Distrust the book of ``s`` until its next snapshot (reconnect, silence, ...)."""
    _stale(state, s, reason, 0, 0, 0)


@kernel
def apply_snapshot(state: MarketState, s: int) -> int:
    """Replace the book of ``s`` with the snapshot in ``state.rec``/``lists``: its verdict."""
    rec = state.rec
    _replace_side(state, BID, s, L_BID_TICKS, L_BID_LOTS, rec[R_BIDS])
    _replace_side(state, ASK, s, L_ASK_TICKS, L_ASK_LOTS, rec[R_ASKS])
    state.sym[s, S_UPDATE_ID] = rec[R_UPDATE_ID]
    if is_crossed(state, s):
        _stale(state, s, RS_CROSSED_SNAPSHOT, 0, 0, 0)
        return V_CROSSED
    _stale(state, s, RS_NONE, 0, 0, 0)
    state.sym[s, S_STALE] = 0
    return V_SNAPSHOT


@kernel
def apply_delta(state: MarketState, s: int) -> int:
    """Apply the delta in ``state.rec``/``lists`` to the book of ``s``: its verdict."""
    sym = state.sym
    if sym[s, S_STALE] != 0:
        return V_IGNORED_STALE
    rec = state.rec
    u = rec[R_UPDATE_ID]
    expected = sym[s, S_UPDATE_ID] + 1
    if u != expected:
        if u == 1:
            _stale(state, s, RS_VENUE_RESTART, 0, 0, 0)
        else:
            _stale(state, s, RS_GAP, expected, u, 0)
        return V_GAP
    sym[s, S_UPDATE_ID] = u
    lists = state.lists
    for i in range(rec[R_BIDS]):
        _set_level(state, BID, s, lists[L_BID_TICKS, i], lists[L_BID_LOTS, i])
    for i in range(rec[R_ASKS]):
        _set_level(state, ASK, s, -lists[L_ASK_TICKS, i], lists[L_ASK_LOTS, i])
    if is_crossed(state, s):
        bid, _ = best(state, BID, s, 0)
        ask, _ = best(state, ASK, s, 0)
        _stale(state, s, RS_CROSSED_DELTA, u, bid, ask)
        return V_CROSSED
    return V_APPLIED
