"""Journal housekeeping: what may be pruned (the plan), ``asn-journal prune`` on a real
rotated journal (a subprocess), a reader's open segment left alone, archives that are
journals, recovery refusing a pruned journal it would have to replay whole, and the daemon's
housekeeper pruning after a snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from asnd.actors.housekeeper import JournalHousekeeper
from asnd.config import load_config
from asnd.recovery import restore_state
from asnd.runtime import core_config
from journal.cli import check_journal
from journal.errors import JournalError
from journal.events import InstrumentInfo, StateSnapshot, Trade
from journal.reader import JournalReader, SegmentInfo
from journal.retention import RetentionPolicy, plan
from journal.segment import SegmentHeader, segment_paths
from journal.writer import JournalWriter

REPO = Path(__file__).resolve().parents[2]
DAY_NS = 86_400 * 1_000_000_000


def _segments(*firsts_and_days: tuple[int, int], size: int = 100) -> list[SegmentInfo]:
    """Segments starting at these seqs, created this many days after day 0."""
    return [
        SegmentInfo(Path(f"{first:020d}.seg"), SegmentHeader.new(first, day * DAY_NS), size)
        for first, day in firsts_and_days
    ]


def test_nothing_goes_without_a_limit_or_a_snapshot() -> None:
    segments = _segments((1, 0), (11, 1), (21, 2))
    assert plan(segments, 30, RetentionPolicy(), 10 * DAY_NS).remove == ()
    none = plan(segments, None, RetentionPolicy(max_bytes=0), 10 * DAY_NS)
    assert none.remove == ()
    assert "no state snapshot" in none.kept_because


def test_only_sealed_segments_wholly_below_the_snapshot_go() -> None:
    segments = _segments((1, 0), (11, 1), (21, 2), (31, 3))
    # Snapshot as of seq 20: segments 1-10 and 11-20 may go; 21-30 holds seq 21 > 20.
    result = plan(segments, 20, RetentionPolicy(max_bytes=0), 10 * DAY_NS)
    assert [s.header.first_seq for s in result.remove] == [1, 11]
    assert "after the latest snapshot (20)" in result.kept_because
    # Far past every record: still never the last segment (the writer's).
    result = plan(segments, 10**9, RetentionPolicy(max_bytes=0), 10 * DAY_NS)
    assert [s.header.first_seq for s in result.remove] == [1, 11, 21]
    assert "being written" in result.kept_because


def test_age_is_the_next_segments_creation_and_bytes_count_from_the_oldest() -> None:
    segments = _segments((1, 0), (11, 1), (21, 2), (31, 3), size=100)
    now = 4 * DAY_NS
    # Keep 2 days: segment 1 ended before day 1, segment 11 before day 2 (= now - 2 days,
    # not older than it), so only the first goes.
    by_age = plan(segments, 10**9, RetentionPolicy(max_age_s=2 * 86_400), now)
    assert [s.header.first_seq for s in by_age.remove] == [1]
    assert "within the retention limits" in by_age.kept_because
    # 400 bytes, keep 250: the two oldest go (400 -> 300 -> 200).
    by_size = plan(segments, 10**9, RetentionPolicy(max_bytes=250), now)
    assert [s.header.first_seq for s in by_size.remove] == [1, 11]


def _journal(directory: Path, *, snapshot_after: int, records: int = 300) -> None:
    """A rotated journal (about 10 segments) with one ``StateSnapshot`` as of
    ``snapshot_after``."""
    with JournalWriter.open(directory, fsync=False, segment_bytes=1024) as writer:
        writer.append(InstrumentInfo(0, 1, "sim", "XRPUSDT", "0.0001", "1"))
        for i in range(records):
            writer.append(Trade(0, 2 + i, "XRPUSDT", str(i), 1, 20000 + i, 5, 3))
            if i + 2 == snapshot_after:
                writer.append(StateSnapshot(0, 2 + i, snapshot_after, "test", b"x"))
            writer.commit()  # segments rotate between commits


def prune_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "journal.cli", "prune", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _first_seqs(directory: Path) -> list[int]:
    return [int(p.stem) for p in segment_paths(directory)]


def test_prune_archives_below_the_snapshot_and_both_halves_stay_journals(
    tmp_path: Path,
) -> None:
    journal, archive = tmp_path / "journal", tmp_path / "archive"
    _journal(journal, snapshot_after=150)
    before = _first_seqs(journal)
    assert len(before) > 5
    records = check_journal(journal).records

    dry = prune_cli(journal, "--keep-bytes", "0", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout
    assert _first_seqs(journal) == before, "a dry run changes nothing"

    done = prune_cli(journal, "--keep-bytes", "0", "--archive", archive)
    assert done.returncode == 0, done.stderr
    assert f"to {archive}" in done.stdout
    assert "after the latest snapshot (150)" in done.stdout
    kept, moved = _first_seqs(journal), _first_seqs(archive)
    assert moved
    assert kept
    assert moved + kept == before, "a prefix moved, in order, nothing lost"
    assert kept[0] <= 151, "the records after the snapshot all stay"
    # Each half verifies on its own; together they hold every record once.
    rest, old = check_journal(journal), check_journal(archive)
    assert rest.problems == []
    assert old.problems == []
    assert rest.first_seq == kept[0]
    assert old.last_seq == kept[0] - 1
    assert rest.records + old.records == records
    assert any(isinstance(e, StateSnapshot) for e in JournalReader(journal).events())


def test_a_segment_open_in_a_reader_is_never_removed(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    _journal(journal, snapshot_after=250)
    before = _first_seqs(journal)
    reading = JournalReader(journal).events()
    third = before[2]
    for event in reading:  # stop inside the third segment: it is open now
        if event.seq == third:
            break
    proc = prune_cli(journal, "--keep-bytes", "0")
    assert proc.returncode == 0, proc.stderr
    assert f"{third:020d}.seg is open in a reader" in proc.stdout
    assert _first_seqs(journal) == before[2:], "the two before it went, it and later stayed"
    rest = [e.seq for e in reading]
    assert rest == list(range(third + 1, rest[-1] + 1)), "the reader read on, no gap"
    assert prune_cli(journal, "--keep-bytes", "0").returncode == 0
    assert _first_seqs(journal)[0] > third, "once closed, the next run takes it"


def test_prune_needs_a_limit_and_refuses_odd_input(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    _journal(journal, snapshot_after=150, records=20)
    for args, message in [
        ((), "needs --keep-days and/or --keep-bytes"),
        (("--keep-bytes", "lots"), "not a byte count"),
        (("--keep-days", "-1"), "not a whole number of days"),
    ]:
        proc = prune_cli(journal, *args)
        assert proc.returncode == 2
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
    empty = prune_cli(tmp_path / "missing", "--keep-days", "1")
    assert empty.returncode == 2
    assert "does not exist" in empty.stderr


def test_recovery_refuses_to_replay_a_pruned_journal_whole(tmp_path: Path) -> None:
    """Without a usable snapshot recovery replays from seq 1; a journal whose head was pruned
    would give a wrong state, so it is refused with the reason."""
    journal = tmp_path / "journal"
    _journal(journal, snapshot_after=10**9, records=60)  # no snapshot at all
    segment_paths(journal)[0].unlink()
    config = core_config(load_config(REPO / "etc" / "asnd.toml"))
    with pytest.raises(JournalError, match=r"cannot recover: it holds no state snapshot"):
        restore_state(config, journal)


async def test_the_daemon_housekeeper_prunes_after_a_snapshot(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    _journal(journal, snapshot_after=150)
    before = _first_seqs(journal)
    keeper = JournalHousekeeper(journal, RetentionPolicy(max_bytes=0), clock_ns=lambda: 0)
    keeper.snapshot_journaled(StateSnapshot(160, 0, 150, "test", b"x"))
    keeper.snapshot_journaled(StateSnapshot(170, 0, 160, "test", b"x"))  # one pass is due
    keeper.close()
    with trio.fail_after(30):
        await keeper.run()  # the pass due, in a worker thread, then the end
    kept = _first_seqs(journal)
    assert kept == [s for s in before if s >= kept[0]]
    assert kept[0] <= 151
    assert check_journal(journal).problems == []
