"""The pit crew on a real directory: what it journals for good, bad and changing files."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

import pytest
import trio

from asnd.actors.pitcrew import PitCrew
from evolution.export import challenger_name
from journal.events import ChallengerLoaded, ChallengerRejected, Event

REPO = Path(__file__).resolve().parents[2]
CHAMPION = (REPO / "etc" / "strategies" / "champion_btcusdt.json").read_text()


def variant(strategy_id: str, **changes: object) -> str:
    doc = json.loads(CHAMPION)
    doc["id"] = strategy_id
    doc.update(changes)
    return json.dumps(doc)


class Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrived = trio.Event()

    async def submit(self, event: Event) -> None:
        self.events.append(event)
        self.arrived.set()
        self.arrived = trio.Event()

    async def next_about(self, name: str) -> Event:
        with trio.fail_after(20):
            while True:
                for event in self.events:
                    judged = isinstance(event, ChallengerLoaded | ChallengerRejected)
                    if judged and event.source.endswith(name):  # type: ignore[attr-defined]
                        self.events.remove(event)
                        return event
                await self.arrived.wait()


def files_in(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def crew(directory: Path, collector: Collector, limit: int = 4096) -> PitCrew:
    return PitCrew(directory, limit, collector.submit, lambda: 7)


async def test_the_start_scan_judges_every_challenger_file(tmp_path: Path) -> None:
    files = {
        challenger_name(0, "good"): variant("good"),
        challenger_name(1, "broken"): '{"format": "asn-strategy", ',
        challenger_name(0, "huge"): variant("huge") + " " * 5000,
        challenger_name(0, "alien"): variant("alien", features=["imbalance", "telepathy"]),
        "strategy_challenger_x_noslot.json": variant("noslot"),
        "notes.txt": "not a challenger",
        ".tmp-abc.json": "{",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    collector = Collector()
    await crew(tmp_path, collector).scan(sorted(files_in(tmp_path)))
    by_name = {Path(e.source).name: e for e in collector.events}  # type: ignore[attr-defined]
    assert set(by_name) == {challenger_name(0, n) for n in ("good", "huge", "alien")} | {
        challenger_name(1, "broken")
    }, "files not named strategy_challenger_<slot>_*.json are not the pit crew's"
    good = by_name[challenger_name(0, "good")]
    assert isinstance(good, ChallengerLoaded)
    expected = files[Path(good.source).name]
    assert (good.slot, good.strategy_id, good.document) == (0, "good", expected)
    reasons = {name: e.reason for name, e in by_name.items() if isinstance(e, ChallengerRejected)}
    assert "invalid strategy" in reasons[challenger_name(1, "broken")]
    assert "the limit is 4096" in reasons[challenger_name(0, "huge")]
    assert "telepathy" in reasons[challenger_name(0, "alien")]


async def test_an_unchanged_file_is_journaled_once(tmp_path: Path) -> None:
    path = tmp_path / challenger_name(0, "good")
    path.write_text(variant("good"))
    collector = Collector()
    pit = crew(tmp_path, collector)
    await pit.scan([path])
    await pit.scan([path])
    assert len(collector.events) == 1
    path.write_text(variant("good", params={"entry_long": 0.6, "entry_short": -0.6}))
    await pit.scan([path])
    assert len(collector.events) == 2, "a changed file is judged again"


async def test_watching_a_partial_copy_rejects_then_loads_it(tmp_path: Path) -> None:
    collector = Collector()
    async with trio.open_nursery() as nursery:
        await nursery.start(crew(tmp_path, collector).run)
        name = challenger_name(2, "copied")
        text = variant("copied")
        path = tmp_path / name
        # An operator's cp, seen half-way: the partial file is rejected with its reason...
        with path.open("w") as f:
            f.write(text[: len(text) // 2])
        first = await collector.next_about(name)
        assert isinstance(first, ChallengerRejected)
        assert "invalid strategy" in first.reason
        # ...and the complete file is loaded when it changes again.
        with path.open("a") as f:
            f.write(text[len(text) // 2 :])
        second = await collector.next_about(name)
        assert isinstance(second, ChallengerLoaded)
        assert (second.slot, second.strategy_id) == (2, "copied")
        # An atomic write (evolution's rename) is seen whole.
        tmp = tmp_path / ".tmp-x.json"
        tmp.write_text(variant("renamed"))
        os.replace(tmp, tmp_path / challenger_name(0, "renamed"))
        third = await collector.next_about(challenger_name(0, "renamed"))
        assert isinstance(third, ChallengerLoaded)
        nursery.cancel_scope.cancel()


async def scan_unless_blocked(pit: PitCrew, paths: list[Path], fifos: list[Path]) -> None:
    """``pit.scan(paths)``, failing (not hanging) if it blocks opening one of ``fifos``.

    A thread blocked in ``open()`` cannot be cancelled, so on timeout the test opens each
    FIFO's writing end, which lets the stuck reader go, then fails.
    """
    finished = trio.Event()

    async def scan() -> None:
        await pit.scan(paths)
        finished.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(scan)
        with trio.move_on_after(20) as waiting:
            await finished.wait()
        if waiting.cancelled_caught:
            for fifo in fifos:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            raise AssertionError("the pit crew blocked opening a FIFO")


async def test_only_regular_files_are_judged_and_later_files_still_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: a FIFO named like a challenger blocked the pit crew's ``open()`` for good."""
    fifo = tmp_path / challenger_name(2, "a_fifo")
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound by a relative name: a Unix socket path is limited to 107 bytes, and pytest-xdist's
    # per-worker tmp_path (.../popen-gw1/...) made the absolute one too long.
    monkeypatch.chdir(tmp_path)
    try:
        sock.bind(challenger_name(2, "b_socket"))
    except BaseException:
        sock.close()
        raise
    (tmp_path / challenger_name(2, "c_directory")).mkdir()
    os.symlink(fifo, tmp_path / challenger_name(2, "d_link_to_fifo"))
    os.symlink("/dev/zero", tmp_path / challenger_name(2, "e_link_to_device"))
    regular = tmp_path / "kept" / "source.json"
    regular.parent.mkdir()
    regular.write_text(variant("linked"))
    os.symlink(regular, tmp_path / challenger_name(2, "f_link_to_file"))
    os.symlink(tmp_path / "absent", tmp_path / challenger_name(2, "f_link_to_nothing"))
    (tmp_path / challenger_name(3, "g_later")).write_text(variant("later"))
    collector = Collector()
    try:
        paths = sorted(files_in(tmp_path))
        await scan_unless_blocked(crew(tmp_path, collector), paths, [fifo])
    finally:
        sock.close()
    by_name = {Path(e.source).name: e for e in collector.events}  # type: ignore[attr-defined]
    reasons = {name: e.reason for name, e in by_name.items() if isinstance(e, ChallengerRejected)}
    assert reasons == {
        challenger_name(2, "a_fifo"): "not a regular file: a FIFO",
        challenger_name(2, "b_socket"): "not a regular file: a socket",
        challenger_name(2, "c_directory"): "not a regular file: a directory",
        challenger_name(2, "d_link_to_fifo"): "not a regular file: a symlink to a FIFO",
        challenger_name(2, "e_link_to_device"): (
            "not a regular file: a symlink to a character device"
        ),
        challenger_name(2, "f_link_to_nothing"): "not a regular file: a symlink to nothing",
    }
    linked = by_name[challenger_name(2, "f_link_to_file")]
    assert isinstance(linked, ChallengerLoaded)
    assert (linked.slot, linked.strategy_id) == (2, "linked")
    later = by_name[challenger_name(3, "g_later")]
    assert isinstance(later, ChallengerLoaded)
    assert later.strategy_id == "later"


