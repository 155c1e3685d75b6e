"""Journals for backtest tests: a seeded synthetic XRPUSDT market written to a real journal."""

from __future__ import annotations

from pathlib import Path

import msgspec

from journal.events import Event
from journal.writer import JournalWriter

from ..core.scenario import synthetic_market

#: 100 ms between events: a 3000-event market spans five minutes of event time.
STEP_NS = 100_000_000


def market(n: int = 3000, seed: int = 5) -> list[Event]:
    return [
        msgspec.structs.replace(e, ts_local_ns=1_700_000_000_000_000_000 + i * STEP_NS)
        for i, e in enumerate(synthetic_market(seed, n))
    ]


def write_journal(directory: Path, events: list[Event]) -> Path:
    with JournalWriter.open(directory, fsync=False) as writer:
        for event in events:
            writer.append(event)
    return directory
