"""Daemon core speed: ``DaemonState`` with six models folding market events.

The stream is the real Bybit archive (a 500-level snapshot and its deltas) repeated: each
repetition starts at its snapshot, so the book is valid throughout. Six slots on XRPUSDT run
the six default champions (``etc/strategies``), alternating join and cross order styles; no
venue answers, so after its first intent a slot keeps one order working and the steady state
is: book + features + six strategy evaluations + six journaled ``Signal`` decisions applied
back, per book event.

Measurements (JSON lines, best of 3):
- ``core_events_per_s``: input events per second through ``Loop.feed`` (decisions included),
  against the reference ``features_events_per_s``: the market kernel alone
  (``MarketKernel.fold_event``, book + 8 features) on the same events.
- ``replay_events_per_s``: recovery speed, journal events (inputs and decisions) per second.
- ``snapshot_ms`` / ``restore_ms`` and ``snapshot_bytes``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from asnd.core.drive import Loop, replay
from asnd.core.kernel import MarketKernel
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig
from bench._common import best_of, emit
from journal.bybit_archive import read_archive
from journal.events import Event, StrategyLoaded

SYMBOLS = ("btcusdt", "ethusdt", "solusdt", "xrpusdt", "dogeusdt", "bnbusdt")
REPO = Path(__file__).resolve().parents[1]
ARCHIVES = [
    REPO.parent / "shared" / "data" / "bybit" / "xrpusdt-ob500.data.zip",
    REPO.parent.parent / "shared" / "data" / "bybit" / "xrpusdt-ob500.data.zip",
]
REPEATS = 400
BENCH = "models"


def config() -> CoreConfig:
    return CoreConfig(
        tuple(
            SlotConfig(
                "XRPUSDT",
                min_qty="10",
                max_qty="200",
                leverage=5,
                order_style="join" if i % 2 == 0 else "cross",
            )
            for i in range(6)
        )
    )


def setup_events() -> list[Event]:
    out: list[Event] = []
    for i in range(6):
        doc = (REPO / "etc" / "strategies" / f"champion_{SYMBOLS[i]}.json").read_text()
        out.append(StrategyLoaded(0, 0, i, f"champion-{i + 1}", "", "bench", doc))
    return out


def main() -> None:
    archive = next((p for p in ARCHIVES if p.is_file()), None)
    if archive is None:
        print(f"real archive not found at {ARCHIVES[0]}; nothing to measure", file=sys.stderr)
        return
    events = list(read_archive(archive))
    info, market = events[0], events[1:]
    stream = market * REPEATS
    setup = [info, *setup_events()]

    loops: list[Loop] = []

    def core() -> None:
        loop = Loop(DaemonState(config()))
        loop.feed_all(setup)
        loop.feed_all(stream)
        loops.append(loop)

    def features_only() -> None:
        kernel = MarketKernel()
        for event in stream:
            kernel.fold_event(event)

    t_core, t_features = best_of(3, core, features_only)
    n = len(stream)
    emit(
        BENCH,
        "core_events_per_s",
        value=round(n / t_core),
        unit="events/s",
        reference="features_events_per_s",
        reference_value=round(n / t_features),
        ratio=round(t_features / t_core, 3),
        events=n,
        slots=6,
        decisions=len(loops[-1].journal) - n - len(setup),
    )
    journal = loops[-1].journal

    def recover() -> None:
        replay(DaemonState(config()), journal)

    (t_replay,) = best_of(3, recover)
    emit(
        BENCH,
        "replay_events_per_s",
        value=round(len(journal) / t_replay),
        unit="events/s",
        reference="core_events_per_s",
        reference_value=round(n / t_core),
        ratio=round((len(journal) / t_replay) / (n / t_core), 3),
        events=len(journal),
    )
    state = loops[-1].state
    t0 = time.perf_counter()
    payload = state.snapshot()
    t_snap = time.perf_counter() - t0
    t0 = time.perf_counter()
    DaemonState.restore(config(), payload)
    t_restore = time.perf_counter() - t0
    emit(BENCH, "snapshot_ms", value=round(t_snap * 1e3, 3), unit="ms", bytes=len(payload))
    emit(
        BENCH,
        "restore_ms",
        value=round(t_restore * 1e3, 3),
        unit="ms",
        reference="replay of the whole journal (ms)",
        reference_value=round(t_replay * 1e3, 1),
        ratio=round(t_replay / t_restore, 1),
    )


if __name__ == "__main__":
    main()