async def test_a_fifo_dropped_into_the_watched_directory_is_rejected(tmp_path: Path) -> None:
    collector = Collector()
    async with trio.open_nursery() as nursery:
        await nursery.start(crew(tmp_path, collector).run)
        fifo = tmp_path / challenger_name(2, "x")
        os.mkfifo(fifo)
        try:
            rejected = await collector.next_about(fifo.name)
        finally:
            # Should a reader be stuck in open() (the bug), let it go so the test can end.
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        assert isinstance(rejected, ChallengerRejected)
        assert rejected.reason == "not a regular file: a FIFO"
        (tmp_path / challenger_name(0, "after")).write_text(variant("after"))
        loaded = await collector.next_about(challenger_name(0, "after"))
        assert isinstance(loaded, ChallengerLoaded)
        nursery.cancel_scope.cancel()


async def test_a_cancelled_pit_crew_stops_at_its_next_wake(tmp_path: Path) -> None:
    """The daemon's shutdown cancels the pit crew; its watch thread cannot be interrupted
    and used to hold the shutdown for watchfiles' 5 s timeout. Measured on the trio clock:
    the wait is one wake (``WAKE_MS``) plus scheduling, far below the old 5 s."""
    collector = Collector()
    async with trio.open_nursery() as nursery:
        await nursery.start(crew(tmp_path, collector).run)
        await trio.sleep(0.3)  # the watch thread is inside its wait now
        cancelled_at = trio.current_time()
        nursery.cancel_scope.cancel()
    assert trio.current_time() - cancelled_at < 2.5
