"""sd_notify over a real datagram socket standing in for systemd's."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import structlog
import structlog.testing
import trio
import trio.testing

from asnd.notify import DELIVERY_DEADLINE_S, Notifier, run_watchdog


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket: what systemd listens on for notifications."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.setblocking(False)
        yield receiver, str(path)


def drain(receiver: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(receiver.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_ready_status_stopping(systemd: tuple[socket.socket, str]) -> None:
    receiver, path = systemd
    with Notifier({"NOTIFY_SOCKET": path}) as notifier:
        assert notifier.enabled
        assert notifier.ready("6 slots trading")
        assert notifier.status("replaying journal\n50%")
        assert notifier.extend_timeout(2.5)
        assert notifier.stopping()
    assert drain(receiver) == [
        "READY=1\nSTATUS=6 slots trading",
        "STATUS=replaying journal 50%",
        "EXTEND_TIMEOUT_USEC=2500000",
        "STOPPING=1",
    ]


def test_abstract_namespace_socket() -> None:
    name = f"asn-test-notify-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(b"\0" + name.encode())
        with Notifier({"NOTIFY_SOCKET": "@" + name}) as notifier:
            assert notifier.ready()
        assert receiver.recv(4096) == b"READY=1"


def test_no_notify_socket_is_a_no_op() -> None:
    with Notifier({}) as notifier:
        assert not notifier.enabled
        assert notifier.ready() is False
        assert notifier.watchdog() is False
        assert notifier.watchdog_interval_s is None


def test_unreachable_socket_is_reported_not_raised(tmp_path: Path) -> None:
    with Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}) as notifier:
        assert notifier.enabled
        assert notifier.ready() is False


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "777"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "778"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(
    env: dict[str, str], interval: float | None
) -> None:
    with Notifier(env, pid=777) as notifier:
        assert notifier.watchdog_interval_s == interval


async def test_watchdog_pings_at_half_the_interval_while_healthy(
    systemd: tuple[socket.socket, str], autojump_clock: trio.testing.MockClock
) -> None:
    receiver, path = systemd
    healthy = True
    with Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}) as notifier:
        async with trio.open_nursery() as nursery:
            interval = await nursery.start(partial(run_watchdog, notifier, healthy=lambda: healthy))
            assert interval == 1.0
            await trio.sleep(4.5)  # pings at t = 0, 1, 2, 3, 4
            assert drain(receiver) == ["WATCHDOG=1"] * 5
            healthy = False
            await trio.sleep(3.0)  # t = 5, 6, 7 withheld
            assert drain(receiver) == []
            healthy = True
            await trio.sleep(1.0)  # t = 8
            assert drain(receiver) == ["WATCHDOG=1"]
            nursery.cancel_scope.cancel()


async def test_watchdog_returns_when_not_requested(systemd: tuple[socket.socket, str]) -> None:
    _, path = systemd
    with Notifier({"NOTIFY_SOCKET": path}) as notifier:
        async with trio.open_nursery() as nursery:
            assert await nursery.start(run_watchdog, notifier) is None


@pytest.fixture
def deaf_systemd(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """systemd's socket, but nobody reads it: a small receive buffer that soon fills."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        receiver.bind(str(path))
        receiver.setblocking(False)
        yield receiver, str(path)


def fill_up(notifier: Notifier) -> int:
    """Ping until systemd's queue is full (a ping is dropped); how many got in."""
    for sent in range(10_000):
        if not notifier.watchdog():
            return sent
    raise AssertionError("the notify queue never filled")


async def test_lifecycle_messages_wait_for_a_full_queue_and_arrive_in_order(
    deaf_systemd: tuple[socket.socket, str], autojump_clock: trio.testing.MockClock
) -> None:
    """Issue 14: with the queue full, ``sendto`` failed with EAGAIN and STOPPING=1 was lost."""
    receiver, path = deaf_systemd
    with Notifier({"NOTIFY_SOCKET": path}) as notifier:
        pings = fill_up(notifier)
        assert notifier.ready("trading on sim")  # queued, not lost
        assert notifier.status("trading: journal seq 7")
        assert notifier.watchdog() is False  # a ping may be dropped
        assert notifier.stopping("stopping")
        assert notifier.pending == 3
        await trio.sleep(30)  # nobody reads for 30 s: the delivery keeps trying
        assert notifier.pending == 3
        received: list[str] = []
        with trio.fail_after(10):
            while notifier.pending or len(received) < pings + 3:
                received += drain(receiver)
                await trio.sleep(0.01)
    assert received == ["WATCHDOG=1"] * pings + [
        "READY=1\nSTATUS=trading on sim",
        "STATUS=trading: journal seq 7",
        "STOPPING=1\nSTATUS=stopping",
    ]


async def test_a_queue_that_never_drains_is_given_up_with_an_error(
    deaf_systemd: tuple[socket.socket, str], autojump_clock: trio.testing.MockClock
) -> None:
    _, path = deaf_systemd
    with (
        structlog.testing.capture_logs() as logs,
        Notifier({"NOTIFY_SOCKET": path}) as notifier,
    ):
        fill_up(notifier)
        assert notifier.ready()
        await trio.sleep(DELIVERY_DEADLINE_S + 1)
        assert notifier.pending == 0
    [lost] = [e for e in logs if e["event"] == "notify.undelivered"]
    assert lost["messages"] == ["READY=1"]


def test_outside_trio_a_full_queue_is_retried_briefly_then_reported(
    deaf_systemd: tuple[socket.socket, str],
) -> None:
    receiver, path = deaf_systemd
    with structlog.testing.capture_logs() as logs, Notifier({"NOTIFY_SOCKET": path}) as notifier:
        pings = fill_up(notifier)
        assert notifier.stopping()  # retried for SYNC_DELIVERY_S, then given up and logged
        assert notifier.pending == 0
    assert [e["messages"] for e in logs if e["event"] == "notify.undelivered"] == [["STOPPING=1"]]
    assert drain(receiver) == ["WATCHDOG=1"] * pings
