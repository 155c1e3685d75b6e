"""The kernel's state: flat numpy arrays, and what every index of them means.

The kernel's entry point (``fold.fold_frames``) takes these arrays bundled in
``MarketState`` and ``Rows`` (plain NamedTuples) and hands the functions below it the arrays
they use, which change them in place. Python code owns the
arrays: it allocates them here and grows them when the kernel says one is full
(``grow_*``), so the kernel never allocates per event. Prices are integer ticks, sizes
integer lots, times as their names say (``*_ns`` local wall clock, ``*_ms`` venue clock).

``MarketState`` (S symbols, L levels per book side, W = ``book_window``, T = ``trade_window``)

=============== ================ =================================================================
array           shape, dtype     contents
=============== ================ =================================================================
``glob``        (G_FIELDS,) i64  ``G_SYMBOLS`` symbols known, ``G_NAME_BYTES`` bytes of ``names``
                                 used, ``G_DEPTH`` levels per side summed by ``pressure``
``names``       (bytes,) u8      the symbols' UTF-8 names, back to back (symbol id = order seen)
``name_at``     (S + 1,) i64     symbol i's name is ``names[name_at[i] : name_at[i + 1]]``
``sym``         (S, S_FIELDS)    per symbol: the book's ``update_id``, ``STALE`` (0/1) and why
                i64              (``REASON`` code and ``REASON_A/B/C``: see ``Reason``), then the
                                 feature state: ``CONTINUOUS`` (the last book event emitted a row),
                                 the previous row's ``PREV_BID``/``PREV_BID_LOTS``/``PREV_ASK``/
                                 ``PREV_ASK_LOTS``, the book window ring (``ROW_HEAD``, ``ROW_N``)
                                 and its sums ``SUM_E``/``SUM_DEPTH``/``SUM_R2``, the trade
                                 ring (``TRADE_HEAD``, ``TRADE_N``) and its sums ``SUM_FLOW``/
                                 ``SUM_QTY``, ``HAS_LAST``/``LAST_PRICE`` of the last trade
``level_key``   (2, S, L) i64    book levels, side 0 bids (key = price), side 1 asks (key =
                                 -price): ascending by key, so the best level of both sides is
                                 the last one and changes near the touch move few entries
``level_lots``  (2, S, L) i64    the size of each level in ``level_key``
``level_n``     (2, S) i64       levels in use per side and symbol
``book_rows``   (S, W, 3) i64    ring of the current run's rows: (OFI e, b + a, (2 dmid)**2)
``trades``      (S, T, 2) i64    ring of the last trades: (side * qty, qty)
``kinds``       (256,) i64       records folded, per event kind (non-market kinds are skipped)
``lists``       (4, M) i64       the current record's level lists (bid ticks, bid lots, ask
                                 ticks, ask lots), M = the longest list seen
``rec``         (R_FIELDS,) i64  the current record's scalar fields (``R_*``; strings as
                                 (offset, length) into the record's bytes)
=============== ================ =================================================================

``Rows``: one row per book event folded (valid or not), in event order.

=========== ================= ==================================================================
array       shape, dtype      contents
=========== ================= ==================================================================
``ints``    (N, O_FIELDS) i64 ``O_SYMBOL`` id, ``O_SEQ``, ``O_TS_LOCAL_NS``, ``O_VENUE_TS_MS``,
                              ``O_VERDICT`` (``Verdict``), ``O_VALID`` (1: the features were
                              computed), ``O_STALE`` (the book's flag after the event),
                              ``O_MID_X2`` (best bid + best ask, 0 if a side is empty), then the
                              best ``TOP`` levels: ``O_BID_PRICE + k``, ``O_BID_LOTS + k``,
                              ``O_ASK_PRICE + k``, ``O_ASK_LOTS + k`` for k < ``TOP`` (0 past
                              the book's end)
``values``  (N, 8) f64        the eight features in ``FEATURE_NAMES`` order; NaN where not valid
=========== ================= ==================================================================
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from asnd.core.features.spec import FEATURE_NAMES, FeatureConfig

__all__ = [
    "TOP",
    "MarketState",
    "Reason",
    "Rows",
    "Status",
    "Verdict",
    "grow_levels",
    "grow_lists",
    "grow_symbols",
    "new_rows",
    "new_state",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bytes = npt.NDArray[np.uint8]

# glob
G_SYMBOLS = 0
G_NAME_BYTES = 1
G_DEPTH = 2
G_FIELDS = 3

# sym
S_UPDATE_ID = 0
S_STALE = 1
S_REASON = 2
S_REASON_A = 3
S_REASON_B = 4
S_REASON_C = 5
S_CONTINUOUS = 6
S_PREV_BID = 7
S_PREV_BID_LOTS = 8
S_PREV_ASK = 9
S_PREV_ASK_LOTS = 10
S_ROW_HEAD = 11
S_ROW_N = 12
S_SUM_E = 13
S_SUM_DEPTH = 14
S_SUM_R2 = 15
S_TRADE_HEAD = 16
S_TRADE_N = 17
S_SUM_FLOW = 18
S_SUM_QTY = 19
S_HAS_LAST = 20
S_LAST_PRICE = 21
S_FIELDS = 22

BID = 0
ASK = 1

# rec: common fields, then each kind's own (they share indices from R_OWN on)
R_KIND = 0
R_SEQ = 1
R_TS_LOCAL_NS = 2
R_SYMBOL_AT = 3
R_SYMBOL_LEN = 4
R_OWN = 5
# BookSnapshot / BookDelta (the level lists go to ``lists``; their lengths here)
R_UPDATE_ID = 5
R_VENUE_SEQ = 6
R_VENUE_TS_MS = 7
R_CTS_MS = 8
R_BIDS = 9
R_ASKS = 10
# Trade
R_TRADE_ID_AT = 5
R_TRADE_ID_LEN = 6
R_SIDE = 7
R_PRICE = 8
R_QTY = 9
R_TRADE_TS_MS = 10
R_BLOCK_TRADE = 11
# InstrumentInfo (min_qty / min_notional: length -1 when the record predates them)
R_VENUE_AT = 5
R_VENUE_LEN = 6
R_TICK_AT = 7
R_TICK_LEN = 8
R_LOT_AT = 9
R_LOT_LEN = 10
R_MIN_QTY_AT = 11
R_MIN_QTY_LEN = 12
R_MIN_NOTIONAL_AT = 13
R_MIN_NOTIONAL_LEN = 14
R_FIELDS = 15

# lists rows
L_BID_TICKS = 0
L_BID_LOTS = 1
L_ASK_TICKS = 2
L_ASK_LOTS = 3

K_INSTRUMENT = 1
K_SNAPSHOT = 2
K_DELTA = 3
K_TRADE = 4

#: Book levels per side copied into every row (the differential tests' "top 5").
TOP = 5
O_SYMBOL = 0
O_SEQ = 1
O_TS_LOCAL_NS = 2
O_VENUE_TS_MS = 3
O_VERDICT = 4
O_VALID = 5
O_STALE = 6
O_MID_X2 = 7
O_BID_PRICE = 8
O_BID_LOTS = O_BID_PRICE + TOP
O_ASK_PRICE = O_BID_LOTS + TOP
O_ASK_LOTS = O_ASK_PRICE + TOP
O_FIELDS = O_ASK_LOTS + TOP
N_FEATURES = len(FEATURE_NAMES)


class Status(enum.IntEnum):
    """What a fold call stopped on (everything but OK and ROWS_FULL needs Python's help)."""

    OK = 0  # every frame folded
    ROWS_FULL = 1  # the row buffer is full: drain it and call again
    GROW_LEVELS = 2  # a book side needs more levels (detail: how many)
    GROW_SYMBOLS = 3  # a new symbol does not fit (detail: name bytes needed)
    GROW_LISTS = 4  # a record's level list is longer than ``lists`` (detail: its length)
    BAD_RECORD = 5  # a market record is not what its kind says (detail: the field's index)
    BAD_SEQ = 6  # a record's seq is not the one expected (detail: the seq found)


class Verdict(enum.IntEnum):
    """What one book event did to its book."""

    APPLIED = 0
    SNAPSHOT = 1
    GAP = 2
    IGNORED_STALE = 3
    CROSSED = 4


class Reason(enum.IntEnum):
    """Why a book is stale; ``REASON_A/B/C`` hold the numbers its message names."""

    NONE = 0
    NO_SNAPSHOT = 1
    CROSSED_SNAPSHOT = 2
    VENUE_RESTART = 3  # a delta with u = 1
    GAP = 4  # A expected u, B the u received
    CROSSED_DELTA = 5  # A the delta's u, B best bid, C best ask
    EXTERNAL = 6  # marked from outside (reconnect, silence): the text is the caller's


# The enums as plain ints for kernel code (numba folds module-level ints into constants).
ST_OK = int(Status.OK)
ST_ROWS_FULL = int(Status.ROWS_FULL)
ST_GROW_LEVELS = int(Status.GROW_LEVELS)
ST_GROW_SYMBOLS = int(Status.GROW_SYMBOLS)
ST_GROW_LISTS = int(Status.GROW_LISTS)
ST_BAD_RECORD = int(Status.BAD_RECORD)
ST_BAD_SEQ = int(Status.BAD_SEQ)
V_APPLIED = int(Verdict.APPLIED)
V_SNAPSHOT = int(Verdict.SNAPSHOT)
V_GAP = int(Verdict.GAP)
V_IGNORED_STALE = int(Verdict.IGNORED_STALE)
V_CROSSED = int(Verdict.CROSSED)
RS_NONE = int(Reason.NONE)
RS_NO_SNAPSHOT = int(Reason.NO_SNAPSHOT)
RS_CROSSED_SNAPSHOT = int(Reason.CROSSED_SNAPSHOT)
RS_VENUE_RESTART = int(Reason.VENUE_RESTART)
RS_GAP = int(Reason.GAP)
RS_CROSSED_DELTA = int(Reason.CROSSED_DELTA)
RS_EXTERNAL = int(Reason.EXTERNAL)


class MarketState(NamedTuple):
    glob: Ints
    names: Bytes
    name_at: Ints
    sym: Ints
    level_key: Ints
    level_lots: Ints
    level_n: Ints
    book_rows: Ints
    trades: Ints
    kinds: Ints
    lists: Ints
    rec: Ints


class Rows(NamedTuple):
    ints: Ints
    values: Floats


def new_state(
    config: FeatureConfig, *, symbols: int = 4, levels: int = 64, lists: int = 64
) -> MarketState:
    glob = np.zeros(G_FIELDS, np.int64)
    glob[G_DEPTH] = config.depth
    return MarketState(
        glob=glob,
        names=np.zeros(16 * symbols, np.uint8),
        name_at=np.zeros(symbols + 1, np.int64),
        sym=_fresh_symbols(symbols),
        level_key=np.zeros((2, symbols, levels), np.int64),
        level_lots=np.zeros((2, symbols, levels), np.int64),
        level_n=np.zeros((2, symbols), np.int64),
        book_rows=np.zeros((symbols, config.book_window, 3), np.int64),
        trades=np.zeros((symbols, config.trade_window, 2), np.int64),
        kinds=np.zeros(256, np.int64),
        lists=np.zeros((4, lists), np.int64),
        rec=np.zeros(R_FIELDS, np.int64),
    )


def new_rows(capacity: int) -> Rows:
    return Rows(np.zeros((capacity, O_FIELDS), np.int64), np.zeros((capacity, N_FEATURES)))


def _fresh_symbols(n: int) -> Ints:
    sym = np.zeros((n, S_FIELDS), np.int64)
    sym[:, S_STALE] = 1
    sym[:, S_REASON] = Reason.NO_SNAPSHOT
    return sym


def _capacity(current: int, needed: int) -> int:
    """Doubling growth: amortised O(1) per level however deep the books get."""
    size = max(current, 1)
    while size < needed:
        size *= 2
    return size


def _widen(array: Ints, axis: int, size: int, fill: Ints | None = None) -> Ints:
    shape = list(array.shape)
    old = shape[axis]
    shape[axis] = size
    out = np.zeros(shape, array.dtype) if fill is None else fill
    index = [slice(None)] * array.ndim
    index[axis] = slice(0, old)
    out[tuple(index)] = array
    return out


def grow_levels(state: MarketState, needed: int) -> MarketState:
    size = _capacity(state.level_key.shape[2], needed)
    return state._replace(
        level_key=_widen(state.level_key, 2, size), level_lots=_widen(state.level_lots, 2, size)
    )


def grow_lists(state: MarketState, needed: int) -> MarketState:
    return state._replace(lists=_widen(state.lists, 1, _capacity(state.lists.shape[1], needed)))


def grow_symbols(state: MarketState, name_bytes: int) -> MarketState:
    """Room for at least one more symbol and ``name_bytes`` more bytes of names."""
    n = state.sym.shape[0]
    size = _capacity(n, int(state.glob[G_SYMBOLS]) + 1)
    names = state.names
    room = _capacity(names.size, int(state.glob[G_NAME_BYTES]) + name_bytes)
    grown_names = np.zeros(room, np.uint8)
    grown_names[: names.size] = names
    return state._replace(
        names=grown_names,
        name_at=_widen(state.name_at, 0, size + 1),
        sym=_widen(state.sym, 0, size, _fresh_symbols(size)),
        level_key=_widen(state.level_key, 1, size),
        level_lots=_widen(state.level_lots, 1, size),
        level_n=_widen(state.level_n, 1, size),
        book_rows=_widen(state.book_rows, 0, size),
        trades=_widen(state.trades, 0, size),
    )
