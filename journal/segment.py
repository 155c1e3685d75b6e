"""Segment files and record framing: the on-disk format.

A journal is a directory of append-only segment files named by the seq of their first record
(``00000000000000000042.seg``). A segment starts with a 32-byte header::

    magic "ASNJ\\x89\\r\\n\\x1a" | major u16 | minor u16 | first_seq u64 | created_ns i64
    | crc32c u32

followed by records, each framed as ``length u32 | crc32c(payload) u32 | payload`` (little
endian), where payload is one msgpack-encoded event. CRC-32C (Castagnoli), as in ext4 and
LevelDB logs, because CPUs compute it in hardware.

Reading classifies the first bad frame it meets (see ``scan``):
- in the last segment, a frame that runs past the end of the file, or whose checksum fails
  and which ends exactly at the end of the file, or a zero-filled remainder, is a *torn tail*
  (a write that a crash cut short): the records before it are good;
- anything else (a bad frame followed by more data, or any bad frame in an older segment,
  which was sealed before the next one was created) is *corruption*, reported with file and
  offset and never skipped.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from crc32c import crc32c

from journal.codec import SCHEMA_MAJOR, SCHEMA_MINOR
from journal.errors import CorruptJournal, JournalNotFound, SchemaVersionError

__all__ = [
    "FIRST_SEQ",
    "FRAME",
    "HEADER_SIZE",
    "MAX_RECORD_BYTES",
    "ScanEnd",
    "ScanResult",
    "scan_block",
    "FileScan",
    "FrameBlocks",
    "READ_BLOCK",
    "read_blocks",
    "SegmentHeader",
    "read_frames",
    "segment_name",
    "segment_paths",
    "open_for_reading",
    "require_journal",
]

#: The seq of a journal's first record; a journal whose first segment starts later was pruned.
FIRST_SEQ: Final = 1
MAGIC: Final = b"ASNJ\x89\r\n\x1a"
_HEADER: Final = struct.Struct("<8sHHQq")
HEADER_SIZE: Final = _HEADER.size + 4  # + crc32
FRAME: Final = struct.Struct("<II")
#: A length above this cannot be a record we wrote: the frame is damaged.
MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
SUFFIX: Final = ".seg"


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    major: int
    minor: int
    first_seq: int
    created_ns: int

    def pack(self) -> bytes:
        body = _HEADER.pack(MAGIC, self.major, self.minor, self.first_seq, self.created_ns)
        return body + struct.pack("<I", crc32c(body))

    @classmethod
    def new(cls, first_seq: int, created_ns: int) -> SegmentHeader:
        return cls(SCHEMA_MAJOR, SCHEMA_MINOR, first_seq, created_ns)

    @classmethod
    def unpack(cls, path: Path, raw: bytes) -> SegmentHeader:
        """Parse and check a header; raises ``CorruptJournal``/``SchemaVersionError``."""
        if len(raw) < HEADER_SIZE:
            raise CorruptJournal(path, 0, f"segment header is {len(raw)} bytes, not {HEADER_SIZE}")
        body, (crc,) = raw[: _HEADER.size], struct.unpack_from("<I", raw, _HEADER.size)
        magic, major, minor, first_seq, created_ns = _HEADER.unpack(body)
        if magic != MAGIC:
            raise CorruptJournal(path, 0, "not an ASN journal segment (bad magic)")
        if crc32c(body) != crc:
            raise CorruptJournal(path, 0, "segment header checksum mismatch")
        if major > SCHEMA_MAJOR:
            raise SchemaVersionError(
                f"{path}: written with journal schema {major}.{minor}; this ASN reads schema "
                f"{SCHEMA_MAJOR}.x and older. Upgrade ASN to read it."
            )
        return cls(major, minor, first_seq, created_ns)


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SUFFIX}"


def open_for_reading(path: Path) -> int:
    """Open a segment to read it, holding a shared lock for as long as it stays open, so that
    retention (``journal.retention``) never removes a segment under a reader. Waits only while
    a pruner is removing this very file (an unlink: microseconds); then the open fails as for a
    file that is gone."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        pruned = os.fstat(fd).st_nlink == 0  # removed while we waited for the lock
    except BaseException:
        os.close(fd)
        raise
    if pruned:
        os.close(fd)
        raise FileNotFoundError(errno.ENOENT, "segment was pruned", str(path))
    return fd


