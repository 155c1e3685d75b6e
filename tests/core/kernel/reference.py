"""The differential harness: the kernel's rows against today's Python book and features.

``python_rows`` runs one ``FeatureEngine`` per symbol (``L2Book`` + ``FeatureState``, the
reference) over events and records, per book event, what the kernel records in its row;
``kernel_rows`` folds the same events' bytes through ``MarketKernel``. ``assert_same`` compares
them exactly: integers equal, floats equal bit for bit (NaN where no features).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from asnd.core.features import FeatureConfig
from asnd.core.kernel import TOP, MarketKernel, Verdict
from asnd.core.kernel.layout import (
    O_ASK_LOTS,
    O_ASK_PRICE,
    O_BID_LOTS,
    O_BID_PRICE,
    O_FIELDS,
    O_MID_X2,
    O_SEQ,
    O_STALE,
    O_SYMBOL,
    O_TS_LOCAL_NS,
    O_VALID,
    O_VENUE_TS_MS,
    O_VERDICT,
)
from journal.codec import encode
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade
from tests.core.kernel.oracle import FeatureEngine, Update

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_VERDICT: dict[Update, Verdict] = {
    u: Verdict[u.name] for u in Update if u is not Update.WRONG_SYMBOL
}


def python_rows(
    events: Iterable[Event], config: FeatureConfig | None = None
) -> tuple[Ints, Floats, dict[str, FeatureEngine]]:
    engines: dict[str, FeatureEngine] = {}
    ids: dict[str, int] = {}
    ints: list[list[int]] = []
    values: list[tuple[float, ...]] = []
    for e in events:
        if not isinstance(e, InstrumentInfo | BookSnapshot | BookDelta | Trade):
            continue
        if e.symbol not in engines:
            ids[e.symbol] = len(ids)
            engines[e.symbol] = FeatureEngine(e.symbol, config)
        engine = engines[e.symbol]
        if isinstance(e, Trade):
            engine.on_event(e)
        elif isinstance(e, BookSnapshot | BookDelta):
            book = engine.book
            verdict = book.apply(e)
            row = engine.state.on_book(book, snapshot=verdict is Update.SNAPSHOT)
            out = [0] * O_FIELDS
            out[O_SYMBOL] = ids[e.symbol]
            out[O_SEQ] = e.seq
            out[O_TS_LOCAL_NS] = e.ts_local_ns
            out[O_VENUE_TS_MS] = e.venue_ts_ms
            out[O_VERDICT] = _VERDICT[verdict]
            out[O_VALID] = row is not None
            out[O_STALE] = book.stale
            bids, asks = book.bids(TOP), book.asks(TOP)
            for k, (p, q) in enumerate(bids):
                out[O_BID_PRICE + k], out[O_BID_LOTS + k] = p, q
            for k, (p, q) in enumerate(asks):
                out[O_ASK_PRICE + k], out[O_ASK_LOTS + k] = p, q
            out[O_MID_X2] = bids[0][0] + asks[0][0] if bids and asks else 0
            ints.append(out)
            values.append(row if row is not None else (np.nan,) * 8)
    return (
        np.asarray(ints, dtype=np.int64).reshape(-1, O_FIELDS),
        np.asarray(values, dtype=np.float64).reshape(-1, 8),
        engines,
    )


class AllRows:
    """A ``RowSink`` keeping every row (copies)."""

    def __init__(self) -> None:
        self.ints: list[Ints] = []
        self.values: list[Floats] = []

    def __call__(self, ints: Ints, values: Floats) -> None:
        self.ints.append(ints.copy())
        self.values.append(values.copy())

    def arrays(self) -> tuple[Ints, Floats]:
        return (
            np.concatenate([np.zeros((0, O_FIELDS), np.int64), *self.ints]),
            np.concatenate([np.zeros((0, 8)), *self.values]),
        )


def kernel_rows(
    events: Iterable[Event], config: FeatureConfig | None = None, **kernel_args: int
) -> tuple[Ints, Floats, MarketKernel]:
    rows = AllRows()
    kernel = MarketKernel(config, sink=rows, **kernel_args)
    kernel.fold_payloads(encode(e) for e in events)
    ints, values = rows.arrays()
    return ints, values, kernel


def assert_same_rows(got: tuple[Ints, Floats], want: tuple[Ints, Floats]) -> None:
    got_ints, got_values = got
    want_ints, want_values = want
    assert got_ints.shape == want_ints.shape
    bad = np.flatnonzero((got_ints != want_ints).any(axis=1))
    assert bad.size == 0, f"row {bad[0]}: kernel {got_ints[bad[0]]} != python {want_ints[bad[0]]}"
    # Bit for bit (NaN == NaN where both have no features).
    same = got_values.view(np.int64) == want_values.view(np.int64)
    bad = np.flatnonzero(~same.all(axis=1))
    assert bad.size == 0, f"row {bad[0]}: {got_values[bad[0]]} != {want_values[bad[0]]}"


def assert_same(
    events: list[Event], config: FeatureConfig | None = None, **kernel_args: int
) -> MarketKernel:
    """The kernel and the Python reference agree on every row and on the final books."""
    got_ints, got_values, kernel = kernel_rows(events, config, **kernel_args)
    want_ints, want_values, engines = python_rows(events, config)
    assert_same_rows((got_ints, got_values), (want_ints, want_values))
    assert kernel.symbols() == list(engines)
    for symbol, engine in engines.items():
        assert kernel.levels(symbol) == engine.book.levels()
        assert kernel.update_id(symbol) == engine.book.update_id
        assert kernel.stale(symbol) == engine.book.stale
        assert kernel.stale_reason(symbol) == engine.book.stale_reason
    return kernel
