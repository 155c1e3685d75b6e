"""``asn-journal import-binance`` throughput on the real Binance feeds (``shared/data/binance``).

Per recording: the survey pass (tick/lot inference, every line decoded), the replay pass
(journal events, no writing) and the whole import into a journal (both passes, writing,
fsync), as feed lines/s and journal events/s, beside ``gzip`` reading the same files' lines
in the same run (the floor any importer of these files pays).

Run: ``.venv/bin/python -m bench.binance_import [--repeats N]``; prints JSON lines.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import tempfile
from pathlib import Path

from bench._common import best_of, emit
from journal.binance_feed import read_feeds, survey
from journal.writer import JournalWriter

BENCH = "binance_import"
_REPO = Path(__file__).resolve().parents[1]


def _data() -> Path:
    """``$ASN_SHARED_DATA/binance``, or ``shared/data/binance`` beside the checkout (or beside
    the folder of git worktrees)."""
    env = os.environ.get("ASN_SHARED_DATA")
    for root in (Path(env) if env else None, _REPO.parent, _REPO.parent.parent):
        if root is not None:
            path = (root if env else root / "shared" / "data") / "binance"
            if path.is_dir():
                return path
    return _REPO.parent / "shared" / "data" / "binance"


RECORDINGS = {
    "usdm": ("usdm/btcusdt_20240808.gz",),
    "spot": ("spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"),
    "cm": ("cm/btcusd_perp_20240808.gz", "cm/btcusd_perp_20240809.gz"),
}


def _bench(name: str, files: list[Path], repeats: int) -> None:
    lines = 0
    for f in files:
        with gzip.open(f) as g:
            lines += sum(1 for _ in g)
    events = sum(1 for _ in read_feeds(files))
    out = Path(tempfile.mkdtemp(prefix="bench-binance-"))

    def gunzip() -> None:
        for f in files:
            with gzip.open(f) as g:
                for _ in g:
                    pass

    def surveyed() -> None:
        survey(files)

    def replay() -> None:
        found = survey(files)
        for _ in read_feeds(files, surveyed=found):
            pass

    def whole() -> None:
        shutil.rmtree(out / "j", ignore_errors=True)
        with JournalWriter.open(out / "j", fsync=False) as writer:
            for event in read_feeds(files):
                writer.append(event)
            writer.fsync = True
            writer.commit()

    try:
        t_gzip, t_survey, t_both, t_whole = best_of(repeats, gunzip, surveyed, replay, whole)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    emit(BENCH, f"{name}_gzip_lines_per_s", value=round(lines / t_gzip), lines=lines)
    emit(BENCH, f"{name}_survey_lines_per_s", value=round(lines / t_survey), lines=lines)
    emit(BENCH, f"{name}_replay_events_per_s", value=round(events / (t_both - t_survey)),
         events=events)  # fmt: skip
    emit(BENCH, f"{name}_import_events_per_s", value=round(events / t_whole), events=events,
         seconds=round(t_whole, 3), ratio_to_gzip=round(t_whole / t_gzip, 2))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name, members in RECORDINGS.items():
        files = [_data() / m for m in members]
        if all(f.is_file() for f in files):
            _bench(name, files, args.repeats)
        else:
            emit(BENCH, name, skipped=f"{files[0].parent} not found")


if __name__ == "__main__":
    main()
