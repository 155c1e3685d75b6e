"""``FeatureFrame``: feature rows as columns (evolution, research), one row per valid book
update of one symbol. Built by the market kernel (``asnd.core.kernel.frame``) from the very
rows the live fold emits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FeatureFrame"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FeatureFrame:
    """One row per emitted feature row, columns in ``names`` order.

    ``mid_x2_ticks`` is twice the mid price (an exact integer), for targets;
    ``seq``/``ts_local_ns``/``venue_ts_ms`` come from the book event that produced the row.
    """

    symbol: str
    names: tuple[str, ...]
    values: Floats  # shape (rows, len(names))
    mid_x2_ticks: Ints
    seq: Ints
    ts_local_ns: Ints
    venue_ts_ms: Ints

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> Floats:
        return self.values[:, self.names.index(name)]
