"""Folding journal records into the market state: the kernel's entry points.

``fold_record`` is the one per-event update (decode, book, features); ``fold_frames`` is the
same call looped over the frames of a block of segment bytes, for backtests, shadows and
evolution's columns. A call stops early, before changing anything for the record it stops
on, when Python must act (``Status``): grow an array, drain the rows, or report a bad record.
Calling again with the returned frame index resumes exactly there.

``fold_frames`` takes the ``MarketState``/``Rows`` tuples and unpacks them once; everything
below it takes the arrays it uses (see ``book`` for why).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.book import apply_delta, apply_snapshot, room_needed
from asnd.core.kernel.features import on_book, on_trade
from asnd.core.kernel.jit import kernel
from asnd.core.kernel.layout import (
    G_DEPTH,
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
Floats = npt.NDArray[np.float64]


@kernel
def symbol_id(glob: Ints, names: Bytes, name_at: Ints, capacity: int, buf: Bytes, at: int,
              n: int) -> int:  # fmt: skip
    """The id of the symbol named ``buf[at:at + n]``, registering it if new; -1 when the
    symbol arrays (``capacity`` symbols) are full: grow them and call again."""
    count: int = glob[G_SYMBOLS]
    for s in range(count):
        start = name_at[s]
        if name_at[s + 1] - start != n:
            continue
        same = True
        for i in range(n):
            if names[start + i] != buf[at + i]:
                same = False
                break
        if same:
            return s
    used = glob[G_NAME_BYTES]
    if count == capacity or used + n > names.size:
        return -1
    for i in range(n):
        names[used + i] = buf[at + i]
    glob[G_NAME_BYTES] = used + n
    name_at[count + 1] = used + n
    glob[G_SYMBOLS] = count + 1
    return count


@kernel
def fold_record(
    buf: Bytes,
    start: int,
    end: int,
    seq: int,
    glob: Ints,
    names: Bytes,
    name_at: Ints,
    sym: Ints,
    keys: Ints,
    lots: Ints,
    counts: Ints,
    book_rows: Ints,
    trades: Ints,
    kinds: Ints,
    lists: Ints,
    rec: Ints,
    out: Ints,
    values: Floats,
    r: int,
) -> tuple[int, int, int]:
    """Fold the record ``buf[start:end]`` (journal seq ``seq``; -1: do not check it) into
    the ``MarketState`` arrays: (status, rows used, detail). A book event writes row ``r``
    of ``Rows`` (``out``, ``values``)."""
    status, detail = decode_record(buf, start, end, rec, lists)
    if status != ST_OK:
        return status, r, detail
    if seq >= 0 and rec[R_SEQ] != seq:
        return ST_BAD_SEQ, r, rec[R_SEQ]
    kind = rec[R_KIND]
    if is_market(kind):
        s = symbol_id(glob, names, name_at, sym.shape[0], buf, rec[R_SYMBOL_AT],
                      rec[R_SYMBOL_LEN])  # fmt: skip
        if s < 0:
            return ST_GROW_SYMBOLS, r, rec[R_SYMBOL_LEN]
        if kind == K_TRADE:
            on_trade(sym, trades, s, rec[R_SIDE], rec[R_PRICE], rec[R_QTY])
        elif kind != K_INSTRUMENT:
            if r >= out.shape[0]:
                return ST_ROWS_FULL, r, 0
            snapshot = kind == K_SNAPSHOT
            need = room_needed(rec, counts, s, snapshot)
            if need > keys.shape[2]:
                return ST_GROW_LEVELS, r, need
            if snapshot:
                verdict = apply_snapshot(sym, keys, lots, counts, rec, lists, s)
            else:
                verdict = apply_delta(sym, keys, lots, counts, rec, lists, s)
            out[r, O_SYMBOL] = s
            out[r, O_SEQ] = rec[R_SEQ]
            out[r, O_TS_LOCAL_NS] = rec[R_TS_LOCAL_NS]
            out[r, O_VENUE_TS_MS] = rec[R_VENUE_TS_MS]
            out[r, O_VERDICT] = verdict
            on_book(sym, book_rows, keys, lots, counts, glob[G_DEPTH], s,
                    verdict == V_SNAPSHOT, out, values, r)  # fmt: skip
            r += 1
    if 0 <= kind < kinds.size:
        kinds[kind] += 1
    return ST_OK, r, 0


@kernel
def fold_frames(
    buf: Bytes, ends: Ints, frame: int, first_seq: int, state: MarketState, rows: Rows, r: int
) -> tuple[int, int, int, int]:
    """Fold frames ``frame, frame + 1, ...`` of a block: frame k's payload is
    ``buf[ends[k - 1] + 8 : ends[k]]`` (frame 0 starts at 0) and has seq ``first_seq + k``
    (``first_seq`` -1: seqs are not checked). (status, next frame to fold, rows used, detail)."""
    glob, names, name_at, sym = state.glob, state.names, state.name_at, state.sym
    keys, lots, counts = state.level_key, state.level_lots, state.level_n
    book_rows, trades, kinds = state.book_rows, state.trades, state.kinds
    lists, rec = state.lists, state.rec
    out, values = rows.ints, rows.values
    n = ends.size
    while frame < n:
        start = (ends[frame - 1] if frame > 0 else 0) + 8
        seq = first_seq + frame if first_seq >= 0 else -1
        status, r, detail = fold_record(buf, start, ends[frame], seq, glob, names, name_at,
                                        sym, keys, lots, counts, book_rows, trades, kinds,
                                        lists, rec, out, values, r)  # fmt: skip
        if status != ST_OK:
            return status, frame, r, detail
        frame += 1
    return ST_OK, frame, r, 0
