"""The four commands as a user runs them (real subprocesses, real files): ``--version`` on each,
the same answer to a missing or empty journal directory from every reading command, and the
light start of ``asnd check-config`` and ``asnctl status`` (which modules they import)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from journal.events import InstrumentInfo, Trade
from journal.writer import JournalWriter

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "etc" / "asnd.toml"

#: command name -> the module its console script runs (pyproject's [project.scripts]).
COMMANDS = {
    "asnd": "asnd.daemon",
    "asnctl": "asnd.ctl",
    "asn-journal": "journal.cli",
    "asn-evolve": "evolution.cli",
}

#: Libraries only the commands that need them may load (reports, research, the compiled core).
HEAVY = ("matplotlib", "lightgbm", "tigramite", "deap", "numba", "cma", "dask")


def run(
    module: str, *args: str | Path, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=REPO,
    )


def test_scripts_table_names_these_modules() -> None:
    """The table above is the one pyproject installs (so the tests run what users run)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    scripts = project["scripts"]
    assert {name: target.split(":")[0] for name, target in scripts.items()} == COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_version_on_every_command(name: str) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    proc = run(COMMANDS[name], "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{name} {version}\n"


def _reading_commands(journal: Path, out: Path) -> dict[str, tuple[str, list[str | Path]]]:
    config: list[str | Path] = ["--config", CONFIG]
    return {
        "asn-journal ls": ("journal.cli", ["ls", journal]),
        "asn-journal stats": ("journal.cli", ["stats", journal]),
        "asn-journal cat": ("journal.cli", ["cat", journal]),
        "asn-journal cat --follow": ("journal.cli", ["cat", journal, "--follow"]),
        "asn-journal verify": ("journal.cli", ["verify", journal]),
        "asnd backtest": ("asnd.daemon", ["backtest", journal, *config, "--out", out]),
        "asnd backtest --verify-against-live": (
            "asnd.daemon",
            ["backtest", *config, "--verify-against-live", journal],
        ),
        "asnd backtest --calibrate": (
            "asnd.daemon",
            ["backtest", "--calibrate", journal, "--out", out],
        ),
        "asn-evolve run": (
            "evolution.cli",
            ["run", "--journal", journal, "--slot", "0", "--out", out, "--quiet"],
        ),
    }


_NAMES = sorted(_reading_commands(Path(), Path()))


@pytest.mark.parametrize("state", ["missing", "empty"])
@pytest.mark.parametrize("command", _NAMES)
def test_missing_or_empty_journal_is_one_line_and_exit_2(
    tmp_path: Path, command: str, state: str
) -> None:
    journal = tmp_path / "journal"
    if state == "empty":  # no segment files (a stray file is not a journal)
        journal.mkdir()
        (journal / "notes.txt").write_text("not a segment\n")
    out = tmp_path / "out"
    module, args = _reading_commands(journal, out)[command]
    proc = run(module, *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(journal) in lines[0]
    expected = "does not exist" if state == "missing" else "holds no journal"
    assert expected in lines[0]
    assert not out.exists(), "nothing written for bad input"


def test_verify_prints_what_it_read(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    with JournalWriter.open(journal, fsync=False, segment_bytes=4096) as writer:
        writer.append(InstrumentInfo(0, 1, "sim", "XRPUSDT", "0.0001", "1"))
        for i in range(199):
            writer.append(Trade(0, 2 + i, "XRPUSDT", str(i), 1, 20000 + i, 5, 3))
            writer.commit()  # segments rotate between commits
    segments = len(list(journal.glob("*.seg")))
    assert segments > 1, "the test wants a rotated journal"
    proc = run("journal.cli", "verify", journal)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"segments  {segments}"
    assert lines[1] == "records   200  seq 1..200"
    assert lines[2].split() == ["KIND", "RECORDS"]
    assert lines[3].split() == ["trade", "199"]
    assert lines[4].split() == ["instrument_info", "1"]
    assert lines[-1] == f"{journal}: ok"


def _imported(importtime_stderr: str) -> set[str]:
    """Top-level package names from ``python -X importtime``'s report."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_check_config_imports_no_heavy_library() -> None:
    proc = run("asnd.daemon", "check-config", "--config", CONFIG, importtime=True)
    assert proc.returncode == 0, proc.stderr
    assert f"{CONFIG}: OK" in proc.stdout
    imported = _imported(proc.stderr)
    assert "asnd" in imported, "the import report was read"
    assert imported.isdisjoint((*HEAVY, "trio")), sorted(imported & {*HEAVY, "trio"})


def test_asnctl_status_imports_no_heavy_library(tmp_path: Path) -> None:
    socket = tmp_path / "control.sock"
    proc = run("asnd.ctl", "--socket", socket, "status", importtime=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "asnd is not running" in proc.stderr.splitlines()[-1]
    imported = _imported(proc.stderr)
    assert "asnd" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
