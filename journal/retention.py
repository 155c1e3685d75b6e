"""Journal housekeeping: which old segments may go, and removing them safely.

A journal grows without end; a daemon that runs for months needs its oldest segments pruned
or moved to an archive. Two rules make that safe:

- **Only below the latest snapshot.** Recovery restores the latest ``StateSnapshot`` and
  replays what follows its ``as_of_seq``, so a segment whose every record is at or below that
  seq is not needed to restart. The newest segment (the one being written) always stays.
- **Never under an open reader.** Every reader holds a shared ``flock`` on each segment it has
  open (``segment.open_for_reading``); removal takes an exclusive lock without waiting and stops
  at the first segment a reader holds, so a backtest or ``asn-journal follow`` reading old
  data never sees its file vanish. Segments go oldest first, so what stays is contiguous.

A pruned journal starts at a seq above 0. It can no longer be replayed from the start, which
is what recovery falls back to when a snapshot is unusable (for example after an upgrade that
changed the snapshot format); recovery then refuses with a clear message instead of folding
half a history (``asnd.recovery``). Archiving instead of deleting keeps that door open.

``RetainPolicy`` keeps segments younger than ``days`` (a sealed segment's age is when the next
one was started: its header's ``created_ns``) and at most ``max_bytes`` in total; either may be
unset. ``plan`` is pure over the segment list; ``prune`` does the file work.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from journal.errors import JournalNotFound
from journal.events import StateSnapshot
from journal.reader import JournalReader, SegmentInfo

__all__ = ["PrunePlan", "PruneResult", "RetainPolicy", "latest_snapshot_seq", "plan", "prune"]

_NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class RetainPolicy:
    """What to keep: segments younger than ``days`` and at most ``max_bytes`` of segments.
    ``None`` means no limit of that kind; with both ``None`` nothing is ever removed."""

    days: float | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.days is not None and not self.days > 0:
            raise ValueError(f"retain days must be positive, not {self.days}")
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise ValueError(f"retain bytes must be positive, not {self.max_bytes}")

    @property
    def active(self) -> bool:
        return self.days is not None or self.max_bytes is not None


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """The segments to remove (oldest first) and why the first kept one stays."""

    remove: tuple[SegmentInfo, ...]
    kept_because: str

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self.remove)


@dataclass(frozen=True, slots=True)
class PruneResult:
    removed: tuple[Path, ...]  # the segments' paths before removal
    stopped_at: Path | None  # a segment a reader holds, where removal stopped
    archived_to: Path | None


def latest_snapshot_seq(directory: Path) -> int | None:
    """``as_of_seq`` of the journal's latest state snapshot (one pass that decodes only
    snapshots), None when it has none."""
    latest = None
    for event in JournalReader(directory).events(kinds=[StateSnapshot]):
        assert isinstance(event, StateSnapshot)
        latest = event.as_of_seq
    return latest


def plan(
    segments: Sequence[SegmentInfo], policy: RetainPolicy, snapshot_seq: int | None, now_ns: int
) -> PrunePlan:
    """Which of ``segments`` (in seq order) to remove under ``policy``, never one that holds a
    record above ``snapshot_seq`` and never the newest."""
    if not policy.active:
        return PrunePlan((), "no retention limit is set")
    if snapshot_seq is None:
        return PrunePlan((), "the journal has no state snapshot: every segment is needed")
    total = sum(s.size for s in segments)
    remove: list[SegmentInfo] = []
    reason = "only the newest segment is left"
    for current, following in itertools.pairwise(segments):
        # The records of ``current`` end where ``following`` starts, and ``following`` was
        # created when ``current`` was sealed.
        if following.header.first_seq > snapshot_seq + 1:
            reason = f"{current.path.name} holds records after the latest snapshot"
            break
        too_old = (
            policy.days is not None
            and now_ns - following.header.created_ns > policy.days * _NS_PER_DAY
        )
        too_big = policy.max_bytes is not None and total > policy.max_bytes
        if not (too_old or too_big):
            reason = f"{current.path.name} is within the retention limits"
            break
        remove.append(current)
        total -= current.size
    return PrunePlan(tuple(remove), reason)


def prune(directory: Path, plan_: PrunePlan, archive: Path | None = None) -> PruneResult:
    """Remove (or move into ``archive``) the planned segments, oldest first, stopping at the
    first one a reader has open. The directory is fsynced so a crash cannot resurrect them."""
    if not directory.is_dir():
        raise JournalNotFound(f"journal directory {directory} does not exist")
    if archive is not None:
        archive.mkdir(parents=True, exist_ok=True)
    removed: list[Path] = []
    stopped: Path | None = None
    for info in plan_.remove:
        try:
            fd = os.open(info.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # another pruner was first
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                stopped = info.path
                break
            if archive is None:
                info.path.unlink()
            else:
                _move(info.path, archive / info.path.name)
            removed.append(info.path)
        finally:
            os.close(fd)
    if removed:
        _fsync_dir(directory)
        if archive is not None:
            _fsync_dir(archive)
    return PruneResult(tuple(removed), stopped, archive)


def _move(source: Path, target: Path) -> None:
    """Move a sealed segment, across file systems too (copy, fsync, then unlink)."""
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another file system: copy instead
            raise
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    with partial.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)
    source.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # some file systems refuse fsync on a directory
        os.fsync(fd)
    os.close(fd)
