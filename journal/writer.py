"""The journal writer: append-only segments, gap-free seq, group commit, crash recovery.

Usable directly from synchronous code (tools, imports, backtests)::

    with JournalWriter.open(path) as journal:
        journal.append(event)           # buffered; committed with the next batch
        journal.append_durable(intent)  # returns once the intent is on disk (fsync)

and from trio through ``journal.service.JournalService``, which uses the two halves of a
commit separately: ``take_batch`` (on the event loop: swap the buffer) and ``write_batch``
(in a worker thread: one write and one fsync for the whole batch).

Opening recovers from a crash: a torn tail record in the last segment is truncated and
reported in ``recovery``; a bad record anywhere before it raises ``CorruptJournal``.
A failed write or fsync poisons the writer: every later append raises ``JournalWriteError``
(after a failed fsync the page cache can no longer be trusted), so nothing is lost silently.
Only one process may write a journal at a time (an exclusive lock on ``LOCK``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import msgspec
from crc32c import crc32c

from journal.codec import decode, encode
from journal.errors import CorruptJournal, JournalError, JournalLocked, JournalWriteError
from journal.events import Event
from journal.segment import (
    FIRST_SEQ,
    FRAME,
    HEADER_SIZE,
    MAX_RECORD_BYTES,
    FileScan,
    ScanEnd,
    SegmentHeader,
    read_frames,
    segment_name,
    segment_paths,
)

__all__ = ["Batch", "JournalWriter", "Recovery"]

DEFAULT_SEGMENT_BYTES: Final = 64 * 1024 * 1024
_replace: Final = msgspec.structs.replace
_force_setattr: Final = msgspec.structs.force_setattr


@dataclass(frozen=True, slots=True)
class Recovery:
    """What opening the journal had to repair (nothing when ``dropped_bytes == 0``)."""

    path: Path | None = None
    offset: int = 0
    dropped_bytes: int = 0

    def __str__(self) -> str:
        if not self.dropped_bytes:
            return "journal is clean"
        return (
            f"{self.path}: truncated a torn tail record at byte offset {self.offset} "
            f"({self.dropped_bytes} bytes dropped)"
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """Encoded, framed records ready to be written in one go."""

    data: bytes | bytearray
    first_seq: int
    last_seq: int


class JournalWriter:
    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int,
        fsync: bool,
        max_batch_bytes: int,
        max_batch_delay_s: float,
        clock_ns: Callable[[], int],
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.max_batch_bytes = max_batch_bytes
        self._max_delay_ns = int(max_batch_delay_s * 1e9)
        self._clock_ns = clock_ns
        self.recovery = Recovery()
        self._lock_fd = -1
        self._fd = -1
        self._path = directory
        self._size = 0
        self._next_seq = 1
        self.durable_seq = 0
        self._pending = bytearray()
        self._pending_first = 0
        self._pending_since = 0
        self._failed: BaseException | None = None

    # ------------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        directory: Path | str,
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        fsync: bool = True,
        max_batch_bytes: int = 1 << 20,
        max_batch_delay_s: float = 0.01,
        clock_ns: Callable[[], int] = time.time_ns,
        create: bool = True,
    ) -> JournalWriter:
        """Open (creating if allowed) and recover a journal for appending.

        ``max_batch_bytes`` and ``max_batch_delay_s`` bound how long a plain ``append`` may
        stay in memory when the writer is used synchronously; ``clock_ns`` stamps segment
        headers only (event times come from the events).
        """
        path = Path(directory)
        if not path.exists():
            if not create:
                raise JournalError(f"journal directory {path} does not exist")
            try:
                path.mkdir(parents=True)
            except OSError as exc:
                raise JournalError(
                    f"cannot create journal directory {path}: {exc.strerror}"
                ) from None
        if not path.is_dir():
            raise JournalError(f"{path} exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise JournalError(f"journal directory {path} is not writable")
        writer = cls(
            path,
            segment_bytes=segment_bytes,
            fsync=fsync,
            max_batch_bytes=max_batch_bytes,
            max_batch_delay_s=max_batch_delay_s,
            clock_ns=clock_ns,
        )
        try:
            writer._lock()
            writer._recover()
        except BaseException:
            writer._release()
            raise
        return writer

    def _lock(self) -> None:
        lock_path = self.directory / "LOCK"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise JournalLocked(
                f"journal {self.directory} is already open for writing by pid {holder}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _recover(self) -> None:
        paths = segment_paths(self.directory)
        if not paths:
            self._start_segment(FIRST_SEQ)
            return
        path = paths[-1]
        first = int(path.stem)
        fd = os.open(path, os.O_RDWR)
        try:
            raw = os.pread(fd, HEADER_SIZE, 0)
            if len(raw) < HEADER_SIZE:
                # Crashed while creating this segment: nothing in it was ever acknowledged.
                self.recovery = Recovery(path, 0, len(raw))
                os.close(fd)
                fd = -1
                path.unlink()
                _fsync_dir(self.directory)
                self._start_segment(first)
                self._next_seq = first
                self.durable_seq = first - 1
                return
            SegmentHeader.unpack(path, raw)
            scan = FileScan()
            count = 0
            last_payload: memoryview | None = None
            for last_payload in read_frames(path, fd, HEADER_SIZE, scan):  # noqa: B007
                count += 1
            if last_payload is not None:
                last_offset = scan.frame_offset
                try:
                    seq = decode(last_payload).seq
                except ValueError as exc:
                    raise CorruptJournal(path, last_offset, f"undecodable record ({exc})") from None
                if seq != first + count - 1:
                    raise CorruptJournal(
                        path, last_offset, f"seq {seq} where {first + count - 1} was expected"
                    )
            if scan.end is not ScanEnd.CLEAN:
                os.ftruncate(fd, scan.good_end)
                os.fsync(fd)
                self.recovery = Recovery(path, scan.good_end, scan.tail_bytes)
            self._next_seq = first + count
            self.durable_seq = self._next_seq - 1
            self._size = scan.good_end
        finally:
            if fd >= 0:
                os.close(fd)
        self._path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    def _start_segment(self, first_seq: int) -> None:
        path = self.directory / segment_name(first_seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            _write_all(fd, SegmentHeader.new(first_seq, self._clock_ns()).pack())
            os.fsync(fd)
            _fsync_dir(self.directory)
        except BaseException:
            os.close(fd)
            raise
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd
        self._path = path
        self._size = HEADER_SIZE

    # ----------------------------------------------------------------------- appending

    @property
    def next_seq(self) -> int:
        """The seq the next appended event will get."""
        return self._next_seq

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    def stamp(self, event: Event) -> Event:
        """Give ``event`` the next seq and add it to the pending batch (no I/O)."""
        if self._failed is not None:
            raise JournalWriteError(f"journal {self.directory} failed earlier: {self._failed}")
        seq = self._next_seq
        if event.seq == 0:
            # A fresh event is handed over to the journal: stamp it in place. Copying it
            # (structs.replace) costs about as much as encoding it, on every market event.
            _force_setattr(event, "seq", seq)
        elif event.seq != seq:
            event = _replace(event, seq=seq)
        payload = encode(event)
        if len(payload) > MAX_RECORD_BYTES:
            raise JournalError(
                f"{type(event).__name__} of {len(payload)} bytes exceeds the record limit"
            )
        pending = self._pending
        if not pending:
            self._pending_first = seq
            self._pending_since = time.monotonic_ns()
        pending += FRAME.pack(len(payload), crc32c(payload))
        pending += payload
        self._next_seq = seq + 1
        return event

    def append(self, event: Event) -> Event:
        """Stamp and buffer; commit when the batch is large or old enough. Returns the stamped
        event (its ``seq`` set)."""
        event = self.stamp(event)
        if (
            len(self._pending) >= self.max_batch_bytes
            or time.monotonic_ns() - self._pending_since >= self._max_delay_ns
        ):
            self.commit()
        return event

    def append_durable(self, event: Event) -> Event:
        """Append and return only once the event (and all before it) is on disk."""
        event = self.stamp(event)
        self.commit()
        return event

    def commit(self) -> None:
        """Write and fsync everything pending: one write, one fsync."""
        batch = self.take_batch()
        if batch is not None:
            self.write_batch(batch)

    def take_batch(self) -> Batch | None:
        """Detach the pending records as a batch (cheap; call on the owning thread)."""
        if not self._pending:
            return None
        batch = Batch(self._pending, self._pending_first, self._next_seq - 1)
        self._pending = bytearray()
        return batch

    def write_batch(self, batch: Batch) -> None:
        """Write one batch and fsync it. Safe in a worker thread while the owner keeps
        stamping, as long as only one ``write_batch`` runs at a time."""
        if self._failed is not None:
            raise JournalWriteError(f"journal {self.directory} failed earlier: {self._failed}")
        try:
            if self._size >= self.segment_bytes and self._size > HEADER_SIZE:
                self._start_segment(batch.first_seq)
            _write_all(self._fd, batch.data)
            self._size += len(batch.data)
            if self.fsync:
                os.fdatasync(self._fd)
        except OSError as exc:
            self._failed = exc
            what = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise JournalWriteError(
                f"journal {self._path}: write failed ({what}); appends are refused and "
                f"trading must halt. Events from seq {batch.first_seq} are not on disk."
            ) from exc
        self.durable_seq = batch.last_seq

    # -------------------------------------------------------------------------- closing

    def close(self) -> None:
        """Commit what is pending and release the journal."""
        try:
            if self._failed is None and self._fd >= 0:
                self.commit()
        finally:
            self._release()

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
