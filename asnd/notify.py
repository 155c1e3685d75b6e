"""sd_notify without a library: tell systemd we are ready, alive, busy or stopping.

The protocol is one datagram of newline-separated ``KEY=value`` lines sent to the Unix socket
named by ``$NOTIFY_SOCKET`` (a path, or an abstract name when it starts with ``@``). With no
``$NOTIFY_SOCKET`` (not under systemd, or ``Type=`` is not ``notify``) every call is a no-op
returning False, so the daemon calls it unconditionally.

Sends never block the event loop: the socket is non-blocking and a full queue drops the
message with a warning (for WATCHDOG=1 the next ping follows within half the interval).

``run_watchdog`` pings ``WATCHDOG=1`` at half of ``$WATCHDOG_USEC`` (systemd's advice), but
only while ``healthy()`` says the daemon is doing its job: a wedged daemon stops pinging and
systemd restarts it (``WatchdogSec=`` in ``systemd/asnd.service``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping

import structlog
import trio

__all__ = ["Notifier", "run_watchdog"]

_log = structlog.get_logger("asnd.notify")


class Notifier:
    """A connection to systemd's notification socket (or nothing, when there is none)."""

    def __init__(self, env: Mapping[str, str] | None = None, pid: int | None = None) -> None:
        source = os.environ if env is None else env
        self._pid = os.getpid() if pid is None else pid
        self._address = _address(source.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(source, self._pid)
        self._socket: socket.socket | None = None
        if self._address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.setblocking(False)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half of ``WATCHDOG_USEC``; None when no watchdog is asked for."""
        if self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2 / 1_000_000

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` fields (``send(READY=1, STATUS="...")``). True if sent."""
        if self._socket is None or self._address is None:
            return False
        # A newline would start a new assignment: keep values on one line.
        message = "\n".join(
            f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items()
        )
        try:
            self._socket.sendto(message.encode("utf-8"), self._address)
        except OSError as exc:
            _log.warning("notify.failed", fields=sorted(fields), error=str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        if status is None:
            return self.send(READY=1)
        return self.send(READY=1, STATUS=status)

    def status(self, text: str) -> bool:
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def stopping(self, status: str | None = None) -> bool:
        if status is None:
            return self.send(STOPPING=1)
        return self.send(STOPPING=1, STATUS=status)

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more start/stop time (a long journal replay); systemd >= 236."""
        return self.send(EXTEND_TIMEOUT_USEC=int(seconds * 1_000_000))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _address(value: str) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        # Linux abstract namespace: a leading NUL byte instead of '@'.
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    _log.warning("notify.bad_socket", notify_socket=value)
    return None


def _watchdog_usec(env: Mapping[str, str], pid: int) -> int | None:
    text = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    # WATCHDOG_PID names the process systemd expects pings from; another process must not.
    if owner and owner != str(pid):
        return None
    try:
        usec = int(text)
    except ValueError:
        return None
    return usec if usec > 0 else None


async def run_watchdog(
    notifier: Notifier,
    *,
    healthy: Callable[[], bool] = lambda: True,
    task_status: trio.TaskStatus[float | None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Ping ``WATCHDOG=1`` every half interval while ``healthy()``; returns at once (after
    ``started(None)``) when systemd asked for no watchdog. ``started`` gives the interval."""
    interval = notifier.watchdog_interval_s
    task_status.started(interval)
    if interval is None:
        return None
    missed = False
    while True:
        if healthy():
            notifier.watchdog()
            if missed:
                _log.info("notify.watchdog_resumed")
            missed = False
        elif not missed:
            _log.error("notify.watchdog_withheld", reason="daemon unhealthy")
            missed = True
        await trio.sleep(interval)
