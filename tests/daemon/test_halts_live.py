"""Halts say why, on the real daemon (in-process, real sim venue, real control socket, asnctl
as a real subprocess): kill/resume print a human line, ``status`` (table and ``--json``)
shows the reason, since when and what clears it, a risk brake halts a slot with a journaled
reason and a resume it would reverse is refused, and each of these is one log line."""

from __future__ import annotations

import json
import re
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from asnd.config import load_config
from asnd.core.brakes import day_text, utc_day
from asnd.core.slot import SlotStatus
from journal.events import Kill, OperatorCommand, OrderSent, Resume, RiskHalt

from .harness import DaemonProcess, journal_events, make_config, wait_for
from .test_daemon_live import asnctl, running, until

SINCE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC"


def lines_of(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    return [line for line in logs if line.get("event") == event]


async def status_json(path: Path) -> dict[str, Any]:
    done = await asnctl(path, "status", "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_kill_and_resume_say_what_happened_and_status_says_why(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    with capture_logs() as logs:
        async with running(path) as (daemon, _venue):
            assert daemon.core is not None
            state = daemon.core.state
            slot = state.slots[2]

            done = await asnctl(path, "kill", "2")
            assert done.returncode == 0, done.stderr
            assert re.fullmatch(
                r"slot 2 \(SOLUSDT\) killed: operator; "
                r"(halted|(flattening|cancelling its orders), then halted)\n",
                done.stdout.decode(),
            ), done.stdout
            await until(daemon, lambda: slot.status is SlotStatus.HALTED)
            table = (await asnctl(path, "status")).stdout.decode().splitlines()
            (line,) = [x for x in table if x.startswith("slot 2 (SOLUSDT) halted")]
            assert re.fullmatch(
                rf"slot 2 \(SOLUSDT\) halted since {SINCE}: kill: operator: asnctl kill", line
            )
            assert table[table.index(line) + 1] == "  clears: asnctl resume 2"
            row = (await status_json(path))["slots"][2]
            assert (row["state"], row["reason"], row["clears"]) == (
                "halted", "kill: operator: asnctl kill", "asnctl resume 2",
            )  # fmt: skip
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["since"])
            assert (await status_json(path))["slots"][0]["reason"] == "", "slot 0 trades"

            done = await asnctl(path, "resume", "2", "--json")
            assert done.returncode == 0, done.stderr
            answer = json.loads(done.stdout)
            assert answer["resumed"] == 2
            assert answer["message"] == "slot 2 (SOLUSDT) resumed: active"
            done = await asnctl(path, "resume", "2")
            assert done.returncode == 1
            assert done.stderr.decode() == "asnctl: not_resumable: slot 2 is already active\n"

            done = await asnctl(path, "kill", "all")
            assert done.returncode == 0, done.stderr
            assert done.stdout.decode().startswith("all slots killed: operator; trading halted")
            await until(
                daemon,
                lambda: all(s.status is SlotStatus.HALTED for s in state.slots),
            )
            table = (await asnctl(path, "status")).stdout.decode().splitlines()
            assert table[0].startswith("asnd: halted on sim")
            assert re.fullmatch(rf"halted since {SINCE}: kill all: operator: asnctl kill", table[1])
            assert table[2] == "  clears: asnctl resume all"
            daemon_row = (await status_json(path))["daemon"]
            assert (daemon_row["reason"], daemon_row["clears"]) == (
                "kill all: operator: asnctl kill", "asnctl resume all",
            )  # fmt: skip
            done = await asnctl(path, "resume", "all")
            assert done.returncode == 0, done.stderr
            assert done.stdout.decode() == "trading resumed\n"
    kills = lines_of(logs, "slot.killed")
    assert [(k["slot"], k["reason"]) for k in kills] == [
        (2, "operator: asnctl kill"), ("all", "operator: asnctl kill"),
    ]  # fmt: skip
    assert [r["slot"] for r in lines_of(logs, "slot.resumed")] == [2, "all"]
    (halted,) = lines_of(logs, "trading.halted")
    assert halted["reason"] == "kill all: operator: asnctl kill"
    assert halted["log_level"] == "error"
    assert lines_of(logs, "order.sent"), "orders sent are logged"
    journal = journal_events(daemon.config)
    assert [e.slot for e in journal if isinstance(e, Kill)] == [2, -1]
    assert [e.slot for e in journal if isinstance(e, Resume)] == [2, -1], "refusal journals none"
    seqs = {e.seq for e in journal}
    assert all(line["seq"] in seqs for line in kills)


async def test_a_daily_loss_brake_halts_the_slot_and_resume_is_refused(tmp_path: Path) -> None:
    # One cent a day: the first position's spread and fee pass it.
    path = make_config(tmp_path, max_daily_loss_per_slot='"0.01"')
    with capture_logs() as logs:
        async with running(path) as (daemon, _venue):
            assert daemon.core is not None
            state = daemon.core.state

            def braked() -> list[int]:
                return [
                    s.index for s in state.slots
                    if s.status is SlotStatus.HALTED and s.halt.rule == "max_daily_loss"
                ]  # fmt: skip

            await until(daemon, lambda: bool(braked()))
            index = braked()[0]
            slot = state.slots[index]
            name = f"slot {index} ({slot.symbol})"
            assert slot.ledger is not None
            assert slot.ledger.position_lots == 0, "the brake flattened it"
            day = slot.halt.day
            until_text = f"{day_text(day + 1)} 00:00 UTC"
            row = (await status_json(path))["slots"][index]
            assert row["state"] == "halted"
            assert row["reason"].startswith(f"max_daily_loss: {name} lost ")
            assert row["reason"].endswith("(limit 0.01 USDT)")
            assert (
                row["clears"] == f"asnctl resume {index} from {until_text} (the day's loss limit)"
            )
            table = (await asnctl(path, "status")).stdout.decode()
            assert f"{name} halted since " in table
            assert f"  clears: asnctl resume {index} from {until_text}" in table

            done = await asnctl(path, "resume", str(index))
            if utc_day(time.time_ns()) == day:  # (not when the test straddles midnight UTC)
                assert done.returncode == 1
                assert done.stderr.decode() == (
                    f"asnctl: not_resumable: slot {index} is halted by {row['reason']}; "
                    f"it holds until {until_text}\n"
                )
                assert slot.status is SlotStatus.HALTED
    journal = journal_events(daemon.config)
    halts = [e for e in journal if isinstance(e, RiskHalt) and e.slot == index]
    assert halts[0].rule == "max_daily_loss"
    assert halts[0].reason == row["reason"]
    commands = [e.command for e in journal if isinstance(e, OperatorCommand)]
    assert "resume" in commands
    if utc_day(time.time_ns()) == day:
        assert not any(isinstance(e, Resume) for e in journal), (
            "the refused resume is not journaled"
        )
    brakes = [line for line in lines_of(logs, "risk.brake") if line["slot"] == index]
    assert brakes[0]["rule"] == "max_daily_loss"
    assert brakes[0]["reason"] == row["reason"]


def test_the_daemon_process_logs_what_the_operator_did_as_json_lines(tmp_path: Path) -> None:
    """``asnd run`` as a real process (stderr to a file, JSON lines as under systemd)."""
    path = make_config(tmp_path)
    config = load_config(path)
    daemon = DaemonProcess(path)
    try:
        daemon.start()
        daemon.wait_notify("READY=1")
        wait_for(config, lambda e: isinstance(e, OrderSent), timeout=60)
        done = daemon.ctl("kill", "1")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("slot 1 (ETHUSDT) killed: operator; ")
        kill = wait_for(config, lambda e: isinstance(e, Kill))
        assert daemon.terminate() == 0
        log = daemon.log_path.read_text()  # (close() removes it)
    finally:
        daemon.close()
    records = [json.loads(line) for line in log.splitlines()]
    (killed,) = [r for r in records if r["event"] == "slot.killed"]
    assert (killed["slot"], killed["reason"], killed["seq"]) == (
        1,
        "operator: asnctl kill",
        kill.seq,
    )
    assert (killed["level"], killed["logger"]) == ("warning", "asnd.events")
    sent = [r for r in records if r["event"] == "order.sent"]
    assert sent
    assert all({"slot", "link_id", "seq"} <= set(r) for r in sent)
