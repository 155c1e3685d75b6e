"""Journal housekeeping: old segments archived or pruned, never what recovery or a reader needs.

A segment may go only when all of these hold:

- it is sealed (not the last segment, which the writer appends to);
- every record in it is at or below the latest ``StateSnapshot``'s ``as_of_seq``: recovery
  restores that snapshot and replays only what follows it, so nothing it reads goes;
- every older segment goes too: the journal stays one gap-free run of seqs, starting later;
- no reader has it open: readers hold a shared ``flock`` on each segment while they read it
  (``journal.segment.open_for_reading``), and pruning takes an exclusive one without
  waiting; a segment being read stops the pruning there (the next run takes it);
- and the policy wants it gone: older than ``max_age_s`` (a segment's records are all older
  than the next segment's creation time, in its header) or the journal above ``max_bytes``.

Archiving moves the segment into another directory instead of deleting it; that directory is
itself a journal (the older part, readable with ``asn-journal``), so history can be kept on
cheaper storage. Time comes in as ``now_ns``: the same journal, policy and time give the same
plan (``plan``), which ``prune`` then carries out.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from journal.errors import JournalError
from journal.events import StateSnapshot
from journal.reader import JournalReader, SegmentInfo
from journal.segment import require_journal

__all__ = [
    "PrunePlan",
    "Pruned",
    "RetentionPolicy",
    "latest_snapshot_as_of",
    "plan",
    "prune",
]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Keep at most ``max_age_s`` seconds and at most ``max_bytes`` of journal (None: no limit
    of that kind). Either limit exceeded makes the oldest eligible segments go."""

    max_age_s: int | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.max_age_s is not None and self.max_age_s < 0:
            raise ValueError("max_age_s must be >= 0")
        if self.max_bytes is not None and self.max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")

    @property
    def active(self) -> bool:
        return self.max_age_s is not None or self.max_bytes is not None


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """The segments to remove (oldest first) and why the next one stays."""

    remove: tuple[SegmentInfo, ...]
    kept_because: str


@dataclass(frozen=True, slots=True)
class Pruned:
    removed: tuple[Path, ...]  # where they were (in the journal directory)
    archived_to: Path | None
    freed_bytes: int
    kept_because: str


def plan(
    segments: Sequence[SegmentInfo],
    snapshot_as_of: int | None,
    policy: RetentionPolicy,
    now_ns: int,
) -> PrunePlan:
    """Which oldest segments may go (pure: the segments' headers and sizes, the latest
    snapshot's ``as_of_seq``, the policy and the time)."""
    if not policy.active:
        return PrunePlan((), "no retention limit is set")
    if snapshot_as_of is None:
        return PrunePlan((), "the journal has no state snapshot (recovery needs every record)")
    total = sum(s.size for s in segments)
    remove: list[SegmentInfo] = []
    for segment, following in itertools.pairwise(segments):
        last_seq = following.header.first_seq - 1
        if last_seq > snapshot_as_of:
            why = f"{segment.path.name} holds seqs after the latest snapshot ({snapshot_as_of})"
            return PrunePlan(tuple(remove), why)
        too_old = (
            policy.max_age_s is not None
            and following.header.created_ns < now_ns - policy.max_age_s * 1_000_000_000
        )
        too_big = policy.max_bytes is not None and total > policy.max_bytes
        if not (too_old or too_big):
            return PrunePlan(tuple(remove), f"{segment.path.name} is within the retention limits")
        remove.append(segment)
        total -= segment.size
    last = segments[-1].path.name if segments else "none"
    return PrunePlan(tuple(remove), f"{last} is the segment being written")


def latest_snapshot_as_of(directory: Path) -> int | None:
    """The ``as_of_seq`` of the journal's latest ``StateSnapshot`` (one pass that decodes only
    snapshots, as recovery does), or None without one."""
    latest: int | None = None
    for event in JournalReader(directory).events(kinds=[StateSnapshot]):
        assert isinstance(event, StateSnapshot)
        latest = event.as_of_seq
    return latest


def prune(
    directory: Path,
    policy: RetentionPolicy,
    now_ns: int,
    *,
    archive: Path | None = None,
    dry_run: bool = False,
    snapshot_as_of: int | None = None,
) -> Pruned:
    """Carry out ``plan`` on a journal directory (the writer may be running: it only ever
    appends to the last segment, which never goes). ``snapshot_as_of`` saves the scan for a
    caller that knows it (the daemon, right after journaling a snapshot)."""
    require_journal(directory)
    as_of = latest_snapshot_as_of(directory) if snapshot_as_of is None else snapshot_as_of
    chosen = plan(JournalReader(directory).segments(), as_of, policy, now_ns)
    if archive is not None and not dry_run:
        archive.mkdir(parents=True, exist_ok=True)
    removed: list[Path] = []
    freed = 0
    kept_because = chosen.kept_because
    for segment in chosen.remove:
        if dry_run:
            removed.append(segment.path)
            freed += segment.size
            continue
        if not _remove_unless_read(segment.path, archive):
            kept_because = f"{segment.path.name} is open in a reader"
            break
        removed.append(segment.path)
        freed += segment.size
    if removed and not dry_run:
        _fsync_directory(directory)
    return Pruned(tuple(removed), archive, freed, kept_because)


def _remove_unless_read(path: Path, archive: Path | None) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if archive is None:
            path.unlink()
        else:
            _move(path, archive / path.name)
        return True
    finally:
        os.close(fd)


def _move(path: Path, target: Path) -> None:
    """Into the archive, durable there before it leaves the journal."""
    if target.exists():
        raise JournalError(f"cannot archive {path.name}: {target} already exists")
    try:
        os.link(path, target)  # same file system: the archive holds it at once
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.rename(target)
    _fsync_directory(target.parent)
    path.unlink()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
