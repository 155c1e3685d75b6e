"""The supervisor restarts crashed actors with backoff, journals crashes, halts on repeats.

Time is trio's autojump clock: backoffs of seconds take no wall time and are exact.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from asnd.actors.supervisor import ActorSpec, Supervisor
from asnd.config import SupervisorSettings
from journal.events import ActorCrashed, Event, TradingHalted

SETTINGS = SupervisorSettings(
    restart_backoff_initial_ms=100,
    restart_backoff_max_ms=1_000,
    max_crashes=3,
    crash_window_s=60,
)


class Journal:
    """Collects what the supervisor journals; can be made to fail like a dead disk."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.broken = False

    async def append(self, event: Event) -> Event:
        if self.broken:
            raise OSError(28, "No space left on device")
        self.events.append(event)
        return event


class Flaky:
    """An actor that crashes ``failures`` times (after starting), then runs forever."""

    def __init__(self, failures: int, *, returns: bool = False, every_s: float = 0.0) -> None:
        self.failures = failures
        self.returns = returns
        self.every_s = every_s
        self.starts: list[float] = []

    async def __call__(
        self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
    ) -> None:
        self.starts.append(trio.current_time())
        task_status.started()
        if len(self.starts) <= self.failures:
            await trio.sleep(self.every_s)
            if self.returns:
                return
            raise ConnectionError(f"feed dropped #{len(self.starts)}")
        await trio.sleep_forever()


def supervisor(journal: Journal, **kwargs: Any) -> Supervisor:
    return Supervisor(SETTINGS, journal.append, clock_ns=lambda: 42, **kwargs)


def crashes(journal: Journal) -> list[tuple[str, str, int]]:
    return [(e.actor, e.error, e.restarts) for e in journal.events if isinstance(e, ActorCrashed)]


def test_backoff_doubles_up_to_the_maximum() -> None:
    sup = supervisor(Journal())
    assert [sup.backoff_s(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


async def test_crashed_actor_is_restarted_with_backoff_and_journaled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    feed = Flaky(2)
    sup = supervisor(journal)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, [ActorSpec("feed", feed, critical=True)])
        await trio.sleep(10)
        assert sup.healthy()
        nursery.cancel_scope.cancel()
    assert [round(t - feed.starts[0], 6) for t in feed.starts] == [0.0, 0.1, 0.3]
    assert crashes(journal) == [
        ("feed", "ConnectionError: feed dropped #1", 1),
        ("feed", "ConnectionError: feed dropped #2", 2),
    ]
    assert all(e.seq == 0 and e.ts_local_ns == 42 for e in journal.events)
    [status] = sup.status()
    assert (status.state, status.restarts) == ("running", 2)


async def test_repeated_crashes_of_a_critical_actor_halt_trading(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    reasons: list[str] = []

    async def on_halt(reason: str) -> None:
        reasons.append(reason)

    executor, control = Flaky(100), Flaky(0)
    sup = supervisor(journal, on_halt=on_halt)
    async with trio.open_nursery() as nursery:
        await nursery.start(
            sup.run,
            [ActorSpec("executor", executor), ActorSpec("control", control, critical=False)],
        )
        await trio.sleep(30)
        assert not sup.healthy()
        nursery.cancel_scope.cancel()
    assert len(executor.starts) == 3  # not restarted after the halt
    assert len(control.starts) == 1  # the others keep running (asnctl still answers)
    halted = [e for e in journal.events if isinstance(e, TradingHalted)]
    assert len(halted) == 1
    assert halted[0].reason.startswith("critical actor executor crashed 3 times within 60 s")
    assert reasons == [halted[0].reason]
    assert sup.halted_reason == halted[0].reason
    assert [s.state for s in sup.status()] == ["stopped", "running"]


async def test_crashes_spread_wider_than_the_window_do_not_halt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    book = Flaky(6, every_s=40.0)  # one crash every ~40 s; never 3 within 60 s
    sup = supervisor(journal)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, [ActorSpec("book", book)])
        await trio.sleep(400)
        nursery.cancel_scope.cancel()
    assert len(crashes(journal)) == 6
    assert sup.halted_reason is None
    assert sup.healthy()


async def test_non_critical_actor_is_restarted_forever_at_the_maximum_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    pit_crew = Flaky(10)
    sup = supervisor(journal)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, [ActorSpec("pit_crew", pit_crew, critical=False)])
        await trio.sleep(100)
        nursery.cancel_scope.cancel()
    assert len(pit_crew.starts) == 11
    gaps = [round(b - a, 6) for a, b in zip(pit_crew.starts, pit_crew.starts[1:], strict=False)]
    assert gaps == [0.1, 0.2, 0.4, 0.8] + [1.0] * 6
    assert sup.halted_reason is None


async def test_an_actor_that_returns_has_crashed(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = supervisor(journal)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, [ActorSpec("notifier", Flaky(1, returns=True))])
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert crashes(journal) == [
        ("notifier", "ActorReturned: notifier returned; actors must run until cancelled", 1)
    ]


async def test_failure_to_start_is_raised_not_restarted() -> None:
    async def broken(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        raise PermissionError("cannot bind /run/asnd/control.sock")

    journal = Journal()
    expected = pytest.RaisesExc(PermissionError, match="cannot bind")
    with pytest.RaisesGroup(expected, flatten_subgroups=True):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor(journal).run, [ActorSpec("control", broken)])
    assert journal.events == []


async def test_shutdown_is_not_a_crash(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor(journal).run, [ActorSpec("feed", Flaky(0))])
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert journal.events == []


async def test_a_journal_that_cannot_record_a_crash_stops_everything(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    journal.broken = True
    with pytest.RaisesGroup(OSError, flatten_subgroups=True):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor(journal).run, [ActorSpec("feed", Flaky(1))])
            await trio.sleep(10)


async def test_actor_names_must_be_unique() -> None:
    specs = [ActorSpec("model", Flaky(0)), ActorSpec("model", Flaky(0))]
    with pytest.raises(ValueError, match="actor names must be unique"):
        await supervisor(Journal()).run(specs)
