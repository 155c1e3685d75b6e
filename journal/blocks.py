"""A journal as blocks of checked frames, for code that decodes records itself (the compiled
market kernel, ``asnd.core.kernel``): no Python object per record but the frame's end offset.

Every frame's length and CRC-32C are checked here, exactly as ``JournalReader`` checks them
(walked in compiled code with each payload's CRC-32C computed in C: ``framewalk``;
whatever stops the walk classified by ``segment.FrameBlocks``), with its rules for
what follows: segments must
continue each other's seqs, damage in a sealed segment or before the tail raises
``CorruptJournal``, a torn tail at the end of the last segment ends the read and is reported
in ``torn_tail``. Decoding (and the seq of each record) is the consumer's: frame k of a
block has seq ``first_seq + k``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from journal.errors import CorruptJournal, JournalNotFound
from journal.framewalk import good_frames
from journal.reader import TornTail
from journal.segment import (
    HEADER_SIZE,
    READ_BLOCK,
    FileScan,
    FrameBlocks,
    ScanEnd,
    SegmentHeader,
    open_for_reading,
    segment_paths,
)

__all__ = ["FrameBlock", "JournalBlocks"]


class FrameBlock(NamedTuple):
    """Good frames of one segment: frame k's payload is ``data[ends[k-1] + 8 : ends[k]]``
    (the first starts at 0), its file offset ``offset + (ends[k-1] if k else 0)``."""

    path: Path
    offset: int
    data: memoryview
    ends: npt.NDArray[np.int64]
    first_seq: int


class JournalBlocks:
    """Iterate ``blocks()`` over a journal directory; re-iterable like ``JournalReader``."""

    def __init__(self, directory: Path, *, read_block: int = READ_BLOCK) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise JournalNotFound(f"journal directory {self.directory} does not exist")
        self.read_block = read_block
        self.torn_tail: TornTail | None = None

    def blocks(self) -> Iterator[FrameBlock]:
        self.torn_tail = None
        paths = segment_paths(self.directory)
        expected: int | None = None
        for i, path in enumerate(paths):
            first = int(path.stem)
            if expected is not None and first != expected:
                raise CorruptJournal(
                    path,
                    0,
                    f"segment starts at seq {first} but the previous one ended at "
                    f"seq {expected - 1}",
                )
            fd = open_for_reading(path)
            try:
                header = SegmentHeader.unpack(path, os.pread(fd, HEADER_SIZE, 0))
                if header.first_seq != first:
                    raise CorruptJournal(path, 0, f"header says first seq {header.first_seq}")
                seq = first
                scan = FileScan()
                frames = FrameBlocks(path, fd, HEADER_SIZE, scan, self.read_block)
                data = frames.next(0)
                while data:
                    ends = good_frames(data)
                    if ends.size:
                        block = FrameBlock(path, frames.offset, memoryview(data), ends, seq)
                        yield block
                        seq += int(ends.size)
                    data = frames.next(int(ends[-1]) if ends.size else 0)
            finally:
                os.close(fd)
            if scan.end is not ScanEnd.CLEAN:
                if i == len(paths) - 1:
                    self.torn_tail = TornTail(path, scan.good_end, scan.tail_bytes)
                    return
                raise CorruptJournal(path, scan.good_end, "damaged record in a sealed segment")
            expected = seq
