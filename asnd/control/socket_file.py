"""The control socket's place in the filesystem: claiming the path safely, describing strangers.

Shared by the server (may it bind here?) and ``asnctl`` (is this really the daemon's socket?).
"""

from __future__ import annotations

import os
import pwd
import socket
import stat
from pathlib import Path

import trio

__all__ = ["ControlSocketError", "claim_socket_path", "describe_path", "user_name"]


class ControlSocketError(RuntimeError):
    """The control socket cannot be created (or reached) at this path; the message says why."""


def user_name(uid: int) -> str:
    """``uid 1000 (alice)``, or just ``uid 1000`` when the uid has no name."""
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def describe_path(path: Path) -> str:
    """What is at ``path``, in words ("a regular file", "a socket owned by uid 0 (root)")."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return "nothing"
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return f"a symbolic link to {os.readlink(path)}"
    kinds = (
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((name for test, name in kinds if test(mode)), "an unknown kind of file")
    return f"{kind} owned by {user_name(info.st_uid)}"


def _ensure_directory(directory: Path) -> None:
    if directory.is_dir():
        return
    if directory.exists() or directory.is_symlink():
        raise ControlSocketError(
            f"cannot create the control socket in {directory}: it is {describe_path(directory)}, "
            "not a directory"
        )
    try:
        directory.mkdir(mode=0o700, parents=True)
    except OSError as exc:
        raise ControlSocketError(f"cannot create directory {directory}: {exc.strerror}") from None
    # mkdir's mode is filtered by the umask; say exactly what we mean.
    directory.chmod(0o700)


def _socket_of_ours_at(path: Path, uid: int) -> bool:
    """False when ``path`` is free; True when it holds a socket owned by ``uid``; else raise."""
    _ensure_directory(path.parent)
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != uid:
        raise ControlSocketError(
            f"refusing to start: {path} exists and is {describe_path(path)}, not a stale "
            "control socket of ours; remove it or choose another control.socket"
        )
    return True


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


async def claim_socket_path(path: Path, uid: int) -> str | None:
    """Make ``path`` free for a new socket owned by ``uid``; create its folder (0700) if needed.

    A leftover socket of ours that nobody listens on (the daemon was killed) is removed and
    ``"removed stale socket"`` returned, for the log. Anything else at ``path`` (a live
    daemon, another user's socket, a regular file...) raises ``ControlSocketError`` saying
    what is there: we never delete what we did not make.
    """
    if not _socket_of_ours_at(path, uid):
        return None
    probe = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with probe:
            await probe.connect(str(path))
    except ConnectionRefusedError:
        _unlink(path)
        return "removed stale socket"
    except FileNotFoundError:
        return None
    raise ControlSocketError(
        f"refusing to start: a process is already listening on {path} (is asnd already running?)"
    )
