"""Evolution's feature columns from the kernel: a ``FeatureFrame`` whose rows are the very
rows the live fold emits (the valid ones, of one symbol), not a second computation."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from asnd.core.features.frame import FeatureFrame
from asnd.core.features.spec import FEATURE_NAMES, FeatureConfig
from asnd.core.kernel.layout import (
    N_FEATURES,
    O_FIELDS,
    O_MID_X2,
    O_SEQ,
    O_SYMBOL,
    O_TS_LOCAL_NS,
    O_VALID,
    O_VENUE_TS_MS,
)
from asnd.core.kernel.market import Floats, FrameSource, Ints, MarketKernel
from journal.codec import encode
from journal.events import Event

__all__ = ["RowCollector", "frame_from_blocks", "frame_from_events"]


class RowCollector:
    """A ``RowSink`` that keeps the valid rows (copies), for building frames."""

    def __init__(self) -> None:
        self._ints: list[Ints] = []
        self._values: list[Floats] = []

    def __call__(self, ints: Ints, values: Floats) -> None:
        valid = ints[:, O_VALID] == 1
        self._ints.append(ints[valid])
        self._values.append(values[valid])

    def frame(self, kernel: MarketKernel, symbol: str | None) -> FeatureFrame:
        """The rows of ``symbol`` (None: the first symbol the stream named)."""
        names = kernel.symbols()
        name = symbol if symbol is not None else (names[0] if names else "")
        ints = np.concatenate([np.zeros((0, O_FIELDS), np.int64), *self._ints])
        values = np.concatenate([np.zeros((0, N_FEATURES)), *self._values])
        mine = ints[:, O_SYMBOL] == (names.index(name) if name in names else -1)
        ints, values = ints[mine], values[mine]
        return FeatureFrame(
            symbol=name,
            names=FEATURE_NAMES,
            values=np.ascontiguousarray(values),
            mid_x2_ticks=ints[:, O_MID_X2].copy(),
            seq=ints[:, O_SEQ].copy(),
            ts_local_ns=ints[:, O_TS_LOCAL_NS].copy(),
            venue_ts_ms=ints[:, O_VENUE_TS_MS].copy(),
        )


def frame_from_blocks(
    blocks: Iterable[FrameSource], symbol: str | None = None, config: FeatureConfig | None = None
) -> FeatureFrame:
    """Feature rows of ``symbol`` over a journal's blocks (``journal.blocks.JournalBlocks``)."""
    rows = RowCollector()
    kernel = MarketKernel(config, sink=rows)
    kernel.fold_blocks(blocks)
    return rows.frame(kernel, symbol)


def frame_from_events(
    events: Iterable[Event], symbol: str | None = None, config: FeatureConfig | None = None
) -> FeatureFrame:
    """The same from events in memory (encoded once each, as the journal would hold them)."""
    rows = RowCollector()
    kernel = MarketKernel(config, sink=rows)
    kernel.fold_payloads(encode(e) for e in events)
    return rows.frame(kernel, symbol)
