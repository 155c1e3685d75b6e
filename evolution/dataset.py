"""Datasets: a journal's feature rows, top of book and forward returns, aligned by event.

``load_dataset(journals, symbol=..., cache_dir=...)`` reads each journal once, computes the
batch features of ``asnd.core.features`` (one row per valid book update of the symbol) and
keeps per row the book event's ``seq``/``ts_local_ns``, the best bid and ask in ticks and the
forward return over ``horizon_rows`` rows (NaN where the journal ends first). Several
journals are stacked; ``segments`` says which rows came from which journal (returns and
fitness never cross a journal boundary).

Cache. The result is saved as ``.npz`` under ``cache_dir``, keyed by the SHA-256 of every
segment file's name and bytes, the symbol, the feature windows and the horizon (and a format
version), so a second run over the same data loads it instead of recomputing, and a changed
journal can never be served a stale dataset.

Bad input raises ``DatasetError`` naming the journal: no such directory, no events, no book
rows of the symbol, fewer than ``min_rows`` rows.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from asnd.core.features import FEATURE_NAMES, FeatureConfig, forward_returns
from asnd.core.kernel.frame import frame_from_events
from journal.errors import JournalError
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade
from journal.reader import JournalReader
from journal.segment import segment_paths

__all__ = ["MIN_ROWS", "Dataset", "DatasetError", "load_dataset", "read_market"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

#: Fewest feature rows worth evolving on: PCMCI needs a sample, TTT needs a path.
MIN_ROWS: Final = 40
_CACHE_VERSION: Final = 1


class DatasetError(ValueError):
    """A journal cannot give a usable dataset; the message names the journal and why."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """Feature rows of one symbol over one or more journals, in journal order."""

    symbol: str
    tick_size: str
    lot_size: str
    names: tuple[str, ...]
    features: Floats  # (rows, len(names))
    bid_ticks: Ints
    ask_ticks: Ints
    forward_return: Floats  # NaN where the horizon passes the end of the row's journal
    seq: Ints
    ts_local_ns: Ints
    segments: tuple[tuple[int, int], ...]  # [start, end) rows per journal
    journals: tuple[str, ...]
    trades: int  # public trades of the symbol seen in the journals
    horizon_rows: int
    key: str  # the cache key: content of the journals + feature config + horizon

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def mid_x2_ticks(self) -> Ints:
        return self.bid_ticks + self.ask_ticks

    @property
    def data_start(self) -> str:
        return _iso(int(self.ts_local_ns[0]))

    @property
    def data_end(self) -> str:
        return _iso(int(self.ts_local_ns[-1]))

    def columns(self, names: Sequence[str]) -> Floats:
        """The feature matrix restricted to ``names``, in that order (contiguous)."""
        idx = [self.names.index(n) for n in names]
        return np.ascontiguousarray(self.features[:, idx])


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_market(journal: Path, symbol: str | None = None) -> Iterator[Event]:
    """The market events (instrument, book, trades) of a journal, optionally of one symbol."""
    try:
        reader = JournalReader(journal)
        kinds = (InstrumentInfo, BookSnapshot, BookDelta, Trade)
        for event in reader.events(kinds=kinds):
            if symbol is None or getattr(event, "symbol", None) == symbol:
                yield event
    except JournalError as exc:
        raise DatasetError(f"journal {journal}: {exc}") from None


def _journal_digest(journal: Path) -> str:
    if not journal.is_dir():
        raise DatasetError(f"journal {journal}: no such directory")
    h = hashlib.sha256()
    paths = segment_paths(journal)
    if not paths:
        raise DatasetError(f"journal {journal}: empty (no segment files)")
    for path in paths:
        h.update(path.name.encode())
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def cache_key(
    journals: Sequence[Path], symbol: str | None, config: FeatureConfig, horizon_rows: int
) -> str:
    h = hashlib.sha256(f"v{_CACHE_VERSION}|{symbol}|{config}|{horizon_rows}".encode())
    for journal in journals:
        h.update(_journal_digest(journal).encode())
    return h.hexdigest()[:32]


@dataclass(slots=True)
class _Watch:
    """Sees the events the kernel folds: instrument rules and trade count."""

    info: dict[str, InstrumentInfo]
    trades: dict[str, int]
    events: int = 0

    def through(self, events: Iterator[Event]) -> Iterator[Event]:
        for e in events:
            self.events += 1
            if isinstance(e, InstrumentInfo):
                self.info.setdefault(e.symbol, e)
            elif isinstance(e, Trade):
                self.trades[e.symbol] = self.trades.get(e.symbol, 0) + 1
            yield e


def load_dataset(
    journals: Sequence[Path],
    *,
    symbol: str | None = None,
    config: FeatureConfig | None = None,
    horizon_rows: int = 1,
    cache_dir: Path | None = None,
    min_rows: int = MIN_ROWS,
) -> Dataset:
    """The dataset of ``symbol`` (default: the first journal's first symbol) over
    ``journals``; loaded from ``cache_dir`` when an identical one was computed before."""
    if not journals:
        raise DatasetError("no journal given")
    config = config or FeatureConfig()
    paths = [Path(j) for j in journals]
    key = cache_key(paths, symbol, config, horizon_rows)
    cached = cache_dir / f"dataset-{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        return _load_npz(cached, key)
    dataset = _compute(paths, symbol, config, horizon_rows, key, min_rows)
    if cached is not None:
        _save_npz(cached, dataset)
    return dataset


def _compute(
    journals: list[Path],
    symbol: str | None,
    config: FeatureConfig,
    horizon_rows: int,
    key: str,
    min_rows: int,
) -> Dataset:
    parts = []
    segments: list[tuple[int, int]] = []
    info: InstrumentInfo | None = None
    trades = 0
    rows = 0
    for journal in journals:
        watch = _Watch({}, {})
        frame = frame_from_events(watch.through(read_market(journal, symbol)), symbol, config)
        if watch.events == 0:
            raise DatasetError(
                f"journal {journal}: no market events"
                + (f" of {symbol}" if symbol is not None else "")
            )
        if len(frame) == 0:
            raise DatasetError(f"journal {journal}: no valid book of {frame.symbol or symbol}")
        symbol = frame.symbol
        this = watch.info.get(symbol)
        if this is None:
            raise DatasetError(
                f"journal {journal}: no InstrumentInfo for {symbol} (tick and lot size unknown)"
            )
        if info is not None and (this.tick_size, this.lot_size) != (
            info.tick_size,
            info.lot_size,
        ):
            raise DatasetError(f"journal {journal}: {symbol} has a different tick or lot size")
        info = this
        trades += watch.trades.get(symbol, 0)
        parts.append((frame, forward_returns(frame, horizon_rows)))
        segments.append((rows, rows + len(frame)))
        rows += len(frame)
    if rows < min_rows:
        raise DatasetError(
            f"journals {', '.join(map(str, journals))}: only {rows} feature rows of {symbol}; "
            f"need at least {min_rows}"
        )
    if info is None or symbol is None:  # pragma: no cover - set by every iteration
        raise DatasetError("no journal given")
    bid = np.concatenate(
        [(f.mid_x2_ticks - f.column("spread_ticks").astype(np.int64)) // 2 for f, _ in parts]
    )
    ask = np.concatenate([f.mid_x2_ticks for f, _ in parts]) - bid
    return Dataset(
        symbol=symbol,
        tick_size=info.tick_size,
        lot_size=info.lot_size,
        names=FEATURE_NAMES,
        features=np.ascontiguousarray(np.concatenate([f.values for f, _ in parts])),
        bid_ticks=bid,
        ask_ticks=ask,
        forward_return=np.concatenate([r for _, r in parts]),
        seq=np.concatenate([f.seq for f, _ in parts]),
        ts_local_ns=np.concatenate([f.ts_local_ns for f, _ in parts]),
        segments=tuple(segments),
        journals=tuple(str(j) for j in journals),
        trades=trades,
        horizon_rows=horizon_rows,
        key=key,
    )


def _save_npz(path: Path, d: Dataset) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = np.array(
        [d.symbol, d.tick_size, d.lot_size, "\x1f".join(d.names), "\x1f".join(d.journals)]
    )
    # Written under a temporary name and renamed: a crash never leaves a torn cache entry.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dataset-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f,
                meta=meta,
                features=d.features,
                bid_ticks=d.bid_ticks,
                ask_ticks=d.ask_ticks,
                forward_return=d.forward_return,
                seq=d.seq,
                ts_local_ns=d.ts_local_ns,
                segments=np.asarray(d.segments, dtype=np.int64).reshape(-1, 2),
                ints=np.asarray([d.trades, d.horizon_rows], dtype=np.int64),
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_npz(path: Path, key: str) -> Dataset:
    with np.load(path, allow_pickle=False) as z:
        symbol, tick, lot, names, journals = (str(x) for x in z["meta"])
        trades, horizon = (int(x) for x in z["ints"])
        return Dataset(
            symbol=symbol,
            tick_size=tick,
            lot_size=lot,
            names=tuple(names.split("\x1f")),
            features=z["features"],
            bid_ticks=z["bid_ticks"],
            ask_ticks=z["ask_ticks"],
            forward_return=z["forward_return"],
            seq=z["seq"],
            ts_local_ns=z["ts_local_ns"],
            segments=tuple((int(a), int(b)) for a, b in z["segments"]),
            journals=tuple(journals.split("\x1f")),
            trades=trades,
            horizon_rows=horizon,
            key=key,
        )
