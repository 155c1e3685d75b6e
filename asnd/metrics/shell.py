"""The metrics the shells update as things happen: the core actor per folded input, the
journal service per group commit, the executor per venue request.

Everything here runs on the trio thread and holds its child metric objects from the start,
so an update is a bisect or an integer add, never a label lookup (see ``histogram``). The
deterministic core (``asnd.core``) knows nothing of metrics: the core *actor* reports what
it folded, after the fact.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Final, Self

import trio
from prometheus_client import CollectorRegistry, Counter

from asnd.core.halts import HaltKind, halt_kind
from asnd.metrics.histogram import LoopHistograms
from asnd.venues.base import (
    NeedsHumanError,
    OrderRejectedError,
    RetryableVenueError,
    Venue,
    VenueError,
)
from journal.events import (
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    PositionReconciled,
    Promotion,
)

__all__ = [
    "HALT_REASONS",
    "CoreMetrics",
    "ExecutorMetrics",
    "JournalMetrics",
    "MeteredVenue",
]

#: Seconds. The core folds a market event in tens of microseconds; an intent waits for its
#: fsync (milliseconds); anything near a second is a stall worth seeing.
CORE_BUCKETS: Final = (
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.25, 1.0,
)  # fmt: skip
#: Seconds for one write + fsync of a batch: from a page-cache write to a slow disk.
FSYNC_BUCKETS: Final = (
    1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
#: Seconds for one venue request (REST round trip, the client's own retries included).
REQUEST_BUCKETS: Final = (
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
VENUE_OPS: Final = ("place", "cancel", "lookup")

#: The ``reason`` labels of ``asn_halts_total``: the kinds ``asnd.core.halts`` defines (a
#: small fixed set, so the label set stays bounded), each present from the start at 0.
HALT_REASONS: Final = tuple(kind.value for kind in HaltKind)


class CoreMetrics:
    """Per folded input: its latency (journaling, fold and decisions, as the core actor
    spends it), halts by kind and promotions. Events folded are read from
    ``CoreActor.applied`` at scrape time (``asnd.metrics.status``), at no cost here."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = LoopHistograms(
            "asn_core_event_seconds",
            "Time the core actor spends on one input: journal append, fold, decisions",
            (),
            CORE_BUCKETS,
        )
        registry.register(self.latency)
        self._latency = self.latency.child()
        self.halts = Counter(
            "asn_halts_total",
            "Halts journaled (trading halts, brakes, slot kills and anomaly kills), by kind",
            ["reason"],
            registry=registry,
        )
        self._halts = {name: self.halts.labels(name) for name in HALT_REASONS}
        self.promotions = Counter(
            "asn_promotions_total", "Challengers promoted to champion", registry=registry
        )

    def folded(self, event: Event, decisions: Sequence[Event], elapsed_ns: int) -> None:
        """``CoreActor``'s ``on_folded``: ``event`` and its ``decisions`` are journaled."""
        self._latency.observe(elapsed_ns / 1e9)
        self._count(event)
        for decision in decisions:
            self._count(decision)

    def _count(self, event: Event) -> None:
        if type(event) is Promotion:
            self.promotions.inc()
            return
        halt = halt_kind(event)
        if halt is not None:
            self._halts[halt].inc()


class JournalMetrics:
    """Per group commit: how long the write and its fsync took (``JournalService.on_commit``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fsync = LoopHistograms(
            "asn_journal_fsync_seconds",
            "Time to write and fsync one group-commit batch of the journal",
            (),
            FSYNC_BUCKETS,
        )
        registry.register(self.fsync)
        self._fsync = self.fsync.child()

    def committed(self, seconds: float) -> None:
        self._fsync.observe(seconds)


def _error_kind(exc: Exception) -> str:
    if isinstance(exc, OrderRejectedError):
        return "rejected"
    if isinstance(exc, NeedsHumanError):
        return "needs_human"
    if isinstance(exc, RetryableVenueError):
        return "retryable"
    return "venue" if isinstance(exc, VenueError) else "unexpected"


class ExecutorMetrics:
    """Per venue request the executor makes: latency by operation, errors by operation, kind
    (rejected, retryable, needs_human, venue, unexpected) and the venue's code ("" if none:
    codes are the venue's fixed table, so the label set stays bounded)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = LoopHistograms(
            "asn_executor_request_seconds",
            "Venue request latency as the executor sees it, by operation",
            ("op",),
            REQUEST_BUCKETS,
        )
        registry.register(self.latency)
        self.children = {op: self.latency.child(op) for op in VENUE_OPS}
        self.errors = Counter(
            "asn_executor_errors_total",
            "Venue requests that raised, by operation, error kind and venue code",
            ["op", "kind", "code"],
            registry=registry,
        )

    def failed(self, op: str, exc: Exception) -> None:
        code = exc.code if isinstance(exc, VenueError) else None
        self.errors.labels(op, _error_kind(exc), "" if code is None else str(code)).inc()


class MeteredVenue:
    """The executor's view of a venue: the same venue, with every place, cancel and lookup
    timed and every error counted (then re-raised unchanged: the executor's policy decides)."""

    def __init__(self, venue: Venue, metrics: ExecutorMetrics) -> None:
        self.venue = venue
        self.name = venue.name
        self._metrics = metrics
        self._place, self._cancel, self._lookup = (metrics.children[op] for op in VENUE_OPS)

    async def __aenter__(self) -> Self:
        await self.venue.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.venue.__aexit__(exc_type, exc, tb)

    def remember_fills(self, exec_ids: Iterable[str]) -> None:
        self.venue.remember_fills(exec_ids)

    def take_backlog(self) -> list[Event]:
        return self.venue.take_backlog()

    async def missed_fills(self, since_ns: int) -> list[Fill]:
        return await self.venue.missed_fills(since_ns)

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        await self.venue.run(emit, task_status=task_status)

    async def instruments(self, symbols: Sequence[str]) -> list[InstrumentInfo]:
        return await self.venue.instruments(symbols)

    async def reconcile(
        self, symbols: Sequence[str]
    ) -> tuple[list[OrderReconciled], list[PositionReconciled]]:
        return await self.venue.reconcile(symbols)

    async def place(self, intent: OrderIntent) -> OrderAccepted | OrderRejected:
        started = time.perf_counter()
        try:
            return await self.venue.place(intent)
        except Exception as exc:
            self._metrics.failed("place", exc)
            raise
        finally:
            self._place.observe(time.perf_counter() - started)

    async def cancel(self, symbol: str, link_id: str) -> Event:
        started = time.perf_counter()
        try:
            return await self.venue.cancel(symbol, link_id)
        except Exception as exc:
            self._metrics.failed("cancel", exc)
            raise
        finally:
            self._cancel.observe(time.perf_counter() - started)

    async def lookup(self, symbol: str, link_id: str) -> OrderReconciled:
        started = time.perf_counter()
        try:
            return await self.venue.lookup(symbol, link_id)
        except Exception as exc:
            self._metrics.failed("lookup", exc)
            raise
        finally:
            self._lookup.observe(time.perf_counter() - started)
