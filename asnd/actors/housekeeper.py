"""Journal housekeeping in the daemon: ``[journal] retain_days`` / ``retain_bytes``.

After each ``StateSnapshot`` the core actor journals, the housekeeper prunes (or archives to
``[journal] archive``) the segments that ``journal.retention`` allows: sealed, wholly at or
below that snapshot, not open in any reader, and beyond the retention limits. It runs in a
worker thread and is a non-critical actor: a failure is logged and retried at the next
snapshot, and never stops trading (a journal that only grows is not unsafe).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import structlog
import trio

from journal.errors import JournalError
from journal.events import Event, StateSnapshot
from journal.retention import RetentionPolicy, prune

__all__ = ["JournalHousekeeper"]

_log = structlog.get_logger("asnd.journal")


class JournalHousekeeper:
    def __init__(
        self,
        directory: Path,
        policy: RetentionPolicy,
        *,
        archive: Path | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = directory
        self.policy = policy
        self.archive = archive
        self._clock_ns = clock_ns
        # One pending request is enough: the latest snapshot covers every earlier one.
        self._send, self._receive = trio.open_memory_channel[int](1)

    def snapshot_journaled(self, event: Event) -> None:
        """The core actor's ``on_snapshot``: ask for a pass below this snapshot."""
        if isinstance(event, StateSnapshot) and self.policy.active:
            # WouldBlock: a pass is already due, and it will see the newer segments too.
            with contextlib.suppress(trio.WouldBlock):
                self._send.send_nowait(event.as_of_seq)

    def close(self) -> None:
        """No more snapshots: ``run`` finishes the pass due, if any, and returns."""
        self._send.close()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for as_of in self._receive:
            work = partial(
                prune,
                self.directory,
                self.policy,
                self._clock_ns(),
                archive=self.archive,
                snapshot_as_of=as_of,
            )
            try:
                done = await trio.to_thread.run_sync(work)
            except (JournalError, OSError) as exc:
                _log.warning("journal.prune_failed", error=str(exc))
                continue
            if done.removed:
                _log.info(
                    "journal.pruned",
                    segments=len(done.removed),
                    bytes=done.freed_bytes,
                    archived_to=str(done.archived_to) if done.archived_to else None,
                    kept_because=done.kept_because,
                )
