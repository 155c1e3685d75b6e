"""Parity with live: the daemon, run in-process on the sim venue, writes a journal; replaying it
through a fresh core makes exactly the decisions it journaled, and any change shows with its
seq."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from asnd.backtest.parity import verify_decisions
from asnd.config import load_config
from asnd.daemon import main
from asnd.runtime import core_config
from journal.events import Event, Fill, OrderIntent, Signal

from ..daemon.harness import make_config, slot_setting


def test_a_daemon_journal_replays_with_identical_decisions(
    live_journal: tuple[Path, list[Event]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, events = live_journal
    assert any(isinstance(e, Fill) for e in events)
    config = load_config(path)
    done = main(["backtest", "--config", str(path), "--verify-against-live",
                 str(config.journal.directory)])  # fmt: skip
    out = capsys.readouterr().out
    assert done == 0, out
    assert out.strip().endswith("identical")
    report = verify_decisions(core_config(config), events)
    assert report.identical
    intents = sum(isinstance(e, OrderIntent) for e in events)
    signals = sum(isinstance(e, Signal) for e in events)
    assert report.decisions["Signal"] == signals > 0
    assert report.decisions["OrderIntent"] >= intents - 6  # shutdown cancels are inputs


def test_a_changed_decision_is_listed_with_its_seq(live_journal: tuple[Path, list[Event]]) -> None:
    path, events = live_journal
    i, signal = next((i, e) for i, e in enumerate(events) if isinstance(e, Signal))
    assert isinstance(signal, Signal)
    changed = [
        *events[:i],
        msgspec.structs.replace(signal, signal=signal.signal + 1),
        *events[i + 1 :],
    ]
    report = verify_decisions(core_config(load_config(path)), changed)
    assert not report.identical
    assert report.differences[0].seq == signal.seq
    assert report.differences[0].what == "differs"


def test_a_different_config_decides_differently_and_exits_1(
    live_journal: tuple[Path, list[Event]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _events = live_journal
    other = make_config(tmp_path / "other")
    for slot in range(6):
        slot_setting(other, slot, "max_qty", '"1000000"')
    journal = load_config(path).journal.directory
    done = main(["backtest", "--config", str(other), "--verify-against-live", str(journal)])
    out = capsys.readouterr().out
    assert done == 1
    assert "seq " in out
    assert "differences" in out.splitlines()[-1]
