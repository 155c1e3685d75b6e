"""The core actor: the one place where events are journaled and folded into the state.

Every input (market data, venue answers, operator commands, timers) arrives on one bounded
inbox. For each, in the order ``asnd.core.drive.Loop`` defines (so that replaying the
journal reproduces every decision):

1. the input is appended to the journal (market data rides the next group commit),
2. ``DaemonState.apply`` folds it in and returns decisions,
3. each decision is appended and applied in turn, first in first out.

An approved ``RiskVerdict`` is appended *durably* (it and the intent before it are on disk)
and only then is the intent handed to the executor: the venue never sees an order that the
journal could forget. The core is one sequential task on purpose: a single fold is what makes
live and replay decide the same; the six models, the books and the watchtower are parts of
that fold, not separate tasks racing each other.

The pit lane (``asnd.core.pitlane``: shadow challengers, promotions), when given, is a
second fold applied to every journaled event right after ``DaemonState``; its decisions are
journaled after the state's.

Periodically (every ``snapshot_every`` events) the state is journaled as a ``StateSnapshot``
so that a restart replays only what came after it.

Every event is logged as it is journaled (``asnd.event_log``: halts, kills, fills...), here in
the shell, so the fold itself never logs.

``on_folded``, when given, is told after each input what was journaled (the input, its
decisions) and how long that took (ns): the metrics' hook (``asnd.metrics.shell``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import trio

from asnd.core.pitlane import PitLane
from asnd.core.portfolio import DaemonState
from asnd.event_log import log_event
from journal.events import CancelIntent, Event, OrderIntent, RiskVerdict, StateSnapshot
from journal.service import JournalService

__all__ = ["INBOX_SIZE", "Build", "CoreActor", "Submission"]

#: Inputs waiting for the core. Bounded: a core that cannot keep up slows the feed down
#: (backpressure) instead of growing memory; the book then goes stale and trading stops.
INBOX_SIZE: Final = 4096
#: Approved orders waiting for the executor (which takes them at once into per-slot queues).
ORDERS_SIZE: Final = 256

Order = OrderIntent | CancelIntent
#: Inputs made from the state when their turn in the inbox comes (``CoreActor.submit_built``).
Build = Callable[[DaemonState], Sequence[Event]]


@dataclass(slots=True)
class Submission:
    """Inputs to journal and apply together (or the ``Build`` that makes them at their turn);
    ``done`` is set once they (and their decisions) are applied, and ``decisions`` then holds
    what they led to."""

    events: Sequence[Event] | Build
    done: trio.Event | None = None
    decisions: list[Event] = field(default_factory=list)


class CoreActor:
    def __init__(
        self,
        state: DaemonState,
        journal: JournalService,
        *,
        snapshot_every: int,
        clock_ns: Callable[[], int] = time.time_ns,
        observe: Callable[[Event], None] | None = None,
        pit: PitLane | None = None,
        on_folded: Callable[[Event, list[Event], int], None] | None = None,
    ) -> None:
        self.state = state
        self.journal = journal
        self.snapshot_every = snapshot_every
        self._clock_ns = clock_ns
        self._observe = observe
        self.pit = pit
        self._on_folded = on_folded
        # A venue streams plain events into the inbox (``emit``); the control desk and the
        # executor use ``submit`` when they need to know their inputs were applied.
        self.inbox, self._inbox = trio.open_memory_channel[Event | Submission](INBOX_SIZE)
        self._orders_out, self.orders = trio.open_memory_channel[Order](ORDERS_SIZE)
        self._pending: dict[int, Order] = {}  # intent seq -> intent awaiting its verdict
        self._since_snapshot = 0
        self.last_snapshot_as_of: int | None = None
        self.applied = 0
        self._progress = trio.Event()

    # ----------------------------------------------------------------------------- inputs

    @property
    def emit(self) -> trio.MemorySendChannel[Event | Submission]:
        """The inbox, for a venue's ``run(emit)`` (clone it per producer)."""
        return self.inbox

    async def submit(self, *events: Event, wait: bool = False) -> list[Event]:
        """Queue inputs; with ``wait``, return the decisions once they are applied."""
        if not wait:
            await self.inbox.send(Submission(events))
            return []
        done = trio.Event()
        submission = Submission(events, done)
        await self.inbox.send(submission)
        await done.wait()
        return submission.decisions

    async def submit_built(self, build: Build) -> list[Event]:
        """Apply the inputs ``build`` makes from the state at their turn in the inbox, and
        return their decisions. For inputs that depend on what the core holds (shutdown's
        cancels of the open orders): made before, they would be decided on a state that the
        events queued ahead of them (a fill, a cancel's answer ending an order) will change."""
        done = trio.Event()
        submission = Submission(build, done)
        await self.inbox.send(submission)
        await done.wait()
        return submission.decisions

    # ------------------------------------------------------------------------------ loop

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for item in self._inbox:
            if isinstance(item, Submission):
                events = item.events(self.state) if callable(item.events) else item.events
                for event in events:
                    item.decisions.extend(await self.feed(event))
                if item.done is not None:
                    item.done.set()
            else:
                await self.feed(item)

    async def feed(self, event: Event) -> list[Event]:
        """Journal and apply one input and every decision that follows (see module doc)."""
        journal = self.journal
        started = time.perf_counter_ns()
        stamped = await journal.append(event)
        log_event(stamped)
        if self._observe is not None:
            self._observe(stamped)
        await self._route(stamped)  # an intent can be an input too (shutdown's cancels)
        queue: deque[Event] = deque(self._apply(stamped))
        made: list[Event] = []
        while queue:
            decision = queue.popleft()
            if isinstance(decision, RiskVerdict) and decision.approved:
                decision = await journal.append_durable(decision)
            else:
                decision = await journal.append(decision)
            log_event(decision)
            made.append(decision)
            queue.extend(self._apply(decision))
            await self._route(decision)
        self.applied += 1 + len(made)
        if self._on_folded is not None:
            self._on_folded(stamped, made, time.perf_counter_ns() - started)
        self._progress.set()
        self._progress = trio.Event()
        self._since_snapshot += 1 + len(made)
        if self._since_snapshot >= self.snapshot_every:
            await self.snapshot()
        return made

    def _apply(self, event: Event) -> list[Event]:
        """Both folds, the daemon's decisions first (``asnd.core.pitlane``)."""
        decisions = self.state.apply(event)
        if self.pit is not None:
            decisions.extend(self.pit.apply(event, self.state))
        return decisions

    async def progress(self) -> None:
        """Return after the next input (and its decisions) has been applied."""
        await self._progress.wait()

    async def _route(self, decision: Event) -> None:
        if isinstance(decision, OrderIntent | CancelIntent):
            self._pending[decision.seq] = decision
        elif isinstance(decision, RiskVerdict):
            order = self._pending.pop(decision.intent_seq, None)
            if order is not None and decision.approved:
                await self._orders_out.send(order)

    async def snapshot(self) -> Event:
        """Journal the state as of now (durably: restart time depends on it)."""
        self._since_snapshot = 0
        event = await self.journal.append_durable(self.state.snapshot_event(self._clock_ns()))
        assert isinstance(event, StateSnapshot)
        self.last_snapshot_as_of = event.as_of_seq  # journal retention keeps what follows it
        return event
