"""Journal retention while the daemon runs: old segments pruned or archived in the background.

Every ``interval_s`` the housekeeper asks the core for the ``as_of_seq`` of the latest state
snapshot it journaled (that is what a restart would restore) and lets ``journal.retention``
remove the segments wholly below it that the ``[journal] retain_*`` limits no longer keep.
The file work runs in a worker thread, so trading never waits on it; a failure is logged and
retried at the next round, never fatal (retention is housekeeping, not trading).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import structlog
import trio

from journal.errors import JournalError
from journal.reader import JournalReader
from journal.retention import PruneResult, RetainPolicy, plan, prune

__all__ = ["Housekeeper"]

_log = structlog.get_logger("asnd.housekeeper")


class Housekeeper:
    def __init__(
        self,
        directory: Path,
        policy: RetainPolicy,
        snapshot_seq: Callable[[], int | None],
        *,
        archive: Path | None = None,
        interval_s: float = 600.0,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = directory
        self.policy = policy
        self.snapshot_seq = snapshot_seq
        self.archive = archive
        self.interval_s = interval_s
        self._clock_ns = clock_ns
        self.rounds = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await self.tidy()
            await trio.sleep(self.interval_s)

    async def tidy(self) -> PruneResult | None:
        """One round: plan and prune in a worker thread. None when nothing was to be done."""
        self.rounds += 1
        seq, now = self.snapshot_seq(), self._clock_ns()
        try:
            return await trio.to_thread.run_sync(self._tidy, seq, now)
        except (OSError, JournalError) as exc:  # disk trouble: the next round tries again
            _log.warning("journal retention failed", error=str(exc), journal=str(self.directory))
            return None

    def _tidy(self, snapshot_seq: int | None, now_ns: int) -> PruneResult | None:
        chosen = plan(JournalReader(self.directory).segments(), self.policy, snapshot_seq, now_ns)
        if not chosen.remove:
            return None
        result = prune(self.directory, chosen, self.archive)
        _log.info(
            "journal segments archived" if self.archive else "journal segments pruned",
            segments=len(result.removed),
            bytes=chosen.bytes,
            below_seq=snapshot_seq,
            archive=str(self.archive) if self.archive else None,
            stopped_at_open_reader=str(result.stopped_at) if result.stopped_at else None,
        )
        return result