def segment_paths(directory: Path) -> list[Path]:
    """Segment files of a journal directory in seq order."""
    paths = [p for p in directory.iterdir() if p.suffix == SUFFIX and p.stem.isdigit()]
    return sorted(paths, key=lambda p: int(p.stem))


def require_journal(directory: Path) -> list[Path]:
    """The segment files of a journal that a command is about to read, or ``JournalNotFound``
    saying what is there instead. Every reading command (``asn-journal``, ``asnd backtest``,
    ``asn-evolve``) calls this first, so a missing or empty directory is one clear error
    everywhere (exit status 2) rather than "0 events" or "ok"."""
    if not directory.exists():
        raise JournalNotFound(f"journal directory {directory} does not exist")
    if not directory.is_dir():
        raise JournalNotFound(f"{directory} is not a journal directory (not a directory)")
    paths = segment_paths(directory)
    if not paths:
        raise JournalNotFound(f"{directory} holds no journal (no *{SUFFIX} segment files)")
    return paths


class ScanEnd(enum.Enum):
    CLEAN = "clean"  # the data ended exactly at a record boundary
    PARTIAL = "partial"  # the data ends inside a record: torn tail, or a write in progress
    BAD_CRC_AT_END = "bad_crc_at_end"  # last record's checksum fails: torn tail
    ZEROS = "zeros"  # zero-filled remainder (crash after preallocation): torn tail


@dataclass(slots=True)
class ScanResult:
    """Where a scan stopped: just after the last good frame, and how the data ended there."""

    good_end: int = 0
    end: ScanEnd = ScanEnd.CLEAN


def scan_block(path: Path, data: memoryview, base_offset: int, ends: list[int]) -> ScanResult:
    """Append the end offset (in ``data``) of each complete, checksummed frame to ``ends``;
    frame k's payload is ``data[ends[k-1] + 8 : ends[k]]`` (the first starts at 0).

    ``data`` holds the file's bytes from ``base_offset`` up to some point (the end of the file
    when the caller read all of it). The result says where the last good frame ended
    (relative to ``data``) and how the data ended. A bad frame followed by more data raises
    ``CorruptJournal``; a bad frame at the end of ``data`` is reported in the result so the
    caller can decide (torn tail at the end of a file, read more otherwise).

    Not a generator and no payload views kept on purpose: one call per block and plain ints
    keep the per-record cost of replay low (thousands of live memoryview slices made the
    garbage collector dominate it).
    """
    pos = 0
    n = len(data)
    unpack = FRAME.unpack_from
    append = ends.append
    end_kind = ScanEnd.CLEAN
    while pos < n:
        if pos + 8 > n:
            end_kind = _tail_kind(data, pos, ScanEnd.PARTIAL)
            break
        length, crc = unpack(data, pos)
        end = pos + 8 + length
        if length == 0 or length > MAX_RECORD_BYTES:
            if not any(data[pos:]):
                end_kind = ScanEnd.ZEROS
                break
            if end >= n:  # a torn frame header in the very last bytes
                end_kind = ScanEnd.PARTIAL
                break
            raise CorruptJournal(path, base_offset + pos, f"impossible record length {length}")
        if end > n:
            end_kind = _tail_kind(data, pos, ScanEnd.PARTIAL)
            break
        payload = data[pos + 8 : end]
        if crc32c(payload) != crc:
            if end == n:
                end_kind = ScanEnd.BAD_CRC_AT_END
                break
            raise CorruptJournal(path, base_offset + pos, "record checksum mismatch")
        append(end)
        pos = end
    return ScanResult(pos, end_kind)


def _tail_kind(data: memoryview, pos: int, default: ScanEnd) -> ScanEnd:
    return ScanEnd.ZEROS if not any(data[pos:]) else default


@dataclass(slots=True)
class FileScan:
    """How reading a segment file ended: absolute offset after the last good frame, the
    file size seen, and the kind of end (anything but CLEAN means bytes after ``good_end``).
    While reading, ``frame_offset`` is the offset of the latest frame ``read_frames`` gave."""

    good_end: int = 0
    size: int = 0
    end: ScanEnd = ScanEnd.CLEAN
    frame_offset: int = 0

    @property
    def tail_bytes(self) -> int:
        return self.size - self.good_end


