"""sd_notify over a real datagram socket standing in for systemd's."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from asnd.notify import Notifier, run_watchdog


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
