"""Rebuilding the daemon's state from its journal (restart after a crash or a stop).

The state is a fold over the journal, so recovery is: find the latest ``StateSnapshot``,
restore it, and apply every event after it, discarding what ``apply`` returns (those
decisions are already in the journal right after their causes). Without a usable snapshot
the whole journal is replayed: slower, never wrong. Restart time is therefore bounded by
``[journal] snapshot_every_events``, not by the age of the journal.

Finding the snapshot costs one pass that decodes only snapshots (other records are skipped by
their kind byte), then the replay reads from the snapshot on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from asnd.core.drive import recover
from asnd.core.portfolio import CoreConfig, DaemonState, SnapshotError
from journal.errors import JournalError
from journal.events import Event, StateSnapshot
from journal.reader import JournalReader
from journal.segment import FIRST_SEQ

__all__ = ["Restored", "restore_state"]

_log = structlog.get_logger("asnd.recovery")


@dataclass(frozen=True, slots=True)
class Restored:
    state: DaemonState
    snapshot_seq: int | None  # seq of the snapshot used, None for a full replay
    replayed: int  # seqs the replay after the snapshot covered
    #: ``ts_local_ns`` of the journal's last event (0 for an empty journal): about when the
    #: previous run stopped writing (a start-up catch-up of fills begins a margin before it)
    last_ts_ns: int = 0


def restore_state(config: CoreConfig, directory: Path) -> Restored:
    reader = JournalReader(directory)
    latest: StateSnapshot | None = None
    for event in reader.events(kinds=[StateSnapshot]):
        assert isinstance(event, StateSnapshot)
        latest = event
    start = 0 if latest is None else latest.as_of_seq + 1
    last_ts = [0 if latest is None else latest.ts_local_ns]

    def noting_time(events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            last_ts[0] = event.ts_local_ns
            yield event

    if latest is None:
        _refuse_if_pruned(reader, "it has no state snapshot")
    try:
        state = recover(config, latest, noting_time(reader.events(from_seq=start)))
    except SnapshotError as exc:
        _refuse_if_pruned(reader, f"its latest state snapshot is unusable ({exc})")
        _log.warning("state snapshot unusable, replaying the whole journal", error=str(exc))
        latest, start = None, 0
        state = recover(config, None, noting_time(reader.events()))
    if reader.torn_tail is not None:  # the writer truncates it on open; say so if it did not
        _log.warning("journal has a torn tail", detail=str(reader.torn_tail))
    replayed = state.last_seq - start + 1 if state.last_seq >= max(start, 1) else 0
    return Restored(state, None if latest is None else latest.seq, replayed, last_ts[0])


def _refuse_if_pruned(reader: JournalReader, why: str) -> None:
    """A full replay of a journal whose first segments were pruned would fold half a history
    into a wrong state; refuse with what to do instead."""
    segments = reader.segments()
    if segments and segments[0].header.first_seq > FIRST_SEQ:
        first = segments[0].header.first_seq
        raise JournalError(
            f"journal {reader.directory} cannot be recovered: {why}, and it starts at seq "
            f"{first} (older segments were pruned by [journal] retain), so it cannot be "
            "replayed from the start. Move the archived segments back into it, or start "
            "with a new journal directory."
        )
