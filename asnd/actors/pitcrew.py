"""The pit crew: watches the challengers directory and journals what arrives.

At start it scans the directory, then follows it with ``watchfiles.awatch``. Every new or
changed ``strategy_challenger_<slot>_<id>.json`` becomes one input for the core:

- ``ChallengerLoaded`` (slot from the file name, the whole document text, its SHA-256), or
- ``ChallengerRejected`` with the reason: larger than ``[challengers] max_file_bytes``
  (checked with ``stat`` and by reading at most one byte more than the limit, so a huge file
  is never read whole), not a regular file (a FIFO, socket, device or directory, or a
  symlink to one), unreadable, not UTF-8, invalid JSON, unknown features or any other
  ``parse_strategy`` error, a name without a slot number.

Only regular files are opened: a FIFO would block ``open()`` for good and a device could be
endless. The kind is checked with ``lstat`` (and ``stat`` through a symlink) before opening,
the open is non-blocking, and ``fstat`` on the open file checks again, in case the name was
replaced in between.

The fold (``asnd.core.pitlane``) checks again what needs the daemon's state: the slot
exists, the id is not the champion's nor another challenger's (duplicate ids).

Partial writes. Evolution writes atomically (a hidden temporary renamed into place), so the
pit crew sees only whole files. An operator's ``cp`` can be seen half-written: that version
is rejected (typically as invalid JSON) with its reason, and the complete file is loaded
when its last write triggers the next change notification. Nothing waits on wall-clock
"stability", which could only guess. A file seen again unchanged (same size, mtime and
content) is not journaled twice.

Nothing here raises for a bad file: every problem is a journaled rejection.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path

import structlog
import trio
import watchfiles

from asnd.core.strategy import StrategyError, parse_strategy
from journal.events import ChallengerLoaded, ChallengerRejected, Event

__all__ = ["NAME", "PitCrew"]

_log = structlog.get_logger("asnd.pitcrew")

DEBOUNCE_MS = 300
#: How long the watch thread waits for a change before it looks for a stop. A cancelled
#: pit crew waits for that thread (it cannot be interrupted), so this bounds how long the
#: daemon's shutdown waits for it (watchfiles' default, 5 s, delayed every SIGTERM by that).
WAKE_MS = 100

#: The files the pit crew takes (evolution's ``challenger_name``).
NAME = re.compile(r"strategy_challenger_(\d{1,6})_.*\.json")


class PitCrew:
    def __init__(
        self,
        directory: Path,
        max_file_bytes: int,
        submit: Callable[[Event], Awaitable[object]],
        clock_ns: Callable[[], int],
    ) -> None:
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self._submit = submit
        self._clock_ns = clock_ns
        self._seen: dict[Path, str] = {}  # path -> sha256 of the version journaled

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.to_thread.run_sync(partial(self.directory.mkdir, parents=True, exist_ok=True))
        stop = trio.Event()
        # Changes are grouped for at most DEBOUNCE_MS: files arrive rarely, and a short group
        # makes a half-copied file's completion a separate, later change.
        watcher = watchfiles.awatch(
            self.directory,
            stop_event=stop,
            recursive=False,
            debounce=DEBOUNCE_MS,
            rust_timeout=WAKE_MS,
        )
        try:
            await self.scan(sorted(await trio.to_thread.run_sync(_listing, self.directory)))
            task_status.started()
            async for changes in watcher:
                await self.scan(sorted({Path(path) for _change, path in changes}))
        finally:
            stop.set()

    async def scan(self, paths: Iterable[Path]) -> None:
        """Journal a verdict for every challenger file among ``paths`` that is new or changed."""
        for path in paths:
            if NAME.fullmatch(path.name) is None:
                continue
            event = await trio.to_thread.run_sync(self.examine, path)  # file I/O off the loop
            if event is not None:
                await self._submit(event)

    def examine(self, path: Path) -> Event | None:
        """The verdict on one file, or None if it is gone or unchanged since last seen."""
        now, source = self._clock_ns(), str(path)
        match = NAME.fullmatch(path.name)
        if match is None:
            return ChallengerRejected(0, now, source, "not a strategy_challenger_<slot>_<id>.json")
        try:
            raw = _read_regular(path, self.max_file_bytes)
        except _NotJudged as exc:
            return self._reject(path, now, str(exc))
        except FileNotFoundError:
            self._seen.pop(path, None)
            return None  # deleted (or renamed away) before we looked: nothing to judge
        except OSError as exc:
            return self._reject(path, now, f"cannot read: {exc.strerror or exc}")
        if len(raw) > self.max_file_bytes:  # grew after the stat
            return self._reject(path, now, f"file is larger than {self.max_file_bytes} bytes")
        digest = hashlib.sha256(raw).hexdigest()
        if self._seen.get(path) == digest:
            return None
        self._seen[path] = digest
        try:
            doc = parse_strategy(raw)
        except StrategyError as exc:
            return ChallengerRejected(0, now, source, f"invalid strategy: {exc}")
        text = raw.decode("utf-8")  # parse_strategy accepted it, so it is UTF-8
        return ChallengerLoaded(0, now, int(match.group(1)), doc.id, digest, source, text)

    def _reject(self, path: Path, now: int, reason: str) -> ChallengerRejected:
        self._seen.pop(path, None)  # judge it again when it changes
        _log.warning("challenger rejected", path=str(path), reason=reason)
        return ChallengerRejected(0, now, str(path), reason)


class _NotJudged(Exception):
    """A file the pit crew refuses before reading it; the message is the journaled reason."""


#: What ``stat`` calls each kind of file that is not a regular one, for rejection reasons.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str | None:
    """None for a regular file, else what it is."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path``, which must be (or link to) a regular file.

    Raises ``_NotJudged`` for anything else or a file over ``limit``, and ``OSError`` as the
    file system does (``FileNotFoundError`` when it vanished).
    """
    mode = os.lstat(path).st_mode
    via = ""
    if stat.S_ISLNK(mode):
        try:
            mode, via = os.stat(path).st_mode, "a symlink to "
        except FileNotFoundError:
            raise _NotJudged("not a regular file: a symlink to nothing") from None
    kind = _kind(mode)
    if kind is not None:
        raise _NotJudged(f"not a regular file: {via}{kind}")
    # O_NONBLOCK: should the name become a FIFO after the check, open() still returns.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise _NotJudged(f"not a regular file: {kind} (replaced while being opened)")
        if info.st_size > limit:
            raise _NotJudged(
                f"file is {info.st_size} bytes; the limit is {limit} ([challengers] max_file_bytes)"
            )
        chunks: list[bytes] = []
        wanted = limit + 1
        while wanted > 0:
            chunk = os.read(fd, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _listing(directory: Path) -> list[Path]:
    return list(directory.iterdir())
