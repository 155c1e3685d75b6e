"""The daemon's retention actor: prunes below the core's latest snapshot, in a worker thread,
and survives a journal it cannot touch; ``[journal]`` retention keys are validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from asnd.actors.housekeeper import Housekeeper
from asnd.config import ConfigError, load_config
from journal.events import Event
from journal.reader import JournalReader
from journal.retention import RetainPolicy, latest_snapshot_seq
from tests.journal.test_retention import _scripted_journal, _write

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return _scripted_journal()


async def test_a_round_prunes_below_the_snapshot_the_core_reports(
    tmp_path: Path, events: list[Event]
) -> None:
    directory = tmp_path / "j"
    _write(directory, events)
    before = JournalReader(directory).segments()
    snapshot: list[int | None] = [None]
    keeper = Housekeeper(
        directory, RetainPolicy(max_bytes=1), lambda: snapshot[0], archive=tmp_path / "old"
    )
    assert await keeper.tidy() is None, "no snapshot journaled yet: nothing goes"
    snapshot[0] = latest_snapshot_seq(directory)
    result = await keeper.tidy()
    assert result is not None
    assert result.removed
    after = JournalReader(directory).segments()
    assert len(after) == len(before) - len(result.removed)
    assert snapshot[0] is not None
    assert after[0].header.first_seq <= snapshot[0] + 1
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == [p.name for p in result.removed]
    assert await keeper.tidy() is None, "a second round finds nothing more"


async def test_a_journal_that_vanished_is_logged_and_the_next_round_goes_on(
    tmp_path: Path,
) -> None:
    keeper = Housekeeper(tmp_path / "gone", RetainPolicy(days=1), lambda: 10)
    assert await keeper.tidy() is None
    assert keeper.rounds == 1


def _config(tmp_path: Path, journal_lines: str) -> Path:
    text = (REPO / "etc" / "asnd.toml").read_text()
    text = text.replace("retain_days = 0\nretain_bytes = 0\n", journal_lines)
    tmp_path.mkdir()
    path = tmp_path / "asnd.toml"
    path.write_text(text)
    for name in ("strategies",):
        (tmp_path / name).symlink_to(REPO / "etc" / name)
    return path


def test_retention_keys_are_validated(tmp_path: Path) -> None:
    good = load_config(_config(tmp_path / "a", "retain_days = 30\nretain_bytes = 1048576\n"))
    assert (good.journal.retain_days, good.journal.retain_bytes) == (30, 1 << 20)
    default = load_config(REPO / "etc" / "asnd.toml")
    assert (default.journal.retain_days, default.journal.retain_bytes) == (None, None)
    assert default.journal.archive_directory is None
    with pytest.raises(ConfigError, match=r"journal.retain_bytes.*at least 1048576"):
        load_config(_config(tmp_path / "b", "retain_days = 0\nretain_bytes = 4096\n"))
    with pytest.raises(ConfigError, match=r"journal.retain_days"):
        load_config(_config(tmp_path / "c", "retain_days = -1\nretain_bytes = 0\n"))
