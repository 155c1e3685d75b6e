"""Reading journals: from a seq or a time, by kind, across segments, and following live.

Memory stays flat: segments are read in blocks (``segment.READ_BLOCK``) and each event is
yielded as it is decoded, so a reader holds one block however long the journal is.

A torn tail at the end of the last segment (a writer that crashed, or is mid-write) ends the
iteration; the reader reports it in ``torn_tail`` so callers can warn. Anything wrong before
the tail raises ``CorruptJournal`` with file and offset.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from crc32c import crc32c

from journal.codec import (
    SCHEMA_MINOR,
    UnknownKind,
    decode,
    decode_unchecked,
    kind_prefixes,
    peek_kind,
)
from journal.errors import CorruptJournal, JournalNotFound
from journal.events import Event, kind_of
from journal.segment import (
    FRAME,
    HEADER_SIZE,
    MAX_RECORD_BYTES,
    READ_BLOCK,
    FileScan,
    FrameBlocks,
    ScanEnd,
    SegmentHeader,
    open_for_reading,
    segment_name,
    segment_paths,
)

__all__ = ["Follower", "JournalReader", "SegmentInfo", "TornTail", "follow", "follow_async"]


@dataclass(frozen=True, slots=True)
class TornTail:
    """Bytes after the last good record of the last segment."""

    path: Path
    offset: int
    dropped_bytes: int

    def __str__(self) -> str:
        return (
            f"{self.path}: torn tail record at byte offset {self.offset} "
            f"({self.dropped_bytes} bytes after the last good record)"
        )


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    path: Path
    header: SegmentHeader
    size: int


@dataclass(frozen=True, slots=True)
class _KindFilter:
    """The kinds a read wants, and ``codec.kind_prefixes`` of them (built once per read or
    follower: it takes a few hundred microseconds, a follower polls every millisecond)."""

    kinds: frozenset[int]
    wanted: dict[bytes, bool]


def _kind_filter(kinds: Collection[type[Event]] | None) -> _KindFilter | None:
    if kinds is None:
        return None
    numbers = frozenset(kind_of(k) for k in kinds)
    return _KindFilter(numbers, kind_prefixes(numbers))


class _HeaderPending(Exception):
    """A live writer created the segment but has not written its header yet."""


class _Cursor:
    """Position inside one segment; decodes the frames appended since the last poll."""

    __slots__ = (
        "expected_seq",
        "fd",
        "header",
        "offset",
        "path",
        "read_block",
        "skipped_unknown",
    )

    def __init__(
        self, path: Path, *, header_pending_ok: bool = False, read_block: int = READ_BLOCK
    ) -> None:
        self.path = path
        self.read_block = read_block
        self.fd = open_for_reading(path)
        raw = os.pread(self.fd, HEADER_SIZE, 0)
        try:
            self.header = self._parse_header(raw, header_pending_ok)
        except BaseException:
            os.close(self.fd)
            raise
        if self.header.first_seq != int(path.stem):
            os.close(self.fd)
            raise CorruptJournal(path, 0, f"header says first seq {self.header.first_seq}")
        self.offset = HEADER_SIZE
        self.expected_seq = self.header.first_seq
        self.skipped_unknown = 0

    def _parse_header(self, raw: bytes, header_pending_ok: bool) -> SegmentHeader:
        if header_pending_ok and len(raw) < HEADER_SIZE:
            raise _HeaderPending
        return SegmentHeader.unpack(self.path, raw)

    def close(self) -> None:
        os.close(self.fd)

    def events(
        self,
        scan: FileScan,
        kind_filter: _KindFilter | None,
        from_seq: int,
        to_seq: int | None,
    ) -> Iterator[Event]:
        """Decode frames from the current offset to the end of the file as it is now."""
        return self._frames(scan, kind_filter, from_seq, to_seq)

    # The hot loop of every replay. Each record is framed, checksummed, decoded and yielded
    # in one pass over a block, with everything it touches in locals; the position is saved
    # once, on the way out (also when the consumer stops early). It walks exactly the frames
    # scan_block accepts (FrameBlocks' contract). A separate loop without the per-record
    # filter was tried for full reads: its gain was within the bench's noise.

    def _frames(
        self,
        scan: FileScan,
        kind_filter: _KindFilter | None,
        from_seq: int,
        to_seq: int | None,
    ) -> Iterator[Event]:
        path = self.path
        last = to_seq if to_seq is not None else 1 << 63
        kinds = kind_filter.kinds if kind_filter is not None else None
        wanted = kind_filter.wanted if kind_filter is not None else {}
        seq = self.expected_seq - 1
        unpack = FRAME.unpack_from
        checksum = crc32c
        fast_decode = decode_unchecked
        max_length = MAX_RECORD_BYTES
        blocks = FrameBlocks(path, self.fd, self.offset, scan, self.read_block)
        try:
            data = blocks.next(0)
            while data:
                n = len(data)
                last_header = n - 8
                pos = 0
                while pos <= last_header:
                    length, crc = unpack(data, pos)
                    start = pos + 8
                    end = start + length
                    payload = data[start:end]
                    if end > n or not 0 < length <= max_length or checksum(payload) != crc:
                        break
                    seq += 1
                    # The kind from two bytes in a dict; peek_kind only for what the dict
                    # does not cover (kinds above 127, long arrays).
                    if from_seq <= seq <= last and (
                        kinds is None
                        or (want := wanted.get(payload[:2])) is True
                        or (want is None and peek_kind(payload) in kinds)
                    ):
                        event: Event | None
                        try:
                            event = fast_decode(payload)
                        except ValueError:
                            event = self._decode_failed(payload, blocks.offset + pos)
                            if event is None:
                                pos = end
                                continue
                        if event.seq != seq:
                            self._wrong_seq(event, seq, blocks.offset + pos)
                        yield event
                    elif seq > last:
                        seq -= 1
                        return
                    pos = end
                data = blocks.next(pos)
            self.offset = scan.good_end
        finally:
            self.expected_seq = seq + 1

    def _wrong_seq(self, event: Event, seq: int, offset: int) -> NoReturn:
        raise CorruptJournal(self.path, offset, f"seq {event.seq} where {seq} was expected")

    def _decode_failed(self, payload: bytes, offset: int) -> Event | None:
        """The slow path for a record the fast decode refused: decode it again with the
        precise errors; ``None`` if a newer minor schema added its kind (skip it), else
        ``CorruptJournal``."""
        try:
            return decode(payload)
        except ValueError as exc:  # UnknownKind and msgspec errors are ValueErrors
            if self._skippable(exc):
                return None
            raise CorruptJournal(self.path, offset, f"undecodable record ({exc})") from None

    def _skippable(self, exc: ValueError) -> bool:
        """Kinds added by a newer minor schema are skipped; anything else is damage."""
        if isinstance(exc, UnknownKind) and self.header.minor > SCHEMA_MINOR:
            self.skipped_unknown += 1
            return True
        return False


class JournalReader:
    """Read a journal directory. Re-iterable; each ``events`` call starts afresh.

    ``read_block`` is how many bytes of a segment are read at once (see
    ``segment.READ_BLOCK``); a reader holds about one block."""

    def __init__(self, directory: Path, *, read_block: int = READ_BLOCK) -> None:
        self.directory = Path(directory)
        self.read_block = read_block
        if not self.directory.is_dir():
            raise JournalNotFound(f"journal directory {self.directory} does not exist")
        self.torn_tail: TornTail | None = None
        self.skipped_unknown = 0

    def segments(self) -> list[SegmentInfo]:
        infos = []
        for path in segment_paths(self.directory):
            with path.open("rb") as f:
                header = SegmentHeader.unpack(path, f.read(HEADER_SIZE))
            infos.append(SegmentInfo(path, header, path.stat().st_size))
        return infos

    def events(
        self,
        *,
        from_seq: int = 0,
        to_seq: int | None = None,
        from_ts_ns: int | None = None,
        to_ts_ns: int | None = None,
        kinds: Collection[type[Event]] | None = None,
    ) -> Iterator[Event]:
        """Events in seq order, optionally from/to a seq or a local time, of some kinds.

        The time bounds use ``ts_local_ns`` and are applied per event (wall clocks can step
        back, so there is no early stop on time).
        """
        self.torn_tail = None
        kind_filter = _kind_filter(kinds)
        paths = segment_paths(self.directory)
        if not paths:
            return
        firsts = [int(p.stem) for p in paths]
        start = 0
        for i, first in enumerate(firsts):
            if first <= from_seq:
                start = i
        for i in range(start, len(paths)):
            if to_seq is not None and firsts[i] > to_seq:
                return
            try:
                cursor = _Cursor(paths[i], read_block=self.read_block)
            except FileNotFoundError:
                raise JournalNotFound(
                    f"{paths[i]} was pruned (journal retention) while this reader started; "
                    "read again: the journal now starts at a later seq"
                ) from None
            scan = FileScan()
            try:
                events = cursor.events(scan, kind_filter, from_seq, to_seq)
                if from_ts_ns is None and to_ts_ns is None:
                    yield from events
                else:
                    lo = from_ts_ns if from_ts_ns is not None else -(1 << 63)
                    hi = to_ts_ns if to_ts_ns is not None else 1 << 63
                    yield from (e for e in events if lo <= e.ts_local_ns <= hi)
                if to_seq is not None and cursor.expected_seq > to_seq:
                    return
            finally:
                cursor.close()
                self.skipped_unknown += cursor.skipped_unknown
            last = i == len(paths) - 1
            if scan.end is not ScanEnd.CLEAN:
                if last:
                    self.torn_tail = TornTail(paths[i], scan.good_end, scan.tail_bytes)
                    return
                raise CorruptJournal(paths[i], scan.good_end, "damaged record in a sealed segment")
            if not last and firsts[i + 1] != cursor.expected_seq:
                raise CorruptJournal(
                    paths[i + 1],
                    0,
                    f"segment starts at seq {firsts[i + 1]} but the previous one ended at "
                    f"seq {cursor.expected_seq - 1}",
                )


class Follower:
    """Tail -f for a journal another process is writing.

    ``poll()`` returns the events appended since the last call without blocking. A partial
    record at the end of the file is a write in progress: it is picked up on a later poll.
    When the writer rotates, the next segment is named after the next expected seq, so the
    follower finds it without listing the directory. ``read_block`` as in ``JournalReader``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        from_seq: int = 0,
        kinds: Collection[type[Event]] | None = None,
        read_block: int = READ_BLOCK,
    ) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise JournalNotFound(f"journal directory {self.directory} does not exist")
        self.read_block = read_block
        self._kinds = _kind_filter(kinds)
        self._from_seq = from_seq
        self._cursor: _Cursor | None = None

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def _open_first(self) -> _Cursor | None:
        paths = segment_paths(self.directory)
        if not paths:
            return None
        chosen = paths[0]
        for p in paths:
            if int(p.stem) <= self._from_seq:
                chosen = p
        try:
            return _Cursor(chosen, header_pending_ok=True, read_block=self.read_block)
        except _HeaderPending:
            return None

    def poll(self) -> list[Event]:
        out: list[Event] = []
        while True:
            if self._cursor is None:
                self._cursor = self._open_first()
                if self._cursor is None:
                    return out
            cursor = self._cursor
            scan = FileScan()
            out.extend(cursor.events(scan, self._kinds, self._from_seq, None))
            nxt = self.directory / segment_name(cursor.expected_seq)
            if not nxt.exists() or nxt == cursor.path:
                return out
            # The writer moved on: this segment is sealed. Read what it got last, then switch.
            out.extend(cursor.events(scan, self._kinds, self._from_seq, None))
            if scan.end is not ScanEnd.CLEAN:
                raise CorruptJournal(
                    cursor.path, scan.good_end, "damaged record in a sealed segment"
                )
            try:
                nxt_cursor = _Cursor(nxt, header_pending_ok=True, read_block=self.read_block)
            except _HeaderPending:
                return out
            cursor.close()
            self._cursor = nxt_cursor


