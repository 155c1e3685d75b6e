"""``asn-journal import-bybit`` killed at random moments leaves nothing partial (issue 14:
hidden ``.importing-*`` directories were left beside the target in 6 of 19 kills).

Design: the import builds a hidden partial directory beside OUT and renames it into place;
a killed import's partial is no longer locked, and the next import in that parent removes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from journal.reader import JournalReader
from journal.staging import remove_stale_partials, staged_directory
from tests.kill_rounds import TIMEOUT_S, KillRounds, hidden_entries

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def import_command(out: Path, archive: Path) -> list[str]:
    # The same archive twelve times: a longer import, so kills land in the middle of it.
    return [sys.executable, "-m", "journal.cli", "import-bybit", str(out), *[str(archive)] * 12]


@pytest.mark.slow
def test_a_killed_import_leaves_a_whole_journal_or_none(
    tmp_path: Path, bybit_archive: Path
) -> None:
    rounds = KillRounds(tmp_path, ENV)
    whole = rounds.measure(import_command(tmp_path / "whole", bybit_archive))
    assert whole.returncode == 0, whole.stderr
    expected = list(JournalReader(tmp_path / "whole").events())
    assert len(expected) == 12 * 51
    left_partial = 0
    for n in range(8):
        out = tmp_path / f"j{n}"
        rounds.kill_once(import_command(out, bybit_archive))
        if out.exists():
            assert list(JournalReader(out).events()) == expected, f"round {n}: partial journal"
        left = hidden_entries(tmp_path)
        # This run removed what earlier kills left: at most its own partial remains.
        assert len(left) <= 1, f"round {n}: leftovers accumulate: {left}"
        left_partial += len(left)
    assert left_partial >= 1, "no kill landed while writing: the test proved nothing"
    last = subprocess.run(
        import_command(tmp_path / "last", bybit_archive),
        env=ENV,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert last.returncode == 0, last.stderr
    assert hidden_entries(tmp_path) == []


def test_a_partial_still_being_built_is_left_alone(tmp_path: Path) -> None:
    stale = tmp_path / ".old.partial-0123abcd"
    (stale / "sub").mkdir(parents=True)
    not_ours = tmp_path / ".download.partial-x"
    not_ours.mkdir()
    with staged_directory(tmp_path / "new") as building:
        (building / "data").write_text("x")
        assert remove_stale_partials(tmp_path) == []  # ours is locked: in use
        assert not stale.exists(), "entering removed the dead builder's partial"
    assert (tmp_path / "new" / "data").read_text() == "x"
    assert hidden_entries(tmp_path) == [not_ours.name], "only names staging gives are taken"


def test_a_failed_build_publishes_nothing(tmp_path: Path) -> None:
    def build() -> None:
        with staged_directory(tmp_path / "out") as building:
            (building / "half").write_text("x")
            raise RuntimeError("the tool failed")

    with pytest.raises(RuntimeError):
        build()
    assert list(tmp_path.iterdir()) == []
