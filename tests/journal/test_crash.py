"""Real processes: a writer killed with SIGKILL loses nothing it acknowledged; a follower sees
what another process appends; a disk that fills surfaces as an error and loses nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from contextlib import aclosing
from functools import partial
from pathlib import Path

import trio

from journal.reader import JournalReader, follow_async
from journal.writer import JournalWriter

CHILD = Path(__file__).with_name("writer_proc.py")
REPO = Path(__file__).resolve().parents[2]


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, text=True, env=env
    )


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    journal = tmp_path / "j"
    acknowledged = 0
    for _round in range(5):
        child = _spawn(str(journal), "durable", "100000", "20000")
        assert child.stdout is not None
        kill_after = rng.randrange(1, 400)
        for _ in range(kill_after):
            line = child.stdout.readline()
            assert line, "writer exited early"
            seq = int(line)
            assert seq == acknowledged + 1, "acknowledged seqs are gap-free"
            acknowledged = seq
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        with JournalWriter.open(journal) as w:  # recovers whatever the kill tore
            assert w.next_seq > acknowledged
        seqs = [e.seq for e in JournalReader(journal).events()]
        assert seqs == list(range(1, len(seqs) + 1)), "in order, no gap"
        assert len(seqs) >= acknowledged, "every acknowledged event survived"
        acknowledged = len(seqs)


async def test_follow_sees_events_another_process_appends(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    journal.mkdir()  # the follower waits for the writer's first segment
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    count = 3000
    seen: list[int] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            # Small segments so the follower must switch segments while the writer rotates.
            command = [sys.executable, str(CHILD), str(journal), "stream", str(count), "8192"]
            nursery.start_soon(partial(trio.run_process, command, env=env))
            async with aclosing(follow_async(journal, poll_s=0.001)) as events:
                async for event in events:
                    seen.append(event.seq)
                    if len(seen) == count:
                        break
    assert seen == list(range(1, count + 1))
    assert len(list(journal.glob("*.seg"))) > 3


def test_disk_full_surfaces_and_loses_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    child = _spawn(str(journal), "fsize", "100000")
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 3
    lines = out.splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1
    assert "write failed" in errors[0]
    assert "trading must halt" in errors[0]
    assert lines[-1].startswith("refused:"), "a failed writer refuses further appends"
    acknowledged = [int(ln) for ln in lines if ln.isdigit()]
    with JournalWriter.open(journal):
        pass
    seqs = [e.seq for e in JournalReader(journal).events()]
    assert seqs[: len(acknowledged)] == acknowledged
    assert seqs == list(range(1, len(seqs) + 1))
