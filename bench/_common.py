"""Shared bench plumbing: JSON lines out, best-of-N timing, peak RSS."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(bench: str, name: str, **fields: Any) -> None:
    """One JSON object per measurement on stdout."""
    record = {"bench": bench, "name": name, **fields, "peak_rss_mib": round(peak_rss_mib(), 1)}
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def best_of(repeats: int, *runs: Callable[[], None]) -> list[float]:
    """Best wall time of each run; runs are interleaved so machine noise hits all alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            t0 = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best
