"""``asnd backtest`` killed at random moments leaves its output directory whole or absent
(issue 14: ``fills.csv``/``equity.csv`` without ``report.json`` in 7 of 15 kills)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asnd.daemon import main
from tests.kill_rounds import TIMEOUT_S, KillRounds, hidden_entries

from ..daemon.harness import make_config
from .helpers import market, write_journal

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def contents(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_a_killed_backtest_leaves_its_outputs_whole_or_absent(tmp_path: Path) -> None:
    journal = write_journal(tmp_path / "journal", market(1500))
    config = make_config(tmp_path / "cfg")
    work = tmp_path / "work"
    work.mkdir()

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "asnd.daemon", "backtest", "--quiet", str(journal),
                "--config", str(config), "--out", str(out)]  # fmt: skip

    rounds = KillRounds(work, ENV)
    reference = rounds.measure(command(work / "reference"))
    assert reference.returncode == 0, reference.stderr
    whole = contents(work / "reference")  # a backtest is deterministic: same run, same bytes
    assert {"fills.csv", "equity.csv", "report.json"} <= set(whole)
    shutil.copytree(work / "reference", work / "rerun")
    left_partial = 0
    for n in range(8):
        # Even rounds write a new directory, odd rounds replace the previous outputs.
        out = work / (f"fresh{n}" if n % 2 == 0 else "rerun")
        rounds.kill_once(command(out))
        if out.exists():
            assert contents(out) == whole, f"round {n}: {out.name} is not a whole output"
        left = hidden_entries(work)
        assert len(left) <= 2, f"round {n}: leftovers accumulate: {left}"  # new + replaced
        left_partial += bool(left)
    assert left_partial >= 1, "no kill landed while writing: the test proved nothing"
    last = subprocess.run(
        command(work / "last"), env=ENV, capture_output=True, timeout=TIMEOUT_S, check=False
    )
    assert last.returncode == 0, last.stderr
    assert contents(work / "last") == whole
    assert hidden_entries(work) == []


def test_an_out_directory_holding_other_files_is_refused_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = write_journal(tmp_path / "journal", market(300))
    config = make_config(tmp_path / "cfg")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the operator's")
    args = ["backtest", "--quiet", str(journal), "--config", str(config), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "holds files a backtest does not write (notes.txt)" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "the operator's"


def test_a_rerun_replaces_the_previous_outputs_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = write_journal(tmp_path / "journal", market(300))
    config = make_config(tmp_path / "cfg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "equity_slot5.png").write_bytes(b"from an older run with more slots")
    (out / "fills.csv").write_text("a torn file from a killed old version\n")
    args = ["backtest", "--quiet", str(journal), "--config", str(config), "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    names = {p.name for p in out.iterdir()}
    assert "equity_slot5.png" not in names
    assert {"fills.csv", "equity.csv", "report.json"} <= names
    assert (out / "fills.csv").read_text().startswith("seq,")
    assert hidden_entries(tmp_path) == []
