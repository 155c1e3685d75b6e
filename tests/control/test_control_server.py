"""The control server over real Unix sockets in tmp_path, answered by a real in-memory desk.

Rules: every wait is bounded (``fail_after`` in the client); timeouts use trio's autojump
clock, never sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
import structlog
import structlog.testing
import trio

from asnd.control import ControlSocketError, serve_control
from asnd.control.protocol import MAX_MESSAGE_BYTES

from .client import LineClient
from .desk import BrokenDesk, Desk, GatedDesk


async def start(nursery: trio.Nursery, path: Path, desk: Desk, **options: object) -> Path:
    started: Path = await nursery.start(
        partial(serve_control, path, desk, slot_count=6, clock_ns=lambda: 1234, **options)  # type: ignore[arg-type]
    )
    return started


Connect = Callable[[Path], Awaitable[LineClient]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Opens clients and closes them all when the test ends."""
    opened: list[LineClient] = []

    async def open_client(path: Path) -> LineClient:
        client = await LineClient.connect(path)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.aclose()


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "asnd" / "control.sock"


async def test_socket_is_owner_only_in_a_private_directory(
    nursery: trio.Nursery, sock_path: Path
) -> None:
    assert await start(nursery, sock_path, Desk()) == sock_path
    info = os.lstat(sock_path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(sock_path.parent).st_mode) == 0o700


