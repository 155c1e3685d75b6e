"""Journal retention: only segments below the latest snapshot go, never one a reader holds,
recovery from a pruned journal equals recovery from the whole one, and the CLI says what it did."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import cast

import msgspec
import pytest

from asnd.core.drive import Loop
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.recovery import restore_state
from journal.errors import JournalError
from journal.events import Event, StateSnapshot
from journal.reader import JournalReader
from journal.retention import RetainPolicy, latest_snapshot_seq, plan, prune
from journal.writer import JournalWriter
from tests.core.scenario import ScriptedVenue, loaded, run, synthetic_market
from tests.core.test_portfolio import CHAMPIONS, CONFIG

NS_PER_DAY = 86_400 * 10**9


def _scripted_journal(snapshot_at: tuple[float, ...] = (0.4, 0.7)) -> list[Event]:
    """A scripted live run of six slots with state snapshots journaled part way (as the core
    actor journals them), seqs as the journal writer stamps them (from 1)."""
    loop = Loop(DaemonState(CONFIG))
    venue = ScriptedVenue(loop)
    market = list(synthetic_market(3, 900))
    run(loop, venue, [market[0], *(loaded(i, CHAMPIONS[i]) for i in range(6))])
    cuts = [int(f * len(market)) for f in snapshot_at]
    start = 1
    for cut in [*cuts, len(market)]:
        run(loop, venue, market[start:cut])
        start = cut
        if cut != len(market):
            loop.feed(loop.state.snapshot_event(ts_local_ns=0))
    return loop.journal


def _write(directory: Path, events: list[Event], *, every: int = 150) -> None:
    """Into a real journal, committing every ``every`` events so segments rotate often."""
    with JournalWriter.open(directory, segment_bytes=2048, fsync=False) as writer:
        for i, event in enumerate(events):
            stamped = writer.append(msgspec.structs.replace(event))
            assert stamped.seq == event.seq
            if i % every == every - 1:
                writer.commit()


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return _scripted_journal()


def test_plan_keeps_everything_after_the_latest_snapshot_and_the_newest_segment(
    tmp_path: Path, events: list[Event]
) -> None:
    _write(tmp_path / "j", events)
    segments = JournalReader(tmp_path / "j").segments()
    assert len(segments) >= 6
    snap = latest_snapshot_seq(tmp_path / "j")
    last_snapshot = [e for e in events if isinstance(e, StateSnapshot)][-1]
    assert snap == last_snapshot.as_of_seq
    tiny = RetainPolicy(max_bytes=1)  # over any size limit: only the snapshot rule holds
    chosen = plan(segments, tiny, snap, now_ns=0)
    assert chosen.remove, "segments wholly below the snapshot are removable"
    kept = segments[len(chosen.remove) :]
    assert kept[0].header.first_seq <= snap + 1, "the snapshot's successor is never removed"
    for gone, after in zip(chosen.remove, segments[1:], strict=False):
        assert after.header.first_seq <= snap + 1  # every removed record is <= the snapshot
        assert gone.header.first_seq < after.header.first_seq
    assert "after the latest snapshot" in chosen.kept_because
    # No snapshot, or no limit: nothing goes.
    assert plan(segments, tiny, None, 0).remove == ()
    assert plan(segments, RetainPolicy(), snap, 0).remove == ()


def test_the_age_and_size_limits_choose_the_oldest_first(
    tmp_path: Path, events: list[Event]
) -> None:
    _write(tmp_path / "j", events)
    segments = JournalReader(tmp_path / "j").segments()
    snap = latest_snapshot_seq(tmp_path / "j")
    sealed_at = segments[2].header.created_ns  # segment 1 was sealed then
    # Ten days later, keeping nine days: only segments sealed more than nine days ago go.
    now = segments[-1].header.created_ns + 10 * NS_PER_DAY
    by_age = plan(segments, RetainPolicy(days=9), snap, now)
    all_old = plan(segments, RetainPolicy(max_bytes=1), snap, now)
    assert by_age.remove == all_old.remove, "every segment is ten days old here"
    assert plan(segments, RetainPolicy(days=11), snap, now).remove == ()
    just_after = sealed_at + NS_PER_DAY + 1
    assert len(plan(segments, RetainPolicy(days=1), snap, just_after).remove) >= 2
    total = sum(s.size for s in segments)
    keep_most = RetainPolicy(max_bytes=total - segments[0].size)
    assert [s.path for s in plan(segments, keep_most, snap, 0).remove] == [segments[0].path]


def test_recovery_from_the_pruned_journal_equals_recovery_from_the_whole_one(
    tmp_path: Path, events: list[Event]
) -> None:
    whole, pruned = tmp_path / "whole", tmp_path / "pruned"
    _write(whole, events)
    _write(pruned, events)
    segments = JournalReader(pruned).segments()
    chosen = plan(segments, RetainPolicy(max_bytes=1), latest_snapshot_seq(pruned), 0)
    result = prune(pruned, chosen)
    assert result.removed == tuple(s.path for s in chosen.remove)
    assert not any(p.exists() for p in result.removed)
    first = JournalReader(pruned).segments()[0].header.first_seq
    assert first > 1
    assert next(iter(JournalReader(pruned).events())).seq == first, "reads from where it starts"
    restored, reference = restore_state(CONFIG, pruned), restore_state(CONFIG, whole)
    assert restored.state.snapshot() == reference.state.snapshot()
    assert restored.snapshot_seq == reference.snapshot_seq is not None


def test_a_pruned_journal_whose_snapshot_is_unusable_is_refused_not_half_replayed(
    tmp_path: Path, events: list[Event]
) -> None:
    _write(tmp_path / "j", events)
    segments = JournalReader(tmp_path / "j").segments()
    prune(
        tmp_path / "j",
        plan(segments, RetainPolicy(max_bytes=1), latest_snapshot_seq(tmp_path / "j"), 0),
    )
    other = CoreConfig(CONFIG.slots[:5], risk=CONFIG.risk)  # the snapshot does not fit it
    with pytest.raises(JournalError, match=r"cannot be recovered.*pruned.*archived segments"):
        restore_state(other, tmp_path / "j")


def test_a_segment_under_an_open_reader_is_not_removed(tmp_path: Path, events: list[Event]) -> None:
    _write(tmp_path / "j", events)
    directory = tmp_path / "j"
    segments = JournalReader(directory).segments()
    chosen = plan(segments, RetainPolicy(max_bytes=1), latest_snapshot_seq(directory), 0)
    assert len(chosen.remove) >= 2
    # A generator: closing it closes the segment it holds (as a reader stopping early does).
    reading = cast(Generator[Event, None, None], JournalReader(directory).events())
    assert next(reading).seq == 1  # the reader holds the first segment open
    held = prune(directory, chosen)
    assert held.removed == ()
    assert held.stopped_at == segments[0].path
    assert all(s.path.exists() for s in segments)
    # It reads on past the first segment; that one is then free (the next one it holds).
    second_first = segments[1].header.first_seq
    for event in reading:
        if event.seq == second_first:
            break
    partly = prune(directory, chosen)
    assert partly.removed == (segments[0].path,)
    assert partly.stopped_at == segments[1].path
    reading.close()
    rest = prune(
        directory,
        plan(
            JournalReader(directory).segments(),
            RetainPolicy(max_bytes=1),
            latest_snapshot_seq(directory),
            0,
        ),
    )
    assert rest.stopped_at is None
    assert len(rest.removed) == len(chosen.remove) - 1


def _journal_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journal.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_prune_command_dry_run_archive_and_bad_input(tmp_path: Path, events: list[Event]) -> None:
    directory, archive = tmp_path / "j", tmp_path / "archive"
    _write(directory, events)
    before = sorted(p.name for p in directory.glob("*.seg"))
    dry = _journal_cli("prune", str(directory), "--retain-bytes", "1M", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    # 1 MiB keeps this small journal whole: within the limits.
    assert "nothing to prune" in dry.stdout
    assert "within the retention limits" in dry.stdout
    dry = _journal_cli("prune", str(directory), "--retain-days", "0.000001", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout
    assert "latest snapshot covers seq" in dry.stdout
    assert sorted(p.name for p in directory.glob("*.seg")) == before, "a dry run changes nothing"
    done = _journal_cli(
        "prune", str(directory), "--retain-days", "0.000001", "--archive", str(archive)
    )
    assert done.returncode == 0, done.stderr
    moved = sorted(p.name for p in archive.glob("*.seg"))
    assert moved
    assert moved == before[: len(moved)]
    assert sorted(p.name for p in directory.glob("*.seg")) == before[len(moved) :]
    verify = _journal_cli("verify", str(directory))
    assert verify.returncode == 0, verify.stderr
    for bad, message in [
        (["prune", str(tmp_path / "missing"), "--retain-days", "1"], "does not exist"),
        (["prune", str(directory)], "give --retain-days and/or --retain-bytes"),
        (["prune", str(directory), "--retain-days", "-1"], "must be positive"),
    ]:
        out = _journal_cli(*bad)
        assert out.returncode == 2, (bad, out.stdout, out.stderr)
        assert message in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    size = _journal_cli("prune", str(directory), "--retain-bytes", "12X")
    assert size.returncode == 2
    assert "is not a size" in size.stderr
