"""Group commit for trio actors: many appends, one write and one fsync per batch.

``JournalService`` owns a ``JournalWriter``. Actors call:

- ``await journal.append(event)`` for market data and other events that may ride the next
  batch. It returns the stamped event at once, unless the backlog exceeds
  ``max_pending_bytes``: then it waits (backpressure; events are never dropped).
- ``await journal.append_durable(event)`` for order intents: returns only once the batch that
  holds the event has been fsynced (write-ahead: the venue never sees an order the journal
  could forget).

The flusher (``run``) writes a batch as soon as a durable append waits, and otherwise at most
``max_batch_delay_s`` after the first pending event. While one batch is being fsynced in a
worker thread, new events gather in the next: that is the group commit. If a write fails,
every waiter and every later append raises ``JournalWriteError`` and ``run`` re-raises it, so
the supervisor halts trading. ``on_commit``, when given, is told how long each batch's write
and fsync took (seconds, measured in the worker thread): the metrics' hook.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import trio

from journal.errors import JournalWriteError
from journal.events import Event
from journal.writer import Batch, JournalWriter

__all__ = ["JournalService"]

DEFAULT_MAX_PENDING: Final = 16 * 1024 * 1024


class JournalService:
    def __init__(
        self,
        writer: JournalWriter,
        *,
        max_batch_delay_s: float = 0.005,
        max_pending_bytes: int = DEFAULT_MAX_PENDING,
        on_commit: Callable[[float], None] | None = None,
    ) -> None:
        self.writer = writer
        self.max_batch_delay_s = max_batch_delay_s
        self.max_pending_bytes = max_pending_bytes
        self.on_commit = on_commit
        self._has_pending = trio.Event()
        self._urgent = trio.Event()
        self._committed = trio.Event()
        self._failed: JournalWriteError | None = None
        self.batches = 0

    @property
    def durable_seq(self) -> int:
        return self.writer.durable_seq

    @property
    def next_seq(self) -> int:
        return self.writer.next_seq

    def _check(self) -> None:
        if self._failed is not None:
            raise JournalWriteError(str(self._failed))

    async def append(self, event: Event) -> Event:
        self._check()
        while self.writer.pending_bytes >= self.max_pending_bytes:
            self._urgent.set()
            await self._committed.wait()
            self._check()
        stamped = self.writer.stamp(event)
        self._has_pending.set()
        return stamped

    async def append_durable(self, event: Event) -> Event:
        stamped = await self.append(event)
        self._urgent.set()
        await self.wait_durable(stamped.seq)
        return stamped

    async def wait_durable(self, seq: int) -> None:
        """Wait until every event up to ``seq`` is on disk."""
        while self.writer.durable_seq < seq:
            self._check()
            self._urgent.set()
            await self._committed.wait()
        self._check()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            while True:
                await self._has_pending.wait()
                if not self._urgent.is_set():
                    with trio.move_on_after(self.max_batch_delay_s):
                        await self._urgent.wait()
                await self._flush()
        finally:
            # Shutdown (cancellation) still commits what was appended.
            with trio.CancelScope(shield=True):
                if self._failed is None:
                    await self._flush()

    async def _flush(self) -> None:
        self._has_pending = trio.Event()
        self._urgent = trio.Event()
        batch = self.writer.take_batch()
        if batch is None:
            return
        try:
            seconds = await trio.to_thread.run_sync(self._write_timed, batch)
        except JournalWriteError as exc:
            self._failed = exc
            raise
        finally:
            committed, self._committed = self._committed, trio.Event()
            committed.set()
        self.batches += 1
        if self.on_commit is not None:
            self.on_commit(seconds)
        if self.writer.pending_bytes:
            self._has_pending.set()

    def _write_timed(self, batch: Batch) -> float:
        started = time.perf_counter()
        self.writer.write_batch(batch)
        return time.perf_counter() - started
