"""What the journal raises. Every error names the file (and offset) it is about.

::

    JournalError
    ├── JournalNotFound      the directory does not exist / holds no journal
    ├── JournalLocked        another process has the journal open for writing
    ├── SchemaVersionError   written by a newer major schema than this ASN reads
    ├── CorruptJournal       a bad record before the tail (file, offset): never skipped
    ├── JournalWriteError    the disk failed or filled: the writer refuses further appends
    ├── ArchiveError         an input archive (Bybit) is malformed (file, line)
    └── DownloadError        a venue archive could not be downloaded or failed its checks
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArchiveError",
    "CorruptJournal",
    "DownloadError",
    "JournalError",
    "JournalLocked",
    "JournalNotFound",
    "JournalWriteError",
    "SchemaVersionError",
]


class JournalError(Exception):
    """Base of all journal errors; ``str(e)`` is a complete, user-facing sentence."""


class JournalNotFound(JournalError):
    pass


class JournalLocked(JournalError):
    pass


class SchemaVersionError(JournalError):
    pass


class CorruptJournal(JournalError):
    def __init__(self, path: Path, offset: int, what: str) -> None:
        super().__init__(f"{path}: corrupt record at byte offset {offset}: {what}")
        self.path = path
        self.offset = offset


class JournalWriteError(JournalError):
    pass


class ArchiveError(JournalError):
    pass


class DownloadError(JournalError):
    pass
