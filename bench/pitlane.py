"""Shadow challengers' cost: the core fold with and without the pit lane.

The real Bybit XRPUSDT archive repeated (each repetition shifted in time so event time runs
forward and windows close), six slots running the default champions (``bench.models``).
Challengers on slot 0 are the other champions' documents under new ids; each one is a
shadow (a one-slot backtest) plus, once per slot, the champion's twin.

Measurements (JSON lines, best of 3): ``core_with_challengers_events_per_s`` for 1 and 5
challengers, against the reference ``core_events_per_s`` (the same fold, no pit lane), both
driven the way the core actor drives them (``tests/core/test_pitlane.Core``'s order).
"""

from __future__ import annotations

import sys
from collections import deque

import msgspec

from asnd.core.pitlane import PitLane
from asnd.core.portfolio import DaemonState
from asnd.core.promotion import PromotionRule
from bench._common import best_of, emit
from bench.models import ARCHIVES, REPO, SYMBOLS, config, setup_events
from journal.bybit_archive import read_archive
from journal.events import ChallengerLoaded, Event

BENCH = "pitlane"
REPEATS = 200
RULE = PromotionRule(min_windows=10**6, window_s=1, alpha=0.05)  # score, never promote


def run(events: list[Event], pit: PitLane | None) -> None:
    """Fold every input and its decisions into both folds, FIFO (the core actor's order)."""
    state = DaemonState(config())
    for event in events:
        queue: deque[Event] = deque([event])
        while queue:
            item = queue.popleft()
            queue.extend(state.apply(item))
            if pit is not None:
                queue.extend(pit.apply(item, state))


def challengers(n: int) -> list[Event]:
    out: list[Event] = []
    for i in range(1, n + 1):
        text = (REPO / "etc" / "strategies" / f"champion_{SYMBOLS[i]}.json").read_text()
        doc = msgspec.json.decode(text)
        doc["id"] = f"challenger-{i}"
        out.append(
            ChallengerLoaded(0, 0, 0, doc["id"], "", "bench", msgspec.json.encode(doc).decode())
        )
    return out


def main() -> None:
    archive = next((p for p in ARCHIVES if p.is_file()), None)
    if archive is None:
        print(f"real archive not found at {ARCHIVES[0]}; nothing to measure", file=sys.stderr)
        return
    events = list(read_archive(archive))
    info, market = events[0], events[1:]
    span = market[-1].ts_local_ns - market[0].ts_local_ns + 1_000_000_000
    stream = [
        msgspec.structs.replace(e, ts_local_ns=e.ts_local_ns + r * span)
        for r in range(REPEATS)
        for e in market
    ]
    setup = [info, *setup_events(), stream[0]]  # the first snapshot before challengers load
    plain = [*setup, *stream[1:]]
    with_one = [*setup, *challengers(1), *stream[1:]]
    with_five = [*setup, *challengers(5), *stream[1:]]
    n = len(stream)
    t_plain, t_one, t_five = best_of(
        3,
        lambda: run(plain, None),
        lambda: run(with_one, PitLane(RULE, "inherit")),
        lambda: run(with_five, PitLane(RULE, "inherit")),
    )
    for count, seconds in ((1, t_one), (5, t_five)):
        emit(
            BENCH,
            "core_with_challengers_events_per_s",
            value=round(n / seconds),
            unit="events/s",
            reference="core_events_per_s",
            reference_value=round(n / t_plain),
            ratio=round(t_plain / seconds, 3),
            challengers=count,
            events=n,
        )


if __name__ == "__main__":
    main()
