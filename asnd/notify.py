"""sd_notify without a library: tell systemd we are ready, alive, busy or stopping.

The protocol is one datagram of newline-separated ``KEY=value`` lines sent to the Unix socket
named by ``$NOTIFY_SOCKET`` (a path, or an abstract name when it starts with ``@``). With no
``$NOTIFY_SOCKET`` (not under systemd, or ``Type=`` is not ``notify``) every call is a no-op
returning False, so the daemon calls it unconditionally.

Sends never block the event loop, and only ``WATCHDOG=1`` may be lost. The socket is
non-blocking; when systemd's queue is full (EAGAIN: it is slow to read, the machine loaded) a
ping is dropped (the next follows within half the interval), while every other message
(READY, STOPPING, STATUS, ...) is queued and delivered in order by a trio system task that
retries with a growing pause for up to ``DELIVERY_DEADLINE_S``; outside trio the retry
waits at most ``SYNC_DELIVERY_S``. What is still queued when the trio run ends is given one
last, short blocking try, since the process is about to exit anyway.

``run_watchdog`` pings ``WATCHDOG=1`` at half of ``$WATCHDOG_USEC`` (systemd's advice), but
only while ``healthy()`` says the daemon is doing its job: a wedged daemon stops pinging and
systemd restarts it (``WatchdogSec=`` in ``systemd/asnd.service``).
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final

import structlog
import trio

__all__ = ["Notifier", "run_watchdog"]

_log = structlog.get_logger("asnd.notify")

#: How long a queued lifecycle message is retried before it is given up (and logged).
DELIVERY_DEADLINE_S: Final = 60.0
#: How long a caller outside trio, or the end of the trio run, may wait for delivery.
SYNC_DELIVERY_S: Final = 1.0
_FIRST_PAUSE_S: Final = 0.001
_LONGEST_PAUSE_S: Final = 0.25


class Notifier:
    """A connection to systemd's notification socket (or nothing, when there is none)."""

    def __init__(self, env: Mapping[str, str] | None = None, pid: int | None = None) -> None:
        source = os.environ if env is None else env
        self._pid = os.getpid() if pid is None else pid
        self._address = _address(source.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(source, self._pid)
        self._socket: socket.socket | None = None
        #: Lifecycle messages waiting for room in systemd's queue, oldest first.
        self._pending: deque[bytes] = deque()
        self._delivering = False
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

    @property
    def pending(self) -> int:
        """Lifecycle messages queued for delivery (systemd's queue was full)."""
        return len(self._pending)

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` fields (``send(READY=1, STATUS="...")``). True if sent or
        queued for delivery; False if there is no socket, it refused (logged), or a lone
        ``WATCHDOG=1`` found systemd's queue full and was dropped."""
        if self._socket is None or self._address is None:
            return False
        # A newline would start a new assignment: keep values on one line.
        message = "\n".join(
            f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items()
        ).encode("utf-8")
        if set(fields) == {"WATCHDOG"}:
            return self._try(message) is True  # a ping may be lost: the next one follows
        if self._pending:  # behind older messages: keep their order
            self._pending.append(message)
            return True
        sent = self._try(message)
        if sent is None:
            self._pending.append(message)
            self._deliver_later()
            return True
        return sent

    def _try(self, message: bytes) -> bool | None:
        """One send: True if sent, None if systemd's queue is full, False if refused."""
        if self._socket is None or self._address is None:
            return False
        try:
            self._socket.sendto(message, self._address)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOBUFS):
                return None
            _log.warning("notify.failed", message=_head(message), error=str(exc))
            return False
        return True

    def _deliver_later(self) -> None:
        """Retry the queue from a trio system task, or (outside trio) for a short while now."""
        if self._delivering:
            return
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            self._flush_blocking(SYNC_DELIVERY_S)
            return
        self._delivering = True
        trio.lowlevel.spawn_system_task(self._deliver, name="asnd.notify.deliver")

    def _flush(self) -> bool:
        """Send what is queued, in order, until done (True) or the queue is full again."""
        while self._pending and self._socket is not None:
            sent = self._try(self._pending[0])
            if sent is None:
                return False
            self._pending.popleft()  # sent, or refused for good (logged): next
        return True

    def _flush_blocking(self, budget_s: float) -> None:
        deadline = time.monotonic() + budget_s
        pause = _FIRST_PAUSE_S
        while not self._flush() and time.monotonic() < deadline:
            time.sleep(pause)  # outside trio or at its end: no event loop to hold up
            pause = min(pause * 2, _LONGEST_PAUSE_S)
        self._give_up_if_pending()

    def _give_up_if_pending(self) -> None:
        if self._pending:
            lost = [_head(m) for m in self._pending]
            _log.error("notify.undelivered", messages=lost, reason="systemd's queue stayed full")
            self._pending.clear()

    async def _deliver(self) -> None:
        try:
            pause = _FIRST_PAUSE_S
            with trio.move_on_after(DELIVERY_DEADLINE_S):
                while not self._flush():
                    await trio.sleep(pause)
                    pause = min(pause * 2, _LONGEST_PAUSE_S)
            self._give_up_if_pending()
        except trio.Cancelled:
            # The trio run is ending (the daemon exits): a last short try, then lose nothing
            # silently.
            self._flush_blocking(SYNC_DELIVERY_S)
            raise
        finally:
            self._delivering = False

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
        if self._pending and not self._delivering:
            self._flush_blocking(SYNC_DELIVERY_S)
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _head(message: bytes) -> str:
    """The first assignment of a message, for logs (``READY=1``)."""
    return message.split(b"\n", 1)[0].decode("utf-8", "replace")[:80]


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
