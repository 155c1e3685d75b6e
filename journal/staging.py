"""Output directories that appear whole or not at all.

A tool that writes a directory of results (``asn-journal import-bybit``, ``asnd backtest``)
builds it as a hidden ``.<name>.partial-*`` directory beside the destination and renames it
into place only when it is complete. A tool killed half-way (SIGKILL, power loss) leaves only
that hidden directory, and the next ``staged_directory`` in the same parent removes it.

Which leftovers are stale: a builder holds an exclusive ``flock`` on its directory for as long
as it works, and the kernel drops the lock when the process dies, however it dies. A partial
directory nobody holds is a dead builder's; one that is held is another tool at work and is
left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from journal.errors import JournalError

__all__ = ["PARTIAL_MARK", "remove_stale_partials", "staged_directory"]

#: In the name of every partial directory: ``.<name>.partial-<8 hex digits>``.
PARTIAL_MARK: Final = ".partial-"
#: Exactly the names this module gives (``-replaced``: an old output being removed), so no
#: one else's directory is ever taken for a leftover.
_PARTIAL_NAME: Final = re.compile(r"\..+\.partial-[0-9a-f]{8}(?:-replaced)?")


def _lock(path: Path, *, wait: bool) -> int | None:
    """An fd of ``path`` holding its exclusive lock, or None if another process holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_stale_partials(parent: Path) -> list[Path]:
    """Remove the partial directories in ``parent`` that no live builder holds; return them."""
    removed: list[Path] = []
    for entry in parent.iterdir():
        if _PARTIAL_NAME.fullmatch(entry.name) is None:
            continue
        try:
            if not entry.is_dir() or entry.is_symlink():
                continue
            fd = _lock(entry, wait=False)
        except FileNotFoundError:
            continue  # its builder finished (renamed it) or gave up meanwhile
        if fd is None:
            continue
        try:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed


def _fsync_tree(root: Path) -> None:
    """Every file and directory under ``root`` on disk, so the rename publishes whole files."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_partial(final: Path) -> tuple[Path, int]:
    """A fresh partial directory for ``final`` (mode from the umask, as ``mkdir`` gives the
    destination) and the fd holding its lock."""
    for _attempt in range(8):
        path = final.with_name(f".{final.name}{PARTIAL_MARK}{secrets.token_hex(4)}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        try:
            fd = _lock(path, wait=True)
        except FileNotFoundError:
            continue  # another tool's cleanup took it before we locked it: make another
        assert fd is not None  # a waiting lock always returns one
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return path, fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise JournalError(f"cannot create a staging directory beside {final}")


@contextlib.contextmanager
def staged_directory(final: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty directory that becomes ``final`` when the ``with`` block ends normally.

    ``final`` must be absent or an empty directory, or (with ``replace``) anything the
    caller has agreed to lose: the old one is moved aside and removed after the new one is in
    place, so at every moment ``final`` is the old whole, the new whole or absent. If the
    block raises, the partial directory is removed and nothing is published. Stale partial
    directories in the parent are removed first. Raises ``OSError`` as the file system does.
    """
    final = final.absolute()
    remove_stale_partials(final.parent)
    partial, fd = _new_partial(final)
    try:
        try:
            yield partial
            _publish(partial, final, replace=replace)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    finally:
        os.close(fd)


def _publish(partial: Path, final: Path, *, replace: bool) -> None:
    _fsync_tree(partial)
    old: Path | None = None
    if final.is_dir() and not final.is_symlink() and not any(final.iterdir()):
        final.rmdir()
    elif replace and (final.exists() or final.is_symlink()):
        # Moved to a partial name: a kill before its removal leaves a stale partial.
        old = partial.with_name(f"{partial.name}-replaced")
        final.rename(old)
    try:
        os.rename(partial, final)
    except OSError:
        if old is not None:
            old.rename(final)  # put the old one back: the caller sees the error, not a loss
        raise
    _fsync_dir(final.parent)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
