"""asnctl against a real control server (in-process thread or a real subprocess)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio

from asnd.control import serve_control
from asnd.ctl import ControlClientError, check_socket, render_challengers, render_status, run

from .desk import Desk


async def start(nursery: trio.Nursery, path: Path, desk: Desk) -> None:
    await nursery.start(partial(serve_control, path, desk, slot_count=6))


async def asnctl(*argv: str, env: dict[str, str] | None = None) -> str:
    """Run asnctl's ``run`` in a worker thread (it blocks) and return its stdout."""
    out = io.StringIO()
    with trio.fail_after(10):
        code = await trio.to_thread.run_sync(partial(run, list(argv), env or {}, out))
    assert code == 0
    return out.getvalue()


def asnctl_process(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asnd.ctl", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "control.sock"


async def test_status_renders_a_table(nursery: trio.Nursery, sock_path: Path) -> None:
    await start(nursery, sock_path, Desk())
    text = await asnctl("--socket", str(sock_path), "status")
    lines = text.splitlines()
    assert lines[0] == "asnd: trading on sim"
    header = lines[2].split()
    assert header == ["SLOT", "SYMBOL", "STRATEGY", "STATE", "EQUITY", "POSITION", "PNL", "SIGNAL"]
    assert lines[3].split() == [
        "0", "BTCUSDT", "champion-btcusdt", "active", "200.00", "0", "0.00", "-",
    ]  # fmt: skip
    assert lines[4].split()[-1] == "+0.250"
    assert "feed: connected (last message 12 ms ago)" in lines
    assert any(
        line.startswith("books: BTCUSDT synced 40 ms, ETHUSDT synced 40 ms") for line in lines
    )
    assert lines[-1] == "journal: seq 1, durable 1, lag 0"


async def test_status_json_and_socket_from_env(nursery: trio.Nursery, sock_path: Path) -> None:
    await start(nursery, sock_path, Desk())
    text = await asnctl("status", "--json", env={"ASN_CONTROL_SOCKET": str(sock_path)})
    assert json.loads(text)["slots"][5]["symbol"] == "BNBUSDT"


async def test_socket_from_config(nursery: trio.Nursery, tmp_path: Path) -> None:
    config = tmp_path / "etc" / "asnd.toml"
    config.parent.mkdir()
    config.write_text('[control]\nsocket = "../run/c.sock"\n')
    await start(nursery, tmp_path / "run" / "c.sock", Desk())
    text = await asnctl("--config", str(config), "challengers")
    assert text.split() == ["STRATEGY_ID", "SLOT", "WINDOWS", "P_VALUE", "chal_1", "0", "3", "-"]


async def test_kill_resume_swap_reach_the_desk(
    nursery: trio.Nursery, sock_path: Path, tmp_path: Path
) -> None:
    desk = Desk()
    await start(nursery, sock_path, desk)
    base = ("--socket", str(sock_path))
    await asnctl(*base, "kill", "3")
    assert desk.slots[3].state == "dead"
    await asnctl(*base, "resume", "3")
    assert desk.slots[3].state == "active"
    strategy = tmp_path / "gp.json"
    strategy.write_text(json.dumps({"id": "gp_9"}))
    out = await asnctl(*base, "swap", "4", str(strategy))
    assert json.loads(out) == {"slot": 4, "old": "champion-dogeusdt", "new": "gp_9"}
    await asnctl(*base, "kill", "all")
    assert desk.halted
    assert [c.command for c in desk.journal] == ["kill", "resume", "swap", "kill"]
    assert desk.journal[2].args[1] == f"file={strategy}"


async def test_error_responses_raise_with_code_and_message(
    nursery: trio.Nursery, sock_path: Path, tmp_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    with pytest.raises(ControlClientError, match="no_such_slot: kill: no slot 9; slots are 0 to 5"):
        await asnctl("--socket", str(sock_path), "kill", "9")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ControlClientError, match=r"invalid_strategy: .*bad\.json"):
        await asnctl("--socket", str(sock_path), "swap", "0", str(bad))
    with pytest.raises(ControlClientError, match=r"cannot read strategy file .*missing\.json"):
        await asnctl("--socket", str(sock_path), "swap", "0", str(tmp_path / "missing.json"))
    huge = tmp_path / "huge.json"
    huge.write_text('{"pad": "' + "x" * 70_000 + '"}')
    with pytest.raises(ControlClientError, match="takes at most 65536"):
        await asnctl("--socket", str(sock_path), "swap", "0", str(huge))


def test_not_running_no_socket(tmp_path: Path) -> None:
    result = asnctl_process("--socket", str(tmp_path / "none.sock"), "status")
    assert result.returncode == 1
    assert result.stderr == (
        f"asnctl: asnd is not running: no control socket at {tmp_path / 'none.sock'} "
        "(use --socket or --config if it listens elsewhere)\n"
    )


def test_not_running_stale_socket(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    result = asnctl_process("--socket", str(path), "kill", "all")
    assert result.returncode == 1
    assert (
        result.stderr
        == f"asnctl: asnd is not running: nothing listens on {path} (a stale socket)\n"
    )


def test_not_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "file.sock"
    path.write_text("")
    result = asnctl_process("--socket", str(path), "status")
    assert result.returncode == 1
    assert result.stderr.startswith(f"asnctl: {path} is a regular file owned by uid ")
    assert result.stderr.endswith("not asnd's control socket\n")


def test_socket_of_another_user(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(path))
    other.close()
    with pytest.raises(ControlClientError) as info:
        check_socket(path, uid=os.getuid() + 4242)
    message = str(info.value)
    assert f"belongs to uid {os.getuid()}" in message
    assert f"not to you (uid {os.getuid() + 4242})" in message
    assert "run asnctl as that user" in message


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["reboot"], "invalid choice: 'reboot'"),
        (["kill", "two"], 'expected a slot number or "all"'),
        (["swap", "all", "x.json"], "swap takes one slot number"),
        (["kill", "-1"], "slot numbers start at 0"),
        ([], "the following arguments are required: COMMAND"),
        (["--timeout", "-1", "status"], "expected 0 < seconds < 86400"),
        (["--timeout", "soon", "status"], "expected seconds, got 'soon'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(argv: list[str], words: str) -> None:
    result = asnctl_process("--socket", "/nonexistent.sock", *argv)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr


async def test_forbidden_client_sees_the_refusal(nursery: trio.Nursery, sock_path: Path) -> None:
    await nursery.start(
        partial(serve_control, sock_path, Desk(), slot_count=6, owner_uid=os.getuid() + 4242)
    )
    with pytest.raises(ControlClientError, match=f"forbidden: uid {os.getuid()}"):
        await asnctl("--socket", str(sock_path), "status")


def test_status_table_shows_money_in_cents() -> None:
    slots = [
        {"slot": 0, "equity": "199.54720224", "pnl": "-0.45279776"},
        {"slot": 1, "equity": "200.005", "pnl": "0.005"},  # half to even
        {"slot": 2, "equity": "0", "pnl": "-0.00400000"},  # no "-0.00"
        {"slot": 3, "equity": "n/a", "pnl": None},
    ]
    rows = [line.split() for line in render_status({"slots": slots}).splitlines()[1:]]
    assert [(r[0], r[4], r[6]) for r in rows] == [
        ("0", "199.55", "-0.45"),
        ("1", "200.00", "0.00"),
        ("2", "0.00", "0.00"),
        ("3", "n/a", "-"),
    ]


def test_challengers_table_shows_each_sides_time_to_target_in_seconds() -> None:
    rows = [
        {"slot": 0, "challenger": "fast", "mean_pnl_diff": 0.25, "challenger_ttt_s": 42.5,
         "champion_ttt_s": None, "reason": ""},
        {"slot": 1, "challenger": "slow", "mean_pnl_diff": -0.5, "challenger_ttt_s": None,
         "champion_ttt_s": 7.0, "reason": ""},
    ]  # fmt: skip
    lines = render_challengers(rows).splitlines()
    assert lines[0].split() == [
        "SLOT", "CHALLENGER", "MEAN_PNL_DIFF", "CHALLENGER_TTT_S", "CHAMPION_TTT_S", "REASON",
    ]  # fmt: skip
    assert lines[1].split() == ["0", "fast", "+0.250", "42.500", "-"], "a duration is unsigned"
    assert lines[2].split() == ["1", "slow", "-0.500", "-", "7.000"]


def test_render_status_tolerates_missing_fields() -> None:
    text = render_status({"slots": [{"slot": 0, "symbol": "BTCUSDT"}]})
    assert text.splitlines()[1].split() == ["0", "BTCUSDT", "-", "-", "-", "-", "-", "-"]


async def test_real_asnctl_process_against_a_live_server(
    nursery: trio.Nursery, sock_path: Path
) -> None:
    desk = Desk()
    await start(nursery, sock_path, desk)
    with trio.fail_after(30):
        result = await trio.run_process(
            [sys.executable, "-m", "asnd.ctl", "--socket", str(sock_path), "kill", "1"],
            capture_stdout=True,
            capture_stderr=True,
        )
    assert json.loads(result.stdout) == {"killed": [1], "halted": False}
    assert desk.slots[1].state == "dead"


async def test_a_closed_output_pipe_is_not_a_traceback(
    nursery: trio.Nursery, sock_path: Path
) -> None:
    await start(nursery, sock_path, Desk())
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `asnctl status | head -0`: nobody will read
    try:
        with trio.fail_after(30):
            result = await trio.run_process(
                [sys.executable, "-m", "asnd.ctl", "--socket", str(sock_path), "status"],
                stdout=write_end,
                capture_stderr=True,
                check=False,
            )
    finally:
        os.close(write_end)
    assert result.returncode == 0
    assert result.stderr == b""


def test_render_status_says_why_since_when_and_what_clears_it() -> None:
    halt = "slot 4: 3 liquidations left -236 lots open; an operator must close them"
    stuck = "slot 4 (DOGEUSDT) still holds -236 lots after 3 liquidations: close the position"
    status = {
        "daemon": {
            "venue": "sim", "state": "halted", "reason": halt,
            "since": "2026-12-02T07:06:10.123Z", "clears": f"{stuck}, then asnctl resume all",
        },
        "slots": [
            {"slot": 0, "symbol": "BTCUSDT", "state": "active", "reason": f"trading halted: {halt}",
             "since": "2026-12-02T07:06:10.123Z", "clears": "asnctl resume all"},
            {"slot": 3, "symbol": "ETHUSDT", "state": "halted", "reason": "kill: operator",
             "since": "2026-12-02T07:05:00.000Z", "clears": "asnctl resume 3"},
            {"slot": 5, "symbol": "BNBUSDT", "state": "active", "reason": "book stale: gap",
             "since": None, "clears": "next book snapshot"},
            {"slot": 1, "symbol": "ETHUSDT", "state": "active", "reason": ""},
        ],
    }  # fmt: skip
    lines = render_status(status).splitlines()
    assert lines[:3] == [
        "asnd: halted on sim",
        f"halted since 2026-12-02 07:06:10.123 UTC: {halt}",
        f"  clears: {stuck}, then asnctl resume all",
    ]
    # The daemon's halt is not repeated for each slot it stops; the slots' own reasons are.
    assert lines[-4:] == [
        "slot 3 (ETHUSDT) halted since 2026-12-02 07:05:00.000 UTC: kill: operator",
        "  clears: asnctl resume 3",
        "slot 5 (BNBUSDT) active: book stale: gap",
        "  clears: next book snapshot",
    ]
