"""The paper venue's order-entry latency: drawn uniformly from a range with a seeded RNG.

An ``asnd.core.l2replay.LatencyModel`` (the replay's own interface), so the replay decides
when an order or cancel acts exactly as in backtests. It remembers the last draw, because
the paper venue must know when an order it just sent will have arrived, to answer ``place``
only then (a real venue's answer also comes one round trip later).
"""

from __future__ import annotations

import random

from asnd.core.l2replay import LatencyModel

__all__ = ["UniformLatency"]


class UniformLatency(LatencyModel):
    """Latency in ns, uniform in [``low_ns``, ``high_ns``] (constant when equal), seeded."""

    def __init__(self, low_ns: int, high_ns: int, seed: int) -> None:
        if not 0 <= low_ns <= high_ns:
            raise ValueError(f"latency range must be 0 <= low <= high ns, got {low_ns}..{high_ns}")
        self.low_ns = low_ns
        self.high_ns = high_ns
        self._rng = random.Random(seed)
        self.last_ns = 0

    def next(self) -> int:
        self.last_ns = (
            self.low_ns
            if self.low_ns == self.high_ns
            else self._rng.randint(self.low_ns, self.high_ns)
        )
        return self.last_ns