#: Read segments in blocks this large; a block's payloads die with it, so memory stays flat
#: however long the journal is. (Measured: 64 KiB to 4 MiB blocks replay within noise of
#: each other; 1 MiB keeps the number of reads small without holding much.)
READ_BLOCK: Final = 1 << 20


class FrameBlocks:
    """The bytes of an open segment from ``start`` to its current end, a block at a time, for
    a caller that walks the frames of each block itself (the replay hot loop, which checks
    and decodes each record in one pass instead of scanning a block and then decoding it).

    Protocol: ``data = blocks.next(0)``, then, while ``data`` is not empty, walk the frames
    at the start of ``data`` and call ``blocks.next(walked)`` with the number of bytes of
    whole good frames walked. The walk must accept exactly the frames ``scan_block`` accepts
    (8 header bytes present, ``0 < length <= MAX_RECORD_BYTES``, the payload entirely in
    ``data``, its CRC-32C equal to the stored one) and stop at the first other one; ``next``
    then classifies what stopped it with ``scan_block``, so damage before the end raises
    ``CorruptJournal`` exactly as a scan would. ``offset`` is the file offset of ``data[0]``.
    When ``next`` returns ``b""``, ``result`` tells where the good frames end and what lies
    after them (as ``read_blocks`` always did). A frame that spans blocks is re-read whole.
    """

    __slots__ = ("_block", "_data", "_end", "fd", "offset", "path", "result", "size")

    def __init__(
        self, path: Path, fd: int, start: int, result: FileScan, block: int = READ_BLOCK
    ) -> None:
        self.path = path
        self.fd = fd
        self.offset = start
        self.result = result
        self.size = os.fstat(fd).st_size
        self._block = block
        self._data = b""
        self._end = ScanEnd.CLEAN

    def next(self, walked: int) -> bytes:
        """Account for the ``walked`` bytes of good frames at the start of the block returned
        last (classifying what follows them), then return the next block, or ``b""``."""
        data = self._data
        if data:
            n = len(data)
            if walked < n:
                rest = memoryview(data)[walked:]
                part = scan_block(self.path, rest, self.offset + walked, [])
                if part.good_end:
                    raise RuntimeError(
                        f"{self.path}: frame walk stopped at offset {self.offset + walked}, "
                        "before a good frame (the walk and scan_block disagree)"
                    )
                self._end = part.end
            else:
                self._end = ScanEnd.CLEAN
            reached_eof = self.offset + n >= self.size
            if self._end is not ScanEnd.CLEAN and not reached_eof and walked == 0:
                # One frame larger than the block: read it whole next time.
                length = FRAME.unpack_from(data, 0)[0] if n >= 8 else 0
                self._block = max(self._block * 2, min(length, MAX_RECORD_BYTES) + 8)
            self.offset += walked
            if reached_eof:
                return self._finish()
        if self.offset >= self.size:
            return self._finish()
        data = os.pread(self.fd, self._block, self.offset)
        self._data = data
        if not data:
            return self._finish()
        return data

    def _finish(self) -> bytes:
        self._data = b""
        result = self.result
        result.good_end = self.offset
        result.size = self.size
        result.end = ScanEnd.CLEAN if self.offset >= self.size else self._end
        return b""


def read_blocks(
    path: Path, fd: int, start: int, result: FileScan, block: int = READ_BLOCK
) -> Iterator[tuple[int, memoryview, list[int]]]:
    """Yield ``(block_offset, block, ends)`` for the good frames of an open segment from
    ``start`` to its current end, a block at a time (``ends`` as in ``scan_block``). On
    exhaustion ``result`` tells where the good frames end and what lies after them."""
    blocks = FrameBlocks(path, fd, start, result, block)
    data = blocks.next(0)
    while data:
        view = memoryview(data)
        ends: list[int] = []
        part = scan_block(path, view, blocks.offset, ends)
        if ends:
            yield blocks.offset, view, ends
        data = blocks.next(part.good_end)


def read_frames(path: Path, fd: int, start: int, result: FileScan) -> Iterator[memoryview]:
    """Payloads one by one (``result.frame_offset`` is the latest one's frame offset)."""
    for offset, view, ends in read_blocks(path, fd, start, result):
        begin = 0
        for end in ends:
            result.frame_offset = offset + begin
            yield view[begin + 8 : end]
            begin = end
