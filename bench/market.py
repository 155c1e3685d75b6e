"""Market fold speed: journal bytes -> L2 books -> eight features in the compiled kernel,
beside hftbacktest replaying the same stream with no orders, in the same run.

Measurements (JSON lines via ``bench._common.emit``):

1. ``market_fold_events_per_s``: ``MarketKernel.fold_blocks`` over ``JournalBlocks`` of a
   journal on disk (page cache warm): block reads, every frame's length and CRC-32C checked,
   every record decoded, every book folded and every row of eight features (plus the top-5
   book) written, for all symbols. The stream is ``bench.backtest``'s long Bybit-shaped one
   (the real XRPUSDT snapshot continued by seeded deltas and trades). Reference: hftbacktest
   (Rust core) replaying the same stream converted to its event array (as ``bench.backtest``
   converts it), with a numba loop that elapses 20 ms of event time per step (one delta)
   and reads the best bid and ask, and places no order. Compilation is not timed for either.
2. ``market_fold_six_symbols_events_per_s``: six symbols interleaved (the daemon's layout).
3. ``market_fold_peak_rss_mib``: peak RSS of a fresh process folding the journal of the
   stream and of one four times longer: flat means memory does not grow with the journal.
4. ``kernel_start_s``: a fresh process importing the kernel and folding one record, with an
   empty numba cache (compiles: the first start after an install) and with that cache warm.

Run: ``python -m bench.market``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from bench._common import emit, peak_rss_mib
from bench.backtest import DELTAS, _stream, run_hftbacktest, six_symbols, to_hftbacktest
from journal.events import Event
from journal.writer import JournalWriter

REPEATS = 7
REPO = Path(__file__).resolve().parents[1]


def write_journal(path: Path, events: list[Event]) -> None:
    with JournalWriter.open(path, fsync=False) as journal:
        for e in events:
            journal.append(msgspec.structs.replace(e))


def fold(path: Path) -> int:
    """Fold a journal in the kernel; the number of rows it wrote."""
    from asnd.core.kernel import MarketKernel
    from journal.blocks import JournalBlocks

    rows = 0

    def count(ints: Any, _values: Any) -> None:
        nonlocal rows
        rows += len(ints)

    MarketKernel(sink=count).fold_blocks(JournalBlocks(path).blocks())
    return rows


def _replayer() -> Any:
    from numba import njit

    @njit
    def replay(hbt: Any) -> int:
        steps = 0
        while hbt.elapse(20_000_000) == 0:
            depth = hbt.depth(0)
            if depth.best_bid > 0 and depth.best_ask > depth.best_bid:
                steps += 1
        return steps

    return replay


def _child(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.market", *argv],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=1800,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _own_peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: reset by exec, unlike getrusage's ru_maxrss, which a
    child inherits from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mib()


def child_fold(path: str) -> None:
    t0 = time.perf_counter()
    rows = fold(Path(path))
    print(json.dumps({"rows": rows, "s": time.perf_counter() - t0, "rss": _own_peak_rss_mib()}))


def child_start() -> None:
    t0 = time.perf_counter()
    from asnd.core.kernel import MarketKernel
    from journal.codec import encode
    from journal.events import Trade

    MarketKernel().fold_payloads([encode(Trade(0, 1, "X", "t", 1, 10, 1, 0))])
    print(json.dumps({"s": time.perf_counter() - t0}))


def main() -> None:
    t_start = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="asn-bench-market-"))
    _info, stream = _stream(DELTAS)
    write_journal(workdir / "one", stream)
    fold(workdir / "one")  # compiles here (or loads the cache), untimed
    replay = _replayer()
    _winfo, warm = _stream(500)
    run_hftbacktest(to_hftbacktest(warm), replay)  # numba compiles here, untimed
    data = to_hftbacktest(stream)

    _infos, mixed = six_symbols(DELTAS // 6)
    write_journal(workdir / "six", mixed)
    # Interleaved, best of each: the machine's noise hits all three alike. hftbacktest's
    # time is its own elapse loop (run_hftbacktest times that part, not building its asset).
    ours = six = theirs = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fold(workdir / "one")
        ours = min(ours, time.perf_counter() - t0)
        theirs = min(theirs, run_hftbacktest(data, replay)[0])
        t0 = time.perf_counter()
        fold(workdir / "six")
        six = min(six, time.perf_counter() - t0)
    rate, ref = len(stream) / ours, len(stream) / theirs
    emit(
        "market",
        "market_fold_events_per_s",
        value=round(rate),
        unit="events/s",
        what="journal bytes -> book -> eight features (+ top-5 rows), CRC checked, all symbols",
        reference="hftbacktest 2.x replaying the same stream, no orders, best bid/ask every 20 ms",
        reference_value=round(ref),
        ratio=round(rate / ref, 2),
        events=len(stream),
        rows=fold(workdir / "one"),
        reference_rows=len(data),
    )
    emit(
        "market",
        "market_fold_six_symbols_events_per_s",
        value=round(len(mixed) / six),
        unit="events/s",
        what="six symbols interleaved, one book and feature state each",
        reference="hftbacktest, as above (one symbol)",
        reference_value=round(ref),
        ratio=round(len(mixed) / six / ref, 2),
        events=len(mixed),
    )
    _info4, long_stream = _stream(4 * DELTAS)
    write_journal(workdir / "four", long_stream)
    one = _child(["--fold", str(workdir / "one")])
    four = _child(["--fold", str(workdir / "four")])
    journal_bytes = sum(p.stat().st_size for p in (workdir / "four").iterdir())
    emit(
        "market",
        "market_fold_peak_rss_mib",
        value=round(four["rss"], 1),
        unit="MiB",
        what="peak RSS of a fresh process folding the 4x journal; value_1x for the 1x one",
        value_1x=round(one["rss"], 1),
        events_1x=len(stream),
        events_4x=len(long_stream),
        journal_mib_4x=round(journal_bytes / 2**20, 1),
    )
    cache = {"NUMBA_CACHE_DIR": str(workdir / "numba-cache")}
    cold = _child(["--start"], cache)
    warm_start = _child(["--start"], cache)
    emit(
        "market",
        "kernel_start_s",
        value=round(warm_start["s"], 2),
        unit="s",
        what="fresh process: import the kernel and fold one record, numba cache warm",
        cold_s=round(cold["s"], 2),
        cold_what="the same with an empty NUMBA_CACHE_DIR (compiles every kernel)",
    )
    shutil.rmtree(workdir)
    emit("market", "bench_wall_s", value=round(time.perf_counter() - t_start, 1), unit="s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fold":
        child_fold(sys.argv[2])
    elif sys.argv[1:] == ["--start"]:
        child_start()
    else:
        main()
