"""``MarketKernel``: the Python side of the market kernel, owning its arrays.

It hands record bytes to the compiled fold (``fold``), grows the state when the kernel asks,
drains the rows the kernel writes into a ``RowSink``, turns a bad record into one clear
error, and gives read-only views of the books (levels, ``update_id``, stale and why) for
status, snapshots and tests. It never decodes or folds a record itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from asnd.core.features.spec import FeatureConfig, FeatureRow
from asnd.core.kernel.book import mark_stale
from asnd.core.kernel.fold import fold_frames, fold_record, symbol_id
from asnd.core.kernel.layout import (
    ASK,
    BID,
    G_SYMBOLS,
    O_VALID,
    S_REASON,
    S_REASON_A,
    S_REASON_B,
    S_REASON_C,
    S_STALE,
    S_UPDATE_ID,
    ST_OK,
    MarketState,
    Reason,
    Rows,
    Status,
    grow_levels,
    grow_lists,
    grow_symbols,
    new_rows,
    new_state,
)
from journal.codec import encode
from journal.errors import CorruptJournal
from journal.events import Event

__all__ = ["BadMarketRecord", "FrameSource", "MarketKernel", "RowSink"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

#: Called with the rows written so far (``ints``, ``values``: views valid until it returns).
RowSink = Callable[[Ints, Floats], None]


class FrameSource(Protocol):
    """A block of checked frames (``journal.blocks.FrameBlock`` is one)."""

    @property
    def path(self) -> Path: ...
    @property
    def offset(self) -> int: ...
    @property
    def data(self) -> memoryview: ...
    @property
    def ends(self) -> Sequence[int] | Ints: ...
    @property
    def first_seq(self) -> int: ...


class BadMarketRecord(ValueError):
    """A record the kernel cannot fold: ``frame`` is its index in the block handed over."""

    def __init__(self, frame: int, what: str) -> None:
        super().__init__(what)
        self.frame = frame


#: The frame header (length, CRC) the kernel skips in a block of frames.
_FRAME_HEADER = bytes(8)


def _drop(_ints: Ints, _values: Floats) -> None:
    """The sink of a fold whose rows nobody reads (only the state is wanted)."""


class MarketKernel:
    """Books and features of every symbol in a stream of journal records."""

    def __init__(
        self,
        config: FeatureConfig | None = None,
        *,
        sink: RowSink | None = None,
        row_capacity: int = 4096,
        levels: int = 64,
    ) -> None:
        self.config = config or FeatureConfig()
        self.state: MarketState = new_state(self.config, levels=levels)
        self.rows: Rows = new_rows(row_capacity)
        self.sink: RowSink = sink or _drop
        self._external: dict[int, str] = {}  # stale reasons given by callers, per symbol id
        self._ids: dict[str, int] = {}  # symbol -> id, once the kernel has it (ids never move)

    # ------------------------------------------------------------------------- folding

    def fold_block(
        self, data: bytes | memoryview, ends: Sequence[int] | Ints, first_seq: int = -1
    ) -> None:
        """Fold every frame of a block (``FrameBlock``'s layout); ``first_seq`` -1 skips the
        seq check. Rows go to the sink, the last ones before this returns."""
        buf = np.frombuffer(data, np.uint8)
        frame_ends = np.asarray(ends, dtype=np.int64)
        frame = rows = 0
        while True:
            status, frame, rows, detail = fold_frames(
                buf, frame_ends, frame, first_seq, self.state, self.rows, rows
            )
            if status == Status.OK:
                break
            if status == Status.ROWS_FULL:
                self._drain(rows)
                rows = 0
            else:
                self._grow_or_raise(Status(status), frame, detail, first_seq)
        self._drain(rows)

    def fold_blocks(self, blocks: Iterable[FrameSource]) -> None:
        """Fold a journal's blocks (``journal.blocks.JournalBlocks.blocks()``); a bad record
        raises ``CorruptJournal`` with its file and offset."""
        for block in blocks:
            try:
                self.fold_block(block.data, block.ends, block.first_seq)
            except BadMarketRecord as exc:
                start = int(block.ends[exc.frame - 1]) if exc.frame else 0
                raise CorruptJournal(block.path, block.offset + start, str(exc)) from None

    def fold_one(self, payload: bytes) -> int:
        """Fold one encoded event (``journal.codec.encode``): the live path, one kernel call
        per journaled market event. Returns the rows it wrote (1 for a book event, else 0),
        left in ``rows`` (row 0) for the caller to read, not sent to the sink.

        It calls ``fold_record`` on the bare payload with the arrays as arguments: numba
        unboxes a NamedTuple of arrays (``fold_frames``) about twice as slowly, and this is
        the tick-to-order path."""
        buf = np.frombuffer(payload, np.uint8)
        out, values = self.rows
        while True:
            st = self.state
            status, rows, detail = fold_record(
                buf, 0, buf.size, -1, st.glob, st.names, st.name_at, st.sym, st.level_key,
                st.level_lots, st.level_n, st.book_rows, st.trades, st.kinds, st.lists, st.rec,
                out, values, 0,
            )  # fmt: skip
            if status == ST_OK:
                return int(rows)
            self._grow_or_raise(Status(status), 0, detail, -1)

    def fold_event(self, event: Event) -> FeatureRow | None:
        """``fold_one`` of ``event`` as the journal encodes it: its feature row if it was a
        book event that left the book valid (the row the live daemon's slots read)."""
        if self.fold_one(encode(event)) and self.rows.ints[0, O_VALID]:
            return tuple(self.rows.values[0].tolist())
        return None

    def add_symbol(self, symbol: str) -> int:
        """The id of ``symbol``, registering it (with a stale, empty book) if it is new."""
        known = self._ids.get(symbol)
        if known is not None:
            return known
        name = np.frombuffer(symbol.encode(), np.uint8)
        while True:
            st = self.state
            s = int(symbol_id(st.glob, st.names, st.name_at, st.sym.shape[0], name, 0, name.size))
            if s >= 0:
                self._ids[symbol] = s
                return s
            self.state = grow_symbols(self.state, name.size)

    def fold_payloads(self, payloads: Iterable[bytes]) -> None:
        """Fold encoded events (``journal.codec.encode``) without a journal: the live path
        and tests. Seqs are not checked."""
        data = bytearray()
        ends: list[int] = []
        for payload in payloads:
            data += _FRAME_HEADER
            data += payload
            ends.append(len(data))
        self.fold_block(bytes(data), ends)

    def _drain(self, rows: int) -> None:
        if rows:
            self.sink(self.rows.ints[:rows], self.rows.values[:rows])

    def _grow_or_raise(self, status: Status, frame: int, detail: int, first_seq: int) -> None:
        if status == Status.GROW_LEVELS:
            self.state = grow_levels(self.state, detail)
        elif status == Status.GROW_SYMBOLS:
            self.state = grow_symbols(self.state, detail)
        elif status == Status.GROW_LISTS:
            self.state = grow_lists(self.state, detail)
        elif status == Status.BAD_SEQ:
            expected = first_seq + frame
            raise BadMarketRecord(frame, f"seq {detail} where {expected} was expected")
        else:
            raise BadMarketRecord(
                frame, f"undecodable market record (element {detail} is not what its kind has)"
            )

    # -------------------------------------------------------------------------- views

    def symbols(self) -> list[str]:
        st = self.state
        n = int(st.glob[G_SYMBOLS])
        at = st.name_at
        return [bytes(st.names[at[i] : at[i + 1]]).decode() for i in range(n)]

    def symbol_index(self, symbol: str) -> int | None:
        known = self._ids.get(symbol)
        if known is not None:
            return known
        names = self.symbols()
        if symbol not in names:
            return None
        self._ids[symbol] = names.index(symbol)
        return self._ids[symbol]

    def _index(self, symbol: str) -> int:
        s = self.symbol_index(symbol)
        if s is None:
            raise KeyError(f"no market data for {symbol} yet")
        return s

    def levels(self, symbol: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Every (price_ticks, lots) level, ascending by price on both sides
        (``BookView.levels``)."""
        s = self._index(symbol)
        st = self.state
        nb, na = int(st.level_n[BID, s]), int(st.level_n[ASK, s])
        bid_keys, bid_lots = st.level_key[BID, s, :nb].tolist(), st.level_lots[BID, s, :nb].tolist()
        ask_keys, ask_lots = st.level_key[ASK, s, :na].tolist(), st.level_lots[ASK, s, :na].tolist()
        bids = list(zip(bid_keys, bid_lots, strict=True))
        asks = [(-k, q) for k, q in zip(ask_keys, ask_lots, strict=True)]
        return bids, asks[::-1]

    def update_id(self, symbol: str) -> int:
        return int(self.state.sym[self._index(symbol), S_UPDATE_ID])

    def stale(self, symbol: str) -> bool:
        return bool(self.state.sym[self._index(symbol), S_STALE])

    def stale_reason(self, symbol: str) -> str:
        """Why the book is stale, as text ("" when valid)."""
        s = self._index(symbol)
        sym = self.state.sym
        reason = Reason(int(sym[s, S_REASON]))
        a, b, c = (int(sym[s, i]) for i in (S_REASON_A, S_REASON_B, S_REASON_C))
        if reason is Reason.NO_SNAPSHOT:
            return "no snapshot yet"
        if reason is Reason.CROSSED_SNAPSHOT:
            return "crossed snapshot"
        if reason is Reason.VENUE_RESTART:
            return "venue restarted its book (u=1)"
        if reason is Reason.GAP:
            return f"gap: expected u={a}, got u={b}"
        if reason is Reason.CROSSED_DELTA:
            return f"crossed at u={a}: bid {b} >= ask {c}"
        if reason is Reason.EXTERNAL:
            return self._external.get(s, "")
        return ""

    def mark_stale(self, symbol: str, reason: str) -> None:
        """From outside (reconnect, silence): distrust the book until its next snapshot."""
        s = self._index(symbol)
        self._external[s] = reason
        mark_stale(self.state.sym, s, int(Reason.EXTERNAL))