def follow(
    directory: Path,
    *,
    from_seq: int = 0,
    kinds: Collection[type[Event]] | None = None,
    poll_s: float = 0.001,
) -> Iterator[Event]:
    """Blocking tail -f (for tools). Polls every ``poll_s`` when idle."""
    follower = Follower(directory, from_seq=from_seq, kinds=kinds)
    try:
        while True:
            batch = follower.poll()
            if batch:
                yield from batch
            else:
                time.sleep(poll_s)
    finally:
        follower.close()


async def follow_async(
    directory: Path,
    *,
    from_seq: int = 0,
    kinds: Collection[type[Event]] | None = None,
    poll_s: float = 0.001,
) -> AsyncGenerator[Event, None]:
    """Tail -f for trio tasks. Reads are small and hit the page cache, so they run inline.

    Use it as ``async with contextlib.aclosing(follow_async(...)) as events:`` so the open
    segment is closed when the consumer stops early.
    """
    # trio only here: the synchronous readers (backtests, evolution, asn-journal) stay free of it.
    import trio  # noqa: PLC0415

    follower = Follower(directory, from_seq=from_seq, kinds=kinds)
    try:
        while True:
            batch = follower.poll()
            if batch:
                for event in batch:
                    yield event
            else:
                await trio.sleep(poll_s)
    finally:
        follower.close()
