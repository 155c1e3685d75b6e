"""What metrics cost: the core actor's per-input update and a scrape of a trading daemon.

- ``core_update``: ``CoreMetrics.folded`` for one market event (latency histogram, halt and
  promotion check), in ns per call. Reference, same run: one ``prometheus_client.Histogram``
  ``observe`` (thread-safe, a lock per call), the library's own cost for the same histogram.
- ``scrape``: rendering ``/metrics`` (``generate_latest`` of the daemon's registry: the status
  families built from ``Desk.report`` plus the histograms) of the in-process daemon trading
  six slots on the sim venue at full speed, in ms on the trio loop; median and max of 50.

Run: ``.venv/bin/python -m bench.metrics``; prints JSON lines.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import trio
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from asnd.log import configure_logging
from asnd.metrics import DaemonMetrics
from asnd.metrics.shell import CORE_BUCKETS
from asnd.runtime import Daemon
from asnd.venues.sim.venue import SimVenue
from bench._common import best_of, emit
from bench.daemon import _config
from journal.events import BookDelta, Event

BENCH = "metrics"
CALLS = 200_000
SCRAPES = 50


def core_update() -> None:
    metrics = DaemonMetrics()
    reference = Histogram("ref_seconds", "ref", registry=CollectorRegistry(), buckets=CORE_BUCKETS)
    event = BookDelta(1, 2, "BTCUSDT", 3, 4, 5, 6, [20_000], [5], [], [])
    no_decisions: list[Event] = []
    folded, observe = metrics.core.folded, reference.observe

    def ours() -> None:
        for _ in range(CALLS):
            folded(event, no_decisions, 40_000)

    def library() -> None:
        for _ in range(CALLS):
            observe(40e-6)

    mine, ref = best_of(5, ours, library)
    emit(
        BENCH, "core_update",
        ns_per_event=round(mine / CALLS * 1e9), ref="prometheus_client Histogram.observe",
        ref_ns=round(ref / CALLS * 1e9), ratio=round(mine / ref, 3),
    )  # fmt: skip


async def _scrapes(root: Path) -> tuple[list[float], int]:
    config = _config(root)
    venue = SimVenue.for_symbols([s.symbol for s in config.slots], seed=1, pace="fast")
    daemon = Daemon(config, venue=venue)
    times: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(2.0)  # books, orders and fills in every slot
        for _ in range(SCRAPES):
            t0 = time.perf_counter()
            body = generate_latest(daemon.metrics.registry)
            times.append(time.perf_counter() - t0)
            await trio.sleep(0.02)
        daemon.stop.set()
    return times, len(body.splitlines())


def scrape() -> None:
    with tempfile.TemporaryDirectory() as root:
        times, lines = trio.run(_scrapes, Path(root))
    emit(
        BENCH, "scrape",
        median_ms=round(statistics.median(times) * 1e3, 3), max_ms=round(max(times) * 1e3, 3),
        lines=lines, scrapes=len(times), note="generate_latest on the trio loop, six slots",
    )  # fmt: skip


def main() -> None:
    configure_logging("json", "warning")
    core_update()
    scrape()


if __name__ == "__main__":
    main()
