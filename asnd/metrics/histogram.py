"""Histograms for the trio thread: observed and collected on the same thread, so no lock.

``prometheus_client.Histogram`` takes a lock on every ``observe`` (it may be scraped from its
own server thread): 2.3 us per call on the development machine, paid per market event.
Here every update and every scrape runs on the trio loop (``asnd.metrics.http`` serves
``/metrics`` from a trio task), so a list of bucket counts and a ``bisect`` are enough: the
core actor's whole per-input update costs 0.8 us (``bench/metrics.py``). Exposed as ordinary
Prometheus histograms (``_bucket``/``_sum``/``_count``), with cumulative ``le`` buckets.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

__all__ = ["LoopHistogram", "LoopHistograms"]


class LoopHistogram:
    """One labelled child: counts per bucket (the last one is ``+Inf``) and the sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le = "<=").
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative ``(le, count)`` pairs, ending with ``+Inf``."""
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if math.isinf(bound) else repr(bound), running))
        return out


class LoopHistograms(Collector):
    """A histogram family: one ``LoopHistogram`` per label values, made up front (``child``)
    so that the hot path holds the child and never looks labels up."""

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], bounds: Sequence[float]
    ) -> None:
        if list(bounds) != sorted(bounds) or not bounds:
            raise ValueError(f"{name}: bucket bounds must be sorted and non-empty")
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.bounds = tuple(bounds)
        self._children: dict[tuple[str, ...], LoopHistogram] = {}

    def child(self, *values: str) -> LoopHistogram:
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name}: labels {self.labels}, got {values}")
        found = self._children.get(values)
        if found is None:
            found = self._children[values] = LoopHistogram(self.bounds)
        return found

    def collect(self) -> Iterable[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, child in self._children.items():
            family.add_metric(list(values), child.buckets(), child.total)
        yield family
