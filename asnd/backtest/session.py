"""One backtest run: journals in, ``Backtest`` (the daemon's fold against L2 replays) in the
middle, the output directory out.

Streaming: market events are read one at a time, and the backtest's own journal is handed to
the ``Recorder`` and dropped after every event, so memory grows only by the report's compact
equity samples (``asnd.backtest.record``), never by the events.
Deterministic: strategies are installed before the first market event with time 0; every
time written comes from the recorded events.

Whole or absent: the outputs are written into a hidden partial directory beside ``out`` and
renamed into place at the end (``journal.staging``), replacing a previous run's outputs, so
a run killed half-way never leaves ``fills.csv`` without its ``report.json``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from asnd.backtest.html import write_html
from asnd.backtest.inputs import BacktestInputError, Warn, market_events, symbols_in
from asnd.backtest.plots import plot_outputs
from asnd.backtest.record import Recorder
from asnd.backtest.slot_report import SUMMARY_HEAD, run_figures, summary_row
from asnd.core.backtest import Backtest
from asnd.core.l2replay import ConstantLatency
from asnd.core.portfolio import CoreConfig
from asnd.core.slot import strategy_loaded
from asnd.core.strategy.validate import StrategyError
from journal.events import Fill, StrategyLoaded
from journal.staging import staged_directory
from journal.texttable import render_table
from journal.writer import JournalWriter

__all__ = ["BacktestPlan", "run_backtest", "summary_table"]


@dataclass(frozen=True, slots=True)
class BacktestPlan:
    """What to run: the journals, the core's config, and a strategy file per slot."""

    journals: tuple[Path, ...]
    config: CoreConfig
    strategies: dict[int, Path]
    out: Path
    queue: str = "worst_case"
    latency_ms: float = 5.0
    overridden: frozenset[int] = field(default_factory=frozenset)
    #: Also write the backtest's own journal to ``out/journal`` (the kinds and order a live
    #: daemon journals, so ``asn-journal`` and ``--verify-against-live`` read it).
    write_journal: bool = False


def _loads(plan: BacktestPlan, symbols: set[str], warn: Warn) -> list[StrategyLoaded]:
    """Every slot's validated strategy; warnings only once nothing is wrong (one-line errors)."""
    loads: list[StrategyLoaded] = []
    idle: list[str] = []
    for index, path in sorted(plan.strategies.items()):
        if index >= len(plan.config.slots):
            raise BacktestInputError(f"--strategy: no slot {index} in the config")
        symbol = plan.config.slots[index].symbol
        if symbol not in symbols:
            message = f"slot {index} trades {symbol}, which the journal has no market data for"
            if index in plan.overridden:
                raise BacktestInputError(f"{path}: {message}")
            idle.append(f"warning: {message}; the slot stays idle")
            continue
        try:
            loads.append(strategy_loaded(index, path.read_bytes(), str(path), 0))
        except OSError as exc:
            raise BacktestInputError(f"{path}: cannot read: {exc.strerror}") from None
        except StrategyError as exc:
            raise BacktestInputError(f"{path}: invalid strategy: {exc}") from None
    if not loads:
        have = ", ".join(sorted(symbols)) or "none"
        raise BacktestInputError(f"no slot trades a symbol of the journal (it has: {have})")
    for text in idle:
        warn(text)
    return loads


#: What a backtest writes into ``out``. A directory holding anything else is not replaced.
_OUTPUT = re.compile(
    r"fills\.csv|equity\.csv|trades\.csv|report\.json|report\.html|equity_slot[0-9]+\.png"
    r"|price_fills\.png|journal"
)


def _replaceable(out: Path) -> None:
    """Refuse an ``out`` that holds more than a previous run's outputs: it would be lost."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise BacktestInputError(f"--out {out} exists and is not a directory")
    foreign = sorted(p.name for p in out.iterdir() if not _OUTPUT.fullmatch(p.name))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise BacktestInputError(
            f"--out {out} holds files a backtest does not write ({shown}); "
            "it would be replaced: choose an empty or new directory"
        )


def run_backtest(
    plan: BacktestPlan, *, warn: Warn | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run ``plan``; ``plan.out`` then holds ``fills.csv``, ``equity.csv``, ``report.json``
    and the plots (a previous run's outputs there are replaced, whole) and returns the
    report. ``BacktestInputError`` for bad input, an ``out`` holding other files included."""
    say: Warn = warn or _stderr
    symbols = symbols_in(plan.journals)
    loads = _loads(plan, symbols, say)
    _replaceable(plan.out)
    plan.out.absolute().parent.mkdir(parents=True, exist_ok=True)
    with staged_directory(plan.out, replace=True) as building:
        return _run_into(plan, building, loads, say, progress=progress)


def _run_into(
    plan: BacktestPlan, out: Path, loads: list[StrategyLoaded], say: Warn, *, progress: bool
) -> dict[str, Any]:
    latency_ns = round(plan.latency_ms * 1_000_000)
    backtest = Backtest(plan.config, latency=ConstantLatency(latency_ns), queue=plan.queue)
    recorder = Recorder(backtest.state, out, {e.slot: e.strategy_id for e in loads})
    loop = backtest.loop
    events = 0
    writer = _journal_writer(out / "journal") if plan.write_journal else None
    drain = _drainer(loop.journal, recorder.on_fill, writer)
    try:
        for load in loads:
            backtest.feed(load)
        drain()
        bar = tqdm(
            market_events(plan.journals, say),
            desc="backtest",
            unit="ev",
            unit_scale=True,
            file=sys.stderr,
            disable=not progress,
            mininterval=0.5,
        )
        for event in bar:
            backtest.feed(event)
            drain()
            recorder.on_time(event.ts_local_ns)
            events += 1
        bar.close()
        recorder.finish()
    finally:
        recorder.close()
        if writer is not None:
            writer.close()
    report = {
        "inputs": [str(p) for p in plan.journals],
        "market_events": events,
        "journaled_events": loop.next_seq - 1,
        "anomalies": backtest.state.anomaly_count,
        "fill_model": {
            "engine": "asnd.core.l2replay.L2Replay",
            "queue": plan.queue,
            "latency_ms": plan.latency_ms,
        },
        **run_figures(recorder, backtest.state.instruments),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    active = [m["slot"] for m in report["slots"] if m["strategy"]]
    plots = plot_outputs(out, active, recorder.samples)
    write_html(out / "report.html", report, plots, out / "trades.csv")
    return report


def _journal_writer(directory: Path) -> JournalWriter:
    # No fsync (a backtest can be rerun) and a fixed header time (same run, same bytes).
    return JournalWriter.open(directory, fsync=False, clock_ns=lambda: 0)


def _drainer(
    journal: list[Any], on_fill: Callable[[Fill], None], writer: JournalWriter | None
) -> Callable[[], None]:
    """Hand the backtest's newly journaled events to the recorder (and the journal writer)
    and forget them."""

    def drain() -> None:
        for e in journal:
            if type(e) is Fill:
                on_fill(e)
            if writer is not None:
                writer.append(e)
        journal.clear()

    return drain


def _stderr(text: str) -> None:
    tqdm.write(text, file=sys.stderr)  # above the progress bar, not through it


def summary_table(report: dict[str, Any]) -> str:
    """The per-slot summary, as printed on stdout (buy-and-hold's return beside the slot's)."""
    table = render_table(SUMMARY_HEAD, [summary_row(m) for m in report["slots"]])
    return "\n".join([table, f"sharpe/sortino: {report['sampling']['annualisation']}"])