async def test_status_round_trip_journals_an_operator_command(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    desk = Desk()
    await start(nursery, sock_path, desk)
    client = await connect(sock_path)
    reply = await client.request("status", id="abc")
    assert reply["id"] == "abc"
    assert reply["ok"] is True
    assert [s["symbol"] for s in reply["result"]["slots"]][:2] == ["BTCUSDT", "ETHUSDT"]
    assert reply["result"]["slots"][0]["equity"] == "200"
    [command] = desk.journal
    assert (command.seq, command.ts_local_ns, command.command) == (0, 1234, "status")
    assert command.args == []
    assert command.peer_uid == os.getuid()


async def test_commands_change_state_and_are_journaled_with_their_args(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    desk = Desk()
    await start(nursery, sock_path, desk)
    client = await connect(sock_path)
    assert (await client.request("kill", {"slot": 2}))["result"] == {"killed": [2], "halted": False}
    status = (await client.request("status"))["result"]
    assert [s["state"] for s in status["slots"]] == ["active"] * 2 + ["dead"] + ["active"] * 3
    assert (await client.request("resume", {"slot": 2}))["ok"] is True
    document = json.dumps({"id": "gp_77"})
    swap = await client.request("swap", {"slot": 1, "file": "/x/gp_77.json", "document": document})
    assert swap["result"] == {"slot": 1, "old": "champion-ethusdt", "new": "gp_77"}
    kill_all = await client.request("kill", {"slot": "all"})
    assert kill_all["result"]["halted"] is True
    refused = await client.request("resume", {"slot": 0}, id=9)
    assert refused == {
        "id": 9,
        "ok": False,
        "error": {"code": "halted", "message": "trading is halted; resume all first"},
    }
    journaled = [(c.command, c.args) for c in desk.journal]
    digest = __import__("hashlib").sha256(document.encode()).hexdigest()
    assert journaled == [
        ("kill", ["slot=2"]),
        ("status", []),
        ("resume", ["slot=2"]),
        ("swap", ["slot=1", "file=/x/gp_77.json", f"sha256={digest}"]),
        ("kill", ["slot=all"]),
        ("resume", ["slot=0"]),
    ]


async def test_pipelined_requests_are_answered_in_order(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    client = await connect(sock_path)
    lines = [json.dumps({"id": i, "cmd": "challengers"}).encode() for i in range(5)]
    await client.send(b"\n".join(lines) + b"\n\n")
    replies = [await client.line() for _ in range(5)]
    assert [r["id"] for r in replies if r] == [0, 1, 2, 3, 4]
    assert all(r and r["result"][0]["strategy_id"] == "chal_1" for r in replies)


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (b"{not json", "bad_json", "request is not valid JSON"),
        (b"\xff\xfe\n", "bad_json", "request is not UTF-8 text"),
        (b"[1, 2]", "bad_request", "request must be a JSON object"),
        (b'{"id": [1], "cmd": "status"}', "bad_request", '"id" must be a string'),
        (b'{"id": 3, "cmd": "status", "extra": 1}', "bad_request", "unknown request fields"),
        (b'{"id": 3}', "bad_request", '"cmd" must be one of: status, swap, kill'),
        (b'{"id": 3, "cmd": "reboot"}', "unknown_command",
         'unknown command "reboot"; known commands: status, swap, kill, resume, challengers'),
        (b'{"id": 3, "cmd": "kill"}', "bad_args", "kill: missing ['slot']"),
        (b'{"id": 3, "cmd": "kill", "args": {"slot": 6}}', "no_such_slot",
         "kill: no slot 6; slots are 0 to 5"),
        (b'{"id": 3, "cmd": "kill", "args": {"slot": "2"}}', "bad_args",
         'kill: "slot" must be a slot number or "all", got "2"'),
        (b'{"id": 3, "cmd": "kill", "args": {"slot": true}}', "bad_args", "got true"),
        (b'{"id": 3, "cmd": "status", "args": []}', "bad_args", '"args" of status must be'),
        (b'{"id": 3, "cmd": "status", "args": {"x": 1}}', "bad_args", "unexpected ['x']"),
        (b'{"id": 3, "cmd": "swap", "args": {"slot": 0, "file": "", "document": "{}"}}',
         "bad_args", '"file" must be a non-empty string'),
        (b'{"id": 3, "cmd": "swap", "args": {"slot": "all", "file": "a", "document": "{}"}}',
         "bad_args", '"slot" must be a slot number, got "all"'),
        # The issue-14 campaign: each of these once closed the connection with no answer.
        (b'{"id": ' + b"9" * 5000 + b', "cmd": "status"}', "bad_json", "out of range"),
        (b"[" * 20000, "bad_json", "nested too deeply"),
        (b'{"a":' * 10000, "bad_json", "nested too deeply"),
        (b'{"id": 4, "cmd": "kill", "args": {"slot": 1e999}}', "bad_json", "out of range"),
        (b'{"id": 3, "cmd": "kill", "args": {"slot": ' + b"[" * 500 + b"]" * 500 + b"}}",
         "bad_args", 'must be a slot number or "all", got an array'),
        (b'{"id": 3, "cmd": "kill", "args": {"slot": ' + b"7" * 4000 + b"}}", "no_such_slot",
         "kill: no slot 7777"),
    ],
)  # fmt: skip
async def test_bad_requests_get_errors_and_the_connection_stays_usable(
    connect: Connect, nursery: trio.Nursery, sock_path: Path, *, raw: bytes, code: str, message: str
) -> None:
    desk = Desk()
    await start(nursery, sock_path, desk)
    client = await connect(sock_path)
    await client.send(raw.rstrip(b"\n") + b"\n")
    reply = await client.line()
    assert reply is not None
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    assert message in reply["error"]["message"]
    assert reply["id"] == (3 if b'"id": 3' in raw else None)
    assert desk.journal == []  # a request that is not a valid command is never journaled
    assert (await client.request("status"))["ok"] is True


async def test_oversized_message_is_refused_and_the_connection_closed(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    client = await connect(sock_path)
    # The server may close before we finish writing; its reply is still readable.
    with contextlib.suppress(trio.BrokenResourceError):
        await client.send(b'{"cmd": "status", "pad": "' + b"x" * (MAX_MESSAGE_BYTES + 10))
    reply = await client.line()
    assert reply is not None
    assert reply["error"]["code"] == "too_large"
    assert await client.line() is None
    # The server survives the bad client.
    other = await connect(sock_path)
    assert (await other.request("status"))["ok"] is True


async def test_line_of_exactly_the_limit_is_served(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    client = await connect(sock_path)
    head = b'{"id": 1, "cmd": "status"}'
    line = head + b" " * (MAX_MESSAGE_BYTES - len(head) - 1) + b"\n"
    assert len(line) == MAX_MESSAGE_BYTES
    await client.send(line)
    reply = await client.line()
    assert reply is not None
    assert reply["ok"] is True


async def test_last_request_without_newline_is_served(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    client = await connect(sock_path)
    await client.send(b'{"id": 5, "cmd": "challengers"}')
    await client.stream.send_eof()
    reply = await client.line()
    assert reply is not None
    assert reply["id"] == 5
    assert reply["ok"] is True


async def test_connection_from_another_uid_is_refused(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    desk = Desk()
    # The daemon "belongs" to another uid here, so this process is the foreign one.
    await start(nursery, sock_path, desk, owner_uid=os.getuid() + 4242)
    with structlog.testing.capture_logs() as logs:
        client = await connect(sock_path)
        reply = await client.line()
        assert reply is not None
        assert await client.line() is None
    assert reply["error"]["code"] == "forbidden"
    assert f"uid {os.getuid()}" in reply["error"]["message"]
    assert desk.journal == []
    [refused] = [entry for entry in logs if entry["event"] == "control.refused"]
    assert refused["log_level"] == "warning"
    assert refused["peer_uid"] == os.getuid()
    assert refused["peer_pid"] == os.getpid()


async def test_allowed_uids_admit_another_user(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(
        nursery, sock_path, Desk(), owner_uid=os.getuid() + 4242, allowed_uids=[os.getuid()]
    )
    client = await connect(sock_path)
    assert (await client.request("status"))["ok"] is True


SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's python may not be reachable by "nobody"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"{SYSTEM_PYTHON} missing")
async def test_real_process_of_another_user_is_refused(
    nursery: trio.Nursery, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A directory "nobody" can traverse; the socket made world-writable to simulate a
    # misconfigured mode, so only SO_PEERCRED stands between that user and the daemon.
    base = Path(os.environ.get("TMPDIR", "/tmp"))
    public = Path(tempfile.mkdtemp(dir=base))
    os.chmod(public, 0o755)
    path = public / "control.sock"
    await start(nursery, path, Desk())
    path.chmod(0o666)
    script = (
        "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]);"
        "s.sendall(b'{\"cmd\": \"status\"}\\n'); print(s.recv(4096).decode(), end='')"
    )
    result = await trio.run_process(
        [SYSTEM_PYTHON, "-c", script, str(path)],
        capture_stdout=True,
        capture_stderr=True,
        user=65534,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["error"]["code"] == "forbidden"
    assert "uid 65534" in reply["error"]["message"]


async def test_handler_bugs_become_internal_errors_and_the_server_keeps_running(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, BrokenDesk())
    client = await connect(sock_path)
    reply = await client.request("status")
    assert reply["error"] == {"code": "internal", "message": "KeyError: 'equity'"}
    nan = await client.request("challengers")
    assert nan["error"]["code"] == "internal"
    assert "result is not JSON" in nan["error"]["message"]
    assert (await client.request("kill", {"slot": 0}))["ok"] is True


async def test_busy_only_when_every_connection_is_inside_a_command(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    desk = GatedDesk()
    await start(nursery, sock_path, desk, max_connections=1)
    first = await connect(sock_path)
    await first.send(b'{"id": 1, "cmd": "kill", "args": {"slot": 0}}\n')
    await trio.testing.wait_all_tasks_blocked()  # the server is now inside kill, at the gate
    second = await connect(sock_path)
    reply = await second.line()
    assert reply is not None
    assert reply["error"]["code"] == "busy"
    desk.gate.set()
    answer = await first.line()
    assert answer is not None
    assert answer["result"]["killed"] == [0]


async def test_a_newcomer_evicts_the_client_waiting_longest(
    connect: Connect, nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    await start(nursery, sock_path, Desk(), max_connections=2)
    oldest = await connect(sock_path)
    assert (await oldest.request("status"))["ok"] is True
    await trio.sleep(1)  # virtual time: orders the two clients' last activity
    newer = await connect(sock_path)
    assert (await newer.request("status"))["ok"] is True
    newcomer = await connect(sock_path)
    assert (await newcomer.request("status"))["ok"] is True
    evicted = await oldest.line()
    assert evicted is not None
    assert evicted["error"]["code"] == "evicted"
    assert await oldest.line() is None
    assert (await newer.request("status"))["ok"] is True


async def test_sixteen_half_line_clients_cannot_lock_the_operator_out(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    """Issue 14: 16 clients sending half a line held every place for 300 s (``busy``)."""
    await start(nursery, sock_path, Desk())
    stuck = [await connect(sock_path) for _ in range(16)]
    for client in stuck:
        await client.send(b'{"id": 1, "cmd": "sta')
    operator = await connect(sock_path)
    # Real time, no clock jumps: the operator is served at once, not after a timeout.
    assert (await operator.request("status"))["ok"] is True
    replies = []
    for client in stuck:
        with trio.move_on_after(0.2):
            replies.append(await client.line())
    assert [r["error"]["code"] for r in replies if r] == ["evicted"]


async def test_a_line_not_completed_in_time_is_closed_as_slow(
    connect: Connect, nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    await start(nursery, sock_path, Desk(), line_timeout_s=10.0, idle_timeout_s=300.0)
    client = await connect(sock_path)
    assert (await client.request("status"))["ok"] is True
    await trio.sleep(100)  # idle between requests is allowed
    started = trio.current_time()
    await client.send(b'{"id": 2, "cmd": "st')
    with trio.fail_after(60):
        raw = await client.stream.receive_some()
    error = json.loads(raw)["error"]
    assert error["code"] == "slow"
    assert "not complete within 10 s" in error["message"]
    assert 10.0 <= trio.current_time() - started < 20.0


async def test_a_burst_of_200_connects_is_queued_not_refused(
    nursery: trio.Nursery, sock_path: Path
) -> None:
    """Issue 14: with ``listen(16)``, 55-162 of 200 simultaneous connects got EAGAIN."""
    await start(nursery, sock_path, Desk())
    raw_sockets = []
    try:
        # No checkpoint in this loop: the server cannot accept, so the backlog alone holds them.
        for _ in range(200):
            raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            raw_sockets.append(raw)
            raw.setblocking(False)
            raw.connect(str(sock_path))
            raw.send(b'{"id": 1, "cmd": "status"}\n')
        answers: list[str] = []

        async def answer(raw: socket.socket) -> None:
            client = LineClient(trio.SocketStream(trio.socket.from_stdlib_socket(raw)))
            with trio.fail_after(60):
                reply = await client.line()
            assert reply is not None
            answers.append("ok" if reply["ok"] else reply["error"]["code"])

        async with trio.open_nursery() as readers:
            for raw in raw_sockets:
                readers.start_soon(answer, raw)
        assert len(answers) == 200
        assert set(answers) <= {"ok", "evicted", "busy"}
        assert "ok" in answers
    finally:
        for raw in raw_sockets:
            raw.close()


async def test_idle_clients_are_disconnected(
    connect: Connect, nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    await start(nursery, sock_path, Desk(), idle_timeout_s=30.0)
    client = await connect(sock_path)
    start_time = trio.current_time()
    with trio.fail_after(60):
        raw = await client.stream.receive_some()
    assert json.loads(raw)["error"]["code"] == "idle"
    assert trio.current_time() - start_time >= 30.0


def _exists(path: Path) -> bool:
    return path.exists()


async def test_socket_removed_on_shutdown(sock_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        await start(nursery, sock_path, Desk())
        assert _exists(sock_path)
        nursery.cancel_scope.cancel()
    assert not _exists(sock_path)


async def test_stale_socket_of_ours_is_replaced(
    connect: Connect, nursery: trio.Nursery, sock_path: Path
) -> None:
    sock_path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock_path))
    stale.close()  # bound, never listening: what a SIGKILLed daemon leaves behind
    await start(nursery, sock_path, Desk())
    client = await connect(sock_path)
    assert (await client.request("status"))["ok"] is True


async def test_refuses_a_path_where_a_daemon_listens(
    nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    with pytest.raises(ControlSocketError, match=r"already listening on .*is asnd already running"):
        await serve_control(sock_path, Desk(), slot_count=6)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("notes"), "is a regular file owned by uid"),
        (lambda p: p.mkdir(), "is a directory owned by uid"),
        (lambda p: p.symlink_to("/etc/passwd"), "is a symbolic link to /etc/passwd"),
        (os.mkfifo, "is a named pipe owned by uid"),
    ],
)
async def test_refuses_to_replace_what_is_not_a_stale_socket_of_ours(
    tmp_path: Path, make: object, words: str
) -> None:
    path = tmp_path / "control.sock"
    make(path)  # type: ignore[operator]
    with pytest.raises(ControlSocketError) as info:
        await serve_control(path, Desk(), slot_count=6)
    assert f"refusing to start: {path} exists and {words}" in str(info.value)
    assert path.exists() or path.is_symlink()


async def test_refuses_another_users_socket(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(path))
    other.close()
    with pytest.raises(ControlSocketError, match="is a socket owned by uid"):
        await serve_control(path, Desk(), slot_count=6, owner_uid=os.getuid() + 1)
    assert path.exists()


async def test_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("")
    with pytest.raises(ControlSocketError, match=r"it is a regular file .*not a directory"):
        await serve_control(tmp_path / "run" / "c.sock", Desk(), slot_count=6)


async def test_unbindable_path_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ("s" * 120)
    with pytest.raises(ControlSocketError, match=r"cannot create the control socket .*too long"):
        await serve_control(path, Desk(), slot_count=6)
