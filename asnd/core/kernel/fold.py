"""Folding journal records into the market state: the kernel's entry points.

``fold_record`` is the one per-event update (decode, book, features); ``fold_frames`` is the
same call looped over the frames of a block of segment bytes, for backtests, shadows and
evolution's columns. A call stops early, before changing anything for the record it stops
on, when Python must act (``Status``): grow an array, drain the rows, or report a bad record.
Calling again with the returned frame index resumes exactly there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.book import apply_delta, apply_snapshot, room_needed
from asnd.core.kernel.features import on_book, on_trade
from asnd.core.kernel.jit import kernel
from asnd.core.kernel.layout import (
    G_NAME_BYTES,
    G_SYMBOLS,
    K_INSTRUMENT,
    K_SNAPSHOT,
    K_TRADE,
    O_SEQ,
    O_SYMBOL,
    O_TS_LOCAL_NS,
    O_VENUE_TS_MS,
    O_VERDICT,
    R_KIND,
    R_PRICE,
    R_QTY,
    R_SEQ,
    R_SIDE,
    R_SYMBOL_AT,
    R_SYMBOL_LEN,
    R_TS_LOCAL_NS,
    R_VENUE_TS_MS,
    ST_BAD_SEQ,
    ST_GROW_LEVELS,
    ST_GROW_SYMBOLS,
    ST_OK,
    ST_ROWS_FULL,
    V_SNAPSHOT,
    MarketState,
    Rows,
)
from asnd.core.kernel.records import decode_record, is_market

__all__ = ["fold_frames", "fold_record", "symbol_id"]

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]


@kernel
def symbol_id(state: MarketState, buf: Bytes, at: int, n: int) -> int:
    """The id of the symbol named ``buf[at:at + n]``, registering it if new; -1 when the
    symbol arrays are full (grow them and call again)."""
    glob = state.glob
    names = state.name_at
    count: int = glob[G_SYMBOLS]
    for s in range(count):
        start = names[s]
        if names[s + 1] - start != n:
            continue
        same = True
        for i in range(n):
            if state.names[start + i] != buf[at + i]:
                same = False
                break
        if same:
            return s
    used = glob[G_NAME_BYTES]
    if count == state.sym.shape[0] or used + n > state.names.size:
        return -1
    for i in range(n):
        state.names[used + i] = buf[at + i]
    glob[G_NAME_BYTES] = used + n
    names[count + 1] = used + n
    glob[G_SYMBOLS] = count + 1
    return count


@kernel
def fold_record(
    buf: Bytes, start: int, end: int, seq: int, state: MarketState, rows: Rows, r: int
) -> tuple[int, int, int]:
    """Fold the record ``buf[start:end]`` (journal seq ``seq``; -1: do not check it):
    (status, rows used, detail). A book event writes row ``r``."""
    status, detail = decode_record(buf, start, end, state.rec, state.lists)
    if status != ST_OK:
        return status, r, detail
    rec = state.rec
    if seq >= 0 and rec[R_SEQ] != seq:
        return ST_BAD_SEQ, r, rec[R_SEQ]
    kind = rec[R_KIND]
    if is_market(kind):
        s = symbol_id(state, buf, rec[R_SYMBOL_AT], rec[R_SYMBOL_LEN])
        if s < 0:
            return ST_GROW_SYMBOLS, r, rec[R_SYMBOL_LEN]
        if kind == K_TRADE:
            on_trade(state, s, rec[R_SIDE], rec[R_PRICE], rec[R_QTY])
        elif kind != K_INSTRUMENT:
            if r >= rows.ints.shape[0]:
                return ST_ROWS_FULL, r, 0
            snapshot = kind == K_SNAPSHOT
            need = room_needed(state, s, snapshot)
            if need > state.level_key.shape[2]:
                return ST_GROW_LEVELS, r, need
            verdict = apply_snapshot(state, s) if snapshot else apply_delta(state, s)
            out = rows.ints
            out[r, O_SYMBOL] = s
            out[r, O_SEQ] = rec[R_SEQ]
            out[r, O_TS_LOCAL_NS] = rec[R_TS_LOCAL_NS]
            out[r, O_VENUE_TS_MS] = rec[R_VENUE_TS_MS]
            out[r, O_VERDICT] = verdict
            on_book(state, s, verdict == V_SNAPSHOT, rows, r)
            r += 1
    if 0 <= kind < state.kinds.size:
        state.kinds[kind] += 1
    return ST_OK, r, 0


@kernel
def fold_frames(
    buf: Bytes, ends: Ints, frame: int, first_seq: int, state: MarketState, rows: Rows, r: int
) -> tuple[int, int, int, int]:
    """Fold frames ``frame, frame + 1, ...`` of a block: frame k's payload is
    ``buf[ends[k - 1] + 8 : ends[k]]`` (frame 0 starts at 0) and has seq ``first_seq + k``
    (``first_seq`` -1: seqs are not checked). (status, next frame to fold, rows used, detail)."""
    n = ends.size
    while frame < n:
        start = (ends[frame - 1] if frame > 0 else 0) + 8
        seq = first_seq + frame if first_seq >= 0 else -1
        status, r, detail = fold_record(buf, start, ends[frame], seq, state, rows, r)
        if status != ST_OK:
            return status, frame, r, detail
        frame += 1
    return ST_OK, frame, r, 0
