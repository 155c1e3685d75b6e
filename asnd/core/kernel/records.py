"""Decoding one journal record (a msgpack event array, see ``journal.events``) in the kernel.

``decode_record`` reads the common head of every record (kind, seq, ts_local_ns) and, for the
four market kinds, their fields into ``MarketState.rec`` and the level lists into
``MarketState.lists`` (layout in ``layout``). Other kinds are left undecoded: the fold skips
them. Field rules are msgspec's for these structs: trailing fields with a default may be
missing (``Trade.block_trade``, ``InstrumentInfo.min_qty``/``min_notional``), elements after
the last known field are ignored (a newer minor schema appended them).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.jit import kernel
from asnd.core.kernel.layout import (
    K_INSTRUMENT,
    K_TRADE,
    R_ASKS,
    R_BIDS,
    R_BLOCK_TRADE,
    R_KIND,
    R_LOT_AT,
    R_MIN_NOTIONAL_AT,
    R_MIN_QTY_AT,
    R_SIDE,
    R_SYMBOL_AT,
    R_SYMBOL_LEN,
    R_TICK_AT,
    R_TRADE_ID_AT,
    R_TRADE_ID_LEN,
    R_UPDATE_ID,
    R_VENUE_AT,
    ST_BAD_RECORD,
    ST_GROW_LISTS,
    ST_OK,
)
from asnd.core.kernel.wire import (
    read_array,
    read_bool,
    read_common_int,
    read_int,
    read_ints,
    read_str,
)

__all__ = ["decode_record", "is_market"]

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

#: Elements of each market kind's array: (all fields, the required ones).
_BOOK_FIELDS = 12
_TRADE_FIELDS, _TRADE_REQUIRED = 10, 9
_INSTRUMENT_FIELDS, _INSTRUMENT_REQUIRED = 9, 7


@kernel
def is_market(kind: int) -> bool:
    return K_INSTRUMENT <= kind <= K_TRADE


@kernel
def _read_list(buf: Bytes, p: int, end: int, lists: Ints, row: int) -> tuple[int, int, int]:
    """One list of ints into ``lists[row]``: (status, length or needed room, next position)."""
    n, p = read_array(buf, p, end)
    if p < 0:
        return ST_BAD_RECORD, 0, -1
    if n > lists.shape[1]:
        return ST_GROW_LISTS, n, -1
    p = read_ints(buf, p, end, lists, row, n)
    if p < 0:
        return ST_BAD_RECORD, 0, -1
    return ST_OK, n, p


@kernel
def _read_scalars(buf: Bytes, p: int, end: int, rec: Ints, first: int, n: int) -> int:
    """``n`` ints into ``rec[first:first + n]``; the next position, or -1."""
    for i in range(n):
        v, q = read_common_int(buf, p, end)
        if q < 0:
            v, q = read_int(buf, p, end)
            if q < 0:
                return -1
        rec[first + i] = v
        p = q
    return p


@kernel
def decode_record(buf: Bytes, start: int, end: int, rec: Ints, lists: Ints) -> tuple[int, int]:
    """Decode the record in ``buf[start:end]``: (status, detail). ``BAD_RECORD``'s detail is
    the index of the element that is wrong (0: not an event array); ``GROW_LISTS``' the
    length ``lists`` must hold."""
    count, p = read_array(buf, start, end)
    if p < 0 or count < 3:
        return ST_BAD_RECORD, 0
    p = _read_scalars(buf, p, end, rec, R_KIND, 3)
    if p < 0:
        return ST_BAD_RECORD, 1
    kind = rec[R_KIND]
    if not is_market(kind):
        return ST_OK, 0
    if kind == K_INSTRUMENT:
        if count < _INSTRUMENT_REQUIRED:
            return ST_BAD_RECORD, count
        field = 3
        for at_index in (R_VENUE_AT, R_SYMBOL_AT, R_TICK_AT, R_LOT_AT, R_MIN_QTY_AT,
                         R_MIN_NOTIONAL_AT):  # fmt: skip
            if field >= min(count, _INSTRUMENT_FIELDS):
                rec[at_index] = 0
                rec[at_index + 1] = -1  # absent: the struct's default ("0")
            else:
                at, n, p = read_str(buf, p, end)
                if p < 0:
                    return ST_BAD_RECORD, field
                rec[at_index] = at
                rec[at_index + 1] = n
            field += 1
        return ST_OK, 0
    at, n, p = read_str(buf, p, end)
    if p < 0:
        return ST_BAD_RECORD, 3
    rec[R_SYMBOL_AT] = at
    rec[R_SYMBOL_LEN] = n
    if kind == K_TRADE:
        if count < _TRADE_REQUIRED:
            return ST_BAD_RECORD, count
        at, n, p = read_str(buf, p, end)
        if p < 0:
            return ST_BAD_RECORD, 4
        rec[R_TRADE_ID_AT] = at
        rec[R_TRADE_ID_LEN] = n
        p = _read_scalars(buf, p, end, rec, R_SIDE, 4)
        if p < 0:
            return ST_BAD_RECORD, 5
        rec[R_BLOCK_TRADE] = 0
        if count >= _TRADE_FIELDS:
            block, p = read_bool(buf, p, end)
            if p < 0:
                return ST_BAD_RECORD, 9
            rec[R_BLOCK_TRADE] = 1 if block else 0
        return ST_OK, 0
    if count < _BOOK_FIELDS:
        return ST_BAD_RECORD, count
    p = _read_scalars(buf, p, end, rec, R_UPDATE_ID, 4)
    if p < 0:
        return ST_BAD_RECORD, 4
    for row in range(4):
        status, n, p = _read_list(buf, p, end, lists, row)
        if status != ST_OK:
            return status, n if status == ST_GROW_LISTS else 8 + row
        if row == 1 and n != rec[R_BIDS]:
            return ST_BAD_RECORD, 9  # bid ticks and lots of different lengths
        if row == 3 and n != rec[R_ASKS]:
            return ST_BAD_RECORD, 11
        if row == 0:
            rec[R_BIDS] = n
        elif row == 2:
            rec[R_ASKS] = n
    return ST_OK, 0
