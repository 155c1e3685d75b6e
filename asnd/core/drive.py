"""Driving a ``DaemonState`` the way the daemon does, with an in-memory journal.

``Loop`` is the reference for the live shell's ordering (and what backtests and tests use):
each input is stamped with the next seq and applied; the decisions it returns are stamped and
applied one by one, first in first out, each one's own decisions queued behind, until none
are left; then the next input. The stamped events, in that order, are the journal.

``replay`` is recovery: apply journaled events (inputs and decisions alike) and discard what
``apply`` returns, because the journal already holds those decisions after their cause.
``recover`` is the whole restart: the latest ``StateSnapshot`` (if any), then the events after
its ``as_of_seq``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import msgspec

from asnd.core.portfolio import CoreConfig, DaemonState
from journal.events import Event, StateSnapshot

__all__ = ["Loop", "recover", "replay"]

_force_setattr = msgspec.structs.force_setattr


class Loop:
    """A ``DaemonState`` with a journal in a list. ``next_seq`` is the seq of the next event."""

    __slots__ = ("journal", "next_seq", "state")

    def __init__(self, state: DaemonState, next_seq: int = 1) -> None:
        self.state = state
        self.next_seq = next_seq
        self.journal: list[Event] = []

    def _stamp(self, event: Event) -> Event:
        stamped = msgspec.structs.replace(event, seq=self.next_seq)
        self.next_seq += 1
        self.journal.append(stamped)
        return stamped

    def feed(self, event: Event) -> list[Event]:
        """Journal and apply one input and every decision that follows; the decisions.

        The input is copied to stamp it (the caller may hold it); a decision is a new event
        that only this loop holds, so it is stamped in place (as the journal writer does)."""
        apply = self.state.apply
        journal = self.journal
        queue: deque[Event] = deque(apply(self._stamp(event)))
        made: list[Event] = []
        while queue:
            decision = queue.popleft()
            _force_setattr(decision, "seq", self.next_seq)
            self.next_seq += 1
            journal.append(decision)
            made.append(decision)
            queue.extend(apply(decision))
        return made

    def feed_all(self, events: Iterable[Event]) -> list[Event]:
        """``feed`` each input in turn; all the decisions, in journal order."""
        made: list[Event] = []
        for event in events:
            made.extend(self.feed(event))
        return made


def replay(state: DaemonState, journal: Iterable[Event]) -> int:
    """Apply journaled events to ``state`` (recovery); returns how many were applied."""
    n = 0
    for event in journal:
        state.apply(event)
        n += 1
    return n


def recover(
    config: CoreConfig, snapshot: StateSnapshot | None, journal: Iterable[Event]
) -> DaemonState:
    """The state after a restart: ``snapshot`` restored (``SnapshotError`` if it cannot be),
    then every event of ``journal`` whose seq is above the snapshot's ``as_of_seq`` applied.
    ``journal`` may start anywhere at or before that point; earlier events are skipped."""
    if snapshot is None:
        state, after = DaemonState(config), 0
    else:
        state, after = DaemonState.restore(config, snapshot.payload), snapshot.as_of_seq
    replay(state, (e for e in journal if e.seq > after))
    return state
